// The audit log on a real server store: what gets logged and how, signed tree heads and receipts,
// history queries, exports checked by the offline verifier, credential renewal, and filling the log
// of a store from before it existed.
#include "server/audit_trail.h"

#include <catch2/catch.hpp>

#include "mnr/audit_format.h"
#include "mnr/crypto.h"
#include "mnr/file_util.h"
#include "mnr/merkle.h"
#include "mnr/wall_clock.h"
#include "server/intake.h"
#include "server/merged_state.h"
#include "server/register.h"
#include "server/server_store.h"
#include "tests/server/fixture.h"

namespace mnr::server {
namespace {

using namespace mnr::server::testing;


struct Row {
  std::uint64_t idx;
  int kind;
  std::string actor, payload, hash, prev;
  std::optional<std::string> changeset_id;
};

std::vector<Row> Entries(ServerStore& s) {
  auto st = s.db().Prepare("SELECT idx, kind, actor, payload, entry_hash, prev_hash, changeset_id FROM audit_entries ORDER BY idx");
  REQUIRE(st.ok());
  std::vector<Row> out;
  for (;;) {
    auto row = st->Step();
    REQUIRE(row.ok());
    if (!*row) break;
    out.push_back({static_cast<std::uint64_t>(st->Int(0)), static_cast<int>(st->Int(1)), st->Text(2), st->Blob(3), st->Blob(4),
                   st->Blob(5), st->OptText(6)});
  }
  return out;
}

std::string CaCert(ServerWorld& w) { return ReadFile(w.store->paths().ca_cert(), 1 << 20).value(); }

}  // namespace

TEST_CASE("audit log: every change is one hash-linked entry, in the transaction that makes it") {
  ServerWorld w;
  // The fixture imported the register and issued four credentials.
  auto entries = Entries(*w.store);
  REQUIRE(entries.size() == 5);
  CHECK(entries[0].kind == audit::kCountriesChanged);
  for (int i = 1; i <= 4; ++i) CHECK(entries[i].kind == audit::kCredentialIssued);
  CHECK(entries[0].actor.rfind("operator:", 0) == 0);
  const auto issued = nlohmann::json::parse(entries[1].payload);
  CHECK(issued["id"] == w.q01a.id);
  CHECK(issued["certificate"] == w.q01a.certificate_pem);
  CHECK(issued["countries"] == nlohmann::json::array({"Q01"}));

  auto sealed = Seal(MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, Answer("yes"), T(1), "dev-a")}), w.q01a);
  auto in = w.Receive(sealed);
  REQUIRE(in.outcome);
  entries = Entries(*w.store);
  REQUIRE(entries.size() == 6);
  const Row& cs = entries[5];
  CHECK(cs.kind == audit::kChangeSet);
  CHECK(cs.actor == w.q01a.id);
  CHECK(cs.changeset_id == in.outcome->changeset_id);
  // Exactly as received and stored: body and signature.
  auto stored = w.store->db().Prepare("SELECT body, signature FROM changesets WHERE id = ?");
  REQUIRE(stored.ok());
  stored->Bind(1, in.outcome->changeset_id);
  REQUIRE(stored->Step().value());
  CHECK(cs.payload == audit::ChangeSetPayload(stored->Blob(0), stored->Blob(1)));

  // The chain: each entry's prev_hash is the previous entry's hash, which is its RFC 6962 leaf hash.
  std::string prev = audit::GenesisHash();
  for (const auto& e : entries) {
    CHECK(e.prev == prev);
    audit::Entry a{e.idx, e.kind, e.actor, 0, e.prev, e.payload};
    auto t = w.store->db().Prepare("SELECT recorded_at FROM audit_entries WHERE idx = ?");
    REQUIRE(t.ok());
    t->Bind(1, static_cast<std::int64_t>(e.idx));
    REQUIRE(t->Step().value());
    a.recorded_at = t->Int(0);
    CHECK(e.hash == merkle::LeafHash(audit::EntryBytes(a)));
    prev = e.hash;
  }

  // Offered again: nothing changes and nothing is logged, and the receipt names the first entry.
  auto again = w.Receive(sealed);
  REQUIRE(again.outcome);
  CHECK(again.outcome->duplicate);
  CHECK(Entries(*w.store).size() == 6);
  auto receipt = MakeReceipt(w.store->db(), w.store->HeadSigner(), in.outcome->changeset_id);
  REQUIRE(receipt.ok());
  auto r = audit::DecodeReceipt(*receipt);
  REQUIRE(r.ok());
  CHECK(r->index == 5);
  CHECK(r->tree_size == 6);
  CHECK(audit::VerifyReceipt(*r, ServerCert(w), CaCert(w)).ok());

  // A refused change-set leaves no entry.
  auto foreign = w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 2, {Edit(AnswerField("Q02", "c00_mnr_reference"), Answer("no"), T(2), "dev-a")}), w.q01a));
  CHECK(foreign.refusal);
  CHECK(Entries(*w.store).size() == 6);

  // Appends belong inside the caller's transaction.
  CHECK(AppendAuditEntry(w.store->db(), AuditKind::kPublish, "operator:test", "{}").status().code() == Status::Code::kInvalidArgument);
  {
    Transaction tx(w.store->db());
    auto bad = AppendAuditEntry(w.store->db(), AuditKind::kPublish, "operator:with\nnewline", "{}");
    CHECK_FALSE(bad.ok());
  }
}

