// RFC 4180 CSV: one reader and one writer for every CSV the tools read or write. UTF-8 only, with or
// without a byte-order mark, LF or CRLF line ends, quoted fields with commas, quotes and newlines.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mnr/status.h"

namespace mnr {

struct CsvRecord {
  std::size_t line = 0;  // 1-based line on which the record starts (for FILE:LINE errors)
  std::vector<std::string> fields;
};

// Parses a whole document. `origin` is the file name used in errors ("answers.csv:12: ...").
// Rejects invalid UTF-8, an unterminated quote and stray quotes inside unquoted fields. Skips
// records that are entirely empty lines.
Result<std::vector<CsvRecord>> ParseCsv(std::string_view text, std::string_view origin);

// Quotes a field when it holds a comma, quote, CR or LF, or starts/ends with a space.
std::string CsvField(std::string_view s);
// Joins fields into one record ended by "\n"; what CsvLine writes, ParseCsv reads back unchanged.
std::string CsvLine(const std::vector<std::string>& fields);

// Free text bound for a spreadsheet (OWASP "CSV injection"): a cell starting with = + - @ TAB or CR
// is read as a formula by Excel and LibreOffice, so NeutraliseFormula prefixes such text with a
// single quote (and text that already starts with quotes before such a character with one more).
// RestoreFormula undoes exactly that and nothing else: Restore(Neutralise(s)) == s for every s, and
// a hand-written "'hello" stays as it is. Exports apply the first to notes and names; imports the second.
std::string NeutraliseFormula(std::string_view text);
std::string RestoreFormula(std::string_view cell);

}  // namespace mnr
