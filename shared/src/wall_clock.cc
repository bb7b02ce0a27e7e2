#include "mnr/wall_clock.h"

#include <ctime>

namespace mnr {

std::int64_t UnixNow() { return static_cast<std::int64_t>(std::time(nullptr)); }

}  // namespace mnr