TEST_CASE("audit log: revocation, resolution and the register are logged with their actor") {
  ServerWorld w;
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, Answer("yes"), T(1), "dev-a")}), w.q01a)).outcome);
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01b, "dev-b", 1, {Edit(kC00, Answer("no"), T(2), "dev-b")}), w.q01b)).outcome);
  auto conflicts = Conflicts(w.store->db(), true);
  REQUIRE(conflicts.ok());
  REQUIRE(conflicts->size() == 1);
  // As remote_ops.cc names a remote coordinator: the entry's actor is the credential.
  const std::string who = "coordinator (" + w.coordinator.id + ")";
  REQUIRE(ResolveConflict(w.store->db(), conflicts->front().id, Answer("partial"), who, "checked with the ministry").ok());
  REQUIRE(ResolveConflict(w.store->db(), 0, Answer("partial"), "x", "y").code() == Status::Code::kNotFound);
  REQUIRE(RevokeCredential(w.store->db(), w.q02.id).ok());
  REQUIRE(ImportCountries(w.store->db(), {{"Q05", "Placeholder Q05", "low", "asia"}}).ok());

  auto entries = Entries(*w.store);
  REQUIRE(entries.size() == 10);
  CHECK(entries[7].kind == audit::kConflictResolution);
  CHECK(entries[7].actor == w.coordinator.id);
  const auto res = nlohmann::json::parse(entries[7].payload);
  CHECK(res["field"] == kC00);
  CHECK(res["value"] == Answer("partial"));
  CHECK(res["reason"] == "checked with the ministry");
  CHECK(res["parents"].size() == 2);
  CHECK(entries[8].kind == audit::kCredentialRevoked);
  CHECK(nlohmann::json::parse(entries[8].payload)["id"] == w.q02.id);
  CHECK(entries[9].kind == audit::kCountriesChanged);
  CHECK(nlohmann::json::parse(entries[9].payload)[0]["code"] == "Q05");

  auto report = VerifyAuditTrail(*w.store);
  INFO(report.status().message());
  REQUIRE(report.ok());
  CHECK(report->summary.entries == 10);
  CHECK(report->summary.changesets == 2);
  CHECK(report->ops == 3);
  CHECK(report->fields == 1);
}

