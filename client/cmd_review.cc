// The review loop from the client (mnr/review.h): a field office submits its survey and replies to
// the coordinators' queries, offline, and both travel with the next sync or USB bundle; coordinators
// and auditors list, show, approve and return countries and see the overview remotely.
#include <ctime>
#include <iostream>

#include "client/client_store.h"
#include "client/cmd_common.h"
#include "client/commands.h"
#include "client/server_link.h"
#include "mnr/audit_format.h"
#include "mnr/cli.h"
#include "mnr/describe.h"
#include "mnr/field.h"
#include "mnr/i18n.h"
#include "mnr/review.h"

namespace mnr::client {
namespace {

std::string Shown(std::string_view s, std::size_t max = 80) { return TerminalText(s, max); }

// A server's multi-line text made safe for the terminal line by line (a note cannot drive it).
std::string SafeLines(std::string_view text) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    out += TerminalText(text.substr(start, nl - start), 0) + "\n";
    start = nl + 1;
  }
  return out;
}

std::string WhenHlc(HlcTime t) { return audit::FormatTime(static_cast<std::int64_t>(HybridClock::Millis(t) / 1000)); }

// "coordinator:Ada (cred-…)" -> "Ada"
std::string Person(std::string_view author) {
  if (author.rfind("coordinator:", 0) != 0) return std::string(author);
  std::string_view who = author.substr(12);
  if (auto open = who.rfind(" (cred-"); open != std::string_view::npos && who.back() == ')') who = who.substr(0, open);
  return std::string(who);
}

Result<std::string> OneCountry(const ClientStore& store, const std::optional<std::string>& given) {
  const auto& countries = store.identity().countries;
  if (given) return *given;
  if (countries.size() == 1) return countries[0];
  std::string all;
  for (const auto& c : countries) all += (all.empty() ? "" : ", ") + c;
  return Status::InvalidArgument("this store holds several countries (" + all + "); name one with --country");
}

int RemoteCall(const char* program, const cli::Args& a, const std::string& operation, const nlohmann::json& args,
               nlohmann::json& out) {
  auto store = ClientStore::Open(*a.Get("db"));
  if (!store.ok()) return cli::Fail(program, store.status());
  auto link = LinkOptionsFor(**store, a.Get("server"), std::chrono::seconds(30));
  if (!link.ok()) return cli::Fail(program, link.status());
  auto result = CallServer(**store, *link, operation, args);
  if (!result.ok()) {
    // The server's "bad request" (an unknown country, a state that does not allow it) is the caller's to fix.
    if (result.status().code() == Status::Code::kRefused && result.status().message().find("bad request") != std::string::npos) {
      std::cerr << program << ": " << result.status().message() << "\n";
      return cli::kExitUsage;
    }
    return cli::Fail(program, result.status());
  }
  out = std::move(result).value();
  return cli::kExitOk;
}

}  // namespace

void PrintReviewStatus(ClientStore& store, std::ostream& os) {
  auto book = store.Reviews();
  if (!book.ok()) {
    os << StatusLabel(tr("review:")) << tr("unreadable ({1})", book.status().message()) << "\n";
    return;
  }
  std::vector<std::string> countries = store.identity().countries;
  for (const auto& [code, r] : book->countries()) {
    if (std::find(countries.begin(), countries.end(), code) == countries.end()) countries.push_back(code);
  }
  for (const auto& code : countries) {
    const CountryReview* r = book->Find(code);
    const CountryReview empty;
    const CountryReview& v = r ? *r : empty;
    // The state names (draft, submitted, approved, returned) are the protocol's words, shown as is.
    os << StatusLabel(tr("review:")) << code << " " << ReviewStateName(v.state());
    if (v.edited_after_approval()) os << " " << tr("(edited after approval; the coordinator reviews it again)");
    if (v.state() == ReviewState::kReturned && v.decision) {
      os << " " << tr("by {1}: {2}", Shown(Person(v.decided_by), 60), Shown(v.decision->comment));
    } else if (v.state() == ReviewState::kApproved && v.decision) {
      os << " " << tr("by {1} on {2}", Shown(Person(v.decided_by), 60), WhenHlc(v.decided_at));
    } else if (v.state() == ReviewState::kDraft) {
      os << " " << tr("(hand it in with `mnr-client submit`)");
    }
    os << "\n";
    for (const auto& [id, q] : v.queries) {
      if (!q.open()) continue;
      os << "  "
         << (q.question.indicator.empty()
                 ? tr("query {1} from {2}: {3}", id, Shown(Person(q.asked_by), 60), Shown(q.question.text))
                 : tr("query {1} on {2} from {3}: {4}", id, q.question.indicator, Shown(Person(q.asked_by), 60),
                      Shown(q.question.text)))
         << "\n"
         << "    " << tr("answer with: mnr-client reply --db PATH {1} --text \"...\"", id) << "\n";
    }
  }
}

