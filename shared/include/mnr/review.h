// The review loop between a field office and the coordinators, per country:
//   draft -> submitted -> returned | approved;  returned -> submitted;  approved -> submitted (an edit)
// The state is not stored anywhere: it is derived, the same way on the client and the server, from
// the country's review and query fields (mnr/field.h), which travel and merge like every other field.
// So a submission rides in the office's next change-set or USB bundle, a decision or a query reaches
// the office on its next pull or return bundle, and every step is in the audit log with who and why.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "mnr/field.h"
#include "mnr/hlc.h"
#include "mnr/status.h"

namespace mnr {

enum class ReviewState { kDraft, kSubmitted, kReturned, kApproved };
std::string_view ReviewStateName(ReviewState s);  // draft|submitted|returned|approved

// The value of review/<C>/submitted.
inline constexpr std::string_view kSubmittedValue = "submitted";
// The server's name when it submits an approved survey again because an office edited it
// (author "coordinator:mnr-server", audit action "review.reopen").
inline constexpr const char* kReopenedBy = "mnr-server";

struct ReviewDecision {
  bool approved = false;  // else returned
  std::string comment;
};
std::string EncodeDecision(const ReviewDecision& d);
Result<ReviewDecision> DecodeDecision(std::string_view value);

struct QueryQuestion {
  std::string indicator;  // empty: about the whole submission
  std::string text;
};
std::string EncodeQuestion(const QueryQuestion& q);
// An argument of `review return --indicator`: "ID" asks about indicator ID with the return's comment;
// "ID=TEXT" asks with TEXT of its own (indicator ids never contain '=').
QueryQuestion IndicatorQueryArg(std::string_view arg);
Result<QueryQuestion> DecodeQuestion(std::string_view value);

// A coordinator's query on one country, and the office's reply if it has sent one.
struct Query {
  std::string id;
  std::string country;
  QueryQuestion question;
  std::string asked_by;  // the author of the question edit ("coordinator:<name> (<credential>)")
  HlcTime asked_at = 0;
  std::optional<std::string> reply;
  std::string replied_by;  // device id
  HlcTime replied_at = 0;
  bool open() const { return !reply.has_value(); }
};

// Everything the review of one country is derived from.
struct CountryReview {
  std::optional<HlcTime> submitted_at;
  std::string submitted_by;
  std::optional<ReviewDecision> decision;
  HlcTime decided_at = 0;
  std::string decided_by;
  HlcTime last_edit_at = 0;  // newest answer or practice edit by a field office (not a coordinator)
  std::string last_edit_by;
  // The order in which the store came to hold each of the three (see ReviewBook::Add); the state
  // compares these, the times above are for people.
  std::uint64_t submitted_order = 0, decided_order = 0, last_edit_order = 0;
  std::map<std::string, Query> queries;  // by id

  ReviewState state() const;
  // Approved, then edited by an office: the state is `submitted` again and says why (the server
  // records a submission of its own, by kReopenedBy, when it receives such an edit).
  bool edited_after_approval() const;
  bool reopened() const;  // the newest submission is the server's, after an edit
  int open_queries() const;
};

// Builds CountryReview per country from a store's current fields, fed one at a time in any order.
class ReviewBook {
 public:
  // `hlc` and `author` are those of the edit that set the field's current value. `order` says when
  // this store came to hold that value: the server passes the field's state sequence, so an edit
  // made before an approval but received after it still reopens the review; a client passes the hlc
  // (its own edits always follow what it has pulled). Fields other than answers, practices, review
  // and query fields are ignored; so are undecodable values (a store validated them on the way in).
  void Add(std::string_view field, const std::optional<std::string>& value, HlcTime hlc, std::string_view author,
           std::uint64_t order);
  const std::map<std::string, CountryReview>& countries() const { return countries_; }
  const CountryReview* Find(std::string_view country) const;

 private:
  std::map<std::string, CountryReview> countries_;
};

// "<hlc>@<author>" -> (hlc, author); nullopt if malformed.
std::optional<std::pair<HlcTime, std::string>> SplitVersion(std::string_view version);

}  // namespace mnr
