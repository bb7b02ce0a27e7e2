#include "server/dataset.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include <map>
#include <random>
#include <set>

#include "mnr/csv.h"
#include "mnr/file_util.h"
#include "server/backup.h"
#include "server/aggregate.h"
#include "server/merged_state.h"
#include "server/register.h"
#include "tests/server/fixture.h"

namespace mnr::server {
namespace {

using namespace mnr::server::testing;

Dataset Load(ServerWorld& w) {
  auto d = LoadDataset(w.store->db(), w.store->schema(), kFirstRound);
  REQUIRE(d.ok());
  return *d;
}

// Every row of both maintained tables, in key order: what "byte for byte" compares besides the CSV.
std::string DumpTables(ServerWorld& w) {
  std::string out;
  for (const char* sql : {"SELECT indicator || '|' || grp || '|' || n_yes || '|' || n_partial || '|' || n_no || '|' || n_unknown "
                          "FROM dataset_counts ORDER BY indicator, grp",
                          "SELECT grp || '|' || n_countries FROM dataset_groups ORDER BY grp"}) {
    auto st = w.store->db().Prepare(sql);
    REQUIRE(st.ok());
    for (;;) {
      auto row = st->Step();
      REQUIRE(row.ok());
      if (!*row) break;
      out += st->Text(0) + "\n";
    }
    out += "--\n";
  }
  return out;
}

void Rebuild(ServerWorld& w) {
  Transaction tx(w.store->db());
  REQUIRE(tx.status().ok());
  REQUIRE(RebuildDataset(w.store->db()).ok());
  REQUIRE(tx.Commit().ok());
}

const DatasetRow& Row(const Dataset& d, const std::string& subject, const std::string& group) {
  const DatasetRow* r = d.Find(subject, group);
  INFO(subject << " / " << group);
  REQUIRE(r != nullptr);
  return *r;
}

}  // namespace

TEST_CASE("dataset: groups of a country") {
  CHECK(DatasetGroupsOf({"Q01", "n", "high", "europe"}) == std::vector<std::string>{"all", "high", "region:europe"});
  CHECK(DatasetGroupsOf({"Q02", "n", "low", ""}) == std::vector<std::string>{"all", "low", "lmic"});
  CHECK(PercentWhole(32, 42) == "76");
  CHECK(PercentWhole(1, 8) == "13");   // 12.5 rounds half up
  CHECK(PercentWhole(49, 200) == "25");  // 24.5, exactly half: up
  CHECK(PercentWhole(0, 0) == "");
  CHECK(SdmxGroupCode("all") == "_T");
  CHECK(SdmxGroupCode("lmic") == "LMY");
  CHECK(SdmxGroupCode("region:asia_pacific") == "REG_asia_pacific");
  CHECK(SdmxGroupCode("region:Europe & Asia") == "REG_Europe$20$26$20Asia");
  CHECK(SdmxIndicatorCode("capability:11") == "CAP_11");
  CHECK(SdmxIndicatorCode("domain:3") == "DOM_3");
  CHECK(SdmxIndicatorCode("c11_child_helpline") == "c11_child_helpline");
}

TEST_CASE("dataset: counts, denominators, regions and capabilities in place") {
  ServerWorld w;  // Q01 high europe, Q02 low africa, Q03 upper_middle americas, Q04 lower_middle asia
  const std::string ind = "c11_child_helpline";
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 1, {Edit(AnswerField("Q01", ind), Answer("yes"), T(1), "dev-a")}), w.q01a)).outcome);
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q02, "dev-c", 1, {Edit(AnswerField("Q02", ind), Answer("no", "a note"), T(1), "dev-c"),
                                                           Edit(AnswerField("Q03", ind), Answer("yes"), T(1), "dev-c"),
                                                           Edit(AnswerField("Q03", "c12_reporting_hotline"), Answer("partial"), T(1), "dev-c")}),
                         w.q02)).outcome);
  Dataset d = Load(w);
  const auto& all = Row(d, ind, "all");
  CHECK(all.n_yes == 2);
  CHECK(all.n_no == 1);
  CHECK(all.n_responding() == 3);
  CHECK(all.n_not_answered == 1);  // Q04
  CHECK(all.n_countries == 4);
  CHECK(Row(d, ind, "lmic").n_yes == 1);
  CHECK(Row(d, ind, "lmic").n_not_answered == 1);
  CHECK(Row(d, ind, "high").n_countries == 1);
  CHECK(Row(d, ind, "low").n_no == 1);
  CHECK(Row(d, ind, "region:americas").n_yes == 1);
  CHECK(Row(d, ind, "region:asia").n_not_answered == 1);
  CHECK(d.Groups() == std::vector<std::string>{"all", "high", "upper_middle", "lower_middle", "low", "lmic", "region:africa",
                                               "region:americas", "region:asia", "region:europe"});
  // Capability 11 has one indicator; domain 4 pools capabilities 12-15 (one indicator each here).
  CHECK(Row(d, "capability:11", "all").n_yes == 2);
  CHECK(Row(d, "capability:11", "all").n_not_answered == 1);
  const auto& dom4 = Row(d, "domain:4", "all");
  const int dom4_indicators = 4;  // c12..c15 in schema v1
  CHECK(dom4.n_partial == 1);
  CHECK(dom4.n_responding() == 1);
  CHECK(dom4.n_not_answered == dom4_indicators * 4 - 1);

  // A new note on the same answer changes nothing; a cleared answer stops counting.
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q02, "dev-c", 2, {Edit(AnswerField("Q02", ind), Answer("no", "other"), T(2), "dev-c"),
                                                           Edit(AnswerField("Q03", ind), std::nullopt, T(2), "dev-c")}),
                         w.q02)).outcome);
  d = Load(w);
  CHECK(Row(d, ind, "all").n_no == 1);
  CHECK(Row(d, ind, "all").n_yes == 1);
  CHECK(Row(d, ind, "region:americas").n_responding() == 0);
  CHECK(Row(d, ind, "region:americas").n_not_answered == 1);

  // Moving Q02 from low/africa to high/europe moves its answers with it.
  REQUIRE(ImportCountries(w.store->db(), {{"Q02", "Placeholder Q02", "high", "europe"}}).ok());
  d = Load(w);
  CHECK(Row(d, ind, "high").n_no == 1);
  CHECK(Row(d, ind, "high").n_countries == 2);
  CHECK(Row(d, ind, "low").n_countries == 0);
  CHECK(Row(d, ind, "lmic").n_no == 0);
  CHECK(d.Find(ind, "region:africa") == nullptr);  // no country left there
  CHECK(Row(d, ind, "region:europe").n_responding() == 2);

  // The CSV keeps the first aggregate's columns first, reads back, and agrees with it on all/high/lmic.
  const std::string csv = DatasetCsv(d);
  CHECK(csv.rfind("indicator,group,n_yes,n_partial,n_no,n_unknown,n_responding,pct_yes,n_not_answered,n_countries,"
                  "pct_yes_whole,level,capability,domain\r\n", 0) == 0);
  auto back = ParseDatasetCsv(csv, "test");
  REQUIRE(back.ok());
  CHECK(DatasetCsv(*back) == csv);
  auto countries = Countries(w.store->db());
  auto answers = MergedAnswers(w.store->db());
  REQUIRE(countries.ok());
  REQUIRE(answers.ok());
  for (const auto& old : Aggregate(w.store->schema(), *countries, *answers)) {
    const auto& r = Row(d, old.indicator, old.group);
    CHECK(r.n_yes == old.n_yes);
    CHECK(r.n_responding() == old.n_responding());
  }
  auto members = DatasetMembers(w.store->db(), w.store->schema(), kFirstRound);
  REQUIRE(members.ok());
  bool seen = false;
  for (const auto& m : *members) {
    if (m["indicator"] == ind && m["group"] == "all") {
      seen = true;
      CHECK(m["yes"] == nlohmann::json::array({"Q01"}));
      CHECK(m["no"] == nlohmann::json::array({"Q02"}));
      CHECK(m["not_answered"] == nlohmann::json::array({"Q03", "Q04"}));
    }
  }
  CHECK(seen);
}

