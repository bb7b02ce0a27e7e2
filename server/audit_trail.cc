#include "server/audit_trail.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <map>
#include <set>
#include <tuple>

#include "mnr/attachment.h"
#include "mnr/changeset.h"
#include "mnr/crypto.h"
#include "mnr/csv.h"
#include "mnr/field.h"
#include "mnr/file_util.h"
#include "mnr/hlc.h"
#include "mnr/merkle.h"
#include "mnr/wall_clock.h"
#include "server/attachments.h"
#include "server/dataset.h"
#include "server/merge.h"
#include "server/register.h"
#include "server/release.h"
#include "server/server_store.h"

namespace mnr::server {
namespace {

bool TableExists(Db& db, std::string_view name) {
  auto st = db.Cached("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  if (!st.ok()) return false;
  st->Bind(1, name);
  auto row = st->Step();
  return row.ok() && *row;
}

struct StoredEntry {
  audit::Entry entry;
  std::string entry_hash;
  std::optional<std::string> changeset_id;
};

Result<std::vector<StoredEntry>> LoadEntries(Db& db, std::uint64_t from, std::optional<std::uint64_t> until) {
  auto st = db.Cached(
      "SELECT idx, kind, actor, payload, entry_hash, prev_hash, recorded_at, changeset_id FROM audit_entries "
      "WHERE idx >= ? AND idx < ? ORDER BY idx");
  if (!st.ok()) return st.status();
  st->Bind(1, static_cast<std::int64_t>(from)).Bind(2, until ? static_cast<std::int64_t>(*until) : INT64_MAX);
  std::vector<StoredEntry> out;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    StoredEntry s;
    s.entry.index = static_cast<std::uint64_t>(st->Int(0));
    s.entry.kind = static_cast<int>(st->Int(1));
    s.entry.actor = st->Text(2);
    s.entry.payload = st->Blob(3);
    s.entry_hash = st->Blob(4);
    s.entry.prev_hash = st->Blob(5);
    s.entry.recorded_at = st->Int(6);
    s.changeset_id = st->OptText(7);
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<TreeHead>> LoadTreeHeads(Db& db) {
  auto st = db.Cached("SELECT size, root, timestamp, signature FROM audit_tree_heads ORDER BY size");
  if (!st.ok()) return st.status();
  std::vector<TreeHead> out;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(TreeHead{static_cast<std::uint64_t>(st->Int(0)), st->Text(1), st->Int(2), st->Blob(3)});
  }
  return out;
}

nlohmann::json OptValue(const std::optional<std::string>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

// A short rendering of a field value for `audit log` text: the answer word, never free text.
std::string Display(const std::string& field, const std::optional<std::string>& value) {
  if (!value) return "(unset)";
  auto fk = ParseField(field);
  if (fk.ok() && fk->kind == FieldKey::Kind::kAnswer) {
    auto v = DecodeAnswer(*value);
    if (!v.ok()) return "(unreadable)";
    return std::string(AnswerName(v->answer)) + (v->note.empty() ? "" : " +note");
  }
  if (fk.ok() && (fk->attr == "title" || fk->attr == "text")) return "(" + std::to_string(value->size()) + " bytes of text)";
  return *value;
}

std::string CredentialName(const std::map<std::string, std::string>& names, const std::string& id) {
  auto it = names.find(id);
  return it == names.end() ? std::string() : it->second;
}

Result<std::map<std::string, std::string>> CredentialNames(ServerStore& store) {
  auto creds = Credentials(store.db());
  if (!creds.ok()) return creds.status();
  std::map<std::string, std::string> out;
  for (const auto& c : *creds) out[c.id] = c.name;
  return out;
}

bool Matches(const HistoryQuery& q, const std::string& field, const std::string& device) {
  auto fk = ParseField(field);
  if (!fk.ok()) return false;
  if (q.country && fk->country != *q.country) return false;
  if (q.indicator && (fk->kind != FieldKey::Kind::kAnswer || fk->indicator != *q.indicator)) return false;
  if (q.device && device != *q.device) return false;
  return true;
}

// Records of one entry, appended to `out`.
Status EntryRecords(const audit::Entry& e, const std::map<std::string, std::string>& names, const HistoryQuery& q,
                    nlohmann::json& out) {
  const bool field_filter = q.country || q.indicator || q.device;
  nlohmann::json base = {{"index", e.index},
                         {"kind", audit::KindName(e.kind)},
                         {"recorded_at", e.recorded_at},
                         {"credential", e.actor},
                         {"name", CredentialName(names, e.actor)}};
  if (e.kind == audit::kChangeSet) {
    auto signed_cs = audit::SplitChangeSetPayload(e.payload);
    if (!signed_cs.ok()) return signed_cs.status().With("audit entry " + std::to_string(e.index));
    auto cs = ParseChangeSet(signed_cs->body);
    if (!cs.ok()) return cs.status().With("audit entry " + std::to_string(e.index));
    const std::string id = ChangeSetId(signed_cs->body);
    // "credential" is the signer; a change-set a renewed device sealed under its old credential names
    // the successor that delivered it as "carried_by".
    base["credential"] = cs->credential_id;
    base["name"] = CredentialName(names, cs->credential_id);
    if (e.actor != cs->credential_id) base["carried_by"] = e.actor;
    for (const auto& op : cs->ops) {
      if (!Matches(q, op.field, cs->device_id)) continue;
      nlohmann::json r = base;
      r["device"] = cs->device_id;
      r["changeset_id"] = id;
      r["seq"] = cs->seq;
      r["field"] = op.field;
      r["hlc"] = op.hlc;
      r["device_time"] = HybridClock::Format(op.hlc);
      r["old"] = Display(op.field, op.old_value);
      r["new"] = Display(op.field, op.new_value);
      r["old_value"] = OptValue(op.old_value);
      r["new_value"] = OptValue(op.new_value);
      out.push_back(std::move(r));
    }
    return Status::OK();
  }
  const auto j = nlohmann::json::parse(e.payload, nullptr, false);
  if (j.is_discarded() || (!j.is_object() && !j.is_array())) {
    return Status::Corruption("audit entry " + std::to_string(e.index) + " has a payload that is not JSON");
  }
  if (e.kind == audit::kConflictResolution) {
    const std::string field = j.value("field", "");
    if (!Matches(q, field, "")) return Status::OK();
    if (q.device) return Status::OK();
    nlohmann::json r = base;
    if (j.contains("resolved_by")) r["name"] = j["resolved_by"];
    r["field"] = field;
    r["conflict"] = j.value("conflict", std::int64_t{0});
    r["hlc"] = j.value("hlc", HlcTime{0});
    r["device_time"] = HybridClock::Format(j.value("hlc", HlcTime{0}));
    std::optional<std::string> old_value, new_value;
    if (j.contains("old_value") && j["old_value"].is_string()) old_value = j["old_value"].get<std::string>();
    if (j.contains("value") && j["value"].is_string()) new_value = j["value"].get<std::string>();
    r["old"] = Display(field, old_value);
    r["new"] = Display(field, new_value);
    r["old_value"] = OptValue(old_value);
    r["new_value"] = OptValue(new_value);
    r["reason"] = j.value("reason", "");
    // A coordinator's review decision or query, or the server reopening an approved survey.
    if (j.contains("action") && j["action"].is_string()) r["action"] = j["action"];
    out.push_back(std::move(r));
    return Status::OK();
  }
  if (field_filter) return Status::OK();
  nlohmann::json r = base;
  // Payloads written by other parts of the server: read by shape, never trusted to have one.
  const auto str = [&j](const char* key) {
    return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
  };
  std::string summary;
  if (e.kind == audit::kCredentialIssued) {
    summary = "issued " + str("role") + " credential " + str("id") + " (" + str("name") + ")";
    if (!str("predecessor").empty()) summary += " replacing " + str("predecessor");
  } else if (e.kind == audit::kCredentialRevoked) {
    summary = "revoked credential " + str("id");
    if (!str("successor").empty()) summary += " (renewed as " + str("successor") + ")";
  } else if (e.kind == audit::kCountriesChanged) {
    summary = "country register: " + std::to_string(j.size()) + " row(s) imported";
  } else if (e.kind == audit::kRelease) {
    summary = "release " + str("label");
  } else if (e.kind == audit::kPublish) {
    summary = "publish " + str("release");
  }
  r["summary"] = summary;
  r["payload"] = j;
  out.push_back(std::move(r));
  return Status::OK();
}

std::string Short(std::string_view id) { return std::string(id.substr(0, 16)) + (id.size() > 16 ? "..." : ""); }

// A release's tree head, from its manifest: the first member object (or one level down) that has a
// "size" and a "root".
std::optional<std::pair<std::uint64_t, std::string>> ManifestTreeHead(const nlohmann::json& manifest) {
  const auto head_of = [](const nlohmann::json& j) -> std::optional<std::pair<std::uint64_t, std::string>> {
    if (j.is_object() && j.contains("size") && j["size"].is_number_unsigned() && j.contains("root") && j["root"].is_string()) {
      return std::make_pair(j["size"].get<std::uint64_t>(), j["root"].get<std::string>());
    }
    return std::nullopt;
  };
  if (!manifest.is_object()) return std::nullopt;
  for (const auto& [key, value] : manifest.items()) {
    if (auto h = head_of(value)) return h;
  }
  for (const auto& [key, value] : manifest.items()) {
    if (!value.is_object()) continue;
    for (const auto& [k2, v2] : value.items()) {
      if (auto h = head_of(v2)) return h;
    }
  }
  return std::nullopt;
}

struct ReleaseRow {
  std::string label, release_id, manifest, signature;
  std::optional<std::pair<std::uint64_t, std::string>> head;
  std::string csv_sha256;  // of the CSV the store holds now, for the verifier to compare with the manifest
};

Result<std::vector<ReleaseRow>> LoadReleases(Db& db) {
  std::vector<ReleaseRow> out;
  if (!TableExists(db, "releases")) return out;
  auto st = db.Cached("SELECT label, release_id, manifest, signature, csv FROM releases ORDER BY id");
  if (!st.ok()) return st.status();
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    ReleaseRow r{st->Text(0), st->Text(1), st->Text(2), st->Blob(3), std::nullopt, crypto::Sha256Hex(st->Text(4))};
    const auto m = nlohmann::json::parse(r.manifest, nullptr, false);
    if (!m.is_discarded()) r.head = ManifestTreeHead(m);
    out.push_back(std::move(r));
  }
  return out;
}

nlohmann::json HexList(const std::vector<std::string>& raw) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& h : raw) out.push_back(crypto::HexEncode(h));
  return out;
}

}  // namespace

