// `audit verify` against a store whose SQLite file was edited behind the server's back: each kind of
// tampering is caught and named. (tests/e2e/audit_test.cc does the same through the real binaries.)
#include <catch2/catch.hpp>

#include "mnr/audit_format.h"
#include "server/audit_trail.h"
#include "server/merged_state.h"
#include "server/register.h"
#include "server/server_store.h"
#include "tests/server/fixture.h"

namespace mnr::server {
namespace {

using namespace mnr::server::testing;


}  // namespace

TEST_CASE("audit verify: each edit of the store file is caught and named") {
  ServerWorld w;
  // Entries 0-4: register and credentials; 5-7 change-sets; 8 a resolution; then a head over all.
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, Answer("yes"), T(1), "dev-a"),
                                                             Edit(kC11, Answer("partial", "a note"), T(1), "dev-a")}), w.q01a)).outcome);
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01b, "dev-b", 1, {Edit(kC00, Answer("no"), T(2), "dev-b")}), w.q01b)).outcome);
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q02, "dev-q", 1, {Edit(AnswerField("Q02", "c00_mnr_reference"), Answer("yes"), T(3), "dev-q")}), w.q02)).outcome);
  auto conflicts = Conflicts(w.store->db(), true);
  REQUIRE(conflicts.ok());
  REQUIRE(conflicts->size() == 1);
  REQUIRE(ResolveConflict(w.store->db(), conflicts->front().id, Answer("partial"), "alice", "agreed on the phone").ok());
  REQUIRE(CurrentTreeHead(w.store->db(), w.store->HeadSigner()).ok());
  {
    auto ok = VerifyAuditTrail(*w.store);
    INFO(ok.status().message());
    REQUIRE(ok.ok());
    CHECK(ok->summary.entries == 9);
    CHECK(ok->fields == 3);
  }
  // Whoever edits the file can drop the triggers too.
  Sql(w, "DROP TRIGGER audit_entries_no_update; DROP TRIGGER audit_entries_no_delete; "
         "DROP TRIGGER audit_tree_heads_no_update; DROP TRIGGER audit_tree_heads_no_delete;");

  SECTION("an answer in the merged state") {
    Sql(w, "UPDATE fields SET value = 'yes' WHERE field = '" + kC11 + "'");
    CHECK(VerifyFailure(w).find("merged value of " + kC11) != std::string::npos);
  }
  SECTION("an entry deleted") {
    Sql(w, "DELETE FROM audit_entries WHERE idx = 6");
    CHECK(VerifyFailure(w).find("entry 6") != std::string::npos);
  }
  SECTION("the last entry deleted") {
    Sql(w, "DELETE FROM audit_entries WHERE idx = 8");
    const std::string why = VerifyFailure(w);
    CHECK(why.find("tree head of size 9") != std::string::npos);
  }
  SECTION("two entries swapped") {
    Sql(w, "UPDATE audit_entries SET idx = -1 WHERE idx = 5; UPDATE audit_entries SET idx = 5 WHERE idx = 6; "
           "UPDATE audit_entries SET idx = 6 WHERE idx = -1;");
    CHECK(VerifyFailure(w).find("entry 5") != std::string::npos);
  }
  SECTION("a stored change-set's signature") {
    Sql(w, "UPDATE changesets SET signature = zeroblob(64) WHERE device_id = 'dev-b'");
    const std::string why = VerifyFailure(w);
    CHECK(why.find("entry 6") != std::string::npos);
    CHECK(why.find("signature differs") != std::string::npos);
  }
  SECTION("a signature inside the log") {
    Sql(w, "UPDATE audit_entries SET payload = substr(payload, 1, length(payload) - 64) || zeroblob(64) WHERE idx = 7");
    CHECK(VerifyFailure(w).find("entry 7 (change-set)") != std::string::npos);
  }
  SECTION("a tree head's signature") {
    Sql(w, "UPDATE audit_tree_heads SET signature = zeroblob(64)");
    CHECK(VerifyFailure(w).find("the server's signature does not verify") != std::string::npos);
  }
  SECTION("a stored edit") {
    Sql(w, "UPDATE ops SET value = 'unknown' WHERE author = 'dev-q'");
    CHECK(VerifyFailure(w).find("entry 7: the stored edit") != std::string::npos);
  }
  SECTION("an edit with no change-set behind it") {
    Sql(w, "INSERT INTO ops (field, version, value, hlc, author, parents, resolution_id) "
           "SELECT field, '00000000000000ff@ghost', 'yes', 255, 'ghost', '[]', resolution_id FROM ops WHERE resolution_id IS NOT NULL");
    CHECK(VerifyFailure(w).find("no audit entry holds it") != std::string::npos);
  }
  SECTION("a credential's certificate") {
    Sql(w, "UPDATE credentials SET certificate_pem = (SELECT certificate_pem FROM credentials WHERE id = '" + w.q01b.id +
               "') WHERE id = '" + w.q01a.id + "'");
    CHECK(VerifyFailure(w).find("credential " + w.q01a.id) != std::string::npos);
  }
  SECTION("a revocation undone") {
    REQUIRE(RevokeCredential(w.store->db(), w.q02.id).ok());
    Sql(w, "UPDATE credentials SET revoked_at = NULL WHERE id = '" + w.q02.id + "'");
    CHECK(VerifyFailure(w).find("not revoked") != std::string::npos);
  }
  SECTION("a resolution's reason") {
    Sql(w, "UPDATE resolutions SET reason = 'nobody asked'");
    CHECK(VerifyFailure(w).find("entry 8 (resolution") != std::string::npos);
  }
  SECTION("the country register") {
    Sql(w, "UPDATE countries SET income_group = 'low' WHERE code = 'Q01'");
    CHECK(VerifyFailure(w).find("country Q01") != std::string::npos);
  }
  SECTION("a conflict reopened") {
    Sql(w, "UPDATE conflicts SET status = 'open'");
    CHECK(VerifyFailure(w).find("conflicts of " + kC00) != std::string::npos);
  }
  SECTION("a change-set removed with everything it wrote") {
    Sql(w, "DELETE FROM ops WHERE author = 'dev-q'; DELETE FROM fields WHERE country = 'Q02'; "
           "DELETE FROM changesets WHERE device_id = 'dev-q'; DELETE FROM devices WHERE device_id = 'dev-q';");
    CHECK(VerifyFailure(w).find("entry 7 (change-set") != std::string::npos);
  }
}

}  // namespace mnr::server