int SubmitCommand(const std::vector<std::string>& argv) {
  constexpr const char* kProgram = "mnr-client submit";
  cli::Parser p("mnr-client submit --db PATH [--country CODE] [--allow-incomplete]",
                "Hands the survey of a country in for review. Lists the indicators still unanswered and refuses\n"
                "unless every one is answered (`unknown` counts as an answer) or --allow-incomplete is given.\n"
                "The submission travels with the next `sync` or `bundle`; a coordinator then approves it or\n"
                "returns it with queries (see `mnr-client status`).");
  p.Option("db", "PATH", "the client store", true)
      .Option("country", "CODE", "the country (needed when the store holds several)")
      .Flag("allow-incomplete", "submit even though some indicators are unanswered");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  auto store = ClientStore::Open(*a.Get("db"));
  if (!store.ok()) return cli::Fail(kProgram, store.status());
  auto country = OneCountry(**store, a.Get("country"));
  if (!country.ok()) return cli::Fail(kProgram, country.status());
  if (Status s = (*store)->CheckWritable(*country); !s.ok()) return cli::Fail(kProgram, s);
  auto missing = (*store)->Unanswered(*country);
  if (!missing.ok()) return cli::Fail(kProgram, missing.status());
  const std::size_t total = (*store)->schema().indicators().size();
  if (!missing->empty()) {
    std::cout << *country << ": " << missing->size() << " of " << total << " indicators unanswered:\n";
    for (const auto& id : *missing) {
      const Indicator* ind = (*store)->schema().FindIndicator(id);
      std::cout << "  " << id << (ind ? "  " + ind->label.en : "") << "\n";
    }
    if (!a.Has("allow-incomplete")) {
      std::cerr << kProgram << ": not submitted: answer them (`unknown` is an answer) or pass --allow-incomplete\n";
      return cli::kExitFailure;
    }
  }
  if (Status s = (*store)->Submit(*country); !s.ok()) return cli::Fail(kProgram, s);
  std::cout << *country << " submitted (" << total - missing->size() << " of " << total
            << " answered); it reaches the coordinators with the next `sync` or `bundle`\n";
  return cli::kExitOk;
}

int ReplyCommand(const std::vector<std::string>& argv) {
  constexpr const char* kProgram = "mnr-client reply";
  cli::Parser p("mnr-client reply --db PATH QUERY_ID --text TEXT",
                "Answers a coordinator's query (the ids, like q12, are listed by `mnr-client status`). The reply\n"
                "travels with the next `sync` or `bundle`; fix the answers it is about, then `submit` again.");
  p.Option("db", "PATH", "the client store", true)
      .Positional("QUERY_ID", "the query, e.g. q12")
      .Option("text", "TEXT", "the reply", true);
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  auto store = ClientStore::Open(*a.Get("db"));
  if (!store.ok()) return cli::Fail(kProgram, store.status());
  const std::string id = a.positional()[0];
  if (Status s = (*store)->Reply(id, *a.Get("text")); !s.ok()) return cli::Fail(kProgram, s);
  std::cout << "reply to " << id << " recorded; it reaches the coordinators with the next `sync` or `bundle`\n";
  return cli::kExitOk;
}