TEST_CASE("audit log: tree heads are signed once per size and agree with a recomputation") {
  ServerWorld w;
  auto h1 = CurrentTreeHead(w.store->db(), w.store->HeadSigner());
  REQUIRE(h1.ok());
  CHECK(h1->size == 5);
  auto h1b = CurrentTreeHead(w.store->db(), w.store->HeadSigner());
  REQUIRE(h1b.ok());
  CHECK(h1b->signature == h1->signature);
  CHECK(crypto::VerifyWithCertificate(ServerCert(w), audit::TreeHeadMessage(h1->size, h1->root, h1->timestamp), h1->signature).ok());

  merkle::Tree tree;
  for (int i = 0; i < 12; ++i) {
    REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", i + 1, {Edit(kC00, Answer(i % 2 ? "yes" : "no"), T(i + 1), "dev-a")}), w.q01a)).outcome);
  }
  for (const auto& e : Entries(*w.store)) tree.Append(e.hash);
  auto h2 = CurrentTreeHead(w.store->db(), w.store->HeadSigner());
  REQUIRE(h2.ok());
  CHECK(h2->size == 17);
  CHECK(h2->root == crypto::HexEncode(tree.Root(17)));
  CHECK(h1->root == crypto::HexEncode(tree.Root(5)));
  auto proof = tree.ConsistencyProof(5, 17);
  REQUIRE(proof.ok());
  CHECK(merkle::VerifyConsistency(5, 17, tree.Root(5), tree.Root(17), *proof).ok());
}

TEST_CASE("audit log: entries carry the server clock's time, and a signed head's time never goes back with it") {
  std::int64_t clock_ms = 2'000'000'000'000;  // 2033-05-18
  ScopedWallClock clock([&clock_ms] { return clock_ms; });
  ServerWorld w;
  auto recorded = [&w] {
    auto st = w.store->db().Prepare("SELECT recorded_at FROM audit_entries ORDER BY idx DESC LIMIT 1");
    REQUIRE(st.ok());
    REQUIRE(*st->Step());
    return st->Int(0);
  };
  CHECK(recorded() == 2'000'000'000);
  auto h1 = CurrentTreeHead(w.store->db(), w.store->HeadSigner());
  REQUIRE(h1.ok());
  CHECK(h1->timestamp == 2'000'000'000);

  clock_ms -= 3'600'000;  // the server's clock is set back an hour
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, Answer("yes"), T(1), "dev-a")}), w.q01a)).outcome);
  CHECK(recorded() == 2'000'000'000 - 3'600);
  auto h2 = CurrentTreeHead(w.store->db(), w.store->HeadSigner());
  REQUIRE(h2.ok());
  CHECK(h2->size == h1->size + 1);
  CHECK(h2->timestamp == 2'000'000'000);  // not earlier than the head it follows
  CHECK(crypto::VerifyWithCertificate(ServerCert(w), audit::TreeHeadMessage(h2->size, h2->root, h2->timestamp), h2->signature).ok());

  clock_ms += 7'200'000;
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 2, {Edit(kC00, Answer("no"), T(2), "dev-a")}), w.q01a)).outcome);
  auto h3 = CurrentTreeHead(w.store->db(), w.store->HeadSigner());
  REQUIRE(h3.ok());
  CHECK(h3->timestamp == 2'000'003'600);
}

TEST_CASE("audit log: an online change-set is acknowledged with a receipt whose head includes it") {
  ServerWorld w;
  const CredentialRecord conn = Record(w, w.q01a);
  auto in = ReceiveChangeSet(*w.store, Seal(MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, Answer("yes"), T(1), "dev-a")}), w.q01a),
                             &conn, NowSeconds());
  REQUIRE(in.outcome);
  // The head was signed in the intake's transaction: the receipt needs no new signature of it.
  auto heads = w.store->db().Prepare("SELECT COUNT(*), MAX(size) FROM audit_tree_heads");
  REQUIRE(heads.ok());
  REQUIRE(heads->Step().value());
  CHECK(heads->Int(0) == 1);
  CHECK(heads->Int(1) == 6);
  auto receipt = MakeReceipt(w.store->db(), w.store->HeadSigner(), in.outcome->changeset_id);
  REQUIRE(receipt.ok());
  auto r = audit::DecodeReceipt(*receipt);
  REQUIRE(r.ok());
  CHECK(r->changeset_id == in.outcome->changeset_id);
  CHECK(r->index == 5);
  CHECK(r->tree_size == 6);
  CHECK(audit::VerifyReceipt(*r, ServerCert(w), CaCert(w)).ok());
  // A credential's own certificate is issued by the same CA but is not the server's.
  CHECK_FALSE(audit::VerifyReceipt(*r, w.q01a.certificate_pem, CaCert(w)).ok());
  audit::Receipt forged = *r;
  forged.index = 4;
  CHECK_FALSE(audit::VerifyReceipt(forged, ServerCert(w), CaCert(w)).ok());
  CHECK(MakeReceipt(w.store->db(), w.store->HeadSigner(), "no-such-change-set").status().code() == Status::Code::kNotFound);
}

