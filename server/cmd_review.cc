// `mnr-server review` and `mnr-server status`: the coordinator's review loop and overview on the
// server host (the same operations coordinators reach remotely through `mnr-client review|status`).
#include <iostream>
#include <unistd.h>

#include "mnr/cli.h"
#include "server/audit_log.h"
#include "server/cli_common.h"
#include "server/commands.h"
#include "server/review.h"

namespace mnr::server {
namespace {

// The reviewer's name: --by, else the operator's login, as conflicts resolve does.
std::string Reviewer(const cli::Args& a) {
  if (auto by = a.Get("by")) return *by;
  const std::string actor = OperatorActor();
  return actor.substr(actor.find(':') + 1);
}

Result<CountryOverview> FindRow(ServerStore& store, const std::string& country) {
  auto rows = Overview(store);
  if (!rows.ok()) return rows.status();
  for (auto& r : *rows) {
    if (r.country == country) return std::move(r);
  }
  return Status::InvalidArgument("country " + country + " is not in the register (see `mnr-server countries list`)");
}

// `status` and `review list`: the overview as a table with totals, or JSON.
int PrintOverview(cli::Parser& p, const std::vector<std::string>& argv) {
  p.Option("data", "DIR", "the server store directory", true)
      .Option("format", "text|json", "output format (default text)")
      .Flag("ids", "show device and credential ids next to their names");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  const std::string format = a.GetOr("format", "text");
  if (format != "text" && format != "json") return Usage("--format must be text or json");
  auto store = ServerStore::Open(*a.Get("data"));
  if (!store.ok()) return Failure(store.status());
  auto rows = Overview(**store);
  if (!rows.ok()) return Failure(rows.status());
  if (format == "json") {
    std::cout << OverviewToJson(*rows, true).dump(2) << "\n";
  } else {
    std::cout << OverviewText(*rows, a.Has("ids"));
  }
  return cli::kExitOk;
}

std::vector<QueryQuestion> IndicatorQueries(const cli::Args& a) {
  std::vector<QueryQuestion> queries;
  for (const auto& arg : a.GetAll("indicator")) queries.push_back(IndicatorQueryArg(arg));
  return queries;
}

}  // namespace

int ReviewCommand(const std::vector<std::string>& argv) {
  const char* kUsage =
      "usage: mnr-server review list --data DIR [--format text|json]\n"
      "       mnr-server review show --data DIR COUNTRY\n"
      "       mnr-server review approve --data DIR COUNTRY [--comment TEXT] [--by NAME]\n"
      "       mnr-server review return --data DIR COUNTRY --comment TEXT [--indicator ID[=TEXT]]... [--by NAME]\n\n"
      "The review of each country's survey: draft -> submitted (the office runs `mnr-client submit`) ->\n"
      "returned (with queries the office answers with `mnr-client reply`, then submits again) or approved.\n"
      "An office's edit after approval makes the survey submitted again. Every step is in the audit log.\n";
  if (argv.empty()) return Usage("review needs an action: list, show, approve or return (see --help)");
  if (argv[0] == "--help" || argv[0] == "-h") {
    std::cout << kUsage;
    return cli::kExitOk;
  }
  const std::string action = argv[0];
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (action == "list") {
    cli::Parser p("mnr-server review list --data DIR [--format text|json] [--ids]",
                  "Every registered country with its review state, answers given, open conflicts and queries\n"
                  "(the same table as `mnr-server status`).");
    return PrintOverview(p, rest);
  }
  if (action == "show") {
    cli::Parser p("mnr-server review show --data DIR COUNTRY",
                  "One country's review: state, submission, decision, queries with replies, what is unanswered.");
    p.Option("data", "DIR", "the server store directory", true).Positional("COUNTRY", "the country code");
    cli::Args a;
    if (auto rc = cli::ParseOrExit(p, rest, kProgram, a)) return *rc;
    auto store = ServerStore::Open(*a.Get("data"));
    if (!store.ok()) return Failure(store.status());
    auto row = FindRow(**store, a.positional()[0]);
    if (!row.ok()) return Failure(row.status());
    std::cout << ReviewText(*row);
    return cli::kExitOk;
  }
  if (action == "approve" || action == "return") {
    const bool approve = action == "approve";
    cli::Parser p(approve ? "mnr-server review approve --data DIR COUNTRY [--comment TEXT] [--by NAME]"
                          : "mnr-server review return --data DIR COUNTRY --comment TEXT [--indicator ID[=TEXT]]... [--by NAME]",
                  approve ? "Approves a submitted survey. The office sees the decision on its next sync or return bundle."
                          : "Returns a submitted or approved survey to its office with a query on each --indicator (or one\n"
                            "query on the whole survey), which the office sees on its next sync or return bundle. Each\n"
                            "query says what its --indicator gives after '=', or else the --comment.");
    p.Option("data", "DIR", "the server store directory", true)
        .Positional("COUNTRY", "the country code")
        .Option("comment", "TEXT", approve ? "a note for the office" : "what the office should check or fix", !approve)
        .Option("by", "NAME", "the reviewer's name (default: your login name)");
    if (!approve) {
      p.Option("indicator", "ID[=TEXT]", "an indicator to query, with a text of its own after '=' (else the --comment);\n"
               "repeatable", false, true);
    }
    cli::Args a;
    if (auto rc = cli::ParseOrExit(p, rest, kProgram, a)) return *rc;
    auto store = ServerStore::Open(*a.Get("data"));
    if (!store.ok()) return Failure(store.status());
    const std::string country = a.positional()[0];
    auto ids = approve ? Approve(**store, country, a.GetOr("comment", ""), Reviewer(a))
                       : Return(**store, country, a.GetOr("comment", ""), IndicatorQueries(a), Reviewer(a));
    if (!ids.ok()) return Failure(ids.status());
    std::cout << country << (approve ? " approved" : " returned");
    if (!ids->empty()) {
      std::cout << " with " << (ids->size() == 1 ? "query " : "queries ");
      for (std::size_t i = 0; i < ids->size(); ++i) std::cout << (i ? ", " : "") << (*ids)[i];
    }
    std::cout << "; the office sees it on its next sync or return bundle\n";
    return cli::kExitOk;
  }
  return Usage("unknown review action \"" + action + "\" (list, show, approve or return)");
}

int StatusCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server status --data DIR [--format text|json] [--ids]",
                "Per country: answers given out of the indicators, practice entries, review state, open conflicts\n"
                "and queries, and each device with its last sync; totals at the bottom.");
  return PrintOverview(p, argv);
}

}  // namespace mnr::server
