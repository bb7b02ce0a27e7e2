// Trust under attack, at the store level: published figures and releases edited behind the server's
// back, credential lifetimes and the server clock, and an export cut short or edited — each caught by
// `audit verify` (VerifyAuditTrail), `release` (CreateRelease), the release checks of `aggregate
// --release` (CheckStoredRelease) or the offline verifier (audit::VerifyExport), and named.
// (tests/e2e/trust_test.cc does the same through the real binaries.)
#include <catch2/catch.hpp>

#include "mnr/audit_format.h"
#include "mnr/crypto.h"
#include "mnr/file_util.h"
#include "server/audit_trail.h"
#include "server/dataset.h"
#include "server/merged_state.h"
#include "server/pull.h"
#include "server/register.h"
#include "server/release.h"
#include "server/server_store.h"
#include "tests/server/fixture.h"

namespace mnr::server {
namespace {

using namespace mnr::server::testing;

const std::string kHelpline = "c11_child_helpline";

void VerifyOk(ServerWorld& w) {
  auto r = VerifyAuditTrail(*w.store);
  INFO(r.status().message());
  REQUIRE(r.ok());
}

// Q01 (high, europe) yes; Q02 (low, africa) yes; Q03 (upper_middle, americas) partial: on c11,
// all = 2 yes and 1 partial.
void ThreeAnswers(ServerWorld& w) {
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 1, {Edit(AnswerField("Q01", kHelpline), Answer("yes"), T(1), "dev-a")}), w.q01a)).outcome);
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q02, "dev-q", 1, {Edit(AnswerField("Q02", kHelpline), Answer("yes", "a note"), T(2), "dev-q"),
                                                           Edit(AnswerField("Q03", kHelpline), Answer("partial"), T(2), "dev-q")}),
                         w.q02))
              .outcome);
}

std::string ServerKey(ServerWorld& w) { return ReadFile(w.store->paths().server_key(), 64 * 1024).value(); }

