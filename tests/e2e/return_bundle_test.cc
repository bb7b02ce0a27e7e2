// Two-way offline (issue 8, item 6), through the real binaries: an office that is never online sends
// its edits in a bundle and receives, in a return bundle from `mnr-server bundle`, what an online sync
// would have given it — receipts, the merged state of its country, its conflicts and the latest
// release. Tampered, stale, foreign and empty bundles are refused.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <regex>
#include <thread>

#include "mnr/sqlite.h"
#include "tests/e2e/sync_harness.h"

using namespace mnr::test;

namespace {

std::string Export(const SyncHarness& h, const std::string& db) {
  return Ok(h.Client({"export", "--db", db, "--format", "csv"})).out;
}

// Everything an office can see of its store, for "nothing changed" checks.
std::string Snapshot(const SyncHarness& h, const std::string& db) {
  std::string status = Ok(h.Client({"status", "--db", db})).out;
  return Export(h, db) + Ok(h.Client({"receipts", "--db", db})).out + status.substr(status.find("unsynced:"));
}

void ServerSql(const SyncHarness& h, const std::string& sql) {
  auto db = mnr::Db::Open(h.data() + "/server.db", false);
  REQUIRE(db.ok());
  REQUIRE((*db)->Exec(sql).ok());
}

}  // namespace

