// Fixed instants that tests issue credentials and sign at, so no result depends on today's date.
#pragma once

#include <cstdint>

namespace mnr::test {

inline constexpr std::int64_t kJan2025 = 1735689600;  // 2025-01-01T00:00:00Z

}  // namespace mnr::test
