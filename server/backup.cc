#include "server/backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "mnr/crypto.h"
#include "mnr/file_util.h"
#include "mnr/sqlite.h"

namespace mnr::server {
namespace {

constexpr std::string_view kBackupMagic = "MNR-SERVER-BACKUP 1\n";
// Room for the file list of a store with tens of thousands of attachment files.
constexpr std::size_t kManifestBytes = 16u << 20;
constexpr std::size_t kSideFileBytes = 64u << 20;
constexpr std::size_t kMaxFiles = 64;  // beside the attachment files
constexpr std::size_t kMaxBlobFiles = 100000;
constexpr std::string_view kBlobsDir = "blobs";
constexpr const char* kDbName = "server.db";
constexpr const char* kRecordName = "last-backup.json";

bool IsCompanionOrScratch(const std::string& name) {
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    const std::string s = std::string(kDbName) + suffix;
    if (name == s) return true;
  }
  return name == kRecordName || name.starts_with(".");
}

// "blobs/<2 hex>/<64 hex>": a whole attachment file (server/attachments.h BlobDirectory), the only
// name with slashes a backup holds.
bool IsBlobFileName(std::string_view name) {
  const auto hex = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  };
  if (name.size() != kBlobsDir.size() + 1 + 2 + 1 + 64 || !name.starts_with(kBlobsDir) || name[kBlobsDir.size()] != '/') return false;
  const std::string_view prefix = name.substr(kBlobsDir.size() + 1, 2), hash = name.substr(kBlobsDir.size() + 4);
  return name[kBlobsDir.size() + 3] == '/' && hex(prefix) && hex(hash) && hash.substr(0, 2) == prefix;
}

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};

// The whole database as one consistent snapshot: one backup step over every page runs inside a single
// read transaction of the source.
Result<std::string> SnapshotDatabase(const std::string& path, Backup& backup) {
  auto source = Db::Open(path, false);
  if (!source.ok()) return source.status();
  sqlite3* raw = nullptr;
  if (sqlite3_open(":memory:", &raw) != SQLITE_OK) {
    sqlite3_close(raw);
    return Status::IOError("cannot open an in-memory database for the backup");
  }
  std::unique_ptr<sqlite3, SqliteCloser> copy(raw);
  sqlite3_backup* b = sqlite3_backup_init(copy.get(), "main", (*source)->raw(), "main");
  if (b == nullptr) return Status::IOError(path + ": cannot start the backup: " + sqlite3_errmsg(copy.get()));
  int rc;
  do {
    rc = sqlite3_backup_step(b, -1);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(50);
  } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) return Status::IOError(path + ": backup failed: " + sqlite3_errstr(rc));
  // The version and id are read from the copy itself, so they describe exactly what is saved.
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(copy.get(), "PRAGMA user_version", -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
    backup.store_version = sqlite3_column_int(st, 0);
  }
  sqlite3_finalize(st);
  st = nullptr;
  if (sqlite3_prepare_v2(copy.get(), "SELECT value FROM meta WHERE key = 'store_id'", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    backup.store_id = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  sqlite3_int64 size = 0;
  unsigned char* bytes = sqlite3_serialize(copy.get(), "main", &size, 0);
  if (bytes == nullptr) return Status::IOError(path + ": cannot serialise the backup copy");
  std::string out(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(size));
  sqlite3_free(bytes);
  return out;
}

Status SyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Status::IOError(path + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int e = errno;
  ::close(fd);
  return rc == 0 ? Status::OK() : Status::IOError(path + ": fsync: " + std::strerror(e));
}

Status WriteNewFile(const std::string& path, std::string_view data, unsigned mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 0777);
  if (fd < 0) return Status::IOError(path + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      return Status::IOError(path + ": " + std::strerror(e));
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const int e = errno;
  ::close(fd);
  return synced ? Status::OK() : Status::IOError(path + ": fsync: " + std::strerror(e));
}

}  // namespace

