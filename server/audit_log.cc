#include "server/audit_log.h"

#include <pwd.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "mnr/changeset.h"
#include "mnr/crypto.h"
#include "mnr/hlc.h"
#include "mnr/merkle.h"
#include "mnr/wall_clock.h"

namespace mnr::server {
namespace {

// The kinds have one set of numbers, on disk and in export files.
static_assert(static_cast<int>(AuditKind::kChangeSet) == audit::kChangeSet);
static_assert(static_cast<int>(AuditKind::kConflictResolution) == audit::kConflictResolution);
static_assert(static_cast<int>(AuditKind::kRelease) == audit::kRelease);
static_assert(static_cast<int>(AuditKind::kPublish) == audit::kPublish);
static_assert(static_cast<int>(AuditKind::kCredentialIssued) == audit::kCredentialIssued);
static_assert(static_cast<int>(AuditKind::kCredentialRevoked) == audit::kCredentialRevoked);
static_assert(static_cast<int>(AuditKind::kCountriesChanged) == audit::kCountriesChanged);

// The roots of the perfect subtrees of the current tree, highest first (the order they are folded).
Result<std::vector<std::pair<int, std::string>>> LoadFrontier(Db& db) {
  auto st = db.Cached("SELECT height, hash FROM audit_frontier ORDER BY height DESC");
  if (!st.ok()) return st.status();
  std::vector<std::pair<int, std::string>> out;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.emplace_back(static_cast<int>(st->Int(0)), st->Blob(1));
  }
  return out;
}

// Adds a leaf to the frontier like a carry through a binary counter.
Status PushFrontier(Db& db, std::string carry) {
  for (int height = 0;; ++height) {
    auto st = db.Cached("SELECT hash FROM audit_frontier WHERE height = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, std::int64_t{height});
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) {
      auto ins = db.Cached("INSERT INTO audit_frontier (height, hash) VALUES (?, ?)");
      if (!ins.ok()) return ins.status();
      ins->Bind(1, std::int64_t{height}).BindBlob(2, carry);
      return ins->Run();
    }
    carry = merkle::NodeHash(st->Blob(0), carry);
    auto del = db.Cached("DELETE FROM audit_frontier WHERE height = ?");
    if (!del.ok()) return del.status();
    del->Bind(1, std::int64_t{height});
    MNR_RETURN_IF_ERROR(del->Run());
  }
}

}  // namespace

Result<std::uint64_t> AuditLogSize(Db& db) {
  auto st = db.Cached("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_entries");
  if (!st.ok()) return st.status();
  auto row = st->Step();
  if (!row.ok()) return row.status();
  return static_cast<std::uint64_t>(st->Int(0));
}

// The root over the frontier, after checking that it accounts for exactly `size` entries.
Result<std::string> AuditFrontierRoot(Db& db, std::uint64_t size) {
  auto frontier = LoadFrontier(db);
  if (!frontier.ok()) return frontier.status();
  std::uint64_t covered = 0;
  std::string root;
  for (auto it = frontier->rbegin(); it != frontier->rend(); ++it) {
    covered += std::uint64_t{1} << it->first;
    root = root.empty() ? it->second : merkle::NodeHash(it->second, root);
  }
  if (covered != size) {
    return Status::Corruption("the audit log's tree frontier covers " + std::to_string(covered) + " entries, the log holds " +
                              std::to_string(size) + "; run `mnr-server audit verify`");
  }
  return root.empty() ? merkle::EmptyRoot() : root;
}

