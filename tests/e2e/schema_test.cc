// The binaries carry the survey schema they were built with and can load a newer release of it.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/support/process.h"

using namespace mnr::test;

TEST_CASE("A newer survey schema file adds an indicator the built-in schema does not know") {
  TempDir dir;
  auto schema = nlohmann::json::parse(ReadText(SourceDir() + "/schemas/mnr-survey-v1.json"));
  schema["version"] = 2;
  schema["indicators"].push_back({{"id", "c21_terminology_training"},
                                  {"capability", 21},
                                  {"answer_type", "yes_partial_no_unknown"},
                                  {"label", {{"en", "Professionals are trained in the terminology"},
                                             {"fr", "Les professionnels sont formés à la terminologie"}}}});
  WriteText(dir / "v2.json", schema.dump(2));
  const std::string env = "MNR_SURVEY_SCHEMA=" + (dir / "v2.json");
  const std::string db = dir / "s.db";
  REQUIRE(Run({ClientBin(), "init", "--db", db, "--country", "X01"}).exit_code == 0);

  auto builtin = Run({ClientBin(), "answer", "--db", db, "X01", "c21_terminology_training", "yes"});
  CHECK(builtin.exit_code == 1);
  CHECK(builtin.err.find("unknown indicator \"c21_terminology_training\" (not in survey schema v1)") != std::string::npos);

  auto newer = Run({ClientBin(), "answer", "--db", db, "X01", "c21_terminology_training", "yes"}, "", std::chrono::seconds(30), {env});
  INFO(newer.err);
  CHECK(newer.exit_code == 0);
  auto exported = Run({ClientBin(), "export", "--db", db, "--format", "csv"}, "", std::chrono::seconds(30), {env});
  CHECK(exported.out.find("X01,c21_terminology_training,yes,") != std::string::npos);

  // A file that drops a released indicator is refused, naming it; nothing runs against it.
  schema["indicators"].erase(0);
  WriteText(dir / "bad.json", schema.dump(2));
  auto bad = Run({ClientBin(), "status", "--db", db}, "", std::chrono::seconds(30), {"MNR_SURVEY_SCHEMA=" + (dir / "bad.json")});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("drops released indicator") != std::string::npos);
}