int ReviewCommand(const std::vector<std::string>& argv) {
  constexpr const char* kProgram = "mnr-client review";
  const char* kUsage =
      "usage: mnr-client review list --db PATH [--format text|json] [--server HOST:PORT]\n"
      "       mnr-client review show --db PATH COUNTRY [--server HOST:PORT]\n"
      "       mnr-client review approve --db PATH COUNTRY [--comment TEXT] [--server HOST:PORT]\n"
      "       mnr-client review return --db PATH COUNTRY --comment TEXT [--indicator ID[=TEXT]]... [--server HOST:PORT]\n\n"
      "A coordinator's review of the countries' surveys, on the server, from a store bound to a coordinator\n"
      "credential (auditors may list and show). Returning a survey sends the office a query on each\n"
      "--indicator (or one on the whole survey); the office replies with `mnr-client reply` and submits again.\n";
  if (argv.empty()) {
    std::cerr << kProgram << ": needs an action: list, show, approve or return (see --help)\n";
    return cli::kExitUsage;
  }
  if (argv[0] == "--help" || argv[0] == "-h") {
    std::cout << kUsage;
    return cli::kExitOk;
  }
  const std::string action = argv[0];
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (action == "list") {
    cli::Parser p("mnr-client review list --db PATH [--format text|json] [--ids] [--server HOST:PORT]",
                  "Every registered country with its review state, answers, open conflicts and queries (the same\n"
                  "table as `mnr-client status --all`).");
    p.Option("db", "PATH", "a store bound to a coordinator or auditor credential", true)
        .Option("format", "text|json", "output format (default text)")
        .Flag("ids", "show device and credential ids next to their names")
        .Option("server", "HOST:PORT", "the server (default: the credential's)");
    cli::Args a;
    if (auto rc = cli::ParseOrExit(p, rest, kProgram, a)) return *rc;
    return StatusAllCommand(a);
  }
  if (action == "show") {
    cli::Parser p("mnr-client review show --db PATH COUNTRY [--server HOST:PORT]",
                  "One country's review: state, submission, decision, queries with replies, what is unanswered.");
    p.Option("db", "PATH", "a store bound to a coordinator or auditor credential", true)
        .Positional("COUNTRY", "the country code")
        .Option("server", "HOST:PORT", "the server (default: the credential's)");
    cli::Args a;
    if (auto rc = cli::ParseOrExit(p, rest, kProgram, a)) return *rc;
    nlohmann::json out;
    if (int rc = RemoteCall(kProgram, a, "review.show", {{"country", a.positional()[0]}}, out)) return rc;
    std::cout << SafeLines(out.value("text", ""));
    return cli::kExitOk;
  }
  if (action == "approve" || action == "return") {
    const bool approve = action == "approve";
    cli::Parser p(approve ? "mnr-client review approve --db PATH COUNTRY [--comment TEXT] [--server HOST:PORT]"
                          : "mnr-client review return --db PATH COUNTRY --comment TEXT [--indicator ID[=TEXT]]... [--server HOST:PORT]",
                  approve ? "Approves a submitted survey; the office sees it on its next sync."
                          : "Returns a survey with a query on each --indicator (or one on the whole survey); each query\n"
                            "says what its --indicator gives after '=', or else the --comment.");
    p.Option("db", "PATH", "a store bound to a coordinator credential", true)
        .Positional("COUNTRY", "the country code")
        .Option("comment", "TEXT", approve ? "a note for the office" : "what the office should check or fix", !approve)
        .Option("server", "HOST:PORT", "the server (default: the credential's)");
    if (!approve) {
      p.Option("indicator", "ID[=TEXT]", "an indicator to query, with a text of its own after '=' (else the --comment);\n"
               "repeatable", false, true);
    }
    cli::Args a;
    if (auto rc = cli::ParseOrExit(p, rest, kProgram, a)) return *rc;
    nlohmann::json args = {{"country", a.positional()[0]}, {"comment", a.GetOr("comment", "")}};
    if (!approve) {
      args["indicators"] = nlohmann::json::array();
      args["comments"] = nlohmann::json::object();
      for (const auto& arg : a.GetAll("indicator")) {
        const QueryQuestion q = IndicatorQueryArg(arg);
        args["indicators"].push_back(q.indicator);
        if (!q.text.empty()) args["comments"][q.indicator] = q.text;
      }
    }
    nlohmann::json out;
    if (int rc = RemoteCall(kProgram, a, approve ? "review.approve" : "review.return", args, out)) return rc;
    std::cout << a.positional()[0] << (approve ? " approved" : " returned");
    if (out.contains("new_queries") && !out["new_queries"].empty()) {
      std::cout << " with " << (out["new_queries"].size() == 1 ? "query " : "queries ");
      bool first = true;
      for (const auto& id : out["new_queries"]) {
        std::cout << (first ? "" : ", ") << id.get<std::string>();
        first = false;
      }
    }
    std::cout << "; the office sees it on its next sync or return bundle\n";
    return cli::kExitOk;
  }
  std::cerr << kProgram << ": unknown action \"" << TerminalText(action, 40) << "\" (list, show, approve or return)\n";
  return cli::kExitUsage;
}

int StatusAllCommand(const cli::Args& a) {
  constexpr const char* kProgram = "mnr-client status";
  const std::string format = a.GetOr("format", "text");
  if (format != "text" && format != "json") {
    std::cerr << kProgram << ": --format must be text or json\n";
    return cli::kExitUsage;
  }
  nlohmann::json out;
  nlohmann::json args = {{"ids", a.Has("ids")}};
  if (int rc = RemoteCall(kProgram, a, "status.overview", args, out)) return rc;
  if (format == "json") {
    out.erase("text");
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << SafeLines(out.value("text", ""));
  }
  return cli::kExitOk;
}

}  // namespace mnr::client