// A release made the way `release` made them before it recounted: from whatever the maintained tables
// say, signed and logged. What someone who edited dataset_counts got signed.
Release ForgeRelease(ServerWorld& w, const std::string& label) {
  Db& db = w.store->db();
  Transaction tx(db);
  REQUIRE(tx.status().ok());
  auto dataset = LoadDataset(db, w.store->schema(), kFirstRound);
  REQUIRE(dataset.ok());
  auto practices = PracticeEntries(db, w.store->schema());
  REQUIRE(practices.ok());
  auto head = CurrentTreeHead(w.store->db(), w.store->HeadSigner());
  REQUIRE(head.ok());
  Release r;
  r.label = label;
  r.csv = DatasetCsv(*dataset);
  r.content_sha256 = crypto::Sha256Hex(r.csv);
  r.practices = practices->dump();
  const nlohmann::json manifest = {
      {"format", "mnr-release-manifest 1"},
      {"label", label},
      {"content_sha256", r.content_sha256},
      {"content_bytes", r.csv.size()},
      {"dataset_format", kDatasetFormat},
      {"practices_sha256", crypto::Sha256Hex(r.practices)},
      {"audit_tree_head",
       {{"size", head->size}, {"root", head->root}, {"timestamp", head->timestamp}, {"signature", crypto::Base64Encode(head->signature)}}},
      {"store_id", w.store->store_id()},
      {"store_schema_version", 4},
      {"survey_schema_version", w.store->schema().version()},
      {"software", "mnr-server 0.1.0"},
      {"created_at", 1'760'000'000}};
  r.manifest = manifest.dump();
  r.release_id = crypto::Sha256Hex(r.manifest);
  r.signature = crypto::Sign(ServerKey(w), r.manifest).value();
  auto ins = db.Prepare(
      "INSERT INTO releases (label, release_id, content_sha256, csv, practices, members, manifest, signature, created_at) "
      "VALUES (?, ?, ?, ?, ?, '[]', ?, ?, 1760000000)");
  REQUIRE(ins.ok());
  ins->Bind(1, r.label).Bind(2, r.release_id).Bind(3, r.content_sha256).Bind(4, r.csv).Bind(5, r.practices).Bind(6, r.manifest);
  ins->BindBlob(7, r.signature);
  REQUIRE(ins->Run().ok());
  REQUIRE(AppendAuditEntry(db, AuditKind::kRelease, "operator:test", r.manifest).ok());
  REQUIRE(tx.Commit().ok());
  return r;
}

// Rewrites a release's stored CSV: one count of c11/all raised, the content hash made to match (and,
// with `resign`, the manifest too, signed with the server key, as someone holding DIR/server.key could).
void RewriteRelease(ServerWorld& w, const std::string& label, bool resign) {
  auto r = FindRelease(w.store->db(), label);
  REQUIRE(r.ok());
  const std::string from = "\r\nc11_child_helpline,all,2,", to = "\r\nc11_child_helpline,all,7,";
  const auto at = r->csv.find(from);
  REQUIRE(at != std::string::npos);
  std::string csv = r->csv;
  csv.replace(at, from.size(), to);
  std::string manifest = r->manifest, signature = r->signature;
  if (resign) {
    auto m = nlohmann::json::parse(manifest);
    m["content_sha256"] = crypto::Sha256Hex(csv);
    manifest = m.dump();
    signature = crypto::Sign(ServerKey(w), manifest).value();
  }
  Sql(w, "DROP TRIGGER releases_never_change");
  auto st = w.store->db().Prepare("UPDATE releases SET csv = ?, content_sha256 = ?, manifest = ?, signature = ?, release_id = ? WHERE label = ?");
  REQUIRE(st.ok());
  st->Bind(1, csv).Bind(2, crypto::Sha256Hex(csv)).Bind(3, manifest).BindBlob(4, signature).Bind(5, crypto::Sha256Hex(manifest)).Bind(6, label);
  REQUIRE(st->Run().ok());
}

std::int64_t Scalar(ServerWorld& w, const std::string& sql) {
  auto st = w.store->db().Prepare(sql);
  REQUIRE(st.ok());
  REQUIRE(st->Step().value());
  return st->Int(0);
}

}  // namespace

TEST_CASE("verify numbers: a count edited in the store fails audit verify and release, naming the indicator, group and both values") {
  ServerWorld w;
  ThreeAnswers(w);
  VerifyOk(w);
  REQUIRE(CheckDatasetAgainstRecount(w.store->db()).ok());

  SECTION("dataset_counts raised") {
    Sql(w, "UPDATE dataset_counts SET n_yes = n_yes + 5 WHERE indicator = 'c11_child_helpline' AND grp = 'all'");
    CHECK(VerifyFailure(w).find("the stored dataset of round 2025 differs from a recount at c11_child_helpline/all: stored 7, recount 2 (n_yes)") !=
          std::string::npos);
    const std::int64_t entries = Scalar(w, "SELECT COUNT(*) FROM audit_entries");
    auto r = CreateRelease(*w.store, "r1", "operator:test", 1'760'000'000);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kCorruption);
    CHECK(r.status().message() ==
          "release \"r1\" not made: the stored dataset of round 2025 differs from a recount at c11_child_helpline/all: stored 7, recount 2 (n_yes); "
          "run `mnr-server aggregate --rebuild` after investigating");
    CHECK(w.Count("releases") == 0);
    CHECK(Scalar(w, "SELECT COUNT(*) FROM audit_entries") == entries);
    // After the rebuild the figures are the merged answers' again, and a release is made of them.
    {
      Transaction tx(w.store->db());
      REQUIRE(RebuildDataset(w.store->db()).ok());
      REQUIRE(tx.Commit().ok());
    }
    auto again = CreateRelease(*w.store, "r1", "operator:test", 1'760'000'000);
    REQUIRE(again.ok());
    CHECK(again->csv.find("\r\nc11_child_helpline,all,2,1,0,0,3,") != std::string::npos);
    VerifyOk(w);
  }
  SECTION("a row deleted from dataset_counts") {
    Sql(w, "DELETE FROM dataset_counts WHERE indicator = 'c11_child_helpline' AND grp = 'lmic'");
    CHECK(VerifyFailure(w).find("at c11_child_helpline/lmic: stored 0, recount 1 (n_yes)") != std::string::npos);
  }
  SECTION("dataset_groups edited") {
    Sql(w, "UPDATE dataset_groups SET n_countries = n_countries + 1 WHERE grp = 'region:africa'");
    CHECK(VerifyFailure(w).find("at group region:africa: stored 2, recount 1 (n_countries)") != std::string::npos);
    auto r = CreateRelease(*w.store, "r1", "operator:test", 1'760'000'000);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("group region:africa: stored 2, recount 1 (n_countries)") != std::string::npos);
  }
}

TEST_CASE("verify numbers: the in-memory recount, the SQL recount and the maintained tables agree after every kind of change") {
  ServerWorld w;
  const Credential q04 = w.Issue(Role::kField, {"Q04"}, "Q04 office");
  ThreeAnswers(w);
  const std::string q01c00 = AnswerField("Q01", "c00_mnr_reference");
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 2, {Edit(q01c00, Answer("no"), T(3), "dev-a"),
                                                            Edit(AnswerField("Q01", "c12_reporting_hotline"), Answer("unknown"), T(3), "dev-a")}),
                         w.q01a))
              .outcome);
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01b, "dev-b", 1, {Edit(q01c00, Answer("yes"), T(4), "dev-b")}), w.q01b)).outcome);
  REQUIRE(w.Receive(Seal(MakeChangeSet(q04, "dev-4", 1, {Edit(AnswerField("Q04", kHelpline), Answer("no"), T(5), "dev-4")}), q04)).outcome);
  // Cleared answer.
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q02, "dev-q", 2, {Edit(AnswerField("Q03", kHelpline), std::nullopt, T(6), "dev-q")}), w.q02)).outcome);
  auto conflicts = Conflicts(w.store->db(), true);
  REQUIRE(conflicts.ok());
  REQUIRE(conflicts->size() == 1);
  REQUIRE(ResolveConflict(w.store->db(), conflicts->front().id, Answer("partial"), "alice", "checked").ok());
  // Q01 moves region and income group; Q04 leaves its region.
  REQUIRE(ImportCountries(w.store->db(), {{"Q01", "Placeholder Q01", "upper_middle", "americas"}, {"Q04", "Placeholder Q04", "low", ""}}).ok());

  auto stored = StoredDatasetCounts(w.store->db(), kFirstRound);
  auto sql = RecountDataset(w.store->db(), kFirstRound);
  REQUIRE(stored.ok());
  REQUIRE(sql.ok());
  std::map<std::string, std::optional<std::string>> merged;
  auto batch = PullSince(w.store->db(), {}, 0, 100000);
  REQUIRE(batch.ok());
  for (const auto& f : batch->fields) merged[f.field] = f.value;
  auto countries = Countries(w.store->db());
  REQUIRE(countries.ok());
  const DatasetCounts memory = CountDataset(merged, *countries, kFirstRound);
  CHECK(*stored == *sql);
  CHECK(memory == *sql);
  CHECK(memory.answers.at({kHelpline, "all"}) == DatasetCounts::Answers{2, 0, 1, 0});  // Q01 yes, Q02 yes, Q04 no
  CHECK(memory.answers.at({"c00_mnr_reference", "all"}) == DatasetCounts::Answers{0, 1, 0, 0});  // resolved to partial
  CHECK(memory.groups.at("all") == 4);
  CHECK(memory.groups.count("region:asia") == 0);
  CHECK(memory.groups.at("region:americas") == 2);
  CHECK(memory.groups.count("region:europe") == 0);
  VerifyOk(w);
}