Result<HistoryPage> AuditHistory(ServerStore& store, const HistoryQuery& q) {
  auto names = CredentialNames(store);
  if (!names.ok()) return names.status();
  auto st = store.db().Prepare("SELECT idx, kind, actor, payload, recorded_at FROM audit_entries WHERE idx >= ? ORDER BY idx");
  if (!st.ok()) return st.status();
  st->Bind(1, static_cast<std::int64_t>(q.from));
  HistoryPage page;
  std::size_t bytes = 0;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    audit::Entry e;
    e.index = static_cast<std::uint64_t>(st->Int(0));
    e.kind = static_cast<int>(st->Int(1));
    e.actor = st->Text(2);
    e.payload = st->Blob(3);
    e.recorded_at = st->Int(4);
    if (q.max_bytes && bytes >= q.max_bytes) {
      page.next = e.index;
      break;
    }
    if (q.since && e.recorded_at < *q.since) continue;
    const std::size_t before = page.records.size();
    try {
      MNR_RETURN_IF_ERROR(EntryRecords(e, *names, q, page.records));
    } catch (const std::exception& ex) {
      return Status::Corruption("audit entry " + std::to_string(e.index) + " has a payload of the wrong shape (" + ex.what() +
                                "); run `mnr-server audit verify`");
    }
    for (std::size_t i = before; i < page.records.size(); ++i) bytes += page.records[i].dump().size();
  }
  return page;
}

