#include "server/intake.h"
#include "server/merged_state.h"
#include "server/pull.h"
#include "server/register.h"
#include "server/server_store.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <random>

#include "mnr/crypto.h"
#include "mnr/file_util.h"
#include "tests/server/fixture.h"

namespace mnr::server {
namespace {

using namespace mnr::server::testing;

const std::string kC01 = AnswerField("Q01", "c01_governance_mechanism");

}  // namespace

TEST_CASE("server store: init creates keys with mode 0600 and refuses an existing directory") {
  ServerWorld w;
  for (const auto& key : {w.store->paths().ca_key(), w.store->paths().server_key(), w.store->paths().sealing_key()}) {
    struct stat sb;
    REQUIRE(::stat(key.c_str(), &sb) == 0);
    CHECK((sb.st_mode & 0777) == 0600);
  }
  struct stat sb;
  REQUIRE(::stat(w.dir.c_str(), &sb) == 0);
  CHECK((sb.st_mode & 0777) == 0700);
  CHECK(w.store->store_id().size() == 32);
  auto key = w.store->SealingPrivateKey();
  REQUIRE(key.ok());
  CHECK(key->size() == 32);

  Status again = ServerStore::Init(w.dir, {}, "localhost:7443");
  CHECK(again.code() == Status::Code::kAlreadyExists);
  CHECK(FileExists(w.store->paths().db()));
  // Nothing half-made is left beside it either.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(w.tmp.path())) ++entries;
  CHECK(entries == 1);

  CHECK(ServerStore::Init(w.tmp / "other", {}, "no-port").code() == Status::Code::kInvalidArgument);
  CHECK_FALSE(FileExists(w.tmp / "other"));
}

TEST_CASE("server store: credentials carry the server's identity and can be revoked") {
  ServerWorld w;
  CHECK(w.q01a.id.rfind("cred-", 0) == 0);
  CHECK(w.q01a.id.size() == 5 + 16);
  CHECK(w.q01a.server_address == "localhost:7443");
  CHECK(w.q01a.sealing_public_key.size() == 32);
  CHECK(w.q01a.countries == std::vector<std::string>{"Q01"});
  CHECK(w.q01a.ca_certificate_pem == ReadFile(w.store->paths().ca_cert(), 1 << 20).value());

  auto rec = FindCredential(w.store->db(), w.q01a.id);
  REQUIRE(rec.ok());
  REQUIRE(rec->has_value());
  CHECK((*rec)->role == Role::kField);
  CHECK((*rec)->certificate_pem == w.q01a.certificate_pem);
  CHECK(CheckCredentialUsable(**rec, NowSeconds()).ok());
  CHECK_FALSE(CheckCredentialUsable(**rec, (*rec)->expires_at).ok());

  REQUIRE(RevokeCredential(w.store->db(), w.q01a.id).ok());
  rec = FindCredential(w.store->db(), w.q01a.id);
  CHECK((*rec)->revoked_at.has_value());
  CHECK(CheckCredentialUsable(**rec, NowSeconds()).code() == Status::Code::kRefused);
  CHECK(RevokeCredential(w.store->db(), "cred-0000000000000000").code() == Status::Code::kNotFound);

  // A field credential needs countries of the register.
  CHECK_FALSE(IssueCredential(w.store->db(), w.store->paths(), Role::kField, {}, "nobody", 3600).ok());
  CHECK_FALSE(IssueCredential(w.store->db(), w.store->paths(), Role::kField, {"Q99"}, "unknown country", 3600).ok());
  auto creds = Credentials(w.store->db());
  REQUIRE(creds.ok());
  CHECK(creds->size() == 4);
}

TEST_CASE("server store: a change-set is stored with its signature and merged") {
  ServerWorld w;
  ChangeSet cs = MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, Answer("yes", "a note, with \"quotes\""), T(1), "dev-a")});
  auto in = w.Receive(Seal(cs, w.q01a));
  REQUIRE_FALSE(in.refusal.has_value());
  REQUIRE(in.outcome.has_value());
  CHECK(in.outcome->changeset_id == ChangeSetId(SerializeChangeSet(cs)));
  CHECK_FALSE(in.outcome->duplicate);
  CHECK(in.outcome->acked_through == 1);
  CHECK(in.outcome->fields_changed == 1);

  auto st = w.store->db().Prepare("SELECT body, signature, source FROM changesets");
  REQUIRE(st.ok());
  REQUIRE(*st->Step());
  CHECK(st->Blob(0) == SerializeChangeSet(cs));
  CHECK(crypto::VerifyWithCertificate(w.q01a.certificate_pem, st->Blob(0), st->Blob(1)).ok());
  CHECK(st->Text(2) == "bundle");

  auto f = w.Field(kC00);
  REQUIRE(f.has_value());
  CHECK(f->value == Answer("yes", "a note, with \"quotes\""));
  CHECK(f->version == OperationVersion(T(1), "dev-a"));

  auto answers = MergedAnswers(w.store->db());
  REQUIRE(answers.ok());
  REQUIRE(answers->size() == 1);
  CHECK((*answers)[0].country == "Q01");
  CHECK((*answers)[0].value.answer == mnr::Answer::kYes);
}

