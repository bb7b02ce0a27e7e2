// `mnr-server audit log|verify|export` and `mnr-server renew`: the audit trail on the server host, and
// the renewal of a credential without losing its device's history.
#include <iostream>
#include <string>
#include <vector>

#include "mnr/audit_format.h"
#include "mnr/cli.h"
#include "mnr/credential.h"
#include "mnr/file_util.h"
#include "server/audit_log.h"
#include "server/cli_common.h"
#include "server/commands.h"
#include "server/server_store.h"

namespace mnr::server {
namespace {



int AuditLog(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server audit log --data DIR [--country C] [--indicator I] [--device D] [--since TIME] [--format text|json]",
                "Prints the audit history, oldest first: for each edit who made it (credential and name), the\n"
                "device and its time, when the server received it, the field, the old and the new value, and\n"
                "the change-set; coordinators' resolutions with their reason; credential and register changes.\n"
                "Text output shows answers as words (\"+note\" when a note was given) and no free text; --format\n"
                "json gives every value in full.");
  p.Option("data", "DIR", "the server store directory", true)
      .Option("country", "C", "only edits of this country's fields")
      .Option("indicator", "I", "only edits of this indicator's answers")
      .Option("device", "D", "only edits made on this device (its id)")
      .Option("since", "TIME", "only entries the server recorded at or after TIME (YYYY-MM-DD[THH:MM:SSZ] or Unix seconds)")
      .Option("format", "FORMAT", "text (default) or json");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  const std::string format = a.GetOr("format", "text");
  if (format != "text" && format != "json") return Usage("--format must be text or json");
  HistoryQuery q;
  q.country = a.Get("country");
  q.indicator = a.Get("indicator");
  q.device = a.Get("device");
  if (auto since = a.Get("since")) {
    auto t = audit::ParseTime(*since);
    if (!t.ok()) return Usage("--since: " + t.status().message());
    q.since = *t;
  }
  auto store = ServerStore::Open(*a.Get("data"));
  if (!store.ok()) return Failure(store.status());
  auto page = AuditHistory(**store, q);
  if (!page.ok()) return Failure(page.status());
  if (format == "json") {
    std::cout << page->records.dump(1) << "\n";
  } else {
    for (const auto& r : page->records) std::cout << audit::FormatHistoryRecord(r) << "\n";
  }
  return cli::kExitOk;
}

int AuditVerify(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server audit verify --data DIR",
                "Checks the audit trail: recomputes every entry's hash and link and the Merkle tree, verifies\n"
                "every signed tree head and every change-set's signature against the credential that made it,\n"
                "and that the stored change-sets, credentials, resolutions, country register and merged state\n"
                "equal a replay of the log. Exits 0 only when all holds; otherwise names the first problem.");
  p.Option("data", "DIR", "the server store directory", true);
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  auto store = ServerStore::Open(*a.Get("data"));
  if (!store.ok()) return Failure(store.status());
  auto report = VerifyAuditTrail(**store);
  if (!report.ok()) {
    std::cerr << kProgram << " audit verify: FAILED: " << report.status().message() << "\n";
    return cli::kExitFailure;
  }
  const auto& s = report->summary;
  std::cout << "audit trail verified: " << s.entries << " entries (" << s.changesets << " change-sets), " << s.tree_heads
            << " signed tree heads; " << report->ops << " edits replay to the stored merged state of " << report->fields
            << " fields\n";
  return cli::kExitOk;
}

int AuditExport(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server audit export --data DIR --out FILE",
                "Writes one self-contained JSON file for an external auditor: every log entry, the CA and server\n"
                "certificates, every signed tree head (a new one covering the whole log is signed first), the\n"
                "releases, an inclusion proof of every change-set in the latest tree and in each release's tree,\n"
                "and consistency proofs between consecutive tree heads and releases. Check it anywhere with\n"
                "`mnr-audit verify FILE`.");
  p.Option("data", "DIR", "the server store directory", true).Option("out", "FILE", "the file to write", true);
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  auto store = ServerStore::Open(*a.Get("data"));
  if (!store.ok()) return Failure(store.status());
  auto file = ExportAuditLog(**store, ExportOptions{});
  if (!file.ok()) return Failure(file.status());
  file->erase("next");
  if (Status s = WriteFileAtomic(*a.Get("out"), file->dump(1) + "\n"); !s.ok()) return Failure(s);
  std::cout << "exported " << (*file)["entries"].size() << " entries, " << (*file)["tree_heads"].size() << " tree heads and "
            << (*file)["inclusion_proofs"].size() << " inclusion proofs to " << *a.Get("out") << "\n";
  return cli::kExitOk;
}

}  // namespace

int AuditCommand(const std::vector<std::string>& argv) {
  const std::string help =
      "usage: mnr-server audit log --data DIR [--country C] [--indicator I] [--device D] [--since TIME] [--format text|json]\n"
      "       mnr-server audit verify --data DIR\n"
      "       mnr-server audit export --data DIR --out FILE\n\n"
      "The audit trail: an append-only, hash-linked log of every accepted change-set and every coordinator\n"
      "action, covered by a Merkle tree whose heads the server signs (docs/protocol.md).\n";
  if (argv.empty()) return Usage("audit needs an action: log, verify or export (see --help)");
  if (argv[0] == "--help" || argv[0] == "-h") {
    std::cout << help;
    return cli::kExitOk;
  }
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (argv[0] == "log") return AuditLog(rest);
  if (argv[0] == "verify") return AuditVerify(rest);
  if (argv[0] == "export") return AuditExport(rest);
  return Usage("unknown audit action \"" + argv[0] + "\" (log, verify or export)");
}

int RenewCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server renew --data DIR ID --out FILE.mnrcred [--days N]",
                "Issues a new credential for the same holder (role, name and countries) with a new key pair and\n"
                "revokes ID, in one step that the audit log records. The holder binds the existing store to the\n"
                "new file with `mnr-client init --db PATH --credentials FILE.mnrcred`; its device id and unsynced\n"
                "edits stay, and change-sets it sealed before the renewal are still accepted. Prints the new id.");
  p.Option("data", "DIR", "the server store directory", true)
      .Positional("ID", "the credential to renew (cred-...)")
      .Option("out", "FILE", "the new credential file (must not exist)", true)
      .Option("days", "N", "validity of the new credential in days (default 730)");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  auto lifetime = CredentialLifetimeDays(a);
  if (!lifetime.ok()) return Usage(lifetime.status().message());
  const long long days = *lifetime;
  const std::string out = *a.Get("out");
  if (FileExists(out)) return Failure(Status::AlreadyExists(out + " already exists; choose another --out (a credential file is never overwritten)"));
  auto store = ServerStore::Open(*a.Get("data"));
  if (!store.ok()) return Failure(store.status());
  const std::string old_id = a.positional()[0];
  auto cred = (*store)->RenewCredential(old_id, days * 24 * 3600);
  if (!cred.ok()) return Failure(cred.status());
  if (Status s = SaveCredential(out, *cred); !s.ok()) {
    return Failure(s.With("credential " + cred->id + " replaced " + old_id + " but its file could not be written; renew " +
                          cred->id + " with another --out"));
  }
  std::cout << cred->id << "\n";
  std::cerr << "renewed " << old_id << " as " << cred->id << " (" << old_id << " is revoked)\n";
  return cli::kExitOk;
}

}  // namespace mnr::server
