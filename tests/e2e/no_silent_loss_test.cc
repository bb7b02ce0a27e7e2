// Issue 8, items 1 and 7, through the real binaries: an import or a resolution never drops a note it
// was not told to drop, text output shows note changes, people are named rather than hex ids, and a
// filter naming something unknown is an error with the nearest known names, never an empty answer.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <regex>

#include "mnr/sqlite.h"
#include "tests/e2e/sync_harness.h"

using namespace mnr::test;

namespace {

const std::string kNote = "Ligne suspendue faute de financement";

// Rows in the store's change log: every write appends one.
std::int64_t ChangeLogRows(const std::string& db) {
  auto store = mnr::Db::Open(db, false);
  REQUIRE(store.ok());
  auto st = (*store)->Prepare("SELECT COUNT(*) FROM change_log");
  REQUIRE(st.ok());
  auto row = st->Step();
  REQUIRE(row.ok());
  REQUIRE(*row);
  return st->Int(0);
}

// A store bound to a new credential of `role` (coordinator or auditor).
std::string StoreFor(SyncHarness& h, const std::string& role, const std::string& name) {
  auto issued = h.Server({"issue", "--data", h.data(), "--role", role, "--name", name, "--out", h.CredentialPath(name)});
  INFO(issued.err);
  REQUIRE(issued.exit_code == 0);
  const std::string db = h.dir() / (name + ".db");
  auto init = h.Client({"init", "--db", db, "--credentials", h.CredentialPath(name)});
  INFO(init.err);
  REQUIRE(init.exit_code == 0);
  return db;
}

// Two offices answer `indicator` of Q03 differently without seeing each other: a conflict, whose id
// is returned. Office b edits last, so its value is the current one.
std::string MakeConflict(SyncHarness& h, const std::string& a, const std::string& b, const std::string& indicator) {
  REQUIRE(h.Client({"answer", "--db", a, "Q03", indicator, "yes", "--note", kNote}).exit_code == 0);
  REQUIRE(h.Client({"answer", "--db", b, "Q03", indicator, "no", "--note", "pilot only"}).exit_code == 0);
  REQUIRE(h.Sync(a).exit_code == 0);
  REQUIRE(h.Sync(b).exit_code == 0);
  auto list = h.Server({"conflicts", "list", "--data", h.data()});
  REQUIRE(list.exit_code == 0);
  std::smatch m;
  INFO(list.out);
  REQUIRE(std::regex_search(list.out, m, std::regex("(^|\\n)([0-9]+) +open +answer/Q03/" + indicator)));
  return m[2];
}

// The number `conflicts show` gives the candidate whose text contains `needle`.
std::string CandidateWith(const std::string& show, const std::string& needle) {
  std::smatch m;
  const std::regex line("candidate ([0-9]+): ([^\\n]*)");
  for (auto it = std::sregex_iterator(show.begin(), show.end(), line); it != std::sregex_iterator(); ++it) {
    if ((*it)[2].str().find(needle) != std::string::npos) return (*it)[1];
  }
  FAIL("no candidate with " << needle << " in:\n" << show);
  return "";
}

}  // namespace

