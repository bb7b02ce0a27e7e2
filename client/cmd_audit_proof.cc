// `mnr-client audit proof`: an auditor (or coordinator) checks from their own machine that one entry
// is in the audit log the server signed, trusting only the CA of their own credential.
#include <charconv>
#include <iostream>

#include "client/client_store.h"
#include "client/cmd_common.h"
#include "client/commands.h"
#include "client/server_link.h"
#include "mnr/audit_format.h"
#include "mnr/cli.h"
#include "mnr/crypto.h"
#include "mnr/describe.h"
#include "mnr/i18n.h"

namespace mnr::client {

int AuditProofCommand(const std::vector<std::string>& argv) {
  constexpr const char* kProofProgram = "mnr-client audit proof";
  cli::Parser p("mnr-client audit proof --db PATH INDEX [--format text|json] [--server HOST:PORT]",
                tr("Checks that entry INDEX of the server's audit log is in the log the server signed. The server sends\n"
                   "the entry, a signed tree head over the whole log and the entry's inclusion path; all three are\n"
                   "checked here against the CA of this store's credential, never against what the server says.\n"
                   "Exits 1 when the proof fails."));
  p.Option("db", "PATH", "a store bound to an auditor or coordinator credential", true)
      .Positional("INDEX", "the entry's number, as `audit log` shows it (#12 or 12)")
      .Option("format", "text|json", "output format (default text)")
      .Option("server", "HOST:PORT", "the server (default: the credential's)");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProofProgram, a)) return *rc;
  std::string_view text = a.positional()[0];
  if (!text.empty() && text.front() == '#') text.remove_prefix(1);
  std::uint64_t index = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), index);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    std::cerr << kProofProgram << ": " << tr("INDEX must be an entry number, not \"{1}\"", TerminalText(a.positional()[0], 40)) << "\n";
    return cli::kExitUsage;
  }
  const std::string format = a.GetOr("format", "text");
  if (format != "text" && format != "json") {
    std::cerr << kProofProgram << ": " << tr("--format must be text or json") << "\n";
    return cli::kExitUsage;
  }
  auto store = OpenStore(a);
  if (!store.ok()) return cli::Fail(kProofProgram, store.status());
  const auto& credential = (*store)->identity().credential;
  if (!credential) {
    return cli::Fail(kProofProgram, Status::InvalidArgument(tr("this store is not bound to a credential (mnr-client init --credentials)")));
  }
  auto link = LinkOptionsFor(**store, a.Get("server"), std::chrono::seconds(60));
  if (!link.ok()) return cli::Fail(kProofProgram, link.status());
  auto answer = CallServer(**store, *link, "audit.proof", {{"index", index}});
  if (!answer.ok()) return cli::Fail(kProofProgram, answer.status());
  auto proved = audit::CheckEntryProof(*answer, credential->ca_certificate_pem);
  if (!proved.ok()) {
    std::cerr << kProofProgram << ": " << tr("NOT PROVED: {1}", proved.status().message()) << "\n";
    return cli::kExitFailure;
  }
  const audit::Entry& e = proved->entry;
  if (format == "json") {
    std::cout << nlohmann::json{{"index", e.index},
                                {"kind", audit::KindName(e.kind)},
                                {"actor", e.actor},
                                {"recorded_at", e.recorded_at},
                                {"entry_hash", crypto::HexEncode(audit::EntryHash(e))},
                                {"tree_size", proved->tree_size},
                                {"root", proved->root},
                                {"head_signed_at", proved->head_timestamp},
                                {"proved", true}}
                     .dump(2)
              << "\n";
    return cli::kExitOk;
  }
  std::cout << tr("entry #{1} ({2}) by {3}, recorded {4}: proved", e.index, audit::KindName(e.kind), TerminalText(e.actor, 80),
                  audit::FormatTime(e.recorded_at))
            << "\n"
            << tr("  it is in the log of {1} entries whose head the server signed at {2}", proved->tree_size,
                  audit::FormatTime(proved->head_timestamp))
            << "\n"
            << tr("  root {1}; certificate checked against this store's CA", proved->root) << "\n";
  return cli::kExitOk;
}

}  // namespace mnr::client
