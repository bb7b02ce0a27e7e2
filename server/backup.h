// Backup and restore of a server store directory (server.db plus its key and certificate files) as
// one file. A backup is taken while `mnr-server run` is serving: the database is copied with SQLite's
// online backup API, which reads one consistent snapshot (in WAL mode writers go on meanwhile), so a
// change-set is in the copy whole or not at all. The file holds private keys: it is written 0600.
//
// File format (version 1), so an operator can inspect it with `head -2`:
//   "MNR-SERVER-BACKUP 1\n"
//   one line of JSON: {"format":1, "created_at":UNIX, "store_version":N, "store_id":ID,
//                      "files":[{"name":..., "size":..., "sha256":..., "mode":...}, ...]}
//   the files' bytes, concatenated in that order.
// A name is a plain file name inside the store directory, or "blobs/<2 hex>/<hash>" for a whole
// attachment file (server/attachments.h); chunks of files still arriving are not backed up.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/status.h"

namespace mnr::server {

struct BackupFile {
  std::string name;  // a plain file name inside the store directory, or blobs/<2 hex>/<hash>
  std::string bytes;
  unsigned mode = 0600;
};

struct Backup {
  std::int64_t created_at = 0;
  int store_version = 0;
  std::string store_id;
  std::vector<BackupFile> files;  // server.db first
};

// Takes a consistent copy of the store in `dir` (its database through the online backup API, every
// other regular file of the directory except SQLite's -wal/-shm/-journal companions, and the whole
// attachment files under blobs/, read after the database so every file its rows name is there).
// Reads only.
Result<Backup> TakeBackup(const std::string& dir, std::int64_t now);

std::string EncodeBackup(const Backup& b);

// Parses a backup file's bytes and checks every file's size and SHA-256 against the manifest; `source`
// names the file in errors. Refuses file names with a slash (other than blobs/<2 hex>/<hash>),
// duplicates, and a backup without server.db.
Result<Backup> DecodeBackup(std::string_view bytes, const std::string& source);

// Writes the backup's files into a new directory `dir` (which must not exist, or be empty): into a
// temporary sibling first, each file fsynced, then renamed into place, so `dir` appears whole or not at
// all. `check` runs on the temporary directory before the rename (restore opens and verifies the store
// there); an error from it leaves nothing behind.
Status RestoreBackup(const Backup& b, const std::string& dir, const std::function<Status(const std::string&)>& check);

// Before ServerStore::Open migrates a store made by an earlier release: a backup of it as it was, in
// DIR/backups/before-version-<N+1>-<UTC time>.mnrbak (mode 0600). Returns the file's path.
Result<std::string> BackupBeforeMigration(const std::string& dir, int from_version, int to_version, std::int64_t now);

// Where `mnr-server check` finds when the last backup was taken: DIR/last-backup.json, written after
// each successful backup. Returns 0 when no backup was ever recorded.
Status RecordBackupTaken(const std::string& dir, const std::string& out, std::int64_t at, const std::string& sha256);
Result<std::int64_t> LastBackupAt(const std::string& dir);

}  // namespace mnr::server
