#include "bench/relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <stdexcept>
#include <string>

namespace mnr::bench {

using Clock = std::chrono::steady_clock;

namespace {

constexpr int kUp = 0;    // client -> server
constexpr int kDown = 1;  // server -> client
// On a shaped link bytes arrive in segments of this size, as on a real link, not in one read's worth.
constexpr std::size_t kSegment = 1460;

}  // namespace

void NoDelay(int fd) {
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

struct Relay::Conn {
  struct Chunk {
    Clock::time_point at;
    std::string bytes;  // empty: end of stream
  };
  struct Direction {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Chunk> queue;
    Clock::time_point link_free{};
    bool stop = false;
  };
  int fd[2] = {-1, -1};  // [kUp]: the client's socket (read for up), [kDown]: the server's
  Direction dir[2];
  int last_dir = -1;  // guarded by Relay::mu_
  ~Conn() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
};

Relay::Relay(int target_port, LinkShape shape) : target_port_(target_port), shape_(shape) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 128) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    throw std::runtime_error("relay: cannot listen on loopback");
  }
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { Accept(); });
}

Relay::~Relay() {
  {
    std::lock_guard l(mu_);
    stopping_ = true;
    for (auto& c : conns_) {
      for (int f : c->fd) ::shutdown(f, SHUT_RDWR);
      for (auto& d : c->dir) {
        std::lock_guard dl(d.mu);
        d.stop = true;
        d.cv.notify_all();
      }
    }
  }
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  // No new thread starts once stopping_ is set and the acceptor has returned.
  for (auto& t : threads_) t.join();
}

RelayCounts Relay::Take() {
  std::lock_guard l(mu_);
  RelayCounts out = counts_;
  counts_ = {};
  for (auto& c : conns_) c->last_dir = -1;
  return out;
}

void Relay::Accept() {
  for (;;) {
    const int client = ::accept(listen_fd_, nullptr, nullptr);
    if (client < 0) {
      if (errno == EINTR) continue;
      return;
    }
    const int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(target_port_));
    if (server < 0 || ::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(client);
      if (server >= 0) ::close(server);
      continue;
    }
    NoDelay(client);
    NoDelay(server);
    auto c = std::make_shared<Conn>();
    c->fd[kUp] = client;
    c->fd[kDown] = server;
    std::lock_guard l(mu_);
    if (stopping_) return;  // the Conn closes both sockets
    ++counts_.connections;
    conns_.push_back(c);
    for (int d : {kUp, kDown}) {
      threads_.emplace_back([this, c, d] { Read(c, d); });
      threads_.emplace_back([this, c, d] { Write(c, d); });
    }
  }
}

void Relay::Read(std::shared_ptr<Conn> c, int dir) {
  const int from = c->fd[dir];
  auto& d = c->dir[dir];
  std::string buf(64 * 1024, '\0');
  for (;;) {
    const ssize_t n = ::read(from, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    const auto now = Clock::now();
    if (n > 0) {
      std::lock_guard l(mu_);
      (dir == kUp ? counts_.up : counts_.down) += static_cast<std::uint64_t>(n);
      if (c->last_dir != dir && dir == kUp) ++counts_.round_trips;
      c->last_dir = dir;
    }
    std::lock_guard l(d.mu);
    if (n <= 0) {
      d.queue.push_back({now + shape_.one_way_delay, {}});
      d.cv.notify_all();
      return;
    }
    for (std::size_t off = 0; off < static_cast<std::size_t>(n);) {
      const std::size_t len = shape_.bytes_per_second > 0 ? std::min(kSegment, static_cast<std::size_t>(n) - off)
                                                          : static_cast<std::size_t>(n) - off;
      auto at = now;
      if (shape_.bytes_per_second > 0) {
        // The link sends one segment at a time: this one starts when the previous one has left.
        at = std::max(now, d.link_free) +
             std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(len / shape_.bytes_per_second));
        d.link_free = at;
      }
      d.queue.push_back({at + shape_.one_way_delay, buf.substr(off, len)});
      off += len;
    }
    d.cv.notify_all();
  }
}

void Relay::Write(std::shared_ptr<Conn> c, int dir) {
  const int to = c->fd[1 - dir];
  auto& d = c->dir[dir];
  for (;;) {
    Conn::Chunk chunk;
    {
      std::unique_lock l(d.mu);
      d.cv.wait(l, [&] { return d.stop || !d.queue.empty(); });
      if (d.stop) return;
      chunk = std::move(d.queue.front());
      d.queue.pop_front();
    }
    std::this_thread::sleep_until(chunk.at);
    if (chunk.bytes.empty()) {
      ::shutdown(to, SHUT_WR);
      return;
    }
    for (std::size_t off = 0; off < chunk.bytes.size();) {
      const ssize_t n = ::write(to, chunk.bytes.data() + off, chunk.bytes.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        // The receiver is gone: end both directions so that the readers return.
        ::shutdown(c->fd[0], SHUT_RDWR);
        ::shutdown(c->fd[1], SHUT_RDWR);
        return;
      }
      off += static_cast<std::size_t>(n);
    }
  }
}

}  // namespace mnr::bench
