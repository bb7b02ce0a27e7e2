// A TCP relay on loopback between the real client and the real server: it counts the bytes each way
// and the round trips (each time the client speaks again after the server did), and can shape the
// link (a rate each way and a one-way delay) to emulate a 2G connection. The bytes pass untouched
// (they are TLS); the relay sets TCP_NODELAY on its own sockets so that it adds no stall of its own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace mnr::bench {

// Turns off Nagle's algorithm on `fd`, as mnr-client and mnr-server do on their sockets.
void NoDelay(int fd);

struct LinkShape {
  double bytes_per_second = 0;                  // each way; 0: as fast as loopback
  std::chrono::microseconds one_way_delay{0};  // added to every byte, each way
};

struct RelayCounts {
  std::uint64_t up = 0;           // client -> server
  std::uint64_t down = 0;         // server -> client
  std::uint64_t round_trips = 0;  // client turns: the first, then each after server traffic
  std::uint64_t connections = 0;
  std::uint64_t bytes() const { return up + down; }
};

class Relay {
 public:
  // Listens on a free loopback port and forwards each connection to 127.0.0.1:target_port.
  explicit Relay(int target_port, LinkShape shape = {});
  // Closes every connection and joins every thread.
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;
  int port() const { return port_; }
  // The counts since the last call (or since start), and starts counting afresh.
  RelayCounts Take();

  struct Conn;

 private:
  void Accept();
  void Read(std::shared_ptr<Conn> c, int dir);
  void Write(std::shared_ptr<Conn> c, int dir);

  int listen_fd_ = -1;
  int port_ = 0;
  int target_port_;
  LinkShape shape_;
  std::mutex mu_;
  RelayCounts counts_;
  bool stopping_ = false;
  std::vector<std::shared_ptr<Conn>> conns_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace mnr::bench
