// Wall-clock time as the stores record it.
#pragma once

#include <cstdint>

namespace mnr {

// Seconds since the Unix epoch, UTC. The one place product code reads wall time, so that a test seam
// or a different source can replace it for every caller at once.
std::int64_t UnixNow();

}  // namespace mnr
