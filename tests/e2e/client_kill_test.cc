// Durability: mnr-client killed with SIGKILL at random moments of a large import. After each kill the
// store must be intact, consistent (every answer is what its last change-log row says) and hold each
// import wholly or not at all; an import that finished before the kill must be there.
#include <signal.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "mnr/sqlite.h"
#include "mnr/survey_schema.h"
#include "tests/support/process.h"

using mnr::test::TempDir;

namespace {

std::vector<std::string> Countries() {
  std::vector<std::string> out;
  for (int i = 1; i <= 42; ++i) out.push_back((i < 10 ? "X0" : "X") + std::to_string(i));
  return out;
}

// Every row of generation `gen` differs from every row of the generation before, so each import
// changes all 42 x 27 answers; the note starts with the generation it came from.
std::string ImportFile(int gen) {
  static const char* kAnswers[] = {"yes", "partial", "no", "unknown"};
  const std::string filler =
      "Données préliminaires, \"à vérifier\" — البيانات الأولية 初步数据 🙂; the helpline extended its hours.\n";
  std::string text = "country,indicator,answer,note\n";
  int i = 0;
  for (const auto& country : Countries()) {
    for (const auto& ind : mnr::SurveySchema::Embedded().indicators()) {
      std::string note = "gen " + std::to_string(gen) + " row " + std::to_string(i) + ": ";
      for (int k = 0; k < 8; ++k) note += filler;
      std::string quoted = "\"";
      for (char c : note) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
      text += country + "," + ind.id + "," + kAnswers[(i + gen) % 4] + "," + quoted + "\"\n";
      ++i;
    }
  }
  return text;
}

std::int64_t Int(mnr::Db& db, const std::string& sql) {
  auto st = db.Prepare(sql);
  REQUIRE(st.ok());
  auto row = st->Step();
  REQUIRE(row.ok());
  REQUIRE(*row);
  return st->Int(0);
}

std::string Text(mnr::Db& db, const std::string& sql) {
  auto st = db.Prepare(sql);
  REQUIRE(st.ok());
  auto row = st->Step();
  REQUIRE(row.ok());
  REQUIRE(*row);
  return st->Text(0);
}

// Checks the store and returns the generation its answers come from (0: none yet).
int CheckConsistent(const std::string& path, std::int64_t rows_per_import) {
  auto opened = mnr::Db::Open(path, false);
  INFO(opened.status().message());
  REQUIRE(opened.ok());
  mnr::Db& db = **opened;
  CHECK(Text(db, "PRAGMA integrity_check") == "ok");
  const std::int64_t answers = Int(db, "SELECT COUNT(*) FROM answers");
  const std::int64_t log_rows = Int(db, "SELECT COUNT(*) FROM change_log");
  CHECK(log_rows % rows_per_import == 0);
  if (answers == 0) {
    CHECK(log_rows == 0);
    return 0;
  }
  CHECK(answers == rows_per_import);
  // Each answer is exactly what the last change-log row of its field says, and has its version.
  CHECK(Int(db,
            "SELECT COUNT(*) FROM answers a WHERE "
            "(SELECT new_value FROM change_log c WHERE c.field = 'answer/' || a.country || '/' || a.indicator "
            " ORDER BY seq DESC LIMIT 1) IS NOT "
            "(a.answer || CASE WHEN a.note = '' THEN '' ELSE char(10) || a.note END)") == 0);
  CHECK(Int(db, "SELECT COUNT(*) FROM field_versions") == rows_per_import);
  CHECK(Int(db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'hlc'") >=
        Int(db, "SELECT MAX(hlc) FROM change_log"));
  // All answers from one generation: an import is never half applied.
  const std::int64_t generations = Int(db, "SELECT COUNT(DISTINCT substr(note, 1, instr(note, ' row'))) FROM answers");
  CHECK(generations == 1);
  const std::string note = Text(db, "SELECT note FROM answers LIMIT 1");
  return std::stoi(note.substr(4, note.find(' ', 4) - 4));
}

}  // namespace

TEST_CASE("mnr-client killed mid-import: the store stays consistent and imports are all or nothing",
          "[e2e][client][kill]") {
  TempDir dir;
  const std::string db = dir / "field.db";
  const std::string bin = mnr::test::ClientBin();
  std::string scope;
  for (const auto& c : Countries()) scope += (scope.empty() ? "" : ",") + c;
  auto init = mnr::test::Run({bin, "init", "--db", db, "--country", scope});
  REQUIRE(init.exit_code == 0);
  const auto rows = static_cast<std::int64_t>(42 * mnr::SurveySchema::Embedded().indicators().size());
  REQUIRE(rows == 42 * 27);

  // One undisturbed import tells how long the window to aim at is on this machine.
  const std::string first = dir / "gen1.csv";
  mnr::test::WriteText(first, ImportFile(1));
  const auto start = std::chrono::steady_clock::now();
  auto r = mnr::test::Run({bin, "import", "--db", db, first});
  const auto took = std::chrono::steady_clock::now() - start;
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "imported " + std::to_string(rows) + " rows: " + std::to_string(rows) + " answers changed, " + std::to_string(rows) + " notes changed, 0 unchanged\n");
  int applied = CheckConsistent(db, rows);
  REQUIRE(applied == 1);

  // Kill times are drawn below the fastest import seen so far: a loaded machine makes the first
  // import slow, and later ones would all finish before a kill aimed at the first one's length.
  std::mt19937 rng(20261128);
  auto fastest = std::chrono::duration_cast<std::chrono::microseconds>(took);
  int killed = 0, completed = 0, imports_applied = 1;
  int gen = 2;
  for (; gen <= 11 || (killed < 3 && gen <= 30); ++gen) {
    const std::string file = dir / ("gen" + std::to_string(gen) + ".csv");
    mnr::test::WriteText(file, ImportFile(gen));
    int status;
    const auto spawned = std::chrono::steady_clock::now();
    {
      mnr::test::Background import({bin, "import", "--db", db, file}, dir / "import.log");
      std::uniform_int_distribution<std::int64_t> when(0, fastest.count() * 9 / 10);
      std::this_thread::sleep_for(std::chrono::microseconds(when(rng)));
      import.Kill(SIGKILL);
      status = import.Wait(std::chrono::seconds(30));
    }
    REQUIRE(status != -2);
    if (status == 0) {
      fastest = std::min(fastest, std::chrono::duration_cast<std::chrono::microseconds>(
                                      std::chrono::steady_clock::now() - spawned));
    }
    (status == 0 ? completed : killed)++;
    const int now = CheckConsistent(db, rows);
    INFO("generation " << gen << ", exit " << status);
    if (status == 0) {
      CHECK(now == gen);  // a finished import is never lost
    } else {
      CHECK((now == gen || now == applied));
    }
    if (now != applied) ++imports_applied;
    applied = now;
    auto opened = mnr::Db::Open(db, false);
    REQUIRE(opened.ok());
    CHECK(Int(**opened, "SELECT COUNT(*) FROM change_log") == rows * imports_applied);
  }
  INFO("killed " << killed << ", completed " << completed);
  CHECK(killed >= 3);

  // The store is still usable, and the next import applies in full.
  const std::string last = dir / ("gen" + std::to_string(gen) + ".csv");
  mnr::test::WriteText(last, ImportFile(gen));
  auto after = mnr::test::Run({bin, "import", "--db", db, last});
  INFO(after.err);
  REQUIRE(after.exit_code == 0);
  CHECK(CheckConsistent(db, rows) == gen);
}