TEST_CASE("audit log: history names who changed which field from what to what") {
  ServerWorld w;
  auto first = Edit(kC00, Answer("no"), T(1), "dev-a");
  auto second = Edit(kC00, Answer("yes", "since 2020"), T(2), "dev-a", {OperationVersion(first)});
  second.old_value = Answer("no");
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 1, {first, Edit(kC11, Answer("partial"), T(1), "dev-a")}), w.q01a)).outcome);
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 2, {second}), w.q01a)).outcome);
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q02, "dev-q", 1, {Edit(AnswerField("Q02", "c00_mnr_reference"), Answer("yes"), T(3), "dev-q")}), w.q02)).outcome);

  auto all = AuditHistory(*w.store, {});
  REQUIRE(all.ok());
  CHECK(all->records.size() == 5 + 4);  // register + 4 credentials, then 4 edits
  HistoryQuery q;
  q.indicator = "c00_mnr_reference";
  q.country = "Q01";
  auto page = AuditHistory(*w.store, q);
  REQUIRE(page.ok());
  REQUIRE(page->records.size() == 2);
  const auto& r = page->records[1];
  CHECK(r["credential"] == w.q01a.id);
  CHECK(r["name"] == "Q01 laptop a");
  CHECK(r["device"] == "dev-a");
  CHECK(r["field"] == kC00);
  CHECK(r["old"] == "no");
  CHECK(r["new"] == "yes +note");
  CHECK(r["new_value"] == Answer("yes", "since 2020"));
  CHECK(r["hlc"] == T(2));
  CHECK(r["seq"] == 2);
  const std::string line = audit::FormatHistoryRecord(r);
  CHECK(line.find("Q01 laptop a") != std::string::npos);
  CHECK(line.find("answer/Q01/c00_mnr_reference: no -> yes +note") != std::string::npos);
  CHECK(line.find("since 2020") == std::string::npos);  // no free text in the text form

  q = {};
  q.device = "dev-q";
  page = AuditHistory(*w.store, q);
  REQUIRE(page.ok());
  REQUIRE(page->records.size() == 1);
  CHECK(page->records[0]["field"] == AnswerField("Q02", "c00_mnr_reference"));
  q = {};
  q.since = NowSeconds() + 3600;
  page = AuditHistory(*w.store, q);
  REQUIRE(page.ok());
  CHECK(page->records.empty());
  // Paged: a small budget cuts after an entry and says where to go on.
  q = {};
  q.max_bytes = 1;
  page = AuditHistory(*w.store, q);
  REQUIRE(page.ok());
  REQUIRE(page->next);
  CHECK(*page->next == 1);
}

