#include "client/client_store.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>

#include "mnr/file_util.h"
#include "mnr/limits.h"
#include "tests/client/client_test_util.h"

using namespace mnr;
using namespace mnr::client;
using namespace mnr::client::testing;

TEST_CASE("a new store is private, WAL, at the latest schema, with a random device id", "[client][store]") {
  test::TempDir dir;
  const std::string path = dir / "office.db";
  auto store = NewStore(path, {"Q01", "Q02", "Q01"});

  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(QueryText(store->db(), "PRAGMA journal_mode") == "wal");
  CHECK(QueryInt(store->db(), "PRAGMA user_version") == 7);

  const Identity id = store->identity();  // a copy: one section closes the store
  CHECK(id.device_id.size() == 16);
  CHECK(id.device_id.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(id.device_name == "test laptop");
  CHECK(id.countries == std::vector<std::string>{"Q01", "Q02"});
  CHECK_FALSE(id.credential);

  auto other = NewStore(dir / "other.db", {"Q01"});
  CHECK(other->identity().device_id != id.device_id);

  SECTION("reopening gives the same identity") {
    store.reset();
    auto again = ClientStore::Open(path);
    REQUIRE(again.ok());
    CHECK(again.value()->identity().device_id == id.device_id);
    CHECK(again.value()->identity().countries == std::vector<std::string>{"Q01", "Q02"});
  }
  SECTION("an existing file is never overwritten") {
    auto again = ClientStore::Create(path, {"Q03"}, "", std::nullopt);
    REQUIRE_FALSE(again.ok());
    CHECK(again.status().code() == Status::Code::kAlreadyExists);
    CHECK(store->identity().countries.size() == 2);
  }
}

TEST_CASE("store creation refuses bad input and leaves no file behind", "[client][store]") {
  test::TempDir dir;
  const std::string path = dir / "s.db";
  auto none = ClientStore::Create(path, {}, "x", std::nullopt);
  REQUIRE_FALSE(none.ok());
  CHECK_THAT(none.status().message(), Catch::Contains("at least one country"));
  auto bad = ClientStore::Create(path, {"q1"}, "x", std::nullopt);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("\"q1\" is not a country code"));
  auto name = ClientStore::Create(path, {"Q01"}, std::string(300, 'n'), std::nullopt);
  REQUIRE_FALSE(name.ok());
  CHECK_FALSE(FileExists(path));

  auto missing = ClientStore::Open(dir / "nope.db");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Status::Code::kNotFound);
  CHECK_THAT(missing.status().message(), Catch::Contains("mnr-client init"));
}

