// The synthetic sample of 42 countries, recorded offline in 42 stores and synced to one server,
// reproduces every published figure through `mnr-server aggregate`.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "mnr/csv.h"
#include "tests/e2e/sync_harness.h"

using namespace mnr;
using namespace mnr::test;

namespace {

std::vector<CsvRecord> ReadCsv(const std::string& path) {
  auto rows = ParseCsv(ReadText(path), path);
  REQUIRE(rows.ok());
  return *rows;
}

}  // namespace

TEST_CASE("The 42-country sample synced from 42 stores reproduces the published figures") {
  SyncHarness h;
  const std::string sample = SourceDir() + "/sample";
  REQUIRE(h.Server({"countries", "import", "--data", h.data(), sample + "/countries.csv"}).exit_code == 0);
  const auto countries = ReadCsv(sample + "/countries.csv");
  const auto answers = ReadCsv(sample + "/answers.csv");
  REQUIRE(countries.size() == 43);
  for (std::size_t i = 1; i < countries.size(); ++i) {
    const std::string code = countries[i].fields[0];
    std::string csv = CsvLine(answers[0].fields);
    for (std::size_t r = 1; r < answers.size(); ++r) {
      if (answers[r].fields[0] == code) csv += CsvLine(answers[r].fields);
    }
    WriteText(h.dir() / (code + ".csv"), csv);
    const std::string db = h.NewFieldStore(code, {code});
    auto imp = h.Client({"import", "--db", db, h.dir() / (code + ".csv")});
    INFO(code << ": " << imp.err);
    REQUIRE(imp.exit_code == 0);
    auto s = h.Sync(db);
    INFO(s.err);
    REQUIRE(s.exit_code == 0);
  }
  auto agg = h.Server({"aggregate", "--data", h.data(), "--format", "csv"});
  REQUIRE(agg.exit_code == 0);
  auto rows = ParseCsv(agg.out, "aggregate");
  REQUIRE(rows.ok());
  std::map<std::pair<std::string, std::string>, std::pair<int, int>> got;  // (indicator, group) -> (yes, responding)
  for (std::size_t i = 1; i < rows->size(); ++i) {
    const auto& f = (*rows)[i].fields;
    got[{f[0], f[1]}] = {std::stoi(f[2]), std::stoi(f[6])};
  }
  std::ifstream seed(SourceDir() + "/tests/data/mnr-indicators.tsv");
  std::string line;
  std::getline(seed, line);
  const std::regex figure("^([0-9]+)/([0-9]+) (all|high|lmic)");
  int checked = 0;
  while (std::getline(seed, line)) {
    std::vector<std::string> cols;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, '\t');) cols.push_back(c);
    std::smatch m;
    if (!std::regex_search(cols[4], m, figure)) continue;
    INFO(cols[0] << " published " << cols[4]);
    const auto cell = got[{cols[0], m[3]}];
    CHECK(cell.first == std::stoi(m[1]));
    CHECK(cell.second == std::stoi(m[2]));
    ++checked;
  }
  CHECK(checked == 23);
}
