// `mnr-server run` as a service: its configuration file, SIGHUP and SIGTERM, on the real binary with
// real TLS on loopback and real stores. docs/config.md is the contract.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <ctime>
#include <regex>
#include <thread>

#include "mnr/credential.h"
#include "mnr/messages.h"
#include "tests/e2e/cut_proxy.h"
#include "tests/e2e/raw_peer.h"
#include "tests/e2e/sync_harness.h"

using namespace mnr;
using namespace mnr::test;

namespace {

std::uint64_t ServiceNowMillis() { return static_cast<std::uint64_t>(std::time(nullptr)) * 1000; }

// Polls the log at `path` until it holds `needle` (at most 10 s).
bool ServiceLogShows(const std::string& path, const std::string& needle) {
  for (int i = 0; i < 500; ++i) {
    if (Contains(ReadText(path), needle)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Change-sets the server store holds from `device`.
int ServiceStoredChangeSets(const SyncHarness& h, const std::string& device) {
  return std::stoi(Scalar(h.data() + "/server.db", "SELECT COUNT(*) FROM changesets WHERE device_id = '" + device + "'"));
}

TEST_CASE("run takes its settings from --config, a flag wins over the file, and a bad key stops the start at its line") {
  SyncHarness h;
  h.StopServer();
  const std::string db = h.NewFieldStore("office", {"Q01"});
  const int file_port = FreePort();
  const std::string config = h.dir() / "server.toml";
  WriteText(config, "# the service's settings\nlisten = \"127.0.0.1:" + std::to_string(file_port) +
                        "\"\nmax_clients = 4\nlog_level = \"warning\"\n");
  {
    Background server({ServerBin(), "run", "--data", h.data(), "--config", config}, h.dir() / "file.log");
    REQUIRE(WaitForPort(file_port, std::chrono::seconds(10)));
    REQUIRE(h.Client({"answer", "--db", db, "Q01", "c11_child_helpline", "yes"}).exit_code == 0);
    Ok(h.Sync(db, "127.0.0.1:" + std::to_string(file_port)));
    server.Kill(SIGTERM);
    CHECK(server.Wait(std::chrono::seconds(10)) == 0);
    // log_level = "warning": no info line (the start, the sync, the shutdown) was written.
    const std::string log = ReadText(h.dir() / "file.log");
    INFO(log);
    CHECK_FALSE(Contains(log, "listening on"));
    CHECK_FALSE(Contains(log, "sync peer="));
  }
  {
    // --listen and --log-level override the file.
    Background server({ServerBin(), "run", "--data", h.data(), "--config", config, "--listen", h.address(), "--log-level", "info"},
                      h.dir() / "flag.log");
    REQUIRE(WaitForPort(h.port(), std::chrono::seconds(10)));
    REQUIRE(h.Client({"answer", "--db", db, "Q01", "c11_child_helpline", "no"}).exit_code == 0);
    Ok(h.Sync(db));
    server.Kill(SIGTERM);
    CHECK(server.Wait(std::chrono::seconds(10)) == 0);
    const std::string log = ReadText(h.dir() / "flag.log");
    INFO(log);
    CHECK(Contains(log, "listening on " + h.address()));
    CHECK(Contains(log, "; settings from " + config));
    CHECK(Contains(log, "result=ok"));
  }
  WriteText(config, "listen = \"127.0.0.1:" + std::to_string(file_port) + "\"\n\nmax_clients = 0\n");
  auto bad = h.Server({"run", "--data", h.data(), "--config", config});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err == "mnr-server run: " + config + ":3:15: max_clients: must be 1 to 100000 sessions, not 0\n");
  WriteText(config, "listen = \"127.0.0.1:" + std::to_string(file_port) + "\"\n  shutdown_grace_seconds = 3\n");
  bad = h.Server({"run", "--data", h.data(), "--config", config});
  CHECK(bad.exit_code == 2);
  CHECK(Contains(bad.err, config + ":2:3: shutdown_grace_seconds: unknown key"));
  bad = h.Server({"run", "--data", h.data(), "--config", h.dir() / "absent.toml"});
  CHECK(bad.exit_code == 2);
  CHECK(Contains(bad.err, h.dir() / "absent.toml"));
}

TEST_CASE("SIGHUP applies the file's new log level and limits, and a bad file keeps the running settings") {
  SyncHarness h;
  h.StopServer();
  const std::string db = h.NewFieldStore("office", {"Q01"});
  const std::string config = h.dir() / "server.toml";
  const std::string log_path = h.dir() / "hup.log";
  WriteText(config, "log_level = \"info\"\n");
  Background server({ServerBin(), "run", "--data", h.data(), "--config", config, "--listen", h.address()}, log_path);
  REQUIRE(WaitForPort(h.port(), std::chrono::seconds(10)));

  WriteText(config, "log_level = \"debug\"\nmax_clients = 7\nshutdown_grace = 2\n");
  server.Kill(SIGHUP);
  REQUIRE(ServiceLogShows(log_path, "SIGHUP: reloaded " + config));
  const std::string reloaded = ReadText(log_path);
  CHECK(Contains(reloaded, "log_level=debug"));
  CHECK(Contains(reloaded, "max_clients=7"));
  CHECK(Contains(reloaded, "shutdown_grace=2"));

  WriteText(config, "log_level = \"loud\"\n");
  server.Kill(SIGHUP);
  REQUIRE(ServiceLogShows(log_path, "SIGHUP: kept the running settings: " + config + ":1:13: log_level:"));

  // Still serving, at debug level: a refused push logs its reason as a debug line.
  REQUIRE(h.Client({"answer", "--db", db, "Q01", "c11_child_helpline", "yes"}).exit_code == 0);
  Ok(h.Sync(db));
  auto cred = LoadCredential(h.CredentialPath("office"));
  REQUIRE(cred.ok());
  {
    RawPeer peer(*cred, h.port());
    REQUIRE(peer.Hello("device-out-of-scope"));
    auto reply = peer.Push(SealedAnswer(*cred, *cred, "device-out-of-scope", 1, "Q02", "c11_child_helpline", "yes", ServiceNowMillis()));
    CHECK(reply.refused(RefusalCode::kScope));
  }
  // The info line counts the refusal; only the debug line quotes its reason.
  REQUIRE(ServiceLogShows(log_path, "debug: sync peer=127.0.0.1 device=device-out-of-scope refusal: "));
  const std::string log = ReadText(log_path);
  INFO(log);
  std::smatch info_line;
  REQUIRE(std::regex_search(log, info_line, std::regex("Z sync peer=127.0.0.1 credential=[^\\n]* device=device-out-of-scope [^\\n]*")));
  CHECK(Contains(info_line.str(), " refused=1 "));
  CHECK_FALSE(Contains(info_line.str(), "Q02"));
  CHECK(Contains(log, "device=device-out-of-scope refusal: change-set 1 of device device-out-of-scope writes answer/Q02/"));
  server.Kill(SIGTERM);
  CHECK(server.Wait(std::chrono::seconds(10)) == 0);
}

TEST_CASE("SIGTERM lets a sync in flight finish, stops accepting, exits 0, and loses nothing acknowledged") {
  SyncHarness h;
  h.StopServer();
  const std::string db = h.NewFieldStore("office", {"Q01"});
  auto cred = LoadCredential(h.CredentialPath("office"));
  REQUIRE(cred.ok());
  const std::string log_path = h.dir() / "term.log";
  auto server = std::make_unique<Background>(
      std::vector<std::string>{ServerBin(), "run", "--data", h.data(), "--listen", h.address(), "--shutdown-grace", "20"}, log_path);
  REQUIRE(WaitForPort(h.port(), std::chrono::seconds(10)));

  RawPeer peer(*cred, h.port());
  REQUIRE(peer.Hello("device-in-flight"));
  const std::uint64_t now = ServiceNowMillis();
  REQUIRE(peer.Push(SealedAnswer(*cred, *cred, "device-in-flight", 1, "Q01", "c11_child_helpline", "yes", now)).type ==
          static_cast<int>(MessageType::kAck));

  const auto signalled = std::chrono::steady_clock::now();
  server->Kill(SIGTERM);
  REQUIRE(ServiceLogShows(log_path, "shutting down: 1 sessions in flight"));
  // No new connection is accepted, but the session in flight goes on: a push, a pull, then Bye.
  CHECK(ConnectLoopback(h.port()) == -1);
  CHECK(peer.Push(SealedAnswer(*cred, *cred, "device-in-flight", 2, "Q01", "c12_reporting_hotline", "no", now + 1)).type ==
        static_cast<int>(MessageType::kAck));
  const auto pulled = peer.Pull();
  CHECK(pulled.type != 0);
  CHECK(pulled.type != static_cast<int>(MessageType::kRefused));
  peer.Send(EncodeMessage(Bye{}));

  CHECK(server->Wait(std::chrono::seconds(15)) == 0);
  CHECK(std::chrono::steady_clock::now() - signalled < std::chrono::seconds(15));  // well inside the 20 s grace
  const std::string log = ReadText(log_path);
  INFO(log);
  CHECK(Contains(log, "stopped: 1 finished, 0 cut"));
  server.reset();

  h.StartServer();
  CHECK(ServiceStoredChangeSets(h, "device-in-flight") == 2);
  REQUIRE(h.Client({"answer", "--db", db, "Q01", "c11_child_helpline", "no"}).exit_code == 0);
  Ok(h.Sync(db));
}

TEST_CASE("SIGTERM cuts a session that outlasts the grace, exits 0 within the bound, and keeps what it acknowledged") {
  SyncHarness h;
  h.StopServer();
  const std::string db = h.NewFieldStore("office", {"Q01"});
  auto cred = LoadCredential(h.CredentialPath("office"));
  REQUIRE(cred.ok());
  const std::string log_path = h.dir() / "cut.log";
  auto server = std::make_unique<Background>(
      std::vector<std::string>{ServerBin(), "run", "--data", h.data(), "--listen", h.address(), "--shutdown-grace", "1"}, log_path);
  REQUIRE(WaitForPort(h.port(), std::chrono::seconds(10)));

  // A real client's sync through a link that never delivers its last bytes would hang the same way;
  // a raw peer that goes quiet after one acknowledged push is the deterministic form of it.
  RawPeer peer(*cred, h.port());
  REQUIRE(peer.Hello("device-quiet"));
  REQUIRE(peer.Push(SealedAnswer(*cred, *cred, "device-quiet", 1, "Q01", "c11_child_helpline", "yes", ServiceNowMillis())).type ==
          static_cast<int>(MessageType::kAck));
  // A connection that has not finished its handshake is closed at once, not waited for.
  const int half_open = ConnectLoopback(h.port());
  REQUIRE(half_open >= 0);

  const auto signalled = std::chrono::steady_clock::now();
  server->Kill(SIGTERM);
  CHECK(server->Wait(std::chrono::seconds(10)) == 0);
  const auto took = std::chrono::steady_clock::now() - signalled;
  CHECK(took >= std::chrono::milliseconds(900));
  CHECK(took < std::chrono::seconds(4));
  ::close(half_open);
  CHECK(peer.Next().type == 0);  // the server closed the link
  const std::string log = ReadText(log_path);
  INFO(log);
  CHECK(Contains(log, "shutting down: 1 sessions in flight"));
  CHECK(Contains(log, "device=device-quiet pushed=1"));
  CHECK(Contains(log, "result=cut:shutdown"));
  CHECK(Contains(log, "stopped: 0 finished, 1 cut"));
  server.reset();

  h.StartServer();
  CHECK(ServiceStoredChangeSets(h, "device-quiet") == 1);
  REQUIRE(h.Client({"answer", "--db", db, "Q01", "c11_child_helpline", "no"}).exit_code == 0);
  Ok(h.Sync(db));
  CHECK(Contains(ExportCsv(h, db), "c11_child_helpline"));
}

TEST_CASE("When stderr is the journal's stream, log lines carry the journal's priority prefix and no time stamp") {
  SyncHarness h;
  h.StopServer();
  const std::string db = h.NewFieldStore("office", {"Q01"});
  const std::string log_path = h.dir() / "journal.log";
  WriteText(log_path, "");
  struct stat st {};
  REQUIRE(::stat(log_path.c_str(), &st) == 0);
  // What systemd sets for a unit whose stderr is the journal: the stream's device and inode.
  const std::string stream = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  ::setenv("JOURNAL_STREAM", stream.c_str(), 1);
  Background server({ServerBin(), "run", "--data", h.data(), "--listen", h.address(), "--log-level", "debug"}, log_path);
  ::unsetenv("JOURNAL_STREAM");
  REQUIRE(WaitForPort(h.port(), std::chrono::seconds(10)));
  auto cred = LoadCredential(h.CredentialPath("office"));
  REQUIRE(cred.ok());
  {
    RawPeer peer(*cred, h.port());
    REQUIRE(peer.Hello("device-journal"));
    CHECK(peer.Push(SealedAnswer(*cred, *cred, "device-journal", 1, "Q03", "c11_child_helpline", "yes", ServiceNowMillis()))
              .refused(RefusalCode::kScope));
  }
  REQUIRE(ServiceLogShows(log_path, "<7>sync peer=127.0.0.1 device=device-journal refusal: "));
  server.Kill(SIGTERM);
  CHECK(server.Wait(std::chrono::seconds(10)) == 0);
  const std::string log = ReadText(log_path);
  INFO(log);
  CHECK(log.rfind("<6>listening on " + h.address(), 0) == 0);
  CHECK(Contains(log, "\n<6>sync peer=127.0.0.1 credential="));
  CHECK(Contains(log, "\n<6>stopped: 0 finished, 0 cut\n"));
  // Without the variable (a terminal, a file): a UTC time stamp first.
  Background plain({ServerBin(), "run", "--data", h.data(), "--listen", h.address()}, h.dir() / "plain.log");
  REQUIRE(WaitForPort(h.port(), std::chrono::seconds(10)));
  plain.Kill(SIGTERM);
  CHECK(plain.Wait(std::chrono::seconds(10)) == 0);
  const std::string plain_log = ReadText(h.dir() / "plain.log");
  CHECK(std::regex_search(plain_log, std::regex("^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:]+Z listening on ")));
}

}  // namespace

TEST_CASE("issue, renew and release take their defaults from the configuration file, and a flag still wins") {
  SyncHarness h;
  const std::string config = h.dir() / "server.toml";
  WriteText(config, "credential_days = 10\nmin_group = 5\n");
  const auto days_left = [&](const std::string& file) {
    auto c = LoadCredential(file);
    REQUIRE(c.ok());
    return (c->expires_at - static_cast<std::int64_t>(std::time(nullptr)) + 3600) / 86400;
  };
  Ok(h.Server({"issue", "--data", h.data(), "--config", config, "--role", "field", "--country", "Q01", "--name", "a", "--out",
               h.dir() / "a.mnrcred"}));
  CHECK(days_left(h.dir() / "a.mnrcred") == 10);
  Ok(h.Server({"issue", "--data", h.data(), "--config", config, "--days", "20", "--role", "field", "--country", "Q01", "--name", "b",
               "--out", h.dir() / "b.mnrcred"}));
  CHECK(days_left(h.dir() / "b.mnrcred") == 20);
  auto a = LoadCredential(h.dir() / "a.mnrcred");
  REQUIRE(a.ok());
  Ok(h.Server({"renew", "--data", h.data(), "--config", config, a->id, "--out", h.dir() / "a2.mnrcred"}));
  CHECK(days_left(h.dir() / "a2.mnrcred") == 10);
  // Without a file (none at /etc/mnr-sync on a test machine is assumed), the built-in 730 days.
  if (::access("/etc/mnr-sync/server.toml", F_OK) != 0) {
    Ok(h.Server({"issue", "--data", h.data(), "--role", "field", "--country", "Q01", "--name", "c", "--out", h.dir() / "c.mnrcred"}));
    CHECK(days_left(h.dir() / "c.mnrcred") == 730);
  }

  auto made = Ok(h.Server({"release", "--data", h.data(), "--config", config, "--label", "r1", "--allow-unapproved"}));
  CHECK(Contains(made.out, "fewer than 5 countries"));
  auto shown = Ok(h.Server({"releases", "show", "--data", h.data(), "r1"}));
  CHECK(Contains(shown.out, "\"small_groups\":{\"min_countries\":5}"));
  auto flag = Ok(h.Server({"release", "--data", h.data(), "--config", config, "--min-group", "2", "--label", "r2", "--allow-unapproved"}));
  CHECK(Contains(flag.out, "fewer than 2 countries"));

  WriteText(config, "min_group = 0\n");
  auto bad = h.Server({"release", "--data", h.data(), "--config", config, "--label", "r3", "--allow-unapproved"});
  CHECK(bad.exit_code == 2);
  CHECK(Contains(bad.err, config + ":1:13: min_group:"));
  auto missing = h.Server({"issue", "--data", h.data(), "--config", h.dir() / "absent.toml", "--role", "field", "--country", "Q01",
                           "--name", "d", "--out", h.dir() / "d.mnrcred"});
  CHECK(missing.exit_code == 2);
  CHECK(Contains(missing.err, h.dir() / "absent.toml"));
}