TEST_CASE("an answer edit writes the value, its version and one log row in one transaction", "[client][store]") {
  test::TempDir dir;
  auto store = NewStore(dir / "s.db", {"Q01"});
  Db& db = store->db();
  const std::string field = "answer/Q01/c11_child_helpline";

  auto changed = store->ApplyAnswers({Set("Q01", "c11_child_helpline", Answer::kPartial, "only in the capital")});
  REQUIRE(changed.ok());
  CHECK(*changed == 1);
  auto rows = store->Answers();
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  CHECK(rows->at(0).value.answer == Answer::kPartial);
  CHECK(rows->at(0).value.note == "only in the capital");

  auto log = store->Log(std::nullopt, 0);
  REQUIRE(log.ok());
  REQUIRE(log->size() == 1);
  const LogEntry& first = log->at(0);
  CHECK(first.field == field);
  CHECK(first.author == store->identity().device_id);
  CHECK(first.origin == "local");
  CHECK_FALSE(first.old_value);
  CHECK(first.new_value == std::optional<std::string>("partial\nonly in the capital"));
  CHECK(rows->at(0).version == OperationVersion(first.hlc, store->identity().device_id));
  CHECK(QueryText(db, "SELECT parents FROM change_log WHERE seq = " + std::to_string(first.seq)).empty());
  CHECK(std::stoull(QueryText(db, "SELECT value FROM meta WHERE key = 'hlc'")) == first.hlc);

  SECTION("the same value again is a no-op") {
    auto again = store->ApplyAnswers({Set("Q01", "c11_child_helpline", Answer::kPartial, "only in the capital")});
    REQUIRE(again.ok());
    CHECK(*again == 0);
    CHECK(QueryInt(db, "SELECT COUNT(*) FROM change_log") == 1);
  }
  SECTION("reaffirming the same value records a new version of it") {
    auto again = store->ReaffirmAnswers({Set("Q01", "c11_child_helpline", Answer::kPartial, "only in the capital")});
    REQUIRE(again.ok());
    CHECK(*again == 1);
    auto l = store->Log(std::nullopt, 0);
    REQUIRE(l.ok());
    REQUIRE(l->size() == 2);
    CHECK(l->at(0).old_value == l->at(0).new_value);
    CHECK(l->at(0).hlc > first.hlc);
    auto now = store->Answers();
    REQUIRE(now.ok());
    CHECK(now->at(0).version == OperationVersion(l->at(0).hlc, store->identity().device_id));
    CHECK(QueryText(db, "SELECT parents FROM change_log ORDER BY seq DESC LIMIT 1") == rows->at(0).version);
  }
  SECTION("a new answer without a note replaces answer and note; its parent is the previous version") {
    REQUIRE(store->ApplyAnswers({Set("Q01", "c11_child_helpline", Answer::kYes)}).ok());
    auto now = store->Answers();
    REQUIRE(now.ok());
    CHECK(now->at(0).value.answer == Answer::kYes);
    CHECK(now->at(0).value.note.empty());
    auto l = store->Log(std::nullopt, 1);
    REQUIRE(l.ok());
    REQUIRE(l->size() == 1);
    CHECK(l->at(0).hlc > first.hlc);
    CHECK(l->at(0).old_value == std::optional<std::string>("partial\nonly in the capital"));
    CHECK(l->at(0).new_value == std::optional<std::string>("yes"));
    CHECK(QueryText(db, "SELECT parents FROM change_log ORDER BY seq DESC LIMIT 1") == rows->at(0).version);
  }
  SECTION("clear removes the row and logs a NULL new value") {
    REQUIRE(store->ApplyAnswers({Clear("Q01", "c11_child_helpline")}).ok());
    CHECK(store->Answers()->empty());
    auto l = store->Log(std::nullopt, 1);
    REQUIRE(l.ok());
    CHECK_FALSE(l->at(0).new_value);
    CHECK(QueryInt(db, "SELECT COUNT(*) FROM field_versions WHERE field = '" + field + "'") == 1);
    auto twice = store->ApplyAnswers({Clear("Q01", "c11_child_helpline")});
    REQUIRE(twice.ok());
    CHECK(*twice == 0);
  }
}

TEST_CASE("invalid edits are refused with a clear error and nothing is written", "[client][store]") {
  test::TempDir dir;
  auto store = NewStore(dir / "s.db", {"Q01"});
  REQUIRE(store->ApplyAnswers({Set("Q01", "c00_mnr_reference", Answer::kYes)}).ok());
  auto log_rows = [&] { return QueryInt(store->db(), "SELECT COUNT(*) FROM change_log"); };
  const auto before = log_rows();

  auto scope = store->ApplyAnswers({Set("Q02", "c11_child_helpline", Answer::kYes)});
  REQUIRE_FALSE(scope.ok());
  CHECK(scope.status().message() == "country Q02 is outside this device's scope (Q01)");

  auto indicator = store->ApplyAnswers({Set("Q01", "c99_nothing", Answer::kYes)});
  REQUIRE_FALSE(indicator.ok());
  CHECK_THAT(indicator.status().message(), Catch::Contains("unknown indicator \"c99_nothing\""));

  auto long_note = store->ApplyAnswers({Set("Q01", "c11_child_helpline", Answer::kYes, std::string(limits::kNoteBytes + 1, 'x'))});
  REQUIRE_FALSE(long_note.ok());
  CHECK_THAT(long_note.status().message(), Catch::Contains("note is 16385 bytes; the limit is 16384"));

  auto utf8 = store->ApplyAnswers({Set("Q01", "c11_child_helpline", Answer::kYes, "caf\xe9")});
  REQUIRE_FALSE(utf8.ok());
  CHECK_THAT(utf8.status().message(), Catch::Contains("not valid UTF-8"));

  auto batch = store->ApplyAnswers({Set("Q01", "c11_child_helpline", Answer::kYes),
                                    Set("Q01", "c00_mnr_reference", Answer::kNo),
                                    Set("Q03", "c12_reporting_hotline", Answer::kYes)});
  REQUIRE_FALSE(batch.ok());
  CHECK_THAT(batch.status().message(), Catch::Contains("edit 3 (Q03 c12_reporting_hotline)"));
  CHECK_THAT(batch.status().message(), Catch::Contains("outside this device's scope"));

  CHECK(log_rows() == before);
  auto rows = store->Answers();
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  CHECK(rows->at(0).value.answer == Answer::kYes);
}

