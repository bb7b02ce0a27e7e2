#include "mnr/wall_clock.h"

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <utility>

namespace mnr {
namespace {

std::atomic<const std::function<std::int64_t()>*> test_clock{nullptr};

constexpr std::int64_t kMaxOffsetSeconds = 10LL * 366 * 24 * 3600;

std::int64_t OffsetMillisFromEnvironment() {
  const char* text = std::getenv(kClockOffsetVariable);
  if (text == nullptr || *text == '\0') return 0;
  std::int64_t seconds = 0;
  const char* end = text + std::strlen(text);
  const auto [ptr, ec] = std::from_chars(*text == '+' ? text + 1 : text, end, seconds);
  if (ec != std::errc() || ptr != end || seconds > kMaxOffsetSeconds || seconds < -kMaxOffsetSeconds) {
    std::fprintf(stderr, "warning: %s=%s is not a whole number of seconds within 10 years; the system clock is used as it is\n",
                 kClockOffsetVariable, text);
    return 0;
  }
  return seconds * 1000;
}

std::int64_t SystemMillis() {
  static const std::int64_t offset = OffsetMillisFromEnvironment();
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() + offset;
}

}  // namespace

std::int64_t UnixNowMillis() {
  if (const auto* clock = test_clock.load(std::memory_order_acquire)) return (*clock)();
  return SystemMillis();
}

std::int64_t UnixNow() {
  const std::int64_t ms = UnixNowMillis();
  return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

std::string FormatUtcMinutes(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

ScopedWallClock::ScopedWallClock(std::function<std::int64_t()> millis)
    : millis_(std::move(millis)), previous_(test_clock.exchange(&millis_, std::memory_order_acq_rel)) {}

ScopedWallClock::~ScopedWallClock() { test_clock.store(previous_, std::memory_order_release); }

}  // namespace mnr