TEST_CASE("dataset: incremental counts equal a rebuild after random edit histories") {
  for (unsigned seed : {1u, 2u, 3u}) {
    INFO("seed " << seed);
    ServerWorld w;
    std::mt19937 rng(seed);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    const auto& indicators = w.store->schema().indicators();
    struct Device {
      Credential* cred;
      std::string id;
      std::vector<std::string> countries;
      std::uint64_t seq = 0;
      std::map<std::string, std::string> seen;  // field -> last version this device wrote
    };
    std::vector<Device> devices = {{&w.q01a, "dev-a", {"Q01"}, 0, {}}, {&w.q01b, "dev-b", {"Q01"}, 0, {}}, {&w.q02, "dev-c", {"Q02", "Q03"}, 0, {}}};
    const char* answers[] = {"yes", "partial", "no", "unknown"};
    const char* incomes[] = {"high", "upper_middle", "lower_middle", "low"};
    const char* regions[] = {"", "europe", "africa", "americas", "asia"};
    std::uint64_t step = 1;
    int imports = 0, resolutions = 0;
    for (int round = 0; round < 120; ++round) {
      const int action = pick(10);
      if (action == 0) {
        const std::string code = "Q0" + std::to_string(1 + pick(4));
        REQUIRE(ImportCountries(w.store->db(), {{code, "Placeholder " + code, incomes[pick(4)], regions[pick(5)]}}).ok());
        ++imports;
      } else if (action == 1) {
        auto open = Conflicts(w.store->db(), true);
        REQUIRE(open.ok());
        if (!open->empty()) {
          const auto& c = (*open)[static_cast<std::size_t>(pick(static_cast<int>(open->size())))];
          std::optional<std::string> v;
          if (pick(3) != 0) v = Answer(answers[pick(4)]);
          REQUIRE(ResolveConflict(w.store->db(), c.id, v, "tester", "random").ok());
          ++resolutions;
        }
      } else {
        Device& dev = devices[static_cast<std::size_t>(pick(3))];
        std::vector<Operation> ops;
        std::set<std::string> fields;
        const int n = 1 + pick(6);
        for (int k = 0; k < n; ++k) {
          const std::string country = dev.countries[static_cast<std::size_t>(pick(static_cast<int>(dev.countries.size())))];
          const std::string field = AnswerField(country, indicators[static_cast<std::size_t>(pick(static_cast<int>(indicators.size())))].id);
          if (!fields.insert(field).second) continue;
          std::optional<std::string> v;
          if (pick(5) != 0) v = Answer(answers[pick(4)], pick(2) ? "note " + std::to_string(round) : "");
          // Sometimes concurrent (no parent known), so conflicts and resolutions happen too.
          std::vector<std::string> parents;
          if (dev.seen.count(field) && pick(3) != 0) parents.push_back(dev.seen[field]);
          const HlcTime hlc = T(step) + static_cast<HlcTime>(k);
          ops.push_back(Edit(field, v, hlc, dev.id, parents));
          dev.seen[field] = OperationVersion(hlc, dev.id);
        }
        ++step;
        auto in = w.Receive(Seal(MakeChangeSet(*dev.cred, dev.id, ++dev.seq, ops), *dev.cred));
        INFO((in.refusal ? in.refusal->reason : std::string()));
        REQUIRE(in.outcome);
      }
      if (round % 40 == 39) {
        const std::string incremental_csv = DatasetCsv(Load(w)), incremental_tables = DumpTables(w);
        Rebuild(w);
        CHECK(DatasetCsv(Load(w)) == incremental_csv);
        CHECK(DumpTables(w) == incremental_tables);
      }
    }
    CHECK(imports > 3);
    CHECK(resolutions > 1);
    CHECK(Load(w).Find("capability:1", "all")->n_responding() > 0);
    // And a reopened store (no state kept in memory) reads the same.
    const std::string before = DatasetCsv(Load(w));
    w.Reopen();
    CHECK(DatasetCsv(Load(w)) == before);
  }
}

