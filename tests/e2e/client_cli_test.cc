// mnr-client as a process: exit codes, messages, CSV edge cases, export/import round trips.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mnr/credential.h"
#include "mnr/crypto.h"
#include "tests/support/process.h"

using mnr::test::RunResult;
using mnr::test::TempDir;

namespace {

RunResult Client(std::vector<std::string> args, const std::string& input = "") {
  args.insert(args.begin(), mnr::test::ClientBin());
  return mnr::test::Run(args, input);
}

// Runs and requires success, showing stderr if it fails.
RunResult ClientOk(std::vector<std::string> args) {
  RunResult r = Client(std::move(args));
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  return r;
}

std::string Init(const TempDir& dir, const std::string& name, std::vector<std::string> countries) {
  const std::string db = dir / name;
  std::vector<std::string> args = {"init", "--db", db};
  for (const auto& c : countries) {
    args.push_back("--country");
    args.push_back(c);
  }
  ClientOk(args);
  return db;
}

std::size_t CountLines(const std::string& s, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

// Notes that exercise CSV quoting and UTF-8: commas, quotes, newlines, French, Arabic, Chinese,
// emoji, leading and trailing spaces.
const std::vector<std::string> kHardNotes = {
    "plain",
    "commas, inside, the note",
    "she said \"yes\" then \"no\"",
    "line one\nline two\r\nline three",
    "Données préliminaires — voir l’annexe B",
    "البيانات الأولية، انظر الملحق",
    "初步数据，见附件乙",
    "emoji 🙂👍🏽 and a flag 🇰🇪",
    "  spaces around  ",
    "\"starts with a quote",
};

// A credential file from a throwaway CA, as `mnr-server issue` would write it.
std::string WriteCredential(const TempDir& dir, const std::string& name, const std::vector<std::string>& countries) {
  namespace crypto = mnr::crypto;
  constexpr std::int64_t kJan2025 = 1735689600;
  auto ca_key = crypto::GenerateSigningKey();
  REQUIRE(ca_key.ok());
  auto ca = crypto::CreateCaCertificate(*ca_key, "test CA", kJan2025, kJan2025 + 86400 * 3650);
  REQUIRE(ca.ok());
  auto key = crypto::GenerateSigningKey();
  REQUIRE(key.ok());
  crypto::CertificateRequest req;
  req.common_name = "cred-" + name;
  req.not_before = kJan2025;
  req.not_after = kJan2025 + 86400 * 3650;
  req.client = true;
  auto cert = crypto::IssueCertificate(*ca, ca_key->private_pem, key->public_pem, req);
  REQUIRE(cert.ok());
  auto sealing = crypto::GenerateSealingKey();
  REQUIRE(sealing.ok());
  mnr::Credential c;
  c.id = req.common_name;
  c.name = name + " laptop";
  c.countries = countries;
  c.server_address = "127.0.0.1:7443";
  c.certificate_pem = *cert;
  c.private_key_pem = key->private_pem;
  c.ca_certificate_pem = *ca;
  c.sealing_public_key = sealing->public_key;
  c.expires_at = req.not_after;
  const std::string path = dir / (name + ".mnrcred");
  REQUIRE(mnr::SaveCredential(path, c).ok());
  return path;
}

}  // namespace

TEST_CASE("mnr-client init --credentials: a new store takes the credential's scope, an old one is bound",
          "[e2e][client]") {
  TempDir dir;
  const std::string q01 = WriteCredential(dir, "q01", {"Q01"});
  const std::string q02 = WriteCredential(dir, "q02", {"Q02"});

  const std::string fresh = dir / "fresh.db";
  RunResult created = ClientOk({"init", "--db", fresh, "--credentials", q01});
  CHECK_THAT(created.out, Catch::Contains("countries Q01, credential cred-q01"));
  CHECK_THAT(created.out, Catch::Contains("(q01 laptop)"));
  struct stat st {};
  REQUIRE(::stat(fresh.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  RunResult refused = Client({"answer", "--db", fresh, "Q02", "c11_child_helpline", "yes"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err == "mnr-client: country Q02 is outside this device's scope (Q01)\n");
  CHECK(Client({"init", "--db", dir / "both.db", "--country", "Q01", "--credentials", q01}).exit_code == 2);

  const std::string local = Init(dir, "local.db", {"Q01"});
  ClientOk({"answer", "--db", local, "Q01", "c11_child_helpline", "yes"});
  RunResult wrong = Client({"init", "--db", local, "--credentials", q02});
  CHECK(wrong.exit_code == 1);
  CHECK_THAT(wrong.err, Catch::Contains("this store holds Q01"));
  RunResult bound = ClientOk({"init", "--db", local, "--credentials", q01});
  CHECK_THAT(bound.out, Catch::Contains("bound " + local + " to credential cred-q01 (field, Q01); 1 unsynced edits kept"));
  RunResult status = ClientOk({"status", "--db", local});
  CHECK_THAT(status.out, Catch::Contains("credential:  cred-q01 (field), server 127.0.0.1:7443, expires 2034-"));
  CHECK_THAT(status.out, Catch::Contains("unsynced:    1 edits"));
  CHECK(ClientOk({"export", "--db", local}).out == "country,indicator,answer,note\nQ01,c11_child_helpline,yes,\n");

  // Nine years on, for this one process (the clock seam of the real binary), the credential shows as
  // expired; an offset that is not a number is named on stderr and changes nothing.
  const std::string nine_years = "MNR_TEST_CLOCK_OFFSET=" + std::to_string(9LL * 365 * 86400);
  RunResult later = Run({ClientBin(), "status", "--db", local}, "", std::chrono::seconds(60), {nine_years});
  INFO(later.err);
  REQUIRE(later.exit_code == 0);
  CHECK_THAT(later.out, Catch::Contains("credential:  cred-q01 (field), server 127.0.0.1:7443, EXPIRED 2034-"));
  RunResult garbled = Run({ClientBin(), "status", "--db", local}, "", std::chrono::seconds(60), {"MNR_TEST_CLOCK_OFFSET=soon"});
  REQUIRE(garbled.exit_code == 0);
  CHECK_THAT(garbled.err, Catch::Contains("MNR_TEST_CLOCK_OFFSET=soon is not a whole number of seconds"));
  CHECK_THAT(garbled.out, Catch::Contains("credential:  cred-q01 (field), server 127.0.0.1:7443, expires 2034-"));
}

TEST_CASE("mnr-client: help, version, usage errors", "[e2e][client]") {
  RunResult top = Client({"--help"});
  CHECK(top.exit_code == 0);
  for (const char* cmd : {"init", "countries", "answer", "import", "export", "survey", "practice", "status", "log",
                          "sync", "bundle"}) {
    CHECK_THAT(top.out, Catch::Contains(std::string("  ") + cmd));
  }
  RunResult version = Client({"--version"});
  CHECK(version.exit_code == 0);
  CHECK_THAT(version.out, Catch::StartsWith("mnr-client "));

  const std::vector<std::vector<std::string>> helps = {
      {"init"},          {"countries", "import"}, {"countries", "list"}, {"answer"},         {"import"},
      {"export"},        {"practice", "add"},     {"practice", "edit"},  {"practice", "list"}, {"practice", "show"},
      {"practice", "rm"}, {"status"},             {"log"},               {"countries"},      {"practice"}};
  for (auto args : helps) {
    args.push_back("--help");
    RunResult r = Client(args);
    INFO(args[0] << " " << (args.size() > 2 ? args[1] : ""));
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::StartsWith("usage: mnr-client "));
    CHECK(r.err.empty());
  }

  RunResult none = Client({});
  CHECK(none.exit_code == 2);
  RunResult unknown = Client({"frobnicate"});
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Catch::StartsWith("mnr-client: unknown command \"frobnicate\""));
  RunResult bad_option = Client({"status", "--db", "x", "--colour"});
  CHECK(bad_option.exit_code == 2);
  CHECK_THAT(bad_option.err, Catch::Contains("unknown option --colour"));
  RunResult missing = Client({"answer", "--db", "x", "Q01"});
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Catch::StartsWith("mnr-client: missing INDICATOR"));
}

TEST_CASE("mnr-client init: creates a private store once", "[e2e][client]") {
  TempDir dir;
  const std::string db = dir / "office.db";
  RunResult r = ClientOk({"init", "--db", db, "--country", "Q01", "--country", "Q02,Q03", "--device", "Bureau Q01"});
  CHECK_THAT(r.out, Catch::Contains("countries Q01, Q02, Q03"));
  struct stat st {};
  REQUIRE(::stat(db.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  RunResult again = Client({"init", "--db", db, "--country", "Q01"});
  CHECK(again.exit_code == 1);
  CHECK_THAT(again.err, Catch::Contains("already exists"));
  RunResult no_country = Client({"init", "--db", dir / "b.db"});
  CHECK(no_country.exit_code == 2);
  RunResult bad_code = Client({"init", "--db", dir / "c.db", "--country", "kenya"});
  CHECK(bad_code.exit_code == 1);
  CHECK_THAT(bad_code.err, Catch::Contains("\"kenya\" is not a country code"));
  CHECK_FALSE(mnr::test::ReadText(db).empty());
  RunResult no_store = Client({"status", "--db", dir / "missing.db"});
  CHECK(no_store.exit_code == 1);
  CHECK_THAT(no_store.err, Catch::Contains("no client store at"));

  RunResult status = ClientOk({"status", "--db", db});
  CHECK_THAT(status.out, Catch::Contains("(Bureau Q01)"));
  CHECK_THAT(status.out, Catch::Contains("scope:       Q01, Q02, Q03"));
  CHECK_THAT(status.out, Catch::Contains("not bound"));
  CHECK_THAT(status.out, Catch::Contains("0 of 81 answers recorded"));
  CHECK_THAT(status.out, Catch::Contains("last sync:   never"));
}

TEST_CASE("mnr-client answer: validation, no-ops, clear, history", "[e2e][client]") {
  TempDir dir;
  const std::string db = Init(dir, "s.db", {"Q01"});
  ClientOk({"answer", "--db", db, "Q01", "c11_child_helpline", "partial", "--note",
      "Only in the capital; a long note that goes beyond sixty characters for the log view"});
  RunResult same = ClientOk({"answer", "--db", db, "Q01", "c11_child_helpline", "partial", "--note",
                       "Only in the capital; a long note that goes beyond sixty characters for the log view"});
  CHECK_THAT(same.out, Catch::Contains("unchanged"));
  ClientOk({"answer", "--db", db, "Q01", "c11_child_helpline", "yes"});
  ClientOk({"answer", "--db", db, "Q01", "c00_mnr_reference", "no"});

  struct Bad {
    std::vector<std::string> args;
    int exit;
    std::string message;
  };
  const std::vector<Bad> bad = {
      {{"Q02", "c11_child_helpline", "yes"}, 1, "mnr-client: country Q02 is outside this device's scope (Q01)\n"},
      {{"Q01", "c99_unknown", "yes"}, 1, "mnr-client: unknown indicator \"c99_unknown\" (not in survey schema v1)\n"},
      {{"Q01", "c11_child_helpline", "maybe"}, 1,
       "mnr-client: answer \"maybe\" is not one of yes, partial, no, unknown, clear\n"},
      {{"Q01", "c11_child_helpline", "Yes"}, 1,
       "mnr-client: answer \"Yes\" is not one of yes, partial, no, unknown, clear\n"},
      {{"Q01", "c11_child_helpline", "no", "--note", std::string(16 * 1024 + 1, 'x')}, 1,
       "mnr-client: note is 16385 bytes; the limit is 16384\n"},
      {{"Q01", "c11_child_helpline", "no", "--note", "caf\xe9"}, 1, "mnr-client: note is not valid UTF-8\n"},
      {{"Q01", "c11_child_helpline", "clear", "--note", "x"}, 2, "--note cannot be given with clear"},
  };
  for (const auto& b : bad) {
    std::vector<std::string> args = {"answer", "--db", db};
    args.insert(args.end(), b.args.begin(), b.args.end());
    RunResult r = Client(args);
    INFO(b.message);
    CHECK(r.exit_code == b.exit);
    CHECK_THAT(r.err, Catch::Contains(b.message));
  }

  RunResult log = ClientOk({"log", "--db", db, "--indicator", "c11_child_helpline"});
  // Newest first; notes cut to 40 characters; answering the same again is recorded (a confirmation
  // that must win over older concurrent edits elsewhere).
  CHECK(CountLines(log.out, "\n") == 3);
  CHECK_THAT(log.out, Catch::Contains("answer/Q01/c11_child_helpline  partial -> yes; note \"Only in the capital; a long note that go\u2026\" -> (none)  local"));
  CHECK_THAT(log.out, Catch::Contains("(none) -> partial"));
  CHECK(log.out.find("-> yes") < log.out.find("-> partial"));
  RunResult limited = ClientOk({"log", "--db", db, "--limit", "1"});
  CHECK(CountLines(limited.out, "\n") == 1);
  CHECK_THAT(limited.out, Catch::Contains("c00_mnr_reference"));
  CHECK(Client({"log", "--db", db, "--indicator", "nope"}).exit_code == 1);

  ClientOk({"answer", "--db", db, "Q01", "c00_mnr_reference", "clear"});
  RunResult exported = ClientOk({"export", "--db", db});
  CHECK(exported.out == "country,indicator,answer,note\nQ01,c11_child_helpline,yes,\n");
  RunResult status = ClientOk({"status", "--db", db});
  CHECK_THAT(status.out, Catch::Contains("1 of 27 answers recorded"));
  CHECK_THAT(status.out, Catch::Contains("unsynced:    5 edits"));
}

TEST_CASE("mnr-client import: CSV edge cases are accepted or reported by line and column", "[e2e][client]") {
  TempDir dir;
  const std::string db = Init(dir, "s.db", {"Q01", "Q02"});
  const std::string csv = dir / "f.csv";

  SECTION("BOM, CRLF, quoted newlines, optional note column, empty answer clears") {
    mnr::test::WriteText(csv,
                         "\xEF\xBB\xBF"
                         "country,indicator,answer,note\r\n"
                         "Q01,c11_child_helpline,yes,\"two\r\nlines, and \"\"quotes\"\"\"\r\n"
                         "Q02,c00_mnr_reference,no,\r\n"
                         "\r\n"
                         "Q01,c00_mnr_reference,unknown,à vérifier\r\n");
    RunResult r = ClientOk({"import", "--db", db, csv});
    CHECK(r.out == "imported 3 rows: 3 answers changed, 2 notes changed, 0 unchanged\n");
    RunResult e = ClientOk({"export", "--db", db});
    CHECK(e.out ==
          "country,indicator,answer,note\n"
          "Q01,c00_mnr_reference,unknown,à vérifier\n"
          "Q01,c11_child_helpline,yes,\"two\r\nlines, and \"\"quotes\"\"\"\n"
          "Q02,c00_mnr_reference,no,\n");
    mnr::test::WriteText(csv, "indicator,country,answer\nc00_mnr_reference,Q02,\nc00_mnr_reference,Q01,unknown\n");
    RunResult clear = ClientOk({"import", "--db", db, csv});
    CHECK(clear.out == "imported 2 rows: 1 answer changed, 0 notes changed, 1 unchanged\n");
    CHECK(ClientOk({"export", "--db", db, "--country", "Q02"}).out == "country,indicator,answer,note\n");
    // The file had no note column: Q01's note stays as it was.
    CHECK_THAT(ClientOk({"export", "--db", db, "--country", "Q01"}).out, Catch::Contains("Q01,c00_mnr_reference,unknown,à vérifier"));
  }

  struct Case {
    std::string name;
    std::string text;
    std::vector<std::string> messages;
  };
  const std::vector<Case> cases = {
      {"missing column", "country,indicator\nQ01,c11_child_helpline\n",
       {"f.csv:1: header: missing column \"answer\""}},
      {"extra header column", "country,indicator,answer,note,extra\nQ01,c11_child_helpline,yes,,\n",
       {"f.csv:1: header: unknown column \"extra\""}},
      {"extra field in a row", "country,indicator,answer,note\nQ01,c11_child_helpline,yes,,oops\n",
       {"f.csv:2: row: has 5 fields, the header has 4"}},
      {"missing field in a row", "country,indicator,answer,note\nQ01,c11_child_helpline\n",
       {"f.csv:2: row: has 2 fields, the header has 4"}},
      {"bad answer after a multi-line note",
       "country,indicator,answer,note\nQ01,c00_mnr_reference,yes,\"a\nb\"\nQ01,c11_child_helpline,maybe,\n",
       {"f.csv:4: answer: \"maybe\" is not one of yes, partial, no, unknown"}},
      {"unknown indicator", "country,indicator,answer,note\nQ01,c99_nothing,yes,\n",
       {"f.csv:2: indicator: unknown indicator \"c99_nothing\""}},
      // A byte-order mark promises UTF-8; without one, such bytes are read as Windows-1252 (spreadsheet_test.cc).
      {"invalid UTF-8", "\xEF\xBB\xBF" "country,indicator,answer,note\nQ01,c00_mnr_reference,yes,ok\nQ01,c11_child_helpline,yes,caf\xe9\n",
       {"f.csv:3:", "not valid UTF-8"}},
      {"out of scope", "country,indicator,answer,note\nQ03,c11_child_helpline,yes,\n",
       {"f.csv:2: country: country Q03 is outside this device's scope (Q01, Q02)"}},
      {"duplicate row", "country,indicator,answer\nQ01,c11_child_helpline,yes\nQ01,c11_child_helpline,no\n",
       {"f.csv:3: indicator: Q01 c11_child_helpline was already given on line 2"}},
      {"note on a cleared answer", "country,indicator,answer,note\nQ01,c11_child_helpline,,why\n",
       {"f.csv:2: note: a cleared answer"}},
      {"note too long", "country,indicator,answer,note\nQ01,c11_child_helpline,no," + std::string(16385, 'n') + "\n",
       {"f.csv:2: note: is 16385 bytes; the limit is 16384"}},
      {"every bad row is reported",
       "country,indicator,answer,note\nQ01,c00_mnr_reference,yes,\nQ09,c11_child_helpline,no,\n"
       "Q01,c12_reporting_hotline,nope,\nQ01,bad id,yes,\n",
       {"f.csv:3: country:", "f.csv:4: answer:", "f.csv:5: indicator:", "f.csv: 3 bad rows; nothing imported"}},
      {"unterminated quote", "country,indicator,answer,note\nQ01,c11_child_helpline,yes,\"open\n",
       {"f.csv:2: unterminated quoted field"}},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      mnr::test::WriteText(csv, c.text);
      RunResult r = Client({"import", "--db", db, csv});
      CHECK(r.exit_code == 1);
      for (const auto& m : c.messages) CHECK_THAT(r.err, Catch::Contains(m));
      CHECK_THAT(r.err, Catch::StartsWith("mnr-client: "));
      CHECK(r.out.empty());
      // Nothing was applied, not even the good rows.
      CHECK(ClientOk({"export", "--db", db}).out == "country,indicator,answer,note\n");
      CHECK_THAT(ClientOk({"status", "--db", db}).out, Catch::Contains("unsynced:    0 edits"));
    }
  }
}

TEST_CASE("mnr-client import reports at most 20 bad rows", "[e2e][client]") {
  TempDir dir;
  const std::string db = Init(dir, "s.db", {"Q01"});
  std::string text = "country,indicator,answer\n";
  for (int i = 0; i < 30; ++i) text += "Q01,c00_mnr_reference,bad\n";
  mnr::test::WriteText(dir / "f.csv", text);
  RunResult r = Client({"import", "--db", db, dir / "f.csv"});
  CHECK(r.exit_code == 1);
  CHECK(CountLines(r.err, ": answer: ") == 20);
  CHECK_THAT(r.err, Catch::Contains("... and 10 more"));
  CHECK_THAT(r.err, Catch::Contains("30 bad rows; nothing imported"));
}

TEST_CASE("mnr-client export: CSV re-imports to the same state, JSON carries everything", "[e2e][client]") {
  TempDir dir;
  const std::vector<std::string> countries = {"Q01", "Q02", "Q03"};
  const std::string a = Init(dir, "a.db", countries);
  const std::string b = Init(dir, "b.db", countries);
  // Written with the exporter's own rules would prove little: build the file by hand.
  auto quote = [](const std::string& s) {
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
  };
  const char* answers[] = {"yes", "partial", "no", "unknown"};
  std::string text = "country,indicator,answer,note\n";
  int i = 0;
  for (const auto& country : countries) {
    for (const char* ind : {"c00_mnr_reference", "c11_child_helpline", "c12_reporting_hotline", "c20_media_reporting"}) {
      text += country + "," + ind + "," + answers[i % 4] + "," + quote(kHardNotes[i % kHardNotes.size()]) + "\n";
      ++i;
    }
  }
  const std::string in = dir / "in.csv";
  mnr::test::WriteText(in, text);
  CHECK(ClientOk({"import", "--db", a, in}).out == "imported 12 rows: 12 answers changed, 12 notes changed, 0 unchanged\n");

  const std::string out = dir / "out.csv";
  ClientOk({"export", "--db", a, "--format", "csv", "--out", out});
  const std::string exported = mnr::test::ReadText(out);
  CHECK(exported == ClientOk({"export", "--db", a}).out);
  CHECK(ClientOk({"import", "--db", a, out}).out == "imported 12 rows: 0 answers changed, 0 notes changed, 12 unchanged\n");
  CHECK(ClientOk({"import", "--db", b, out}).out == "imported 12 rows: 12 answers changed, 12 notes changed, 0 unchanged\n");
  CHECK(ClientOk({"export", "--db", b}).out == exported);

  RunResult json = ClientOk({"export", "--db", a, "--format", "json", "--country", "Q01"});
  auto doc = nlohmann::json::parse(json.out);
  CHECK(doc["schema_version"] == 1);
  CHECK(doc["countries"] == nlohmann::json::array({"Q01"}));
  CHECK(doc["device"]["id"].get<std::string>().size() == 16);
  REQUIRE(doc["answers"].size() == 4);
  CHECK(doc["answers"][0]["indicator"] == "c00_mnr_reference");
  CHECK(doc["answers"][0]["note"] == kHardNotes[0]);
  CHECK(doc["answers"][3]["note"] == kHardNotes[3]);
  CHECK(doc["answers"][1]["version"].get<std::string>().find('@') == 16);
  CHECK(doc["practices"].is_array());
  CHECK(Client({"export", "--db", a, "--format", "xml"}).exit_code == 2);
}

TEST_CASE("mnr-client practice: add, edit, list, show, rm", "[e2e][client]") {
  TempDir dir;
  const std::string db = Init(dir, "s.db", {"Q01"});
  const std::string text_file = dir / "text.txt";
  mnr::test::WriteText(text_file, "La ligne d’écoute a étendu ses horaires.\nElle propose aussi un chat.\n");
  RunResult added = ClientOk({"practice", "add", "--db", db, "--country", "Q01", "--capability", "11", "--kind",
                        "good_practice", "--title", "Ligne d’écoute élargie", "--text-file", text_file, "--lang", "fr"});
  const std::string id = added.out.substr(0, added.out.find('\n'));
  CHECK(id.size() == 16);
  ClientOk({"practice", "add", "--db", db, "--country", "Q01", "--capability", "3", "--kind", "challenge", "--title",
      "Old laws", "--text", "Legislation does not yet define some forms of online abuse."});

  RunResult list = ClientOk({"practice", "list", "--db", db});
  CHECK(CountLines(list.out, "\n") == 2);
  CHECK(list.out.find("Old laws") < list.out.find("Ligne"));  // by capability
  RunResult only11 = ClientOk({"practice", "list", "--db", db, "--capability", "11"});
  CHECK(CountLines(only11.out, "\n") == 1);
  CHECK_THAT(only11.out, Catch::Contains(id));

  RunResult show = ClientOk({"practice", "show", "--db", db, id});
  CHECK_THAT(show.out, Catch::Contains("title:       Ligne d’écoute élargie"));
  CHECK_THAT(show.out, Catch::Contains("Elle propose aussi un chat."));
  CHECK_THAT(show.out, Catch::Contains("lang:        fr"));

  ClientOk({"practice", "edit", "--db", db, id, "--title", "Ligne d’écoute 24h/24", "--kind", "lesson_learned"});
  show = ClientOk({"practice", "show", "--db", db, id});
  CHECK_THAT(show.out, Catch::Contains("kind:        lesson_learned"));
  CHECK_THAT(show.out, Catch::Contains("Ligne d’écoute 24h/24"));
  RunResult log = ClientOk({"log", "--db", db, "--country", "Q01"});
  CHECK_THAT(log.out, Catch::Contains("practice/Q01/" + id + "/title  \"Ligne d’écoute élargie\" -> \"Ligne d’écoute 24h/24\"  local"));

  struct Bad {
    std::vector<std::string> args;
    int exit;
    std::string message;
  };
  const std::vector<Bad> bad = {
      {{"add", "--db", db, "--country", "Q02", "--capability", "1", "--kind", "challenge", "--title", "t", "--text", "x"},
       1, "country Q02 is outside this device's scope (Q01)"},
      {{"add", "--db", db, "--country", "Q01", "--capability", "22", "--kind", "challenge", "--title", "t", "--text", "x"},
       1, "capability \"22\" is not a capability number (1 to 21)"},
      {{"add", "--db", db, "--country", "Q01", "--capability", "2", "--kind", "story", "--title", "t", "--text", "x"},
       1, "kind \"story\" is not one of good_practice, challenge, lesson_learned"},
      {{"add", "--db", db, "--country", "Q01", "--capability", "2", "--kind", "challenge", "--title",
        std::string(513, 't'), "--text", "x"},
       1, "title is 513 bytes; the limit is 512"},
      {{"add", "--db", db, "--country", "Q01", "--capability", "2", "--kind", "challenge", "--title", "t"}, 2,
       "needs --text TEXT or --text-file FILE"},
      {{"add", "--db", db, "--country", "Q01", "--capability", "2", "--kind", "challenge", "--title", "t", "--text",
        "x", "--text-file", text_file},
       2, "not both"},
      {{"edit", "--db", db, id}, 2, "needs at least one of"},
      {{"edit", "--db", db, id, "--lang", "Français"}, 1, "is not a language code"},
      {{"show", "--db", db, "ffffffffffffffff"}, 1, "no practice entry ffffffffffffffff"},
      {{"frob"}, 2, "unknown practice command"},
  };
  for (const auto& b : bad) {
    std::vector<std::string> args = {"practice"};
    args.insert(args.end(), b.args.begin(), b.args.end());
    RunResult r = Client(args);
    INFO(b.message);
    CHECK(r.exit_code == b.exit);
    CHECK_THAT(r.err, Catch::Contains(b.message));
  }

  ClientOk({"practice", "rm", "--db", db, id});
  CHECK(CountLines(ClientOk({"practice", "list", "--db", db}).out, "\n") == 1);
  CHECK(Client({"practice", "show", "--db", db, id}).exit_code == 1);
  CHECK(Client({"practice", "rm", "--db", db, id}).exit_code == 1);
  RunResult json = ClientOk({"export", "--db", db, "--format", "json"});
  auto doc = nlohmann::json::parse(json.out);
  REQUIRE(doc["practices"].size() == 1);
  CHECK(doc["practices"][0]["title"] == "Old laws");
}

TEST_CASE("mnr-client countries: import with line errors, list", "[e2e][client]") {
  TempDir dir;
  const std::string db = Init(dir, "s.db", {"X02"});
  const std::string csv = dir / "countries.csv";
  mnr::test::WriteText(csv, "code,name,income_group,region\nX01,Placeholder X01,high,europe\nx2,Bad,rich,\n");
  RunResult bad = Client({"countries", "import", "--db", db, csv});
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.err, Catch::Contains("countries.csv:3: code: \"x2\" is not 2 to 8 capital letters and digits"));
  CHECK_THAT(bad.err, Catch::Contains("countries.csv:3: income_group: \"rich\" is not one of"));
  CHECK(ClientOk({"countries", "list", "--db", db}).out.empty());

  mnr::test::WriteText(csv, "code,name,income_group,region\nX01,Placeholder X01,high,europe\nX02,Placeholder X02,low,africa\n");
  CHECK(ClientOk({"countries", "import", "--db", db, csv}).out == "imported 2 countries\n");
  RunResult list = ClientOk({"countries", "list", "--db", db});
  CHECK(CountLines(list.out, "\n") == 2);
  CHECK_THAT(list.out, Catch::Contains("* X02"));
  CHECK_THAT(list.out, Catch::Contains("  X01"));
}
