// Where a server store keeps its files in its data directory DIR. Its own header so that a unit that
// reads the CA's files (server/register.h) depends on where they are, not on the store that owns them.
#pragma once

#include <cstddef>
#include <string>

namespace mnr::server {

// A key or certificate file of the server is never larger than this; a bigger one is refused.
inline constexpr std::size_t kKeyFileBytes = 64 * 1024;

struct ServerPaths {
  std::string dir;
  std::string db() const { return dir + "/server.db"; }
  std::string ca_cert() const { return dir + "/ca.crt"; }
  std::string ca_key() const { return dir + "/ca.key"; }
  std::string server_cert() const { return dir + "/server.crt"; }
  std::string server_key() const { return dir + "/server.key"; }
  std::string sealing_key() const { return dir + "/sealing.key"; }
};

}  // namespace mnr::server
