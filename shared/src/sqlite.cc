#include "mnr/sqlite.h"

#include <sqlite3.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace mnr {
namespace {

std::string FolderOf(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

// SQLite says "disk I/O error" or "database or disk is full" when the disk is full; say what to do.
bool DiskFull(sqlite3* db) {
  if (!db) return false;
  const int code = sqlite3_errcode(db);
  return code == SQLITE_FULL || ((code == SQLITE_IOERR || code == SQLITE_CANTOPEN) && sqlite3_system_errno(db) == ENOSPC);
}

Status DiskFullError(const std::string& what, const std::string& path, std::string_view sqlite_message) {
  return Status::IOError(what + ": the disk holding " + FolderOf(path) + " is full (" + std::string(sqlite_message) +
                         "): free space on it (old exports, bundles, backups or other files you no longer need) "
                         "and run the command again; nothing was changed");
}

Status SqliteError(sqlite3* db, std::string_view context) {
  std::string msg = std::string(context) + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
  const int code = db ? sqlite3_errcode(db) : SQLITE_NOMEM;
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) return Status::Corruption(msg);
  if (code == SQLITE_CONSTRAINT) return Status::InvalidArgument(msg);
  if (DiskFull(db)) {
    return Status::IOError(msg + " (the disk is full: free space on it, then run the command again; the "
                                 "transaction was not committed)");
  }
  return Status::IOError(msg);
}

// Why opening the store at `path` failed, in words a person can act on: SQLite's own ("unable to open
// database file", "disk I/O error") do not say that the folder is read-only or the disk full. SQLite
// must write beside a WAL store (its -wal and -shm files) even to read it.
Status OpenError(sqlite3* db, const std::string& path, Status fallback) {
  const std::string dir = FolderOf(path);
  const std::string sqlite_message = db ? sqlite3_errmsg(db) : "out of memory";
  if (DiskFull(db)) return DiskFullError(path, path, sqlite_message);
  const int code = db ? sqlite3_errcode(db) : SQLITE_NOMEM;
  const int err = db ? sqlite3_system_errno(db) : 0;
  if (code != SQLITE_CANTOPEN && code != SQLITE_READONLY && code != SQLITE_IOERR && code != SQLITE_PERM) return fallback;
  struct statvfs fs {};
  const bool read_only_fs = ::statvfs(dir.c_str(), &fs) == 0 && (fs.f_flag & ST_RDONLY) != 0;
  if (read_only_fs || err == EROFS || ::access(dir.c_str(), W_OK) != 0) {
    return Status::PermissionDenied(path + ": the store's folder " + dir + " is read-only (" + sqlite_message +
                                    "): copy the store (with its -wal file, if there is one) to a writable disk and "
                                    "use the copy; SQLite writes beside a store even to read it");
  }
  if (::access(path.c_str(), W_OK) != 0 && errno != ENOENT) {
    return Status::PermissionDenied(path + ": the store file is read-only (" + sqlite_message +
                                    "): make it writable (chmod u+w " + path + ") or copy it to a writable disk");
  }
  return fallback;
}

std::string Excerpt(std::string_view sql) {
  std::string s(sql.substr(0, 80));
  for (char& c : s) if (c == '\n') c = ' ';
  return s;
}

}  // namespace

Statement::Statement(Statement&& o) noexcept : db_(o.db_), stmt_(o.stmt_), lent_(o.lent_) {
  o.stmt_ = nullptr;
  o.lent_ = nullptr;
}

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    this->~Statement();
    db_ = o.db_;
    stmt_ = o.stmt_;
    lent_ = o.lent_;
    o.stmt_ = nullptr;
    o.lent_ = nullptr;
  }
  return *this;
}

Statement::~Statement() {
  if (!stmt_) return;
  if (lent_) {
    Reset();
    *lent_ = false;
  } else {
    sqlite3_finalize(stmt_);
  }
  stmt_ = nullptr;
  lent_ = nullptr;
}

Statement& Statement::Bind(int i, std::int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}

