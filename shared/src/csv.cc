#include "mnr/csv.h"

#include <cstdio>

#include "mnr/utf8.h"

namespace mnr {

Result<std::vector<CsvRecord>> ParseCsv(std::string_view text, std::string_view origin, char delimiter) {
  const std::string o(origin);
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<CsvRecord> records;
  std::size_t line = 1;
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    CsvRecord rec;
    rec.line = line;
    const bool blank_line = text[i] == '\n' || text[i] == '\r';
    std::string field;
    bool record_done = false;
    while (!record_done) {
      field.clear();
      if (i < n && text[i] == '"') {
        const std::size_t quote_line = line;
        ++i;
        for (;;) {
          if (i >= n) return Status::InvalidArgument(o + ":" + std::to_string(quote_line) + ": unterminated quoted field");
          char c = text[i];
          if (c == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (c == '\n') ++line;
          field += c;
          ++i;
        }
        if (i < n && text[i] != delimiter && text[i] != '\n' && text[i] != '\r') {
          return Status::InvalidArgument(o + ":" + std::to_string(line) + ": text after a closing quote");
        }
      } else {
        while (i < n && text[i] != delimiter && text[i] != '\n' && text[i] != '\r') {
          if (text[i] == '"') {
            return Status::InvalidArgument(o + ":" + std::to_string(line) + ": a quote inside an unquoted field (quote the whole field and double the quote)");
          }
          field += text[i++];
        }
      }
      if (!IsValidUtf8(field)) {
        return Status::InvalidArgument(o + ":" + std::to_string(line) + ": field " + std::to_string(rec.fields.size() + 1) + " is not valid UTF-8");
      }
      rec.fields.push_back(field);
      if (i >= n) {
        record_done = true;
      } else if (text[i] == delimiter) {
        ++i;
        if (i >= n) rec.fields.emplace_back();
      } else {
        if (text[i] == '\r') {
          ++i;
          if (i < n && text[i] != '\n') return Status::InvalidArgument(o + ":" + std::to_string(line) + ": carriage return without a line feed");
        }
        if (i < n) ++i;
        ++line;
        record_done = true;
      }
    }
    if (!blank_line) records.push_back(std::move(rec));
  }
  return records;
}

std::string CsvField(std::string_view s, char delimiter) {
  // A leading byte-order mark is quoted too: unquoted at the start of a file, ParseCsv would drop it
  // (found by tests/fuzz).
  const char special[] = {delimiter, '"', '\r', '\n', '\0'};
  const bool quote = s.find_first_of(special) != std::string_view::npos ||
                     (!s.empty() && (s.front() == ' ' || s.back() == ' ')) || s.substr(0, 3) == "\xEF\xBB\xBF";
  if (!quote) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

namespace {

// Windows-1252 bytes 0x80..0x9F as Unicode code points; 0 where the code page defines no character.
constexpr char16_t kWindows1252High[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
    0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178};

Result<std::string> FromWindows1252(std::string_view bytes, const std::string& origin) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 8);
  std::size_t line = 1, line_start = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b == '\n') {
      ++line;
      line_start = i + 1;
    }
    if (b < 0x80) {
      out += static_cast<char>(b);
      continue;
    }
    const unsigned cp = b >= 0xA0 ? b : kWindows1252High[b - 0x80];
    if (cp == 0) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", b);
      return Status::InvalidArgument(origin + ":" + std::to_string(line) + ": column " + std::to_string(i - line_start + 1) +
                                     ": byte " + hex + " is neither UTF-8 nor Windows-1252 (save the file as CSV UTF-8)");
    }
    if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
    } else {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    }
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

// ';' when the first line has more semicolons than commas outside quotes: French Excel's list separator.
char DetectDelimiter(std::string_view text) {
  std::size_t commas = 0, semicolons = 0;
  bool quoted = false;
  for (char c : text) {
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    if (c == '\n' || c == '\r') break;
    commas += c == ',';
    semicolons += c == ';';
  }
  return semicolons > commas ? ';' : ',';
}

// True when a spreadsheet would take `s` for a formula once its leading quotes are stripped.
bool StartsLikeFormula(std::string_view s) {
  while (!s.empty() && s.front() == '\'') s.remove_prefix(1);
  return !s.empty() && (s.front() == '=' || s.front() == '+' || s.front() == '-' || s.front() == '@' ||
                        s.front() == '\t' || s.front() == '\r');
}

}  // namespace

Result<CsvDocument> ParseCsvFile(std::string_view bytes, std::string_view origin) {
  CsvDocument doc;
  std::string converted;
  doc.dialect.bom = bytes.substr(0, kUtf8Bom.size()) == kUtf8Bom;
  // ParseCsv drops the byte-order mark itself; without one, bytes that are not UTF-8 are taken for
  // the code page Excel uses in Western Europe.
  if (!doc.dialect.bom && !IsValidUtf8(bytes)) {
    auto text = FromWindows1252(bytes, std::string(origin));
    if (!text.ok()) return text.status();
    converted = std::move(*text);
    bytes = converted;
    doc.dialect.windows_1252 = true;
  }
  doc.dialect.delimiter = DetectDelimiter(bytes);
  auto records = ParseCsv(bytes, origin, doc.dialect.delimiter);
  if (!records.ok()) return records.status();
  doc.records = std::move(*records);
  return doc;
}

std::string NeutraliseFormula(std::string_view text) {
  return StartsLikeFormula(text) ? "'" + std::string(text) : std::string(text);
}

std::string RestoreFormula(std::string_view cell) {
  if (cell.size() >= 2 && cell.front() == '\'' && StartsLikeFormula(cell.substr(1))) return std::string(cell.substr(1));
  return std::string(cell);
}

std::string CsvLine(const std::vector<std::string>& fields, char delimiter, std::string_view line_end) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out += delimiter;
    out += CsvField(fields[i], delimiter);
  }
  // A lone empty field would read back as an empty line (skipped): quote it so it survives.
  if (fields.size() == 1 && fields[0].empty()) out = "\"\"";
  out += line_end;
  return out;
}

}  // namespace mnr
