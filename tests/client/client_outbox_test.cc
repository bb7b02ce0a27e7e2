#include <catch2/catch.hpp>
#include <string>

#include "client/client_store.h"
#include "mnr/envelope.h"
#include "mnr/limits.h"
#include "tests/client/client_test_util.h"

using namespace mnr;
using namespace mnr::client;
using namespace mnr::client::testing;

namespace {

OpenedChangeSet OpenSealed(const std::string& sealed, const IssuedCredential& issued) {
  auto opened = OpenChangeSet(sealed, issued.sealing_private);
  INFO(opened.status().message());
  REQUIRE(opened.ok());
  CHECK(VerifyChangeSetSignature(*opened, issued.credential.certificate_pem).ok());
  return std::move(opened).value();
}

}  // namespace

TEST_CASE("unsynced edits are cut into signed, sealed change-sets in the outbox", "[client][outbox]") {
  test::TempDir dir;
  const IssuedCredential issued = Issue({"Q01"});
  auto store = NewStore(dir / "s.db", {}, issued.credential);
  CHECK(store->identity().countries == std::vector<std::string>{"Q01"});
  const std::string device = store->identity().device_id;

  REQUIRE(store->ApplyAnswers({Set("Q01", "c11_child_helpline", Answer::kYes, "notes, \"quoted\"\nرقم")}).ok());
  REQUIRE(store->ApplyAnswers({Set("Q01", "c11_child_helpline", Answer::kNo)}).ok());
  REQUIRE(store->ApplyAnswers({Clear("Q01", "c11_child_helpline")}).ok());
  CHECK(store->State()->unsynced_edits == 3);

  auto cut = store->CutChangeSets();
  INFO(cut.status().message());
  REQUIRE(cut.ok());
  CHECK(*cut == 1);
  auto state = store->State();
  REQUIRE(state.ok());
  CHECK(state->unsynced_edits == 0);
  CHECK(state->outbox_unacked == 1);

  auto outbox = store->Outbox(true);
  REQUIRE(outbox.ok());
  REQUIRE(outbox->size() == 1);
  const OutboxEntry& entry = outbox->at(0);
  CHECK(entry.seq == 1);
  CHECK(entry.ops == 3);
  OpenedChangeSet opened = OpenSealed(entry.sealed, issued);
  CHECK(opened.id == entry.id);
  const ChangeSet& cs = opened.changeset;
  CHECK(cs.device_id == device);
  CHECK(cs.credential_id == issued.credential.id);
  CHECK(cs.seq == 1);
  CHECK(cs.schema_version == static_cast<std::uint32_t>(store->schema().version()));
  REQUIRE(cs.ops.size() == 3);  // every edit is kept, not only the last of the field
  CHECK(cs.ops[0].field == "answer/Q01/c11_child_helpline");
  CHECK_FALSE(cs.ops[0].old_value);
  CHECK(cs.ops[0].new_value == std::optional<std::string>("yes\nnotes, \"quoted\"\nرقم"));
  CHECK(cs.ops[0].parents.empty());
  CHECK(cs.ops[0].author == device);
  CHECK(cs.ops[1].parents == std::vector<std::string>{OperationVersion(cs.ops[0])});
  CHECK(cs.ops[2].parents == std::vector<std::string>{OperationVersion(cs.ops[1])});
  CHECK_FALSE(cs.ops[2].new_value);
  CHECK(cs.ops[0].hlc < cs.ops[1].hlc);
  CHECK(cs.created > cs.ops[2].hlc);

  SECTION("nothing new, nothing cut") {
    auto again = store->CutChangeSets();
    REQUIRE(again.ok());
    CHECK(*again == 0);
  }
  SECTION("the next change-set continues the sequence; acks mark a prefix") {
    REQUIRE(store->ApplyAnswers({Set("Q01", "c00_mnr_reference", Answer::kYes)}).ok());
    REQUIRE(store->CutChangeSets().value() == 1);
    auto all = store->Outbox(false);
    REQUIRE(all.ok());
    REQUIRE(all->size() == 2);
    CHECK(all->at(1).seq == 2);
    CHECK(OpenSealed(all->at(1).sealed, issued).changeset.seq == 2);
    REQUIRE(store->MarkAckedThrough(1).ok());
    auto unacked = store->Outbox(true);
    REQUIRE(unacked.ok());
    REQUIRE(unacked->size() == 1);
    CHECK(unacked->at(0).seq == 2);
    REQUIRE(store->MarkAckedThrough(5).ok());
    CHECK(store->Outbox(true)->empty());
    CHECK(store->State()->outbox_unacked == 0);
  }
}

