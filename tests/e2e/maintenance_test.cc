// mnr-server backup, restore and check, against a live server and real syncs.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/e2e/sync_harness.h"
#include "tests/support/process.h"

using mnr::test::Background;
using mnr::test::SyncHarness;
using mnr::test::Sql;

namespace {

const std::vector<std::string> kBackupIndicators = {"c11_child_helpline", "c12_reporting_hotline", "c01_national_strategy",
                                              "c02_research_monitoring", "c03_laws_adequate"};

void AnswerRound(SyncHarness& h, const std::string& db, const std::string& country, int round) {
  const std::vector<std::string> words = {"yes", "partial", "no"};
  for (std::size_t i = 0; i < kBackupIndicators.size(); ++i) {
    auto r = h.Client({"answer", "--db", db, country, kBackupIndicators[i], words[(i + round) % 3], "--note",
                       "round " + std::to_string(round)});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  // `bundle` cuts the edits into a change-set of their own, so each sync pushes several.
  REQUIRE(h.Client({"bundle", "--db", db, "--out", h.dir() / "cut.mnrb", "--force"}).exit_code == 0);
}

nlohmann::json CheckJson(SyncHarness& h, const std::string& data, int* exit_code) {
  auto r = h.Server({"check", "--data", data, "--format", "json"});
  *exit_code = r.exit_code;
  INFO(r.out << r.err);
  return nlohmann::json::parse(r.out);
}

}  // namespace

TEST_CASE("A backup taken while field offices sync restores into a new directory whose audit trail verifies",
          "[e2e][maintenance]") {
  SyncHarness h;
  const std::vector<std::string> countries = {"Q01", "Q02", "Q03"};
  std::vector<std::string> dbs;
  for (const auto& c : countries) {
    dbs.push_back(h.NewFieldStore("office-" + c, {c}));
    for (int round = 0; round < 4; ++round) AnswerRound(h, dbs.back(), c, round);
  }

  // Syncs and backups at the same time: each backup is one consistent snapshot, whatever it catches.
  std::vector<std::unique_ptr<Background>> syncs;
  for (std::size_t i = 0; i < dbs.size(); ++i) {
    syncs.push_back(std::make_unique<Background>(
        std::vector<std::string>{mnr::test::ClientBin(), "sync", "--db", dbs[i], "--server", h.address()},
        h.dir() / ("sync" + std::to_string(i) + ".log")));
  }
  std::vector<std::string> during;
  for (int i = 0; i < 3; ++i) {
    during.push_back(h.dir() / ("during" + std::to_string(i) + ".bak"));
    auto b = h.Server({"backup", "--data", h.data(), "--out", during.back()});
    INFO(b.err);
    REQUIRE(b.exit_code == 0);
    CHECK(b.out.find("backed up " + h.data() + " (store version ") == 0);
  }
  for (auto& s : syncs) CHECK(s->Wait(std::chrono::seconds(60)) == 0);
  for (std::size_t i = 0; i < during.size(); ++i) {
    const std::string into = h.dir() / ("restored-during" + std::to_string(i));
    auto r = h.Server({"restore", "--from", during[i], "--data", into});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("integrity and audit trail verified") != std::string::npos);
    CHECK(h.Server({"audit", "verify", "--data", into}).exit_code == 0);
    CHECK(std::filesystem::status(during[i]).permissions() ==
          (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  }

  // After the syncs, a backup restores to exactly the live state.
  const std::string after = h.dir() / "after.bak";
  REQUIRE(h.Server({"backup", "--data", h.data(), "--out", after}).exit_code == 0);
  const std::string restored = h.dir() / "restored";
  REQUIRE(h.Server({"restore", "--from", after, "--data", restored}).exit_code == 0);
  auto live_hash = h.Server({"state", "hash", "--data", h.data()});
  auto restored_hash = h.Server({"state", "hash", "--data", restored});
  REQUIRE(live_hash.exit_code == 0);
  CHECK(live_hash.out.size() == 65);
  CHECK(restored_hash.out == live_hash.out);
  auto live_agg = h.Server({"aggregate", "--data", h.data(), "--format", "csv"});
  CHECK(h.Server({"aggregate", "--data", restored, "--format", "csv"}).out == live_agg.out);

  // A restore never writes over anything.
  auto again = h.Server({"restore", "--from", after, "--data", restored});
  CHECK(again.exit_code == 1);
  CHECK(again.err.find(restored + " exists and is not an empty directory") != std::string::npos);
  CHECK(restored_hash.out == h.Server({"state", "hash", "--data", restored}).out);
}

TEST_CASE("A damaged or cut backup is refused by restore, which leaves nothing behind", "[e2e][maintenance]") {
  SyncHarness h;
  const std::string db = h.NewFieldStore("office", {"Q01"});
  AnswerRound(h, db, "Q01", 0);
  REQUIRE(h.Sync(db).exit_code == 0);
  const std::string good = h.dir() / "good.bak";
  REQUIRE(h.Server({"backup", "--data", h.data(), "--out", good}).exit_code == 0);
  const std::string bytes = mnr::test::ReadText(good);

  // One bit flipped inside the database part: its SHA-256 no longer matches the manifest.
  std::string flipped = bytes;
  const std::size_t db_start = bytes.find('\n', bytes.find('\n') + 1) + 1;
  flipped[db_start + 5000] = static_cast<char>(flipped[db_start + 5000] ^ 1);
  mnr::test::WriteText(h.dir() / "flipped.bak", flipped);
  auto r = h.Server({"restore", "--from", h.dir() / "flipped.bak", "--data", h.dir() / "new1"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("server.db does not match its SHA-256 in the manifest") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(h.dir() / "new1"));

  mnr::test::WriteText(h.dir() / "cut.bak", bytes.substr(0, bytes.size() - 100));
  r = h.Server({"restore", "--from", h.dir() / "cut.bak", "--data", h.dir() / "new2"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("cut short") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(h.dir() / "new2"));

  r = h.Server({"restore", "--from", h.data() + "/server.db", "--data", h.dir() / "new3"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("is not an mnr-server backup") != std::string::npos);

  // A store doctored before its backup was taken: the manifest matches, but the audit trail does not.
  Sql(h.data() + "/server.db", "UPDATE countries SET name = 'Elsewhere' WHERE code = 'Q01'");
  const std::string doctored = h.dir() / "doctored.bak";
  REQUIRE(h.Server({"backup", "--data", h.data(), "--out", doctored}).exit_code == 0);
  r = h.Server({"restore", "--from", doctored, "--data", h.dir() / "new4"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("the backup's audit trail does not verify") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(h.dir() / "new4"));
  for (const auto& e : std::filesystem::directory_iterator(h.dir().path())) {
    CHECK(e.path().filename().string().find(".restoring") == std::string::npos);
  }
}

TEST_CASE("mnr-server check exits 0, 1, 2 or 3 for a monitoring system and says why", "[e2e][maintenance]") {
  SyncHarness h;
  const std::string db = h.NewFieldStore("office", {"Q01"});
  AnswerRound(h, db, "Q01", 0);
  REQUIRE(h.Sync(db).exit_code == 0);

  int rc = -1;
  auto report = CheckJson(h, h.data(), &rc);
  CHECK(rc == 1);
  CHECK(report["status"] == "warning");
  CHECK(report["integrity"] == "ok");
  CHECK(report["audit"]["ok"] == true);
  CHECK(report["open_conflicts"] == 0);
  CHECK(report["last_backup_at"].is_null());
  CHECK(report["problems"][0] == "no backup recorded (mnr-server backup)");

  REQUIRE(h.Server({"backup", "--data", h.data(), "--out", h.dir() / "b.bak"}).exit_code == 0);
  report = CheckJson(h, h.data(), &rc);
  CHECK(rc == 0);
  CHECK(report["status"] == "ok");
  CHECK(report["problems"].empty());
  CHECK(report["last_backup_age_seconds"].get<long long>() >= 0);
  CHECK(report["last_backup_age_seconds"].get<long long>() < 600);
  CHECK(report["store_version"] == report["store_version_supported"]);
  auto text = h.Server({"check", "--data", h.data()});
  CHECK(text.exit_code == 0);
  CHECK(text.out.find("status:         OK\n") != std::string::npos);

  Sql(h.data() + "/server.db", "UPDATE countries SET name = 'Elsewhere' WHERE code = 'Q01'");
  report = CheckJson(h, h.data(), &rc);
  CHECK(rc == 2);
  CHECK(report["status"] == "critical");
  CHECK(report["audit"]["ok"] == false);

  Sql(h.data() + "/server.db", "PRAGMA user_version = 99");
  report = CheckJson(h, h.data(), &rc);
  CHECK(rc == 2);
  CHECK(report["problems"][0].get<std::string>().find("store version 99 is newer than this mnr-server") == 0);

  report = CheckJson(h, h.dir() / "nowhere", &rc);
  CHECK(rc == 3);
  CHECK(report["status"] == "unknown");
  CHECK(h.Server({"check", "--data", h.data(), "--max-backup-age", "soon"}).exit_code == 3);
}