TEST_CASE("audit log: an export verifies offline, with proofs, and a changed byte fails it") {
  ServerWorld w;
  for (int i = 0; i < 9; ++i) {
    REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", i + 1, {Edit(kC00, Answer(i % 2 ? "yes" : "no"), T(i + 1), "dev-a")}), w.q01a)).outcome);
    if (i % 3 == 0) REQUIRE(CurrentTreeHead(w.store->db(), w.store->HeadSigner()).ok());
  }
  auto file = ExportAuditLog(*w.store, ExportOptions{});
  REQUIRE(file.ok());
  auto summary = audit::VerifyExport(*file);
  INFO(summary.status().message());
  REQUIRE(summary.ok());
  CHECK(summary->entries == 14);
  CHECK(summary->changesets == 9);
  CHECK(summary->tree_heads == 4);
  CHECK(summary->inclusion_proofs == 9);
  CHECK(summary->consistency_proofs == 3);

  SECTION("a payload byte") {
    auto bad = *file;
    std::string payload = crypto::Base64Decode(bad["entries"][7]["payload"].get<std::string>()).value();
    payload[payload.size() - 70] ^= 1;
    bad["entries"][7]["payload"] = crypto::Base64Encode(payload);
    auto r = audit::VerifyExport(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("entry 7") != std::string::npos);
  }
  SECTION("an entry removed") {
    auto bad = *file;
    bad["entries"].erase(6);
    auto r = audit::VerifyExport(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("entry 6") != std::string::npos);
  }
  SECTION("a re-hashed log no longer matches the signed heads") {
    // Rewrite entry 8's content and recompute every hash after it: the chain holds, the heads do not.
    auto bad = *file;
    std::vector<audit::Entry> es;
    for (const auto& je : bad["entries"]) {
      es.push_back({je["index"].get<std::uint64_t>(), je["kind"].get<int>(), je["actor"].get<std::string>(),
                    je["recorded_at"].get<std::int64_t>(), "", crypto::Base64Decode(je["payload"].get<std::string>()).value()});
    }
    es[8].recorded_at += 1;
    bad["entries"][8]["recorded_at"] = es[8].recorded_at;
    std::string prev = audit::GenesisHash();
    for (std::size_t i = 0; i < es.size(); ++i) {
      es[i].prev_hash = prev;
      prev = audit::EntryHash(es[i]);
      bad["entries"][i]["prev_hash"] = crypto::HexEncode(es[i].prev_hash);
      bad["entries"][i]["entry_hash"] = crypto::HexEncode(prev);
    }
    auto r = audit::VerifyExport(bad);
    REQUIRE_FALSE(r.ok());
    INFO(r.status().message());
    CHECK(r.status().message().find("tree head of size") != std::string::npos);
  }
  SECTION("a proof") {
    auto bad = *file;
    std::string h = bad["inclusion_proofs"][0]["path"][0].get<std::string>();
    h[0] = h[0] == '0' ? '1' : '0';
    bad["inclusion_proofs"][0]["path"][0] = h;
    auto r = audit::VerifyExport(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("inclusion proof") != std::string::npos);
  }
  SECTION("a tree head signature") {
    auto bad = *file;
    std::string sig = crypto::Base64Decode(bad["tree_heads"][1]["signature"].get<std::string>()).value();
    sig[3] ^= 1;
    bad["tree_heads"][1]["signature"] = crypto::Base64Encode(sig);
    auto r = audit::VerifyExport(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("signature") != std::string::npos);
  }
  SECTION("another CA") {
    auto bad = *file;
    mnr::test::TempDir other;
    REQUIRE(ServerStore::Init(other / "data", {}, "localhost:7443").ok());
    bad["ca_certificate"] = ReadFile(other / "data/ca.crt", 1 << 20).value();
    CHECK_FALSE(audit::VerifyExport(bad).ok());
  }
  SECTION("in parts, as a remote auditor receives it") {
    ExportOptions o;
    o.part = ExportOptions::Part::kMeta;
    auto meta = ExportAuditLog(*w.store, o);
    REQUIRE(meta.ok());
    nlohmann::json joined = *meta;
    for (auto part : {ExportOptions::Part::kHeads, ExportOptions::Part::kEntries}) {
      std::optional<std::uint64_t> from = 0;
      while (from) {
        ExportOptions p;
        p.part = part;
        p.from = *from;
        p.size = (*meta)["size"].get<std::uint64_t>();
        p.sign_head = false;
        p.max_bytes = 1;
        auto page = ExportAuditLog(*w.store, p);
        REQUIRE(page.ok());
        for (const char* key : {"tree_heads", "consistency_proofs", "entries", "inclusion_proofs"}) {
          if (!page->contains(key)) continue;
          if (!joined.contains(key)) joined[key] = nlohmann::json::array();
          for (const auto& item : (*page)[key]) joined[key].push_back(item);
        }
        from = (*page)["next"].is_null() ? std::nullopt : std::optional<std::uint64_t>((*page)["next"].get<std::uint64_t>());
      }
    }
    auto r = audit::VerifyExport(joined);
    INFO(r.status().message());
    REQUIRE(r.ok());
    CHECK(r->entries == 14);
    CHECK(r->inclusion_proofs == 9);
  }
}