Result<Backup> TakeBackup(const std::string& dir, std::int64_t now) {
  const std::string db_path = dir + "/" + kDbName;
  if (!FileExists(db_path)) return Status::NotFound(dir + " is not a server store (no server.db)");
  Backup b;
  b.created_at = now;
  auto db = SnapshotDatabase(db_path, b);
  if (!db.ok()) return db.status();
  b.files.push_back({kDbName, std::move(*db), 0600});

  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name == kDbName || IsCompanionOrScratch(name)) continue;
    if (!entry.is_regular_file(ec)) continue;
    names.push_back(name);
  }
  if (ec) return Status::IOError(dir + ": " + ec.message());
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    const std::string path = dir + "/" + name;
    auto bytes = ReadFile(path, kSideFileBytes);
    if (!bytes.ok()) return bytes.status();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return Status::IOError(path + ": " + std::strerror(errno));
    b.files.push_back({name, std::move(*bytes), static_cast<unsigned>(st.st_mode & 0777)});
  }
  if (b.files.size() > kMaxFiles) return Status::InvalidArgument(dir + " holds more than 64 files; not a server store");
  // The attachment files, read after the database snapshot: a file is renamed into place before its
  // row commits, so every row of the snapshot finds its file. Chunks of files still arriving
  // (blobs/partial) are left out; the device sends them again.
  const std::string blobs = dir + "/" + std::string(kBlobsDir);
  std::vector<std::string> blob_names;
  if (std::filesystem::is_directory(blobs, ec)) {
    for (const auto& sub : std::filesystem::directory_iterator(blobs, ec)) {
      const std::string prefix = sub.path().filename().string();
      if (prefix == "partial" || !sub.is_directory(ec)) continue;
      for (const auto& entry : std::filesystem::directory_iterator(sub.path(), ec)) {
        const std::string name = std::string(kBlobsDir) + "/" + prefix + "/" + entry.path().filename().string();
        if (entry.is_regular_file(ec) && IsBlobFileName(name)) blob_names.push_back(name);
      }
    }
    if (ec) return Status::IOError(blobs + ": " + ec.message());
  }
  if (blob_names.size() > kMaxBlobFiles) return Status::InvalidArgument(blobs + " holds more attachment files than a backup takes (100000)");
  std::sort(blob_names.begin(), blob_names.end());
  for (const auto& name : blob_names) {
    auto bytes = ReadFile(dir + "/" + name, kSideFileBytes);
    if (!bytes.ok()) return bytes.status();
    b.files.push_back({name, std::move(*bytes), 0600});
  }
  return b;
}

std::string EncodeBackup(const Backup& b) {
  nlohmann::json files = nlohmann::json::array();
  std::size_t total = 0;
  for (const auto& f : b.files) {
    files.push_back({{"name", f.name}, {"size", f.bytes.size()}, {"sha256", crypto::Sha256Hex(f.bytes)}, {"mode", f.mode}});
    total += f.bytes.size();
  }
  const nlohmann::json manifest = {{"format", 1},       {"created_at", b.created_at}, {"store_version", b.store_version},
                                   {"store_id", b.store_id}, {"files", files}};
  std::string out(kBackupMagic);
  out += manifest.dump() + "\n";
  out.reserve(out.size() + total);
  for (const auto& f : b.files) out += f.bytes;
  return out;
}

