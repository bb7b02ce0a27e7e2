// Survey rounds end to end: the sample answered in 2025, the survey run again in 2028 from a prefill of
// the 2025 answers, and what a coordinator sees of the difference (releases diff, the report).
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "mnr/csv.h"
#include "tests/e2e/sync_harness.h"

using namespace mnr;
using namespace mnr::test;

namespace {

std::vector<CsvRecord> SampleRows(const std::string& name) {
  const std::string path = SourceDir() + "/sample/" + name;
  auto rows = ParseCsv(ReadText(path), path);
  REQUIRE(rows.ok());
  return *rows;
}

// The survey schema of the next release: the built-in one with round 2028 after 2025.
std::string WriteTwoRoundSchema(const TempDir& dir) {
  auto schema = nlohmann::json::parse(ReadText(SourceDir() + "/schemas/mnr-survey-v1.json"));
  schema["version"] = 2;
  schema["round"] = "2028";
  schema["rounds"] = {"2025", "2028"};
  const std::string path = dir / "mnr-survey-v2.json";
  WriteText(path, schema.dump(2));
  return path;
}

// "+7.1": the change of a share of yes in percentage points, as the report and the diff print it.
std::string Points(int y1, int r1, int y2, int r2) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.1f", 100.0 * y2 / r2 - 100.0 * y1 / r1);
  return buf;
}

// The value of attribute `name` in the first element of `html` that carries every one of `attrs`.
std::string AttributeOf(const std::string& html, const std::vector<std::string>& attrs, const std::string& name) {
  for (std::size_t at = html.find(attrs[0]); at != std::string::npos; at = html.find(attrs[0], at + 1)) {
    const std::size_t open = html.rfind('<', at), close = html.find('>', at);
    const std::string tag = html.substr(open, close - open);
    bool all = true;
    for (const auto& a : attrs) all = all && tag.find(a) != std::string::npos;
    if (!all) continue;
    const std::size_t v = tag.find(" " + name + "=\"");
    if (v == std::string::npos) return "";
    const std::size_t from = v + name.size() + 3;
    return tag.substr(from, tag.find('"', from) - from);
  }
  return "(none)";
}

}  // namespace

