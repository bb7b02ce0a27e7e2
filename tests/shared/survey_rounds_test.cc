// Survey rounds in the field keys and the schema (mnr/field.h, mnr/survey_schema.h).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "mnr/field.h"
#include "mnr/survey_schema.h"
#include "tests/support/process.h"

using namespace mnr;

namespace {

std::string SchemaWithRounds(const nlohmann::json& round, const nlohmann::json& rounds) {
  auto j = nlohmann::json::parse(mnr::test::ReadText(mnr::test::SourceDir() + "/schemas/mnr-survey-v1.json"));
  j["version"] = 2;
  if (round.is_null()) j.erase("round"); else j["round"] = round;
  if (!rounds.is_null()) j["rounds"] = rounds;
  return j.dump();
}

}  // namespace

TEST_CASE("An answer key names its round, and the first round's key is the one written before rounds existed") {
  CHECK(AnswerField("X01", "c11_child_helpline") == "answer/X01/c11_child_helpline");
  CHECK(AnswerField("X01", "c11_child_helpline", "2025") == "answer/X01/c11_child_helpline");
  CHECK(AnswerField("X01", "c11_child_helpline", "2028") == "answer/X01/c11_child_helpline/2028");

  auto first = ParseField("answer/X01/c11_child_helpline");
  REQUIRE(first.ok());
  CHECK(first->round == "2025");
  CHECK(first->indicator == "c11_child_helpline");
  auto later = ParseField("answer/X01/c11_child_helpline/2028");
  REQUIRE(later.ok());
  CHECK(later->round == "2028");
  CHECK(later->country == "X01");
  CHECK(later->ToString() == "answer/X01/c11_child_helpline/2028");

  // One answer, one key: the first round spelt out, an earlier year or a non-year are refused.
  for (const char* bad : {"answer/X01/c11_child_helpline/2025", "answer/X01/c11_child_helpline/2024",
                          "answer/X01/c11_child_helpline/28", "answer/X01/c11_child_helpline/20x8",
                          "answer/X01/c11_child_helpline/2028/x"}) {
    INFO(bad);
    auto r = ParseField(bad);
    CHECK_FALSE(r.ok());
  }
  CHECK_THAT(ParseField("answer/X01/c11_child_helpline/2025").status().message(), Catch::Contains("bad round"));
}

TEST_CASE("A survey schema lists its rounds oldest first, starting with the first round and ending with its current one") {
  auto one = SurveySchema::Parse(SchemaWithRounds("2025", nullptr), "one");
  REQUIRE(one.ok());
  CHECK(one->rounds() == std::vector<std::string>{"2025"});
  CHECK_FALSE(one->PreviousRound("2025").has_value());

  auto two = SurveySchema::Parse(SchemaWithRounds("2028", {"2025", "2028"}), "two");
  REQUIRE(two.ok());
  CHECK(two->round() == "2028");
  CHECK(two->rounds() == std::vector<std::string>{"2025", "2028"});
  CHECK(two->PreviousRound("2028") == std::optional<std::string>("2025"));
  CHECK(two->HasRound("2028"));
  CHECK_FALSE(two->HasRound("2031"));

  auto none = SurveySchema::Parse(SchemaWithRounds(nullptr, nullptr), "none");
  REQUIRE(none.ok());
  CHECK(none->rounds().empty());

  struct Bad {
    nlohmann::json round, rounds;
    const char* says;
  };
  for (const Bad& b : {Bad{"2028", {"2028"}, "the first survey round must be 2025"},
                       Bad{"2022", nullptr, "the first survey round must be 2025"},
                       Bad{"2028", {"2025", "2031"}, "\"rounds\" must list"},
                       Bad{"2028", {"2028", "2025"}, "\"rounds\" must list"},
                       Bad{"2028", {"2025", "2025", "2028"}, "\"rounds\" must list"},
                       Bad{nullptr, {"2025"}, "\"rounds\" must list"},
                       Bad{"2028", "2025,2028", "\"rounds\" must list"}}) {
    auto r = SurveySchema::Parse(SchemaWithRounds(b.round, b.rounds), "file.json");
    INFO(b.rounds.dump());
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Catch::Contains(b.says) && Catch::StartsWith("file.json: "));
  }
}
