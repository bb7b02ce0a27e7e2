// The dataset end to end: the 42-country sample, recorded offline in 42 stores and synced to a real
// server, reproduces every published figure through `aggregate`, `release` and `publish`; the
// maintained counts equal a rebuild; the release's hash is a constant of the sample; a field client
// reads the release offline after one sync; and the published site, opened from file:// in a real
// headless chromium, loads without errors and shows the CSV's numbers.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "mnr/crypto.h"
#include "mnr/csv.h"
#include "tests/support/process.h"

using namespace mnr;
using namespace mnr::test;

namespace {

// SHA-256 of the canonical CSV of the sample's dataset (dataset format 1, survey schema v1). It changes
// only when the sample, the schema or the dataset format changes; anything else (time, machine, order
// of syncs) must leave it alone.
constexpr const char* kSampleContentSha256 = "023914de20a59103dffc04b8883c80316b0f4df7fe1f277514b2a916e4c945ea";

using Row = std::map<std::string, std::string>;
using Table = std::map<std::pair<std::string, std::string>, Row>;  // (indicator, group) -> column -> value

std::vector<CsvRecord> ReadCsv(const std::string& text, const std::string& origin) {
  auto rows = ParseCsv(text, origin);
  REQUIRE(rows.ok());
  return *rows;
}

Table ToTable(const std::string& csv) {
  const auto records = ReadCsv(csv, "dataset");
  REQUIRE(!records.empty());
  Table t;
  for (std::size_t i = 1; i < records.size(); ++i) {
    Row r;
    for (std::size_t c = 0; c < records[0].fields.size(); ++c) r[records[0].fields[c]] = records[i].fields.at(c);
    t[{r["indicator"], r["group"]}] = r;
  }
  return t;
}

struct Figure {
  std::string indicator, group;
  int yes, responding;
};

// The published figures ("35/39 all") of tests/data/mnr-indicators.tsv.
std::vector<Figure> PublishedFigures() {
  std::ifstream seed(SourceDir() + "/tests/data/mnr-indicators.tsv");
  std::string line;
  std::getline(seed, line);
  const std::regex figure("^([0-9]+)/([0-9]+) (all|high|lmic)");
  std::vector<Figure> out;
  while (std::getline(seed, line)) {
    std::vector<std::string> cols;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, '\t');) cols.push_back(c);
    std::smatch m;
    if (cols.size() < 5 || !std::regex_search(cols[4], m, figure)) continue;
    out.push_back({cols[0], m[3], std::stoi(m[1]), std::stoi(m[2])});
  }
  return out;
}

void CheckFigures(const Table& t, const std::string& through) {
  const auto figures = PublishedFigures();
  REQUIRE(figures.size() == 23);
  for (const auto& f : figures) {
    INFO("through " << through << ": " << f.indicator << " published " << f.yes << "/" << f.responding << " " << f.group);
    auto it = t.find({f.indicator, f.group});
    REQUIRE(it != t.end());
    CHECK(it->second.at("n_yes") == std::to_string(f.yes));
    CHECK(it->second.at("n_responding") == std::to_string(f.responding));
    // The honest denominator: the countries of the group that did not answer are counted, not hidden.
    const int group_size = f.group == "all" ? 42 : f.group == "high" ? 15 : 27;
    CHECK(it->second.at("n_countries") == std::to_string(group_size));
    CHECK(it->second.at("n_not_answered") == std::to_string(group_size - f.responding));
  }
}

std::string FindChromium() {
  if (const char* env = std::getenv("MNR_CHROMIUM"); env && *env) return env;
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(ss, dir, ':');) {
    for (const char* name : {"chromium", "chromium-browser"}) {
      const std::string p = dir + "/" + name;
      if (::access(p.c_str(), X_OK) == 0) return p;
    }
  }
  return "";
}

