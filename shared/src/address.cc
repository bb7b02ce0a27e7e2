#include "mnr/address.h"

namespace mnr {

Result<HostPort> ParseHostPort(std::string_view text) {
  const std::string t(text);
  const auto bad = [&](const char* why) {
    return Status::InvalidArgument("address \"" + t + "\": " + why + " (expected HOST:PORT, e.g. 127.0.0.1:7443)");
  };
  HostPort hp;
  std::size_t colon;
  if (!t.empty() && t[0] == '[') {
    const std::size_t close = t.find(']');
    if (close == std::string::npos || close + 1 >= t.size() || t[close + 1] != ':') return bad("unbalanced brackets");
    hp.host = t.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = t.rfind(':');
    if (colon == std::string::npos) return bad("no port");
    hp.host = t.substr(0, colon);
    if (hp.host.find(':') != std::string::npos) return bad("put an IPv6 address in brackets");
  }
  hp.port = t.substr(colon + 1);
  if (hp.host.empty()) return bad("no host");
  if (hp.port.empty() || hp.port.size() > 5 || hp.port.find_first_not_of("0123456789") != std::string::npos) {
    return bad("bad port");
  }
  const int port = std::stoi(hp.port);
  if (port < 1 || port > 65535) return bad("port out of range");
  return hp;
}

}  // namespace mnr