Result<nlohmann::json> ExportAuditLog(ServerStore& store, const ExportOptions& o) {
  using Part = ExportOptions::Part;
  Db& db = store.db();
  if (o.sign_head) {
    auto head = CurrentTreeHead(store.db(), store.HeadSigner());
    if (!head.ok()) return head.status();
  }
  auto heads = LoadTreeHeads(db);
  if (!heads.ok()) return heads.status();
  auto log_size = AuditLogSize(db);
  if (!log_size.ok()) return log_size.status();
  std::uint64_t size = *log_size;
  if (o.size) {
    size = *o.size;
  } else if (o.sign_head && !heads->empty()) {
    size = heads->back().size;
  }
  if (size > *log_size) return Status::InvalidArgument("the audit log holds " + std::to_string(*log_size) + " entries, not " + std::to_string(size));
  // Heads beyond an explicit size belong to a later export; without one, every head is shown, so
  // that a head over entries that are gone is evidence, not silently dropped.
  if (o.size) {
    while (!heads->empty() && heads->back().size > size) heads->pop_back();
  }

  // Every leaf up to `size`, for proofs.
  merkle::Tree tree;
  if (o.proofs) {
    auto st = db.Cached("SELECT entry_hash FROM audit_entries WHERE idx < ? ORDER BY idx");
    if (!st.ok()) return st.status();
    st->Bind(1, static_cast<std::int64_t>(size));
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      tree.Append(st->Blob(0));
    }
  }
  auto releases = LoadReleases(db);
  if (!releases.ok()) return releases.status();
  std::set<std::uint64_t> head_sizes;
  for (const auto& h : *heads) head_sizes.insert(h.size);
  std::vector<std::uint64_t> proof_sizes;  // the signed heads inclusion proofs go against
  for (const auto& r : *releases) {
    if (r.head && head_sizes.count(r.head->first)) proof_sizes.push_back(r.head->first);
  }
  if (head_sizes.count(size)) proof_sizes.push_back(size);
  std::sort(proof_sizes.begin(), proof_sizes.end());
  proof_sizes.erase(std::unique(proof_sizes.begin(), proof_sizes.end()), proof_sizes.end());
  const auto consistency = [&](std::uint64_t from, std::uint64_t to) -> Result<nlohmann::json> {
    auto proof = tree.ConsistencyProof(from, to);
    if (!proof.ok()) return proof.status();
    return nlohmann::json{{"from", from}, {"to", to}, {"path", HexList(*proof)}};
  };

  nlohmann::json out;
  out["format"] = audit::kExportFormat;
  out["size"] = size;
  std::optional<std::uint64_t> next;
  if (o.part == Part::kAll || o.part == Part::kMeta) {
    auto ca = ReadFile(store.paths().ca_cert(), kKeyFileBytes);
    if (!ca.ok()) return ca.status();
    auto cert = ReadFile(store.paths().server_cert(), kKeyFileBytes);
    if (!cert.ok()) return cert.status();
    out["store_id"] = store.store_id();
    out["exported_at"] = UnixNow();
    out["ca_certificate"] = *ca;
    out["server_certificate"] = *cert;
    auto creds = Credentials(store.db());
    if (!creds.ok()) return creds.status();
    out["credentials"] = nlohmann::json::array();
    for (const auto& c : *creds) {
      out["credentials"].push_back({{"id", c.id},
                                    {"role", RoleName(c.role)},
                                    {"name", c.name},
                                    {"countries", c.countries},
                                    {"fingerprint", c.fingerprint},
                                    {"certificate", c.certificate_pem},
                                    {"issued_at", c.issued_at},
                                    {"expires_at", c.expires_at},
                                    {"revoked_at", c.revoked_at ? nlohmann::json(*c.revoked_at) : nlohmann::json(nullptr)},
                                    {"predecessor", OptValue(c.predecessor)}});
    }
    out["releases"] = nlohmann::json::array();
    out["consistency_proofs"] = nlohmann::json::array();
    std::optional<std::uint64_t> previous_release;
    for (const auto& r : *releases) {
      if (r.head && r.head->first >= size) continue;  // made after the tree this export describes
      nlohmann::json jr = {{"label", r.label},
                           {"release_id", r.release_id},
                           {"manifest", r.manifest},
                           {"signature", crypto::Base64Encode(r.signature)},
                           {"csv_sha256", r.csv_sha256}};
      if (r.head) {
        jr["tree_size"] = r.head->first;
        jr["tree_root"] = r.head->second;
        // Between consecutive releases, not only consecutive heads: what an auditor compares.
        if (o.proofs && previous_release && head_sizes.count(*previous_release) && head_sizes.count(r.head->first) &&
            *previous_release < r.head->first) {
          auto proof = consistency(*previous_release, r.head->first);
          if (!proof.ok()) return proof.status();
          out["consistency_proofs"].push_back(std::move(*proof));
        }
        previous_release = r.head->first;
      }
      out["releases"].push_back(std::move(jr));
    }
  }
  if (o.part == Part::kAll || o.part == Part::kHeads) {
    out["tree_heads"] = nlohmann::json::array();
    if (!out.contains("consistency_proofs")) out["consistency_proofs"] = nlohmann::json::array();
    std::size_t bytes = 0;
    const std::uint64_t first = o.part == Part::kAll ? 0 : o.from;
    for (std::uint64_t i = first; i < heads->size(); ++i) {
      if (o.max_bytes && bytes >= o.max_bytes) {
        next = i;
        break;
      }
      const TreeHead& h = (*heads)[i];
      out["tree_heads"].push_back(
          {{"size", h.size}, {"root", h.root}, {"timestamp", h.timestamp}, {"signature", crypto::Base64Encode(h.signature)}});
      bytes += 300;
      if (o.proofs && i > 0) {
        auto proof = consistency((*heads)[i - 1].size, h.size);
        if (!proof.ok()) return proof.status();
        bytes += 80 * (*proof)["path"].size() + 60;
        out["consistency_proofs"].push_back(std::move(*proof));
      }
    }
  }
  if (o.part == Part::kAll || o.part == Part::kEntries) {
    out["entries"] = nlohmann::json::array();
    out["inclusion_proofs"] = nlohmann::json::array();
    std::size_t bytes = 0;
    std::uint64_t at = o.part == Part::kAll ? 0 : o.from;
    constexpr std::uint64_t kBatch = 256;
    while (at < size && !next) {
      auto batch = LoadEntries(db, at, std::min<std::uint64_t>(size, at + kBatch));
      if (!batch.ok()) return batch.status();
      if (batch->empty()) break;
      for (const auto& s : *batch) {
        if (o.max_bytes && bytes >= o.max_bytes) {
          next = s.entry.index;
          break;
        }
        const auto& e = s.entry;
        out["entries"].push_back({{"index", e.index},
                                  {"kind", e.kind},
                                  {"kind_name", audit::KindName(e.kind)},
                                  {"actor", e.actor},
                                  {"recorded_at", e.recorded_at},
                                  {"prev_hash", crypto::HexEncode(e.prev_hash)},
                                  {"entry_hash", crypto::HexEncode(s.entry_hash)},
                                  {"payload", crypto::Base64Encode(e.payload)}});
        bytes += e.payload.size() * 4 / 3 + 300;
        if (o.proofs && e.kind == audit::kChangeSet) {
          for (std::uint64_t n : proof_sizes) {
            if (e.index >= n) continue;
            auto path = tree.InclusionProof(e.index, n);
            if (!path.ok()) return path.status();
            nlohmann::json jp = {{"index", e.index}, {"tree_size", n}, {"path", HexList(*path)}};
            if (s.changeset_id) jp["changeset_id"] = *s.changeset_id;
            bytes += 80 * path->size() + 120;
            out["inclusion_proofs"].push_back(std::move(jp));
          }
        }
        at = e.index + 1;
      }
      if (!batch->empty() && batch->back().entry.index + 1 != at && !next) break;  // a gap: stop, verify names it
    }
  }
  out["next"] = next ? nlohmann::json(*next) : nlohmann::json(nullptr);
  return out;
}