// Both unused in the sanitizer build, which leaves the browser to the release build.
[[maybe_unused]] RunResult Chromium(const std::string& bin, const TempDir& tmp, const std::vector<std::string>& extra, const std::string& url) {
  std::vector<std::string> argv = {bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                   "--no-first-run", "--user-data-dir=" + tmp / "chromium-profile"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  return Run(argv, "", std::chrono::seconds(120));
}

std::string Normalize(std::string s) {
  for (const std::string nbsp : {"&nbsp;", "\xc2\xa0"}) {
    for (std::size_t at = s.find(nbsp); at != std::string::npos; at = s.find(nbsp)) s.replace(at, nbsp.size(), " ");
  }
  return s;
}

// Checks every number the page shows against the CSV; returns how many elements were compared.
[[maybe_unused]] int CheckPageNumbers(const std::string& dom, const Table& t, const std::string& lang) {
  const std::string of = lang == "fr" ? " sur " : " of ";
  const std::string pct_suffix = lang == "fr" ? " %" : "%";
  const std::regex element(
      "class=\"(n-of-n|pct[^\"]*)\" data-subject=\"([^\"]*)\" data-group=\"([^\"]*)\" data-yes=\"([0-9]+)\" "
      "data-responding=\"([0-9]+)\" data-not-answered=\"([0-9]+)\" data-pct=\"([^\"]*)\">([^<]*)<");
  int compared = 0;
  std::set<std::pair<std::string, std::string>> seen;
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), element); it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    const std::string kind = m[1], subject = m[2], group = m[3];
    INFO(lang << " page: " << kind << " " << subject << "/" << group << " shows \"" << m[8] << "\"");
    auto row = t.find({subject, group});
    REQUIRE(row != t.end());
    const Row& r = row->second;
    CHECK(m[4] == r.at("n_yes"));
    CHECK(m[5] == r.at("n_responding"));
    CHECK(m[6] == r.at("n_not_answered"));
    CHECK(m[7] == r.at("pct_yes"));
    const std::string shown = Normalize(m[8]);
    if (kind == "n-of-n") {
      CHECK(shown == r.at("n_yes") + of + r.at("n_responding"));
    } else {
      CHECK(shown == (r.at("pct_yes_whole").empty() ? "–" : r.at("pct_yes_whole") + pct_suffix));
    }
    if (kind == "n-of-n" && r.at("level") == "indicator") seen.insert({subject, group});
    ++compared;
  }
  // Every indicator with every income group and lmic beside all; a group of fewer than 3 countries (the
  // release's default minimum) shows no figure, only that it is too small to show.
  bool any_small = false;
  for (const auto& [key, r] : t) {
    if (r.at("level") != "indicator" || key.second.rfind("region:", 0) == 0) continue;
    INFO(lang << " page lacks " << key.first << "/" << key.second);
    if (std::stoi(r.at("n_countries")) < 3) {
      any_small = true;
      CHECK(seen.count(key) == 0);
      continue;
    }
    CHECK(seen.count(key) == 1);
  }
  if (any_small) CHECK(dom.find(lang == "fr" ? "moins de 3 pays" : "fewer than 3 countries") != std::string::npos);
  return compared;
}

}  // namespace

