// mnr-client answer, import, export.
#include <unistd.h>

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "client/cmd_common.h"
#include "mnr/csv.h"
#include "mnr/describe.h"
#include "mnr/file_util.h"
#include "mnr/limits.h"
#include "mnr/utf8.h"

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

}  // namespace

int AnswerCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client answer --db PATH COUNTRY INDICATOR ANSWER [--note TEXT]",
                "Records one survey answer in one transaction, with its history entry. The note is replaced\n"
                "together with the answer: without --note the answer has no note. Giving the current answer\n"
                "again records it again: it is confirmed now, and wins over older edits made elsewhere.");
  p.Option("db", "PATH", "the client store", true)
      .Option("note", "TEXT", "a free-text note (up to 16 KiB of UTF-8)")
      .Positional("COUNTRY", "a country in this device's scope")
      .Positional("INDICATOR", "an indicator id of the survey schema (e.g. c11_child_helpline)")
      .Positional("ANSWER", "yes, partial, no, unknown, or clear to unset");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  const auto& pos = args.positional();
  AnswerEdit edit{pos[0], pos[1], std::nullopt};
  if (pos[2] == "clear") {
    if (args.Has("note")) return UsageError("--note cannot be given with clear: a cleared answer has no note");
  } else {
    auto a = ParseAnswer(pos[2]);
    if (!a) {
      return Fail(Status::InvalidArgument("answer \"" + OneLine(pos[2], 20) +
                                          "\" is not one of yes, partial, no, unknown, clear"));
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
  std::cout << edit.country << " " << edit.indicator << ": " << (edit.value ? AnswerName(edit.value->answer) : "cleared")
            << (same ? " (unchanged; confirmed)" : "") << "\n";
  return cli::kExitOk;
}

int ImportCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client import --db PATH FILE.csv [--dry-run]",
                "Records answers from a CSV file (RFC 4180, UTF-8 with or without BOM, LF or CRLF) with the\n"
                "header country,indicator,answer,note, in any order. A column the file does not have is left as it\n"
                "is: without a note column every note stays; without an answer column only notes change (each\n"
                "row then needs an answer already recorded). An empty answer cell clears the answer (and its\n"
                "note); an empty note cell clears the note. The whole file is checked first: any bad row is\n"
                "reported as FILE:LINE: column: problem and nothing is recorded. Otherwise every row is applied\n"
                "in one transaction, and one line says how many answers and notes changed and how many notes\n"
                "were cleared.");
  p.Option("db", "PATH", "the client store", true)
      .Flag("dry-run", "print each change (answer old -> new; note old -> new) and the summary; write nothing")
      .Positional("FILE.csv", "the answers to record");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  const std::string file = args.positional()[0];
  const bool dry_run = args.Has("dry-run");
  auto opened = OpenStore(args);
  if (!opened.ok()) return Fail(opened.status());
  ClientStore& store = *opened.value();
  auto text = ReadFile(file, limits::kImportFileBytes);
  if (!text.ok()) return Fail(text.status());
  auto records = ParseCsv(*text, file);
  if (!records.ok()) return Fail(records.status());
  if (records->empty()) {
    return Fail(Status::InvalidArgument(file + ": empty file (expected the header country,indicator,answer,note)"));
  }

  const CsvRecord& header = records->front();
  const std::string header_at = file + ":" + std::to_string(header.line) + ": header: ";
  std::map<std::string, std::size_t> column;
  for (std::size_t i = 0; i < header.fields.size(); ++i) {
    const std::string& name = header.fields[i];
    if (name != "country" && name != "indicator" && name != "answer" && name != "note") {
      return Fail(Status::InvalidArgument(header_at + "unknown column \"" + OneLine(name, 40) +
                                          "\" (expected country,indicator,answer,note)"));
    }
    if (!column.emplace(name, i).second) return Fail(Status::InvalidArgument(header_at + "column \"" + name + "\" appears twice"));
  }
  for (const char* required : {"country", "indicator"}) {
    if (!column.count(required)) {
      return Fail(Status::InvalidArgument(header_at + "missing column \"" + required +
                                          "\" (expected country,indicator,answer,note)"));
    }
  }
  const bool has_answer = column.count("answer") > 0;
  const bool has_note = column.count("note") > 0;
  if (!has_answer && !has_note) {
    return Fail(Status::InvalidArgument(header_at + "missing column \"answer\" (or \"note\"): nothing to import " +
                                        "(expected country,indicator,answer,note)"));
  }

  // What is recorded now: a row keeps whatever its file has no column for.
  auto current_rows = store.Answers();
  if (!current_rows.ok()) return Fail(current_rows.status());
  std::map<std::pair<std::string, std::string>, AnswerValue> current;
  for (auto& a : *current_rows) current.emplace(std::make_pair(a.country, a.indicator), std::move(a.value));

  const bool progress = records->size() > kProgressRows && ::isatty(2);
  if (progress) std::cerr << kProgram << ": checking " << records->size() - 1 << " rows of " << file << "...\n";
  std::vector<std::string> errors;
  struct Change {
    AnswerEdit edit;
    std::optional<AnswerValue> before;
  };
  std::vector<Change> changes;
  std::size_t rows = 0;
  std::map<std::pair<std::string, std::string>, std::size_t> first_line;
  for (std::size_t i = 1; i < records->size(); ++i) {
    const CsvRecord& r = (*records)[i];
    const std::string at = file + ":" + std::to_string(r.line) + ": ";
    if (r.fields.size() != header.fields.size()) {
      errors.push_back(at + "row: has " + std::to_string(r.fields.size()) + " fields, the header has " +
                       std::to_string(header.fields.size()));
      continue;
    }
    AnswerEdit e{r.fields[column["country"]], r.fields[column["indicator"]], std::nullopt};
    const std::string answer = has_answer ? r.fields[column["answer"]] : std::string();
    const std::string note = has_note ? RestoreFormula(r.fields[column["note"]]) : std::string();
    const std::size_t before_errors = errors.size();
    if (Status s = store.CheckWritable(e.country); !s.ok()) {
      errors.push_back(at + "country: " + (e.country.empty() ? std::string("is empty") : s.message()));
    }
    if (!store.schema().FindIndicator(e.indicator)) {
      errors.push_back(at + "indicator: " + (e.indicator.empty() ? std::string("is empty")
                                                                  : "unknown indicator \"" + OneLine(e.indicator, 80) +
                                                                        "\" (not in survey schema v" +
                                                                        std::to_string(store.schema().version()) + ")"));
    }
    const auto now = current.find({e.country, e.indicator});
    const std::optional<AnswerValue> before =
        now == current.end() ? std::nullopt : std::optional<AnswerValue>(now->second);
    if (!has_answer) {
      // Notes only: the recorded answer stays.
      if (before) {
        e.value = AnswerValue{before->answer, note};
      } else if (errors.size() == before_errors) {
        errors.push_back(at + "answer: " + e.country + " " + e.indicator +
                         " has no answer yet, so its note cannot be set (add an answer column)");
      }
    } else if (answer.empty()) {
      if (!note.empty()) errors.push_back(at + "note: a cleared answer (empty answer cell) cannot have a note");
    } else if (auto a = ParseAnswer(answer)) {
      e.value = AnswerValue{*a, has_note ? note : (before ? before->note : std::string())};
    } else if (const auto nul = answer.find('\0'); nul != std::string::npos) {
      // Invisible in a message, so named: spreadsheets and scripts sometimes leave one behind.
      errors.push_back(at + "answer: contains a NUL byte after \"" + OneLine(answer.substr(0, nul), 20) +
                       "\"; a NUL byte is not allowed");
    } else {
      errors.push_back(at + "answer: \"" + OneLine(answer, 20) +
                       "\" is not one of yes, partial, no, unknown (leave it empty to clear)");
    }
    if (Status s = CheckText(note, "note", limits::kNoteBytes); !s.ok()) {
      errors.push_back(at + "note: " + WithoutSubject(s, "note"));
    }
    if (errors.size() == before_errors) {
      auto [it, fresh] = first_line.emplace(std::make_pair(e.country, e.indicator), r.line);
      if (!fresh) {
        errors.push_back(at + "indicator: " + e.country + " " + e.indicator + " was already given on line " +
                         std::to_string(it->second));
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
      std::cerr << kProgram << ": ... and " << errors.size() - kMaxReportedErrors << " more\n";
    }
    return Fail(Status::InvalidArgument(file + ": " + std::to_string(errors.size()) + " bad row" +
                                        (errors.size() == 1 ? "" : "s") + "; nothing imported"));
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
  const auto count = [](std::size_t n, const char* what) {
    return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
  };
  const std::string summary = "imported " + count(rows, "row") + ": " + count(answers_changed, "answer") + " changed, " +
                              count(notes_changed, "note") + " changed" +
                              (notes_cleared ? " (" + std::to_string(notes_cleared) + " cleared)" : std::string()) + ", " +
                              std::to_string(rows - changes.size()) + " unchanged";
  if (dry_run) {
    for (const Change& c : changes) {
      const std::string field = AnswerField(c.edit.country, c.edit.indicator);
      std::cout << c.edit.country << " " << c.edit.indicator << ": answer "
                << DescribeChange(field, Encoded(c.before), Encoded(c.edit.value)) << "\n";
    }
    std::cout << "dry run: " << summary << "; nothing written\n";
    return cli::kExitOk;
  }
  if (progress) std::cerr << kProgram << ": recording " << changes.size() << " changed rows...\n";
  std::vector<AnswerEdit> edits;
  edits.reserve(changes.size());
  for (Change& c : changes) edits.push_back(std::move(c.edit));
  auto applied = store.ApplyAnswers(edits);
  if (!applied.ok()) return Fail(applied.status().With(file + ": nothing imported"));
  std::cout << summary << "\n";
  return cli::kExitOk;
}

int ExportCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client export --db PATH [--format csv|json] [--out FILE [--force]] [--country CODE]",
                "Writes the current answers as CSV (country,indicator,answer,note; the format import reads,\n"
                "sorted by country then questionnaire order), or everything as JSON (device, countries,\n"
                "answers with their versions, good-practice entries). --out writes FILE atomically; an existing\n"
                "FILE is replaced only with --force, and never the store itself. In CSV, a note that starts\n"
                "with = + - @ or a tab is prefixed with ' so a spreadsheet does not run it as a formula;\n"
                "import removes that quote again, so a round trip changes nothing.");
  p.Option("db", "PATH", "the client store", true)
      .Option("format", "FORMAT", "csv (default) or json")
      .Option("out", "FILE", "write here instead of standard output")
      .Flag("force", "replace FILE if it exists")
      .Option("country", "CODE", "only this country");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  const std::string format = args.GetOr("format", "csv");
  if (format != "csv" && format != "json") return UsageError("--format must be csv or json, got \"" + format + "\"");
  const auto country = args.Get("country");
  if (country && !IsValidCountryCode(*country)) {
    return Fail(Status::InvalidArgument("\"" + *country + "\" is not a country code (2 to 8 capital letters and digits)"));
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

  std::string out;
  if (format == "csv") {
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
    std::cerr << kProgram << ": wrote " << answers->size() << " answers to " << *path << "\n";
  } else {
    std::cout << out;
    std::cout.flush();
    if (!std::cout) return Fail(Status::IOError("cannot write to standard output"));
  }
  return cli::kExitOk;
}

}  // namespace mnr::client