TEST_CASE("the change log is append-only", "[client][store]") {
  test::TempDir dir;
  auto store = NewStore(dir / "s.db", {"Q01"});
  REQUIRE(store->ApplyAnswers({Set("Q01", "c11_child_helpline", Answer::kYes)}).ok());
  Status update = store->db().Exec("UPDATE change_log SET new_value = 'no'");
  REQUIRE_FALSE(update.ok());
  CHECK_THAT(update.message(), Catch::Contains("append-only"));
  Status del = store->db().Exec("DELETE FROM change_log");
  REQUIRE_FALSE(del.ok());
  CHECK_THAT(del.message(), Catch::Contains("append-only"));
  CHECK(QueryText(store->db(), "SELECT new_value FROM change_log") == "yes");
}

TEST_CASE("a batch applies in order, and edits of other fields do not disturb each other", "[client][store]") {
  test::TempDir dir;
  auto store = NewStore(dir / "s.db", {"Q01", "Q02"});
  auto changed = store->ApplyAnswers({Set("Q02", "c21_universal_terminology", Answer::kNo),
                                      Set("Q01", "c11_child_helpline", Answer::kYes),
                                      Set("Q01", "c00_mnr_reference", Answer::kUnknown, "à vérifier"),
                                      Set("Q01", "c11_child_helpline", Answer::kNo)});
  REQUIRE(changed.ok());
  CHECK(*changed == 4);
  auto rows = store->Answers();
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 3);
  // Sorted by country, then questionnaire order.
  CHECK(rows->at(0).indicator == "c00_mnr_reference");
  CHECK(rows->at(1).indicator == "c11_child_helpline");
  CHECK(rows->at(1).value.answer == Answer::kNo);
  CHECK(rows->at(2).country == "Q02");
  auto only_q02 = store->Answers(std::string("Q02"));
  REQUIRE(only_q02.ok());
  CHECK(only_q02->size() == 1);

  auto helpline = store->Log(AnswerField("Q01", "c11_child_helpline"), 0);
  REQUIRE(helpline.ok());
  REQUIRE(helpline->size() == 2);
  CHECK(helpline->at(0).new_value == std::optional<std::string>("no"));  // newest first
  CHECK(helpline->at(1).new_value == std::optional<std::string>("yes"));
  auto q01 = store->Log(std::string("answer/Q01/"), 0);
  REQUIRE(q01.ok());
  CHECK(q01->size() == 3);
  auto limited = store->Log(std::nullopt, 2);
  REQUIRE(limited.ok());
  CHECK(limited->size() == 2);
  CHECK(limited->at(0).seq > limited->at(1).seq);
}

