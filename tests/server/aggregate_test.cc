#include "server/aggregate.h"
#include "server/merged_state.h"
#include "server/register.h"

#include <catch2/catch.hpp>

#include "mnr/csv.h"
#include "tests/server/fixture.h"

namespace mnr::server {
namespace {

using namespace mnr::server::testing;

const AggregateRow* Find(const std::vector<AggregateRow>& rows, const std::string& indicator, const std::string& group) {
  for (const auto& r : rows) {
    if (r.indicator == indicator && r.group == group) return &r;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("aggregate: percent of yes is rounded half up to one decimal") {
  CHECK(PercentYes(2, 3) == "66.7");
  CHECK(PercentYes(1, 3) == "33.3");
  CHECK(PercentYes(1, 8) == "12.5");
  CHECK(PercentYes(1, 16) == "6.3");  // 6.25 rounds up
  CHECK(PercentYes(32, 42) == "76.2");
  CHECK(PercentYes(5, 5) == "100.0");
  CHECK(PercentYes(0, 4) == "0.0");
  CHECK(PercentYes(0, 0) == "");
}

TEST_CASE("aggregate: counts the merged answers of registered countries by income group") {
  ServerWorld w;  // Q01 high, Q02 low, Q03 upper_middle, Q04 lower_middle
  const std::string ind = "c00_mnr_reference";
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 1, {Edit(AnswerField("Q01", ind), Answer("yes"), T(1), "dev-a"),
                                                            Edit(AnswerField("Q01", "c01_national_strategy"), Answer("no"), T(1), "dev-a")}),
                         w.q01a)).outcome);
  // A later edit replaces the earlier one; a cleared answer is not counted.
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q02, "dev-c", 1, {Edit(AnswerField("Q02", ind), Answer("no"), T(1), "dev-c"),
                                                           Edit(AnswerField("Q03", ind), Answer("partial", "some, not all"), T(1), "dev-c"),
                                                           Edit(AnswerField("Q02", "c01_national_strategy"), Answer("yes"), T(1), "dev-c")}),
                         w.q02)).outcome);
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q02, "dev-c", 2, {Edit(AnswerField("Q02", ind), Answer("yes"), T(2), "dev-c"),
                                                           Edit(AnswerField("Q02", "c01_national_strategy"), std::nullopt, T(2), "dev-c")}),
                         w.q02)).outcome);

  auto countries = Countries(w.store->db());
  auto answers = MergedAnswers(w.store->db());
  REQUIRE(countries.ok());
  REQUIRE(answers.ok());
  const auto rows = Aggregate(w.store->schema(), *countries, *answers);
  CHECK(rows.size() == 3 * w.store->schema().indicators().size());
  CHECK(rows[0].indicator == w.store->schema().indicators()[0].id);
  CHECK(rows[0].group == "all");
  CHECK(rows[1].group == "high");
  CHECK(rows[2].group == "lmic");

  const AggregateRow* all = Find(rows, ind, "all");
  REQUIRE(all != nullptr);
  CHECK(all->n_yes == 2);
  CHECK(all->n_partial == 1);
  CHECK(all->n_no == 0);
  CHECK(all->n_responding() == 3);
  const AggregateRow* high = Find(rows, ind, "high");
  CHECK(high->n_yes == 1);
  CHECK(high->n_responding() == 1);
  const AggregateRow* lmic = Find(rows, ind, "lmic");
  CHECK(lmic->n_yes == 1);
  CHECK(lmic->n_partial == 1);
  CHECK(lmic->n_responding() == 2);

  const AggregateRow* strategy = Find(rows, "c01_national_strategy", "all");
  CHECK(strategy->n_no == 1);
  CHECK(strategy->n_yes == 0);
  CHECK(strategy->n_responding() == 1);
  CHECK(Find(rows, "c01_national_strategy", "lmic")->n_responding() == 0);

  auto csv = ParseCsv(AggregateCsv(rows), "aggregate");
  REQUIRE(csv.ok());
  REQUIRE(csv->size() == rows.size() + 1);
  CHECK((*csv)[0].fields == std::vector<std::string>{"indicator", "group", "n_yes", "n_partial", "n_no", "n_unknown",
                                                    "n_responding", "pct_yes"});
  CHECK((*csv)[1].fields == std::vector<std::string>{ind, "all", "2", "1", "0", "0", "3", "66.7"});
  CHECK((*csv)[3].fields == std::vector<std::string>{ind, "lmic", "1", "1", "0", "0", "2", "50.0"});
  bool saw_empty_pct = false;
  for (const auto& r : *csv) saw_empty_pct |= r.fields[6] == "0" && r.fields[7].empty();
  CHECK(saw_empty_pct);
}

}  // namespace mnr::server