TEST_CASE("verify numbers: audit verify recomputes every release from the log replayed up to its tree head") {
  ServerWorld w;
  ThreeAnswers(w);
  REQUIRE(CreateRelease(*w.store, "r1", "operator:test", 1'760'000'000).ok());
  // After r1: edits, a register change and a second release, then more edits. Each release must
  // match the log as it was when it was made, not the current state.
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 2, {Edit(AnswerField("Q01", kHelpline), Answer("no"), T(5), "dev-a")}), w.q01a)).outcome);
  REQUIRE(ImportCountries(w.store->db(), {{"Q04", "Placeholder Q04", "low", "asia"}}).ok());
  REQUIRE(CreateRelease(*w.store, "r2", "operator:test", 1'760'000'100).ok());
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q02, "dev-q", 2, {Edit(AnswerField("Q02", kHelpline), Answer("unknown"), T(6), "dev-q"),
                                                           Edit(PracticeField("Q02", "p1", "capability"), "11", T(6), "dev-q"),
                                                           Edit(PracticeField("Q02", "p1", "title"), "Helpline", T(6), "dev-q")}),
                         w.q02))
              .outcome);
  {
    auto r = VerifyAuditTrail(*w.store);
    INFO(r.status().message());
    REQUIRE(r.ok());
    CHECK(r->releases == 2);
  }
  auto ok = FindRelease(w.store->db(), std::string("r1"));
  REQUIRE(ok.ok());
  CHECK(CheckStoredRelease(*w.store, *ok).ok());

  SECTION("a release signed from falsified counts, the counts rebuilt afterwards") {
    Sql(w, "UPDATE dataset_counts SET n_yes = n_yes + 5 WHERE indicator = 'c11_child_helpline' AND grp = 'all'");
    ForgeRelease(w, "forged");
    Transaction tx(w.store->db());
    REQUIRE(RebuildDataset(w.store->db()).ok());
    REQUIRE(tx.Commit().ok());
    REQUIRE(CheckDatasetAgainstRecount(w.store->db()).ok());
    const std::string why = VerifyFailure(w);
    INFO(why);
    CHECK(why.find("release \"forged\": its figures are not those the log gives at its tree head (size ") != std::string::npos);
    CHECK(why.find("at c11_child_helpline/all: the release says 5, the log gives 0 (n_yes)") != std::string::npos);
  }
  SECTION("the stored CSV and content hash rewritten together") {
    RewriteRelease(w, "r1", false);
    auto r = FindRelease(w.store->db(), std::string("r1"));
    REQUIRE(r.ok());
    const Status s = CheckStoredRelease(*w.store, *r);
    CHECK(s.code() == Status::Code::kCorruption);
    CHECK(s.message().find("release \"r1\": the dataset does not hash to the content hash the manifest states") != std::string::npos);
    CHECK(VerifyFailure(w).find("release \"r1\": the CSV the server holds hashes to") != std::string::npos);
  }
  SECTION("the manifest re-signed with the server key to match a rewritten CSV") {
    RewriteRelease(w, "r1", true);
    auto r = FindRelease(w.store->db(), std::string("r1"));
    REQUIRE(r.ok());
    const Status s = CheckStoredRelease(*w.store, *r);
    CHECK(s.message().find("release \"r1\": no release entry of the audit log holds this manifest") != std::string::npos);
    CHECK(VerifyFailure(w).find("release \"r1\": no release entry of the log holds its manifest") != std::string::npos);
  }
  SECTION("a release removed from the store") {
    Sql(w, "DROP TRIGGER releases_never_go; DELETE FROM releases WHERE label = 'r2'");
    const std::string why = VerifyFailure(w);
    CHECK(why.find("(release \"r2\"): logged, but missing from the export's releases") != std::string::npos);
  }
}