Result<nlohmann::json> AuditEntryProof(ServerStore& store, std::uint64_t index) {
  auto head = CurrentTreeHead(store.db(), store.HeadSigner());
  if (!head.ok()) return head.status();
  if (index >= head->size) {
    return Status::InvalidArgument("the audit log has no entry #" + std::to_string(index) + "; it holds " + std::to_string(head->size));
  }
  Db& db = store.db();
  auto entries = LoadEntries(db, index, index + 1);
  if (!entries.ok()) return entries.status();
  if (entries->size() != 1) return Status::Corruption("audit entry #" + std::to_string(index) + " is missing from the store");
  merkle::Tree tree;
  auto st = db.Cached("SELECT entry_hash FROM audit_entries WHERE idx < ? ORDER BY idx");
  if (!st.ok()) return st.status();
  st->Bind(1, static_cast<std::int64_t>(head->size));
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    tree.Append(st->Blob(0));
  }
  auto path = tree.InclusionProof(index, head->size);
  if (!path.ok()) return path.status();
  auto cert = ReadFile(store.paths().server_cert(), kKeyFileBytes);
  if (!cert.ok()) return cert.status();
  const audit::Entry& e = (*entries)[0].entry;
  return nlohmann::json{{"entry",
                         {{"index", e.index},
                          {"kind", e.kind},
                          {"kind_name", audit::KindName(e.kind)},
                          {"actor", e.actor},
                          {"recorded_at", e.recorded_at},
                          {"prev_hash", crypto::HexEncode(e.prev_hash)},
                          {"payload", crypto::Base64Encode(e.payload)}}},
                        {"tree_head",
                         {{"size", head->size},
                          {"root", head->root},
                          {"timestamp", head->timestamp},
                          {"signature", crypto::Base64Encode(head->signature)}}},
                        {"path", HexList(*path)},
                        {"server_certificate", *cert}};
}

