// End to end: the real mnr-server on loopback and real mnr-client processes.
#include <catch2/catch.hpp>

#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "mnr/sqlite.h"
#include "tests/e2e/cut_proxy.h"
#include "tests/e2e/sync_harness.h"

using namespace mnr::test;

namespace {

std::string StateHash(const SyncHarness& h) {
  auto r = h.Server({"state", "hash", "--data", h.data()});
  REQUIRE(r.exit_code == 0);
  return r.out;
}

// Sum of "pushed=N" over the server's log lines.
int LoggedPushes(const std::string& log, const std::string& key = "pushed") {
  std::regex re(" " + key + "=([0-9]+)");
  int total = 0;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator(); ++it) {
    total += std::stoi((*it)[1]);
  }
  return total;
}

void WriteAnswersCsv(const std::string& path, const std::string& country, int repeat_notes) {
  std::ostringstream csv;
  csv << "country,indicator,answer,note\n";
  const char* ids[] = {"c00_mnr_reference", "c01_governance_mechanism", "c01_national_strategy", "c02_research_monitoring",
                       "c04_dedicated_law_enforcement", "c11_child_helpline", "c12_reporting_hotline"};
  for (int i = 0; i < 7; ++i) {
    csv << country << "," << ids[i] << "," << (i % 2 ? "yes" : "partial") << ",\"note " << repeat_notes << " for " << ids[i]
        << ", with a comma\"\n";
  }
  WriteText(path, csv.str());
}

}  // namespace

TEST_CASE("Edits synced from a field store reach the server aggregate and come back to a second device") {
  SyncHarness h;
  const std::string a = h.NewFieldStore("q01-a", {"Q01"});
  const std::string b = h.NewFieldStore("q01-b", {"Q01"});
  REQUIRE(h.Client({"answer", "--db", a, "Q01", "c11_child_helpline", "yes", "--note", "ligne ouverte 24h/24, « gratuite »"}).exit_code == 0);
  REQUIRE(h.Client({"answer", "--db", a, "Q01", "c12_reporting_hotline", "no"}).exit_code == 0);
  auto s1 = h.Sync(a);
  INFO(s1.err);
  REQUIRE(s1.exit_code == 0);
  CHECK(s1.out.find("pushed 1 change-set") != std::string::npos);

  auto agg = h.Server({"aggregate", "--data", h.data(), "--format", "csv"});
  REQUIRE(agg.exit_code == 0);
  CHECK(agg.out.find("c11_child_helpline,all,1,0,0,0,1,100.0") != std::string::npos);
  CHECK(agg.out.find("c12_reporting_hotline,all,0,0,1,0,1,0.0") != std::string::npos);

  auto s2 = h.Sync(b);
  REQUIRE(s2.exit_code == 0);
  CHECK(ExportCsv(h, b) == ExportCsv(h, a));
  CHECK(ExportCsv(h, b).find("ligne ouverte 24h/24, « gratuite »") != std::string::npos);

  // Nothing left: a second sync is "up to date", and --detailed-exit-codes tells it apart.
  auto again = h.Client({"sync", "--db", b, "--server", h.address(), "--detailed-exit-codes"});
  CHECK(again.exit_code == 5);
  CHECK(again.out == "up to date\n");
  CHECK(Contains(h.LogOnce("result=ok"), "result=ok"));
}

