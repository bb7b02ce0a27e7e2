// mnr-client answer, import, export.
#include <unistd.h>

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "client/answer_sheet.h"
#include "client/cmd_common.h"
#include "mnr/csv.h"
#include "mnr/describe.h"
#include "mnr/file_util.h"
#include "mnr/i18n.h"
#include "mnr/limits.h"
#include "mnr/utf8.h"
#include "mnr/xlsx.h"

namespace mnr::client {
namespace {

constexpr std::size_t kMaxReportedErrors = 20;
// Above this many rows an import on a terminal says what it is doing.
constexpr std::size_t kProgressRows = 5000;

// The message of a CheckText failure without the leading "<what> ", for "FILE:LINE: note: ..." lines.
std::string WithoutSubject(const Status& s, std::string_view what) {
  std::string m = s.message();
  const std::string prefix = std::string(what) + " ";
  return m.rfind(prefix, 0) == 0 ? m.substr(prefix.size()) : m;
}

std::optional<std::string> Encoded(const std::optional<AnswerValue>& v) {
  return v ? std::optional<std::string>(EncodeAnswer(*v)) : std::nullopt;
}

// An import's input as rows of text, whether it came from a CSV file or a workbook's sheet, with what
// a message needs to point at a cell.
struct InputTable {
  std::string file;
  std::string sheet;  // empty for CSV
  std::size_t header_line = 1;
  std::vector<std::string> header;
  struct Row {
    std::size_t line = 0;  // CSV line, or spreadsheet row
    std::vector<std::string> fields;
  };
  std::vector<Row> rows;
  bool windows_1252 = false;

  // "f.csv:12: answer: " for CSV; "f.xlsx: sheet "answers" cell F12 (answer): " for a workbook.
  std::string At(std::size_t line, std::optional<std::size_t> column, std::string_view name) const {
    if (sheet.empty()) return file + ":" + std::to_string(line) + ": " + std::string(name) + ": ";
    const std::string where = column ? "cell " + xlsx::CellRef(line, *column) : "row " + std::to_string(line);
    return file + ": sheet \"" + sheet + "\" " + where + " (" + std::string(name) + "): ";
  }
};

bool LooksLikeWorkbook(const std::string& file, std::string_view bytes) {
  std::string ext = file.size() >= 5 ? file.substr(file.size() - 5) : std::string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".xlsx" || bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4);
}

Result<InputTable> ReadInput(const std::string& file) {
  auto bytes = ReadFile(file, limits::kImportFileBytes);
  if (!bytes.ok()) return bytes.status();
  InputTable table;
  table.file = file;
  if (LooksLikeWorkbook(file, *bytes)) {
    auto sheets = xlsx::ReadWorkbook(file);
    if (!sheets.ok()) return sheets.status();
    // The sheet `template` and `export` write, else the first: a workbook may carry other sheets.
    const xlsx::Sheet* chosen = &sheets->front();
    for (const auto& s : *sheets) {
      if (s.name == "answers" || s.name == "réponses") {
        chosen = &s;
        break;
      }
    }
    table.sheet = chosen->name;
    table.header = chosen->header;
    for (std::size_t i = 0; i < chosen->rows.size(); ++i) {
      InputTable::Row row{i + 2, {}};
      bool empty = true;
      for (const auto& cell : chosen->rows[i]) {
        row.fields.push_back(xlsx::CellText(cell));
        empty = empty && row.fields.back().empty();
      }
      if (!empty) table.rows.push_back(std::move(row));
    }
    return table;
  }
  auto doc = ParseCsvFile(*bytes, file);
  if (!doc.ok()) return doc.status();
  table.windows_1252 = doc->dialect.windows_1252;
  if (doc->records.empty()) return table;
  table.header_line = doc->records.front().line;
  table.header = std::move(doc->records.front().fields);
  for (std::size_t i = 1; i < doc->records.size(); ++i) {
    table.rows.push_back({doc->records[i].line, std::move(doc->records[i].fields)});
  }
  return table;
}

}  // namespace

int AnswerCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client answer --db PATH COUNTRY INDICATOR ANSWER [--note TEXT]",
                tr("Records one survey answer in one transaction, with its history entry. The note is replaced\n"
                   "together with the answer: without --note the answer has no note. Giving the current answer\n"
                   "again records it again: it is confirmed now, and wins over older edits made elsewhere."));
  WithRound(p.Option("db", "PATH", "the client store", true))
      .Option("note", "TEXT", "a free-text note (up to 16 KiB of UTF-8)")
      .Positional("COUNTRY", "a country in this device's scope")
      .Positional("INDICATOR", "an indicator id of the survey schema (e.g. c11_child_helpline)")
      .Positional("ANSWER", "yes, partial, no, unknown, or clear to unset");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  const auto& pos = args.positional();
  AnswerEdit edit{pos[0], pos[1], std::nullopt};
  if (pos[2] == "clear") {
    if (args.Has("note")) return UsageError(tr("--note cannot be given with clear: a cleared answer has no note"));
  } else {
    auto a = ParseAnswer(pos[2]);
    if (!a) {
      return Fail(Status::InvalidArgument(tr("answer \"{1}\" is not one of yes, partial, no, unknown, clear", OneLine(pos[2], 20))));
    }
    edit.value = AnswerValue{*a, args.GetOr("note", "")};
  }
  auto store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  // Read before writing only to tell the user whether the value changed.
  auto before = store.value()->Answers(edit.country);
  if (!before.ok()) return Fail(before.status());
  bool same = !edit.value;
  for (const auto& a : *before) {
    if (a.indicator == edit.indicator) same = edit.value && EncodeAnswer(a.value) == EncodeAnswer(*edit.value);
  }
  auto recorded = store.value()->ReaffirmAnswers({edit});
  if (!recorded.ok()) return Fail(recorded.status());
  std::cout << edit.country << " " << edit.indicator << ": " << (edit.value ? std::string(AnswerName(edit.value->answer)) : tr("cleared"))
            << (same ? tr(" (unchanged; confirmed)") : std::string()) << "\n";
  return cli::kExitOk;
}

int ImportCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client import --db PATH FILE.csv|FILE.xlsx [--dry-run]",
                tr("Records answers from a CSV file or an Excel workbook with the columns country, indicator,\n"
                   "answer, note in any order (or pays, indicateur, réponse, note; the domain, capability and text\n"
                   "columns of `mnr-client template` are ignored). CSV: RFC 4180, ',' or ';' between fields (taken\n"
                   "from the header line), UTF-8 with or without BOM, or Windows-1252 when the file is not UTF-8\n"
                   "(said on standard error), LF or CRLF. A workbook (.xlsx): the sheet \"answers\" (or\n"
                   "\"réponses\"), else the first; row 1 is the header. Answers: yes, partial, no, unknown or oui,\n"
                   "partiel, non, inconnu, in any case. A column the file does not have is left as it is: without a\n"
                   "note column every note stays; without an answer column only notes change (each row then needs\n"
                   "an answer already recorded). An empty answer cell clears the answer (and its note); an empty\n"
                   "note cell clears the note. The whole file is checked first: any bad row is reported as\n"
                   "FILE:LINE: column: problem (in a workbook: FILE: sheet \"S\" cell C5 (column): problem) and\n"
                   "nothing is recorded. Otherwise every row is applied in one transaction, and one line says how\n"
                   "many answers and notes changed and how many notes were cleared."));
  WithRound(p.Option("db", "PATH", "the client store", true))
      .Flag("dry-run", "print each change (answer old -> new; note old -> new) and the summary; write nothing")
      .Positional("FILE", "the answers to record (.csv or .xlsx)");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  const std::string file = args.positional()[0];
  const bool dry_run = args.Has("dry-run");
  auto opened = OpenStore(args);
  if (!opened.ok()) return Fail(opened.status());
  ClientStore& store = *opened.value();
  auto input = ReadInput(file);
  if (!input.ok()) return Fail(input.status());
  const InputTable& table = *input;
  if (table.header.empty()) {
    return Fail(Status::InvalidArgument(tr("{1}: empty file (expected the header country,indicator,answer,note)", file)));
  }
  if (table.windows_1252) std::cerr << kProgram << ": " << tr("{1}: read as Windows-1252 (the file is not UTF-8)", file) << "\n";

  std::map<Column, std::size_t> column;
  for (std::size_t i = 0; i < table.header.size(); ++i) {
    const std::string& name = table.header[i];
    const std::string at = table.At(table.header_line, i, "header");
    const auto c = ParseColumn(name);
    if (!c) {
      return Fail(Status::InvalidArgument(at + tr("unknown column \"{1}\" (expected country,indicator,answer,note; domain, "
                                                  "capability and text are ignored)",
                                                  OneLine(name, 40))));
    }
    if (*c == Column::kDomain || *c == Column::kCapability || *c == Column::kText) continue;
    if (!column.emplace(*c, i).second) {
      return Fail(Status::InvalidArgument(at + tr("column \"{1}\" appears twice", ColumnTitle(*c, "en"))));
    }
  }
  const std::string header_at = table.At(table.header_line, std::nullopt, "header");
  for (Column required : {Column::kCountry, Column::kIndicator}) {
    if (!column.count(required)) {
      return Fail(Status::InvalidArgument(header_at + tr("missing column \"{1}\" (expected country,indicator,answer,note)",
                                                         ColumnTitle(required, "en"))));
    }
  }
  const bool has_answer = column.count(Column::kAnswer) > 0;
  const bool has_note = column.count(Column::kNote) > 0;
  if (!has_answer && !has_note) {
    return Fail(Status::InvalidArgument(
        header_at + tr("missing column \"answer\" (or \"note\"): nothing to import (expected country,indicator,answer,note)")));
  }

  // What is recorded now: a row keeps whatever its file has no column for.
  auto current_rows = store.Answers();
  if (!current_rows.ok()) return Fail(current_rows.status());
  std::map<std::pair<std::string, std::string>, AnswerValue> current;
  for (auto& a : *current_rows) current.emplace(std::make_pair(a.country, a.indicator), std::move(a.value));

  const bool progress = table.rows.size() > kProgressRows && ::isatty(2);
  if (progress) std::cerr << kProgram << ": " << tr("checking {1} rows of {2}...", table.rows.size(), file) << "\n";
  std::vector<std::string> errors;
  struct Change {
    AnswerEdit edit;
    std::optional<AnswerValue> before;
  };
  std::vector<Change> changes;
  std::size_t rows = 0;
  std::map<std::pair<std::string, std::string>, std::size_t> first_line;
  for (const InputTable::Row& r : table.rows) {
    if (r.fields.size() != table.header.size()) {
      errors.push_back(table.At(r.line, std::nullopt, "row") +
                       tr("has {1} fields, the header has {2}", r.fields.size(), table.header.size()));
      continue;
    }
    const auto at = [&](Column c) { return table.At(r.line, column.at(c), ColumnTitle(c, "en")); };
    AnswerEdit e{r.fields[column[Column::kCountry]], r.fields[column[Column::kIndicator]], std::nullopt};
    const std::string answer = has_answer ? r.fields[column[Column::kAnswer]] : std::string();
    const std::string note = has_note ? RestoreFormula(r.fields[column[Column::kNote]]) : std::string();
    const std::size_t before_errors = errors.size();
    if (Status s = store.CheckWritable(e.country); !s.ok()) {
      errors.push_back(at(Column::kCountry) + (e.country.empty() ? tr("is empty") : s.message()));
    }
    if (!store.schema().FindIndicator(e.indicator)) {
      errors.push_back(at(Column::kIndicator) + (e.indicator.empty() ? tr("is empty")
                                                                  : tr("unknown indicator \"{1}\" (not in survey schema v{2})",
                                                                       OneLine(e.indicator, 80), store.schema().version())));
    }
    const auto now = current.find({e.country, e.indicator});
    const std::optional<AnswerValue> before =
        now == current.end() ? std::nullopt : std::optional<AnswerValue>(now->second);
    if (!has_answer) {
      // Notes only: the recorded answer stays.
      if (before) {
        e.value = AnswerValue{before->answer, note};
      } else if (errors.size() == before_errors) {
        errors.push_back(table.At(r.line, std::nullopt, "answer") +
                         tr("{1} {2} has no answer yet, so its note cannot be set (add an answer column)", e.country, e.indicator));
      }
    } else if (answer.empty()) {
      if (!note.empty()) errors.push_back(at(Column::kNote) + tr("a cleared answer (empty answer cell) cannot have a note"));
    } else if (auto a = ParseAnswerWord(answer)) {
      e.value = AnswerValue{*a, has_note ? note : (before ? before->note : std::string())};
    } else if (const auto nul = answer.find('\0'); nul != std::string::npos) {
      // Invisible in a message, so named: spreadsheets and scripts sometimes leave one behind.
      errors.push_back(at(Column::kAnswer) +
                       tr("contains a NUL byte after \"{1}\"; a NUL byte is not allowed", OneLine(answer.substr(0, nul), 20)));
    } else {
      errors.push_back(at(Column::kAnswer) +
                       tr("\"{1}\" is not one of yes, partial, no, unknown (or oui, partiel, non, inconnu; leave it empty "
                          "to clear)",
                          OneLine(answer, 20)));
    }
    if (Status s = CheckText(note, "note", limits::kNoteBytes); !s.ok()) {
      errors.push_back(at(Column::kNote) + WithoutSubject(s, "note"));
    }
    if (errors.size() == before_errors) {
      auto [it, fresh] = first_line.emplace(std::make_pair(e.country, e.indicator), r.line);
      if (!fresh) {
        errors.push_back(at(Column::kIndicator) +
                         (table.sheet.empty() ? tr("{1} {2} was already given on line {3}", e.country, e.indicator, it->second)
                                              : tr("{1} {2} was already given on row {3}", e.country, e.indicator, it->second)));
      }
    }
    if (errors.size() != before_errors) continue;
    ++rows;
    if (Encoded(before) != Encoded(e.value)) changes.push_back(Change{std::move(e), before});
  }
  if (!errors.empty()) {
    for (std::size_t i = 0; i < errors.size() && i < kMaxReportedErrors; ++i) {
      std::cerr << kProgram << ": " << errors[i] << "\n";
    }
    if (errors.size() > kMaxReportedErrors) {
      std::cerr << kProgram << ": " << tr("... and {1} more", errors.size() - kMaxReportedErrors) << "\n";
    }
    return Fail(Status::InvalidArgument(trn("{1}: {n} bad row; nothing imported", "{1}: {n} bad rows; nothing imported", errors.size(),
                                            file)));
  }

  std::size_t answers_changed = 0, notes_changed = 0, notes_cleared = 0;
  for (const Change& c : changes) {
    const std::string old_note = c.before ? c.before->note : std::string();
    const std::string new_note = c.edit.value ? c.edit.value->note : std::string();
    if (c.before.has_value() != c.edit.value.has_value() || (c.before && c.before->answer != c.edit.value->answer)) {
      ++answers_changed;
    }
    if (old_note != new_note) {
      ++notes_changed;
      if (new_note.empty()) ++notes_cleared;
    }
  }
  const std::string summary =
      tr("imported {1}: {2}, {3}{4}, {5}", trn("{n} row", "{n} rows", rows),
         trn("{n} answer changed", "{n} answers changed", answers_changed), trn("{n} note changed", "{n} notes changed", notes_changed),
         notes_cleared ? trn(" ({n} cleared)", " ({n} cleared)", notes_cleared) : std::string(),
         trn("{n} unchanged", "{n} unchanged", rows - changes.size()));
  if (dry_run) {
    for (const Change& c : changes) {
      const std::string field = AnswerField(c.edit.country, c.edit.indicator);
      std::cout << c.edit.country << " " << c.edit.indicator << ": answer "
                << DescribeChange(field, Encoded(c.before), Encoded(c.edit.value)) << "\n";
    }
    std::cout << tr("dry run: {1}; nothing written", summary) << "\n";
    return cli::kExitOk;
  }
  if (progress) std::cerr << kProgram << ": " << tr("recording {1} changed rows...", changes.size()) << "\n";
  std::vector<AnswerEdit> edits;
  edits.reserve(changes.size());
  for (Change& c : changes) edits.push_back(std::move(c.edit));
  auto applied = store.ApplyAnswers(edits);
  if (!applied.ok()) return Fail(applied.status().With(tr("{1}: nothing imported", file)));
  std::cout << summary << "\n";
  return cli::kExitOk;
}

int ExportCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client export --db PATH [--format csv|json|xlsx] [--lang en|fr] [--excel] [--out FILE [--force]]\n"
                "                         [--country CODE]",
                tr("Writes the current answers as CSV (country,indicator,answer,note; the format import reads,\n"
                   "sorted by country then questionnaire order), or everything as JSON (device, countries,\n"
                   "answers with their versions, good-practice entries), or as an Excel workbook (--format xlsx,\n"
                   "needs --out): a sheet of answers with each indicator's domain, capability and text, and a sheet\n"
                   "of good-practice entries. --lang gives the labels, column titles and answer words in English or\n"
                   "French (in CSV it adds the label columns). --excel writes CSV for Excel: a UTF-8 byte-order mark,\n"
                   "CRLF, and ';' between fields with --lang fr. import reads every one of these back. --out writes\n"
                   "FILE atomically; an existing FILE is replaced only with --force, and never the store itself.\n"
                   "Text that starts with = + - @ or a tab is prefixed with ' so a spreadsheet does not run it as a\n"
                   "formula; import removes that quote again, so a round trip changes nothing."));
  WithRound(p.Option("db", "PATH", "the client store", true))
      .Option("format", "FORMAT", "csv (default), json or xlsx")
      .Option("lang", "LANG", "en (default) or fr: labels and answer words in CSV and xlsx")
      .Flag("excel", "CSV for Excel: byte-order mark, CRLF, ';' with --lang fr")
      .Option("out", "FILE", "write here instead of standard output")
      .Flag("force", "replace FILE if it exists")
      .Option("country", "CODE", "only this country");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  const std::string format = args.GetOr("format", "csv");
  if (format != "csv" && format != "json" && format != "xlsx") {
    return UsageError(tr("--format must be csv, json or xlsx, got \"{1}\"", format));
  }
  const std::string lang = args.GetOr("lang", "en");
  if (!IsSupportedLanguage(lang)) return UsageError(tr("--lang must be en or fr, got \"{1}\"", lang));
  if (args.Has("excel") && format != "csv") return UsageError(tr("--excel applies to --format csv only"));
  if (args.Has("lang") && format == "json") return UsageError(tr("--lang applies to --format csv or xlsx"));
  if (format == "xlsx" && !args.Get("out")) return UsageError(tr("--format xlsx needs --out FILE (a workbook is not text)"));
  const auto country = args.Get("country");
  if (country && !IsValidCountryCode(*country)) {
    return Fail(Status::InvalidArgument(tr("\"{1}\" is not a country code (2 to 8 capital letters and digits)", *country)));
  }
  const OutputRules rules{args.Has("force"), true, {*args.Get("db")}};
  if (auto path = args.Get("out")) {
    if (Status s = CheckOutputFile(*path, rules); !s.ok()) return Fail(s);
  }
  auto opened = OpenStore(args);
  if (!opened.ok()) return Fail(opened.status());
  ClientStore& store = *opened.value();
  auto answers = store.Answers(country);
  if (!answers.ok()) return Fail(answers.status());

  if (format == "xlsx") {
    auto sheet = AnswerSheet(store, {lang, false, country});
    if (!sheet.ok()) return Fail(sheet.status());
    auto practices = PracticeSheet(store, lang, country);
    if (!practices.ok()) return Fail(practices.status());
    const std::string path = *args.Get("out");
    if (Status s = xlsx::WriteWorkbook(path, {*sheet, *practices}); !s.ok()) return Fail(s);
    std::cerr << kProgram << ": " << tr("wrote {1} answers to {2}", answers->size(), path) << "\n";
    return cli::kExitOk;
  }
  std::string out;
  if (format == "csv" && (args.Has("lang") || args.Has("excel"))) {
    const bool labels = args.Has("lang");
    if (labels) {
      auto sheet = AnswerSheet(store, {lang, false, country});
      if (!sheet.ok()) return Fail(sheet.status());
      out = SheetCsv(*sheet, args.Has("excel"), lang);
    } else {
      xlsx::Sheet sheet{"answers", {"country", "indicator", "answer", "note"}, {}};
      for (const auto& a : *answers) {
        sheet.rows.push_back({a.country, a.indicator, std::string(AnswerName(a.value.answer)), NeutraliseFormula(a.value.note)});
      }
      out = SheetCsv(sheet, true, lang);
    }
  } else if (format == "csv") {
    out = CsvLine({"country", "indicator", "answer", "note"});
    for (const auto& a : *answers) {
      out += CsvLine({a.country, a.indicator, std::string(AnswerName(a.value.answer)), NeutraliseFormula(a.value.note)});
    }
  } else {
    auto practices = store.Practices(country);
    if (!practices.ok()) return Fail(practices.status());
    using json = nlohmann::ordered_json;
    json doc = json::object();
    doc["schema_version"] = store.schema().version();
    doc["round"] = store.round();
    doc["device"] = {{"id", store.identity().device_id}, {"name", store.identity().device_name}};
    doc["countries"] = country ? std::vector<std::string>{*country} : store.identity().countries;
    json rows = json::array();
    for (const auto& a : *answers) {
      rows.push_back({{"country", a.country},
                      {"indicator", a.indicator},
                      {"answer", AnswerName(a.value.answer)},
                      {"note", a.value.note},
                      {"version", a.version}});
    }
    doc["answers"] = std::move(rows);
    json entries = json::array();
    for (const auto& e : *practices) {
      entries.push_back({{"id", e.id},
                         {"country", e.country},
                         {"capability", e.capability},
                         {"kind", e.kind},
                         {"title", e.title},
                         {"text", e.text},
                         {"lang", e.lang}});
    }
    doc["practices"] = std::move(entries);
    out = doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  }

  if (auto path = args.Get("out")) {
    Status s = WriteOutputFile(*path, out, rules);
    if (!s.ok()) return Fail(s);
    std::cerr << kProgram << ": " << tr("wrote {1} answers to {2}", answers->size(), *path) << "\n";
  } else {
    std::cout << out;
    std::cout.flush();
    if (!std::cout) return Fail(Status::IOError(tr("cannot write to standard output")));
  }
  return cli::kExitOk;
}

}  // namespace mnr::client
