// `mnr-client conflicts ...`: a coordinator's (or auditor's) view of the server's conflicts from their
// own machine, through a store bound to their credential. The server checks the role on every call.
#include <iostream>

#include "client/client_store.h"
#include "client/commands.h"
#include "client/server_link.h"
#include "mnr/cli.h"
#include "mnr/field.h"
#include "mnr/hlc.h"

namespace mnr::client {
namespace {

constexpr const char* kProgram = "mnr-client conflicts";

std::string Describe(const std::string& field, const nlohmann::json& value) {
  if (value.is_null()) return "(cleared)";
  const std::string v = value.get<std::string>();
  if (field.rfind("answer/", 0) == 0) {
    auto a = DecodeAnswer(v);
    if (a.ok()) return std::string(AnswerName(a->answer)) + (a->note.empty() ? "" : " \"" + a->note + "\"");
  }
  return "\"" + v + "\"";
}

int Remote(const cli::Args& a, const std::string& operation, const nlohmann::json& args, nlohmann::json& out) {
  auto store = ClientStore::Open(*a.Get("db"));
  if (!store.ok()) return cli::Fail(kProgram, store.status());
  auto link = LinkOptionsFor(**store, a.Get("server"), std::chrono::seconds(30));
  if (!link.ok()) return cli::Fail(kProgram, link.status());
  auto result = CallServer(**store, *link, operation, args);
  if (!result.ok()) return cli::Fail(kProgram, result.status());
  out = std::move(result).value();
  return cli::kExitOk;
}

void PrintConflict(const nlohmann::json& c) {
  std::cout << "conflict " << c["id"].get<std::int64_t>() << " (" << c["status"].get<std::string>() << ") on "
            << c["field"].get<std::string>() << "\n";
  int i = 0;
  for (const auto& cand : c["candidates"]) {
    std::cout << "  candidate " << ++i << ": " << Describe(c["field"], cand["value"]) << "\n    by "
              << cand["author"].get<std::string>() << " at " << HybridClock::Format(cand["hlc"].get<HlcTime>())
              << (cand["version"] == c["winner_version"] ? "  <- current value" : "") << "\n";
  }
  if (c["status"] == "resolved") {
    std::cout << "  resolved by " << c.value("resolved_by", "") << ": " << c.value("reason", "") << "\n";
  }
}

}  // namespace

int ConflictsCommand(const std::vector<std::string>& argv) {
  const std::string action = argv.empty() ? "" : argv[0];
  const std::vector<std::string> rest(argv.begin() + (argv.empty() ? 0 : 1), argv.end());
  if (action == "list") {
    cli::Parser p("mnr-client conflicts list --db PATH [--all] [--server HOST:PORT]",
                  "Lists the server's open conflicts (coordinator or auditor credential).");
    p.Option("db", "PATH", "store bound to a coordinator or auditor credential", true)
        .Option("server", "HOST:PORT", "server address (default: the credential's)")
        .Flag("all", "include resolved conflicts");
    cli::Args a;
    if (auto rc = cli::ParseOrExit(p, rest, kProgram, a)) return *rc;
    nlohmann::json out;
    if (int rc = Remote(a, "conflicts.list", {{"all", a.Has("all")}}, out)) return rc;
    if (out.empty()) std::cout << (a.Has("all") ? "no conflicts\n" : "no open conflicts\n");
    for (const auto& c : out) {
      std::string values;
      for (const auto& cand : c["candidates"]) values += (values.empty() ? "" : " | ") + Describe(c["field"], cand["value"]);
      std::cout << c["id"].get<std::int64_t>() << "  " << c["status"].get<std::string>() << "  "
                << c["field"].get<std::string>() << "  " << values << "\n";
    }
    return cli::kExitOk;
  }
  if (action == "show") {
    cli::Parser p("mnr-client conflicts show --db PATH ID [--server HOST:PORT]", "Shows every candidate of a conflict.");
    p.Option("db", "PATH", "store bound to a coordinator or auditor credential", true)
        .Option("server", "HOST:PORT", "server address (default: the credential's)")
        .Positional("ID", "conflict number (see conflicts list)");
    cli::Args a;
    if (auto rc = cli::ParseOrExit(p, rest, kProgram, a)) return *rc;
    nlohmann::json out;
    std::int64_t id = 0;
    try {
      id = std::stoll(a.positional()[0]);
    } catch (const std::exception&) {
      std::cerr << kProgram << ": ID must be a number\n";
      return cli::kExitUsage;
    }
    if (int rc = Remote(a, "conflicts.show", {{"id", id}}, out)) return rc;
    PrintConflict(out);
    return cli::kExitOk;
  }
  if (action == "resolve") {
    cli::Parser p("mnr-client conflicts resolve --db PATH ID --value VALUE [--note TEXT] --reason TEXT [--server HOST:PORT]",
                  "Resolves a conflict on the server as the credential's holder; the choice syncs back to the devices.\n"
                  "For an answer VALUE is yes, partial, no, unknown or clear; for a good-practice field, the text.");
    p.Option("db", "PATH", "store bound to a coordinator credential", true)
        .Option("server", "HOST:PORT", "server address (default: the credential's)")
        .Positional("ID", "conflict number (see conflicts list)")
        .Option("value", "VALUE", "the chosen value", true)
        .Option("note", "TEXT", "the answer's note")
        .Option("reason", "TEXT", "why (kept with the resolution)", true);
    cli::Args a;
    if (auto rc = cli::ParseOrExit(p, rest, kProgram, a)) return *rc;
    std::int64_t id = 0;
    try {
      id = std::stoll(a.positional()[0]);
    } catch (const std::exception&) {
      std::cerr << kProgram << ": ID must be a number\n";
      return cli::kExitUsage;
    }
    const std::string raw = *a.Get("value");
    nlohmann::json value = raw;
    if (raw == "clear") {
      value = nullptr;
    } else if (auto answer = ParseAnswer(raw)) {
      value = EncodeAnswer(AnswerValue{*answer, a.GetOr("note", "")});
    }
    nlohmann::json out;
    if (int rc = Remote(a, "conflicts.resolve", {{"id", id}, {"value", value}, {"reason", *a.Get("reason")}}, out)) return rc;
    PrintConflict(out);
    return cli::kExitOk;
  }
  if (action == "--help" || action == "-h") {
    std::cout << "usage: mnr-client conflicts list|show|resolve --db PATH ...\n\n"
                 "The server's conflicts, seen and resolved from a coordinator's machine (an auditor may list and\n"
                 "show). Each action has its own --help.\n";
    return cli::kExitOk;
  }
  std::cerr << kProgram << ": " << (action.empty() ? "needs an action" : "unknown action \"" + action + "\"")
            << ": list, show or resolve (see --help of each)\n";
  return cli::kExitUsage;
}

}  // namespace mnr::client
