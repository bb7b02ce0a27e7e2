// What the real client says when things go wrong around it: a credential revoked in the middle of a
// push, a rebind to a credential that would strand unsynced edits, a store on read-only media or on a
// full disk. Each message must name the cause and what to do.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <atomic>
#include <thread>

#include "mnr/credential.h"
#include "mnr/messages.h"
#include "tests/e2e/sync_harness.h"

using namespace mnr;
using namespace mnr::test;

namespace {

// A one-connection stand-in for mnr-server that speaks with the real server's certificate: Welcome,
// then it refuses the first Push as revoked (code 3) and closes, as the real server does when a
// coordinator revokes the credential between two pushes. Timing that on the real server would be a
// race; here it is exact.
class RevokingServer {
 public:
  RevokingServer(const SyncHarness& h, const Credential& cred) : cred_(cred) {
    ctx_.add_certificate_authority(asio::buffer(ReadText(h.data() + "/ca.crt")));
    ctx_.use_certificate_chain(asio::buffer(ReadText(h.data() + "/server.crt")));
    ctx_.use_private_key(asio::buffer(ReadText(h.data() + "/server.key")), asio::ssl::context::pem);
    ctx_.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    server_certificate_ = ReadText(h.data() + "/server.crt");
    acceptor_.open(asio::ip::tcp::v4());
    acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true));
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(h.port())});
    acceptor_.listen();
    thread_ = std::thread([this] { Serve(); });
  }
  ~RevokingServer() {
    asio::error_code ignored;
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // wakes an accept still waiting
    acceptor_.close(ignored);
    thread_.join();
  }
  bool refused_a_push() const { return refused_a_push_; }

 private:
  std::pair<int, std::string> Read(asio::ssl::stream<asio::ip::tcp::socket>& s) {
    std::array<unsigned char, kFrameHeaderBytes> h{};
    asio::error_code ec;
    asio::read(s, asio::buffer(h), ec);
    if (ec) return {0, ""};
    const std::uint32_t len = (std::uint32_t{h[1]} << 24) | (std::uint32_t{h[2]} << 16) | (std::uint32_t{h[3]} << 8) | h[4];
    std::string payload(len, '\0');
    asio::read(s, asio::buffer(payload), ec);
    if (ec) return {0, ""};
    return {h[0], payload};
  }

  void Serve() {
    asio::error_code ec;
    asio::ip::tcp::socket socket(io_);
    acceptor_.accept(socket, ec);
    if (ec) return;
    asio::ssl::stream<asio::ip::tcp::socket> s(std::move(socket), ctx_);
    s.handshake(asio::ssl::stream_base::server, ec);
    if (ec || Read(s).first != static_cast<int>(MessageType::kHello)) return;
    Welcome welcome;
    welcome.store_id = "revoking-server";
    welcome.credential_id = cred_.id;
    welcome.role = "field";
    welcome.countries = cred_.countries;
    welcome.server_certificate = server_certificate_;
    asio::write(s, asio::buffer(EncodeMessage(welcome)), ec);
    if (ec || Read(s).first != static_cast<int>(MessageType::kPush)) return;
    const Refused refused{static_cast<std::uint16_t>(RefusalCode::kCredential),
                          "credential " + cred_.id + " was revoked; ask the coordinator for a renewed one"};
    asio::write(s, asio::buffer(EncodeMessage(refused)), ec);
    refused_a_push_ = !ec;
    s.shutdown(ec);
  }

  Credential cred_;
  std::string server_certificate_;
  asio::io_context io_;
  asio::ssl::context ctx_{asio::ssl::context::tls_server};
  asio::ip::tcp::acceptor acceptor_{io_};
  std::thread thread_;
  std::atomic<bool> refused_a_push_{false};
};

// Runs `script` with /bin/sh in a mount namespace of its own (as root, or as a mapped root in a user
// namespace), so it may mount a tmpfs or a read-only bind mount. False if this machine allows neither.
bool MountNamespacesWork() {
  return Run({"/usr/bin/unshare", "-Urm", "/bin/sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"}).exit_code == 0;
}
RunResult InMountNamespace(const std::string& script) { return Run({"/usr/bin/unshare", "-Urm", "/bin/sh", "-c", script}); }

std::string Quote(const std::string& s) { return "'" + s + "'"; }

}  // namespace

TEST_CASE("A sync whose credential is revoked in the middle of a push reports the refusal, not a dropped link") {
  SyncHarness h;
  const std::string db = h.NewFieldStore("office", {"Q01"});
  auto cred = LoadCredential(h.CredentialPath("office"));
  REQUIRE(cred.ok());
  REQUIRE(h.Client({"answer", "--db", db, "Q01", "c11_child_helpline", "yes"}).exit_code == 0);
  h.StopServer();
  RevokingServer fake(h, *cred);
  auto r = h.Sync(db);  // no retries
  INFO(r.err);
  CHECK(fake.refused_a_push());
  CHECK(r.exit_code == 4);
  CHECK(Contains(r.err, "refused by the server: credential " + cred->id + " was revoked"));
  CHECK_FALSE(Contains(r.err, "closed the connection"));
}

