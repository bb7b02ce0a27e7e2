// `mnr-server audit log|verify|export` and `mnr-server renew`: the audit trail on the server host, and
// the renewal of a credential without losing its device's history.
#include <iostream>
#include <string>
#include <vector>

#include "mnr/audit_format.h"
#include "mnr/cli.h"
#include "mnr/credential.h"
#include "mnr/describe.h"
#include "mnr/file_util.h"
#include "server/audit_trail.h"
#include "server/cli_common.h"
#include "server/commands.h"
#include "server/remote_ops.h"
#include "server/server_config.h"
#include "server/server_store.h"

namespace mnr::server {
namespace {



int AuditLog(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server audit log --data DIR [--country C] [--indicator I] [--device D] [--since TIME] [--format text|json] [--ids]",
                "Prints the audit history, oldest first: for each edit who made it (the credential's holder by\n"
                "name), the device (by its name, else <holder>/<start of its id>) and its time, when the server\n"
                "received it, the field, the change (`yes -> partial; note \"old\" -> (none)`, text cut to 40\n"
                "characters, control characters escaped) and the change-set; coordinators' resolutions with\n"
                "their reason; credential and register changes. --ids adds the ids; --format json gives every\n"
                "value in full. A country, indicator or device the server does not know is an error (exit 2)\n"
                "that names the nearest known ones, so a typo never reads as \"no changes\".");
  p.Option("data", "DIR", "the server store directory", true)
      .Option("country", "C", "only edits of this country's fields")
      .Option("indicator", "I", "only edits of this indicator's answers")
      .Option("device", "D", "only edits made on this device (its id, the start of its id, or its name)")
      .Option("since", "TIME", "only entries the server recorded at or after TIME (YYYY-MM-DD[THH:MM:SSZ] or Unix seconds)")
      .Option("format", "FORMAT", "text (default) or json")
      .Flag("ids", "show credential and device ids and whole change-set ids in text output");
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
  auto names = LoadPeopleNames(**store);
  if (!names.ok()) return Failure(names.status());
  if (Status s = ResolveHistoryFilters(**store, *names, q); !s.ok()) {
    return s.code() == Status::Code::kInvalidArgument ? Usage(s.message()) : Failure(s);
  }
  auto page = AuditHistory(**store, q);
  if (!page.ok()) return Failure(page.status());
  AddHistoryNames(page->records, *names);
  if (format == "json") {
    std::cout << page->records.dump(1) << "\n";
  } else {
    for (const auto& r : page->records) std::cout << DescribeHistoryRecord(r, a.Has("ids")) << "\n";
  }
  return cli::kExitOk;
}

int AuditVerify(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server audit verify --data DIR",
                "Checks the audit trail: recomputes every entry's hash and link and the Merkle tree, verifies\n"
                "every signed tree head and every change-set's signature against the credential that made it,\n"
                "and that the stored change-sets, credentials (expiry included), resolutions, country register\n"
                "and merged state equal a replay of the log; that the server clock is not behind the newest\n"
                "edit; that the dataset counts equal a recount; and that every release's CSV, hash, signature\n"
                "and figures match the log replayed up to the tree head its manifest names. Then checks every\n"
                "attachment file the server holds (DIR/blobs) against its hash and size, naming each bad one by\n"
                "its attachment field and path; a file not received yet is a note. Exits 0 only when all holds;\n"
                "otherwise names the first problem of the trail and every bad file.");
  p.Option("data", "DIR", "the server store directory", true);
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  auto store = ServerStore::Open(*a.Get("data"));
  if (!store.ok()) return Failure(store.status());
  // The files first: each bad one is named, even when the trail fails too.
  auto files = CheckHeldFiles(**store);
  if (!files.ok()) {
    std::cerr << kProgram << " audit verify: FAILED: cannot check the attachment files: " << files.status().message() << "\n";
    return cli::kExitFailure;
  }
  for (const auto& f : files->failures) std::cerr << kProgram << " audit verify: FAILED: " << f << "\n";
  for (const auto& n : files->notes) std::cout << "note: " << n << "\n";
  auto report = VerifyAuditTrail(**store);
  if (!report.ok()) {
    std::cerr << kProgram << " audit verify: FAILED: " << report.status().message() << "\n";
    return cli::kExitFailure;
  }
  if (!files->failures.empty()) {
    std::cerr << kProgram << " audit verify: FAILED: " << files->failures.size() << " of the attachment files do not verify\n";
    return cli::kExitFailure;
  }
  const auto& s = report->summary;
  std::cout << "audit trail verified: " << s.entries << " entries (" << s.changesets << " change-sets), " << s.tree_heads
            << " signed tree heads; " << report->ops << " edits replay to the stored merged state of " << report->fields
            << " fields; the dataset equals a recount; " << report->releases << " releases recomputed from the log; "
            << files->files << " attachment files hash to their names\n";
  return cli::kExitOk;
}

