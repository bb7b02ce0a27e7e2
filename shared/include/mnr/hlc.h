// Hybrid logical clock (Kulkarni et al.): a 64-bit timestamp that follows wall-clock milliseconds but
// never goes backwards and always moves past every timestamp it has seen, so "later" is well defined
// across devices whose clocks disagree. Layout (do not change, it reaches disk and the wire):
// bits 63..16 = milliseconds since the Unix epoch, bits 15..0 = logical counter.
#pragma once

#include <cstdint>
#include <string>

namespace mnr {

using HlcTime = std::uint64_t;

class HybridClock {
 public:
  // `last` is the greatest timestamp this clock has issued or seen (persisted by the caller).
  explicit HybridClock(HlcTime last = 0) : last_(last) {}

  // A new timestamp for a local event: greater than every timestamp issued or seen before.
  HlcTime Now();
  // Records a timestamp received from elsewhere so that later local events order after it.
  void Observe(HlcTime remote);
  HlcTime last() const { return last_; }

  static HlcTime Make(std::uint64_t millis, std::uint16_t counter) { return (millis << 16) | counter; }
  static std::uint64_t Millis(HlcTime t) { return t >> 16; }
  // ISO 8601 UTC with milliseconds, then the counter: "2026-11-28T10:09:13.123Z+0".
  static std::string Format(HlcTime t);

 private:
  HlcTime last_;
};

}  // namespace mnr