TEST_CASE("server store: a duplicate changes nothing, a reused sequence number is refused") {
  ServerWorld w;
  ChangeSet cs = MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, Answer("no"), T(1), "dev-a")});
  REQUIRE(w.Receive(Seal(cs, w.q01a)).outcome.has_value());
  const std::string hash = w.Hash();
  auto batch = PullSince(w.store->db(), {}, 0, 100);
  const std::uint64_t cursor = batch->next_cursor;

  // Sealed again (other bytes on the wire, same content): a duplicate.
  auto again = w.Receive(Seal(cs, w.q01a));
  REQUIRE(again.outcome.has_value());
  CHECK(again.outcome->duplicate);
  CHECK(again.outcome->acked_through == 1);
  CHECK(w.Hash() == hash);
  CHECK(w.Count("changesets") == 1);
  CHECK(w.Count("ops") == 1);
  CHECK(PullSince(w.store->db(), {}, cursor, 100)->fields.empty());

  ChangeSet other = MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, Answer("yes"), T(2), "dev-a")});
  auto reused = w.Receive(Seal(other, w.q01a));
  REQUIRE(reused.refusal.has_value());
  CHECK(reused.refusal->code == RefusalCode::kSequence);
  CHECK(w.Hash() == hash);
}

TEST_CASE("server store: a change-set touching a country outside the credential is refused whole") {
  ServerWorld w;
  const std::string q02 = AnswerField("Q02", "c00_mnr_reference");
  ChangeSet cs = MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, Answer("yes"), T(1), "dev-a"), Edit(q02, Answer("no"), T(2), "dev-a")});
  auto in = w.Receive(Seal(cs, w.q01a));
  REQUIRE(in.refusal.has_value());
  CHECK(in.refusal->code == RefusalCode::kScope);
  CHECK_THAT(in.refusal->reason, Catch::Contains("Q02") && Catch::Contains(q02));
  CHECK(w.Count("changesets") == 0);
  CHECK(w.Count("ops") == 0);
  CHECK(w.Count("fields") == 0);
  CHECK(w.Count("devices") == 0);
  CHECK(AckedThrough(w.store->db(), "dev-a") == 0);
}

