// The shipped sample (sample/*.csv, made by tools/make_sample.py) must reproduce every published
// figure of the indicators table. The table is a verbatim copy in tests/data so the test does not
// reach outside the repository.
#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "mnr/csv.h"
#include "tests/support/process.h"

namespace {

struct Figure {
  std::string indicator;
  int yes = 0;
  int responding = 0;
  std::string group;   // all|high|lmic
  std::string detail;  // the parenthesised text, or empty
  std::string text;
};

std::vector<Figure> PublishedFigures() {
  std::istringstream in(mnr::test::ReadText(mnr::test::SourceDir() + "/tests/data/mnr-indicators.tsv"));
  std::string line;
  std::getline(in, line);
  REQUIRE(line.rfind("id\tcapability\tdomain\tlabel_en\tpublished_figure", 0) == 0);
  static const std::regex kFigure(R"(^(\d+)/(\d+) (all|high|lmic)(?: \((.*)\))?$)");
  std::vector<Figure> out;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> cols;
    std::size_t start = 0;
    for (std::size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1) {
      cols.push_back(line.substr(start, tab - start));
    }
    cols.push_back(line.substr(start));
    REQUIRE(cols.size() == 5);
    if (cols[4] == "none") continue;
    std::smatch m;
    INFO("figure of " << cols[0] << ": " << cols[4]);
    REQUIRE(std::regex_match(cols[4], m, kFigure));
    out.push_back({cols[0], std::stoi(m[1]), std::stoi(m[2]), m[3], m[4], cols[4]});
  }
  return out;
}

std::vector<mnr::CsvRecord> ReadSampleCsv(const std::string& name, const std::string& header) {
  const std::string path = mnr::test::SourceDir() + "/sample/" + name;
  auto parsed = mnr::ParseCsv(mnr::test::ReadText(path), name);
  INFO(parsed.status().message());
  REQUIRE(parsed.ok());
  REQUIRE(!parsed->empty());
  std::string got;
  for (const auto& f : parsed->front().fields) got += (got.empty() ? "" : ",") + f;
  REQUIRE(got == header);
  return std::vector<mnr::CsvRecord>(parsed->begin() + 1, parsed->end());
}

struct Count {
  int yes = 0;
  int responding = 0;
};

}  // namespace

TEST_CASE("sample countries are 42 placeholders with the report's income groups", "[sample]") {
  auto rows = ReadSampleCsv("countries.csv", "code,name,income_group,region");
  REQUIRE(rows.size() == 42);
  std::map<std::string, int> by_group;
  std::set<std::string> codes;
  const std::set<std::string> regions = {"africa", "americas", "asia_pacific", "europe_central_asia",
                                         "middle_east_north_africa"};
  for (const auto& r : rows) {
    REQUIRE(r.fields.size() == 4);
    codes.insert(r.fields[0]);
    CHECK(r.fields[1] == "Placeholder country " + r.fields[0]);
    by_group[r.fields[2]]++;
    CHECK(regions.count(r.fields[3]) == 1);
  }
  std::set<std::string> want;
  for (int i = 1; i <= 42; ++i) want.insert((i < 10 ? "X0" : "X") + std::to_string(i));
  CHECK(codes == want);
  CHECK(by_group == std::map<std::string, int>{
                        {"high", 15}, {"upper_middle", 15}, {"lower_middle", 11}, {"low", 1}});
}

TEST_CASE("sample answers reproduce every published figure", "[sample]") {
  std::map<std::string, std::string> income;
  for (const auto& r : ReadSampleCsv("countries.csv", "code,name,income_group,region")) {
    income[r.fields[0]] = r.fields[2];
  }
  // indicator -> group -> count; "high non-yes" kept apart for the parenthesised details.
  std::map<std::string, std::map<std::string, Count>> counts;
  std::map<std::string, int> high_without;
  std::set<std::pair<std::string, std::string>> seen;
  const std::set<std::string> answers = {"yes", "partial", "no", "unknown"};
  bool has_comma = false, has_quote = false, has_newline = false, has_french = false;
  for (const auto& r : ReadSampleCsv("answers.csv", "country,indicator,answer,note")) {
    REQUIRE(r.fields.size() == 4);
    const std::string& country = r.fields[0];
    const std::string& indicator = r.fields[1];
    const std::string& answer = r.fields[2];
    const std::string& note = r.fields[3];
    INFO("answers.csv:" << r.line);
    REQUIRE(income.count(country) == 1);
    REQUIRE(answers.count(answer) == 1);
    REQUIRE(seen.insert({country, indicator}).second);
    const bool high = income[country] == "high";
    const bool yes = answer == "yes";
    for (const char* g : {"all", high ? "high" : "lmic"}) {
      counts[indicator][g].responding++;
      counts[indicator][g].yes += yes;
    }
    if (high && !yes) high_without[indicator]++;
    has_comma |= note.find(',') != std::string::npos;
    has_quote |= note.find('"') != std::string::npos;
    has_newline |= note.find('\n') != std::string::npos;
    has_french |= note.find("é") != std::string::npos;
  }
  CHECK(has_comma);
  CHECK(has_quote);
  CHECK(has_newline);
  CHECK(has_french);

  const auto figures = PublishedFigures();
  REQUIRE(figures.size() == 23);
  static const std::regex kWithoutAll(R"(^the (\d+) without are all lmic$)");
  static const std::regex kNotConnected(R"(^of the (\d+) not connected, (\d+) lmic$)");
  for (const auto& f : figures) {
    INFO(f.indicator << ": published " << f.text);
    const Count c = counts[f.indicator][f.group];
    CHECK(c.yes == f.yes);
    CHECK(c.responding == f.responding);
    if (f.detail.empty()) continue;
    std::smatch m;
    const int without = f.responding - f.yes;
    const int high_non_yes = high_without[f.indicator];
    if (std::regex_match(f.detail, m, kWithoutAll)) {
      CHECK(std::stoi(m[1]) == without);
      CHECK(high_non_yes == 0);
      CHECK(counts[f.indicator]["lmic"].responding - counts[f.indicator]["lmic"].yes == without);
    } else if (std::regex_match(f.detail, m, kNotConnected)) {
      CHECK(std::stoi(m[1]) == without);
      CHECK(counts[f.indicator]["lmic"].responding - counts[f.indicator]["lmic"].yes ==
            std::stoi(m[2]));
      CHECK(high_non_yes == without - std::stoi(m[2]));
    } else {
      FAIL("detail not understood: " << f.detail);
    }
  }
}

TEST_CASE("sample practices hold 2 to 4 entries per country, some in French", "[sample]") {
  auto rows = ReadSampleCsv("practices.csv", "country,capability,kind,title,text,lang");
  std::map<std::string, int> per_country;
  int french = 0;
  const std::set<std::string> kinds = {"good_practice", "challenge", "lesson_learned"};
  for (const auto& r : rows) {
    INFO("practices.csv:" << r.line);
    REQUIRE(r.fields.size() == 6);
    per_country[r.fields[0]]++;
    const int cap = std::stoi(r.fields[1]);
    CHECK((cap >= 1 && cap <= 21));
    CHECK(kinds.count(r.fields[2]) == 1);
    CHECK(!r.fields[3].empty());
    CHECK(!r.fields[4].empty());
    CHECK((r.fields[5] == "en" || r.fields[5] == "fr"));
    french += r.fields[5] == "fr";
  }
  CHECK(per_country.size() == 42);
  for (const auto& [country, n] : per_country) {
    INFO(country);
    CHECK((n >= 2 && n <= 4));
  }
  CHECK(french >= 5);
}