int AuditExport(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server audit export --data DIR --out FILE [--force]",
                "Writes one self-contained JSON file for an external auditor: every log entry, the CA and server\n"
                "certificates, every signed tree head (a new one covering the whole log is signed first), the\n"
                "releases, an inclusion proof of every change-set in the latest tree and in each release's tree,\n"
                "and consistency proofs between consecutive tree heads and releases. Check it anywhere with\n"
                "`mnr-audit verify FILE`.");
  p.Option("data", "DIR", "the server store directory", true)
      .Option("out", "FILE", "the file to write", true)
      .Flag("force", "replace FILE if it exists (never the store itself)");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  const OutputRules rules{a.Has("force"), true, {ServerPaths{*a.Get("data")}.db()}};
  if (Status s = CheckOutputFile(*a.Get("out"), rules); !s.ok()) return Failure(s);
  auto store = ServerStore::Open(*a.Get("data"));
  if (!store.ok()) return Failure(store.status());
  auto file = ExportAuditLog(**store, ExportOptions{});
  if (!file.ok()) return Failure(file.status());
  file->erase("next");
  if (Status s = WriteOutputFile(*a.Get("out"), file->dump(1) + "\n", rules); !s.ok()) return Failure(s);
  std::cout << "exported " << (*file)["entries"].size() << " entries, " << (*file)["tree_heads"].size() << " tree heads and "
            << (*file)["inclusion_proofs"].size() << " inclusion proofs to " << *a.Get("out") << "\n";
  return cli::kExitOk;
}

}  // namespace

int AuditCommand(const std::vector<std::string>& argv) {
  const std::string help =
      "usage: mnr-server audit log --data DIR [--country C] [--indicator I] [--device D] [--since TIME] [--format text|json] [--ids]\n"
      "       mnr-server audit verify --data DIR\n"
      "       mnr-server audit export --data DIR --out FILE [--force]\n\n"
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
      .Option("days", "N", "validity of the new credential in days (default: credential_days of the configuration file, 730)")
      .Option("config", "FILE", "the configuration file (default /etc/mnr-sync/server.toml, if it exists)");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  auto settings = CommandSettings(a.Get("config"));
  if (!settings.ok()) return Usage(settings.status().message());
  auto lifetime = CredentialLifetimeDays(a, settings->credential_days);
  if (!lifetime.ok()) return Usage(lifetime.status().message());
  const long long days = *lifetime;
  const std::string out = *a.Get("out");
  if (Status s = CheckOutputFile(out, {false, false, {ServerPaths{*a.Get("data")}.db()}}); !s.ok()) return Failure(s);
  auto store = ServerStore::Open(*a.Get("data"));
  if (!store.ok()) return Failure(store.status());
  const std::string old_id = a.positional()[0];
  auto cred = RenewCredential((*store)->db(), (*store)->paths(), old_id, days * 24 * 3600);
  if (!cred.ok()) return Failure(cred.status());
  // The file names its predecessor: `mnr-client init --credentials` then knows it for the store's own
  // successor and lets it carry unsynced edits.
  cred->renews = old_id;
  if (Status s = SaveCredential(out, *cred); !s.ok()) {
    return Failure(s.With("credential " + cred->id + " replaced " + old_id + " but its file could not be written; renew " +
                          cred->id + " with another --out"));
  }
  std::cout << cred->id << "\n";
  std::cerr << "renewed " << old_id << " as " << cred->id << " (" << old_id << " is revoked)\n";
  return cli::kExitOk;
}

}  // namespace mnr::server