TEST_CASE("An office that is never online gets receipts, merged state, conflicts and the release from a return bundle") {
  SyncHarness h;
  const std::string offline = h.NewFieldStore("Q01 offline", {"Q01"});
  const std::string online = h.NewFieldStore("Q01 online", {"Q01"});
  // A release made before the return bundle.
  Ok(h.Server({"release", "--data", h.data(), "--label", "2026-r1", "--allow-open-conflicts", "--allow-unapproved"}));

  // Offline edits first, so the online device's later edit of the same indicator wins meanwhile.
  Ok(h.Client({"answer", "--db", offline, "Q01", "c11_child_helpline", "partial", "--note", "weekdays only"}));
  Ok(h.Client({"answer", "--db", offline, "Q01", "c13_education_programme", "no"}));
  Ok(h.Client({"answer", "--db", online, "Q01", "c11_child_helpline", "yes"}));
  Ok(h.Client({"answer", "--db", online, "Q01", "c12_reporting_hotline", "yes", "--note", "national number"}));
  Ok(h.Sync(online));

  Ok(h.Client({"bundle", "--db", offline, "--out", h.dir() / "offline.mnrb"}));
  auto imported = Ok(h.Server({"import-bundle", "--data", h.data(), h.dir() / "offline.mnrb"}));
  CHECK_THAT(imported.out, Catch::Contains("1 applied"));
  auto before = Ok(h.Client({"status", "--db", offline}));
  CHECK_THAT(before.out, Catch::Contains("outbox:      1 change-sets not yet acknowledged"));
  CHECK_THAT(Ok(h.Client({"receipts", "--db", offline})).out, Catch::Contains("no receipts yet"));

  const std::string mnrr = h.dir() / "Q01.mnrr";
  auto written = Ok(h.Server({"bundle", "--data", h.data(), "--country", "Q01", "--out", mnrr}));
  CHECK_THAT(written.out, Catch::Contains("wrote return bundle for Q01 to " + mnrr));
  CHECK_THAT(written.out, Catch::Contains("release 2026-r1"));
  CHECK_THAT(written.out, Catch::Contains("sealed to 2 credential(s)"));
  // The file is sealed: no answer, note or release label is readable in it.
  const std::string bytes = ReadText(mnrr);
  REQUIRE(bytes.rfind("MNRRTN01", 0) == 0);
  CHECK(bytes.find("weekdays only") == std::string::npos);
  CHECK(bytes.find("national number") == std::string::npos);
  CHECK(bytes.find("2026-r1") == std::string::npos);
  // An existing file is not replaced without --force.
  auto exists = h.Server({"bundle", "--data", h.data(), "--country", "Q01", "--out", mnrr});
  CHECK(exists.exit_code == 1);
  CHECK(ReadText(mnrr) == bytes);

  // A copy damaged in transit (one byte flipped) is refused and changes nothing.
  const std::string snapshot = Snapshot(h, offline);
  for (const std::size_t at : {bytes.size() / 2, std::size_t{20}, bytes.size() - 1}) {
    std::string bad = bytes;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    WriteText(h.dir() / "bad.mnrr", bad);
    auto refused = h.Client({"import-bundle", "--db", offline, h.dir() / "bad.mnrr"});
    INFO("flipped byte " << at << ": " << refused.err);
    CHECK(refused.exit_code == 1);
    CHECK(Snapshot(h, offline) == snapshot);
  }

  auto applied = Ok(h.Client({"import-bundle", "--db", offline, mnrr}));
  CHECK_THAT(applied.out, Catch::Contains("imported return bundle of Q01"));
  CHECK_THAT(applied.out, Catch::Contains("1 change-set(s) acknowledged, 1 receipt(s)"));
  CHECK_THAT(applied.out, Catch::Contains("received dataset release 2026-r1"));
  // The same line as sync: the offline answer lost to the online device's.
  std::smatch m;
  REQUIRE(std::regex_search(applied.out, m,
                            std::regex("conflict ([0-9]+) on Q01 c11_child_helpline: your answer \"partial\" \\(note \"weekdays only\"\\) "
                                       "lost to \"yes\" from Q01 online; open, a coordinator will decide")));

  // What an online sync would have shown.
  auto receipts = Ok(h.Client({"receipts", "--db", offline, "--verify"}));
  CHECK_THAT(receipts.out, Catch::Contains("all 1 receipts verify"));
  CHECK(std::regex_search(receipts.out, std::regex("\\n1    [0-9a-f]{16}  ")));
  auto status = Ok(h.Client({"status", "--db", offline}));
  CHECK_THAT(status.out, Catch::Contains("outbox:      0 change-sets not yet acknowledged"));
  CHECK_THAT(status.out, Catch::Contains("last sync:   "));
  CHECK_THAT(status.out, Catch::Contains("imported return bundle of Q01"));
  CHECK_THAT(status.out, Catch::Contains("conflicts:   1 open on this device's edits"));
  auto dataset = Ok(h.Client({"dataset", "--db", offline}));
  CHECK_THAT(dataset.out, Catch::Contains("2026-r1"));
  CHECK_THAT(dataset.out, Catch::Contains("verified"));
  const std::string csv = Export(h, offline);
  CHECK_THAT(csv, Catch::Contains("Q01,c12_reporting_hotline,yes,national number"));  // the other device's edit
  CHECK_THAT(csv, Catch::Contains("Q01,c11_child_helpline,yes,"));                      // the merged winner
  CHECK_THAT(csv, Catch::Contains("Q01,c13_education_programme,no,"));

  // Importing the same bundle again changes nothing.
  const std::string after_first = Snapshot(h, offline);
  auto twice = Ok(h.Client({"import-bundle", "--db", offline, mnrr}));
  CHECK_THAT(twice.out, Catch::Contains("already imported; nothing changed"));
  CHECK(Snapshot(h, offline) == after_first);

  // A coordinator resolves; the next return bundle carries who decided and why. The first bundle is
  // then stale.
  auto resolve = h.Server({"conflicts", "resolve", "--data", h.data(), std::string(m[1]), "--value", "partial", "--note",
                           "weekdays only", "--reason", "the helpline closes at weekends", "--by", "Ada"});
  INFO(resolve.err);
  REQUIRE(resolve.exit_code == 0);
  // created_at counts in seconds: the second bundle is made two seconds on (the server's test clock)
  // rather than after a sleep.
  const std::string second = h.dir() / "Q01-2.mnrr";
  Ok(Run({ServerBin(), "bundle", "--data", h.data(), "--country", "Q01", "--out", second}, "", std::chrono::seconds(60),
         {"MNR_TEST_CLOCK_OFFSET=2"}));
  auto news = Ok(h.Client({"import-bundle", "--db", offline, second}));
  CHECK_THAT(news.out, Catch::Contains("conflict " + std::string(m[1]) +
                                       " on Q01 c11_child_helpline: resolved by Ada (coordinator): \"partial\" (note \"weekdays only\") "
                                       "\u2014 reason: \"the helpline closes at weekends\""));
  CHECK_THAT(Export(h, offline), Catch::Contains("Q01,c11_child_helpline,partial,weekdays only"));
  CHECK_THAT(Ok(h.Client({"status", "--db", offline})).out, Catch::Contains("conflicts:   none open on this device's edits"));
  const std::string after_second = Snapshot(h, offline);
  auto stale = h.Client({"import-bundle", "--db", offline, mnrr});
  CHECK(stale.exit_code == 1);
  CHECK_THAT(stale.err, Catch::Contains("stale"));
  CHECK(Snapshot(h, offline) == after_second);

  // The online device syncs later and sees the same state: nothing was lost on either path.
  Ok(h.Sync(online));
  CHECK(Export(h, online) == Export(h, offline));
}