TEST_CASE("server store: unknown, revoked, expired, mismatched and wrongly signed change-sets are refused") {
  ServerWorld w;
  ChangeSet cs = MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, Answer("yes"), T(1), "dev-a")});
  const std::string sealed = Seal(cs, w.q01a);

  SECTION("signed with another credential's key") {
    auto in = w.Receive(Seal(cs, w.q01b));
    REQUIRE(in.refusal.has_value());
    CHECK(in.refusal->code == RefusalCode::kBadChangeSet);
  }
  SECTION("revoked") {
    REQUIRE(RevokeCredential(w.store->db(), w.q01a.id).ok());
    auto in = w.Receive(sealed);
    REQUIRE(in.refusal.has_value());
    CHECK(in.refusal->code == RefusalCode::kCredential);
    CHECK_THAT(in.refusal->reason, Catch::Contains("revoked"));
  }
  SECTION("expired") {
    auto in = ReceiveChangeSet(*w.store, sealed, nullptr, w.q01a.expires_at + 1);
    REQUIRE(in.refusal.has_value());
    CHECK(in.refusal->code == RefusalCode::kCredential);
    CHECK_THAT(in.refusal->reason, Catch::Contains("expired"));
  }
  SECTION("unknown credential") {
    ChangeSet forged = cs;
    forged.credential_id = "cred-00000000deadbeef";
    auto in = w.Receive(Seal(forged, w.q01a));
    REQUIRE(in.refusal.has_value());
    CHECK(in.refusal->code == RefusalCode::kCredential);
  }
  SECTION("pushed over another credential's connection") {
    auto other = FindCredential(w.store->db(), w.q01b.id);
    auto in = w.Receive(sealed, &**other);
    REQUIRE(in.refusal.has_value());
    CHECK(in.refusal->code == RefusalCode::kCredential);
  }
  SECTION("signed by a coordinator") {
    ChangeSet c = MakeChangeSet(w.coordinator, "coord-laptop", 1, {Edit(kC00, Answer("yes"), T(1), "coord-laptop")});
    auto in = w.Receive(Seal(c, w.coordinator));
    REQUIRE(in.refusal.has_value());
    CHECK(in.refusal->code == RefusalCode::kRole);
  }
  SECTION("made with a newer survey schema") {
    ChangeSet c = cs;
    c.schema_version = 99;
    auto in = w.Receive(Seal(c, w.q01a));
    REQUIRE(in.refusal.has_value());
    CHECK(in.refusal->code == RefusalCode::kVersion);
  }
  SECTION("an edit claiming another author") {
    ChangeSet c = MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, Answer("yes"), T(1), "coordinator:eve")});
    auto in = w.Receive(Seal(c, w.q01a));
    REQUIRE(in.refusal.has_value());
    CHECK(in.refusal->code == RefusalCode::kBadChangeSet);
  }
  SECTION("a value that is not an answer, or an indicator outside the schema") {
    ChangeSet c = MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, std::string("maybe"), T(1), "dev-a")});
    CHECK(w.Receive(Seal(c, w.q01a)).refusal->code == RefusalCode::kBadChangeSet);
    ChangeSet d = MakeChangeSet(w.q01a, "dev-a", 1, {Edit(AnswerField("Q01", "c99_nothing"), Answer("yes"), T(1), "dev-a")});
    CHECK(w.Receive(Seal(d, w.q01a)).refusal->code == RefusalCode::kBadChangeSet);
  }
  SECTION("garbage") {
    auto in = w.Receive("not a sealed change-set");
    REQUIRE(in.refusal.has_value());
    CHECK(in.refusal->code == RefusalCode::kBadChangeSet);
  }
  CHECK(w.Count("changesets") == 0);
  CHECK(w.Count("ops") == 0);
}

TEST_CASE("server store: a device id belongs to the first credential that used it") {
  ServerWorld w;
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, Answer("yes"), T(1), "dev-a")}), w.q01a)).outcome);
  auto in = w.Receive(Seal(MakeChangeSet(w.q01b, "dev-a", 2, {Edit(kC01, Answer("yes"), T(2), "dev-a")}), w.q01b));
  REQUIRE(in.refusal.has_value());
  CHECK(in.refusal->code == RefusalCode::kCredential);
  CHECK(w.Count("changesets") == 1);
}

TEST_CASE("server store: acked-through counts the gap-free prefix of a device's sequence numbers") {
  ServerWorld w;
  auto push = [&](std::uint64_t seq) {
    auto in = w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", seq, {Edit(kC00, Answer("yes"), T(seq), "dev-a")}), w.q01a));
    REQUIRE(in.outcome.has_value());
    return in.outcome->acked_through;
  };
  CHECK(push(1) == 1);
  CHECK(push(3) == 1);
  CHECK(push(2) == 3);
  CHECK(AckedThrough(w.store->db(), "dev-a") == 3);
  CHECK(AckedThrough(w.store->db(), "dev-unknown") == 0);
}

