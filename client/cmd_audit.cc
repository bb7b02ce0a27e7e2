// `mnr-client audit log|export|proof`: an auditor's (or, for the log, a coordinator's) view of the server's
// audit trail from their own machine, through a store bound to their credential. The server checks
// the role on every call; answers come in pages that are joined here over one connection.
#include <iostream>

#include "client/client_store.h"
#include "client/cmd_common.h"
#include "client/commands.h"
#include "client/server_link.h"
#include "mnr/audit_format.h"
#include "mnr/cli.h"
#include "mnr/describe.h"
#include "mnr/file_util.h"
#include "mnr/i18n.h"

namespace mnr::client {
namespace {

constexpr const char* kAuditProgram = "mnr-client audit";
// Pages one answer may be cut into; far above any real log, it bounds a server that never says "done".
constexpr int kMaxPages = 100000;

// One remote operation on an open connection.
asio::awaitable<Result<nlohmann::json>> Ask(Connection& conn, const std::string& operation, const nlohmann::json& arguments) {
  const Request request{operation, arguments.dump()};
  Status sent = co_await conn.Send(request);
  if (!sent.ok()) co_return sent;
  auto reply = co_await conn.ReadFrame();
  if (!reply.ok()) co_return reply.status();
  if (reply->type == MessageType::kRefused) {
    // Bad arguments (an unknown country, indicator or device, with the nearest known names) are the
    // caller's to fix: InvalidArgument, which the commands report as a usage error.
    auto refused = DecodeMessage<Refused>(reply->payload);
    if (refused.ok() && refused->code == static_cast<std::uint16_t>(RefusalCode::kBadRequest)) {
      co_return Status::InvalidArgument(TerminalText(refused->reason, 0));
    }
    co_return RefusedStatus(reply->payload);
  }
  if (reply->type != MessageType::kResponse) {
    co_return Status::Corruption(tr("server answered a request with {1}", MessageTypeName(reply->type)));
  }
  auto response = DecodeMessage<Response>(reply->payload);
  if (!response.ok()) co_return response.status();
  auto answer = nlohmann::json::parse(response->body, nullptr, false);
  if (answer.is_discarded() || !answer.is_object()) co_return Status::Corruption(tr("server sent a response that is not a JSON object"));
  co_return answer;
}

// Runs `body` over one link to the server of the store named by --db. With `usage_on_bad_request`, a
// request the server refused for its arguments exits 2 (the command line named something unknown).
int WithLink(const cli::Args& a, const LinkBody& body, bool usage_on_bad_request = false) {
  auto store = OpenStore(a);
  if (!store.ok()) return cli::Fail(kAuditProgram, store.status());
  auto link = LinkOptionsFor(**store, a.Get("server"), std::chrono::seconds(60));
  if (!link.ok()) return cli::Fail(kAuditProgram, link.status());
  Status s = RunLink(**store, *link, body);
  if (!s.ok()) {
    const int rc = cli::Fail(kAuditProgram, s);
    return usage_on_bad_request && s.code() == Status::Code::kInvalidArgument ? cli::kExitUsage : rc;
  }
  return cli::kExitOk;
}

void Append(nlohmann::json& into, const nlohmann::json& part, const char* key) {
  if (!into.contains(key)) into[key] = nlohmann::json::array();
  if (part.contains(key) && part[key].is_array()) {
    for (const auto& item : part[key]) into[key].push_back(item);
  }
}

// The next page's start, or nullopt when the server says there is none.
Result<std::optional<std::uint64_t>> NextPage(const nlohmann::json& answer) {
  if (!answer.contains("next") || answer["next"].is_null()) return std::optional<std::uint64_t>();
  if (!answer["next"].is_number_unsigned()) return Status::Corruption(tr("server sent a page with a malformed \"next\""));
  return std::optional<std::uint64_t>(answer["next"].get<std::uint64_t>());
}

int Log(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client audit log --db PATH [--country C] [--indicator I] [--device D] [--since TIME] [--format text|json] "
                "[--ids] [--server HOST:PORT]",
                tr("Prints the server's audit history (auditor or coordinator credential), as `mnr-server audit log`\n"
                   "does on the server host: who (the credential's holder and the device, by name), device time and\n"
                   "server receipt time, field, the change (`yes -> partial; note \"old\" -> (none)`, text cut to 40\n"
                   "characters, control characters escaped) and change-set, oldest first. --ids adds the ids. A\n"
                   "country, indicator or device the server does not know is an error (exit 2) naming the nearest\n"
                   "known ones."));
  p.Option("db", "PATH", "store bound to an auditor or coordinator credential", true)
      .Option("server", "HOST:PORT", "server address (default: the credential's)")
      .Option("country", "C", "only edits of this country's fields")
      .Option("indicator", "I", "only edits of this indicator's answers")
      .Option("device", "D", "only edits made on this device (its id, the start of its id, or its name)")
      .Option("since", "TIME", "only entries recorded at or after TIME (YYYY-MM-DD[THH:MM:SSZ] or Unix seconds)")
      .Option("format", "FORMAT", "text (default) or json")
      .Flag("ids", "show credential and device ids and whole change-set ids in text output");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kAuditProgram, a)) return *rc;
  const std::string format = a.GetOr("format", "text");
  if (format != "text" && format != "json") return UsageError(tr("--format must be text or json"));
  nlohmann::json args = nlohmann::json::object();
  for (const char* key : {"country", "indicator", "device"}) {
    if (auto v = a.Get(key)) args[key] = *v;
  }
  if (auto since = a.Get("since")) {
    auto t = audit::ParseTime(*since);
    if (!t.ok()) return UsageError(tr("--since: {1}", t.status().message()));
    args["since"] = *t;
  }
  nlohmann::json records = nlohmann::json::array();
  const LinkBody body = [&](Connection& conn, const Welcome&) -> asio::awaitable<Status> {
    const std::string operation = "audit.log";
    std::uint64_t from = 0;
    for (int page = 0; page < kMaxPages; ++page) {
      nlohmann::json call = args;
      call["from"] = from;
      auto answer = co_await Ask(conn, operation, call);
      if (!answer.ok()) co_return answer.status();
      if (!answer->contains("records") || !(*answer)["records"].is_array()) co_return Status::Corruption(tr("server sent no records"));
      for (const auto& r : (*answer)["records"]) records.push_back(r);
      auto next = NextPage(*answer);
      if (!next.ok()) co_return next.status();
      if (!*next) co_return Status::OK();
      if (**next <= from) co_return Status::Corruption(tr("server sent an audit log page that does not advance"));
      from = **next;
    }
    co_return Status::Corruption(tr("the audit log did not end"));
  };
  if (int rc = WithLink(a, body, true)) return rc;
  if (format == "json") {
    std::cout << records.dump(1) << "\n";
  } else {
    for (const auto& r : records) std::cout << DescribeHistoryRecord(r, a.Has("ids")) << "\n";
  }
  return cli::kExitOk;
}