TEST_CASE("good-practice entries: each attribute is a field, removal is a tombstone", "[client][store]") {
  test::TempDir dir;
  auto store = NewStore(dir / "s.db", {"Q01"});
  PracticeEntry e;
  e.country = "Q01";
  e.capability = 11;
  e.kind = "good_practice";
  e.title = "Ligne d'écoute 24h/24";
  e.text = "La ligne d’écoute a étendu ses horaires.\nElle propose un chat.";
  e.lang = "fr";
  auto id = store->AddPractice(e);
  REQUIRE(id.ok());
  CHECK(id->size() == 16);
  auto log = store->Log("practice/Q01/" + *id + "/", 0);
  REQUIRE(log.ok());
  CHECK(log->size() == 5);
  auto found = store->FindPractice(*id);
  REQUIRE(found.ok());
  REQUIRE(*found);
  CHECK((*found)->title == e.title);
  CHECK((*found)->text == e.text);
  CHECK((*found)->capability == 11);
  CHECK((*found)->lang == "fr");

  SECTION("edit changes only the attributes that differ") {
    REQUIRE(store->EditPractice(*id, {{"title", "Ligne d'écoute"}, {"kind", "good_practice"}}).ok());
    auto l = store->Log(PracticeField("Q01", *id, "title"), 0);
    REQUIRE(l.ok());
    REQUIRE(l->size() == 2);
    CHECK(l->at(0).old_value == std::optional<std::string>(e.title));
    CHECK(l->at(0).new_value == std::optional<std::string>("Ligne d'écoute"));
    CHECK(store->Log(PracticeField("Q01", *id, "kind"), 0)->size() == 1);
    CHECK(store->FindPractice(*id).value()->title == "Ligne d'écoute");
  }
  SECTION("remove hides the entry and logs the tombstone") {
    REQUIRE(store->RemovePractice(*id).ok());
    CHECK_FALSE(store->FindPractice(*id).value());
    CHECK(store->Practices()->empty());
    auto l = store->Log(PracticeField("Q01", *id, "deleted"), 0);
    REQUIRE(l.ok());
    REQUIRE(l->size() == 1);
    CHECK(l->at(0).new_value == std::optional<std::string>("1"));
    Status again = store->RemovePractice(*id);
    CHECK(again.code() == Status::Code::kNotFound);
  }
  SECTION("bad entries are refused and nothing is written") {
    const auto before = QueryInt(store->db(), "SELECT COUNT(*) FROM change_log");
    auto bad = [&](PracticeEntry x, const std::string& expected) {
      auto r = store->AddPractice(x);
      INFO(expected);
      REQUIRE_FALSE(r.ok());
      CHECK_THAT(r.status().message(), Catch::Contains(expected));
    };
    PracticeEntry x = e;
    x.country = "Q02";
    bad(x, "country Q02 is outside this device's scope (Q01)");
    x = e;
    x.capability = 22;
    bad(x, "capability \"22\" is not a capability number");
    x.capability = 0;
    bad(x, "capability \"0\"");
    x = e;
    x.kind = "anecdote";
    bad(x, "kind \"anecdote\" is not one of good_practice, challenge, lesson_learned");
    x = e;
    x.title = std::string(limits::kPracticeTitleBytes + 1, 't');
    bad(x, "title is 513 bytes");
    x = e;
    x.title = "";
    bad(x, "title is empty");
    x = e;
    x.text = std::string(limits::kPracticeTextBytes + 1, 't');
    bad(x, "text is 65537 bytes");
    x = e;
    x.lang = "French";
    bad(x, "lang \"French\" is not a language code");
    auto edit = store->EditPractice(*id, {{"colour", "red"}});
    REQUIRE_FALSE(edit.ok());
    CHECK_THAT(edit.message(), Catch::Contains("\"colour\" is not an attribute"));
    CHECK(store->EditPractice("0000000000000000", {{"title", "x"}}).code() == Status::Code::kNotFound);
    CHECK(QueryInt(store->db(), "SELECT COUNT(*) FROM change_log") == before);
  }
}

TEST_CASE("the country register imports whole files and validates every row", "[client][store]") {
  test::TempDir dir;
  auto store = NewStore(dir / "s.db", {"X01"});
  REQUIRE(store->ImportCountries({{"X01", "Placeholder X01", "high", "europe"},
                                  {"X02", "Placeholder X02", "low", "africa"}})
              .ok());
  REQUIRE(store->ImportCountries({{"X02", "Renamed", "lower_middle", "africa"}}).ok());
  auto rows = store->Countries();
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 2);
  CHECK(rows->at(1).name == "Renamed");
  CHECK(rows->at(1).income_group == "lower_middle");
  Status bad = store->ImportCountries({{"X03", "Three", "high", ""}, {"X04", "Four", "rich", ""}});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.message(), Catch::Contains("row 2 (X04): income_group \"rich\""));
  CHECK(store->Countries()->size() == 2);
}

TEST_CASE("meta keys: free keys round-trip, identity keys are protected", "[client][store]") {
  test::TempDir dir;
  auto store = NewStore(dir / "s.db", {"Q01"});
  REQUIRE(store->SetMeta("survey_position", "Q01:7").ok());
  CHECK(store->GetMeta("survey_position").value() == std::optional<std::string>("Q01:7"));
  CHECK_FALSE(store->GetMeta("nothing").value());
  CHECK_FALSE(store->SetMeta("device_id", "ffff").ok());
  CHECK_FALSE(store->SetMeta("hlc", "0").ok());
  CHECK(store->GetMeta("device_id").value() == std::optional<std::string>(store->identity().device_id));
}
