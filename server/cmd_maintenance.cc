// `mnr-server backup`, `restore` and `check`: what an operator runs from cron and from a monitoring
// system, beside a live server.
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mnr/audit_format.h"
#include "mnr/cli.h"
#include "mnr/crypto.h"
#include "mnr/file_util.h"
#include "mnr/sqlite.h"
#include "mnr/wall_clock.h"
#include "server/audit_trail.h"
#include "server/backup.h"
#include "server/cli_common.h"
#include "server/commands.h"
#include "server/server_store.h"

namespace mnr::server {
namespace {

constexpr std::size_t kMaxBackupBytes = std::size_t{8} << 30;


// PRAGMA integrity_check's verdict: "ok", or its first complaints.
Result<std::string> IntegrityOf(const std::string& db_path) {
  auto db = Db::Open(db_path, false);
  if (!db.ok()) return db.status();
  auto st = (*db)->Prepare("PRAGMA integrity_check(5)");
  if (!st.ok()) return st.status();
  std::string verdict;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    verdict += (verdict.empty() ? "" : "; ") + st->Text(0);
  }
  return verdict;
}

// What restore checks in the not-yet-visible directory: the database's pages, that this mnr-server can
// open it (migrating an older store), the whole audit trail and the attachment files it holds, so a
// damaged or doctored backup never becomes a store.
Status CheckRestoredStore(const std::string& dir) {
  auto integrity = IntegrityOf(dir + "/server.db");
  if (!integrity.ok()) return integrity.status();
  if (*integrity != "ok") return Status::Corruption("the backup's database fails its integrity check: " + *integrity);
  auto store = ServerStore::Open(dir);
  if (!store.ok()) return store.status();
  auto report = VerifyAuditTrail(**store);
  if (!report.ok()) return report.status().With("the backup's audit trail does not verify");
  auto files = CheckHeldFiles(**store);
  if (!files.ok()) return files.status().With("checking the backup's attachment files");
  if (!files->failures.empty()) {
    return Status::Corruption("the backup's attachment files do not verify (" + std::to_string(files->failures.size()) +
                              "): " + files->failures.front());
  }
  return Status::OK();
}

std::string Age(std::int64_t seconds) {
  if (seconds < 120) return std::to_string(seconds) + " s";
  if (seconds < 7200) return std::to_string(seconds / 60) + " min";
  if (seconds < 3 * 86400) return std::to_string(seconds / 3600) + " h";
  return std::to_string(seconds / 86400) + " days";
}

}  // namespace

int BackupCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server backup --data DIR --out FILE [--force]",
                "Writes a consistent copy of the server store (its database, keys, certificates and the whole\n"
                "attachment files under DIR/blobs) to one file, while `mnr-server run` goes on serving: the\n"
                "database is read as one snapshot, so every change-set is in the copy whole or not at all. The file holds the server's private keys and is\n"
                "written readable by its owner only (0600); keep it as you keep the keys. Restore it with\n"
                "`mnr-server restore`. The time of the backup is recorded for `mnr-server check`.");
  p.Option("data", "DIR", "the server store directory", true)
      .Option("out", "FILE", "the backup file to write", true)
      .Flag("force", "replace FILE if it exists (never a store file)");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  const std::string dir = *a.Get("data");
  const std::string out = *a.Get("out");
  const OutputRules rules{a.Has("force"), true, {ServerPaths{dir}.db()}};
  if (Status s = CheckOutputFile(out, rules); !s.ok()) return Failure(s);
  const std::int64_t now = UnixNow();
  auto backup = TakeBackup(dir, now);
  if (!backup.ok()) return Failure(backup.status().With("backup of " + dir));
  const std::string bytes = EncodeBackup(*backup);
  if (Status s = WriteOutputFile(out, bytes, rules, 0600); !s.ok()) return Failure(s);
  const std::string sha = crypto::Sha256Hex(bytes);
  if (Status s = RecordBackupTaken(dir, out, now, sha); !s.ok()) {
    std::cerr << kProgram << ": warning: the backup is written, but its time could not be recorded for `check`: " << s.message() << "\n";
  }
  std::cout << "backed up " << dir << " (store version " << backup->store_version << ", " << backup->files.size()
            << " files, " << bytes.size() << " bytes) to " << out << "\nsha256 " << sha << "\n";
  return cli::kExitOk;
}

int RestoreCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server restore --from FILE --data NEWDIR",
                "Restores a backup written by `mnr-server backup` into a new directory. Before anything becomes\n"
                "visible it checks every file against the backup's SHA-256 manifest, the database's integrity,\n"
                "that this mnr-server can open it (an older store is migrated), the whole audit trail and the\n"
                "attachment files; the directory appears complete or not at all. NEWDIR must not exist or be\n"
                "empty: a restore never overwrites a store.");
  p.Option("from", "FILE", "the backup file", true).Option("data", "NEWDIR", "the directory to create", true);
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  const std::string from = *a.Get("from");
  const std::string dir = *a.Get("data");
  auto bytes = ReadFile(from, kMaxBackupBytes);
  if (!bytes.ok()) return Failure(bytes.status());
  auto backup = DecodeBackup(*bytes, from);
  if (!backup.ok()) return Failure(backup.status());
  if (Status s = RestoreBackup(*backup, dir, CheckRestoredStore); !s.ok()) return Failure(s.With("restore into " + dir));
  std::cout << "restored store " << backup->store_id.substr(0, 16) << " (backup of " << audit::FormatTime(backup->created_at)
            << ", " << backup->files.size() << " files) into " << dir << "; integrity and audit trail verified\n";
  return cli::kExitOk;
}

int CheckCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server check --data DIR [--max-backup-age HOURS] [--format text|json]",
                "Checks a server store for monitoring: the database's integrity, its store version against this\n"
                "mnr-server's, the audit trail and the attachment files (as `audit verify`), the age of the last\n"
                "backup, and the open conflicts. Reads only; safe beside a running server.\n\n"
                "exit status (the monitoring-plugin convention): 0 OK; 1 WARNING (no backup, or one older than\n"
                "--max-backup-age; a store a start would migrate); 2 CRITICAL (integrity, audit trail or a file fails, a\n"
                "store newer than this mnr-server); 3 UNKNOWN (the store cannot be read, or a usage error).");
  p.Option("data", "DIR", "the server store directory", true)
      .Option("max-backup-age", "HOURS", "a backup older than this is a warning (default 26)")
      .Option("format", "FORMAT", "text (default) or json");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc == cli::kExitOk ? cli::kExitOk : 3;
  const std::string format = a.GetOr("format", "text");
  if (format != "text" && format != "json") {
    Usage("--format must be text or json");
    return 3;
  }
  long long max_age_hours = 26;
  try {
    std::size_t used = 0;
    const std::string h = a.GetOr("max-backup-age", "26");
    max_age_hours = std::stoll(h, &used);
    if (used != h.size() || max_age_hours < 1) throw std::invalid_argument(h);
  } catch (const std::exception&) {
    Usage("--max-backup-age must be a whole number of hours, at least 1");
    return 3;
  }
  const std::string dir = *a.Get("data");
  const std::int64_t now = UnixNow();
  nlohmann::json report = {{"store", dir}};
  std::vector<std::string> warnings, criticals;
  int exit_code = 0;

  auto db = FileExists(ServerPaths{dir}.db()) ? Db::Open(ServerPaths{dir}.db(), false)
                                              : Result<std::unique_ptr<Db>>(Status::NotFound(dir + " is not a server store (no server.db)"));
  std::optional<int> version;
  if (db.ok()) {
    auto v = (*db)->UserVersion();
    if (v.ok()) version = *v;
  }
  if (!db.ok() || !version) {
    report["status"] = "unknown";
    report["error"] = db.ok() ? "cannot read the store version" : db.status().message();
    exit_code = 3;
  } else {
    const int supported = ServerStoreVersion();
    report["store_version"] = *version;
    report["store_version_supported"] = supported;
    auto integrity = IntegrityOf(ServerPaths{dir}.db());
    report["integrity"] = integrity.ok() ? *integrity : integrity.status().message();
    if (!integrity.ok() || *integrity != "ok") criticals.push_back("integrity check: " + report["integrity"].get<std::string>());
    if (*version > supported) {
      criticals.push_back("store version " + std::to_string(*version) + " is newer than this mnr-server (" + std::to_string(supported) + ")");
    } else if (*version < supported) {
      warnings.push_back("store version " + std::to_string(*version) + "; the next start migrates it to " + std::to_string(supported));
      report["audit"] = {{"ok", nullptr}, {"message", "not checked before the store is migrated"}};
    } else {
      auto store = ServerStore::Open(dir);
      if (!store.ok()) {
        criticals.push_back(store.status().message());
      } else {
        auto verified = VerifyAuditTrail(**store);
        if (verified.ok()) {
          report["audit"] = {{"ok", true}, {"entries", verified->summary.entries}, {"releases", verified->releases}};
        } else {
          report["audit"] = {{"ok", false}, {"message", verified.status().message()}};
          criticals.push_back("audit trail: " + verified.status().message());
        }
        auto files = CheckHeldFiles(**store);
        if (files.ok()) {
          report["files"] = {{"ok", files->failures.empty()}, {"held", files->files}, {"failures", files->failures},
                             {"not_received", files->notes.size()}};
          for (const auto& f : files->failures) criticals.push_back(f);
        } else {
          report["files"] = {{"ok", false}, {"message", files.status().message()}};
          criticals.push_back("attachment files: " + files.status().message());
        }
        auto conflicts = Conflicts((*store)->db(), true);
        if (conflicts.ok()) report["open_conflicts"] = conflicts->size();
      }
    }
    auto last = LastBackupAt(dir);
    if (!last.ok() || *last == 0) {
      report["last_backup_at"] = nullptr;
      warnings.push_back(last.ok() ? "no backup recorded (mnr-server backup)" : last.status().message());
    } else {
      report["last_backup_at"] = audit::FormatTime(*last);
      report["last_backup_age_seconds"] = now - *last;
      if (now - *last > max_age_hours * 3600) {
        warnings.push_back("last backup " + Age(now - *last) + " ago, older than " + std::to_string(max_age_hours) + " h");
      }
    }
    exit_code = !criticals.empty() ? 2 : !warnings.empty() ? 1 : 0;
    report["status"] = exit_code == 2 ? "critical" : exit_code == 1 ? "warning" : "ok";
    report["problems"] = criticals;
    for (const auto& w : warnings) report["problems"].push_back(w);
  }

  if (format == "json") {
    std::cout << report.dump(1) << "\n";
    return exit_code;
  }
  const std::string status = report["status"].get<std::string>();
  std::cout << "store:          " << dir << "\n";
  if (exit_code == 3) {
    std::cout << "status:         UNKNOWN: " << report["error"].get<std::string>() << "\n";
    return exit_code;
  }
  std::cout << "store version:  " << *version << " (this mnr-server: " << report["store_version_supported"].get<int>() << ")\n"
            << "integrity:      " << report["integrity"].get<std::string>() << "\n";
  if (report.contains("audit")) {
    const auto& au = report["audit"];
    std::cout << "audit trail:    "
              << (au["ok"].is_null() ? au["message"].get<std::string>()
                  : au["ok"].get<bool>() ? "verified (" + std::to_string(au["entries"].get<std::uint64_t>()) + " entries)"
                                         : "FAILED: " + au["message"].get<std::string>())
              << "\n";
  }
  if (report.contains("files") && report["files"].contains("held")) {
    const auto& fi = report["files"];
    std::cout << "attachments:    " << fi["held"].get<std::uint64_t>() << " files held, "
              << (fi["ok"].get<bool>() ? std::string("each hashes to its name")
                                       : std::to_string(fi["failures"].size()) + " FAILED (see below)")
              << "; " << fi["not_received"].get<std::size_t>() << " not received yet\n";
  }
  std::cout << "last backup:    "
            << (report["last_backup_at"].is_null() ? std::string("never")
                                                   : report["last_backup_at"].get<std::string>() + " (" +
                                                         Age(report["last_backup_age_seconds"].get<std::int64_t>()) + " ago)")
            << "\n";
  if (report.contains("open_conflicts")) std::cout << "open conflicts: " << report["open_conflicts"].get<std::size_t>() << "\n";
  std::cout << "status:         " << (status == "ok" ? "OK" : status == "warning" ? "WARNING" : "CRITICAL");
  for (const auto& c : criticals) std::cout << "\n  critical: " << c;
  for (const auto& w : warnings) std::cout << "\n  warning: " << w;
  std::cout << "\n";
  return exit_code;
}

}  // namespace mnr::server
