// End to end, what travels on the wire: the real client and server on loopback behind a relay that
// counts bytes and turns, and a raw peer that speaks each protocol version by hand.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "mnr/credential.h"
#include "tests/e2e/raw_peer.h"
#include "tests/e2e/sync_harness.h"

using namespace mnr;
using namespace mnr::test;

namespace {

// Forwards one connection at a time to the server and counts, over all connections, the bytes each way
// and the client's *turns*: the times the client sends after the server has sent (plus each
// connection's first send). A request that waits for its answer costs a turn; pipelined ones do not.
class CountingRelay {
 public:
  explicit CountingRelay(int target_port) : target_port_(target_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(listen_fd_, 8) != 0) {
      throw std::runtime_error("relay: cannot listen");
    }
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~CountingRelay() {
    stop_ = true;
    thread_.join();
    close(listen_fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::size_t up() const { return up_; }
  std::size_t down() const { return down_; }
  int client_turns() const { return turns_; }

 private:
  void Serve() {
    while (!stop_) {
      pollfd lp{listen_fd_, POLLIN, 0};
      if (poll(&lp, 1, 50) <= 0) continue;
      const int client = accept(listen_fd_, nullptr, nullptr);
      if (client < 0) continue;
      const int server = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<uint16_t>(target_port_));
      if (connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(server);
        close(client);
        continue;
      }
      bool server_spoke = true;  // the first send of a connection is a turn
      bool open = true;
      while (open && !stop_) {
        pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
        if (poll(fds, 2, 50) <= 0) continue;
        for (int i = 0; i < 2 && open; ++i) {
          if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
          char buf[65536];
          const ssize_t n = read(fds[i].fd, buf, sizeof buf);
          if (n <= 0) {
            open = false;
            break;
          }
          if (write(i == 0 ? server : client, buf, static_cast<std::size_t>(n)) != n) open = false;
          if (i == 0) {
            up_ += static_cast<std::size_t>(n);
            if (server_spoke) ++turns_;
            server_spoke = false;
          } else {
            down_ += static_cast<std::size_t>(n);
            server_spoke = true;
          }
        }
      }
      close(client);
      close(server);
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  int target_port_;
  std::atomic<std::size_t> up_{0}, down_{0};
  std::atomic<int> turns_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

const char* const kWireIndicators[] = {"c00_mnr_reference", "c01_governance_mechanism", "c01_national_strategy",
                                   "c02_research_monitoring", "c03_criminalises_ocsea", "c03_criminalises_possession",
                                   "c03_isp_reporting_duty", "c03_laws_adequate", "c04_dedicated_law_enforcement",
                                   "c05_judiciary_prosecutors", "c06_offender_management", "c07_icse_connected",
                                   "c07_national_image_database", "c08_end_to_end_support", "c09_child_protection_workforce",
                                   "c10_remedies_compensation", "c11_child_helpline", "c12_reporting_hotline",
                                   "c13_education_programme", "c14_child_participation"};

// Twenty answers of `country`, each with a note of about 4 KB (repetitive, as real notes partly are).
std::size_t WriteLongAnswers(const std::string& path, const std::string& country) {
  std::ostringstream csv;
  csv << "country,indicator,answer,note\n";
  std::size_t note_bytes = 0;
  for (const char* id : kWireIndicators) {
    std::string note;
    while (note.size() < 4000) note += std::string("the ministry confirmed this for ") + id + " in its annual report; ";
    note_bytes += note.size();
    csv << country << "," << id << ",yes,\"" << note << "\"\n";
  }
  WriteText(path, csv.str());
  return note_bytes;
}

Hello HelloOf(std::uint32_t protocol, const std::string& device) {
  Hello hello;
  hello.protocol = protocol;
  hello.schema_version = 1;
  hello.device_id = device;
  return hello;
}

}  // namespace

TEST_CASE("A sync of one changed answer costs the TLS handshake and one exchange") {
  SyncHarness h;
  const std::string db = h.NewFieldStore("q01", {"Q01"});
  REQUIRE(h.Client({"answer", "--db", db, "Q01", "c11_child_helpline", "yes"}).exit_code == 0);
  REQUIRE(h.Sync(db).exit_code == 0);
  REQUIRE(h.Client({"answer", "--db", db, "Q01", "c11_child_helpline", "partial"}).exit_code == 0);

  CountingRelay relay(h.port());
  auto sync = h.Client({"sync", "--db", db, "--server", relay.address()});
  INFO(sync.err);
  REQUIRE(sync.exit_code == 0);
  CHECK(sync.out.find("pushed 1 change-set(s), pulled 0 field(s)") != std::string::npos);
  // ClientHello; then the TLS Finished with Hello, Push, Pull, both questions and Bye in one flight;
  // then close_notify. Version 1 took a turn for each of Hello, Push, Pull and the two questions.
  CHECK(relay.client_turns() == 3);

  // With nothing to send, the same.
  CountingRelay idle(h.port());
  auto again = h.Client({"sync", "--db", db, "--server", idle.address()});
  REQUIRE(again.exit_code == 0);
  CHECK(again.out == "up to date\n");
  CHECK(idle.client_turns() == 3);
}

TEST_CASE("A first sync gets none of its own answers back, and another device's pull of them comes compressed") {
  SyncHarness h;
  const std::string a = h.NewFieldStore("q01-a", {"Q01"});
  const std::string b = h.NewFieldStore("q01-b", {"Q01"});
  const std::size_t note_bytes = WriteLongAnswers(h.dir() / "long.csv", "Q01");
  REQUIRE(h.Client({"import", "--db", a, h.dir() / "long.csv"}).exit_code == 0);

  CountingRelay first(h.port());
  auto pushed = h.Client({"sync", "--db", a, "--server", first.address()});
  INFO(pushed.err);
  REQUIRE(pushed.exit_code == 0);
  CHECK(pushed.out.find("pulled 0 field(s)") != std::string::npos);
  // What comes down is Welcome (with the server certificate), the Ack with its receipt and the answers
  // to the two questions, not the 80 KB of notes that went up.
  CHECK(first.down() < 16 * 1024);

  CountingRelay second(h.port());
  auto pulled = h.Client({"sync", "--db", b, "--server", second.address()});
  REQUIRE(pulled.exit_code == 0);
  CHECK(pulled.out.find("pulled 20 field(s)") != std::string::npos);
  CHECK(second.down() < note_bytes / 4);
  auto ea = h.Client({"export", "--db", a, "--format", "csv"});
  auto eb = h.Client({"export", "--db", b, "--format", "csv"});
  REQUIRE(ea.exit_code == 0);
  CHECK(ea.out == eb.out);
  CHECK(eb.out.find("the ministry confirmed this for c14_child_participation") != std::string::npos);
}

TEST_CASE("A version-2 pull leaves out the device's own winning edits, and a version-1 pull still sends them") {
  SyncHarness h;
  h.NewFieldStore("office", {"Q01"});
  const Credential cred = *LoadCredential(h.CredentialPath("office"));
  {
    RawPeer peer(cred, h.port());
    REQUIRE(peer.handshake_ok());
    REQUIRE(peer.Hello("dev-a"));
    REQUIRE(peer.Push(SealedAnswer(cred, cred, "dev-b", 1, "Q01", "c12_reporting_hotline", "no", 1700000000000)).type ==
            static_cast<int>(MessageType::kAck));
    REQUIRE(peer.Push(SealedAnswer(cred, cred, "dev-a", 1, "Q01", "c11_child_helpline", "yes", 1700000000001)).type ==
            static_cast<int>(MessageType::kAck));
  }
  SECTION("version 2: only the other device's field, packed") {
    RawPeer peer(cred, h.port());
    peer.Send(EncodeMessage(HelloOf(2, "dev-a")));
    auto [type, payload] = peer.Read();
    REQUIRE(type == static_cast<int>(MessageType::kWelcome));
    CHECK(DecodeMessage<Welcome>(payload)->protocol == 2);
    auto chunk = peer.Pull();
    REQUIRE(chunk.type == static_cast<int>(MessageType::kPackedPullChunk));
    auto packed = DecodeMessage<PackedPullChunk>(chunk.payload);
    REQUIRE(packed.ok());
    auto fields = UnpackPullChunk(*packed);
    REQUIRE(fields.ok());
    REQUIRE(fields->fields.size() == 1);
    CHECK(fields->fields[0].field == "answer/Q01/c12_reporting_hotline");
    auto end = peer.Next();
    REQUIRE(end.type == static_cast<int>(MessageType::kPullEnd));
    // The cursor moves past the field left out (dev-a's, stored second, state 2), so it is not scanned again.
    CHECK(fields->cursor == 2);
    CHECK(DecodeMessage<PullEnd>(end.payload)->cursor == 2);
  }
  SECTION("version 1: both fields, as before") {
    RawPeer peer(cred, h.port());
    auto welcome = peer.Hello("dev-a");
    REQUIRE(welcome);
    CHECK(welcome->protocol == 1);
    auto chunk = peer.Pull();
    REQUIRE(chunk.type == static_cast<int>(MessageType::kPullChunk));
    CHECK(DecodeMessage<PullChunk>(chunk.payload)->fields.size() == 2);
  }
  SECTION("a version the server does not speak is refused") {
    RawPeer peer(cred, h.port());
    peer.Send(EncodeMessage(HelloOf(kProtocolVersion + 1, "dev-a")));
    CHECK(peer.Next().refused(RefusalCode::kVersion));
  }
}

TEST_CASE("A push sent behind a refused one in the same session is refused and not stored") {
  SyncHarness h;
  h.NewFieldStore("office", {"Q01"});
  const Credential cred = *LoadCredential(h.CredentialPath("office"));
  RawPeer peer(cred, h.port());
  REQUIRE(peer.Hello("dev-a"));
  // Outside the credential's countries: refused, and the connection stays open.
  CHECK(peer.Push(SealedAnswer(cred, cred, "dev-a", 1, "Q02", "c11_child_helpline", "yes", 1700000000000)).refused(RefusalCode::kScope));
  auto later = peer.Push(SealedAnswer(cred, cred, "dev-a", 2, "Q01", "c11_child_helpline", "yes", 1700000000001));
  CHECK(later.refused(RefusalCode::kScope));
  CHECK(later.reason.find("an earlier change-set of this sync was refused") != std::string::npos);
  // Nothing was stored: a version-1 pull (which leaves nothing out) has no field to send.
  CHECK(peer.Pull().type == static_cast<int>(MessageType::kPullEnd));
}

TEST_CASE("Pushes that arrive together are each acknowledged, and a damaged or cut frame behind them costs none of them") {
  SyncHarness h;
  h.NewFieldStore("office", {"Q01"});
  const Credential cred = *LoadCredential(h.CredentialPath("office"));
  const std::string db = h.data() + "/server.db";
  auto stored = [&](const std::string& device) {
    return Scalar(db, "SELECT COUNT(*) FROM changesets WHERE device_id = '" + device + "'");
  };
  // Two pushes and what follows them go out in one write, so the server finds them all waiting and
  // gathers them into one hand-over.
  auto two_pushes = [&](const std::string& device) {
    return EncodeMessage(mnr::Push{SealedAnswer(cred, cred, device, 1, "Q01", "c11_child_helpline", "yes", 1700000000000)}) +
           EncodeMessage(mnr::Push{SealedAnswer(cred, cred, device, 2, "Q01", "c12_reporting_hotline", "no", 1700000000001)});
  };

  SECTION("a Push frame whose payload does not decode") {
    RawPeer peer(cred, h.port());
    REQUIRE(peer.Hello("dev-a"));
    peer.Send(two_pushes("dev-a") + EncodeFrame(MessageType::kPush, "not a push"));
    CHECK(peer.Next().type == static_cast<int>(MessageType::kAck));
    CHECK(peer.Next().type == static_cast<int>(MessageType::kAck));
    CHECK(peer.Next().refused(RefusalCode::kProtocol));
    CHECK(peer.Next().type == 0);  // closed
    CHECK(stored("dev-a") == "2");
    CHECK(Contains(h.LogOnce("result=refused:protocol"), "result=refused:protocol"));
  }
  SECTION("a connection cut in the middle of the third frame") {
    {
      RawPeer peer(cred, h.port());
      REQUIRE(peer.Hello("dev-b"));
      const std::string third = EncodeMessage(mnr::Push{SealedAnswer(cred, cred, "dev-b", 3, "Q01", "c13_education_programme", "yes", 1700000000002)});
      peer.Send(two_pushes("dev-b") + third.substr(0, third.size() / 2));
    }  // the peer goes away without reading its Acks
    const std::string log = h.LogOnce("result=dropped");
    CHECK(Contains(log, "result=dropped"));
    // What arrived whole is stored once, and the half frame is not.
    CHECK(stored("dev-b") == "2");
  }
}