TEST_CASE("An import leaves the columns the file does not have untouched, and an empty note cell clears the note") {
  TempDir dir;
  const std::string db = dir / "office.db";
  REQUIRE(Run({ClientBin(), "init", "--db", db, "--country", "Q01"}).exit_code == 0);
  REQUIRE(Run({ClientBin(), "answer", "--db", db, "Q01", "c11_child_helpline", "no", "--note", kNote}).exit_code == 0);
  REQUIRE(Run({ClientBin(), "answer", "--db", db, "Q01", "c12_reporting_hotline", "yes", "--note", "since 2019"}).exit_code == 0);

  // The observed bug: answers only, and every note of the rows it touched was gone.
  WriteText(dir / "answers.csv", "country,indicator,answer\nQ01,c11_child_helpline,yes\nQ01,c12_reporting_hotline,yes\n");
  auto answers = Run({ClientBin(), "import", "--db", db, dir / "answers.csv"});
  INFO(answers.err);
  REQUIRE(answers.exit_code == 0);
  CHECK(answers.out == "imported 2 rows: 1 answer changed, 0 notes changed, 1 unchanged\n");
  auto exported = Run({ClientBin(), "export", "--db", db});
  CHECK(exported.out ==
        "country,indicator,answer,note\n"
        "Q01,c11_child_helpline,yes," + kNote + "\n"
        "Q01,c12_reporting_hotline,yes,since 2019\n");

  // Notes only: the answers stay; an empty cell clears; the summary counts both.
  WriteText(dir / "notes.csv", "indicator,country,note\nc11_child_helpline,Q01,\nc12_reporting_hotline,Q01,since 2018\n");
  auto notes = Run({ClientBin(), "import", "--db", db, dir / "notes.csv"});
  INFO(notes.err);
  REQUIRE(notes.exit_code == 0);
  CHECK(notes.out == "imported 2 rows: 0 answers changed, 2 notes changed (1 cleared), 0 unchanged\n");
  CHECK(Run({ClientBin(), "export", "--db", db}).out ==
        "country,indicator,answer,note\n"
        "Q01,c11_child_helpline,yes,\n"
        "Q01,c12_reporting_hotline,yes,since 2018\n");

  // The history shows what happened to the note, old -> new.
  auto log = Run({ClientBin(), "log", "--db", db, "--indicator", "c11_child_helpline"});
  REQUIRE(log.exit_code == 0);
  CHECK(log.out.find("answer/Q01/c11_child_helpline  yes; note \"" + kNote + "\" -> (none)  local") != std::string::npos);
  CHECK(log.out.find("answer/Q01/c11_child_helpline  no -> yes  local") != std::string::npos);
  CHECK(log.out.find("+note") == std::string::npos);

  // A note for a question not answered yet names the row, and nothing is recorded.
  const auto rows_before = ChangeLogRows(db);
  WriteText(dir / "orphan.csv", "country,indicator,note\nQ01,c12_reporting_hotline,fine\nQ01,c13_education_programme,why\n");
  auto orphan = Run({ClientBin(), "import", "--db", db, dir / "orphan.csv"});
  CHECK(orphan.exit_code == 1);
  CHECK(orphan.err.find("orphan.csv:3: answer: Q01 c13_education_programme has no answer yet") != std::string::npos);
  CHECK(ChangeLogRows(db) == rows_before);
}

TEST_CASE("import --dry-run prints every change with its note and writes nothing") {
  TempDir dir;
  const std::string db = dir / "office.db";
  REQUIRE(Run({ClientBin(), "init", "--db", db, "--country", "Q01"}).exit_code == 0);
  REQUIRE(Run({ClientBin(), "answer", "--db", db, "Q01", "c11_child_helpline", "no", "--note", kNote}).exit_code == 0);
  REQUIRE(Run({ClientBin(), "answer", "--db", db, "Q01", "c12_reporting_hotline", "partial"}).exit_code == 0);
  const auto rows_before = ChangeLogRows(db);
  const std::string export_before = Run({ClientBin(), "export", "--db", db}).out;

  WriteText(dir / "f.csv",
            "country,indicator,answer,note\n"
            "Q01,c11_child_helpline,yes,\n"
            "Q01,c12_reporting_hotline,partial,\n"
            "Q01,c13_education_programme,no,\"pilot\x1b[2J in two regions, with a note longer than forty characters\"\n");
  auto dry = Run({ClientBin(), "import", "--db", db, dir / "f.csv", "--dry-run"});
  INFO(dry.err);
  REQUIRE(dry.exit_code == 0);
  CHECK(dry.out ==
        "Q01 c11_child_helpline: answer no -> yes; note \"" + kNote + "\" -> (none)\n"
        "Q01 c13_education_programme: answer (none) -> no; note \"pilot\\x1b[2J in two regions, with a note lo\u2026\"\n"
        "dry run: imported 3 rows: 2 answers changed, 2 notes changed (1 cleared), 1 unchanged; nothing written\n");
  CHECK(dry.out.find('\x1b') == std::string::npos);
  CHECK(ChangeLogRows(db) == rows_before);
  CHECK(Run({ClientBin(), "export", "--db", db}).out == export_before);

  // The same file for real: the same summary, and the store changed.
  auto real = Run({ClientBin(), "import", "--db", db, dir / "f.csv"});
  REQUIRE(real.exit_code == 0);
  CHECK(real.out == "imported 3 rows: 2 answers changed, 2 notes changed (1 cleared), 1 unchanged\n");
  CHECK(ChangeLogRows(db) == rows_before + 2);
}

