// mnr-client template and indicators: the questionnaire as a spreadsheet to fill in, and as a list.
#include <iostream>

#include "client/answer_sheet.h"
#include "client/cmd_common.h"
#include "client/commands.h"
#include "mnr/file_util.h"
#include "mnr/i18n.h"
#include "mnr/xlsx.h"

namespace mnr::client {

int TemplateCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client template --db PATH [--format csv|xlsx] [--lang en|fr] [--out FILE [--force]] [--country CODE]",
                tr("Writes every indicator of the store's countries (or of --country) as a sheet to fill in: country,\n"
                   "indicator, domain, capability, the indicator's text, the current answer and note (empty where\n"
                   "there is none yet; an answer carried from the previous round until it is confirmed, which\n"
                   "importing the file does), in questionnaire order and in the chosen language. Fill in the answer and\n"
                   "note columns and give the file to `mnr-client import`, which ignores the label columns. An\n"
                   "empty answer cell clears the answer on import, so make a fresh template after a sync. CSV is\n"
                   "written for Excel: a UTF-8 byte-order mark, CRLF, and ';' between fields with --lang fr. --out\n"
                   "writes FILE atomically (needed for xlsx); an existing FILE is replaced only with --force."));
  WithRound(p.Option("db", "PATH", "the client store", true))
      .Option("format", "FORMAT", "csv (default) or xlsx")
      .Option("lang", "LANG", "en (default) or fr")
      .Option("out", "FILE", "write here instead of standard output")
      .Flag("force", "replace FILE if it exists")
      .Option("country", "CODE", "only this country");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  const std::string format = args.GetOr("format", "csv");
  if (format != "csv" && format != "xlsx") return UsageError(tr("--format must be csv or xlsx, got \"{1}\"", format));
  const std::string lang = args.GetOr("lang", "en");
  if (!IsSupportedLanguage(lang)) return UsageError(tr("--lang must be en or fr, got \"{1}\"", lang));
  if (format == "xlsx" && !args.Get("out")) return UsageError(tr("--format xlsx needs --out FILE (a workbook is not text)"));
  const auto country = args.Get("country");
  const OutputRules rules{args.Has("force"), true, {*args.Get("db")}};
  if (auto path = args.Get("out")) {
    if (Status s = CheckOutputFile(*path, rules); !s.ok()) return Fail(s);
  }
  auto opened = OpenStore(args);
  if (!opened.ok()) return Fail(opened.status());
  ClientStore& store = *opened.value();
  if (country) {
    if (Status s = store.CheckWritable(*country); !s.ok()) return Fail(s);
  }
  auto sheet = AnswerSheet(store, {lang, true, country});
  if (!sheet.ok()) return Fail(sheet.status());
  if (sheet->rows.empty()) {
    return Fail(Status::InvalidArgument(tr("this store has no countries to make a template for (give --country CODE)")));
  }
  const auto path = args.Get("out");
  if (format == "xlsx") {
    if (Status s = xlsx::WriteWorkbook(*path, {*sheet}); !s.ok()) return Fail(s);
  } else if (path) {
    if (Status s = WriteOutputFile(*path, SheetCsv(*sheet, true, lang), rules); !s.ok()) return Fail(s);
  } else {
    std::cout << SheetCsv(*sheet, true, lang);
    std::cout.flush();
    if (!std::cout) return Fail(Status::IOError(tr("cannot write to standard output")));
    return cli::kExitOk;
  }
  std::cerr << kProgram << ": " << tr("wrote {1} indicators to fill in to {2}", sheet->rows.size(), *path) << "\n";
  return cli::kExitOk;
}

int IndicatorsCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client indicators [--lang en|fr]",
                tr("Lists the indicators of the survey schema in questionnaire order, one a line, with tabs\n"
                   "between the columns: id, domain, capability and the indicator's text (a domain and a capability\n"
                   "as their number and name). These ids are what the indicator column of an import names."));
  p.Option("lang", "LANG", "en (default) or fr");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  const std::string lang = args.GetOr("lang", "en");
  if (!IsSupportedLanguage(lang)) return UsageError(tr("--lang must be en or fr, got \"{1}\"", lang));
  auto schema = SurveySchema::Active();
  if (!schema.ok()) return Fail(schema.status());
  const bool fr = lang == "fr";
  std::cout << "id\t" << (fr ? "domaine\tcapacité\ttexte" : "domain\tcapability\ttext") << "\n";
  for (const Indicator& i : (*schema)->indicators()) {
    const Capability* c = (*schema)->FindCapability(i.capability);
    const Domain* d = c ? (*schema)->FindDomain(c->domain) : nullptr;
    std::cout << i.id << "\t" << (d ? std::to_string(d->id) + " " + d->label.In(lang) : std::string()) << "\t"
              << (c ? std::to_string(c->id) + " " + c->label.In(lang) : std::string()) << "\t" << i.label.In(lang)
              << "\n";
  }
  std::cout.flush();
  if (!std::cout) return Fail(Status::IOError(tr("cannot write to standard output")));
  return cli::kExitOk;
}

}  // namespace mnr::client