TEST_CASE("The sample's dataset: aggregate, release, a field client offline, and the published site in chromium") {
  const std::string chromium = FindChromium();
  if (chromium.empty()) {
    FAIL("chromium is not installed, and the published report must be tested in a real browser: "
         "apt-get install -y chromium (or set MNR_CHROMIUM to a chromium binary)");
  }
  TempDir tmp;
  const std::string data = tmp / "server";
  const int port = FreePort();
  const std::string address = "127.0.0.1:" + std::to_string(port);
  const std::string sample = SourceDir() + "/sample";
  auto server = [](std::vector<std::string> args) {
    args.insert(args.begin(), ServerBin());
    return Run(args);
  };
  auto client = [](std::vector<std::string> args) {
    args.insert(args.begin(), ClientBin());
    return Run(args);
  };
  REQUIRE(server({"init", "--data", data, "--address", address}).exit_code == 0);
  REQUIRE(server({"countries", "import", "--data", data, sample + "/countries.csv"}).exit_code == 0);
  auto run = std::make_unique<Background>(std::vector<std::string>{ServerBin(), "run", "--data", data, "--listen", address},
                                          tmp / "server.log");
  REQUIRE(WaitForPort(port, std::chrono::seconds(10)));

  const auto countries = ReadCsv(ReadText(sample + "/countries.csv"), "countries.csv");
  const auto answers = ReadCsv(ReadText(sample + "/answers.csv"), "answers.csv");
  const auto practices = ReadCsv(ReadText(sample + "/practices.csv"), "practices.csv");
  REQUIRE(countries.size() == 43);
  auto new_store = [&](const std::string& code, const std::string& name) {
    const std::string cred = tmp / (name + ".mnrcred"), db = tmp / (name + ".db");
    REQUIRE(server({"issue", "--data", data, "--role", "field", "--country", code, "--name", name, "--out", cred}).exit_code == 0);
    REQUIRE(client({"init", "--db", db, "--credentials", cred}).exit_code == 0);
    return db;
  };
  for (std::size_t i = 1; i < countries.size(); ++i) {
    const std::string code = countries[i].fields[0];
    std::string csv = CsvLine(answers[0].fields);
    for (std::size_t r = 1; r < answers.size(); ++r) {
      if (answers[r].fields[0] == code) csv += CsvLine(answers[r].fields);
    }
    WriteText(tmp / (code + ".csv"), csv);
    const std::string db = new_store(code, code);
    auto imp = client({"import", "--db", db, tmp / (code + ".csv")});
    INFO(code << ": " << imp.err);
    REQUIRE(imp.exit_code == 0);
    for (std::size_t r = 1; r < practices.size(); ++r) {
      const auto& f = practices[r].fields;
      if (f[0] != code) continue;
      auto add = client({"practice", "add", "--db", db, "--country", code, "--capability", f[1], "--kind", f[2], "--title", f[3],
                         "--text", f[4], "--lang", f[5]});
      INFO(add.err);
      REQUIRE(add.exit_code == 0);
    }
    auto s = client({"sync", "--db", db, "--server", address, "--retries", "0"});
    INFO(s.err);
    REQUIRE(s.exit_code == 0);
  }

  // The current dataset, maintained incrementally, reproduces every published figure; a rebuild from
  // scratch gives the same bytes.
  auto live = server({"aggregate", "--data", data, "--format", "canonical-csv"});
  REQUIRE(live.exit_code == 0);
  const Table table = ToTable(live.out);
  CheckFigures(table, "aggregate");
  auto rebuilt = server({"aggregate", "--data", data, "--rebuild", "--format", "canonical-csv"});
  REQUIRE(rebuilt.exit_code == 0);
  CHECK(rebuilt.out == live.out);
  // The default export is the labelled CSV: the canonical columns, then the labels (English by default).
  const std::string labelled = server({"aggregate", "--data", data}).out;
  CHECK(labelled == server({"aggregate", "--data", data, "--format", "csv", "--lang", "en"}).out);
  CHECK(labelled.rfind(live.out.substr(0, live.out.find("\r\n")) + ",indicator_label,capability_label,domain_label,small_group\r\n", 0) == 0);
  CHECK(ToTable(labelled).at({"c11_child_helpline", "all"}).at("n_yes") == table.at({"c11_child_helpline", "all"}).at("n_yes"));

  // "30/42 (the 12 without are all lmic)" and "29/42 (of the 13 not connected, 12 lmic)".
  CHECK(table.at({"c06_offender_management", "high"}).at("n_yes") == "15");
  CHECK(table.at({"c06_offender_management", "lmic"}).at("n_yes") == "15");
  CHECK(table.at({"c07_icse_connected", "lmic"}).at("n_responding") == "27");
  CHECK(table.at({"c07_icse_connected", "lmic"}).at("n_yes") == "15");
  // Which countries: coordinators can list them; the lists add up to the counts.
  auto members = server({"aggregate", "--data", data, "--countries", "--format", "json"});
  REQUIRE(members.exit_code == 0);
  const auto mj = nlohmann::json::parse(members.out);
  int checked_lists = 0;
  for (const auto& m : mj) {
    if (m["group"] != "all") continue;
    const Row& r = table.at({m["indicator"].get<std::string>(), "all"});
    CHECK(std::to_string(m["yes"].size()) == r.at("n_yes"));
    CHECK(std::to_string(m["not_answered"].size()) == r.at("n_not_answered"));
    ++checked_lists;
  }
  CHECK(checked_lists == 27);

  // A release: its hash is the SHA-256 of the canonical CSV, a constant of the sample.
  auto rel = server({"release", "--data", data, "--label", "sample-2022", "--allow-unapproved"});
  INFO(rel.err);
  REQUIRE(rel.exit_code == 0);
  const std::string content = crypto::Sha256Hex(live.out);
  CHECK(rel.out.find("content sha256  " + content) != std::string::npos);
  CHECK(content == kSampleContentSha256);
  auto again = server({"release", "--data", data, "--label", "sample-2022", "--allow-unapproved"});
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("already exists") != std::string::npos);
  auto list = server({"releases", "list", "--data", data});
  CHECK(list.out.find("sample-2022\t") != std::string::npos);
  CHECK(list.out.find(content) != std::string::npos);
  auto show = server({"releases", "show", "--data", data, "sample-2022"});
  CHECK(show.exit_code == 0);
  CHECK(show.out.find("verified") != std::string::npos);
  auto released = server({"aggregate", "--data", data, "--release", "sample-2022", "--format", "canonical-csv"});
  REQUIRE(released.exit_code == 0);
  CHECK(released.out == live.out);
  CheckFigures(ToTable(released.out), "release");
  auto json = server({"aggregate", "--data", data, "--release", "sample-2022", "--format", "json"});
  REQUIRE(json.exit_code == 0);
  const auto j = nlohmann::json::parse(json.out);
  CHECK(j["release"]["label"] == "sample-2022");
  CHECK(j["content_sha256"] == content);
  CHECK(j["store_schema_version"].get<int>() >= 3);
  CHECK(j["survey_schema_version"] == 1);
  auto sdmx = server({"aggregate", "--data", data, "--release", "sample-2022", "--format", "sdmx-csv", "--out", tmp / "sdmx.csv"});
  REQUIRE(sdmx.exit_code == 0);
  const std::string sdmx_text = ReadText(tmp / "sdmx.csv");
  CHECK(sdmx_text.find("MNR:DF_MNR_DATASET(2.0),c04_dedicated_law_enforcement,_T,CTRY_YES,2025,42,COUNTRIES,A,F\r\n") != std::string::npos);
  CHECK(sdmx_text.find("MNR:DF_MNR_DATASET(2.0),c03_laws_adequate,LMY,CTRY_YES,2025,3,COUNTRIES,A,F\r\n") != std::string::npos);

  // A new device of X01 syncs once and then reads the release with no server at all.
  const std::string office = new_store("X01", "X01-second-laptop");
  auto first = client({"sync", "--db", office, "--server", address, "--retries", "0"});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(first.out.find("received dataset release sample-2022") != std::string::npos);
  run.reset();  // the server is gone
  auto offline_csv = client({"dataset", "--db", office, "--format", "csv"});
  REQUIRE(offline_csv.exit_code == 0);
  CHECK(offline_csv.out == live.out);
  auto offline_text = client({"dataset", "--db", office, "--release", "sample-2022"});
  INFO(offline_text.err);
  REQUIRE(offline_text.exit_code == 0);
  CHECK(offline_text.out.find("Release sample-2022") != std::string::npos);
  CHECK(offline_text.out.find("X01 (income group upper_middle)") != std::string::npos);
  const Row& helpline_um = table.at({"c11_child_helpline", "upper_middle"});
  CHECK(offline_text.out.find("upper_middle: " + helpline_um.at("n_yes") + " of " + helpline_um.at("n_responding")) != std::string::npos);
  CHECK(offline_text.out.find("all: 40 of 42 (95%)") != std::string::npos);
  auto offline_json = client({"dataset", "--db", office, "--format", "json"});
  REQUIRE(offline_json.exit_code == 0);
  CHECK(nlohmann::json::parse(offline_json.out)["release"]["content_sha256"] == content);

  // The published site, in English and French, in a real browser from file://.
  const std::filesystem::path artifacts = std::filesystem::current_path() / "test-artifacts";
  std::filesystem::create_directories(artifacts);
  int good_entries = 0;
  int helpline_entries = 0;
  for (std::size_t r = 1; r < practices.size(); ++r) {
    ++good_entries;
    std::string text = practices[r].fields[3] + " " + practices[r].fields[4];
    for (auto& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (text.find("helpline") != std::string::npos) ++helpline_entries;
  }
  REQUIRE(helpline_entries > 0);
  REQUIRE(helpline_entries < good_entries);
  for (const std::string lang : {"en", "fr"}) {
    const std::string site = tmp / ("site-" + lang);
    auto pub = server({"publish", "--data", data, "--out", site, "--lang", lang});
    INFO(pub.err);
    REQUIRE(pub.exit_code == 0);
    // The public CSV, labelled in the page's language, hashes to what the signed manifest states.
    const std::string public_csv = ReadText(site + "/dataset.csv");
    CHECK(public_csv == server({"aggregate", "--data", data, "--release", "sample-2022", "--public", "--lang", lang}).out);
    CHECK(nlohmann::json::parse(ReadText(site + "/manifest.json"))["public_csv_sha256"][lang] == crypto::Sha256Hex(public_csv));
    CHECK(ToTable(public_csv).at({"c04_dedicated_law_enforcement", "all"}).at("n_yes") == "42");
    const std::string html = ReadText(site + "/index.html");
    // Nothing from elsewhere: no src at all, and every link is one of the site's own files or an anchor.
    CHECK(html.find(" src=") == std::string::npos);
    CHECK(html.find("url(") == std::string::npos);
    CHECK(html.find("@import") == std::string::npos);
    const std::regex href("href=\"([^\"]*)\"");
    for (auto it = std::sregex_iterator(html.begin(), html.end(), href); it != std::sregex_iterator(); ++it) {
      const std::string target = (*it)[1];
      INFO("link " << target);
      const std::set<std::string> own = {"dataset.csv", "dataset.json", "manifest.json", "manifest.sig", "server.crt"};
      CHECK((own.count(target) == 1 || target.rfind("#", 0) == 0));
    }
    // Only placeholder country names.
    const std::regex name("Placeholder country ([A-Z0-9]+)");
    int names = 0;
    for (auto it = std::sregex_iterator(html.begin(), html.end(), name); it != std::sregex_iterator(); ++it) ++names;
    CHECK(names == good_entries);

#ifndef MNR_SANITIZED
    // The browser runs none of our code, so the sanitizer build checks the generated files above and
    // leaves the page to the release build: chromium was half of that build's test time.
    const std::string url = "file://" + site + "/index.html";
    auto dom = Chromium(chromium, tmp, {"--dump-dom"}, url);
    INFO("chromium: " << dom.err.substr(0, 2000));
    REQUIRE(dom.exit_code == 0);
    CHECK(dom.out.find("data-ready=\"1\"") != std::string::npos);
    CHECK(dom.out.find("data-errors=\"0\"") != std::string::npos);
    CHECK(dom.out.find("<code id=\"content-sha256\">" + content + "</code>") != std::string::npos);
    CHECK(dom.out.find("<html lang=\"" + lang + "\"") != std::string::npos);
    const int compared = CheckPageNumbers(dom.out, table, lang);
    // Indicators (n of N and %) in 5 of the 6 groups (the sample has 1 low-income country: fewer than 3, not
    // shown), capabilities, the chart.
    CHECK(compared == 27 * 5 * 2 + 21 * 2 + 6 * 3);
    // Every published figure as the page shows it.
    for (const auto& f : PublishedFigures()) {
      INFO(lang << " page, " << f.indicator << " " << f.group);
      const std::string needle = "data-subject=\"" + f.indicator + "\" data-group=\"" + f.group + "\" data-yes=\"" +
                                 std::to_string(f.yes) + "\" data-responding=\"" + std::to_string(f.responding) + "\"";
      CHECK(dom.out.find("class=\"n-of-n\" " + needle) != std::string::npos);
    }
    CHECK(dom.out.find("id=\"practice-count\" data-shown=\"" + std::to_string(good_entries) + "\"") != std::string::npos);

    // The search, pre-filled from the address, hides the entries that do not match.
    auto searched = Chromium(chromium, tmp, {"--dump-dom"}, url + "#q=Helpline");
    REQUIRE(searched.exit_code == 0);
    CHECK(searched.out.find("data-errors=\"0\"") != std::string::npos);
    CHECK(searched.out.find("id=\"practice-count\" data-shown=\"" + std::to_string(helpline_entries) + "\"") != std::string::npos);

    const std::string shot = (artifacts / ("publish-" + lang + ".png")).string();
    std::filesystem::remove(shot);
    auto png = Chromium(chromium, tmp, {"--screenshot=" + shot, "--window-size=1280,2000", "--hide-scrollbars"}, url);
    REQUIRE(png.exit_code == 0);
    const std::string bytes = ReadText(shot);
    CHECK(bytes.size() > 20000);
    CHECK(bytes.rfind("\x89PNG", 0) == 0);
    std::cout << "screenshot of the published site (" << lang << "): " << shot << std::endl;
#endif
  }
}
