#include "mnr/hlc.h"

#include <cstdio>
#include <ctime>

#include "mnr/wall_clock.h"

namespace mnr {

HlcTime HybridClock::Now() {
  const HlcTime wall = Make(static_cast<std::uint64_t>(UnixNowMillis()), 0);
  // The counter overflowing into the millisecond bits is harmless: the result still orders correctly.
  last_ = wall > last_ ? wall : last_ + 1;
  return last_;
}

void HybridClock::Observe(HlcTime remote) {
  if (remote > last_) last_ = remote;
}

std::string HybridClock::Format(HlcTime t) {
  const std::uint64_t ms = Millis(t);
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ+%u", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<unsigned>(ms % 1000),
                static_cast<unsigned>(t & 0xffff));
  return buf;
}

}  // namespace mnr
