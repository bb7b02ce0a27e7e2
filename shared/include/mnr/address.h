// HOST:PORT parsing shared by `mnr-server run --listen`, credentials and `mnr-client sync --server`.
#pragma once

#include <string>
#include <string_view>

#include "mnr/status.h"

namespace mnr {

struct HostPort {
  std::string host;  // without brackets for IPv6
  std::string port;
};

// Accepts "host:port", "1.2.3.4:port" and "[::1]:port"; the port must be 1-65535.
Result<HostPort> ParseHostPort(std::string_view text);

}  // namespace mnr