TEST_CASE("A return bundle for another country or another credential is refused and changes nothing") {
  SyncHarness h;
  const std::string q01 = h.NewFieldStore("Q01 office", {"Q01"});
  const std::string q02 = h.NewFieldStore("Q02 office", {"Q02"});
  Ok(h.Client({"answer", "--db", q01, "Q01", "c11_child_helpline", "yes"}));
  Ok(h.Client({"answer", "--db", q02, "Q02", "c11_child_helpline", "no"}));
  Ok(h.Sync(q01));
  Ok(h.Sync(q02));
  Ok(h.Server({"bundle", "--data", h.data(), "--country", "Q02", "--out", h.dir() / "Q02.mnrr"}));
  const std::string snapshot = Snapshot(h, q01);
  auto foreign = h.Client({"import-bundle", "--db", q01, h.dir() / "Q02.mnrr"});
  CHECK(foreign.exit_code == 1);
  CHECK_THAT(foreign.err, Catch::Contains("is the return bundle of Q02; this store writes Q01"));
  CHECK(Snapshot(h, q01) == snapshot);

  // A second office of Q01 whose credential was issued after the bundle: not among its recipients.
  Ok(h.Server({"bundle", "--data", h.data(), "--country", "Q01", "--out", h.dir() / "Q01.mnrr"}));
  const std::string late = h.NewFieldStore("Q01 late", {"Q01"});
  auto not_sealed = h.Client({"import-bundle", "--db", late, h.dir() / "Q01.mnrr"});
  CHECK(not_sealed.exit_code == 1);
  CHECK_THAT(not_sealed.err, Catch::Contains("is not sealed to this store's credential"));

  // A change-set bundle is not a return bundle.
  Ok(h.Client({"answer", "--db", q01, "Q01", "c12_reporting_hotline", "no"}));
  Ok(h.Client({"bundle", "--db", q01, "--out", h.dir() / "q01.mnrb"}));
  auto wrong_kind = h.Client({"import-bundle", "--db", q01, h.dir() / "q01.mnrb"});
  CHECK(wrong_kind.exit_code == 1);
  CHECK_THAT(wrong_kind.err, Catch::Contains("mnr-server import-bundle"));
}

TEST_CASE("Bundles with nothing to send are refused unless --allow-empty, on both sides") {
  SyncHarness h;
  const std::string db = h.NewFieldStore("Q03 office", {"Q03"});
  // Client: a store with nothing unacknowledged.
  const std::string empty = h.dir() / "empty.mnrb";
  auto refused = h.Client({"bundle", "--db", db, "--out", empty});
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.err, Catch::Contains("nothing to send: every change-set is acknowledged; use --allow-empty to write an empty bundle"));
  CHECK_FALSE(std::filesystem::exists(empty));
  auto allowed = Ok(h.Client({"bundle", "--db", db, "--out", empty, "--allow-empty"}));
  CHECK_THAT(allowed.out, Catch::Contains("wrote 0 change-set(s)"));
  CHECK(ReadText(empty).rfind("MNRBNDL1", 0) == 0);
  Ok(h.Client({"answer", "--db", db, "Q03", "c11_child_helpline", "yes"}));
  Ok(h.Sync(db));
  CHECK(h.Client({"bundle", "--db", db, "--out", h.dir() / "after-sync.mnrb"}).exit_code == 1);

  // Server: a country with no data, receipts, conflicts or release.
  const std::string q02 = h.NewFieldStore("Q02 office", {"Q02"});
  auto nothing = h.Server({"bundle", "--data", h.data(), "--country", "Q02", "--out", h.dir() / "Q02.mnrr"});
  CHECK(nothing.exit_code == 1);
  CHECK_THAT(nothing.err, Catch::Contains("nothing to send to Q02"));
  Ok(h.Server({"bundle", "--data", h.data(), "--country", "Q02", "--out", h.dir() / "Q02.mnrr", "--allow-empty"}));
  auto applied = Ok(h.Client({"import-bundle", "--db", q02, h.dir() / "Q02.mnrr"}));
  CHECK_THAT(applied.out, Catch::Contains("0 change-set(s) acknowledged, 0 receipt(s), 0 field(s)"));

  // No office of a country can receive one: none issued, or issued before return keys existed.
  auto no_office = h.Server({"bundle", "--data", h.data(), "--country", "Q01", "--out", h.dir() / "Q01.mnrr", "--allow-empty"});
  CHECK(no_office.exit_code == 1);
  CHECK_THAT(no_office.err, Catch::Contains("no usable field credential covers Q01"));
  ServerSql(h, "UPDATE credentials SET return_key = NULL WHERE name = 'Q03 office'");
  auto old_key = h.Server({"bundle", "--data", h.data(), "--country", "Q03", "--out", h.dir() / "Q03.mnrr"});
  CHECK(old_key.exit_code == 1);
  CHECK_THAT(old_key.err, Catch::Contains("renew the credential to receive return bundles"));
  auto unknown = h.Server({"bundle", "--data", h.data(), "--country", "Q09", "--out", h.dir() / "Q09.mnrr"});
  CHECK(unknown.exit_code == 1);
  CHECK_THAT(unknown.err, Catch::Contains("Q09 is not in the register"));
}