TEST_CASE("A resolution keeps the picked candidate whole, and --value keeps the current note") {
  SyncHarness h;
  const std::string a = h.NewFieldStore("q03-a", {"Q03"});
  const std::string b = h.NewFieldStore("q03-b", {"Q03"});
  const std::string coordinator = StoreFor(h, "coordinator", "coordinator-1");

  SECTION("--pick on the server host") {
    const std::string id = MakeConflict(h, a, b, "c11_child_helpline");
    auto show = h.Server({"conflicts", "show", "--data", h.data(), id});
    INFO(show.out);
    REQUIRE(show.exit_code == 0);
    // People, not hex ids: the office's name; ids only on request.
    CHECK(show.out.find("q03-a") != std::string::npos);
    CHECK(show.out.find("cred-") == std::string::npos);
    CHECK(h.Server({"conflicts", "show", "--data", h.data(), id, "--ids"}).out.find("cred-") != std::string::npos);
    const std::string pick = CandidateWith(show.out, "yes; note \"" + kNote + "\"");
    auto resolve = h.Server({"conflicts", "resolve", "--data", h.data(), id, "--pick", pick, "--reason", "ministry", "--by", "coord"});
    INFO(resolve.err);
    REQUIRE(resolve.exit_code == 0);
    REQUIRE(h.Sync(b).exit_code == 0);
    CHECK(ExportCsv(h, b).find("Q03,c11_child_helpline,yes," + kNote + "\n") != std::string::npos);
    // Candidate numbers that do not exist, or --pick with --value, are refused.
    const std::string other = MakeConflict(h, a, b, "c12_reporting_hotline");
    CHECK(h.Server({"conflicts", "resolve", "--data", h.data(), other, "--pick", "3", "--reason", "x", "--by", "c"}).exit_code == 2);
    CHECK(h.Server({"conflicts", "resolve", "--data", h.data(), other, "--pick", "1", "--value", "yes", "--reason", "x", "--by", "c"})
              .exit_code == 2);
  }

  SECTION("--pick remotely with a coordinator credential") {
    const std::string id = MakeConflict(h, a, b, "c13_education_programme");
    auto show = h.Client({"conflicts", "show", "--db", coordinator, "--server", h.address(), id});
    INFO(show.out << show.err);
    REQUIRE(show.exit_code == 0);
    CHECK(show.out.find("q03-a") != std::string::npos);
    CHECK(show.out.find("cred-") == std::string::npos);
    const std::string pick = CandidateWith(show.out, "yes; note \"" + kNote + "\"");
    auto resolve = h.Client({"conflicts", "resolve", "--db", coordinator, "--server", h.address(), id, "--pick", pick, "--reason",
                             "confirmed with the ministry"});
    INFO(resolve.err);
    REQUIRE(resolve.exit_code == 0);
    CHECK(resolve.out.find("resolved by coordinator-1: confirmed with the ministry") != std::string::npos);
    REQUIRE(h.Sync(a).exit_code == 0);
    REQUIRE(h.Sync(b).exit_code == 0);
    CHECK(ExportCsv(h, a).find("Q03,c13_education_programme,yes," + kNote + "\n") != std::string::npos);
    CHECK(ExportCsv(h, a) == ExportCsv(h, b));
    // The audit log names the resolution's note change.
    auto audit = h.Client({"audit", "log", "--db", coordinator, "--server", h.address(), "--indicator", "c13_education_programme"});
    INFO(audit.err);
    REQUIRE(audit.exit_code == 0);
    CHECK(audit.out.find("no -> yes; note \"pilot only\" -> \"" + kNote + "\"") != std::string::npos);
  }

  SECTION("--value without --note keeps the current value's note, on the server and remotely; --note '' clears it") {
    const std::string id = MakeConflict(h, a, b, "c16_takedown_procedures");
    auto show = h.Server({"conflicts", "show", "--data", h.data(), id});
    // Office b edited last: its value is the current one.
    CHECK(show.out.find("no; note \"pilot only\"  <- current value") != std::string::npos);
    auto resolve = h.Server({"conflicts", "resolve", "--data", h.data(), id, "--value", "partial", "--reason", "both partly", "--by", "c"});
    INFO(resolve.err);
    REQUIRE(resolve.exit_code == 0);
    REQUIRE(h.Sync(a).exit_code == 0);
    CHECK(ExportCsv(h, a).find("Q03,c16_takedown_procedures,partial,pilot only\n") != std::string::npos);

    const std::string remote = MakeConflict(h, a, b, "c17_csea_reporting");
    auto kept = h.Client({"conflicts", "resolve", "--db", coordinator, "--server", h.address(), remote, "--value", "unknown", "--reason",
                          "to check"});
    INFO(kept.err);
    REQUIRE(kept.exit_code == 0);
    REQUIRE(h.Sync(a).exit_code == 0);
    CHECK(ExportCsv(h, a).find("Q03,c17_csea_reporting,unknown,pilot only\n") != std::string::npos);

    const std::string cleared = MakeConflict(h, a, b, "c20_media_reporting");
    auto none = h.Client({"conflicts", "resolve", "--db", coordinator, "--server", h.address(), cleared, "--value", "no", "--note", "",
                          "--reason", "note was wrong"});
    INFO(none.err);
    REQUIRE(none.exit_code == 0);
    REQUIRE(h.Sync(a).exit_code == 0);
    CHECK(ExportCsv(h, a).find("Q03,c20_media_reporting,no,\n") != std::string::npos);
    // The office's history shows the note that went, old -> new.
    auto log = h.Client({"log", "--db", a, "--indicator", "c20_media_reporting"});
    CHECK(log.out.find("yes -> no; note \"" + kNote + "\" -> (none)  server") != std::string::npos);
  }
}

