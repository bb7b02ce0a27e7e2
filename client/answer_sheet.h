// The answers as people see them in a spreadsheet: one row per country and indicator with the
// indicator's domain, capability and text in the user's language. `template` writes every indicator,
// `export --format xlsx` and `export --lang` the answered ones; `import` reads both back (the label
// columns are ignored, the answers are accepted in English and French).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/client_store.h"
#include "mnr/xlsx.h"

namespace mnr::client {

// "en" or "fr"; anything else is a usage error naming --lang.
bool IsSupportedLanguage(std::string_view lang);

// yes/partial/no/unknown, or oui/partiel/non/inconnu in French.
std::string_view AnswerWord(Answer a, std::string_view lang);
// What a person may type in an answer cell: the words above in either language, any case, with
// surrounding spaces (and "partiellement"); nullopt otherwise.
std::optional<Answer> ParseAnswerWord(std::string_view cell);

// Column ids of the answer sheet, and the header a person sees for each in `lang`.
enum class Column { kCountry, kIndicator, kDomain, kCapability, kText, kAnswer, kNote };
std::string ColumnTitle(Column c, std::string_view lang);
// The column a header cell names, in either language and any case; nullopt for anything else.
std::optional<Column> ParseColumn(std::string_view header);

struct AnswerSheetOptions {
  std::string lang = "en";
  bool every_indicator = false;  // a template: unanswered indicators too, with empty answer and note
  std::optional<std::string> country;
};
// The answer sheet of the store's countries (its scope; else the countries it holds answers of), or of
// `country`, in questionnaire order. Notes and labels are neutralised for spreadsheets (csv.h).
Result<xlsx::Sheet> AnswerSheet(ClientStore& store, const AnswerSheetOptions& options);
// The good-practice entries as a sheet (for `export --format xlsx`).
Result<xlsx::Sheet> PracticeSheet(ClientStore& store, std::string_view lang, const std::optional<std::string>& country);

// A sheet as CSV: ',' and LF, or with `excel` a byte-order mark, CRLF and ';' for French (Excel's list
// separator in French locales).
std::string SheetCsv(const xlsx::Sheet& sheet, bool excel, std::string_view lang);

}  // namespace mnr::client
