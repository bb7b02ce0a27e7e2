// Roles enforced by the real server on every request: the whole role x operation matrix, refused
// credentials (revoked, expired, from another CA), and renewal without losing a device's data.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <thread>

#include "mnr/credential.h"
#include "mnr/sqlite.h"
#include "tests/e2e/raw_peer.h"
#include "tests/e2e/sync_harness.h"

using namespace mnr;
using namespace mnr::test;

namespace {

Credential IssueCredential(SyncHarness& h, const std::string& name, const std::string& role, const std::vector<std::string>& countries = {}) {
  std::vector<std::string> args = {"issue", "--data", h.data(), "--role", role, "--name", name, "--out", h.CredentialPath(name)};
  for (const auto& c : countries) {
    args.push_back("--country");
    args.push_back(c);
  }
  auto r = h.Server(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto c = LoadCredential(h.CredentialPath(name));
  REQUIRE(c.ok());
  return *c;
}

std::uint64_t NowMillis() { return static_cast<std::uint64_t>(std::time(nullptr)) * 1000; }

void ServerSql(SyncHarness& h, const std::string& sql) {
  auto db = Db::Open(h.data() + "/server.db", false);
  REQUIRE(db.ok());
  REQUIRE((*db)->Exec(sql).ok());
}

enum class Outcome { kOk, kRole, kOther };

std::string Name(Outcome o) { return o == Outcome::kOk ? "allowed" : o == Outcome::kRole ? "refused (role)" : "other"; }

}  // namespace

TEST_CASE("Every operation is allowed or refused by role, through the real server") {
  SyncHarness h;
  std::map<std::string, Credential> creds = {{"field", IssueCredential(h, "field-q01", "field", {"Q01"})},
                                             {"coordinator", IssueCredential(h, "coordinator", "coordinator")},
                                             {"auditor", IssueCredential(h, "auditor", "auditor")}};
  const std::vector<std::string> operations = {"push", "pull", "conflicts.list", "conflicts.resolve", "audit.log", "audit.export",
                                               "release.latest", "review.list", "review.approve", "status.overview"};
  // What the issues ask: field writes and reads its own countries (their conflicts too) and reads
  // releases; coordinators read all, resolve, review and release; auditors read the history, the
  // review and the overview, verify, and write nothing.
  const std::map<std::string, std::map<std::string, Outcome>> expected = {
      {"field", {{"push", Outcome::kOk}, {"pull", Outcome::kOk}, {"conflicts.list", Outcome::kOk}, {"conflicts.resolve", Outcome::kRole},
                 {"audit.log", Outcome::kRole}, {"audit.export", Outcome::kRole}, {"release.latest", Outcome::kOk},
                 {"review.list", Outcome::kRole}, {"review.approve", Outcome::kRole}, {"status.overview", Outcome::kRole}}},
      {"coordinator", {{"push", Outcome::kRole}, {"pull", Outcome::kOk}, {"conflicts.list", Outcome::kOk}, {"conflicts.resolve", Outcome::kOk},
                       {"audit.log", Outcome::kOk}, {"audit.export", Outcome::kRole}, {"release.latest", Outcome::kOk},
                       {"review.list", Outcome::kOk}, {"review.approve", Outcome::kOk}, {"status.overview", Outcome::kOk}}},
      {"auditor", {{"push", Outcome::kRole}, {"pull", Outcome::kRole}, {"conflicts.list", Outcome::kOk}, {"conflicts.resolve", Outcome::kRole},
                   {"audit.log", Outcome::kOk}, {"audit.export", Outcome::kOk}, {"release.latest", Outcome::kOk},
                   {"review.list", Outcome::kOk}, {"review.approve", Outcome::kRole}, {"status.overview", Outcome::kOk}}},
  };
  std::uint64_t seq = 0;
  for (const auto& [role, cred] : creds) {
    for (const auto& op : operations) {
      RawPeer peer(cred, h.port());
      REQUIRE(peer.handshake_ok());
      REQUIRE(peer.Hello("device-" + role));
      RawPeer::Reply reply;
      Outcome got = Outcome::kOther;
      if (op == "push") {
        // Each role pushes a change-set honestly signed with its own key.
        reply = peer.Push(SealedAnswer(cred, cred, "device-" + role, ++seq, "Q01", "c11_child_helpline", "yes", NowMillis()));
        if (reply.type == static_cast<int>(MessageType::kAck)) got = Outcome::kOk;
      } else if (op == "pull") {
        reply = peer.Pull();
        if (reply.type == static_cast<int>(MessageType::kPullChunk) || reply.type == static_cast<int>(MessageType::kPullEnd)) got = Outcome::kOk;
      } else {
        nlohmann::json args = nlohmann::json::object();
        if (op == "conflicts.resolve") args = {{"id", 999999}, {"value", "yes"}, {"reason", "matrix"}};
        if (op == "audit.export") args = {{"part", "meta"}};
        if (op == "review.approve") args = {{"country", "Q01"}};
        reply = peer.Request(op, args);
        if (reply.type == static_cast<int>(MessageType::kResponse)) got = Outcome::kOk;
        // A coordinator may resolve: refused for the missing conflict, after the role check passed.
        if (op == "conflicts.resolve" && reply.refused(RefusalCode::kBadRequest)) got = Outcome::kOk;
        // Likewise approving Q01, a draft: refused for its state, after the role check passed.
        if (op == "review.approve" && reply.refused(RefusalCode::kBadRequest)) got = Outcome::kOk;
      }
      if (reply.refused(RefusalCode::kRole)) got = Outcome::kRole;
      INFO(role << " " << op << ": " << reply.reason);
      CHECK(Name(got) == Name(expected.at(role).at(op)));
    }
  }
  // Only the field push reached the store.
  auto log = h.Server({"audit", "log", "--data", h.data(), "--format", "json", "--country", "Q01"});
  REQUIRE(log.exit_code == 0);
  const auto records = nlohmann::json::parse(log.out);
  REQUIRE(records.size() == 1);
  CHECK(records[0]["credential"] == creds["field"].id);
  // Pulls are scoped: the field credential sees Q01 only.
  const Credential q02 = IssueCredential(h, "field-q02", "field", {"Q02"});
  RawPeer other(q02, h.port());
  REQUIRE(other.Hello("device-q02"));
  CHECK(other.Pull().type == static_cast<int>(MessageType::kPullEnd));
}

TEST_CASE("Revoked, expired and foreign credentials are refused, and a revocation ends a session at its next request") {
  SyncHarness h;
  const std::string db = h.NewFieldStore("office", {"Q01"});
  REQUIRE(h.Client({"answer", "--db", db, "Q01", "c11_child_helpline", "yes"}).exit_code == 0);
  REQUIRE(h.Sync(db).exit_code == 0);

  SECTION("revoked, also in the middle of a session") {
    auto cred = LoadCredential(h.CredentialPath("office"));
    REQUIRE(cred.ok());
    RawPeer open(*cred, h.port());
    REQUIRE(open.Hello("device-open"));
    auto id = cred->id;
    REQUIRE(h.Server({"revoke", "--data", h.data(), id}).exit_code == 0);
    auto next = open.Pull();
    CHECK(next.refused(RefusalCode::kCredential));
    CHECK(next.reason.find("revoked") != std::string::npos);
    REQUIRE(h.Client({"answer", "--db", db, "Q01", "c12_reporting_hotline", "no"}).exit_code == 0);
    auto s = h.Sync(db);
    CHECK(s.exit_code == 4);
    CHECK(s.err.find("revoked") != std::string::npos);
    RawPeer again(*cred, h.port());
    CHECK_FALSE(again.Hello("device-again"));
  }
  SECTION("expired") {
    auto cred = LoadCredential(h.CredentialPath("office"));
    REQUIRE(cred.ok());
    ServerSql(h, "UPDATE credentials SET expires_at = 1000 WHERE id = '" + cred->id + "'");
    auto s = h.Sync(db);
    CHECK(s.exit_code == 4);
    CHECK(s.err.find("expired") != std::string::npos);
  }
  SECTION("issued by another server's CA") {
    TempDir other;
    REQUIRE(Run({ServerBin(), "init", "--data", other / "srv", "--address", h.address()}).exit_code == 0);
    WriteText(other / "c.csv", "code,name,income_group,region\nQ01,Placeholder Q01,high,europe\n");
    REQUIRE(Run({ServerBin(), "countries", "import", "--data", other / "srv", other / "c.csv"}).exit_code == 0);
    REQUIRE(Run({ServerBin(), "issue", "--data", other / "srv", "--role", "field", "--country", "Q01", "--name", "stranger",
                 "--out", other / "stranger.mnrcred"})
                .exit_code == 0);
    auto stranger = LoadCredential(other / "stranger.mnrcred");
    REQUIRE(stranger.ok());
    // Our server presents a certificate the stranger's CA did not issue, and requires one ours did.
    RawPeer peer(*stranger, h.port());
    CHECK_FALSE((peer.handshake_ok() && peer.Hello("stranger")));
    REQUIRE(Run({ClientBin(), "init", "--db", other / "s.db", "--credentials", other / "stranger.mnrcred"}).exit_code == 0);
    auto s = Run({ClientBin(), "sync", "--db", other / "s.db", "--server", h.address(), "--retries", "0"});
    CHECK(s.exit_code != 0);
    CHECK(Contains(h.LogOnce("handshake-failed"), "handshake-failed"));
  }
  // The refusals changed nothing the audit trail does not account for.
  CHECK(h.Server({"audit", "verify", "--data", h.data()}).exit_code == 0);
}

TEST_CASE("A renewed credential keeps the device id and every unsynced edit, sealed or not") {
  SyncHarness h;
  const std::string db = h.NewFieldStore("office", {"Q01"});
  auto status = h.Client({"status", "--db", db});
  REQUIRE(status.exit_code == 0);
  const auto at = status.out.find("device:");
  REQUIRE(at != std::string::npos);
  const std::string device_line = status.out.substr(at, status.out.find('\n', at) - at);
  REQUIRE(h.Client({"answer", "--db", db, "Q01", "c11_child_helpline", "yes"}).exit_code == 0);
  REQUIRE(h.Sync(db).exit_code == 0);
  // Sealed under the old credential (a bundle that never reached the server), then one edit not yet cut.
  REQUIRE(h.Client({"answer", "--db", db, "Q01", "c12_reporting_hotline", "partial"}).exit_code == 0);
  REQUIRE(h.Client({"bundle", "--db", db, "--out", h.dir() / "lost.mnrb"}).exit_code == 0);
  REQUIRE(h.Client({"answer", "--db", db, "Q01", "c00_mnr_reference", "no"}).exit_code == 0);

  auto old = LoadCredential(h.CredentialPath("office"));
  REQUIRE(old.ok());
  auto renew = h.Server({"renew", "--data", h.data(), old->id, "--out", h.dir() / "office-2.mnrcred", "--days", "30"});
  INFO(renew.err);
  REQUIRE(renew.exit_code == 0);
  auto fresh = LoadCredential(h.dir() / "office-2.mnrcred");
  REQUIRE(fresh.ok());
  CHECK(renew.out == fresh->id + "\n");
  CHECK(fresh->countries == old->countries);
  CHECK(fresh->name == old->name);

  // The office tries the old file once more before the new one arrives: refused, but the attempt has
  // sealed the pending edit under the old credential, after the renewal (in a later second: the
  // client's test clock is two seconds on).
  auto refused = Run({ClientBin(), "sync", "--db", db, "--server", h.address(), "--retries", "0"}, "", std::chrono::seconds(60),
                     {"MNR_TEST_CLOCK_OFFSET=2"});
  CHECK(refused.exit_code == 4);
  CHECK(refused.err.find("revoked") != std::string::npos);
  auto bind = h.Client({"init", "--db", db, "--credentials", h.dir() / "office-2.mnrcred"});
  INFO(bind.err);
  REQUIRE(bind.exit_code == 0);
  CHECK(bind.out.find("bound") != std::string::npos);
  auto after = h.Client({"status", "--db", db});
  CHECK(after.out.find(device_line) != std::string::npos);
  REQUIRE(h.Client({"answer", "--db", db, "Q01", "c01_national_strategy", "unknown"}).exit_code == 0);
  auto s = h.Sync(db);
  INFO(s.err);
  REQUIRE(s.exit_code == 0);
  CHECK(s.out.find("pushed 3 change-set") != std::string::npos);

  auto log = h.Server({"audit", "log", "--data", h.data(), "--format", "json", "--country", "Q01"});
  REQUIRE(log.exit_code == 0);
  const auto records = nlohmann::json::parse(log.out);
  REQUIRE(records.size() == 4);
  CHECK(records[0]["credential"] == old->id);
  CHECK_FALSE(records[0].contains("carried_by"));
  for (int i : {1, 2}) {  // sealed under the old credential, delivered by the new one
    CHECK(records[i]["credential"] == old->id);
    CHECK(records[i]["carried_by"] == fresh->id);
  }
  CHECK(records[3]["credential"] == fresh->id);
  auto receipts = h.Client({"receipts", "--db", db, "--verify"});
  INFO(receipts.err);
  CHECK(receipts.exit_code == 0);
  auto verify = h.Server({"audit", "verify", "--data", h.data()});
  INFO(verify.err);
  CHECK(verify.exit_code == 0);
  REQUIRE(h.Server({"audit", "export", "--data", h.data(), "--out", h.dir() / "export.json"}).exit_code == 0);
  auto offline = Run({MNR_AUDIT_BIN, "verify", h.dir() / "export.json"});
  INFO(offline.err);
  CHECK(offline.exit_code == 0);
  // The renewal is logged: who replaced what.
  auto full = h.Server({"audit", "log", "--data", h.data()});
  CHECK(full.out.find("revoked credential " + old->id + " (renewed as " + fresh->id + ")") != std::string::npos);
  // The lost bundle, found later, changes nothing.
  auto late = h.Server({"import-bundle", "--data", h.data(), h.dir() / "lost.mnrb"});
  INFO(late.out << late.err);
  CHECK(late.out.find("0 applied, 1 already present, 0 refused") != std::string::npos);
}
