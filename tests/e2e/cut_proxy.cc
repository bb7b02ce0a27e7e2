#include "tests/e2e/cut_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace mnr::test {

int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

CutProxy::CutProxy(int target_port, std::size_t cut_after_bytes) : target_port_(target_port), cut_after_(cut_after_bytes) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(listen_fd_, 8) != 0) {
    throw std::runtime_error("proxy: cannot listen");
  }
  socklen_t len = sizeof a;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

CutProxy::~CutProxy() {
  stop_ = true;
  shutdown(listen_fd_, SHUT_RDWR);
  close(listen_fd_);
  thread_.join();
}

void CutProxy::Serve() {
  while (!stop_) {
    pollfd lp{listen_fd_, POLLIN, 0};
    if (poll(&lp, 1, 100) <= 0) continue;
    int client = accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    int server = ConnectLoopback(target_port_);
    if (server < 0) {
      close(client);
      continue;
    }
    // One connection at a time is all the tests need.
    bool open = true;
    while (open && !stop_) {
      pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      if (poll(fds, 2, 100) <= 0) continue;
      char buf[16384];
      for (int i = 0; i < 2 && open; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const int from = fds[i].fd, to = i == 0 ? server : client;
        std::size_t want = sizeof buf;
        if (i == 0 && !cut_) want = std::min(want, cut_after_ - forwarded_);
        ssize_t n = want ? read(from, buf, want) : 0;
        if (n <= 0) {
          open = false;
          break;
        }
        if (write(to, buf, static_cast<std::size_t>(n)) != n) open = false;
        if (i == 0) {
          forwarded_ += static_cast<std::size_t>(n);
          if (forwarded_ >= cut_after_) {
            cut_ = true;
            open = false;
          }
        }
      }
    }
    // The radio dies: the client's side ends abruptly (RST), and what was already forwarded still
    // reaches the server, followed by the end of the stream. An RST to the server too would let its
    // kernel discard bytes that had arrived but were not yet read, so whether the server stored the
    // pushes before the cut would depend on scheduling, not on the protocol.
    linger lg{1, 0};
    setsockopt(client, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(client);
    shutdown(server, SHUT_WR);
    for (int waited = 0; waited < 100 && !stop_; ++waited) {
      pollfd sp{server, POLLIN, 0};
      if (poll(&sp, 1, 100) <= 0) continue;
      char sink[16384];
      if (read(server, sink, sizeof sink) <= 0) break;
    }
    close(server);
  }
}

}  // namespace mnr::test