TEST_CASE("server store: concurrent edits open a conflict, a sequential edit does not, a resolution wins") {
  ServerWorld w;
  const std::string va = OperationVersion(T(1), "dev-a");
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, Answer("yes"), T(1), "dev-a"),
                                                             Edit(kC01, Answer("no"), T(1), "dev-a")}), w.q01a)).outcome);
  // dev-b had pulled dev-a's c01 (sequential) but not c00 (concurrent).
  auto in = w.Receive(Seal(MakeChangeSet(w.q01b, "dev-b", 1, {Edit(kC00, Answer("no", "checked"), T(2), "dev-b"),
                                                              Edit(kC01, Answer("partial"), T(2), "dev-b", {va})}), w.q01b));
  REQUIRE(in.outcome.has_value());
  CHECK(in.outcome->conflicts_opened == 1);
  CHECK(in.outcome->fields_changed == 2);

  auto open = Conflicts(w.store->db(), true);
  REQUIRE(open.ok());
  REQUIRE(open->size() == 1);
  const Conflict& c = (*open)[0];
  CHECK(c.field == kC00);
  CHECK_FALSE(c.resolved);
  REQUIRE(c.candidates.size() == 2);
  CHECK(c.candidates[0].value == Answer("yes"));
  CHECK(c.candidates[0].author == "dev-a");
  CHECK(c.candidates[0].credential == w.q01a.id);
  CHECK(c.candidates[1].value == Answer("no", "checked"));
  CHECK(c.winner_version == OperationVersion(T(2), "dev-b"));  // last writer wins meanwhile
  CHECK(w.Field(kC01)->value == Answer("partial"));

  auto before = PullSince(w.store->db(), {"Q01"}, 0, 100);
  REQUIRE(before.ok());
  const std::uint64_t cursor = before->next_cursor;

  REQUIRE(ResolveConflict(w.store->db(), c.id, Answer("partial", "agreed"), "alice", "confirmed with the ministry").ok());
  auto resolved = FindConflict(w.store->db(), c.id);
  REQUIRE(resolved.ok());
  REQUIRE(resolved->has_value());
  CHECK((*resolved)->resolved);
  CHECK((*resolved)->resolved_by == "alice");
  CHECK((*resolved)->reason == "confirmed with the ministry");
  CHECK(Conflicts(w.store->db(), true)->empty());
  CHECK(Conflicts(w.store->db(), false)->size() == 1);

  auto after = PullSince(w.store->db(), {"Q01"}, cursor, 100);
  REQUIRE(after.ok());
  REQUIRE(after->fields.size() == 1);
  CHECK(after->fields[0].field == kC00);
  CHECK(after->fields[0].value == Answer("partial", "agreed"));
  CHECK(after->fields[0].version == *(*resolved)->resolution_version);
  CHECK(after->fields[0].version.find("@coordinator:alice") != std::string::npos);
  CHECK(after->fields[0].hlc > T(2));

  // Resolving twice, or resolving with a value that is not an answer, is refused.
  CHECK_FALSE(ResolveConflict(w.store->db(), c.id, Answer("yes"), "alice", "again").ok());
  CHECK(ResolveConflict(w.store->db(), 999, Answer("yes"), "alice", "none").code() == Status::Code::kNotFound);

  // A device that pulled the resolution edits on top of it: no new conflict.
  auto next = w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 2, {Edit(kC00, Answer("yes"), after->fields[0].hlc + 1, "dev-a",
                                                                      {after->fields[0].version})}), w.q01a));
  REQUIRE(next.outcome.has_value());
  CHECK(next.outcome->conflicts_opened == 0);
  CHECK(Conflicts(w.store->db(), true)->empty());
  CHECK(w.Field(kC00)->value == Answer("yes"));
}

TEST_CASE("server store: pulls are limited to the credential's countries and paged by cursor") {
  ServerWorld w;
  std::vector<Operation> ops;
  int step = 1;
  for (const char* ind : {"c00_mnr_reference", "c01_governance_mechanism", "c01_national_strategy"}) {
    ops.push_back(Edit(AnswerField("Q01", ind), Answer("yes"), T(step++), "dev-a"));
  }
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 1, ops), w.q01a)).outcome);
  const std::string practice = PracticeField("Q02", "e1", "title");
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q02, "dev-c", 1, {Edit(AnswerField("Q02", "c00_mnr_reference"), Answer("no"), T(9), "dev-c"),
                                                            Edit(practice, std::string("Helpline, 24/7"), T(9), "dev-c")}), w.q02)).outcome);

  auto q02 = PullSince(w.store->db(), {"Q02"}, 0, 100);
  REQUIRE(q02.ok());
  CHECK(q02->fields.size() == 2);
  CHECK_FALSE(q02->more);

  std::vector<std::string> seen;
  std::uint64_t cursor = 0;
  for (int page = 0; page < 10; ++page) {
    auto b = PullSince(w.store->db(), {"Q01"}, cursor, 2);
    REQUIRE(b.ok());
    for (const auto& f : b->fields) seen.push_back(f.field);
    cursor = b->next_cursor;
    if (!b->more) break;
  }
  CHECK(seen.size() == 3);
  CHECK(PullSince(w.store->db(), {}, 0, 100)->fields.size() == 5);
  CHECK(PullSince(w.store->db(), {"Q01"}, cursor, 100)->fields.empty());
}