TEST_CASE("audit log: a renewed credential keeps its device and its sealed change-sets") {
  ServerWorld w;
  const CredentialRecord old_conn = Record(w, w.q01a);
  // Cut (sealed) before the renewal, sent after it.
  const std::string early = Seal(MakeChangeSet(w.q01a, "dev-a", 2, {Edit(kC11, Answer("yes"), T(2), "dev-a")}), w.q01a);
  REQUIRE(ReceiveChangeSet(*w.store, Seal(MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, Answer("yes"), T(1), "dev-a")}), w.q01a),
                           &old_conn, NowSeconds())
              .outcome);
  auto renewed = RenewCredential(w.store->db(), w.store->paths(), w.q01a.id, 3600);
  REQUIRE(renewed.ok());
  CHECK(renewed->id != w.q01a.id);
  CHECK(renewed->countries == w.q01a.countries);
  CHECK(renewed->name == w.q01a.name);
  CHECK(renewed->role == Role::kField);
  const CredentialRecord fresh = Record(w, *renewed);
  CHECK(fresh.predecessor == w.q01a.id);
  CHECK(Record(w, w.q01a).revoked_at);
  CHECK(RenewCredential(w.store->db(), w.store->paths(), w.q01a.id, 3600).status().message().find("renew that one") != std::string::npos);

  // The old credential may no longer connect; its early change-set comes through the new one.
  CHECK_FALSE(CheckCredentialUsable(Record(w, w.q01a), NowSeconds()).ok());
  auto carried = ReceiveChangeSet(*w.store, early, &fresh, NowSeconds());
  INFO((carried.refusal ? carried.refusal->reason : ""));
  REQUIRE(carried.outcome);
  // New change-sets of the same device under the new credential.
  Credential renewed_cred = *renewed;
  auto next = ReceiveChangeSet(*w.store, Seal(MakeChangeSet(renewed_cred, "dev-a", 3, {Edit(kC00, Answer("no"), T(3), "dev-a")}), renewed_cred),
                               &fresh, NowSeconds());
  REQUIRE(next.outcome);
  CHECK(next.outcome->acked_through == 3);
  auto dev = w.store->db().Prepare("SELECT credential_id FROM devices WHERE device_id = 'dev-a'");
  REQUIRE(dev.ok());
  REQUIRE(dev->Step().value());
  CHECK(dev->Text(0) == renewed->id);

  // Sealed under the old key after the renewal (a sync tried with the old file before the new one
  // arrived): refused on its own, in a bundle; accepted when the successor's connection carries it.
  ChangeSet late = MakeChangeSet(w.q01a, "dev-a", 4, {Edit(kC11, Answer("no"), T(4), "dev-a")});
  late.created = HybridClock::Make(static_cast<std::uint64_t>(NowSeconds() + 120) * 1000, 0);
  auto alone = ReceiveChangeSet(*w.store, Seal(late, w.q01a), nullptr, NowSeconds());
  REQUIRE(alone.refusal);
  CHECK(alone.refusal->code == RefusalCode::kCredential);
  // Nor may another credential's connection carry it.
  const CredentialRecord other = Record(w, w.q01b);
  auto sideways = ReceiveChangeSet(*w.store, Seal(late, w.q01a), &other, NowSeconds());
  REQUIRE(sideways.refusal);
  CHECK(sideways.refusal->code == RefusalCode::kCredential);
  auto late_carried = ReceiveChangeSet(*w.store, Seal(late, w.q01a), &fresh, NowSeconds());
  REQUIRE(late_carried.outcome);
  HistoryQuery q01;
  q01.country = "Q01";
  auto history = AuditHistory(*w.store, q01);
  REQUIRE(history.ok());
  REQUIRE(history->records.size() == 4);
  CHECK(history->records[3]["credential"] == w.q01a.id);
  CHECK(history->records[3]["carried_by"] == renewed->id);
  CHECK(history->records[2]["credential"] == renewed->id);
  CHECK_FALSE(history->records[2].contains("carried_by"));

  auto entries = Entries(*w.store);
  const auto& issued = entries[entries.size() - 5];
  CHECK(issued.kind == audit::kCredentialIssued);
  CHECK(nlohmann::json::parse(issued.payload)["predecessor"] == w.q01a.id);
  const auto& revoked = entries[entries.size() - 4];
  CHECK(revoked.kind == audit::kCredentialRevoked);
  CHECK(nlohmann::json::parse(revoked.payload)["successor"] == renewed->id);
  auto report = VerifyAuditTrail(*w.store);
  INFO(report.status().message());
  CHECK(report.ok());
  auto file = ExportAuditLog(*w.store, ExportOptions{});
  REQUIRE(file.ok());
  auto offline = audit::VerifyExport(*file);
  INFO(offline.status().message());
  CHECK(offline.ok());
}