TEST_CASE("a large backlog is cut into change-sets within the op and byte limits", "[client][outbox]") {
  test::TempDir dir;
  const IssuedCredential issued = Issue({"X01", "X02", "X03", "X04", "X05", "X06", "X07", "X08", "X09", "X10"});
  auto store = NewStore(dir / "s.db", {}, issued.credential);
  std::vector<AnswerEdit> edits;
  for (const auto& country : issued.credential.countries) {
    for (const auto& ind : store->schema().indicators()) edits.push_back(Set(country, ind.id, Answer::kPartial, "n"));
  }
  REQUIRE(store->ApplyAnswers(edits).value() == static_cast<int>(edits.size()));  // 270 ops
  // Large practice texts: 40 entries of 60 KB cannot fit into one 2 MB change-set.
  for (int i = 0; i < 40; ++i) {
    PracticeEntry e;
    e.country = "X01";
    e.capability = 1 + i % 21;
    e.kind = "lesson_learned";
    e.title = "entry " + std::to_string(i);
    e.text = std::string(60 * 1024, static_cast<char>('a' + i % 26));
    REQUIRE(store->AddPractice(e).ok());
  }
  const auto total_ops = static_cast<std::int64_t>(edits.size() + 40 * 5);
  REQUIRE(store->State()->unsynced_edits == total_ops);

  auto cut = store->CutChangeSets();
  INFO(cut.status().message());
  REQUIRE(cut.ok());
  CHECK(*cut >= 3);
  auto outbox = store->Outbox(false);
  REQUIRE(outbox.ok());
  std::int64_t ops = 0;
  std::uint64_t seq = 0;
  for (const auto& e : *outbox) {
    CHECK(e.seq == ++seq);
    CHECK(e.ops <= static_cast<std::int64_t>(limits::kOpsPerChangeSet));
    OpenedChangeSet opened = OpenSealed(e.sealed, issued);
    CHECK(opened.body.size() <= limits::kChangeSetBytes);
    CHECK(static_cast<std::int64_t>(opened.changeset.ops.size()) == e.ops);
    ops += e.ops;
  }
  CHECK(ops == total_ops);
  CHECK(store->State()->unsynced_edits == 0);
}

TEST_CASE("cutting change-sets needs a credential", "[client][outbox]") {
  test::TempDir dir;
  auto store = NewStore(dir / "s.db", {"Q01"});
  REQUIRE(store->ApplyAnswers({Set("Q01", "c00_mnr_reference", Answer::kYes)}).ok());
  auto cut = store->CutChangeSets();
  REQUIRE_FALSE(cut.ok());
  CHECK_THAT(cut.status().message(), Catch::Contains("not bound to a credential"));
  CHECK(store->State()->unsynced_edits == 1);
}

TEST_CASE("binding a credential keeps unsynced edits and checks the scope", "[client][outbox]") {
  test::TempDir dir;
  const std::string path = dir / "s.db";
  auto store = NewStore(path, {"Q01"});
  REQUIRE(store->ApplyAnswers({Set("Q01", "c00_mnr_reference", Answer::kYes)}).ok());

  const IssuedCredential wrong = Issue({"Q02"});
  Status refused = store->BindCredential(wrong.credential);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.message(), Catch::Contains("this store holds Q01"));
  CHECK_FALSE(store->identity().credential);

  const IssuedCredential right = Issue({"Q01", "Q05"});
  REQUIRE(store->BindCredential(right.credential).ok());
  CHECK(store->identity().countries == std::vector<std::string>{"Q01", "Q05"});
  store.reset();
  auto reopened = ClientStore::Open(path);
  REQUIRE(reopened.ok());
  ClientStore& s = *reopened.value();
  REQUIRE(s.identity().credential);
  CHECK(s.identity().credential->id == right.credential.id);
  CHECK(s.State()->unsynced_edits == 1);
  REQUIRE(s.CutChangeSets().value() == 1);
  CHECK(OpenSealed(s.Outbox(true)->at(0).sealed, right).changeset.ops.size() == 1);
}

TEST_CASE("auditor and coordinator credentials: scope rules", "[client][outbox]") {
  test::TempDir dir;
  auto auditor = NewStore(dir / "a.db", {}, Issue({}, Role::kAuditor).credential);
  auto refused = auditor->ApplyAnswers({Set("Q01", "c00_mnr_reference", Answer::kYes)});
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("auditor"));
  auto coordinator = NewStore(dir / "c.db", {}, Issue({}, Role::kCoordinator).credential);
  CHECK(coordinator->ApplyAnswers({Set("Q07", "c00_mnr_reference", Answer::kYes)}).ok());
}

