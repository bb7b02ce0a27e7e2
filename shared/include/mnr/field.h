// Field keys: the unit of merge. Every piece of survey content is one field whose key names the
// country it belongs to, so scope can be checked from the key alone. Keys and value encodings reach
// disk and the wire (do not change):
//   answer/<COUNTRY>/<INDICATOR>            value: "<answer>" or "<answer>\n<note>"; absent = not answered
//   practice/<COUNTRY>/<ENTRY-ID>/<ATTR>    ATTR: capability|kind|title|text|lang|deleted
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mnr/status.h"
#include "mnr/survey_schema.h"

namespace mnr {

// A country code: 2 to 8 capital ASCII letters and digits (ISO 3166 alpha-2/3 or a placeholder).
bool IsValidCountryCode(std::string_view code);

struct FieldKey {
  enum class Kind { kAnswer, kPractice };
  Kind kind = Kind::kAnswer;
  std::string country;
  std::string indicator;    // kAnswer
  std::string practice_id;  // kPractice
  std::string attr;         // kPractice

  std::string ToString() const;
};

std::string AnswerField(std::string_view country, std::string_view indicator);
std::string PracticeField(std::string_view country, std::string_view entry_id, std::string_view attr);
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