TEST_CASE("verify numbers: audit verify catches an extended credential lifetime, an edited revocation and a clock moved back") {
  ServerWorld w;
  ThreeAnswers(w);
  VerifyOk(w);
  SECTION("expires_at extended") {
    Sql(w, "UPDATE credentials SET expires_at = expires_at + 365 * 86400 WHERE id = '" + w.q01a.id + "'");
    const std::string why = VerifyFailure(w);
    CHECK(why.find("credential " + w.q01a.id) != std::string::npos);
    CHECK(why.find("expires_at") != std::string::npos);
  }
  SECTION("expires_at shortened: stricter than issued, not an error") {
    Sql(w, "UPDATE credentials SET expires_at = 1000 WHERE id = '" + w.q01a.id + "'");
    w.Reopen();
    VerifyOk(w);
  }
  SECTION("the time of a revocation") {
    REQUIRE(RevokeCredential(w.store->db(), w.q01b.id).ok());
    VerifyOk(w);
    Sql(w, "UPDATE credentials SET revoked_at = revoked_at + 86400 WHERE id = '" + w.q01b.id + "'");
    const std::string why = VerifyFailure(w);
    CHECK(why.find("credential " + w.q01b.id + ": its revocation time differs from entry") != std::string::npos);
  }
  SECTION("the server clock moved behind the newest edit") {
    Sql(w, "UPDATE meta SET value = '" + std::to_string(T(1)) + "' WHERE key = 'hlc'");
    const std::string why = VerifyFailure(w);
    CHECK(why.find("the server clock (meta hlc ") != std::string::npos);
    CHECK(why.find("is behind the newest edit it holds (edit " + OperationVersion(T(2), "dev-q")) != std::string::npos);
    CHECK(why.find("moved backwards") != std::string::npos);
  }
  SECTION("the server clock ahead of every edit is fine") {
    Sql(w, "UPDATE meta SET value = '" + std::to_string(T(100)) + "' WHERE key = 'hlc'");
    w.Reopen();
    VerifyOk(w);
  }
}