TEST_CASE("pulled fields: applied unless a local edit is not yet acknowledged", "[client][pull]") {
  test::TempDir dir;
  const IssuedCredential issued = Issue({"Q01"});
  auto store = NewStore(dir / "s.db", {}, issued.credential);
  const HlcTime remote = HybridClock::Make(HybridClock::Millis(HybridClock().Now()) + 3'600'000, 5);  // an hour ahead
  auto pulled = [&](const std::string& field, std::optional<std::string> value, HlcTime hlc, const std::string& author) {
    return PulledField{field, std::move(value), OperationVersion(hlc, author), hlc};
  };

  REQUIRE(store->ApplyAnswers({Set("Q01", "c11_child_helpline", Answer::kYes, "local")}).ok());
  const std::string local_version = store->Answers()->at(0).version;

  std::vector<PulledField> chunk = {
      pulled("answer/Q01/c11_child_helpline", "no\nfrom b", remote, "bbbbbbbbbbbbbbbb"),
      pulled("answer/Q01/c00_mnr_reference", "partial\nfrom b", remote + 1, "bbbbbbbbbbbbbbbb"),
      pulled("practice/Q01/abcdef0123456789/title", "Pulled title", remote + 2, "coordinator:cred-9"),
      pulled("practice/Q01/abcdef0123456789/capability", "4", remote + 3, "bbbbbbbbbbbbbbbb"),
  };
  REQUIRE(store->ApplyPulled(chunk, "store-1", 17).ok());
  CHECK(store->PullCursor().value() == std::make_pair(std::string("store-1"), std::uint64_t{17}));

  auto rows = store->Answers();
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 2);
  CHECK(rows->at(0).indicator == "c00_mnr_reference");
  CHECK(rows->at(0).value.note == "from b");
  CHECK(rows->at(0).version == chunk[1].version);
  // Not yet pushed: the local value stays.
  CHECK(rows->at(1).value.note == "local");
  CHECK(rows->at(1).version == local_version);
  auto practice = store->FindPractice("abcdef0123456789");
  REQUIRE(practice.ok());
  REQUIRE(*practice);
  CHECK((*practice)->title == "Pulled title");
  CHECK((*practice)->capability == 4);

  auto log = store->Log(AnswerField("Q01", "c00_mnr_reference"), 0);
  REQUIRE(log.ok());
  REQUIRE(log->size() == 1);
  CHECK(log->at(0).origin == "server");
  CHECK(log->at(0).author == "bbbbbbbbbbbbbbbb");
  CHECK(log->at(0).hlc == remote + 1);
  CHECK(store->Log(PracticeField("Q01", "abcdef0123456789", "title"), 0)->at(0).author == "coordinator:cred-9");
  // Pulled rows are not local edits: nothing new to send for them.
  CHECK(store->State()->unsynced_edits == 1);

  // The clock moved past everything pulled.
  REQUIRE(store->ApplyAnswers({Set("Q01", "c02_research_monitoring", Answer::kNo)}).ok());
  CHECK(store->Log(std::nullopt, 1)->at(0).hlc > remote + 3);

  SECTION("once the local edit is acknowledged, the server's merged value wins") {
    REQUIRE(store->CutChangeSets().value() == 1);
    // Cut but not acknowledged: still protected.
    REQUIRE(store->ApplyPulled({chunk[0]}, "store-1", 18).ok());
    auto still = store->Answers(std::string("Q01"));
    REQUIRE(still.ok());
    REQUIRE(still->at(2).indicator == "c11_child_helpline");
    CHECK(still->at(2).value.note == "local");
    REQUIRE(store->MarkAckedThrough(1).ok());
    REQUIRE(store->ApplyPulled({chunk[0]}, "store-1", 19).ok());
    auto now = store->Answers(std::string("Q01"));
    REQUIRE(now.ok());
    const AnswerRow& helpline = now->at(2);
    REQUIRE(helpline.indicator == "c11_child_helpline");
    CHECK(helpline.value.answer == Answer::kNo);
    CHECK(helpline.value.note == "from b");
    auto l = store->Log(AnswerField("Q01", "c11_child_helpline"), 1);
    REQUIRE(l.ok());
    CHECK(l->at(0).origin == "server");
    CHECK(l->at(0).old_value == std::optional<std::string>("yes\nlocal"));
    // The next local edit descends from the pulled version.
    REQUIRE(store->ApplyAnswers({Set("Q01", "c11_child_helpline", Answer::kYes)}).ok());
    CHECK(QueryText(store->db(), "SELECT parents FROM change_log ORDER BY seq DESC LIMIT 1") == chunk[0].version);

    SECTION("the same version pulled again changes nothing") {
      const auto rows_before = QueryInt(store->db(), "SELECT COUNT(*) FROM change_log");
      REQUIRE(store->ApplyPulled({chunk[1]}, "store-1", 20).ok());
      CHECK(QueryInt(store->db(), "SELECT COUNT(*) FROM change_log") == rows_before);
    }
  }
  SECTION("a pulled clear removes the answer") {
    REQUIRE(store->ApplyPulled({pulled("answer/Q01/c00_mnr_reference", std::nullopt, remote + 10, "cccccccccccccccc")},
                               "store-1", 21)
                .ok());
    auto now = store->Answers(std::string("Q01"));
    REQUIRE(now.ok());
    for (const auto& a : *now) CHECK(a.indicator != "c00_mnr_reference");
  }
  SECTION("a malformed pulled field is refused whole") {
    Status bad = store->ApplyPulled({chunk[1], pulled("nonsense", "x", remote, "b")}, "store-1", 99);
    REQUIRE_FALSE(bad.ok());
    CHECK(store->PullCursor().value().second == 17);
  }
}