TEST_CASE("init --credentials refuses an unrelated credential while edits are unsynced, and takes the renewal") {
  SyncHarness h;
  const std::string db = h.NewFieldStore("office", {"Q01"});
  REQUIRE(h.Sync(db).exit_code == 0);  // the device is known to the server under its credential
  REQUIRE(h.Client({"answer", "--db", db, "Q01", "c11_child_helpline", "yes"}).exit_code == 0);
  auto old_cred = LoadCredential(h.CredentialPath("office"));
  REQUIRE(old_cred.ok());

  // A credential of the same office, but not a renewal of this store's.
  const std::string other = h.CredentialPath("other");
  REQUIRE(h.Server({"issue", "--data", h.data(), "--role", "field", "--country", "Q01", "--name", "other", "--out", other})
              .exit_code == 0);
  auto refused = h.Client({"init", "--db", db, "--credentials", other});
  INFO(refused.err);
  CHECK(refused.exit_code == 1);
  CHECK(Contains(refused.err, "is neither this store's credential " + old_cred->id + " nor its renewal"));
  CHECK(Contains(refused.err, "1 edit(s) not yet sent"));
  CHECK(Contains(refused.err, "mnr-client sync --db " + db));
  CHECK(Contains(refused.err, "mnr-server renew " + old_cred->id));
  CHECK(Contains(h.Client({"status", "--db", db}).out, old_cred->id));  // still bound to its own

  // Sealed but unacknowledged change-sets count as unsynced too.
  REQUIRE(h.Client({"bundle", "--db", db, "--out", h.dir() / "office.mnrb"}).exit_code == 0);
  CHECK(Contains(h.Client({"init", "--db", db, "--credentials", other}).err, "1 change-set(s) the server has not acknowledged"));

  // The renewal names its predecessor, and the store takes it with its unsynced edits.
  const std::string renewed = h.CredentialPath("office-renewed");
  auto renew = h.Server({"renew", "--data", h.data(), old_cred->id, "--out", renewed});
  REQUIRE(renew.exit_code == 0);
  auto new_cred = LoadCredential(renewed);
  REQUIRE(new_cred.ok());
  CHECK(new_cred->renews == old_cred->id);
  auto bound = h.Client({"init", "--db", db, "--credentials", renewed});
  INFO(bound.err);
  CHECK(bound.exit_code == 0);
  CHECK(Contains(bound.out, "renewal of " + old_cred->id));
  auto synced = h.Sync(db);
  INFO(synced.err);
  CHECK(synced.exit_code == 0);
  CHECK(Contains(synced.out, "pushed 1 change-set"));

  // With nothing unsynced, any credential may be bound.
  auto rebound = h.Client({"init", "--db", db, "--credentials", other});
  INFO(rebound.err);
  CHECK(rebound.exit_code == 0);
}

TEST_CASE("status on a store on read-only media says to copy it to a writable disk") {
  if (!MountNamespacesWork()) {
    WARN("skipped: this machine allows no mount namespace for a read-only mount");
    return;
  }
  TempDir dir;
  const std::string media = dir / "media";
  REQUIRE(Run({"/bin/mkdir", media}).exit_code == 0);
  REQUIRE(Run({ClientBin(), "init", "--db", media + "/office.db", "--country", "Q01"}).exit_code == 0);
  REQUIRE(Run({ClientBin(), "answer", "--db", media + "/office.db", "Q01", "c11_child_helpline", "yes"}).exit_code == 0);
  auto r = InMountNamespace("mount --bind " + Quote(media) + " " + Quote(media) + " && mount -o remount,bind,ro " + Quote(media) +
                            " && exec " + Quote(ClientBin()) + " status --db " + Quote(media + "/office.db"));
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.err, "the store's folder " + media + " is read-only"));
  CHECK(Contains(r.err, "copy the store (with its -wal file, if there is one) to a writable disk"));
}

TEST_CASE("Opening a store on a full disk says the disk is full and what to free") {
  if (!MountNamespacesWork()) {
    WARN("skipped: this machine allows no mount namespace for a small tmpfs");
    return;
  }
  TempDir dir;
  const std::string disk = dir / "disk";
  REQUIRE(Run({"/bin/mkdir", disk}).exit_code == 0);
  // A 400 KiB disk: the store is made while there is room, then a file takes the rest.
  auto r = InMountNamespace("mount -t tmpfs -o size=400k tmpfs " + Quote(disk) + " && " + Quote(ClientBin()) + " init --db " +
                            Quote(disk + "/office.db") + " --country Q01 >/dev/null && (dd if=/dev/zero of=" + Quote(disk + "/fill") +
                            " bs=4k 2>/dev/null; true) && exec " + Quote(ClientBin()) + " status --db " + Quote(disk + "/office.db"));
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(Contains(r.err, "the disk holding " + disk + " is full"));
  CHECK(Contains(r.err, "free space on it"));
  CHECK_FALSE(Contains(r.err, "PRAGMA"));
}