TEST_CASE("server store: the same change-sets in 30 random orders with repetition give one state hash") {
  mnr::test::TempDir tmp;
  std::vector<std::string> sealed;
  std::string template_dir;
  {
    ServerWorld w;
    const Credential& a = w.q01a;
    const Credential& b = w.q01b;
    const Credential& c = w.q02;
    auto v = [](int step, const char* dev) { return OperationVersion(T(step), dev); };
    const std::string c02 = AnswerField("Q01", "c02_research_monitoring");
    const std::string q02 = AnswerField("Q02", "c00_mnr_reference");
    const std::string q03 = AnswerField("Q03", "c00_mnr_reference");
    const std::string title = PracticeField("Q02", "p1", "title");
    sealed = {
        Seal(MakeChangeSet(a, "dev-a", 1, {Edit(kC00, Answer("yes"), T(1), "dev-a"), Edit(kC01, Answer("no"), T(1), "dev-a")}), a),
        Seal(MakeChangeSet(a, "dev-a", 2, {Edit(kC00, Answer("partial", "draft"), T(5), "dev-a", {v(1, "dev-a")})}), a),
        Seal(MakeChangeSet(a, "dev-a", 3, {Edit(c02, Answer("yes"), T(6), "dev-a")}), a),
        Seal(MakeChangeSet(b, "dev-b", 1, {Edit(kC00, Answer("no"), T(3), "dev-b")}), b),
        Seal(MakeChangeSet(b, "dev-b", 2, {Edit(kC01, Answer("no", "seen"), T(4), "dev-b", {v(1, "dev-a")})}), b),
        Seal(MakeChangeSet(b, "dev-b", 3, {Edit(kC01, std::nullopt, T(7), "dev-b", {v(4, "dev-b")}),
                                           Edit(c02, Answer("unknown"), T(7), "dev-b")}), b),
        Seal(MakeChangeSet(c, "dev-c", 1, {Edit(q02, Answer("yes"), T(2), "dev-c"), Edit(title, std::string("Hotline"), T(2), "dev-c")}), c),
        Seal(MakeChangeSet(c, "dev-c", 2, {Edit(q03, Answer("no"), T(8), "dev-c"), Edit(title, std::string("Hotline, 24/7"), T(8), "dev-c", {v(2, "dev-c")})}), c),
        Seal(MakeChangeSet(c, "dev-d", 1, {Edit(q02, Answer("no"), T(3), "dev-d")}), c),
    };
    template_dir = tmp / "template";
    w.store.reset();
    std::filesystem::copy(w.dir, template_dir, std::filesystem::copy_options::recursive);
  }

  std::mt19937 rng(20261128);
  std::string expected;
  for (int run = 0; run < 30; ++run) {
    std::vector<std::string> order = sealed;
    for (const auto& s : sealed) {
      if (rng() % 2 == 0) order.push_back(s);
    }
    std::shuffle(order.begin(), order.end(), rng);
    const std::string dir = tmp / ("run" + std::to_string(run));
    std::filesystem::copy(template_dir, dir, std::filesystem::copy_options::recursive);
    auto store = ServerStore::Open(dir);
    REQUIRE(store.ok());
    int duplicates = 0;
    for (const auto& s : order) {
      auto in = ReceiveChangeSet(**store, s, nullptr, NowSeconds());
      REQUIRE_FALSE(in.refusal.has_value());
      duplicates += in.outcome->duplicate ? 1 : 0;
    }
    CHECK(duplicates == static_cast<int>(order.size() - sealed.size()));
    auto hash = StateHash((*store)->db());
    REQUIRE(hash.ok());
    if (run == 0) {
      expected = *hash;
      // The set really holds conflicts: c00 (dev-a vs dev-b), c02, and Q02 (dev-c vs dev-d).
      auto open = Conflicts((*store)->db(), true);
      REQUIRE(open.ok());
      CHECK(open->size() == 3);
      auto f = PullSince((*store)->db(), {"Q01"}, 0, 100);
      REQUIRE(f.ok());
      for (const auto& field : f->fields) {
        if (field.field == kC00) CHECK(field.value == Answer("partial", "draft"));
        if (field.field == kC01) CHECK_FALSE(field.value.has_value());
      }
    }
    CHECK(*hash == expected);
    std::filesystem::remove_all(dir);
  }
}

TEST_CASE("server store: state hash changes with the merged state") {
  ServerWorld w;
  const std::string empty = w.Hash();
  CHECK(empty.size() == 64);
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, Answer("yes"), T(1), "dev-a")}), w.q01a)).outcome);
  const std::string one = w.Hash();
  CHECK(one != empty);
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01b, "dev-b", 1, {Edit(kC00, Answer("no"), T(2), "dev-b")}), w.q01b)).outcome);
  CHECK(w.Hash() != one);
}

}  // namespace mnr::server
