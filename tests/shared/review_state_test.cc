// The review state is derived, not stored: the same fields give the same state on both sides.
#include <catch2/catch.hpp>

#include "mnr/review.h"

using namespace mnr;

namespace {

// Feeds one field as a store would, with `order` as the time the store came to hold it.
void Add(ReviewBook& book, const std::string& field, const std::optional<std::string>& value, const std::string& author,
         std::uint64_t order) {
  book.Add(field, value, static_cast<HlcTime>(order * 1000), author, order);
}

ReviewState StateOf(const ReviewBook& book) {
  const CountryReview* r = book.Find("Q01");
  REQUIRE(r != nullptr);
  return r->state();
}

}  // namespace

TEST_CASE("A country with answers but no submission is a draft") {
  ReviewBook book;
  Add(book, "answer/Q01/c11_child_helpline", "yes", "dev-a", 1);
  CHECK(StateOf(book) == ReviewState::kDraft);
  CHECK(book.Find("Q02") == nullptr);
}

TEST_CASE("The newest of submission and decision sets the state, and an edit after approval reopens it") {
  ReviewBook book;
  Add(book, "answer/Q01/c11_child_helpline", "yes", "dev-a", 1);
  Add(book, "review/Q01/submitted", "submitted", "dev-a", 2);
  CHECK(StateOf(book) == ReviewState::kSubmitted);

  ReviewBook returned = book;
  Add(returned, "review/Q01/decision", "returned\nfix c11", "coordinator:Ada (cred-1)", 3);
  Add(returned, "query/Q01/q1/question", "c11_child_helpline\nSource?", "coordinator:Ada (cred-1)", 3);
  CHECK(StateOf(returned) == ReviewState::kReturned);
  CHECK(returned.Find("Q01")->open_queries() == 1);
  CHECK(returned.Find("Q01")->queries.at("q1").question.indicator == "c11_child_helpline");
  // An edit while returned keeps it returned until the office submits again.
  Add(returned, "answer/Q01/c11_child_helpline", "partial", "dev-a", 4);
  Add(returned, "query/Q01/q1/reply", "Annual report", "dev-a", 4);
  CHECK(StateOf(returned) == ReviewState::kReturned);
  CHECK(returned.Find("Q01")->open_queries() == 0);
  Add(returned, "review/Q01/submitted", "submitted", "dev-a", 5);
  CHECK(StateOf(returned) == ReviewState::kSubmitted);

  Add(book, "review/Q01/decision", "approved\n", "coordinator:Ada (cred-1)", 3);
  CHECK(StateOf(book) == ReviewState::kApproved);
  CHECK_FALSE(book.Find("Q01")->edited_after_approval());
  // A coordinator's own resolution does not reopen an approved survey; an office's edit does.
  ReviewBook resolved = book;
  Add(resolved, "answer/Q01/c12_reporting_hotline", "no", "coordinator:Ada (cred-1)", 4);
  CHECK(StateOf(resolved) == ReviewState::kApproved);
  Add(book, "answer/Q01/c12_reporting_hotline", "no", "dev-b", 4);
  CHECK(StateOf(book) == ReviewState::kSubmitted);
  CHECK(book.Find("Q01")->edited_after_approval());
  CHECK_FALSE(book.Find("Q01")->reopened());
  // The server's own submission records the reopening; the state stays visibly "edited after approval".
  Add(book, "review/Q01/submitted", "submitted", std::string("coordinator:") + kReopenedBy, 5);
  CHECK(StateOf(book) == ReviewState::kSubmitted);
  CHECK(book.Find("Q01")->reopened());
  CHECK(book.Find("Q01")->edited_after_approval());
}

TEST_CASE("Review values that do not decode are refused by their decoders") {
  CHECK_FALSE(DecodeDecision("maybe\nlater").ok());
  CHECK(DecodeDecision("returned\nsee c11")->comment == "see c11");
  CHECK_FALSE(DecodeQuestion("no newline").ok());
  CHECK_FALSE(DecodeQuestion("c11_child_helpline\n").ok());
  CHECK(EncodeQuestion(QueryQuestion{"", "General"}) == "\nGeneral");
  auto v = SplitVersion("00000000000003e8@dev-a");
  REQUIRE(v);
  CHECK(v->first == 1000);
  CHECK(v->second == "dev-a");
  CHECK_FALSE(SplitVersion("3e8@dev-a"));
}