namespace {

Status AppendAt(Db& db, AuditKind kind, std::string_view actor, std::string_view payload, std::int64_t recorded_at,
                std::uint64_t* index_out) {
  if (sqlite3_get_autocommit(db.raw()) != 0) {
    return Status::InvalidArgument("an audit entry is appended only inside the transaction of the change it records");
  }
  MNR_RETURN_IF_ERROR(audit::CheckActor(actor));
  audit::Entry e;
  e.kind = static_cast<int>(kind);
  e.actor = std::string(actor);
  e.payload = std::string(payload);
  e.recorded_at = recorded_at;
  e.prev_hash = audit::GenesisHash();
  {
    auto st = db.Cached("SELECT idx, entry_hash FROM audit_entries ORDER BY idx DESC LIMIT 1");
    if (!st.ok()) return st.status();
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (*row) {
      e.index = static_cast<std::uint64_t>(st->Int(0)) + 1;
      e.prev_hash = st->Blob(1);
    }
  }
  std::optional<std::string> changeset_id;
  if (kind == AuditKind::kChangeSet) {
    auto signed_cs = audit::SplitChangeSetPayload(payload);
    if (!signed_cs.ok()) return signed_cs.status();
    changeset_id = ChangeSetId(signed_cs->body);
  }
  const std::string hash = audit::EntryHash(e);
  auto ins = db.Cached(
      "INSERT INTO audit_entries (idx, kind, actor, payload, entry_hash, prev_hash, recorded_at, changeset_id) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins.ok()) return ins.status();
  ins->Bind(1, static_cast<std::int64_t>(e.index)).Bind(2, std::int64_t{e.kind}).Bind(3, e.actor).BindBlob(4, e.payload);
  ins->BindBlob(5, hash).BindBlob(6, e.prev_hash).Bind(7, recorded_at).Bind(8, changeset_id);
  MNR_RETURN_IF_ERROR(ins->Run().With("appending to the audit log"));
  MNR_RETURN_IF_ERROR(PushFrontier(db, hash));
  if (index_out) *index_out = e.index;
  return Status::OK();
}

}  // namespace

Result<std::uint64_t> AppendAuditEntry(Db& db, AuditKind kind, std::string_view actor, std::string_view payload) {
  std::uint64_t index = 0;
  MNR_RETURN_IF_ERROR(AppendAt(db, kind, actor, payload, UnixNow(), &index));
  return index;
}

Result<TreeHead> CurrentTreeHead(Db& db, const Signer& sign) {
  auto size = AuditLogSize(db);
  if (!size.ok()) return size.status();
  auto heads = db.Cached("SELECT size, root, timestamp, signature FROM audit_tree_heads ORDER BY size DESC LIMIT 1");
  if (!heads.ok()) return heads.status();
  auto row = heads->Step();
  if (!row.ok()) return row.status();
  std::int64_t last_time = 0;
  if (*row) {
    TreeHead latest{static_cast<std::uint64_t>(heads->Int(0)), heads->Text(1), heads->Int(2), heads->Blob(3)};
    if (latest.size == *size) return latest;
    if (latest.size > *size) {
      return Status::Corruption("a signed tree head covers " + std::to_string(latest.size) + " entries but the audit log holds " +
                                std::to_string(*size) + "; entries were removed (run `mnr-server audit verify`)");
    }
    last_time = latest.timestamp;
  }
  auto root = AuditFrontierRoot(db, *size);
  if (!root.ok()) return root.status();
  TreeHead head;
  head.size = *size;
  head.root = crypto::HexEncode(*root);
  head.timestamp = std::max(UnixNow(), last_time);
  auto sig = sign(audit::TreeHeadMessage(head.size, head.root, head.timestamp));
  if (!sig.ok()) return sig.status().With("signing the audit tree head");
  head.signature = *sig;
  auto ins = db.Cached("INSERT INTO audit_tree_heads (size, root, timestamp, signature) VALUES (?, ?, ?, ?)");
  if (!ins.ok()) return ins.status();
  ins->Bind(1, static_cast<std::int64_t>(head.size)).Bind(2, head.root).Bind(3, head.timestamp).BindBlob(4, head.signature);
  MNR_RETURN_IF_ERROR(ins->Run().With("storing the signed tree head"));
  return head;
}

std::string OperatorActor() {
  std::string user;
  if (const char* u = std::getenv("USER"); u != nullptr && *u != '\0') {
    user = u;
  } else if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_name != nullptr) {
    user = pw->pw_name;
  } else {
    user = "uid" + std::to_string(::geteuid());
  }
  std::string out = "operator:";
  for (char c : user.substr(0, 200)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return out;
}

Result<std::optional<std::uint64_t>> ChangeSetEntryIndex(Db& db, std::string_view changeset_id) {
  auto st = db.Cached("SELECT idx FROM audit_entries WHERE changeset_id = ?");
  if (!st.ok()) return st.status();
  st->Bind(1, changeset_id);
  auto row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::uint64_t>();
  return std::optional<std::uint64_t>(static_cast<std::uint64_t>(st->Int(0)));
}

Result<std::string> MakeReceipt(Db& db, const Signer& sign, std::string_view changeset_id) {
  auto index = ChangeSetEntryIndex(db, changeset_id);
  if (!index.ok()) return index.status();
  if (!*index) return Status::NotFound("change-set " + std::string(changeset_id) + " is not in the audit log");
  auto head = CurrentTreeHead(db, sign);
  if (!head.ok()) return head.status();
  audit::Receipt r;
  r.changeset_id = std::string(changeset_id);
  r.index = **index;
  r.tree_size = head->size;
  r.root = head->root;
  r.timestamp = head->timestamp;
  r.tree_head_signature = head->signature;
  auto sig = sign(audit::ReceiptMessage(r));
  if (!sig.ok()) return sig.status().With("signing a receipt");
  r.signature = *sig;
  return audit::EncodeReceipt(r);
}

Status BackfillAuditLog(Db& db) {
  auto size = AuditLogSize(db);
  if (!size.ok()) return size.status();
  if (*size > 0) return Status::OK();
  struct Item {
    std::int64_t at;
    int order;
    AuditKind kind;
    std::string actor, payload;
  };
  std::vector<Item> items;
  const std::string actor = "operator:backfill";
  {
    auto st = db.Cached("SELECT code, name, income_group, region FROM countries ORDER BY code");
    if (!st.ok()) return st.status();
    nlohmann::json rows = nlohmann::json::array();
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      rows.push_back({{"code", st->Text(0)}, {"name", st->Text(1)}, {"income_group", st->Text(2)}, {"region", st->Text(3)}});
    }
    if (!rows.empty()) items.push_back({0, 0, AuditKind::kCountriesChanged, actor, rows.dump()});
  }
  {
    auto st = db.Cached(
        "SELECT id, role, name, countries, certificate_pem, fingerprint, issued_at, expires_at, revoked_at, predecessor "
        "FROM credentials");
    if (!st.ok()) return st.status();
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      nlohmann::json countries = nlohmann::json::array();
      for (std::string c, s = st->Text(3); !s.empty();) {
        auto comma = s.find(',');
        c = s.substr(0, comma);
        if (!c.empty()) countries.push_back(c);
        s = comma == std::string::npos ? "" : s.substr(comma + 1);
      }
      nlohmann::json j = {{"id", st->Text(0)},          {"role", st->Text(1)},        {"name", st->Text(2)},
                          {"countries", countries},     {"certificate", st->Text(4)}, {"fingerprint", st->Text(5)},
                          {"issued_at", st->Int(6)},    {"expires_at", st->Int(7)}};
      if (!st->IsNull(9)) j["predecessor"] = st->Text(9);
      items.push_back({st->Int(6), 1, AuditKind::kCredentialIssued, actor, j.dump()});
      if (!st->IsNull(8)) {
        nlohmann::json r = {{"id", st->Text(0)}, {"revoked_at", st->Int(8)}};
        items.push_back({st->Int(8), 4, AuditKind::kCredentialRevoked, actor, r.dump()});
      }
    }
  }
  {
    auto st = db.Cached("SELECT credential_id, body, signature, received_at FROM changesets ORDER BY rowid");
    if (!st.ok()) return st.status();
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      items.push_back({st->Int(3), 2, AuditKind::kChangeSet, st->Text(0), audit::ChangeSetPayload(st->Blob(1), st->Blob(2))});
    }
  }
  {
    auto st = db.Cached(
        "SELECT r.conflict_id, r.field, r.version, r.resolved_by, r.reason, r.created_at, o.value, o.old_value, o.hlc, "
        "o.author, o.parents FROM resolutions r JOIN ops o ON o.resolution_id = r.id ORDER BY r.id");
    if (!st.ok()) return st.status();
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      const auto text_or_null = [&](int col) { return st->IsNull(col) ? nlohmann::json(nullptr) : nlohmann::json(st->Text(col)); };
      nlohmann::json j = {{"conflict", st->Int(0)},       {"field", st->Text(1)},          {"version", st->Text(2)},
                          {"resolved_by", st->Text(3)},   {"reason", st->Text(4)},         {"value", text_or_null(6)},
                          {"old_value", text_or_null(7)}, {"hlc", static_cast<HlcTime>(st->Int(8))},
                          {"author", st->Text(9)},        {"parents", nlohmann::json::parse(st->Text(10), nullptr, false)}};
      items.push_back({st->Int(5), 3, AuditKind::kConflictResolution, actor, j.dump()});
    }
  }
  if (items.empty()) return Status::OK();
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return std::tie(a.at, a.order) < std::tie(b.at, b.order); });
  Transaction tx(db);
  MNR_RETURN_IF_ERROR(tx.status());
  auto again = AuditLogSize(db);
  if (!again.ok()) return again.status();
  if (*again > 0) return Status::OK();  // another process filled it meanwhile
  for (const auto& it : items) {
    MNR_RETURN_IF_ERROR(AppendAt(db, it.kind, it.actor, it.payload, it.at, nullptr).With("filling the audit log from the store's history"));
  }
  return tx.Commit();
}

}  // namespace mnr::server