Result<Backup> DecodeBackup(std::string_view bytes, const std::string& source) {
  if (!bytes.starts_with(kBackupMagic)) return Status::InvalidArgument(source + " is not an mnr-server backup (no MNR-SERVER-BACKUP 1 header)");
  bytes.remove_prefix(kBackupMagic.size());
  const std::size_t eol = bytes.find('\n');
  if (eol == std::string_view::npos || eol > kManifestBytes) return Status::Corruption(source + ": the manifest line is missing or too long");
  Backup b;
  std::size_t offset = eol + 1;
  try {
    const auto m = nlohmann::json::parse(bytes.substr(0, eol));
    if (m.at("format").get<int>() != 1) {
      return Status::InvalidArgument(source + ": backup format " + m.at("format").dump() + " is newer than this mnr-server reads (1)");
    }
    b.created_at = m.at("created_at").get<std::int64_t>();
    b.store_version = m.at("store_version").get<int>();
    b.store_id = m.at("store_id").get<std::string>();
    const auto& files = m.at("files");
    if (!files.is_array() || files.size() > kMaxFiles + kMaxBlobFiles) return Status::Corruption(source + ": the manifest's file list is not valid");
    std::size_t side_files = 0;
    std::set<std::string> seen;
    for (const auto& f : files) {
      BackupFile file;
      file.name = f.at("name").get<std::string>();
      const auto size = f.at("size").get<std::uint64_t>();
      const auto sha = f.at("sha256").get<std::string>();
      file.mode = f.at("mode").get<unsigned>() & 0777;
      const bool blob = IsBlobFileName(file.name);
      if (!blob && ++side_files > kMaxFiles) return Status::Corruption(source + ": the manifest's file list is not valid");
      if (file.name.empty() || (!blob && file.name.find('/') != std::string::npos) || file.name.starts_with(".") ||
          !seen.insert(file.name).second) {
        return Status::Corruption(source + ": the manifest names a file \"" + file.name + "\" that cannot be restored");
      }
      if (size > bytes.size() - offset) {
        return Status::Corruption(source + ": cut short: " + file.name + " needs " + std::to_string(size) + " bytes, " +
                                  std::to_string(bytes.size() - offset) + " remain");
      }
      file.bytes.assign(bytes.substr(offset, size));
      offset += size;
      if (crypto::Sha256Hex(file.bytes) != sha) {
        return Status::Corruption(source + ": " + file.name + " does not match its SHA-256 in the manifest; the backup was altered or damaged");
      }
      b.files.push_back(std::move(file));
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(source + ": the manifest is not valid: " + e.what());
  }
  if (offset != bytes.size()) return Status::Corruption(source + ": " + std::to_string(bytes.size() - offset) + " bytes follow the last file");
  if (b.files.empty() || b.files.front().name != kDbName) return Status::Corruption(source + ": holds no server.db");
  return b;
}

Status RestoreBackup(const Backup& b, const std::string& dir, const std::function<Status(const std::string&)>& check) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    if (!std::filesystem::is_directory(dir, ec) || !std::filesystem::is_empty(dir, ec)) {
      return Status::AlreadyExists(dir + " exists and is not an empty directory; restore into a new directory");
    }
    std::filesystem::remove(dir, ec);
  }
  std::filesystem::path target = std::filesystem::absolute(dir, ec);
  const std::string tmp = (target.parent_path() / ("." + target.filename().string() + ".restoring")).string();
  std::filesystem::remove_all(tmp, ec);
  if (::mkdir(tmp.c_str(), 0700) != 0) return Status::IOError(tmp + ": " + std::strerror(errno));
  Status s = [&]() -> Status {
    std::set<std::string> made;  // blobs/ and blobs/<2 hex>/, each synced once its files are written
    for (const auto& f : b.files) {
      if (const auto slash = f.name.rfind('/'); slash != std::string::npos) {
        const std::string sub = tmp + "/" + f.name.substr(0, slash);
        if (made.insert(sub).second) {
          std::filesystem::create_directories(sub, ec);
          if (ec) return Status::IOError(sub + ": " + ec.message());
          made.insert(tmp + "/" + std::string(kBlobsDir));
        }
      }
      MNR_RETURN_IF_ERROR(WriteNewFile(tmp + "/" + f.name, f.bytes, f.mode));
    }
    for (const auto& d : made) MNR_RETURN_IF_ERROR(SyncPath(d, O_RDONLY | O_DIRECTORY));
    MNR_RETURN_IF_ERROR(SyncPath(tmp, O_RDONLY | O_DIRECTORY));
    if (check) MNR_RETURN_IF_ERROR(check(tmp));
    if (::rename(tmp.c_str(), target.c_str()) != 0) return Status::IOError("cannot move the restored store to " + dir + ": " + std::strerror(errno));
    return SyncPath(target.parent_path().string(), O_RDONLY | O_DIRECTORY);
  }();
  if (!s.ok()) std::filesystem::remove_all(tmp, ec);
  return s;
}

Result<std::string> BackupBeforeMigration(const std::string& dir, int from_version, int to_version, std::int64_t now) {
  auto backup = TakeBackup(dir, now);
  if (!backup.ok()) return backup.status().With("backup before migrating the store from version " + std::to_string(from_version));
  const std::string folder = dir + "/backups";
  if (::mkdir(folder.c_str(), 0700) != 0 && errno != EEXIST) return Status::IOError(folder + ": " + std::strerror(errno));
  char stamp[32];
  const std::time_t t = static_cast<std::time_t>(now);
  std::tm tm {};
  ::gmtime_r(&t, &tm);
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  const std::string path = folder + "/before-version-" + std::to_string(to_version) + "-" + stamp + ".mnrbak";
  MNR_RETURN_IF_ERROR(WriteFileAtomic(path, EncodeBackup(*backup), 0600));
  return path;
}

Status RecordBackupTaken(const std::string& dir, const std::string& out, std::int64_t at, const std::string& sha256) {
  const nlohmann::json record = {{"at", at}, {"file", out}, {"sha256", sha256}};
  return WriteFileAtomic(dir + "/" + kRecordName, record.dump() + "\n", 0600);
}

Result<std::int64_t> LastBackupAt(const std::string& dir) {
  const std::string path = dir + "/" + kRecordName;
  if (!FileExists(path)) return std::int64_t{0};
  auto text = ReadFile(path, 64 * 1024);
  if (!text.ok()) return text.status();
  try {
    return nlohmann::json::parse(*text).at("at").get<std::int64_t>();
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(path + " is not valid: " + e.what());
  }
}

}  // namespace mnr::server
