// Wall-clock time as the stores record it: seconds in audit entries, credentials, receipts and
// releases, milliseconds in the hybrid logical clock of every operation.
//
// Product code reads wall time only here, so that a test can move it for every caller at once instead
// of sleeping: in process with ScopedWallClock, and in the real binaries with the environment
// variable MNR_TEST_CLOCK_OFFSET, whole seconds (possibly negative) added to the system clock. Both
// are for tests; a deployment leaves them unset. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace mnr {

// Seconds since the Unix epoch, UTC.
std::int64_t UnixNow();
// Milliseconds since the Unix epoch, UTC, from the same clock as UnixNow.
std::int64_t UnixNowMillis();

// `unix_seconds` as messages and listings show it to people: "2026-12-02 04:36 UTC".
std::string FormatUtcMinutes(std::int64_t unix_seconds);

// The environment variable read once, at the first reading of the clock. A value that is not a whole
// number of seconds within ±10 years is ignored with a warning on stderr.
inline constexpr const char* kClockOffsetVariable = "MNR_TEST_CLOCK_OFFSET";

// While it lives, UnixNow and UnixNowMillis return what `millis` returns (milliseconds since the
// epoch) instead of the system clock, on every thread. Construct it before starting the threads that
// read the clock; guards nest, and each restores the clock it replaced.
class ScopedWallClock {
 public:
  explicit ScopedWallClock(std::function<std::int64_t()> millis);
  ~ScopedWallClock();
  ScopedWallClock(const ScopedWallClock&) = delete;
  ScopedWallClock& operator=(const ScopedWallClock&) = delete;

 private:
  std::function<std::int64_t()> millis_;
  const std::function<std::int64_t()>* previous_;
};

}  // namespace mnr