namespace {

// What the log says an operation was, and which entry said it.
struct LoggedOp {
  merge::Op op;
  std::uint64_t entry = 0;
};

std::string OpKey(const std::string& field, const std::string& version) { return field + "\n" + version; }

Status Mismatch(const std::string& what) { return Status::Corruption(what); }

// The dataset and good-practice entries a replay of the log gives at one tree size.
struct ReplayedDataset {
  std::map<std::string, DatasetCounts> counts;  // by survey round
  std::string practices;  // PracticeEntriesOf(...).dump(), as a release stores it
  nlohmann::json attachments;  // ReleaseAttachmentsOf the replayed attachment fields
};

// The live attachment fields of a merged state held in memory, in key order (AllAttachmentRefs of a
// replay). A value that does not decode is skipped: the merged state itself is compared elsewhere.
std::vector<AttachmentRef> ReplayedAttachmentRefs(const std::map<std::string, std::optional<std::string>>& merged) {
  std::vector<AttachmentRef> refs;
  constexpr std::string_view kPrefix = "attachment/";
  for (auto it = merged.lower_bound(std::string(kPrefix)); it != merged.end() && it->first.starts_with(kPrefix); ++it) {
    if (!it->second) continue;
    auto key = ParseField(it->first);
    auto value = DecodeAttachment(*it->second);
    if (!key.ok() || !value.ok()) continue;
    refs.push_back({it->first, key->country, std::move(*value)});
  }
  return refs;
}

// A release's attachments against the replay: every attachment the replay gives is listed with the
// same entry or named pending, and the release names no other.
Status CompareReleaseAttachments(const std::string& what, const nlohmann::json& manifest, const nlohmann::json& replayed) {
  if (!manifest.contains("attachments")) return Status::OK();  // made before attachments existed
  std::map<std::string, nlohmann::json> listed;
  for (const auto& e : ManifestAttachments(manifest)) listed[e.value("field", std::string())] = e;
  std::set<std::string> pending;
  if (manifest.contains("attachments_pending") && manifest["attachments_pending"].is_array()) {
    for (const auto& f : manifest["attachments_pending"]) {
      if (f.is_string()) pending.insert(f.get<std::string>());
    }
  }
  std::size_t seen = 0;
  for (const auto& e : replayed) {
    const std::string field = e["field"].get<std::string>();
    auto it = listed.find(field);
    if (it != listed.end()) {
      if (it->second != e) return Status::Corruption(what + ": attachment " + field + " is not listed as the log gives it at its tree head");
      ++seen;
    } else if (pending.count(field)) {
      ++seen;
    } else {
      return Status::Corruption(what + ": attachment " + field + ", which the log gives at its tree head, is not in its manifest");
    }
  }
  if (seen != listed.size() + pending.size()) {
    return Status::Corruption(what + ": its manifest lists attachments that the log does not give at its tree head");
  }
  return Status::OK();
}

// A release's audit tree head, from its manifest.
struct ManifestHead {
  std::uint64_t size = 0;
  std::string root;
  std::int64_t timestamp = 0;
  std::string signature;  // raw
};
std::optional<ManifestHead> ReleaseHead(const nlohmann::json& manifest) {
  if (!manifest.is_object() || !manifest.contains("audit_tree_head")) return std::nullopt;
  const auto& h = manifest["audit_tree_head"];
  if (!h.is_object() || !h.contains("size") || !h["size"].is_number_unsigned() || !h.contains("root") || !h["root"].is_string() ||
      !h.contains("timestamp") || !h["timestamp"].is_number_integer() || !h.contains("signature") || !h["signature"].is_string()) {
    return std::nullopt;
  }
  auto sig = crypto::Base64Decode(h["signature"].get<std::string>());
  if (!sig.ok()) return std::nullopt;
  return ManifestHead{h["size"].get<std::uint64_t>(), h["root"].get<std::string>(), h["timestamp"].get<std::int64_t>(), *sig};
}

// The first figure where a release's CSV and the recount's differ, as "at IND/GROUP: the release
// says A, the log gives B (COLUMN)". Compares the records as text, so a release whose figures do not
// even add up is described too. `columns`, when given, limits the comparison to those columns of the
// rows whose level is "indicator" (a release of another survey schema, whose other rows cannot be
// recomputed); rows are then matched by indicator and group.
std::string FirstDifference(std::string_view release_csv, std::string_view recount_csv, const std::vector<std::string>& columns = {}) {
  auto a = ParseCsv(release_csv, "the release's CSV");
  auto b = ParseCsv(recount_csv, "the recount");
  if (!a.ok()) return "(" + a.status().message() + ")";
  if (!b.ok() || b->empty()) return "(the recount does not read back)";
  const auto& header = b->front().fields;
  if (a->empty() || a->front().fields != header) return "in its header";
  const auto col = [&header](std::string_view name) {
    return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  const auto name = [](const CsvRecord& r) { return r.fields.size() >= 2 ? r.fields[0] + "/" + r.fields[1] : std::string("a short row"); };
  if (!columns.empty()) {
    std::map<std::pair<std::string, std::string>, const CsvRecord*> by_key;
    for (std::size_t i = 1; i < b->size(); ++i) {
      if ((*b)[i].fields.size() == header.size()) by_key[{(*b)[i].fields[0], (*b)[i].fields[1]}] = &(*b)[i];
    }
    for (std::size_t i = 1; i < a->size(); ++i) {
      const auto& f = (*a)[i].fields;
      if (f.size() != header.size()) return "at row " + std::to_string(i) + ": it has " + std::to_string(f.size()) + " fields";
      if (f[col("level")] != "indicator") continue;
      auto it = by_key.find({f[0], f[1]});
      for (const auto& c : columns) {
        const std::string want = it == by_key.end() ? "0" : it->second->fields[col(c)];
        if (f[col(c)] != want) return "at " + name((*a)[i]) + ": the release says " + f[col(c)] + ", the log gives " + want + " (" + c + ")";
      }
    }
    return {};
  }
  for (std::size_t i = 1; i < std::max(a->size(), b->size()); ++i) {
    if (i >= a->size() || i >= b->size() || name((*a)[i]) != name((*b)[i])) {
      return "at row " + std::to_string(i) + ": the release has " + (i < a->size() ? name((*a)[i]) : "no row") + ", the log gives " +
             (i < b->size() ? name((*b)[i]) : "no row");
    }
    const auto& x = (*a)[i].fields;
    const auto& y = (*b)[i].fields;
    for (std::size_t c = 2; c < header.size(); ++c) {
      if (c >= x.size()) return "at " + name((*a)[i]) + ": the release's row is short";
      if (x[c] != y[c]) return "at " + name((*a)[i]) + ": the release says " + x[c] + ", the log gives " + y[c] + " (" + header[c] + ")";
    }
  }
  return "in its text (the figures agree but the CSV is not their canonical form)";
}

// A release against the log: its hash, manifest and signature (CheckStoredRelease), its tree head
// (signed, and the root of the log's first `size` entries), and its figures and good-practice
// entries against those a replay of the log up to that head gives. When the release was made with
// another survey schema than this server's, only its indicator rows' counts can be recomputed.
Status CheckReleaseAgainstLog(ServerStore& store, const Release& r, const std::string& server_cert, const merkle::Tree& tree,
                              const std::map<std::string, std::uint64_t>& release_entries,
                              const std::map<std::uint64_t, ReplayedDataset>& replayed) {
  const std::string what = "release \"" + r.label + "\"";
  MNR_RETURN_IF_ERROR(CheckStoredRelease(store, r));
  const auto m = nlohmann::json::parse(r.manifest, nullptr, false);
  const auto head = ReleaseHead(m);
  if (!head) return Mismatch(what + ": the manifest names no audit tree head");
  if (head->size > tree.size() || crypto::HexEncode(tree.Root(head->size)) != head->root) {
    return Mismatch(what + ": its audit tree head (size " + std::to_string(head->size) + ") does not match the log");
  }
  Status sig = crypto::VerifyWithCertificate(server_cert, audit::TreeHeadMessage(head->size, head->root, head->timestamp), head->signature);
  if (!sig.ok()) return Mismatch(what + ": the signature of its audit tree head does not verify (" + sig.message() + ")");
  if (m.value("store_id", std::string()) != store.store_id()) return Mismatch(what + ": the manifest names another store");
  auto entry = release_entries.find(r.manifest);
  if (entry == release_entries.end()) return Mismatch(what + ": no release entry of the audit log holds its manifest");
  if (entry->second < head->size) {
    return Mismatch("entry " + std::to_string(entry->second) + " (" + what + "): logged before the tree head its manifest names");
  }
  const ReplayedDataset& at = replayed.at(head->size);
  const std::string where = what + ": its figures are not those the log gives at its tree head (size " + std::to_string(head->size) + ") ";
  const std::string round = m.value("round", std::string(kFirstRound));
  const auto counted = at.counts.find(round);
  const DatasetCounts none{{}, at.counts.at(std::string(kFirstRound)).groups};
  const std::string recount = DatasetCsv(BuildDataset(counted == at.counts.end() ? none : counted->second, store.schema()));
  if (m.value("survey_schema_version", 0) == store.schema().version()) {
    if (recount != r.csv) return Mismatch(where + FirstDifference(r.csv, recount));
    if (at.practices != r.practices) {
      return Mismatch(what + ": its good-practice entries are not those the log gives at its tree head (size " +
                      std::to_string(head->size) + ")");
    }
    return CompareReleaseAttachments(what, m, at.attachments);
  }
  // Made with another survey schema: its capability and domain rows, and rows of indicators this
  // server does not know, cannot be recomputed; the answer counts and group sizes can.
  const std::string diff = FirstDifference(r.csv, recount, {"n_yes", "n_partial", "n_no", "n_unknown", "n_countries"});
  if (!diff.empty()) return Mismatch(where + diff);
  return Status::OK();
}

}  // namespace

namespace {

Result<AuditVerifyReport> CheckAuditTrail(ServerStore& store) {
  Db& db = store.db();
  AuditVerifyReport report;
  ExportOptions eo;
  eo.sign_head = false;
  eo.proofs = false;
  auto exported = ExportAuditLog(store, eo);
  if (!exported.ok()) return exported.status();
  auto summary = audit::VerifyExport(*exported, false);
  if (!summary.ok()) return summary.status();
  report.summary = *summary;
  auto size = AuditLogSize(db);
  if (!size.ok()) return size.status();
  if (summary->entries != *size) {
    return Mismatch("the audit log holds " + std::to_string(*size) + " entries, but only " + std::to_string(summary->entries) +
                    " form an unbroken sequence from entry 0");
  }
  auto entries = LoadEntries(db, 0, std::nullopt);
  if (!entries.ok()) return entries.status();
  merkle::Tree tree;
  for (const auto& s : *entries) tree.Append(s.entry_hash);
  {
    auto frontier = AuditFrontierRoot(db, *size);
    if (!frontier.ok()) return frontier.status();
    if (*frontier != tree.Root(*size)) {
      return Mismatch("the audit log's tree frontier does not match its entries; the next signed tree head would be wrong");
    }
  }

  // Replay the log.
  std::map<std::string, LoggedOp> ops;                        // by field + version
  std::map<std::string, std::pair<std::string, std::string>> changesets;  // id -> (payload, credential)
  std::map<std::string, std::uint64_t> changeset_entry;
  std::map<std::string, std::pair<nlohmann::json, std::uint64_t>> issued;  // credential id -> (payload, entry)
  std::map<std::string, std::uint64_t> revoked;
  std::map<std::string, std::tuple<std::string, std::string, std::string, std::uint64_t>> resolutions;  // field+version -> who, reason, conflict
  std::map<std::string, std::tuple<std::string, std::string, std::string>> countries;
  std::map<std::string, std::uint64_t> country_entry;
  std::map<std::string, std::int64_t> revoked_at;                 // credential id -> time the log revoked it
  std::map<std::string, std::uint64_t> release_entries;           // logged manifest -> entry
  HlcTime newest_hlc = 0;                                         // the greatest edit time the log holds
  std::string newest_edit;
  // The merged state as the replay goes, recomputed at each release's tree size (and at the end)
  // for the fields edited since the last time.
  auto releases = ListReleases(db);
  if (!releases.ok()) return releases.status();
  std::set<std::uint64_t> checkpoints = {*size};
  for (const auto& r : *releases) {
    if (auto h = ReleaseHead(nlohmann::json::parse(r.manifest, nullptr, false)); h && h->size <= *size) checkpoints.insert(h->size);
  }
  std::map<std::string, std::vector<merge::Op>> field_ops;
  std::set<std::string> dirty;
  std::map<std::string, std::optional<std::string>> merged;
  std::map<std::uint64_t, ReplayedDataset> replayed;
  const auto add_op = [&](const std::string& field, const merge::Op& m, std::uint64_t index) {
    field_ops[field].push_back(m);
    dirty.insert(field);
    if (m.hlc > newest_hlc) {
      newest_hlc = m.hlc;
      newest_edit = "edit " + m.version + " of " + field + " in entry " + std::to_string(index);
    }
  };
  const auto snapshot = [&](std::uint64_t at) {
    for (const auto& field : dirty) {
      const auto& list = field_ops[field];
      merged[field] = list[merge::MergeField(list).winner].value;
    }
    dirty.clear();
    std::vector<Country> reg;
    for (const auto& [code, row] : countries) reg.push_back(Country{code, std::get<0>(row), std::get<1>(row), std::get<2>(row)});
    nlohmann::json practices = PracticeEntriesOf(merged, reg, store.schema());
    nlohmann::json attachments = ReleaseAttachmentsOf(ReplayedAttachmentRefs(merged), reg, store.schema(), practices);
    replayed[at] = ReplayedDataset{CountDatasetRounds(merged, reg), practices.dump(), std::move(attachments)};
  };
  for (const auto& s : *entries) {
    const auto& e = s.entry;
    const std::string where = "entry " + std::to_string(e.index);
    if (checkpoints.count(e.index)) snapshot(e.index);
    if (e.kind == audit::kChangeSet) {
      auto signed_cs = audit::SplitChangeSetPayload(e.payload);
      if (!signed_cs.ok()) return signed_cs.status().With(where);
      auto cs = ParseChangeSet(signed_cs->body);
      if (!cs.ok()) return cs.status().With(where);
      const std::string id = ChangeSetId(signed_cs->body);
      if (s.changeset_id != id) return Mismatch(where + ": its change-set id column does not name the change-set it holds");
      changesets[id] = {e.payload, cs->credential_id};
      changeset_entry[id] = e.index;
      for (const auto& op : cs->ops) {
        merge::Op m{OperationVersion(op), op.new_value, op.hlc, op.author, op.parents};
        auto [it, fresh] = ops.emplace(OpKey(op.field, m.version), LoggedOp{m, e.index});
        if (!fresh && it->second.op.value != m.value) {
          return Mismatch(where + ": edit " + m.version + " of " + op.field + " has another value than in entry " +
                          std::to_string(it->second.entry));
        }
        if (fresh) add_op(op.field, m, e.index);
      }
      continue;
    }
    if (s.changeset_id) return Mismatch(where + ": names a change-set but is a " + audit::KindName(e.kind) + " entry");
    const auto j = nlohmann::json::parse(e.payload, nullptr, false);
    if (j.is_discarded()) return Mismatch(where + ": the payload is not JSON");
    try {
      if (e.kind == audit::kConflictResolution) {
        const std::string field = j.at("field").get<std::string>();
        merge::Op m;
        m.version = j.at("version").get<std::string>();
        if (j.at("value").is_string()) m.value = j["value"].get<std::string>();
        m.hlc = j.at("hlc").get<HlcTime>();
        m.author = j.at("author").get<std::string>();
        for (const auto& p : j.at("parents")) m.parents.push_back(p.get<std::string>());
        if (m.version != OperationVersion(m.hlc, m.author)) return Mismatch(where + ": the resolution's version does not match its time and author");
        if (ops.emplace(OpKey(field, m.version), LoggedOp{m, e.index}).second) add_op(field, m, e.index);
        resolutions[OpKey(field, m.version)] = {j.at("resolved_by").get<std::string>(), j.at("reason").get<std::string>(),
                                                 std::to_string(j.at("conflict").get<std::int64_t>()), e.index};
      } else if (e.kind == audit::kCredentialIssued) {
        issued[j.at("id").get<std::string>()] = {j, e.index};
      } else if (e.kind == audit::kCredentialRevoked) {
        if (revoked.emplace(j.at("id").get<std::string>(), e.index).second) {
          revoked_at[j.at("id").get<std::string>()] = j.at("revoked_at").get<std::int64_t>();
        }
      } else if (e.kind == audit::kRelease) {
        release_entries.emplace(e.payload, e.index);
      } else if (e.kind == audit::kCountriesChanged) {
        for (const auto& r : j) {
          const std::string code = r.at("code").get<std::string>();
          countries[code] = {r.at("name").get<std::string>(), r.at("income_group").get<std::string>(), r.at("region").get<std::string>()};
          country_entry[code] = e.index;
        }
      }
    } catch (const std::exception& ex) {
      return Mismatch(where + " (" + audit::KindName(e.kind) + "): the payload lacks a member (" + ex.what() + ")");
    }
  }
  snapshot(*size);

  // Stored change-sets: each exactly as logged.
  {
    auto st = db.Cached("SELECT id, credential_id, body, signature FROM changesets ORDER BY rowid");
    if (!st.ok()) return st.status();
    std::size_t n = 0;
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      ++n;
      const std::string id = st->Text(0);
      auto it = changesets.find(id);
      if (it == changesets.end()) return Mismatch("change-set " + Short(id) + " is stored but no audit entry logged it");
      const std::string where = "entry " + std::to_string(changeset_entry[id]) + " (change-set " + Short(id) + ")";
      if (audit::ChangeSetPayload(st->Blob(2), st->Blob(3)) != it->second.first) {
        return Mismatch(where + ": the stored change-set or its signature differs from what the log holds");
      }
      if (st->Text(1) != it->second.second) return Mismatch(where + ": stored under another credential than the one that signed it");
    }
    if (n != changesets.size()) {
      for (const auto& [id, idx] : changeset_entry) {
        auto chk = db.Cached("SELECT 1 FROM changesets WHERE id = ?");
        if (!chk.ok()) return chk.status();
        chk->Bind(1, id);
        auto r = chk->Step();
        if (!r.ok()) return r.status();
        if (!*r) return Mismatch("entry " + std::to_string(idx) + " (change-set " + Short(id) + "): the change-set is missing from the store");
      }
    }
  }

