// A TCP proxy on loopback that forwards to a real server and cuts the link (both directions, abruptly)
// once the client has sent `cut_after_bytes`. It injects a dropped 2G link into the real client and
// server; the bytes themselves pass untouched (they are TLS).
#pragma once

#include <atomic>
#include <cstddef>
#include <thread>

namespace mnr::test {

// A TCP connection to 127.0.0.1:`port`, or -1 when it cannot be made.
int ConnectLoopback(int port);

class CutProxy {
 public:
  CutProxy(int target_port, std::size_t cut_after_bytes);
  ~CutProxy();
  int port() const { return port_; }
  std::size_t forwarded() const { return forwarded_; }
  bool cut() const { return cut_; }

 private:
  void Serve();
  int listen_fd_ = -1;
  int port_ = 0;
  int target_port_;
  std::size_t cut_after_;
  std::atomic<std::size_t> forwarded_{0};
  std::atomic<bool> cut_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace mnr::test
