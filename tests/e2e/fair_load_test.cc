// Fairness under load, against the real server and client: connections that never start TLS, or
// trickle their handshake, cannot keep real users out; a full server says Busy and clients come back
// later at spread-out times; a session that throws is logged and gives its slot back. Everything runs
// on loopback with bounded counts (at most 300 idle connections, 12 clients).
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <thread>
#include <vector>

#include "mnr/credential.h"
#include "tests/e2e/cut_proxy.h"
#include "tests/e2e/raw_peer.h"
#include "tests/e2e/sync_harness.h"

using namespace mnr;
using namespace mnr::test;

namespace {

// True once the server has closed `fd` (end of stream or reset); never blocks.
bool ClosedByPeer(int fd) {
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

// An attacker that keeps `count` TCP connections open to the server without ever sending a byte, and
// opens a new one for each one the server closes, until destroyed.
class IdleFlood {
 public:
  IdleFlood(int port, int count) : port_(port) {
    for (int i = 0; i < count; ++i) {
      const int fd = ConnectLoopback(port_);
      REQUIRE(fd >= 0);
      fds_.push_back(fd);
    }
    thread_ = std::thread([this] { Run(); });
  }
  ~IdleFlood() {
    stop_ = true;
    thread_.join();
    for (int fd : fds_) ::close(fd);
  }
  // How many connections the server closed and the flood opened again.
  std::size_t reopened() const { return reopened_; }

 private:
  void Run() {
    while (!stop_) {
      std::vector<pollfd> polled;
      for (int fd : fds_) polled.push_back({fd, POLLIN, 0});
      if (::poll(polled.data(), polled.size(), 20) <= 0) continue;
      for (std::size_t i = 0; i < polled.size(); ++i) {
        if (!polled[i].revents || !ClosedByPeer(fds_[i])) continue;
        ::close(fds_[i]);
        fds_[i] = ConnectLoopback(port_);
        if (fds_[i] < 0) fds_[i] = ConnectLoopback(port_);
        ++reopened_;
      }
      std::erase_if(fds_, [](int fd) { return fd < 0; });
    }
  }

  int port_;
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> reopened_{0};
  std::thread thread_;
};

// A session past TLS and Hello that then sits idle, holding one of the server's session slots until
// destroyed. Its socket is close-on-exec, so client processes the test starts meanwhile do not keep
// the connection open after it.
class SlotHolder {
 public:
  SlotHolder(const Credential& c, int port, const std::string& device) {
    ctx_.add_certificate_authority(asio::buffer(c.ca_certificate_pem));
    ctx_.use_certificate_chain(asio::buffer(c.certificate_pem));
    ctx_.use_private_key(asio::buffer(c.private_key_pem), asio::ssl::context::pem);
    ctx_.set_verify_mode(asio::ssl::verify_peer);
    stream_.emplace(io_, ctx_);  // after the context is complete: the stream copies it
    auto& socket = stream_->lowest_layer();
    socket.open(asio::ip::tcp::v4());
    ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
    socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    stream_->handshake(asio::ssl::stream_base::client);
    Hello hello;
    hello.schema_version = 1;
    hello.device_id = device;
    asio::write(*stream_, asio::buffer(EncodeMessage(hello)));
    std::array<unsigned char, kFrameHeaderBytes> header{};
    asio::read(*stream_, asio::buffer(header));
    welcomed_ = header[0] == static_cast<unsigned char>(MessageType::kWelcome);
  }
  bool welcomed() const { return welcomed_; }

 private:
  asio::io_context io_;
  asio::ssl::context ctx_{asio::ssl::context::tls_client};
  std::optional<asio::ssl::stream<asio::ip::tcp::socket>> stream_;
  bool welcomed_ = false;
};

}  // namespace

TEST_CASE("A real sync gets through at its first attempt while 300 connections that never start TLS keep coming back") {
  SyncHarness h;  // default limits: 256 sessions, 1024 pending, 8 pending per address
  const std::string db = h.NewFieldStore("office", {"Q01"});
  REQUIRE(h.Client({"answer", "--db", db, "Q01", "c11_child_helpline", "yes"}).exit_code == 0);

  IdleFlood flood(h.port(), 300);
  // No retries: the one attempt must get in, although every connection of the flood is older than it
  // and comes from the same address.
  auto r = Run({ClientBin(), "sync", "--db", db, "--server", h.address(), "--retries", "0"}, "", std::chrono::seconds(15));
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(Contains(r.out, "pushed 1 change-set"));
  // The server closed idle connections to make room for newer ones (which the flood opened again).
  CHECK(flood.reopened() > 0);
}

TEST_CASE("A connection that trickles its TLS hello is closed at the handshake deadline, not at the I/O timeout") {
  SyncHarness h({"--handshake-timeout", "1"});  // --timeout stays at 30 s
  const int fd = ConnectLoopback(h.port());
  REQUIRE(fd >= 0);
  // A TLS record header announcing a 512-byte hello, then one byte every 250 ms: always some
  // progress, never a whole hello.
  REQUIRE(::send(fd, "\x16\x03\x01\x02\x00", 5, MSG_NOSIGNAL) == 5);
  int trickled = 0;
  bool closed = false;
  while (trickled < 40 && !closed) {  // 40 bytes take 10 s: a third of the I/O timeout
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    closed = ::send(fd, "x", 1, MSG_NOSIGNAL) != 1 || ClosedByPeer(fd);
    ++trickled;
  }
  ::close(fd);
  INFO("bytes trickled before the server closed: " << trickled);
  CHECK(closed);
  const std::string said = "TLS handshake: not done within 1 s";
  CHECK(Contains(h.LogOnce(said), said));
}

TEST_CASE("With two session slots twelve concurrent clients are told the server is busy and all sync in the end") {
  SyncHarness h({"--max-clients", "2"});
  std::vector<std::string> dbs;
  for (int i = 0; i < 12; ++i) {
    dbs.push_back(h.NewFieldStore("office" + std::to_string(i), {i % 2 ? "Q01" : "Q02"}));
    REQUIRE(h.Client({"answer", "--db", dbs.back(), i % 2 ? "Q01" : "Q02", "c11_child_helpline", "partial"}).exit_code == 0);
  }
  // Two sessions that sit idle after Welcome take both slots, so the clients started now find the
  // server full whatever their timing; they are let go once the server has told one of them so.
  const std::string holder = "holder";
  h.NewFieldStore(holder, {"Q03"});
  auto holder_cred = LoadCredential(h.CredentialPath(holder));
  REQUIRE(holder_cred.ok());
  auto first = std::make_unique<SlotHolder>(*holder_cred, h.port(), "holder-1");
  auto second = std::make_unique<SlotHolder>(*holder_cred, h.port(), "holder-2");
  REQUIRE(first->welcomed());
  REQUIRE(second->welcomed());

  std::vector<RunResult> results(dbs.size());
  std::vector<std::thread> clients;
  for (std::size_t i = 0; i < dbs.size(); ++i) {
    clients.emplace_back([&, i] {
      results[i] = Run({ClientBin(), "sync", "--db", dbs[i], "--server", h.address()}, "", std::chrono::seconds(50));
    });
  }
  h.LogOnce("result=busy", std::chrono::seconds(10));
  first.reset();
  second.reset();
  for (auto& t : clients) t.join();

  int told_busy = 0;
  const std::string log = h.log();
  INFO(log);
  for (const auto& r : results) {
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK_FALSE(Contains(r.err, "reset by peer"));
    if (Contains(r.err, "server busy, retrying in ")) ++told_busy;
  }
  CHECK(told_busy >= 1);
  CHECK(Contains(log, "result=busy"));
}

TEST_CASE("A session that throws is logged and gives its slot back, so the next sync gets it") {
  // The documented test seam of `mnr-server run`: a session whose Hello names this device throws.
  ::setenv("MNR_TEST_SESSION_THROW", "seam-device", 1);
  SyncHarness h({"--max-clients", "1"});
  ::unsetenv("MNR_TEST_SESSION_THROW");
  const std::string db = h.NewFieldStore("office", {"Q01"});
  auto cred = LoadCredential(h.CredentialPath("office"));
  REQUIRE(cred.ok());
  for (int i = 0; i < 2; ++i) {
    RawPeer peer(*cred, h.port());
    CHECK_FALSE(peer.Hello("seam-device"));  // closed instead of a Welcome
  }
  REQUIRE(h.Client({"answer", "--db", db, "Q01", "c11_child_helpline", "no"}).exit_code == 0);
  auto r = h.Sync(db);  // no retries: the only slot must be free
  INFO(r.err);
  CHECK(r.exit_code == 0);
  const std::string log = h.log();
  CHECK(Contains(log, "failed: test seam MNR_TEST_SESSION_THROW: the session of device seam-device throws; its connection "
                      "was closed and its slot freed"));
}
