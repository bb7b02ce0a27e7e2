// Field keys: the unit of merge. Every piece of survey content is one field whose key names the
// country it belongs to, so scope can be checked from the key alone. Keys and value encodings reach
// disk and the wire (do not change):
//   answer/<COUNTRY>/<INDICATOR>            value: "<answer>" or "<answer>\n<note>"; absent = not answered
//   answer/<COUNTRY>/<INDICATOR>/<ROUND>    the same, in a survey round after the first (ROUND: "2028")
//   practice/<COUNTRY>/<ENTRY-ID>/<ATTR>    ATTR: capability|kind|title|text|lang|deleted
//   review/<COUNTRY>/submitted              value: "submitted" (a field office hands the survey in)
//   review/<COUNTRY>/decision               value: "approved\n<comment>" | "returned\n<comment>" (coordinator)
//   query/<COUNTRY>/<QUERY-ID>/question     value: "<indicator id or empty>\n<text>" (coordinator)
//   query/<COUNTRY>/<QUERY-ID>/reply        value: the office's reply text
//   attachment/<COUNTRY>/indicator/<INDICATOR>/<SHA256>   value: "<size>\n<media type>\n<title>" (mnr/attachment.h);
//   attachment/<COUNTRY>/practice/<ENTRY-ID>/<SHA256>     absent = removed. The file itself travels apart
// An answer belongs to a survey round. Keys written before rounds existed have no round segment and
// belong to the first round, kFirstRound; so that one answer has exactly one key, the first round is
// always written without the segment and a key naming it is refused. Review and query fields merge like any other field; shared/include/mnr/review.h derives a country's
// review state from them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mnr/status.h"
#include "mnr/survey_schema.h"

namespace mnr {

// The first survey round (survey schema v1's "round"): answer keys without a round segment belong to
// it. Fixed for good, because such keys are in signed change-sets and the audit log.
inline constexpr std::string_view kFirstRound = "2025";
// A round: a year of four digits ("2028"), an SDMX time period.
bool IsValidRound(std::string_view round);

// A country code: 2 to 8 capital ASCII letters and digits (ISO 3166 alpha-2/3 or a placeholder).
bool IsValidCountryCode(std::string_view code);

struct FieldKey {
  enum class Kind { kAnswer, kPractice, kReview, kQuery, kAttachment };
  Kind kind = Kind::kAnswer;
  std::string country;
  std::string indicator;    // kAnswer
  std::string round;        // kAnswer: never empty (kFirstRound for a key without a round segment)
  std::string practice_id;  // kPractice
  std::string attr;         // kPractice, kReview, kQuery
  std::string query_id;     // kQuery
  std::string target;       // kAttachment: "indicator" (indicator set) or "practice" (practice_id set)
  std::string hash;         // kAttachment: the file's SHA-256, 64 lowercase hex digits

  std::string ToString() const;
};

// The key of an answer in `round`; the first round's key has no round segment.
std::string AnswerField(std::string_view country, std::string_view indicator, std::string_view round = kFirstRound);
std::string PracticeField(std::string_view country, std::string_view entry_id, std::string_view attr);
std::string ReviewField(std::string_view country, std::string_view attr);  // attr: submitted|decision
std::string QueryField(std::string_view country, std::string_view query_id, std::string_view attr);  // question|reply
// The key of an attachment to an indicator's answer (target "indicator", `id` an indicator id) or to
// a practice entry (target "practice", `id` an entry id).
std::string AttachmentField(std::string_view country, std::string_view target, std::string_view id, std::string_view hash);
// A query id: "q" and 1 to 12 digits, given by the server ("q17").
bool IsValidQueryId(std::string_view id);
// A file's content address: its SHA-256 as 64 lowercase hex digits.
bool IsValidBlobHash(std::string_view hash);
// Parses and validates the shape of a key (not whether the indicator exists in a schema).
Result<FieldKey> ParseField(std::string_view key);

struct AnswerValue {
  Answer answer = Answer::kUnknown;
  std::string note;
};
std::string EncodeAnswer(const AnswerValue& v);
Result<AnswerValue> DecodeAnswer(std::string_view encoded);

// Practice entry kinds and their attributes.
bool IsValidPracticeKind(std::string_view kind);  // good_practice|challenge|lesson_learned
bool IsValidPracticeAttr(std::string_view attr);

}  // namespace mnr