TEST_CASE("dataset: exports") {
  ServerWorld w;
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 1, {Edit(AnswerField("Q01", "c11_child_helpline"), Answer("yes"), T(1), "dev-a")}),
                         w.q01a)).outcome);
  const Dataset d = Load(w);
  const std::string sdmx = DatasetSdmxCsv(d);
  CHECK(sdmx.rfind("DATAFLOW,INDICATOR,GROUP,MEASURE,OBS_VALUE,UNIT_MEASURE,OBS_STATUS\r\n", 0) == 0);
  CHECK(sdmx.find("MNR:DF_MNR_DATASET(1.0),c11_child_helpline,_T,N_YES,1,NUMBER,A\r\n") != std::string::npos);
  CHECK(sdmx.find("MNR:DF_MNR_DATASET(1.0),c11_child_helpline,_T,PCT_YES,100.0,PT,A\r\n") != std::string::npos);
  CHECK(sdmx.find("MNR:DF_MNR_DATASET(1.0),c11_child_helpline,LMY,PCT_YES,,PT,M\r\n") != std::string::npos);
  auto rows = ParseCsv(sdmx, "sdmx");
  REQUIRE(rows.ok());
  CHECK(rows->size() == 1 + 8 * d.rows.size());

  DatasetOrigin origin;
  origin.content_sha256 = "abc";
  origin.store_schema_version = 3;
  origin.survey_schema_version = 1;
  const auto j = DatasetJson(d, w.store->schema(), origin);
  CHECK(j["format"] == "mnr-dataset");
  CHECK(j["release"].is_null());
  CHECK(j["rows"].size() == d.rows.size());
  CHECK(j["rows"][0]["indicator"] == d.rows[0].subject);
  bool found = false;
  for (const auto& r : j["rows"]) {
    if (r["indicator"] == "c11_child_helpline" && r["group"] == "all") {
      found = true;
      CHECK(r["n_yes"] == 1);
      CHECK(r["pct_yes"] == 100.0);
      CHECK(r["pct_yes_whole"] == 100);
      CHECK(r["n_not_answered"] == 3);
    }
  }
  CHECK(found);
}

}  // namespace mnr::server