TEST_CASE("audit log: a change-set signed by another device's key is refused and not logged") {
  ServerWorld w;
  const CredentialRecord conn = Record(w, w.q01a);
  const auto before = Entries(*w.store).size();
  // Names credential q01a but is signed with q01b's key.
  auto forged = ReceiveChangeSet(*w.store, Seal(MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, Answer("yes"), T(1), "dev-a")}), w.q01b),
                                 &conn, NowSeconds());
  REQUIRE(forged.refusal);
  CHECK(forged.refusal->code == RefusalCode::kBadChangeSet);
  // Signed honestly by q01b but pushed over q01a's connection.
  auto carried = ReceiveChangeSet(*w.store, Seal(MakeChangeSet(w.q01b, "dev-b", 1, {Edit(kC00, Answer("yes"), T(1), "dev-b")}), w.q01b),
                                  &conn, NowSeconds());
  REQUIRE(carried.refusal);
  CHECK(carried.refusal->code == RefusalCode::kCredential);
  // q01b claiming q01a's device.
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, Answer("yes"), T(1), "dev-a")}), w.q01a)).outcome);
  auto hijack = w.Receive(Seal(MakeChangeSet(w.q01b, "dev-a", 2, {Edit(kC00, Answer("no"), T(2), "dev-a")}), w.q01b));
  REQUIRE(hijack.refusal);
  CHECK(hijack.refusal->code == RefusalCode::kCredential);
  CHECK(Entries(*w.store).size() == before + 1);
}

TEST_CASE("audit log: a store from before the log gets its history as the first entries") {
  ServerWorld w;
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 1, {Edit(kC00, Answer("yes"), T(1), "dev-a")}), w.q01a)).outcome);
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01b, "dev-b", 1, {Edit(kC00, Answer("no"), T(2), "dev-b")}), w.q01b)).outcome);
  auto conflicts = Conflicts(w.store->db(), true);
  REQUIRE(conflicts.ok());
  REQUIRE(ResolveConflict(w.store->db(), conflicts->front().id, Answer("partial"), "alice", "called both offices").ok());
  REQUIRE(RevokeCredential(w.store->db(), w.q02.id).ok());
  // What a version-1 store holds: the same tables, no log.
  REQUIRE(w.store->db().Exec("DROP TRIGGER audit_entries_no_delete; DROP TRIGGER audit_tree_heads_no_delete;"
                             "DELETE FROM audit_entries; DELETE FROM audit_frontier; DELETE FROM audit_tree_heads;").ok());
  w.Reopen();
  auto entries = Entries(*w.store);
  REQUIRE(entries.size() == 1 + 4 + 2 + 1 + 1);
  CHECK(entries[0].kind == audit::kCountriesChanged);
  CHECK(entries[0].actor == "operator:backfill");
  auto report = VerifyAuditTrail(*w.store);
  INFO(report.status().message());
  REQUIRE(report.ok());
  CHECK(report->summary.changesets == 2);
  // Once filled, reopening adds nothing.
  w.Reopen();
  CHECK(Entries(*w.store).size() == entries.size());
}

}  // namespace mnr::server
