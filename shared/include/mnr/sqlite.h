// A thin RAII layer over SQLite used by both stores (client and server); each store owns its schema.
// A Db is used from one thread at a time. Errors are converted to Status once, here, with the
// statement or file they concern.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "mnr/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace mnr {

// A prepared statement. One made by Db::Prepare is owned and finalized on destruction; one lent by
// Db::Cached goes back to the cache (reset, bindings cleared) on destruction instead.
class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& o) noexcept;
  Statement& operator=(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQLite. Text and blobs are copied.
  Statement& Bind(int i, std::int64_t v);
  Statement& Bind(int i, std::string_view text);
  Statement& Bind(int i, const char* text) { return Bind(i, std::string_view(text)); }
  Statement& Bind(int i, const std::string& text) { return Bind(i, std::string_view(text)); }
  Statement& Bind(int i, const std::optional<std::string>& text_or_null);
  Statement& BindBlob(int i, std::string_view bytes);
  Statement& BindNull(int i);

  // true: a row is ready; false: done. Errors carry the SQL text.
  Result<bool> Step();
  // Runs to completion (for statements that return no rows).
  Status Run();
  void Reset();

  std::int64_t Int(int col) const;
  std::string Text(int col) const;                 // NULL reads as ""
  std::optional<std::string> OptText(int col) const;
  std::string Blob(int col) const;
  bool IsNull(int col) const;

 private:
  friend class Db;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  bool* lent_ = nullptr;  // set while lent by Db::Cached: cleared when the statement goes back
};

class Db {
 public:
  // Opens (creating if `create`) in WAL mode with foreign keys on, synchronous=FULL (an acknowledged
  // write survives power loss) and a busy timeout, so admin commands can run beside a live server.
  static Result<std::unique_ptr<Db>> Open(const std::string& path, bool create);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  Status Exec(std::string_view sql);
  Result<Statement> Prepare(std::string_view sql);
  // The same as Prepare for SQL that runs again and again (intake runs a few dozen statements per
  // change-set; compiling them was half its cost): the first call compiles `sql` and keeps it, later
  // calls lend the kept statement, reset and with no bindings. When the returned Statement goes, the
  // statement is reset (so a half-read SELECT holds no read snapshot open) and goes back to the cache.
  // If the same SQL is already lent (a nested use), or the cache holds kMaxCached statements, the
  // result is a fresh statement as from Prepare. A lent statement must not outlive this Db.
  Result<Statement> Cached(std::string_view sql);
  static constexpr std::size_t kMaxCached = 256;
  std::int64_t LastInsertRowId() const;
  int Changes() const;
  const std::string& path() const { return path_; }
  sqlite3* raw() { return db_; }

  // user_version pragma: the store's schema version.
  Result<int> UserVersion();

 private:
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  struct Kept {
    sqlite3_stmt* stmt = nullptr;
    bool lent = false;
  };
  sqlite3* db_;
  std::string path_;
  std::unordered_map<std::string, Kept> cache_;  // node-based: a Kept's address is stable
};

// BEGIN IMMEDIATE on construction (takes the write lock up front, so a busy store waits here rather
// than failing mid-transaction); rolls back on destruction unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Db& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  const Status& status() const { return begin_; }
  Status Commit();

 private:
  Db& db_;
  Status begin_;
  bool done_ = false;
};

}  // namespace mnr