Statement& Statement::Bind(int i, std::string_view text) {
  sqlite3_bind_text64(stmt_, i, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Statement& Statement::Bind(int i, const std::optional<std::string>& text_or_null) {
  return text_or_null ? Bind(i, std::string_view(*text_or_null)) : BindNull(i);
}

Statement& Statement::BindBlob(int i, std::string_view bytes) {
  sqlite3_bind_blob64(stmt_, i, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::BindNull(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

Result<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, Excerpt(sqlite3_sql(stmt_)));
}

Status Statement::Run() {
  for (;;) {
    auto r = Step();
    if (!r.ok()) return r.status();
    if (!*r) return Status::OK();
  }
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::Int(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Statement::Text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (!p) return {};
  return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::optional<std::string> Statement::OptText(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Text(col);
}

std::string Statement::Blob(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
  if (!p) return {};
  return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

bool Statement::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

Result<std::unique_ptr<Db>> Db::Open(const std::string& path, bool create) {
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &raw, flags, nullptr) != SQLITE_OK) {
    Status s = raw ? SqliteError(raw, path) : Status::IOError(path + ": cannot open");
    if (raw && !create && sqlite3_errcode(raw) == SQLITE_CANTOPEN && ::access(path.c_str(), F_OK) != 0) {
      s = Status::NotFound(path + ": no such store (create it with init)");
    } else if (raw) {
      s = OpenError(raw, path, s);
    }
    sqlite3_close(raw);
    return s;
  }
  std::unique_ptr<Db> db(new Db(raw, path));
  sqlite3_busy_timeout(raw, 15000);
  sqlite3_extended_result_codes(raw, 0);
  // journal_mode is checked: WAL is what makes readers and the live server coexist.
  auto st = db->Prepare("PRAGMA journal_mode=WAL");
  if (!st.ok()) return OpenError(raw, path, st.status().With(path));
  auto row = st->Step();
  if (!row.ok()) return OpenError(raw, path, row.status().With(path));
  if (!*row || st->Text(0) != "wal") return OpenError(raw, path, Status::IOError(path + ": cannot switch to WAL mode"));
  if (Status s = db->Exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"); !s.ok()) return OpenError(raw, path, s.With(path));
  return db;
}

Db::~Db() {
  for (auto& [sql, kept] : cache_) sqlite3_finalize(kept.stmt);
  sqlite3_close_v2(db_);
}

Status Db::Exec(std::string_view sql) {
  char* err = nullptr;
  const std::string s(sql);
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    Status st = SqliteError(db_, Excerpt(sql));
    sqlite3_free(err);
    return st;
  }
  return Status::OK();
}

Result<Statement> Db::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db_, Excerpt(sql));
  }
  return Statement(db_, stmt);
}

Result<Statement> Db::Cached(std::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it == cache_.end()) {
    if (cache_.size() >= kMaxCached) return Prepare(sql);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) !=
        SQLITE_OK) {
      return SqliteError(db_, Excerpt(sql));
    }
    it = cache_.emplace(std::string(sql), Kept{stmt, false}).first;
  } else if (it->second.lent) {
    return Prepare(sql);
  }
  Statement st(db_, it->second.stmt);
  st.lent_ = &it->second.lent;
  it->second.lent = true;
  return st;
}

std::int64_t Db::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }

int Db::Changes() const { return sqlite3_changes(db_); }

Result<int> Db::UserVersion() {
  auto st = Prepare("PRAGMA user_version");
  if (!st.ok()) return st.status();
  auto row = st->Step();
  if (!row.ok()) return row.status();
  return static_cast<int>(st->Int(0));
}

Transaction::Transaction(Db& db) : db_(db), begin_(db.Exec("BEGIN IMMEDIATE")) {}

Transaction::~Transaction() {
  if (begin_.ok() && !done_) (void)db_.Exec("ROLLBACK");
}

Status Transaction::Commit() {
  if (!begin_.ok()) return begin_;
  Status s = db_.Exec("COMMIT");
  if (s.ok()) done_ = true;
  return s;
}

}  // namespace mnr