TEST_CASE("A second survey round starts from the first, and the diff and the report show what changed since") {
  TempDir schema_dir;
  const std::string schema = WriteTwoRoundSchema(schema_dir);
  const std::string v2 = "MNR_SURVEY_SCHEMA=" + schema;
  // The server has the new schema; the office starts on the built-in one, as it did in 2025.
  ::setenv("MNR_SURVEY_SCHEMA", schema.c_str(), 1);
  SyncHarness h;
  ::unsetenv("MNR_SURVEY_SCHEMA");
  const auto client = [&](std::vector<std::string> args) {
    args.insert(args.begin(), ClientBin());
    return Run(args, "", std::chrono::seconds(60), {v2});
  };
  const auto server = [&](std::vector<std::string> args) {
    args.insert(args.begin(), ServerBin());
    return Run(args, "", std::chrono::seconds(60), {v2});
  };

  Ok(server({"countries", "import", "--data", h.data(), SourceDir() + "/sample/countries.csv"}));
  const auto countries = SampleRows("countries.csv");
  const auto answers = SampleRows("answers.csv");
  std::vector<std::string> codes;
  for (std::size_t i = 1; i < countries.size(); ++i) codes.push_back(countries[i].fields[0]);
  const std::string db = h.NewFieldStore("office", codes);
  Ok(h.Client({"import", "--db", db, SourceDir() + "/sample/answers.csv"}));
  Ok(h.Sync(db));
  Ok(server({"release", "--data", h.data(), "--round", "2025", "--label", "r2025", "--allow-unapproved"}));

  // 2028: the office moves on with the 2025 answers as a prefill.
  const std::size_t n_answers = answers.size() - 1;
  auto started = Ok(client({"round", "start", "--db", db, "2028", "--carry-forward"}));
  CHECK(Contains(started.out, std::to_string(n_answers) + " answers carried from 2025"));
  CHECK(Contains(Ok(client({"status", "--db", db})).out, "2028 (" + std::to_string(n_answers) + " answers carried from 2025, not yet confirmed)"));
  CHECK(Ok(client({"export", "--db", db})).out == "country,indicator,answer,note\n");

  // Nothing carried is sent until someone confirms it: the 2028 dataset is still empty.
  Ok(h.Sync(db));
  auto empty = Ok(server({"aggregate", "--data", h.data(), "--round", "2028", "--format", "json"}));
  const auto empty_rows = nlohmann::json::parse(empty.out)["rows"];
  REQUIRE(!empty_rows.empty());
  for (const auto& row : empty_rows) REQUIRE(row["n_responding"] == 0);

  // The template shows the carried answers; giving it back confirms them all.
  const std::string sheet = h.dir() / "2028.csv";
  Ok(client({"template", "--db", db, "--out", sheet}));
  auto confirmed = Ok(client({"import", "--db", db, sheet}));
  INFO(confirmed.out << confirmed.err);
  CHECK(Contains(confirmed.out + confirmed.err, std::to_string(n_answers) + " answers changed"));
  CHECK(Contains(Ok(client({"status", "--db", db})).out, "round:"));
  CHECK(!Contains(Ok(client({"status", "--db", db})).out, "not yet confirmed"));
  CHECK(Ok(client({"export", "--db", db, "--round", "2025"})).out == Ok(client({"export", "--db", db})).out);

  // Three countries put a governance mechanism in place in 2028.
  std::map<std::string, std::string> answer_2025;  // country -> c01 answer
  int yes_2025 = 0, responding = 0;
  for (std::size_t i = 1; i < answers.size(); ++i) {
    const auto& f = answers[i].fields;
    if (f[1] != "c01_governance_mechanism") continue;
    answer_2025[f[0]] = f[2];
    yes_2025 += f[2] == "yes";
    responding += 1;
  }
  std::vector<std::string> changed;
  for (const auto& [code, answer] : answer_2025) {
    if (answer != "yes" && changed.size() < 3) changed.push_back(code);
  }
  REQUIRE(changed.size() == 3);
  for (const auto& code : changed) Ok(client({"answer", "--db", db, code, "c01_governance_mechanism", "yes", "--note", "law of 2027"}));
  Ok(h.Sync(db));
  auto made = Ok(server({"release", "--data", h.data(), "--label", "r2028", "--allow-unapproved"}));
  CHECK(Contains(made.out, "survey round    2028"));

  // The 2025 figures are untouched by 2028's answers.
  CHECK(Ok(server({"aggregate", "--data", h.data(), "--round", "2025", "--format", "canonical-csv"})).out ==
        Ok(server({"aggregate", "--data", h.data(), "--release", "r2025", "--format", "canonical-csv"})).out);
  auto list = Ok(server({"releases", "list", "--data", h.data()})).out;
  CHECK(Contains(list, "r2025\t2025\t"));
  CHECK(Contains(list, "r2028\t2028\t"));

  // The diff: exactly the rows that pool c01_governance_mechanism changed, by the expected amounts.
  auto diff = Ok(server({"releases", "diff", "--data", h.data(), "r2025", "r2028", "--format", "json"}));
  const auto d = nlohmann::json::parse(diff.out);
  CHECK(d["from"]["round"] == "2025");
  CHECK(d["to"]["round"] == "2028");
  std::set<std::string> subjects;
  for (const auto& row : d["rows"]) subjects.insert(row["subject"].get<std::string>());
  CHECK(subjects == std::set<std::string>{"c01_governance_mechanism", "capability:1", "domain:1"});
  const std::string expected_all = Points(yes_2025, responding, yes_2025 + 3, responding);
  bool saw_all = false;
  for (const auto& row : d["rows"]) {
    if (row["subject"] != "c01_governance_mechanism" || row["group"] != "all") continue;
    saw_all = true;
    CHECK(row["before"]["n_yes"] == yes_2025);
    CHECK(row["after"]["n_yes"] == yes_2025 + 3);
    CHECK(row["change_pp"] == expected_all);
  }
  CHECK(saw_all);
  auto text = Ok(server({"releases", "diff", "--data", h.data(), "r2025", "r2028"})).out;
  CHECK(Contains(text, "from r2025 (round 2025) to r2028 (round 2028): " + std::to_string(d["changed"].get<int>()) + " of "));

  // The report of 2028 says, per indicator and group, how the share changed since 2025.
  const std::string site = h.dir() / "site";
  Ok(server({"publish", "--data", h.data(), "--release", "r2028", "--out", site}));
  const std::string html = ReadText(site + "/index.html");
  CHECK(Contains(html, "<strong id=\"release-round\">2028</strong>"));
  CHECK(Contains(html, "Change since 2025 (release r2025)"));
  CHECK(AttributeOf(html, {"class=\"change\"", "data-subject=\"c01_governance_mechanism\"", "data-group=\"all\""}, "data-change") ==
        expected_all);
  CHECK(AttributeOf(html, {"class=\"change\"", "data-subject=\"c02_research_monitoring\"", "data-group=\"all\""}, "data-change") == "0.0");
  // The report of 2025 has no earlier round to compare with.
  Ok(server({"publish", "--data", h.data(), "--release", "r2025", "--out", h.dir() / "site-2025"}));
  CHECK(!Contains(ReadText(h.dir() / "site-2025/index.html"), "class=\"change\""));

  // A second device of the office, made on the new schema, works on 2028 and pulls both rounds.
  Ok(server({"issue", "--data", h.data(), "--role", "field", "--name", "office-b", "--out", h.dir() / "b.mnrcred", "--country",
             "X01"}));
  const std::string db_b = h.dir() / "b.db";
  Ok(client({"init", "--db", db_b, "--credentials", h.dir() / "b.mnrcred"}));
  Ok(client({"sync", "--db", db_b, "--server", h.address(), "--retries", "0"}));
  const auto only_x01 = [](const std::string& csv) {
    std::string out;
    for (std::size_t at = 0; at < csv.size();) {
      const std::size_t nl = csv.find('\n', at);
      const std::string line = csv.substr(at, nl - at + 1);
      if (line.rfind("X01,", 0) == 0) out += line;
      at = nl + 1;
    }
    return out;
  };
  CHECK(Ok(client({"export", "--db", db_b})).out == "country,indicator,answer,note\n" + only_x01(Ok(client({"export", "--db", db})).out));
  CHECK(Ok(client({"export", "--db", db_b, "--round", "2025"})).out ==
        "country,indicator,answer,note\n" + only_x01(Ok(client({"export", "--db", db, "--round", "2025"})).out));

  // Rounds the schema does not have, or going back, are refused with what to do.
  auto unknown = client({"round", "start", "--db", db, "2031"});
  CHECK(unknown.exit_code == 1);
  CHECK(Contains(unknown.err, "round \"2031\" is not a round of survey schema v2 (its rounds: 2025, 2028)"));
  auto back = client({"round", "start", "--db", db, "2025"});
  CHECK(back.exit_code == 1);
  CHECK(Contains(back.err, "already works on round 2028"));
  auto unknown_release = server({"release", "--data", h.data(), "--round", "2031", "--label", "x"});
  CHECK(unknown_release.exit_code == 2);
  CHECK(Contains(unknown_release.err, "round \"2031\" is not a round"));

  // The same store opened with the built-in schema, which has no 2028, records nothing in 2028: the
  // server would refuse it.
  auto old_schema = h.Client({"answer", "--db", db, "X01", "c11_child_helpline", "yes"});
  CHECK(old_schema.exit_code == 1);
  CHECK(Contains(old_schema.err, "this store works on round 2028; use the survey schema that lists it (MNR_SURVEY_SCHEMA)"));
  CHECK(Ok(h.Client({"export", "--db", db, "--round", "2025"})).out == Ok(client({"export", "--db", db, "--round", "2025"})).out);

  // Everything derived is still what the log gives.
  Ok(server({"audit", "verify", "--data", h.data()}));
}