  // The credential register: each credential as issued, revoked exactly when the log says so.
  {
    auto creds = Credentials(store.db());
    if (!creds.ok()) return creds.status();
    for (const auto& c : *creds) {
      auto it = issued.find(c.id);
      if (it == issued.end()) return Mismatch("credential " + c.id + " is in the register but no audit entry issued it");
      const auto& [j, idx] = it->second;
      const std::string where = "entry " + std::to_string(idx) + " (credential " + c.id + ")";
      if (j.value("certificate", "") != c.certificate_pem || j.value("fingerprint", "") != c.fingerprint) {
        return Mismatch(where + ": the register holds another certificate than the one issued");
      }
      if (j.value("role", "") != RoleName(c.role) || j.value("countries", nlohmann::json::array()) != nlohmann::json(c.countries)) {
        return Mismatch(where + ": the register gives it another role or other countries than issued");
      }
      if (j.value("name", "") != c.name || j.value("issued_at", std::int64_t{0}) != c.issued_at ||
          j.value("predecessor", "") != c.predecessor.value_or("")) {
        return Mismatch(where + ": the register gives it another name, issue time or predecessor than issued");
      }
      // The register may end a credential earlier than issued (stricter), never later.
      if (c.expires_at > j.value("expires_at", std::int64_t{0})) {
        return Mismatch(where + ": the register says it expires " + audit::FormatTime(c.expires_at) + ", but it was issued until " +
                        audit::FormatTime(j.value("expires_at", std::int64_t{0})) + " (its lifetime was edited in the store)");
      }
      if (c.revoked_at.has_value() != (revoked.count(c.id) > 0)) {
        return Mismatch(where + ": the register says " + (c.revoked_at ? "revoked" : "not revoked") + ", the log says otherwise");
      }
      if (c.revoked_at && *c.revoked_at != revoked_at[c.id]) {
        return Mismatch("entry " + std::to_string(revoked[c.id]) + " (credential " + c.id + "): the register says it was revoked " +
                        audit::FormatTime(*c.revoked_at) + ", the log says " + audit::FormatTime(revoked_at[c.id]));
      }
    }
    if (creds->size() != issued.size()) return Mismatch("the log issued " + std::to_string(issued.size()) + " credentials, the register holds " + std::to_string(creds->size()));
  }

