// `mnr-client conflicts ...`: the server's conflicts seen from a coordinator's, auditor's or field
// office's own machine, through a store bound to their credential (a field office sees its own
// countries and may not resolve). The server checks the role on every call.
#include <iostream>

#include "client/client_store.h"
#include "client/commands.h"
#include "client/server_link.h"
#include "mnr/cli.h"
#include "mnr/describe.h"
#include "mnr/field.h"
#include "mnr/hlc.h"
#include "mnr/i18n.h"

namespace mnr::client {
namespace {

constexpr const char* kConflictsProgram = "mnr-client conflicts";

std::optional<std::string> Value(const nlohmann::json& value) {
  if (!value.is_string()) return std::nullopt;
  return value.get<std::string>();
}

std::string JsonText(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? TerminalText(j[key].get<std::string>(), 0) : std::string();
}

// A remote resolver is recorded as "<name> (<credential id>)": without --ids, the name.
std::string Resolver(const std::string& who, bool ids) {
  const auto open = who.rfind(" (cred-");
  return ids || open == std::string::npos || who.back() != ')' ? who : who.substr(0, open);
}

int Remote(const cli::Args& a, const std::string& operation, const nlohmann::json& args, nlohmann::json& out) {
  auto store = ClientStore::Open(*a.Get("db"));
  if (!store.ok()) return cli::Fail(kConflictsProgram, store.status());
  auto link = LinkOptionsFor(**store, a.Get("server"), std::chrono::seconds(30));
  if (!link.ok()) return cli::Fail(kConflictsProgram, link.status());
  auto result = CallServer(**store, *link, operation, args);
  if (!result.ok()) return cli::Fail(kConflictsProgram, result.status());
  out = std::move(result).value();
  return cli::kExitOk;
}

// Candidates numbered for `conflicts resolve --pick N`; devices and credentials by name unless `ids`.
void PrintConflict(const nlohmann::json& c, bool ids) {
  const std::string field = c["field"].get<std::string>();
  std::cout << tr("conflict {1} ({2}) on {3}", c["id"].get<std::int64_t>(), JsonText(c, "status"), TerminalText(field, 0)) << "\n";
  int i = 0;
  for (const auto& cand : c["candidates"]) {
    const std::string shown = DescribeValue(field, Value(cand["value"]));
    std::cout << "  " << tr("candidate {1}: {2}", ++i, shown)
              << (cand["version"] == c["winner_version"] ? "  " + tr("<- current value") : std::string()) << "\n";
    if (DescribeValue(field, Value(cand["value"]), 0) != shown) {
      std::cout << "    " << tr("in full: {1}", DescribeValue(field, Value(cand["value"]), 0)) << "\n";
    }
    // Servers before names sent ids only.
    const std::string author = JsonText(cand, "author_name").empty() ? JsonText(cand, "author") : JsonText(cand, "author_name");
    const std::string holder = JsonText(cand, "credential_name");
    const std::string at = HybridClock::Format(cand["hlc"].get<HlcTime>());
    std::cout << "    ";
    if (ids) {
      std::cout << tr("by {1} ({2}), credential {3} ({4}), version {5} at {6}", JsonText(cand, "author"), author,
                      JsonText(cand, "credential"), holder, JsonText(cand, "version"), at);
    } else {
      std::cout << tr("by {1} at {2}", author + (holder.empty() || holder == author ? "" : " (" + holder + ")"), at);
    }
    std::cout << "\n";
  }
  if (c["status"] == "resolved") {
    std::cout << "  " << tr("resolved by {1}: {2}", TerminalText(Resolver(c.value("resolved_by", ""), ids), 0), JsonText(c, "reason"))
              << "\n";
  }
}

}  // namespace

int ConflictsCommand(const std::vector<std::string>& argv) {
  const std::string action = argv.empty() ? "" : argv[0];
  const std::vector<std::string> rest(argv.begin() + (argv.empty() ? 0 : 1), argv.end());
  if (action == "list") {
    cli::Parser p("mnr-client conflicts list --db PATH [--all] [--server HOST:PORT]",
                  tr("Lists the server's open conflicts: number, status, field and the candidates' values (notes cut\n"
                     "to 40 characters). Coordinators and auditors see every country; a field office its own."));
    p.Option("db", "PATH", "store bound to a credential (a field office sees its own countries)", true)
        .Option("server", "HOST:PORT", "server address (default: the credential's)")
        .Flag("all", "include resolved conflicts");
    cli::Args a;
    if (auto rc = cli::ParseOrExit(p, rest, kConflictsProgram, a)) return *rc;
    nlohmann::json out;
    if (int rc = Remote(a, "conflicts.list", {{"all", a.Has("all")}}, out)) return rc;
    if (out.empty()) std::cout << (a.Has("all") ? tr("no conflicts") : tr("no open conflicts")) << "\n";
    for (const auto& c : out) {
      std::string values;
      const std::string field = c["field"].get<std::string>();
      for (const auto& cand : c["candidates"]) values += (values.empty() ? "" : " | ") + DescribeValue(field, Value(cand["value"]));
      std::cout << c["id"].get<std::int64_t>() << "  " << JsonText(c, "status") << "  " << TerminalText(field, 0) << "  " << values
                << "\n";
    }
    return cli::kExitOk;
  }
  if (action == "show") {
    cli::Parser p("mnr-client conflicts show --db PATH ID [--ids] [--server HOST:PORT]",
                  tr("Shows every candidate of a conflict, numbered for `conflicts resolve --pick N`: its answer and\n"
                     "note (cut to 40 characters, then in full on the next line; control characters escaped), and\n"
                     "the device and credential holder that made it, by name."));
    p.Option("db", "PATH", "store bound to a credential (a field office sees its own countries)", true)
        .Option("server", "HOST:PORT", "server address (default: the credential's)")
        .Positional("ID", "conflict number (see conflicts list)")
        .Flag("ids", "show device and credential ids and versions");
    cli::Args a;
    if (auto rc = cli::ParseOrExit(p, rest, kConflictsProgram, a)) return *rc;
    nlohmann::json out;
    std::int64_t id = 0;
    try {
      id = std::stoll(a.positional()[0]);
    } catch (const std::exception&) {
      std::cerr << kConflictsProgram << ": " << tr("ID must be a number") << "\n";
      return cli::kExitUsage;
    }
    if (int rc = Remote(a, "conflicts.show", {{"id", id}}, out)) return rc;
    PrintConflict(out, a.Has("ids"));
    return cli::kExitOk;
  }
  if (action == "resolve") {
    cli::Parser p("mnr-client conflicts resolve --db PATH ID (--pick N | --value VALUE [--note TEXT]) --reason TEXT "
                  "[--ids] [--server HOST:PORT]",
                  tr("Resolves a conflict on the server as the credential's holder; the choice syncs back to the devices.\n"
                     "--pick N keeps candidate N (as `conflicts show` numbers them) whole: its answer and its note.\n"
                     "--value sets a new value: for an answer yes, partial, no, unknown or clear; for a good-practice\n"
                     "field, the text. With --value and no --note an answer keeps the note of the current value (the\n"
                     "one marked \"<- current value\" by conflicts show); --note TEXT replaces it and --note '' removes\n"
                     "it. A resolution never drops a note otherwise."));
    p.Option("db", "PATH", "store bound to a coordinator credential", true)
        .Option("server", "HOST:PORT", "server address (default: the credential's)")
        .Positional("ID", "conflict number (see conflicts list)")
        .Option("pick", "N", "keep candidate N whole (answer and note)")
        .Option("value", "VALUE", "a new value (instead of --pick)")
        .Option("note", "TEXT", "the answer's note with --value ('' for none; default: the current value's note)")
        .Option("reason", "TEXT", "why (kept with the resolution)", true)
        .Flag("ids", "show device and credential ids and versions");
    cli::Args a;
    if (auto rc = cli::ParseOrExit(p, rest, kConflictsProgram, a)) return *rc;
    std::int64_t id = 0;
    try {
      id = std::stoll(a.positional()[0]);
    } catch (const std::exception&) {
      std::cerr << kConflictsProgram << ": " << tr("ID must be a number") << "\n";
      return cli::kExitUsage;
    }
    nlohmann::json call = {{"id", id}, {"reason", *a.Get("reason")}};
    if (auto pick = a.Get("pick")) {
      if (a.Has("value") || a.Has("note")) {
        std::cerr << kConflictsProgram << ": " << tr("--pick keeps the candidate whole: give no --value or --note with it") << "\n";
        return cli::kExitUsage;
      }
      std::int64_t n = 0;
      try {
        std::size_t used = 0;
        n = std::stoll(*pick, &used);
        if (used != pick->size() || n < 1) throw std::invalid_argument(*pick);
      } catch (const std::exception&) {
        std::cerr << kConflictsProgram << ": " << tr("--pick needs a candidate number (1, 2, ... as conflicts show numbers them)") << "\n";
        return cli::kExitUsage;
      }
      call["pick"] = n;
    } else if (auto raw = a.Get("value")) {
      // The server knows the field: it reads VALUE as an answer word or a good-practice value, and
      // without "note" keeps the current note.
      call["value"] = *raw == "clear" ? nlohmann::json(nullptr) : nlohmann::json(*raw);
      if (auto note = a.Get("note")) call["note"] = *note;
    } else {
      std::cerr << kConflictsProgram << ": " << tr("give --pick N (keep candidate N, see conflicts show) or --value VALUE") << "\n";
      return cli::kExitUsage;
    }
    nlohmann::json out;
    if (int rc = Remote(a, "conflicts.resolve", call, out)) return rc;
    PrintConflict(out, a.Has("ids"));
    return cli::kExitOk;
  }
  if (action == "--help" || action == "-h") {
    std::cout << tr("usage: {1}", "mnr-client conflicts list|show|resolve --db PATH ...") << "\n\n"
              << tr("The server's conflicts, seen and resolved from a coordinator's machine (an auditor may list and\n"
                    "show). Each action has its own --help.")
              << "\n";
    return cli::kExitOk;
  }
  std::cerr << kConflictsProgram << ": "
            << (action.empty() ? tr("needs an action: list, show or resolve (see --help of each)")
                               : tr("unknown action \"{1}\": list, show or resolve (see --help of each)", action))
            << "\n";
  return cli::kExitUsage;
}

}  // namespace mnr::client
