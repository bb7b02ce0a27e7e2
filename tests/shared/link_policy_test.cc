// The link policy clients and server share: the Busy refusal's retry-after and the client's back-off
// with full jitter (mnr/messages.h, mnr/connection.h).
#include <catch2/catch.hpp>

#include <chrono>
#include <random>
#include <set>

#include "mnr/connection.h"
#include "mnr/messages.h"

using namespace mnr;
using std::chrono::milliseconds;

TEST_CASE("A Busy reason carries its retry-after, and only a well-formed one is read back") {
  const std::string reason = BusyReason(7, "256 sessions at once is its limit");
  CHECK(reason == "server busy: retry after 7 s (256 sessions at once is its limit)");
  CHECK(BusyRetryAfter(reason) == std::optional<std::uint32_t>(7));
  CHECK(BusyRetryAfter(BusyReason(3600, "x")) == std::optional<std::uint32_t>(3600));
  CHECK_FALSE(BusyRetryAfter("server busy: retry after 0 s (x)"));
  CHECK_FALSE(BusyRetryAfter("server busy: retry after 3601 s (x)"));
  CHECK_FALSE(BusyRetryAfter("server busy: retry after 99999999999 s (x)"));
  CHECK_FALSE(BusyRetryAfter("server busy: retry after s"));
  CHECK_FALSE(BusyRetryAfter("server busy: retry after 5 minutes"));
  CHECK_FALSE(BusyRetryAfter("credential revoked"));
  CHECK(static_cast<int>(RefusalCode::kBusy) == 10);  // reaches the wire: never changes
}

TEST_CASE("Retry delays are random up to a bound that doubles to the cap, above a server's retry-after") {
  const milliseconds base(1000), cap(60000);
  CHECK(RetryDelay(0, base, cap, milliseconds(0), 0) == milliseconds(0));
  CHECK(RetryDelay(0, base, cap, milliseconds(0), 1000) == milliseconds(1000));
  CHECK(RetryDelay(0, base, cap, milliseconds(0), 1001) == milliseconds(0));  // wraps within [0, 1000]
  CHECK(RetryDelay(3, base, cap, milliseconds(0), 8000) == milliseconds(8000));
  CHECK(RetryDelay(3, base, cap, milliseconds(0), 8001) == milliseconds(0));
  CHECK(RetryDelay(20, base, cap, milliseconds(0), 60000) == milliseconds(60000));  // capped
  CHECK(RetryDelay(100, base, cap, milliseconds(0), 60001) == milliseconds(0));
  CHECK(RetryDelay(0, base, cap, milliseconds(5000), 0) == milliseconds(5000));     // the floor holds
  CHECK(RetryDelay(1, base, cap, milliseconds(5000), 2000) == milliseconds(7000));
  CHECK(RetryDelay(2, milliseconds(0), cap, milliseconds(0), 12345) == milliseconds(0));

  // Twelve clients failing together come back at twelve different moments.
  std::mt19937_64 random(42);
  std::set<std::int64_t> moments;
  for (int client = 0; client < 12; ++client) moments.insert(RetryDelay(2, base, cap, milliseconds(1000), random()).count());
  CHECK(moments.size() == 12);
  for (std::int64_t m : moments) {
    CHECK(m >= 1000);
    CHECK(m <= 5000);
  }
}