  // Resolutions.
  {
    auto st = db.Cached("SELECT field, version, resolved_by, reason, conflict_id FROM resolutions");
    if (!st.ok()) return st.status();
    std::size_t n = 0;
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      ++n;
      auto it = resolutions.find(OpKey(st->Text(0), st->Text(1)));
      if (it == resolutions.end()) return Mismatch("the resolution " + st->Text(1) + " of " + st->Text(0) + " is stored but not logged");
      const auto& [who, reason, conflict, idx] = it->second;
      if (who != st->Text(2) || reason != st->Text(3) || conflict != std::to_string(st->Int(4))) {
        return Mismatch("entry " + std::to_string(idx) + " (resolution of " + st->Text(0) + "): the stored resolver, reason or conflict differs");
      }
    }
    if (n != resolutions.size()) return Mismatch("the log holds " + std::to_string(resolutions.size()) + " resolutions, the store " + std::to_string(n));
  }

  // The country register.
  {
    auto rows = Countries(store.db());
    if (!rows.ok()) return rows.status();
    for (const auto& c : *rows) {
      auto it = countries.find(c.code);
      if (it == countries.end()) return Mismatch("country " + c.code + " is in the register but no audit entry imported it");
      if (it->second != std::make_tuple(c.name, c.income_group, c.region)) {
        return Mismatch("entry " + std::to_string(country_entry[c.code]) + " (country " + c.code + "): the register row differs from the one imported");
      }
    }
    if (rows->size() != countries.size()) return Mismatch("the log imported " + std::to_string(countries.size()) + " countries, the register holds " + std::to_string(rows->size()));
  }

