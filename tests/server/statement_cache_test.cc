// Db::Cached: the statement cache intake relies on (mnr/sqlite.h).
#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "mnr/sqlite.h"
#include "tests/support/process.h"

namespace mnr {
namespace {

// Statements compiled on the connection, and how many of them are mid-step (holding a read snapshot).
struct StatementCount {
  int compiled = 0;
  int busy = 0;
};

StatementCount Count(Db& db) {
  StatementCount c;
  for (sqlite3_stmt* s = sqlite3_next_stmt(db.raw(), nullptr); s != nullptr; s = sqlite3_next_stmt(db.raw(), s)) {
    ++c.compiled;
    if (sqlite3_stmt_busy(s)) ++c.busy;
  }
  return c;
}

std::unique_ptr<Db> NumbersDb(const test::TempDir& dir) {
  auto db = Db::Open(dir / "cache.db", true);
  REQUIRE(db.ok());
  REQUIRE((*db)->Exec("CREATE TABLE n (v INTEGER); INSERT INTO n VALUES (1), (2), (3);").ok());
  return std::move(*db);
}

constexpr const char* kAbove = "SELECT v FROM n WHERE v > ? ORDER BY v";

}  // namespace

TEST_CASE("A cached statement is compiled once and lent again, reset and without bindings") {
  test::TempDir dir;
  auto db = NumbersDb(dir);
  {
    auto st = db->Cached(kAbove);
    REQUIRE(st.ok());
    st->Bind(1, std::int64_t{1});
    auto row = st->Step();
    REQUIRE((row.ok() && *row));
    CHECK(st->Int(0) == 2);  // left mid-read on purpose
  }
  CHECK(Count(*db).compiled == 1);
  CHECK(Count(*db).busy == 0);
  auto again = db->Cached(kAbove);
  REQUIRE(again.ok());
  CHECK(Count(*db).compiled == 1);
  // No binding carried over: "v > NULL" matches nothing.
  auto row = again->Step();
  REQUIRE(row.ok());
  CHECK_FALSE(*row);
  again->Reset();
  again->Bind(1, std::int64_t{0});
  row = again->Step();
  REQUIRE((row.ok() && *row));
  CHECK(again->Int(0) == 1);
}

TEST_CASE("The same SQL used while it is lent gets a statement of its own, which goes when it is done") {
  test::TempDir dir;
  auto db = NumbersDb(dir);
  auto outer = db->Cached(kAbove);
  REQUIRE(outer.ok());
  outer->Bind(1, std::int64_t{0});
  auto first = outer->Step();
  REQUIRE((first.ok() && *first));
  {
    auto inner = db->Cached(kAbove);
    REQUIRE(inner.ok());
    inner->Bind(1, std::int64_t{2});
    auto r = inner->Step();
    REQUIRE((r.ok() && *r));
    CHECK(inner->Int(0) == 3);
    CHECK(Count(*db).compiled == 2);
  }
  CHECK(Count(*db).compiled == 1);
  // The outer read goes on where it was.
  auto second = outer->Step();
  REQUIRE((second.ok() && *second));
  CHECK(outer->Int(0) == 2);
}

TEST_CASE("A cached statement that fails to compile is an error naming the SQL and is not kept") {
  test::TempDir dir;
  auto db = NumbersDb(dir);
  auto st = db->Cached("SELECT nothing FROM nowhere");
  REQUIRE_FALSE(st.ok());
  CHECK(st.status().message().find("SELECT nothing FROM nowhere") != std::string::npos);
  CHECK(Count(*db).compiled == 0);
}

}  // namespace mnr
