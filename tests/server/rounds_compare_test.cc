// What the report and `releases diff` compute between two rounds (server/aggregate.h ChangeInPoints,
// server/dataset.h DiffDatasets and CountDatasetRounds).
#include <catch2/catch.hpp>

#include "mnr/field.h"
#include "server/aggregate.h"
#include "server/dataset.h"

namespace mnr::server {

TEST_CASE("The change of a share of yes is given in points with one decimal, rounded half away from zero") {
  CHECK(ChangeInPoints(32, 42, 35, 42) == "+7.1");  // 76.19 -> 83.33
  CHECK(ChangeInPoints(35, 42, 32, 42) == "-7.1");
  CHECK(ChangeInPoints(1, 2, 1, 2) == "0.0");
  CHECK(ChangeInPoints(1, 3, 2, 3) == "+33.3");
  CHECK(ChangeInPoints(0, 8, 1, 16) == "+6.3");   // 6.25 rounds away from zero
  CHECK(ChangeInPoints(1, 16, 0, 8) == "-6.3");
  CHECK(ChangeInPoints(0, 1, 1, 1) == "+100.0");
  CHECK(ChangeInPoints(0, 0, 1, 1).empty());      // nobody answered before
  CHECK(ChangeInPoints(1, 1, 0, 0).empty());
}

TEST_CASE("A diff of two datasets lists the rows whose counts differ, and those only one of them has") {
  Dataset before, after;
  DatasetRow same;
  same.subject = "c01_governance_mechanism";
  same.group = "all";
  same.n_yes = 3;
  same.n_no = 1;
  same.n_countries = 4;
  DatasetRow moved = same;
  moved.group = "high";
  DatasetRow gone = same;
  gone.group = "region:europe";
  before.rows = {same, moved, gone};
  DatasetRow moved_after = moved;
  moved_after.n_yes = 4;
  moved_after.n_no = 0;
  DatasetRow added = same;
  added.group = "region:asia";
  after.rows = {same, moved_after, added};

  const auto changes = DiffDatasets(before, after, false);
  REQUIRE(changes.size() == 3);
  CHECK(changes[0].group == "high");
  CHECK(changes[0].before->n_yes == 3);
  CHECK(changes[0].after->n_yes == 4);
  CHECK(changes[1].group == "region:asia");
  CHECK_FALSE(changes[1].before.has_value());
  CHECK(changes[2].group == "region:europe");
  CHECK_FALSE(changes[2].after.has_value());
  for (const auto& c : changes) CHECK(c.changed());
  const auto all = DiffDatasets(before, after, true);
  REQUIRE(all.size() == 4);
  CHECK_FALSE(all[0].changed());
}

TEST_CASE("A replayed state is counted per round, each answer in the round its key names") {
  const std::vector<Country> reg = {{"Q01", "Q01", "high", ""}, {"Q02", "Q02", "low", ""}};
  std::map<std::string, std::optional<std::string>> merged = {
      {AnswerField("Q01", "c11_child_helpline"), "yes"},
      {AnswerField("Q02", "c11_child_helpline"), "no\nnote"},
      {AnswerField("Q01", "c11_child_helpline", "2028"), "no"},
      {AnswerField("Q02", "c11_child_helpline", "2028"), std::nullopt},
      {AnswerField("Q09", "c11_child_helpline", "2028"), "yes"},  // not registered
  };
  const auto rounds = CountDatasetRounds(merged, reg);
  REQUIRE(rounds.size() == 2);
  CHECK(rounds.at("2025").answers.at({"c11_child_helpline", "all"}) == DatasetCounts::Answers{1, 0, 1, 0});
  CHECK(rounds.at("2028").answers.at({"c11_child_helpline", "all"}) == DatasetCounts::Answers{0, 0, 1, 0});
  CHECK(rounds.at("2028").answers.count({"c11_child_helpline", "low"}) == 0);
  CHECK(rounds.at("2028").groups == rounds.at("2025").groups);
  // A round without answers still carries the group sizes, so a diff against it is about answers only.
  CHECK(CountDatasetRounds({}, reg).at("2025").groups.at("all") == 2);
}

}  // namespace mnr::server