  // Every operation, then the merged state, as a replay of the log gives them.
  {
    auto st = db.Cached("SELECT field, version, value, hlc, author, parents FROM ops");
    if (!st.ok()) return st.status();
    std::size_t n = 0;
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      ++n;
      const std::string field = st->Text(0), version = st->Text(1);
      auto it = ops.find(OpKey(field, version));
      if (it == ops.end()) return Mismatch("the edit " + version + " of " + field + " is stored but no audit entry holds it");
      const merge::Op& m = it->second.op;
      const auto parents = nlohmann::json::parse(st->Text(5), nullptr, false);
      if (st->OptText(2) != m.value || static_cast<HlcTime>(st->Int(3)) != m.hlc || st->Text(4) != m.author ||
          parents != nlohmann::json(m.parents)) {
        return Mismatch("entry " + std::to_string(it->second.entry) + ": the stored edit " + version + " of " + field + " differs from the logged one");
      }
    }
    if (n != ops.size()) {
      for (const auto& [key, logged] : ops) {
        const auto nl = key.find('\n');
        auto chk = db.Cached("SELECT 1 FROM ops WHERE field = ? AND version = ?");
        if (!chk.ok()) return chk.status();
        chk->Bind(1, key.substr(0, nl)).Bind(2, key.substr(nl + 1));
        auto r = chk->Step();
        if (!r.ok()) return r.status();
        if (!*r) return Mismatch("entry " + std::to_string(logged.entry) + ": its edit of " + key.substr(0, nl) + " is missing from the store");
      }
    }
    report.ops = ops.size();
  }
  {
    std::map<std::string, std::vector<const LoggedOp*>> by_field;
    for (const auto& [key, logged] : ops) by_field[key.substr(0, key.find('\n'))].push_back(&logged);
    std::map<std::string, std::tuple<std::optional<std::string>, std::string, HlcTime, std::uint64_t>> expected;
    std::set<std::tuple<std::string, std::string, std::string>> expected_conflicts;
    for (const auto& [field, list] : by_field) {
      std::vector<merge::Op> in;
      for (const auto* l : list) in.push_back(l->op);
      const merge::FieldMerge m = merge::MergeField(in);
      const auto& w = in[m.winner];
      expected[field] = {w.value, w.version, w.hlc, list[m.winner]->entry};
      for (const auto& set : m.conflicts) {
        std::vector<std::string> versions;
        for (std::size_t i : set.candidates) versions.push_back(in[i].version);
        expected_conflicts.emplace(field, merge::CandidateKey(versions), set.resolved_by ? "resolved" : "open");
      }
    }
    auto st = db.Cached("SELECT field, value, version, hlc FROM fields");
    if (!st.ok()) return st.status();
    std::size_t n = 0;
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      ++n;
      const std::string field = st->Text(0);
      auto it = expected.find(field);
      if (it == expected.end()) return Mismatch("the merged state holds " + field + ", which no logged edit writes");
      const auto& [value, version, hlc, idx] = it->second;
      if (st->OptText(1) != value || st->Text(2) != version || static_cast<HlcTime>(st->Int(3)) != hlc) {
        return Mismatch("the merged value of " + field + " is not what replaying the log gives (the winner is edit " + version +
                        " of entry " + std::to_string(idx) + ")");
      }
    }
    if (n != expected.size()) {
      for (const auto& [field, e] : expected) {
        auto chk = db.Cached("SELECT 1 FROM fields WHERE field = ?");
        if (!chk.ok()) return chk.status();
        chk->Bind(1, field);
        auto r = chk->Step();
        if (!r.ok()) return r.status();
        if (!*r) return Mismatch("the merged state lacks " + field + ", which entry " + std::to_string(std::get<3>(e)) + " writes");
      }
    }
    report.fields = expected.size();
    auto cst = db.Cached("SELECT field, candidate_key, status FROM conflicts");
    if (!cst.ok()) return cst.status();
    std::set<std::tuple<std::string, std::string, std::string>> stored_conflicts;
    for (;;) {
      auto row = cst->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      stored_conflicts.emplace(cst->Text(0), cst->Text(1), cst->Text(2));
    }
    if (stored_conflicts != expected_conflicts) {
      for (const auto& c : expected_conflicts) {
        if (!stored_conflicts.count(c)) return Mismatch("the conflicts of " + std::get<0>(c) + " are not what replaying the log gives");
      }
      for (const auto& c : stored_conflicts) {
        if (!expected_conflicts.count(c)) return Mismatch("the conflicts of " + std::get<0>(c) + " are not what replaying the log gives");
      }
    }
  }

  // The server clock: never behind an edit it holds, or its next edits (resolutions) could rank
  // below older ones.
  {
    auto st = db.Cached("SELECT value FROM meta WHERE key = 'hlc'");
    if (!st.ok()) return st.status();
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Mismatch("the store has no server clock (meta hlc)");
    const std::string text = st->Text(0);
    HlcTime clock = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), clock);
    if (ec != std::errc() || p != text.data() + text.size()) return Mismatch("the server clock (meta hlc) is not a number: " + text.substr(0, 40));
    if (clock < newest_hlc) {
      return Mismatch("the server clock (meta hlc " + HybridClock::Format(clock) + ") is behind the newest edit it holds (" + newest_edit +
                      ", at " + HybridClock::Format(newest_hlc) + "): the clock was moved backwards, so its next edits could rank "
                      "below older ones");
    }
  }

  // The published figures: the maintained counts against a recount of the replayed merged state and
  // register (which equal the stored ones, checked above).
  {
    const auto& replay = replayed.at(*size).counts;
    auto rounds = DatasetRounds(db);
    if (!rounds.ok()) return rounds.status();
    std::set<std::string> all(rounds->begin(), rounds->end());
    for (const auto& [round, counts] : replay) all.insert(round);
    for (const auto& round : all) {
      auto stored = StoredDatasetCounts(db, round);
      if (!stored.ok()) return stored.status();
      auto it = replay.find(round);
      const DatasetCounts none{{}, replay.at(std::string(kFirstRound)).groups};
      MNR_RETURN_IF_ERROR(CompareDatasetCounts(*stored, it == replay.end() ? none : it->second, round));
    }
  }

  // Every release: its hash, signature and log entry, and its figures against a replay of the log up
  // to the tree head its manifest names.
  {
    auto cert = ReadFile(store.paths().server_cert(), kKeyFileBytes);
    if (!cert.ok()) return cert.status();
    std::set<std::string> stored_manifests;
    for (const auto& r : *releases) {
      MNR_RETURN_IF_ERROR(CheckReleaseAgainstLog(store, r, *cert, tree, release_entries, replayed));
      stored_manifests.insert(r.manifest);
    }
    for (const auto& [manifest, idx] : release_entries) {
      if (!stored_manifests.count(manifest)) {
        const auto m = nlohmann::json::parse(manifest, nullptr, false);
        const std::string label = m.is_object() ? m.value("label", std::string()) : std::string();
        return Mismatch("entry " + std::to_string(idx) + " (release \"" + label + "\"): the release is logged but missing from the store");
      }
    }
    report.releases = releases->size();
  }
  return report;
}

}  // namespace

Result<AuditVerifyReport> VerifyAuditTrail(ServerStore& store) {
  try {
    return CheckAuditTrail(store);
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("a stored value has the wrong shape (") + e.what() + ")");
  }
}

Result<HeldFilesReport> CheckHeldFiles(ServerStore& store) {
  Db& db = store.db();
  HeldFilesReport report;
  std::map<std::string, std::uint64_t> held;  // hash -> size, from the rows of blobs
  {
    auto st = db.Cached("SELECT hash, size FROM blobs ORDER BY hash");
    if (!st.ok()) return st.status();
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      held[st->Text(0)] = static_cast<std::uint64_t>(st->Int(1));
    }
  }
  auto refs = AllAttachmentRefs(db);
  if (!refs.ok()) return refs.status();
  report.refs = refs->size();
  const BlobDirectory blobs(store.paths().dir);
  std::map<std::string, Status> verdict;  // hash -> its file's check, each file read once
  for (const auto& [hash, size] : held) verdict.emplace(hash, blobs.Verify(hash, size));
  report.files = held.size();
  std::set<std::string> referred;
  for (const AttachmentRef& r : *refs) {
    const std::string hash = r.field.substr(r.field.size() - std::min<std::size_t>(64, r.field.size()));
    referred.insert(hash);
    auto it = held.find(hash);
    if (it == held.end()) {
      report.notes.push_back("attachment " + r.field + ": file " + blobs.PathOf(hash) + " not received yet");
      continue;
    }
    if (const Status& v = verdict.at(hash); !v.ok()) {
      report.failures.push_back("attachment " + r.field + ": " + v.message());
    } else if (r.value.size != it->second) {
      report.failures.push_back("attachment " + r.field + ": it states " + std::to_string(r.value.size) + " bytes, but " +
                                blobs.PathOf(hash) + " holds " + std::to_string(it->second));
    }
  }
  for (const auto& [hash, v] : verdict) {
    if (!v.ok() && !referred.count(hash)) report.failures.push_back("file of no live attachment: " + v.message());
  }
  return report;
}

}  // namespace mnr::server