namespace mnr::server {

TEST_CASE("dataset: a store from before the dataset gets its counts when migrated") {
  ServerWorld w;
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q02, "dev-c", 1, {Edit(AnswerField("Q02", "c11_child_helpline"), Answer("yes"), T(1), "dev-c"),
                                                           Edit(AnswerField("Q03", "c11_child_helpline"), Answer("no", "n"), T(1), "dev-c")}),
                         w.q02)).outcome);
  auto before = LoadDataset(w.store->db(), w.store->schema(), kFirstRound);
  REQUIRE(before.ok());
  // Back to version 2: none of what migrations 3, 4 and 5 create.
  REQUIRE(w.store->db().Exec("ALTER TABLE devices DROP COLUMN acked_through; ALTER TABLE fields DROP COLUMN heads;"
                             "DROP VIEW dataset_recount; DROP VIEW dataset_merged_answers; DROP VIEW dataset_country_groups;"
                             "DROP TABLE dataset_counts; DROP TABLE dataset_groups; DROP TABLE releases;"
                             "ALTER TABLE devices DROP COLUMN name; ALTER TABLE devices DROP COLUMN last_seen_at;"
                             "ALTER TABLE credentials DROP COLUMN return_key; DROP TABLE blobs; PRAGMA user_version = 2;").ok());
  w.Reopen();
  auto after = LoadDataset(w.store->db(), w.store->schema(), kFirstRound);
  REQUIRE(after.ok());
  CHECK(DatasetCsv(*after) == DatasetCsv(*before));
  CHECK(after->Find("c11_child_helpline", "all")->n_responding() == 2);

  // The store as it was before the migration is kept, whole: it restores to a version-2 store.
  std::vector<std::string> saved;
  for (const auto& e : std::filesystem::directory_iterator(w.dir + "/backups")) saved.push_back(e.path().string());
  REQUIRE(saved.size() == 1);
  CHECK(saved[0].find("/before-version-") != std::string::npos);
  auto bytes = ReadFile(saved[0], 64 << 20);
  REQUIRE(bytes.ok());
  auto backup = DecodeBackup(*bytes, saved[0]);
  REQUIRE(backup.ok());
  CHECK(backup->store_version == 2);
  CHECK(backup->files.front().name == "server.db");
}

}  // namespace mnr::server