TEST_CASE("audit log names people, and a filter naming something unknown exits 2 with the nearest names") {
  SyncHarness h;
  const std::string a = h.NewFieldStore("q01-office", {"Q01"});
  const std::string auditor = StoreFor(h, "auditor", "auditor-1");
  REQUIRE(h.Client({"answer", "--db", a, "Q01", "c11_child_helpline", "yes", "--note", "line\x1b[31m red"}).exit_code == 0);
  REQUIRE(h.Sync(a).exit_code == 0);

  auto text = h.Server({"audit", "log", "--data", h.data(), "--indicator", "c11_child_helpline"});
  INFO(text.out << text.err);
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("  q01-office  device ") != std::string::npos);
  CHECK(text.out.find("cred-") == std::string::npos);
  CHECK(text.out.find("(none) -> yes; note \"line\\x1b[31m red\"") != std::string::npos);
  CHECK(text.out.find('\x1b') == std::string::npos);
  CHECK(h.Server({"audit", "log", "--data", h.data(), "--indicator", "c11_child_helpline", "--ids"}).out.find("cred-") !=
        std::string::npos);

  // The observed typo: it printed nothing and exited 0.
  auto typo = h.Server({"audit", "log", "--data", h.data(), "--indicator", "c11_helpline"});
  CHECK(typo.exit_code == 2);
  CHECK(typo.out.empty());
  CHECK(typo.err.find("unknown indicator \"c11_helpline\"") != std::string::npos);
  CHECK(typo.err.find("nearest: c11_child_helpline") != std::string::npos);
  auto remote = h.Client({"audit", "log", "--db", auditor, "--server", h.address(), "--indicator", "c11_helpline"});
  CHECK(remote.exit_code == 2);
  CHECK(remote.out.empty());
  CHECK(remote.err.find("nearest: c11_child_helpline") != std::string::npos);

  auto country = h.Server({"audit", "log", "--data", h.data(), "--country", "Q1"});
  CHECK(country.exit_code == 2);
  CHECK(country.err.find("unknown country \"Q1\"") != std::string::npos);
  CHECK(country.err.find("Q01") != std::string::npos);
  auto device = h.Client({"audit", "log", "--db", auditor, "--server", h.address(), "--device", "q01-offic"});
  CHECK(device.exit_code == 2);
  CHECK(device.err.find("unknown device \"q01-offic\"") != std::string::npos);
  CHECK(device.err.find("q01-office") != std::string::npos);

  // A device by its name or label, or by the start of its id.
  auto json = nlohmann::json::parse(h.Server({"audit", "log", "--data", h.data(), "--format", "json"}).out);
  REQUIRE(json.size() >= 1);
  std::string device_id, device_name;
  for (const auto& r : json) {
    if (r.contains("device")) {
      device_id = r["device"];
      device_name = r["device_name"];
    }
  }
  REQUIRE_FALSE(device_id.empty());
  CHECK(device_name.find("q01-office") == 0);
  for (const std::string& given : {device_name, device_id.substr(0, 10)}) {
    auto by = h.Client({"audit", "log", "--db", auditor, "--server", h.address(), "--device", given, "--format", "json"});
    INFO(given << ": " << by.err);
    REQUIRE(by.exit_code == 0);
    const auto records = nlohmann::json::parse(by.out);
    REQUIRE(records.size() == 1);
    CHECK(records[0]["device"] == device_id);
  }
}

