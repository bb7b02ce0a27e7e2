#include "mnr/csv.h"

#include "mnr/utf8.h"

namespace mnr {

Result<std::vector<CsvRecord>> ParseCsv(std::string_view text, std::string_view origin) {
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
        if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          return Status::InvalidArgument(o + ":" + std::to_string(line) + ": text after a closing quote");
        }
      } else {
        while (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
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
      } else if (text[i] == ',') {
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

std::string CsvField(std::string_view s) {
  // A leading byte-order mark is quoted too: unquoted at the start of a file, ParseCsv would drop it
  // (found by tests/fuzz).
  const bool quote = s.find_first_of(",\"\r\n") != std::string_view::npos ||
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

// True when a spreadsheet would take `s` for a formula once its leading quotes are stripped.
bool StartsLikeFormula(std::string_view s) {
  while (!s.empty() && s.front() == '\'') s.remove_prefix(1);
  return !s.empty() && (s.front() == '=' || s.front() == '+' || s.front() == '-' || s.front() == '@' ||
                        s.front() == '\t' || s.front() == '\r');
}

}  // namespace

std::string NeutraliseFormula(std::string_view text) {
  return StartsLikeFormula(text) ? "'" + std::string(text) : std::string(text);
}

std::string RestoreFormula(std::string_view cell) {
  if (cell.size() >= 2 && cell.front() == '\'' && StartsLikeFormula(cell.substr(1))) return std::string(cell.substr(1));
  return std::string(cell);
}

std::string CsvLine(const std::vector<std::string>& fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    out += CsvField(fields[i]);
  }
  // A lone empty field would read back as an empty line (skipped): quote it so it survives.
  if (fields.size() == 1 && fields[0].empty()) out = "\"\"";
  out += '\n';
  return out;
}

}  // namespace mnr
