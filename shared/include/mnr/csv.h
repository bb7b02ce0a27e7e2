// RFC 4180 CSV: one reader and one writer for every CSV the tools read or write. UTF-8 with or without
// a byte-order mark (and Windows-1252 when a file is not UTF-8, see ParseCsvFile), ',' or ';' between
// fields, LF or CRLF line ends, quoted fields with delimiters, quotes and newlines.
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

// Parses a whole document whose fields are separated by `delimiter` (',' or ';'). `origin` is the
// file name used in errors ("answers.csv:12: ..."). Rejects invalid UTF-8, an unterminated quote and
// stray quotes inside unquoted fields. Skips records that are entirely empty lines.
Result<std::vector<CsvRecord>> ParseCsv(std::string_view text, std::string_view origin, char delimiter = ',');

// How a file a spreadsheet saved was read. French Excel separates fields with ';' and, unless told
// "CSV UTF-8", saves in Windows-1252.
struct CsvDialect {
  char delimiter = ',';
  bool bom = false;           // the file started with a UTF-8 byte-order mark
  bool windows_1252 = false;  // the bytes were not UTF-8, so they were read as Windows-1252
};
struct CsvDocument {
  CsvDialect dialect;
  std::vector<CsvRecord> records;
};
// Reads a CSV file as spreadsheets save it: a UTF-8 byte-order mark is dropped; the delimiter is ';'
// when the first line has more semicolons than commas outside quotes, else ','; bytes that are not
// valid UTF-8 (and come without a byte-order mark, which promises UTF-8) are read as Windows-1252, and
// a byte Windows-1252 leaves undefined (0x81 0x8D 0x8F 0x90 0x9D) is refused naming line and column.
// Then as ParseCsv.
Result<CsvDocument> ParseCsvFile(std::string_view bytes, std::string_view origin);

// The UTF-8 byte-order mark: Excel reads a CSV file as UTF-8 only when it starts with one.
inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Quotes a field when it holds the delimiter, a quote, CR or LF, or starts/ends with a space.
std::string CsvField(std::string_view s, char delimiter = ',');
// Joins fields into one record ended by `line_end` ("\n", or "\r\n" for Excel); what CsvLine writes,
// ParseCsv reads back unchanged with the same delimiter.
std::string CsvLine(const std::vector<std::string>& fields, char delimiter = ',', std::string_view line_end = "\n");

// Free text bound for a spreadsheet (OWASP "CSV injection"): a cell starting with = + - @ TAB or CR
// is read as a formula by Excel and LibreOffice, so NeutraliseFormula prefixes such text with a
// single quote (and text that already starts with quotes before such a character with one more).
// RestoreFormula undoes exactly that and nothing else: Restore(Neutralise(s)) == s for every s, and
// a hand-written "'hello" stays as it is. Exports apply the first to notes and names; imports the second.
std::string NeutraliseFormula(std::string_view text);
std::string RestoreFormula(std::string_view cell);

}  // namespace mnr