TEST_CASE("A link cut in the middle of a push resumes without resending what the server acknowledged") {
  SyncHarness h;
  const std::string db = h.NewFieldStore("q02", {"Q02"});
  // Six rounds of seven changed answers, each cut into its own change-set by `bundle`, so the push
  // has six change-sets to send.
  for (int i = 0; i < 6; ++i) {
    WriteAnswersCsv(h.dir() / "a.csv", "Q02", i);
    REQUIRE(h.Client({"import", "--db", db, h.dir() / "a.csv"}).exit_code == 0);
    // `bundle` cuts the unsynced edits into a change-set of their own; the file itself is not used.
    REQUIRE(h.Client({"bundle", "--db", db, "--out", h.dir() / "cut.mnrb", "--force"}).exit_code == 0);
  }
  // Let the proxy pass the TLS handshake and some pushes, then cut: a sealed change-set of seven short
  // answers is several hundred bytes, so 3 KB from the client is past the handshake and mid-push.
  CutProxy proxy(h.port(), 3000);
  auto first = h.Client({"sync", "--db", db, "--server", "127.0.0.1:" + std::to_string(proxy.port()), "--retries", "0",
                         "--timeout", "5"});
  INFO(first.err);
  REQUIRE(proxy.cut());
  CHECK(first.exit_code == 3);
  CHECK(first.err.find("could not finish") != std::string::npos);
  // The server logs the cut session when it has read to the end of what reached it.
  for (int i = 0; i < 200 && h.log().find("result=dropped") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  INFO(h.log());
  const int stored_before = LoggedPushes(h.log());
  CHECK(stored_before >= 1);
  CHECK(stored_before < 6);

  auto second = h.Sync(db);
  INFO(second.err);
  REQUIRE(second.exit_code == 0);
  // Every change-set is stored once; at most the one in flight at the cut is offered again (a duplicate).
  CHECK(LoggedPushes(h.log()) == 6);
  CHECK(LoggedPushes(h.log(), "duplicate") <= 1);
  auto agg = h.Server({"aggregate", "--data", h.data(), "--format", "csv"});
  CHECK(agg.out.find("c01_governance_mechanism,all,1,0,0,0,1,100.0") != std::string::npos);
}

TEST_CASE("Concurrent edits surface a conflict whose resolution reaches both devices") {
  SyncHarness h;
  const std::string a = h.NewFieldStore("q03-a", {"Q03"});
  const std::string b = h.NewFieldStore("q03-b", {"Q03"});
  REQUIRE(h.Client({"answer", "--db", a, "Q03", "c13_education_programme", "yes"}).exit_code == 0);
  REQUIRE(h.Client({"answer", "--db", b, "Q03", "c13_education_programme", "no", "--note", "pilot only"}).exit_code == 0);
  REQUIRE(h.Sync(a).exit_code == 0);
  REQUIRE(h.Sync(b).exit_code == 0);
  auto list = h.Server({"conflicts", "list", "--data", h.data()});
  REQUIRE(list.exit_code == 0);
  INFO(list.out);
  CHECK(list.out.find("answer/Q03/c13_education_programme") != std::string::npos);
  std::smatch m;
  REQUIRE(std::regex_search(list.out, m, std::regex("(^|\\n)\\s*#?([0-9]+)")));
  const std::string id = m[2];
  auto show = h.Server({"conflicts", "show", "--data", h.data(), id});
  CHECK(show.out.find("yes") != std::string::npos);
  CHECK(show.out.find("pilot only") != std::string::npos);

  auto resolve = h.Server({"conflicts", "resolve", "--data", h.data(), id, "--value", "partial", "--note",
                           "national pilot, two regions", "--reason", "confirmed with the ministry", "--by", "coordinator-1"});
  INFO(resolve.err);
  REQUIRE(resolve.exit_code == 0);
  REQUIRE(h.Sync(a).exit_code == 0);
  REQUIRE(h.Sync(b).exit_code == 0);
  const std::string ea = ExportCsv(h, a);
  CHECK(ea == ExportCsv(h, b));
  CHECK(ea.find("Q03,c13_education_programme,partial,\"national pilot, two regions\"") != std::string::npos);
  auto open = h.Server({"conflicts", "list", "--data", h.data()});
  CHECK(open.out.find("answer/Q03/c13_education_programme") == std::string::npos);
}

TEST_CASE("A bundle imported on the server and then synced online is applied once") {
  SyncHarness h;
  const std::string db = h.NewFieldStore("q01-usb", {"Q01"});
  WriteAnswersCsv(h.dir() / "a.csv", "Q01", 1);
  REQUIRE(h.Client({"import", "--db", db, h.dir() / "a.csv"}).exit_code == 0);
  auto bundle = h.Client({"bundle", "--db", db, "--out", h.dir() / "q01.mnrb"});
  INFO(bundle.err);
  REQUIRE(bundle.exit_code == 0);
  auto imp = h.Server({"import-bundle", "--data", h.data(), h.dir() / "q01.mnrb"});
  INFO(imp.err);
  REQUIRE(imp.exit_code == 0);
  const std::string after_bundle = StateHash(h);
  auto again = h.Server({"import-bundle", "--data", h.data(), h.dir() / "q01.mnrb"});
  REQUIRE(again.exit_code == 0);
  CHECK(StateHash(h) == after_bundle);
  auto s = h.Sync(db);
  REQUIRE(s.exit_code == 0);
  CHECK(LoggedPushes(h.log()) == 0);
  CHECK(StateHash(h) == after_bundle);
  // A tampered bundle is refused whole.
  std::string bytes = ReadText(h.dir() / "q01.mnrb");
  bytes[bytes.size() / 2] ^= 0x01;
  WriteText(h.dir() / "bad.mnrb", bytes);
  auto bad = h.Server({"import-bundle", "--data", h.data(), h.dir() / "bad.mnrb"});
  CHECK(bad.exit_code == 1);
  CHECK(StateHash(h) == after_bundle);
}

TEST_CASE("Revoked, expired and foreign credentials are refused") {
  SyncHarness h;
  const std::string db = h.NewFieldStore("q02-rev", {"Q02"});
  REQUIRE(h.Client({"answer", "--db", db, "Q02", "c11_child_helpline", "yes"}).exit_code == 0);
  auto list = h.Server({"credentials", "list", "--data", h.data()});
  std::smatch m;
  REQUIRE(std::regex_search(list.out, m, std::regex("cred-[0-9a-f]+")));
  REQUIRE(h.Server({"revoke", "--data", h.data(), m[0]}).exit_code == 0);
  auto revoked = h.Sync(db);
  CHECK(revoked.exit_code == 4);
  CHECK(revoked.err.find("revoked") != std::string::npos);

  // Expired in the register (the certificate's own notAfter is checked by TLS and crypto_test): the
  // fault is injected by ageing the register row, as years passing would.
  const std::string old_db = h.NewFieldStore("old", {"Q02"});
  {
    auto server_db = mnr::Db::Open(h.data() + "/server.db", false);
    REQUIRE(server_db.ok());
    REQUIRE((*server_db)->Exec("UPDATE credentials SET expires_at = 1000 WHERE name = 'old'").ok());
    REQUIRE((*server_db)->Changes() == 1);
  }
  auto expired = h.Sync(old_db);
  CHECK(expired.exit_code == 4);
  CHECK(expired.err.find("expired") != std::string::npos);

  // Foreign: a credential from another server's CA never gets past the TLS handshake.
  SyncHarness other;
  const std::string foreign = other.NewFieldStore("foreign", {"Q02"});
  auto f = h.Sync(foreign);
  CHECK(f.exit_code == 4);
  CHECK(f.err.find("TLS") != std::string::npos);
  CHECK(Contains(h.LogOnce("handshake-failed"), "handshake-failed"));
}

TEST_CASE("A coordinator resolves a conflict remotely, field and auditor credentials may not") {
  SyncHarness h;
  const std::string a = h.NewFieldStore("q01-a", {"Q01"});
  const std::string b = h.NewFieldStore("q01-b", {"Q01"});
  REQUIRE(h.Client({"answer", "--db", a, "Q01", "c16_takedown_procedures", "yes"}).exit_code == 0);
  REQUIRE(h.Client({"answer", "--db", b, "Q01", "c16_takedown_procedures", "unknown"}).exit_code == 0);
  REQUIRE(h.Sync(a).exit_code == 0);
  REQUIRE(h.Sync(b).exit_code == 0);

  const auto store_for = [&](const std::string& role, const std::string& name) {
    REQUIRE(h.Server({"issue", "--data", h.data(), "--role", role, "--name", name, "--out", h.CredentialPath(name)}).exit_code == 0);
    const std::string db = h.dir() / (name + ".db");
    REQUIRE(h.Client({"init", "--db", db, "--credentials", h.CredentialPath(name)}).exit_code == 0);
    return db;
  };
  const std::string coordinator = store_for("coordinator", "coordinator-1");
  const std::string auditor = store_for("auditor", "auditor-1");

  auto listed = h.Client({"conflicts", "list", "--db", coordinator, "--server", h.address()});
  INFO(listed.err);
  REQUIRE(listed.exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(listed.out, m, std::regex("^([0-9]+)  open  answer/Q01/c16_takedown_procedures")));
  const std::string id = m[1];
  CHECK(h.Client({"conflicts", "list", "--db", auditor, "--server", h.address()}).exit_code == 0);

  auto field = h.Client({"conflicts", "resolve", "--db", a, "--server", h.address(), id, "--value", "no", "--reason", "x"});
  CHECK(field.exit_code == 1);
  CHECK(field.err.find("field credentials may not call conflicts.resolve") != std::string::npos);
  auto audit = h.Client({"conflicts", "resolve", "--db", auditor, "--server", h.address(), id, "--value", "no", "--reason", "x"});
  CHECK(audit.exit_code == 1);
  CHECK(audit.err.find("auditor credentials may not call conflicts.resolve") != std::string::npos);

  auto resolved = h.Client({"conflicts", "resolve", "--db", coordinator, "--server", h.address(), id, "--value", "partial",
                            "--reason", "checked with the focal point"});
  INFO(resolved.err);
  REQUIRE(resolved.exit_code == 0);
  CHECK(resolved.out.find("resolved by coordinator-1") != std::string::npos);
  REQUIRE(h.Sync(a).exit_code == 0);
  REQUIRE(h.Sync(b).exit_code == 0);
  CHECK(ExportCsv(h, a).find("Q01,c16_takedown_procedures,partial,") != std::string::npos);
  CHECK(ExportCsv(h, a) == ExportCsv(h, b));
}

TEST_CASE("Good-practice entries merge per field across devices, and a removal is a tombstone") {
  SyncHarness h;
  const std::string a = h.NewFieldStore("q02-a", {"Q02"});
  const std::string b = h.NewFieldStore("q02-b", {"Q02"});
  auto add = h.Client({"practice", "add", "--db", a, "--country", "Q02", "--capability", "11", "--kind", "good_practice",
                       "--title", "Helpline chat", "--text", "Chat channel opened in 2020.", "--lang", "en"});
  REQUIRE(add.exit_code == 0);
  const std::string id = add.out.substr(0, add.out.find_first_of(" \n"));
  REQUIRE(h.Sync(a).exit_code == 0);
  REQUIRE(h.Sync(b).exit_code == 0);
  // Concurrent edits of different fields of the same entry both survive.
  REQUIRE(h.Client({"practice", "edit", "--db", a, id, "--title", "Helpline chat channel"}).exit_code == 0);
  REQUIRE(h.Client({"practice", "edit", "--db", b, id, "--text", "Ouvert en 2020 ; évalué en 2022."}).exit_code == 0);
  REQUIRE(h.Sync(a).exit_code == 0);
  REQUIRE(h.Sync(b).exit_code == 0);
  REQUIRE(h.Sync(a).exit_code == 0);
  for (const auto& db : {a, b}) {
    auto show = h.Client({"practice", "show", "--db", db, id});
    REQUIRE(show.exit_code == 0);
    CHECK(show.out.find("Helpline chat channel") != std::string::npos);
    CHECK(show.out.find("Ouvert en 2020 ; évalué en 2022.") != std::string::npos);
  }
  CHECK(h.Server({"conflicts", "list", "--data", h.data()}).out == "no open conflicts\n");
  REQUIRE(h.Client({"practice", "rm", "--db", b, id}).exit_code == 0);
  REQUIRE(h.Sync(b).exit_code == 0);
  REQUIRE(h.Sync(a).exit_code == 0);
  auto gone = h.Client({"practice", "show", "--db", a, id});
  CHECK(gone.exit_code == 1);
}

TEST_CASE("A change-set that touches a country outside its credential is refused whole by the server") {
  SyncHarness h;
  const std::string db = h.NewFieldStore("q01-only", {"Q01"});
  REQUIRE(h.Client({"answer", "--db", db, "Q01", "c11_child_helpline", "yes"}).exit_code == 0);
  {
    // The client never writes outside its scope; inject the fault into its real store, as a tampered or
    // buggy client would: an edit of Q02 in the same unsynced batch as a legitimate Q01 edit.
    auto store = mnr::Db::Open(db, false);
    REQUIRE(store.ok());
    REQUIRE((*store)->Exec("INSERT INTO change_log (hlc, author, field, old_value, new_value, origin, parents, created_at) "
                           "SELECT hlc + 1, author, 'answer/Q02/c11_child_helpline', NULL, 'no', 'local', '', created_at "
                           "FROM change_log ORDER BY seq DESC LIMIT 1")
                .ok());
  }
  auto s = h.Sync(db);
  CHECK(s.exit_code == 4);
  CHECK(s.err.find("Q02") != std::string::npos);
  auto agg = h.Server({"aggregate", "--data", h.data(), "--format", "csv"});
  // Nothing of the change-set was stored: not the Q02 edit, and not the Q01 edit it travelled with.
  CHECK(agg.out.find("c11_child_helpline,all,0,0,0,0,0,") != std::string::npos);
  CHECK(LoggedPushes(h.log()) == 0);
}