TEST_CASE("verify numbers: an export cut short, an edited credentials section or release, and pinned tree heads") {
  ServerWorld w;
  ThreeAnswers(w);
  auto receipt_text = MakeReceipt(w.store->db(), w.store->HeadSigner(), ChangeSetId(SerializeChangeSet(
                                                MakeChangeSet(w.q01a, "dev-a", 1, {Edit(AnswerField("Q01", kHelpline), Answer("yes"), T(1), "dev-a")}))));
  REQUIRE(receipt_text.ok());
  auto receipt = audit::DecodeReceipt(*receipt_text);
  REQUIRE(receipt.ok());
  REQUIRE(CreateRelease(*w.store, "r1", "operator:test", 1'760'000'000).ok());
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01b, "dev-b", 1, {Edit(AnswerField("Q01", "c12_reporting_hotline"), Answer("no"), T(7), "dev-b")}), w.q01b))
              .outcome);
  auto later = CurrentTreeHead(w.store->db(), w.store->HeadSigner());
  REQUIRE(later.ok());
  auto file = ExportAuditLog(*w.store, ExportOptions{});
  REQUIRE(file.ok());
  file->erase("next");
  const std::uint64_t n = (*file)["entries"].size();
  const audit::PinnedTreeHead at_receipt{receipt->tree_size, receipt->root};
  const audit::PinnedTreeHead at_later{later->size, later->root};
  REQUIRE(at_receipt.size < at_later.size);
  {
    audit::VerifyOptions o;
    o.pins = {at_receipt, at_later};
    auto s = audit::VerifyExport(*file, o);
    INFO(s.status().message());
    REQUIRE(s.ok());
    CHECK(s->pinned == 2);
    CHECK(s->credentials == 4);
    CHECK(s->releases == 1);
    CHECK(s->entries == n);
    CHECK(s->root == later->root);
  }
  const auto fails = [](const nlohmann::json& f, std::vector<audit::PinnedTreeHead> pins = {}) {
    audit::VerifyOptions o;
    o.pins = std::move(pins);
    auto s = audit::VerifyExport(f, o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == Status::Code::kCorruption);
    return s.status().message();
  };
  // The export as someone cutting it at the receipt's head would leave it: later entries, heads,
  // proofs and releases gone.
  const auto cut = [&](bool fix_size) {
    nlohmann::json f = *file;
    const std::uint64_t k = at_receipt.size;
    nlohmann::json entries = nlohmann::json::array(), heads = nlohmann::json::array();
    for (std::uint64_t i = 0; i < k; ++i) entries.push_back(f["entries"][i]);
    for (const auto& h : f["tree_heads"]) {
      if (h["size"].get<std::uint64_t>() <= k) heads.push_back(h);
    }
    f["entries"] = entries;
    f["tree_heads"] = heads;
    f["inclusion_proofs"] = nlohmann::json::array();
    f["consistency_proofs"] = nlohmann::json::array();
    f["releases"] = nlohmann::json::array();
    if (fix_size) f["size"] = k;
    return f;
  };

  SECTION("cut short, its size left alone") {
    CHECK(fails(cut(false)).find("entry " + std::to_string(at_receipt.size) + ": missing; the export says it holds " + std::to_string(n)) !=
          std::string::npos);
  }
  SECTION("cut short consistently: only a pinned head tells") {
    const auto f = cut(true);
    CHECK(audit::VerifyExport(f).ok());  // nothing in the file itself betrays it
    CHECK(audit::VerifyExport(f, audit::VerifyOptions{true, {at_receipt}}).ok());
    const std::string why = fails(f, {at_later});
    CHECK(why.find("entry " + std::to_string(at_receipt.size) + ": missing; the pinned tree head " + std::to_string(at_later.size) + ":") !=
          std::string::npos);
    CHECK(why.find("cut short") != std::string::npos);
  }
  SECTION("rewritten and re-hashed: the pinned root no longer matches") {
    nlohmann::json f = *file;
    std::vector<audit::Entry> es;
    for (const auto& je : f["entries"]) {
      es.push_back({je["index"].get<std::uint64_t>(), je["kind"].get<int>(), je["actor"].get<std::string>(),
                    je["recorded_at"].get<std::int64_t>(), "", crypto::Base64Decode(je["payload"].get<std::string>()).value()});
    }
    es[2].recorded_at += 1;
    f["entries"][2]["recorded_at"] = es[2].recorded_at;
    std::string prev = audit::GenesisHash();
    for (std::size_t i = 0; i < es.size(); ++i) {
      es[i].prev_hash = prev;
      prev = audit::EntryHash(es[i]);
      f["entries"][i]["prev_hash"] = crypto::HexEncode(es[i].prev_hash);
      f["entries"][i]["entry_hash"] = crypto::HexEncode(prev);
    }
    CHECK(fails(f, {at_receipt}).find("pinned tree head " + std::to_string(at_receipt.size) + ":" + at_receipt.root.substr(0, 16) +
                                      "...: the export's first " + std::to_string(at_receipt.size) + " entries hash to") != std::string::npos);
  }
  SECTION("a pinned head of another log") {
    audit::PinnedTreeHead other = at_receipt;
    other.root[0] = other.root[0] == '0' ? '1' : '0';
    CHECK(fails(*file, {other}).find("not to the pinned root") != std::string::npos);
  }
  SECTION("the credentials section: a lifetime extended") {
    nlohmann::json f = *file;
    for (auto& c : f["credentials"]) {
      if (c["id"] == w.q01a.id) c["expires_at"] = c["expires_at"].get<std::int64_t>() + 86400;
    }
    CHECK(fails(f).find("credentials: credential " + w.q01a.id + ": its expires_at") != std::string::npos);
  }
  SECTION("the credentials section: another role") {
    nlohmann::json f = *file;
    f["credentials"][0]["role"] = "auditor";
    CHECK(fails(f).find("its role differs from entry") != std::string::npos);
  }
  SECTION("the credentials section: one left out, one made up") {
    nlohmann::json f = *file;
    nlohmann::json extra = f["credentials"][0];
    f["credentials"].erase(0);
    CHECK(fails(f).find("is missing") != std::string::npos);
    extra["id"] = "cred-ffffffffffffffff";
    f["credentials"].push_back(extra);
    CHECK(fails(f).find("cred-ffffffffffffffff: no entry of the log issued it") != std::string::npos);
  }
  SECTION("a member nobody checks") {
    nlohmann::json f = *file;
    f["note"] = "trust me";
    CHECK(fails(f).find("member \"note\" is not one this verifier checks") != std::string::npos);
    f = *file;
    f["credentials"][1]["admin"] = true;
    CHECK(fails(f).find("member \"admin\"") != std::string::npos);
  }
  SECTION("a release: the server's CSV no longer the signed one, or dropped") {
    nlohmann::json f = *file;
    f["releases"][0]["csv_sha256"] = crypto::Sha256Hex("another dataset");
    CHECK(fails(f).find("release \"r1\": the CSV the server holds hashes to") != std::string::npos);
    f = *file;
    f["releases"] = nlohmann::json::array();
    CHECK(fails(f).find("(release \"r1\"): logged, but missing from the export's releases") != std::string::npos);
    f = *file;
    f["releases"][0]["tree_size"] = 1;
    CHECK(fails(f).find("its tree_size or tree_root is not the tree head its manifest names") != std::string::npos);
  }
  SECTION("pins are read as a receipt gives them") {
    auto pin = audit::ParsePinnedTreeHead(std::to_string(at_receipt.size) + ":" + at_receipt.root);
    REQUIRE(pin.ok());
    CHECK(pin->size == at_receipt.size);
    CHECK(pin->root == at_receipt.root);
    CHECK_FALSE(audit::ParsePinnedTreeHead("12").ok());
    CHECK_FALSE(audit::ParsePinnedTreeHead("x:" + at_receipt.root).ok());
    CHECK_FALSE(audit::ParsePinnedTreeHead("3:abc").ok());
  }
}

}  // namespace mnr::server