TEST_CASE("A note that looks like a spreadsheet formula is exported neutralised and imported back unchanged") {
  mnr::test::TempDir dir;
  const std::string a = dir / "a.db", b = dir / "b.db";
  REQUIRE(mnr::test::Run({MNR_CLIENT_BIN, "init", "--db", a, "--country", "Q01"}).exit_code == 0);
  REQUIRE(mnr::test::Run({MNR_CLIENT_BIN, "init", "--db", b, "--country", "Q01"}).exit_code == 0);
  const std::string note = "=HYPERLINK(\"http://evil.example\",\"voir\")";
  REQUIRE(mnr::test::Run({MNR_CLIENT_BIN, "answer", "--db", a, "Q01", "c11_child_helpline", "yes", "--note", note}).exit_code == 0);
  REQUIRE(mnr::test::Run({MNR_CLIENT_BIN, "answer", "--db", a, "Q01", "c12_reporting_hotline", "no", "--note", "-2 % since 2020"}).exit_code == 0);
  const std::string csv = dir / "out.csv";
  REQUIRE(mnr::test::Run({MNR_CLIENT_BIN, "export", "--db", a, "--out", csv}).exit_code == 0);
  const std::string text = mnr::test::ReadText(csv);
  CHECK(text.find(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"voir\"\")\"") != std::string::npos);
  CHECK(text.find(",'-2 % since 2020") != std::string::npos);
  auto imported = mnr::test::Run({MNR_CLIENT_BIN, "import", "--db", b, csv});
  INFO(imported.err);
  REQUIRE(imported.exit_code == 0);
  auto json = mnr::test::Run({MNR_CLIENT_BIN, "export", "--db", b, "--format", "json"});
  CHECK(json.out.find("=HYPERLINK(\\\"http://evil.example\\\",\\\"voir\\\")") != std::string::npos);
  CHECK(json.out.find("'=HYPERLINK") == std::string::npos);
  CHECK(mnr::test::Run({MNR_CLIENT_BIN, "export", "--db", b}).out == mnr::test::Run({MNR_CLIENT_BIN, "export", "--db", a}).out);
}

TEST_CASE("An import whose answer cell hides a NUL byte names it and writes nothing") {
  mnr::test::TempDir dir;
  const std::string db = dir / "s.db";
  REQUIRE(mnr::test::Run({MNR_CLIENT_BIN, "init", "--db", db, "--country", "Q01"}).exit_code == 0);
  const std::string csv = dir / "nul.csv";
  mnr::test::WriteText(csv, std::string("country,indicator,answer,note\nQ01,c11_child_helpline,yes\0,\n", 59));
  auto r = mnr::test::Run({MNR_CLIENT_BIN, "import", "--db", db, csv});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("nul.csv:2: answer: contains a NUL byte after \"yes\"; a NUL byte is not allowed"));
  CHECK(mnr::test::Run({MNR_CLIENT_BIN, "export", "--db", db}).out == "country,indicator,answer,note\n");
}
