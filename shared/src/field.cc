#include "mnr/field.h"

#include <algorithm>
#include <vector>

namespace mnr {
namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t p = s.find(sep, start);
    if (p == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, p - start));
    start = p + 1;
  }
}

bool IsIdentifier(std::string_view s, std::size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

}  // namespace

bool IsValidCountryCode(std::string_view code) {
  if (code.size() < 2 || code.size() > 8) return false;
  for (char c : code) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

bool IsValidPracticeKind(std::string_view kind) {
  return kind == "good_practice" || kind == "challenge" || kind == "lesson_learned";
}

bool IsValidPracticeAttr(std::string_view attr) {
  return attr == "capability" || attr == "kind" || attr == "title" || attr == "text" || attr == "lang" ||
         attr == "deleted";
}

std::string FieldKey::ToString() const {
  switch (kind) {
    case Kind::kAnswer: return AnswerField(country, indicator, round);
    case Kind::kPractice: return PracticeField(country, practice_id, attr);
    case Kind::kReview: return ReviewField(country, attr);
    case Kind::kQuery: return QueryField(country, query_id, attr);
    case Kind::kAttachment: return AttachmentField(country, target, target == "practice" ? practice_id : indicator, hash);
  }
  return {};
}

std::string ReviewField(std::string_view country, std::string_view attr) {
  return "review/" + std::string(country) + "/" + std::string(attr);
}

std::string QueryField(std::string_view country, std::string_view query_id, std::string_view attr) {
  return "query/" + std::string(country) + "/" + std::string(query_id) + "/" + std::string(attr);
}

bool IsValidQueryId(std::string_view id) {
  if (id.size() < 2 || id.size() > 13 || id[0] != 'q') return false;
  for (char c : id.substr(1)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool IsValidRound(std::string_view round) {
  return round.size() == 4 && std::all_of(round.begin(), round.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string AnswerField(std::string_view country, std::string_view indicator, std::string_view round) {
  std::string key = "answer/" + std::string(country) + "/" + std::string(indicator);
  if (!round.empty() && round != kFirstRound) key += "/" + std::string(round);
  return key;
}

std::string PracticeField(std::string_view country, std::string_view entry_id, std::string_view attr) {
  return "practice/" + std::string(country) + "/" + std::string(entry_id) + "/" + std::string(attr);
}

std::string AttachmentField(std::string_view country, std::string_view target, std::string_view id, std::string_view hash) {
  return "attachment/" + std::string(country) + "/" + std::string(target) + "/" + std::string(id) + "/" + std::string(hash);
}

bool IsValidBlobHash(std::string_view hash) {
  return hash.size() == 64 &&
         std::all_of(hash.begin(), hash.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Result<FieldKey> ParseField(std::string_view key) {
  const auto parts = Split(key, '/');
  FieldKey f;
  if ((parts.size() == 3 || parts.size() == 4) && parts[0] == "answer") {
    f.kind = FieldKey::Kind::kAnswer;
    f.country = std::string(parts[1]);
    f.indicator = std::string(parts[2]);
    f.round = parts.size() == 4 ? std::string(parts[3]) : std::string(kFirstRound);
    if (!IsIdentifier(f.indicator, 64)) return Status::InvalidArgument("field \"" + std::string(key) + "\": bad indicator id");
    if (parts.size() == 4 && (!IsValidRound(f.round) || f.round <= kFirstRound)) {
      return Status::InvalidArgument("field \"" + std::string(key) + "\": bad round (a year after " + std::string(kFirstRound) +
                                     "; the first round's key has no round)");
    }
  } else if (parts.size() == 4 && parts[0] == "practice") {
    f.kind = FieldKey::Kind::kPractice;
    f.country = std::string(parts[1]);
    f.practice_id = std::string(parts[2]);
    f.attr = std::string(parts[3]);
    if (!IsIdentifier(f.practice_id, 64)) return Status::InvalidArgument("field \"" + std::string(key) + "\": bad entry id");
    if (!IsValidPracticeAttr(f.attr)) return Status::InvalidArgument("field \"" + std::string(key) + "\": unknown attribute");
  } else if (parts.size() == 3 && parts[0] == "review") {
    f.kind = FieldKey::Kind::kReview;
    f.country = std::string(parts[1]);
    f.attr = std::string(parts[2]);
    if (f.attr != "submitted" && f.attr != "decision") return Status::InvalidArgument("field \"" + std::string(key) + "\": unknown review attribute");
  } else if (parts.size() == 4 && parts[0] == "query") {
    f.kind = FieldKey::Kind::kQuery;
    f.country = std::string(parts[1]);
    f.query_id = std::string(parts[2]);
    f.attr = std::string(parts[3]);
    if (!IsValidQueryId(f.query_id)) return Status::InvalidArgument("field \"" + std::string(key) + "\": bad query id");
    if (f.attr != "question" && f.attr != "reply") return Status::InvalidArgument("field \"" + std::string(key) + "\": unknown query attribute");
  } else if (parts.size() == 5 && parts[0] == "attachment") {
    f.kind = FieldKey::Kind::kAttachment;
    f.country = std::string(parts[1]);
    f.target = std::string(parts[2]);
    f.hash = std::string(parts[4]);
    if (f.target == "indicator") {
      f.indicator = std::string(parts[3]);
    } else if (f.target == "practice") {
      f.practice_id = std::string(parts[3]);
    } else {
      return Status::InvalidArgument("field \"" + std::string(key) + "\": an attachment belongs to an indicator or a practice");
    }
    if (!IsIdentifier(parts[3], 64)) return Status::InvalidArgument("field \"" + std::string(key) + "\": bad indicator or entry id");
    if (!IsValidBlobHash(f.hash)) return Status::InvalidArgument("field \"" + std::string(key) + "\": bad file hash (64 lowercase hex digits)");
  } else {
    return Status::InvalidArgument("field \"" + std::string(key).substr(0, 100) + "\": not an answer, practice, review, query or attachment key");
  }
  if (!IsValidCountryCode(f.country)) return Status::InvalidArgument("field \"" + std::string(key) + "\": bad country code");
  return f;
}

std::string EncodeAnswer(const AnswerValue& v) {
  std::string s(AnswerName(v.answer));
  if (!v.note.empty()) {
    s += '\n';
    s += v.note;
  }
  return s;
}

Result<AnswerValue> DecodeAnswer(std::string_view encoded) {
  const std::size_t nl = encoded.find('\n');
  const std::string_view word = encoded.substr(0, nl);
  auto a = ParseAnswer(word);
  if (!a) return Status::InvalidArgument("answer value \"" + std::string(word.substr(0, 20)) + "\" is not yes|partial|no|unknown");
  AnswerValue v;
  v.answer = *a;
  if (nl != std::string_view::npos) v.note = std::string(encoded.substr(nl + 1));
  return v;
}

}  // namespace mnr
