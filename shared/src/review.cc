#include "mnr/review.h"

namespace mnr {
namespace {

bool IsCoordinator(std::string_view author) { return author.rfind("coordinator:", 0) == 0; }

}  // namespace

std::string_view ReviewStateName(ReviewState s) {
  switch (s) {
    case ReviewState::kDraft: return "draft";
    case ReviewState::kSubmitted: return "submitted";
    case ReviewState::kReturned: return "returned";
    case ReviewState::kApproved: return "approved";
  }
  return "?";
}

std::string EncodeDecision(const ReviewDecision& d) {
  std::string s = d.approved ? "approved" : "returned";
  s += '\n';
  s += d.comment;
  return s;
}

Result<ReviewDecision> DecodeDecision(std::string_view value) {
  const std::size_t nl = value.find('\n');
  const std::string_view word = value.substr(0, nl);
  ReviewDecision d;
  if (word == "approved") {
    d.approved = true;
  } else if (word != "returned") {
    return Status::InvalidArgument("a review decision must be \"approved\" or \"returned\"");
  }
  if (nl != std::string_view::npos) d.comment = std::string(value.substr(nl + 1));
  return d;
}

std::string EncodeQuestion(const QueryQuestion& q) { return q.indicator + "\n" + q.text; }

QueryQuestion IndicatorQueryArg(std::string_view arg) {
  const std::size_t eq = arg.find('=');
  if (eq == std::string_view::npos) return {std::string(arg), ""};
  return {std::string(arg.substr(0, eq)), std::string(arg.substr(eq + 1))};
}

Result<QueryQuestion> DecodeQuestion(std::string_view value) {
  const std::size_t nl = value.find('\n');
  if (nl == std::string_view::npos) return Status::InvalidArgument("a query must be \"<indicator>\\n<text>\"");
  QueryQuestion q{std::string(value.substr(0, nl)), std::string(value.substr(nl + 1))};
  if (q.text.empty()) return Status::InvalidArgument("a query has no text");
  return q;
}

ReviewState CountryReview::state() const {
  const bool decided_last = decision && (!submitted_at || decided_order > submitted_order);
  if (decided_last) {
    if (!decision->approved) return ReviewState::kReturned;
    return last_edit_order > decided_order ? ReviewState::kSubmitted : ReviewState::kApproved;
  }
  return submitted_at ? ReviewState::kSubmitted : ReviewState::kDraft;
}

bool CountryReview::edited_after_approval() const {
  const bool approval_newest = decision && decision->approved && (!submitted_at || decided_order > submitted_order);
  return (approval_newest && last_edit_order > decided_order) || reopened();
}

bool CountryReview::reopened() const {
  return submitted_at && submitted_by == std::string("coordinator:") + kReopenedBy && decision && decision->approved &&
         submitted_order > decided_order;
}

int CountryReview::open_queries() const {
  int n = 0;
  for (const auto& [id, q] : queries) n += q.open() ? 1 : 0;
  return n;
}

void ReviewBook::Add(std::string_view field, const std::optional<std::string>& value, HlcTime hlc,
                     std::string_view author, std::uint64_t order) {
  auto key = ParseField(field);
  if (!key.ok()) return;
  CountryReview& r = countries_[key->country];
  switch (key->kind) {
    case FieldKey::Kind::kAnswer:
    case FieldKey::Kind::kPractice:
    case FieldKey::Kind::kAttachment:  // evidence added or removed after approval reopens the review too
      if (!IsCoordinator(author) && order > r.last_edit_order) {
        r.last_edit_at = hlc;
        r.last_edit_by = std::string(author);
        r.last_edit_order = order;
      }
      return;
    case FieldKey::Kind::kReview:
      if (key->attr == "submitted") {
        if (value && *value == kSubmittedValue) {
          r.submitted_at = hlc;
          r.submitted_by = std::string(author);
          r.submitted_order = order;
        }
      } else if (value) {
        auto d = DecodeDecision(*value);
        if (!d.ok()) return;
        r.decision = std::move(d).value();
        r.decided_at = hlc;
        r.decided_by = std::string(author);
        r.decided_order = order;
      }
      return;
    case FieldKey::Kind::kQuery: {
      Query& q = r.queries[key->query_id];
      q.id = key->query_id;
      q.country = key->country;
      if (key->attr == "question") {
        if (!value) return;
        auto qq = DecodeQuestion(*value);
        if (!qq.ok()) return;
        q.question = std::move(qq).value();
        q.asked_by = std::string(author);
        q.asked_at = hlc;
      } else if (value) {
        q.reply = *value;
        q.replied_by = std::string(author);
        q.replied_at = hlc;
      }
      return;
    }
  }
}

const CountryReview* ReviewBook::Find(std::string_view country) const {
  auto it = countries_.find(std::string(country));
  return it == countries_.end() ? nullptr : &it->second;
}

std::optional<std::pair<HlcTime, std::string>> SplitVersion(std::string_view version) {
  const std::size_t at = version.find('@');
  if (at != 16) return std::nullopt;
  HlcTime hlc = 0;
  for (char c : version.substr(0, 16)) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    hlc = hlc * 16 + static_cast<HlcTime>(d);
  }
  return std::pair{hlc, std::string(version.substr(at + 1))};
}

}  // namespace mnr
