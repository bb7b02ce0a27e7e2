#include <catch2/catch.hpp>
#include <string>

#include "client/client_store.h"
#include "tests/client/client_test_util.h"

namespace mnr::embedded {
std::string_view client_store_v1();
}

using namespace mnr;
using namespace mnr::client;
using namespace mnr::client::testing;

TEST_CASE("a version 1 store is migrated forward on open and keeps its data", "[client][migration]") {
  test::TempDir dir;
  const std::string path = dir / "v1.db";
  {
    auto db = Db::Open(path, true);
    REQUIRE(db.ok());
    Db& d = **db;
    REQUIRE(d.Exec(embedded::client_store_v1()).ok());
    REQUIRE(d.UserVersion().value() == 1);
    REQUIRE(d.Exec("INSERT INTO meta (key, value) VALUES ('device_id', '00112233445566aa'), "
                   "('device_name', 'old laptop'), ('countries', 'Q01,Q02'), ('hlc', '0'), "
                   "('next_changeset_seq', '1')")
                .ok());
    REQUIRE(d.Exec("INSERT INTO answers VALUES ('Q01', 'c11_child_helpline', 'yes', 'kept from v1')").ok());
    REQUIRE(d.Exec("INSERT INTO field_versions VALUES ('answer/Q01/c11_child_helpline', "
                   "'0000000000010000@00112233445566aa')")
                .ok());
    REQUIRE(d.Exec("INSERT INTO change_log (hlc, author, field, old_value, new_value, origin, parents, created_at) "
                   "VALUES (65536, '00112233445566aa', 'answer/Q01/c11_child_helpline', NULL, "
                   "'yes\nkept from v1', 'local', '', 0)")
                .ok());
    REQUIRE_FALSE(d.Exec("SELECT * FROM sync_history").ok());
  }

  auto opened = ClientStore::Open(path);
  INFO(opened.status().message());
  REQUIRE(opened.ok());
  ClientStore& store = *opened.value();
  Db& db = store.db();
  CHECK(db.UserVersion().value() == 7);
  CHECK(QueryInt(db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'change_log_field'") == 1);
  CHECK(QueryInt(db, "SELECT COUNT(*) FROM sync_history") == 0);
  CHECK(store.identity().device_id == "00112233445566aa");
  CHECK(store.identity().countries == std::vector<std::string>{"Q01", "Q02"});
  auto rows = store.Answers();
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  CHECK(rows->at(0).value.note == "kept from v1");
  CHECK(rows->at(0).version == "0000000000010000@00112233445566aa");
  // Answers from before survey rounds are of the first round, which the store works on.
  CHECK(store.round() == "2025");
  CHECK(QueryText(db, "SELECT round FROM answers") == "2025");
  auto state = store.State();
  REQUIRE(state.ok());
  CHECK(state->unsynced_edits == 1);

  // The migrated store works like a new one: the next edit's parent is the v1 version.
  REQUIRE(store.ApplyAnswers({Set("Q01", "c11_child_helpline", Answer::kNo)}).ok());
  CHECK(QueryText(db, "SELECT parents FROM change_log ORDER BY seq DESC LIMIT 1") == "0000000000010000@00112233445566aa");
  REQUIRE(store.RecordSync("pushed 1 change-set").ok());
  CHECK(QueryText(db, "SELECT result FROM sync_history") == "pushed 1 change-set");
  state = store.State();
  REQUIRE(state.ok());
  CHECK(state->last_sync_at.has_value());
  CHECK(state->last_sync_result == "pushed 1 change-set");

  // Opening again does not migrate twice.
  opened.value().reset();
  auto again = ClientStore::Open(path);
  REQUIRE(again.ok());
  CHECK(again.value()->db().UserVersion().value() == 7);
}

TEST_CASE("a store from a newer mnr-client, or a foreign file, is refused", "[client][migration]") {
  test::TempDir dir;
  const std::string path = dir / "s.db";
  NewStore(path, {"Q01"});
  {
    auto db = Db::Open(path, false);
    REQUIRE(db.ok());
    REQUIRE((*db)->Exec("PRAGMA user_version = 99").ok());
  }
  auto newer = ClientStore::Open(path);
  REQUIRE_FALSE(newer.ok());
  CHECK_THAT(newer.status().message(), Catch::Contains("store schema version 99, newer than this mnr-client"));

  const std::string foreign = dir / "foreign.db";
  {
    auto db = Db::Open(foreign, true);
    REQUIRE(db.ok());
    REQUIRE((*db)->Exec("CREATE TABLE t (x)").ok());
  }
  auto f = ClientStore::Open(foreign);
  REQUIRE_FALSE(f.ok());
  CHECK_THAT(f.status().message(), Catch::Contains("is not an mnr-client store"));

  test::WriteText(dir / "text.db", "just some text, not SQLite at all, long enough to have a header......");
  auto t = ClientStore::Open(dir / "text.db");
  REQUIRE_FALSE(t.ok());
}