int Export(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client audit export --db PATH --out FILE [--force] [--server HOST:PORT]",
                tr("Fetches the server's audit export (auditor credential): every log entry, the certificates, the\n"
                   "signed tree heads, the releases and the inclusion and consistency proofs, in one file that\n"
                   "`mnr-audit verify FILE` checks offline. The file is checked here too before it is written."));
  p.Option("db", "PATH", "store bound to an auditor credential", true)
      .Option("server", "HOST:PORT", "server address (default: the credential's)")
      .Option("out", "FILE", "the file to write", true)
      .Flag("force", "replace FILE if it exists (never the store itself)");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kAuditProgram, a)) return *rc;
  const OutputRules rules{a.Has("force"), true, {*a.Get("db")}};
  if (Status s = CheckOutputFile(*a.Get("out"), rules); !s.ok()) return cli::Fail(kAuditProgram, s);
  nlohmann::json file;
  const LinkBody body = [&](Connection& conn, const Welcome&) -> asio::awaitable<Status> {
    const std::string operation = "audit.export";
    const nlohmann::json first = {{"part", "meta"}};
    auto meta = co_await Ask(conn, operation, first);
    if (!meta.ok()) co_return meta.status();
    file = std::move(*meta);
    file.erase("next");
    if (!file.contains("size") || !file["size"].is_number_unsigned()) co_return Status::Corruption(tr("server sent no tree size"));
    const std::uint64_t size = file["size"].get<std::uint64_t>();
    for (const char* part : {"heads", "entries"}) {
      std::uint64_t from = 0;
      for (int page = 0;; ++page) {
        if (page == kMaxPages) co_return Status::Corruption(tr("the audit export did not end"));
        const nlohmann::json call = {{"part", part}, {"from", from}, {"size", size}};
        auto answer = co_await Ask(conn, operation, call);
        if (!answer.ok()) co_return answer.status();
        for (const char* key : {"tree_heads", "consistency_proofs", "entries", "inclusion_proofs"}) Append(file, *answer, key);
        auto next = NextPage(*answer);
        if (!next.ok()) co_return next.status();
        if (!*next) break;
        if (**next <= from && page > 0) co_return Status::Corruption(tr("server sent an audit export page that does not advance"));
        from = **next;
      }
    }
    co_return Status::OK();
  };
  if (int rc = WithLink(a, body)) return rc;
  const std::string out = *a.Get("out");
  if (Status s = WriteOutputFile(out, file.dump(1) + "\n", rules); !s.ok()) return cli::Fail(kAuditProgram, s);
  auto summary = audit::VerifyExport(file);
  if (!summary.ok()) {
    std::cerr << kAuditProgram << ": " << tr("wrote {1}, but it does not verify: {2}", out, summary.status().message()) << "\n";
    return cli::kExitFailure;
  }
  std::cout << tr("exported {1} entries ({2} change-sets), {3} signed tree heads and {4} inclusion proofs to {5}; verified "
                  "(check it anywhere with `mnr-audit verify {5}`)",
                  summary->entries, summary->changesets, summary->tree_heads, summary->inclusion_proofs, out)
            << "\n";
  return cli::kExitOk;
}

}  // namespace

int AuditCommand(const std::vector<std::string>& argv) {
  const std::string action = argv.empty() ? "" : argv[0];
  const std::vector<std::string> rest(argv.begin() + (argv.empty() ? 0 : 1), argv.end());
  if (action == "log") return Log(rest);
  if (action == "export") return Export(rest);
  if (action == "proof") return AuditProofCommand(rest);
  if (action == "--help" || action == "-h") {
    std::cout << tr("usage: {1}", "mnr-client audit log|export|proof --db PATH ...") << "\n\n"
              << tr("The server's audit trail from an auditor's machine (a coordinator may read the log and prove an\n"
                    "entry). Each action has its own --help.")
              << "\n";
    return cli::kExitOk;
  }
  std::cerr << kAuditProgram << ": "
            << (action.empty() ? tr("needs an action: log, export or proof (see --help of each)")
                               : tr("unknown action \"{1}\": log, export or proof (see --help of each)", action))
            << "\n";
  return cli::kExitUsage;
}

}  // namespace mnr::client
