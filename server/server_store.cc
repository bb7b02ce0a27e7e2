#include "server/server_store.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "mnr/address.h"
#include "mnr/attachment.h"
#include "mnr/changeset.h"
#include "mnr/crypto.h"
#include "mnr/field.h"
#include "mnr/file_util.h"
#include "mnr/hlc.h"
#include "mnr/limits.h"
#include "mnr/utf8.h"
#include "server/audit_log.h"
#include "server/backup.h"
#include "server/dataset.h"
#include "server/merge.h"
#include "server/store_internal.h"
#include "mnr/review.h"
#include "mnr/wall_clock.h"

namespace mnr::embedded {
std::string_view server_store_v1();
std::string_view server_store_v2();
std::string_view server_store_v3();
std::string_view server_store_v4();
std::string_view server_store_v5();
std::string_view server_store_v6();
std::string_view server_store_v7();
std::string_view server_store_v8();
}

namespace mnr::server {

using Intake = ServerStore::Intake;

namespace {

// Migration i (0-based) takes the store from version i+1 to i+2.
constexpr std::string_view (*kMigrations[])() = {&mnr::embedded::server_store_v2, &mnr::embedded::server_store_v3,
                                                      &mnr::embedded::server_store_v4, &mnr::embedded::server_store_v5,
                                                      &mnr::embedded::server_store_v6, &mnr::embedded::server_store_v7,
                                                      &mnr::embedded::server_store_v8};
constexpr int kStoreVersion = 1 + static_cast<int>(std::size(kMigrations));

// Brings a store from `from` to kStoreVersion, one transaction per step, so a crash mid-way leaves a
// store at a well-defined version that the next Open continues from.
Status Migrate(Db& db, int from) {
  for (int v = from; v < kStoreVersion; ++v) {
    Transaction tx(db);
    MNR_RETURN_IF_ERROR(tx.status());
    MNR_RETURN_IF_ERROR(db.Exec(kMigrations[v - 1]()).With("migrating " + db.path() + " to version " + std::to_string(v + 1)));
    MNR_RETURN_IF_ERROR(db.Exec("PRAGMA user_version = " + std::to_string(v + 1)));
    MNR_RETURN_IF_ERROR(tx.Commit());
  }
  return Status::OK();
}
}  // namespace

int ServerStoreVersion() { return kStoreVersion; }

namespace {

constexpr std::int64_t kTenYears = 10LL * 365 * 24 * 3600;
constexpr std::size_t kDeviceIdBytes = 128;
constexpr std::size_t kShortAttrBytes = 1024;

bool IsIpAddress(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

Status CheckAddress(const std::string& address) {
  auto hp = ParseHostPort(address);
  if (!hp.ok()) return hp.status().With("server address (--address HOST:PORT)");
  return CheckLabel(address, "server address", 255);
}

std::string CountryOfField(const std::string& field) {
  auto parsed = ParseField(field);
  return parsed.ok() ? parsed->country : std::string();
}

// True if `later` is `earlier` or replaces it through a chain of renewals (mnr-server renew).
Result<bool> SameLineage(Db& db, std::string later, const std::string& earlier) {
  for (int hops = 0; hops < 1000; ++hops) {
    if (later == earlier) return true;
    auto st = db.Cached("SELECT predecessor FROM credentials WHERE id = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, later);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row || st->IsNull(0)) return false;
    later = st->Text(0);
  }
  return Status::Corruption("credential " + earlier + " has a renewal chain that loops");
}

// Validates the value an operation writes, by field kind. Free text is never echoed in the error.
Status CheckOpValue(const FieldKey& key, const std::optional<std::string>& value) {
  if (!value) return Status::OK();
  if (key.kind == FieldKey::Kind::kAnswer) {
    auto decoded = DecodeAnswer(*value);
    if (!decoded.ok()) return decoded.status();
    return CheckText(decoded->note, "note", limits::kNoteBytes);
  }
  if (key.kind == FieldKey::Kind::kReview) {
    if (key.attr == "submitted") {
      if (*value != kSubmittedValue) return Status::InvalidArgument("a submission's value must be \"submitted\"");
      return Status::OK();
    }
    auto d = DecodeDecision(*value);
    if (!d.ok()) return d.status();
    return CheckText(d->comment, "review comment", limits::kNoteBytes);
  }
  if (key.kind == FieldKey::Kind::kAttachment) {
    auto decoded = DecodeAttachment(*value);
    return decoded.ok() ? Status::OK() : decoded.status();
  }
  if (key.kind == FieldKey::Kind::kQuery) {
    if (key.attr == "question") {
      auto q = DecodeQuestion(*value);
      if (!q.ok()) return q.status();
      return CheckText(q->text, "query", limits::kNoteBytes);
    }
    return CheckText(*value, "reply", limits::kNoteBytes);
  }
  if (key.attr == "kind" && !IsValidPracticeKind(*value)) {
    return Status::InvalidArgument("practice kind must be good_practice, challenge or lesson_learned");
  }
  std::size_t max = key.attr == "text" ? limits::kPracticeTextBytes
                    : key.attr == "title" ? limits::kPracticeTitleBytes
                                          : kShortAttrBytes;
  return CheckText(*value, "practice " + key.attr, max);
}

Status CheckDeviceId(const std::string& id) {
  if (id.empty() || id.size() > kDeviceIdBytes) return Status::InvalidArgument("device id is empty or too long");
  for (char c : id) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return Status::InvalidArgument("device id holds a character outside printable ASCII");
  }
  if (id.rfind("coordinator:", 0) == 0) return Status::InvalidArgument("device id may not start with 'coordinator:'");
  return Status::OK();
}

// Moves the device's acked_through past the change-sets now stored without a gap after it: usually
// one step, as devices send in order. Inside the caller's transaction.
Status AdvanceAckedThrough(Db& db, const std::string& device_id) {
  auto cur = db.Cached("SELECT acked_through FROM devices WHERE device_id = ?");
  if (!cur.ok()) return cur.status();
  cur->Bind(1, device_id);
  auto row = cur->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::Corruption("device " + device_id + " stored a change-set but is not in the device register");
  const std::int64_t from = cur->Int(0);
  std::int64_t through = from;
  auto next = db.Cached("SELECT 1 FROM changesets WHERE device_id = ? AND seq = ?");
  if (!next.ok()) return next.status();
  for (;;) {
    next->Reset();
    next->Bind(1, device_id).Bind(2, through + 1);
    auto found = next->Step();
    if (!found.ok()) return found.status();
    if (!*found) break;
    ++through;
  }
  if (through == from) return Status::OK();
  auto up = db.Cached("UPDATE devices SET acked_through = ? WHERE device_id = ?");
  if (!up.ok()) return up.status();
  up->Bind(1, through).Bind(2, device_id);
  return up->Run();
}

Intake Refuse(RefusalCode code, std::string reason) {
  Intake in;
  in.refusal = Refusal{code, std::move(reason)};
  return in;
}

struct StoredOp {
  merge::Op op;
  std::string credential;  // empty for a resolution
  std::optional<std::int64_t> resolution_id;
};

Result<std::vector<StoredOp>> LoadFieldOps(Db& db, const std::string& field) {
  auto st = db.Cached(
      "SELECT o.version, o.value, o.hlc, o.author, o.parents, c.credential_id, o.resolution_id "
      "FROM ops o LEFT JOIN changesets c ON c.id = o.changeset_id WHERE o.field = ?");
  if (!st.ok()) return st.status();
  st->Bind(1, field);
  std::vector<StoredOp> ops;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    StoredOp s;
    s.op.version = st->Text(0);
    s.op.value = st->OptText(1);
    s.op.hlc = static_cast<HlcTime>(st->Int(2));
    s.op.author = st->Text(3);
    try {
      auto parents = nlohmann::json::parse(st->Text(4));
      for (const auto& p : parents) s.op.parents.push_back(p.get<std::string>());
    } catch (const std::exception& e) {
      return Status::Corruption("parents of " + field + " version " + s.op.version + " are not a JSON list: " + e.what());
    }
    s.credential = st->Text(5);
    if (!st->IsNull(6)) s.resolution_id = st->Int(6);
    ops.push_back(std::move(s));
  }
  return ops;
}

Result<Conflict> ReadConflictRow(Db& db, const Statement& st) {
  Conflict c;
  c.id = st.Int(0);
  c.field = st.Text(1);
  try {
    auto cands = nlohmann::json::parse(st.Text(2));
    for (const auto& j : cands) {
      Conflict::Candidate cand;
      cand.version = j.at("version").get<std::string>();
      if (!j.at("value").is_null()) cand.value = j.at("value").get<std::string>();
      cand.author = j.at("author").get<std::string>();
      cand.credential = j.at("credential").get<std::string>();
      cand.hlc = j.at("hlc").get<HlcTime>();
      c.candidates.push_back(std::move(cand));
    }
  } catch (const std::exception& e) {
    return Status::Corruption("conflict " + std::to_string(c.id) + " has unreadable candidates: " + e.what());
  }
  c.resolved = st.Text(3) == "resolved";
  c.resolved_by = st.OptText(4);
  c.reason = st.OptText(5);
  c.resolution_version = st.OptText(6);
  auto w = db.Cached("SELECT version FROM fields WHERE field = ?");
  if (!w.ok()) return w.status();
  w->Bind(1, c.field);
  auto row = w->Step();
  if (!row.ok()) return row.status();
  if (*row) c.winner_version = w->Text(0);
  return c;
}

constexpr const char* kConflictColumns = "id, field, candidates, status, resolved_by, reason, resolution_version";

}  // namespace

Status ServerStore::Init(const std::string& dir_in, const std::vector<std::string>& hosts, const std::string& address) {
  std::string dir = dir_in;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir.empty()) return Status::InvalidArgument("no data directory given");
  struct stat sb;
  if (::lstat(dir.c_str(), &sb) == 0) {
    return Status::AlreadyExists(dir + " already exists; a server store is only created in a new directory "
                                       "(choose another --data, or remove the old one deliberately)");
  }
  MNR_RETURN_IF_ERROR(CheckAddress(address));
  std::vector<std::string> dns = {"localhost"}, ips = {"127.0.0.1"};
  for (const auto& h : hosts) {
    MNR_RETURN_IF_ERROR(CheckLabel(h, "--host", 253));
    if (h.find_first_of(" ,/") != std::string::npos) return Status::InvalidArgument("--host '" + h + "' is not a host name or IP address");
    auto& list = IsIpAddress(h) ? ips : dns;
    if (std::find(list.begin(), list.end(), h) == list.end()) list.push_back(h);
  }

  // Everything is built in a sibling directory and renamed into place at the end, so a failure
  // (or a crash) never leaves a half-made store behind under DIR.
  std::string tmp = dir + ".init-" + crypto::HexEncode(crypto::RandomBytes(6));
  if (::mkdir(tmp.c_str(), 0700) != 0) {
    return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno) + " (does the parent directory exist?)");
  }
  ServerPaths p{tmp};
  auto build = [&]() -> Status {
    const std::int64_t now = UnixNow();
    const std::string store_id = crypto::HexEncode(crypto::RandomBytes(16));
    auto ca_key = crypto::GenerateSigningKey();
    if (!ca_key.ok()) return ca_key.status().With("generating the CA key");
    auto ca_cert = crypto::CreateCaCertificate(*ca_key, "mnr-sync CA " + store_id.substr(0, 8), now - kClockSlack, now + kTenYears);
    if (!ca_cert.ok()) return ca_cert.status().With("creating the CA certificate");
    auto server_key = crypto::GenerateSigningKey();
    if (!server_key.ok()) return server_key.status().With("generating the server key");
    crypto::CertificateRequest req;
    req.common_name = "server";
    req.dns_names = dns;
    req.ip_addresses = ips;
    req.not_before = now - kClockSlack;
    req.not_after = now + kTenYears;
    req.server = true;
    auto server_cert = crypto::IssueCertificate(*ca_cert, ca_key->private_pem, server_key->public_pem, req);
    if (!server_cert.ok()) return server_cert.status().With("issuing the server certificate");
    auto sealing = crypto::GenerateSealingKey();
    if (!sealing.ok()) return sealing.status().With("generating the sealing key");

    MNR_RETURN_IF_ERROR(WriteFileAtomic(p.ca_key(), ca_key->private_pem, 0600));
    MNR_RETURN_IF_ERROR(WriteFileAtomic(p.server_key(), server_key->private_pem, 0600));
    MNR_RETURN_IF_ERROR(WriteFileAtomic(p.sealing_key(), crypto::Base64Encode(sealing->private_key) + "\n", 0600));
    MNR_RETURN_IF_ERROR(WriteFileAtomic(p.ca_cert(), *ca_cert, 0644));
    MNR_RETURN_IF_ERROR(WriteFileAtomic(p.server_cert(), *server_cert, 0644));

    auto db = Db::Open(p.db(), true);
    if (!db.ok()) return db.status();
    Transaction tx(**db);
    MNR_RETURN_IF_ERROR(tx.status());
    MNR_RETURN_IF_ERROR((*db)->Exec(embedded::server_store_v1()).With("creating the server store schema"));
    MNR_RETURN_IF_ERROR(SetMeta(**db, "store_id", store_id));
    MNR_RETURN_IF_ERROR(SetMeta(**db, "server_address", address));
    MNR_RETURN_IF_ERROR(SetMeta(**db, "sealing_public_key", crypto::Base64Encode(sealing->public_key)));
    MNR_RETURN_IF_ERROR(SetMeta(**db, "hlc", "0"));
    MNR_RETURN_IF_ERROR(SetMeta(**db, "state_seq", "0"));
    MNR_RETURN_IF_ERROR(SetMeta(**db, "created_at", std::to_string(now)));
    MNR_RETURN_IF_ERROR((*db)->Exec("PRAGMA user_version = 1"));
    MNR_RETURN_IF_ERROR(tx.Commit());
    return Migrate(**db, 1);
  };
  Status s = build();
  if (s.ok() && ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_NOREPLACE) != 0) {
    s = Status::IOError("cannot move the new store into " + dir + ": " + std::strerror(errno));
  }
  if (!s.ok()) {
    std::error_code ec;
    std::filesystem::remove_all(tmp, ec);
    return s.With("init " + dir);
  }
  std::string parent = std::filesystem::path(dir).parent_path().string();
  int fd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  return Status::OK();
}

Result<std::unique_ptr<ServerStore>> ServerStore::Open(const std::string& dir) {
  std::unique_ptr<ServerStore> s(new ServerStore());
  s->paths_.dir = dir;
  if (!FileExists(s->paths_.db())) {
    return Status::NotFound(dir + " is not a server store (no server.db); create one with `mnr-server init --data " + dir + "`");
  }
  auto db = Db::Open(s->paths_.db(), false);
  if (!db.ok()) return db.status();
  s->db_ = std::move(*db);
  auto v = s->db_->UserVersion();
  if (!v.ok()) return v.status();
  if (*v > kStoreVersion) {
    return Status::InvalidArgument(s->paths_.db() + " has store version " + std::to_string(*v) +
                                   ", newer than this mnr-server understands (" + std::to_string(kStoreVersion) +
                                   "); upgrade mnr-server");
  }
  if (*v < 1) return Status::Corruption(s->paths_.db() + " is not an mnr-server store (user_version " + std::to_string(*v) + ")");
  if (*v < kStoreVersion) {
    // A store made by an earlier release: keep a copy of it as it was before changing it.
    auto saved = BackupBeforeMigration(dir, *v, kStoreVersion, UnixNow());
    if (!saved.ok()) return saved.status();
    std::cerr << "mnr-server: migrating " << s->paths_.db() << " from store version " << *v << " to " << kStoreVersion
              << "; the store as it was is saved in " << *saved << "\n";
  }
  MNR_RETURN_IF_ERROR(Migrate(*s->db_, *v));
  MNR_RETURN_IF_ERROR(BackfillAuditLog(*s->db_).With(s->paths_.db()));
  auto schema = SurveySchema::Active();
  if (!schema.ok()) return schema.status();
  s->schema_ = *schema;
  return s;
}

std::string ServerStore::store_id() {
  auto v = GetMeta(*db_, "store_id");
  return v.ok() && *v ? **v : std::string();
}

Result<std::string> ServerStore::ServerSigningKey() {
  if (signing_key_) return *signing_key_;
  auto key = ReadFile(paths_.server_key(), kKeyFileBytes);
  if (!key.ok()) return key.status();
  signing_key_ = *key;
  return key;
}

Signer ServerStore::HeadSigner() {
  return [this](std::string_view message) -> Result<std::string> {
    auto key = ServerSigningKey();
    if (!key.ok()) return key.status();
    return crypto::Sign(*key, message);
  };
}

Result<std::string> ServerStore::SealingPrivateKey() {
  if (sealing_key_) return *sealing_key_;
  auto text = ReadFile(paths_.sealing_key(), kKeyFileBytes);
  if (!text.ok()) return text.status();
  std::string t = *text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  auto raw = crypto::Base64Decode(t);
  if (!raw.ok() || raw->size() != 32) {
    return Status::Corruption(paths_.sealing_key() + " does not hold a base64 X25519 private key (32 bytes)");
  }
  sealing_key_ = *raw;
  return *raw;
}

namespace {

// Recomputes one field from all its stored ops: the winner (bumping state_seq if it changed) and the
// conflict rows. Runs inside the caller's transaction.
struct Recompute {
  bool winner_changed = false;
  int conflicts_opened = 0;
};

Result<Recompute> RecomputeField(Db& db, const std::string& field, std::uint64_t& state_seq, std::int64_t now) {
  auto stored = LoadFieldOps(db, field);
  if (!stored.ok()) return stored.status();
  if (stored->empty()) return Recompute{};
  std::vector<merge::Op> ops;
  for (const auto& s : *stored) ops.push_back(s.op);
  merge::FieldMerge m = merge::MergeField(ops);
  Recompute out;
  // The summary the next edit can merge from (MergeFromSummary), when it holds for this field.
  std::optional<std::string> heads;
  bool summary_holds = m.conflicts.empty();
  for (const auto& o : ops) summary_holds = summary_holds && merge::NamesOnlyOlderParents(o);
  if (summary_holds) {
    nlohmann::json h = nlohmann::json::array();
    for (std::size_t i : m.heads) h.push_back(ops[i].version);
    heads = h.dump();
  }

  const merge::Op& w = ops[m.winner];
  auto cur = db.Cached("SELECT version, value FROM fields WHERE field = ?");
  if (!cur.ok()) return cur.status();
  cur->Bind(1, field);
  auto row = cur->Step();
  if (!row.ok()) return row.status();
  if (!*row || cur->Text(0) != w.version) {
    const std::optional<std::string> before = *row ? cur->OptText(1) : std::nullopt;
    ++state_seq;
    auto up = db.Cached(
        "INSERT INTO fields (field, country, value, version, hlc, state_seq) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (field) DO UPDATE SET value = excluded.value, version = excluded.version, hlc = excluded.hlc, "
        "state_seq = excluded.state_seq");
    if (!up.ok()) return up.status();
    up->Bind(1, field).Bind(2, CountryOfField(field)).Bind(3, w.value).Bind(4, w.version);
    up->Bind(5, static_cast<std::int64_t>(w.hlc)).Bind(6, static_cast<std::int64_t>(state_seq));
    MNR_RETURN_IF_ERROR(up->Run());
    MNR_RETURN_IF_ERROR(DatasetOnMergedChange(db, field, before, w.value));
    out.winner_changed = true;
  }
  {
    auto sum = db.Cached("UPDATE fields SET heads = ? WHERE field = ?");
    if (!sum.ok()) return sum.status();
    sum->Bind(1, heads).Bind(2, field);
    MNR_RETURN_IF_ERROR(sum->Run());
  }

  struct Existing {
    std::int64_t id;
    std::string status;
    std::optional<std::string> resolution_version;
  };
  std::map<std::string, Existing> existing;
  auto ex = db.Cached("SELECT id, candidate_key, status, resolution_version FROM conflicts WHERE field = ?");
  if (!ex.ok()) return ex.status();
  ex->Bind(1, field);
  for (;;) {
    auto r = ex->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    existing[ex->Text(1)] = Existing{ex->Int(0), ex->Text(2), ex->OptText(3)};
  }

  std::set<std::string> derived_keys;
  for (const auto& set : m.conflicts) {
    nlohmann::json cands = nlohmann::json::array();
    std::vector<std::string> versions;
    for (std::size_t i : set.candidates) {
      const auto& s = (*stored)[i];
      versions.push_back(s.op.version);
      cands.push_back({{"version", s.op.version},
                       {"value", s.op.value ? nlohmann::json(*s.op.value) : nlohmann::json(nullptr)},
                       {"author", s.op.author},
                       {"credential", s.credential},
                       {"hlc", s.op.hlc}});
    }
    std::string key = merge::CandidateKey(versions);
    derived_keys.insert(key);
    std::string status = set.resolved_by ? "resolved" : "open";
    std::optional<std::string> resolved_by, reason, resolution_version;
    std::optional<std::int64_t> resolved_at;
    if (set.resolved_by) {
      const auto& settler = (*stored)[*set.resolved_by];
      resolution_version = settler.op.version;
      resolved_by = settler.op.author;
      resolved_at = now;
      if (settler.resolution_id) {
        auto rs = db.Cached("SELECT resolved_by, reason, created_at FROM resolutions WHERE id = ?");
        if (!rs.ok()) return rs.status();
        rs->Bind(1, *settler.resolution_id);
        auto rr = rs->Step();
        if (!rr.ok()) return rr.status();
        if (*rr) {
          resolved_by = rs->Text(0);
          reason = rs->Text(1);
          resolved_at = rs->Int(2);
        }
      }
    }
    std::string cands_json;
    try {
      cands_json = cands.dump();
    } catch (const std::exception& e) {
      return Status::Corruption("conflict candidates of " + field + " cannot be written: " + e.what());
    }
    auto it = existing.find(key);
    if (it != existing.end()) {
      if (it->second.status == status && it->second.resolution_version == resolution_version) {
        // Candidate rows may still change (a late change-set names the credential); keep it current.
        auto up = db.Cached("UPDATE conflicts SET candidates = ? WHERE id = ?");
        if (!up.ok()) return up.status();
        up->Bind(1, cands_json).Bind(2, it->second.id);
        MNR_RETURN_IF_ERROR(up->Run());
        continue;
      }
      auto up = db.Cached(
          "UPDATE conflicts SET candidates = ?, status = ?, resolved_by = ?, reason = ?, resolution_version = ?, "
          "resolved_at = ? WHERE id = ?");
      if (!up.ok()) return up.status();
      up->Bind(1, cands_json).Bind(2, status).Bind(3, resolved_by).Bind(4, reason).Bind(5, resolution_version);
      if (resolved_at) up->Bind(6, *resolved_at); else up->BindNull(6);
      up->Bind(7, it->second.id);
      MNR_RETURN_IF_ERROR(up->Run());
      continue;
    }
    auto ins = db.Cached(
        "INSERT INTO conflicts (field, candidate_key, candidates, status, opened_seq, resolved_by, reason, "
        "resolution_version, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, field).Bind(2, key).Bind(3, cands_json).Bind(4, status).Bind(5, static_cast<std::int64_t>(state_seq));
    ins->Bind(6, resolved_by).Bind(7, reason).Bind(8, resolution_version);
    if (resolved_at) ins->Bind(9, *resolved_at); else ins->BindNull(9);
    MNR_RETURN_IF_ERROR(ins->Run());
    if (!set.resolved_by) ++out.conflicts_opened;
  }
  // A candidate set that no longer exists (it grew, or merged with another) is gone from the derived
  // state; its row goes too, so the table stays a function of the ops.
  for (const auto& [key, e] : existing) {
    if (derived_keys.count(key)) continue;
    auto del = db.Cached("DELETE FROM conflicts WHERE id = ?");
    if (!del.ok()) return del.status();
    del->Bind(1, e.id);
    MNR_RETURN_IF_ERROR(del->Run());
  }
  return out;
}

// Merges `op`, just added to `field`, from the field's summary (its winner and heads in the fields
// row) instead of its whole history, when merge::SupersedesAll says the summary decides it: `op`
// becomes the winner and sole head, and no conflict arises. Returns false, having changed nothing,
// when the summary does not decide it (the caller then runs RecomputeField). Inside the caller's
// transaction.
Result<bool> MergeFromSummary(Db& db, const std::string& field, const merge::Op& op, std::uint64_t& state_seq) {
  std::optional<std::string> before;
  {
    auto cur = db.Cached("SELECT version, value, hlc, heads FROM fields WHERE field = ?");
    if (!cur.ok()) return cur.status();
    cur->Bind(1, field);
    auto row = cur->Step();
    if (!row.ok()) return row.status();
    if (!*row) {
      // The field's first edit, unless an edit of it is stored without a merged state (never, short of
      // a damaged store): then there is nothing to merge with.
      if (!merge::NamesOnlyOlderParents(op)) return false;
      auto other = db.Cached("SELECT 1 FROM ops WHERE field = ? AND version <> ? LIMIT 1");
      if (!other.ok()) return other.status();
      other->Bind(1, field).Bind(2, op.version);
      auto found = other->Step();
      if (!found.ok()) return found.status();
      if (*found) return false;
    } else {
      if (cur->IsNull(3)) return false;
      merge::Op winner;
      winner.version = cur->Text(0);
      winner.value = cur->OptText(1);
      winner.hlc = static_cast<HlcTime>(cur->Int(2));
      const auto at = winner.version.find('@');
      if (at == std::string::npos) return false;
      winner.author = winner.version.substr(at + 1);
      std::vector<std::string> heads;
      try {
        for (const auto& h : nlohmann::json::parse(cur->Text(3))) heads.push_back(h.get<std::string>());
      } catch (const std::exception&) {
        return false;  // an unreadable summary is no summary: merge the whole history
      }
      if (!merge::SupersedesAll(winner, heads, op)) return false;
      before = winner.value;
      auto conflicts = db.Cached("SELECT 1 FROM conflicts WHERE field = ? LIMIT 1");
      if (!conflicts.ok()) return conflicts.status();
      conflicts->Bind(1, field);
      auto found = conflicts->Step();
      if (!found.ok()) return found.status();
      if (*found) return false;
    }
  }
  ++state_seq;
  auto up = db.Cached(
      "INSERT INTO fields (field, country, value, version, hlc, state_seq, heads) VALUES (?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (field) DO UPDATE SET value = excluded.value, version = excluded.version, hlc = excluded.hlc, "
      "state_seq = excluded.state_seq, heads = excluded.heads");
  if (!up.ok()) return up.status();
  up->Bind(1, field).Bind(2, CountryOfField(field)).Bind(3, op.value).Bind(4, op.version);
  up->Bind(5, static_cast<std::int64_t>(op.hlc)).Bind(6, static_cast<std::int64_t>(state_seq));
  up->Bind(7, nlohmann::json::array({op.version}).dump());
  MNR_RETURN_IF_ERROR(up->Run());
  MNR_RETURN_IF_ERROR(DatasetOnMergedChange(db, field, before, op.value));
  return true;
}

}  // namespace

ServerStore::Intake ServerStore::ReceiveChangeSet(std::string_view sealed, const CredentialRecord* connection,
                                                  std::int64_t now) {
  Checked checked = CheckChangeSet(sealed, connection, now);
  if (checked.refusal) return Intake{std::nullopt, std::move(checked.refusal)};
  std::vector<Verified> group;
  group.push_back(std::move(*checked.verified));
  return std::move(ApplyChangeSets(group, now, connection != nullptr).front());
}

ServerStore::Checked ServerStore::CheckChangeSet(std::string_view sealed, const CredentialRecord* connection,
                                                 std::int64_t now) {
  const auto Refuse = [](RefusalCode code, std::string reason) { return Checked{std::nullopt, Refusal{code, std::move(reason)}}; };
  auto key = SealingPrivateKey();
  if (!key.ok()) return Refuse(RefusalCode::kInternal, "the server cannot read its sealing key: " + key.status().message());
  auto opened = OpenChangeSet(sealed, *key);
  if (!opened.ok()) {
    return Refuse(RefusalCode::kBadChangeSet,
                  "the change-set does not open (not sealed to this server, damaged or malformed): " + opened.status().message());
  }
  const ChangeSet& cs = opened->changeset;
  const std::string what = "change-set " + std::to_string(cs.seq) + " of device " + cs.device_id;

  auto cred = FindCredential(*db_, cs.credential_id);
  if (!cred.ok()) return Refuse(RefusalCode::kInternal, cred.status().message());
  if (!*cred) {
    return Refuse(RefusalCode::kCredential, what + " is signed by credential '" + cs.credential_id +
                                                "', which this server never issued");
  }
  const CredentialRecord& signer = **cred;
  // The holder is the credential the device uses now: the connection's, or for a bundle the signer's.
  // After `mnr-server renew` they may differ: change-sets a device sealed under its old credential
  // (waiting in its outbox) are still accepted when a successor's connection carries them, which only
  // the holder of the new key can do; in a bundle, only those sealed before the renewal.
  const CredentialRecord* holder = connection != nullptr ? connection : &signer;
  if (holder->id != signer.id) {
    auto lineage = SameLineage(*db_, holder->id, signer.id);
    if (!lineage.ok()) return Refuse(RefusalCode::kInternal, lineage.status().message());
    if (!*lineage) {
      return Refuse(RefusalCode::kCredential, what + " is signed by credential " + signer.id +
                                                  ", but this connection authenticated as " + holder->id);
    }
  }
  Status usable = CheckCredentialUsable(signer, now);
  if (!usable.ok()) {
    auto renewed = db_->Cached("SELECT 1 FROM credentials WHERE predecessor = ?");
    if (!renewed.ok()) return Refuse(RefusalCode::kInternal, renewed.status().message());
    renewed->Bind(1, signer.id);
    auto row = renewed->Step();
    if (!row.ok()) return Refuse(RefusalCode::kInternal, row.status().message());
    const bool carried = holder->id != signer.id;
    const bool sealed_before = signer.revoked_at &&
                               static_cast<std::int64_t>(HybridClock::Millis(cs.created) / 1000) <= *signer.revoked_at;
    if (!*row || !(carried || sealed_before)) return Refuse(RefusalCode::kCredential, usable.message());
  }
  Status sig = VerifyChangeSetSignature(*opened, signer.certificate_pem);
  if (!sig.ok()) {
    return Refuse(RefusalCode::kBadChangeSet, what + ": the signature does not verify against credential " + signer.id +
                                                  " (" + sig.message() + ")");
  }
  if (signer.role != Role::kField) {
    return Refuse(RefusalCode::kRole, what + " is signed by a " + std::string(RoleName(signer.role)) +
                                          " credential; only field credentials submit answers (coordinators resolve "
                                          "conflicts with `mnr-server conflicts resolve`)");
  }
  if (cs.schema_version > static_cast<std::uint32_t>(schema_->version())) {
    return Refuse(RefusalCode::kVersion, what + " was made with survey schema version " + std::to_string(cs.schema_version) +
                                             ", newer than this server's (" + std::to_string(schema_->version()) +
                                             "); upgrade the server first");
  }
  Status dev = CheckDeviceId(cs.device_id);
  if (!dev.ok()) return Refuse(RefusalCode::kBadChangeSet, what + ": " + dev.message());
  if (cs.seq == 0 || cs.seq > static_cast<std::uint64_t>(INT64_MAX)) {
    return Refuse(RefusalCode::kBadChangeSet, what + ": sequence numbers start at 1");
  }
  for (const auto& op : cs.ops) {
    auto fk = ParseField(op.field);
    if (!fk.ok()) return Refuse(RefusalCode::kBadChangeSet, what + ": " + fk.status().message());
    if (fk->kind == FieldKey::Kind::kAnswer && schema_->FindIndicator(fk->indicator) == nullptr) {
      return Refuse(RefusalCode::kBadChangeSet, what + " writes " + op.field + ", but indicator '" + fk->indicator +
                                                    "' is not in survey schema version " + std::to_string(schema_->version()));
    }
    if (fk->kind == FieldKey::Kind::kAnswer && fk->round != kFirstRound && !schema_->HasRound(fk->round)) {
      return Refuse(RefusalCode::kBadChangeSet, what + " writes " + op.field + ", but round " + fk->round +
                                                    " is not in survey schema version " + std::to_string(schema_->version()));
    }
    if (fk->kind == FieldKey::Kind::kAttachment && fk->target == "indicator" && schema_->FindIndicator(fk->indicator) == nullptr) {
      return Refuse(RefusalCode::kBadChangeSet, what + " attaches a file to " + op.field + ", but indicator '" + fk->indicator +
                                                    "' is not in survey schema version " + std::to_string(schema_->version()));
    }
    if (fk->kind == FieldKey::Kind::kPractice && !IsValidPracticeAttr(fk->attr)) {
      return Refuse(RefusalCode::kBadChangeSet, what + " writes " + op.field + ", which is not a practice attribute");
    }
    if ((fk->kind == FieldKey::Kind::kReview && fk->attr == "decision") ||
        (fk->kind == FieldKey::Kind::kQuery && fk->attr == "question")) {
      return Refuse(RefusalCode::kRole, what + " writes " + op.field + ": only a coordinator approves, returns or asks "
                                            "queries; a field office submits (`mnr-client submit`) and replies "
                                            "(`mnr-client reply`)");
    }
    if (std::find(signer.countries.begin(), signer.countries.end(), fk->country) == signer.countries.end()) {
      return Refuse(RefusalCode::kScope, what + " writes " + op.field + " of country " + fk->country + ", but credential " +
                                             signer.id + " may write only " + JoinCountries(signer.countries) +
                                             "; nothing of it was stored");
    }
    if (op.author != cs.device_id) {
      return Refuse(RefusalCode::kBadChangeSet, what + " holds an edit of " + op.field + " authored by '" + op.author +
                                                    "'; a device submits only its own edits");
    }
    if (op.hlc == 0 || op.hlc > static_cast<HlcTime>(INT64_MAX)) {
      return Refuse(RefusalCode::kBadChangeSet, what + ": the edit of " + op.field + " has an impossible timestamp");
    }
    Status v = CheckOpValue(*fk, op.new_value);
    if (!v.ok()) return Refuse(RefusalCode::kBadChangeSet, what + ": the new value of " + op.field + " is invalid: " + v.message());
    for (const auto& p : op.parents) {
      if (p.empty() || p.size() > 256 || !IsValidUtf8(p)) {
        return Refuse(RefusalCode::kBadChangeSet, what + ": the edit of " + op.field + " names a malformed parent version");
      }
    }
  }

  Verified v;
  v.holder = *holder;
  v.signer = signer;
  v.network = connection != nullptr;
  v.what = what;
  v.opened = std::move(*opened);
  return Checked{std::move(v), std::nullopt};
}

std::vector<ServerStore::Intake> ServerStore::ApplyChangeSets(std::vector<Verified>& group, std::int64_t now, bool sign_head) {
  std::vector<Intake> out(group.size());
  const auto all_internal = [&](const std::string& why) {
    for (std::size_t i = 0; i < group.size(); ++i) {
      out[i] = Refuse(RefusalCode::kInternal, "the server could not store " + group[i].what + ": " + why);
    }
    return out;
  };
  Transaction tx(*db_);
  if (!tx.status().ok()) return all_internal(tx.status().message());
  bool stored = false;
  std::map<std::uint64_t, RefusalCode> refused_sessions;
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (group[i].session != 0 && refused_sessions.contains(group[i].session)) {
      // Pipelined behind a refused change-set of its sync, which it may build on (docs/protocol.md, "Refused").
      out[i] = Refuse(refused_sessions[group[i].session], "not stored: an earlier change-set of this sync was refused");
      continue;
    }
    // Each change-set under its own savepoint: one refused (a reused sequence number, an edit that
    // contradicts a stored one) or failing leaves the others of the group as they were applied.
    if (Status s = db_->Exec("SAVEPOINT intake"); !s.ok()) return all_internal(s.message());
    out[i] = ApplyChangeSet(group[i], now);
    const bool keep = out[i].outcome.has_value();
    if (!keep) {
      if (Status s = db_->Exec("ROLLBACK TO intake"); !s.ok()) return all_internal(s.message());
    }
    if (Status s = db_->Exec("RELEASE intake"); !s.ok()) return all_internal(s.message());
    stored = stored || (keep && !out[i].outcome->duplicate);
    if (!keep && group[i].session != 0) refused_sessions.emplace(group[i].session, out[i].refusal->code);
  }
  if (stored && sign_head) {
    // Signed now, in the same commit, so the receipts the listener sends cost no second write.
    auto head = CurrentTreeHead(*db_, HeadSigner());
    if (!head.ok()) return all_internal(head.status().message());
  }
  if (Status s = tx.Commit(); !s.ok()) return all_internal(s.message());
  return out;
}

ServerStore::Intake ServerStore::ApplyChangeSet(Verified& v, std::int64_t now) {
  const OpenedChangeSet* opened = &v.opened;
  const ChangeSet& cs = opened->changeset;
  const std::string& what = v.what;
  const CredentialRecord& signer = v.signer;
  const CredentialRecord* holder = &v.holder;
  const bool network = v.network;
  auto internal = [&](const Status& s) { return Refuse(RefusalCode::kInternal, "the server could not store " + what + ": " + s.message()); };

  auto prior = db_->Cached("SELECT id FROM changesets WHERE id = ? OR (device_id = ? AND seq = ?)");
  if (!prior.ok()) return internal(prior.status());
  prior->Bind(1, opened->id).Bind(2, cs.device_id).Bind(3, static_cast<std::int64_t>(cs.seq));
  bool duplicate = false;
  for (;;) {
    auto row = prior->Step();
    if (!row.ok()) return internal(row.status());
    if (!*row) break;
    if (prior->Text(0) == opened->id) {
      duplicate = true;
    } else {
      return Refuse(RefusalCode::kSequence, what + " reuses sequence number " + std::to_string(cs.seq) +
                                                " with other content than the change-set stored under it (" +
                                                prior->Text(0).substr(0, 16) + "...)");
    }
  }
  IntakeOutcome outcome;
  outcome.changeset_id = opened->id;
  outcome.seq = cs.seq;
  if (duplicate) {
    outcome.duplicate = true;
    outcome.acked_through = AckedThrough(cs.device_id);
    return Intake{outcome, std::nullopt};
  }

  auto bound = db_->Cached("SELECT credential_id FROM devices WHERE device_id = ?");
  if (!bound.ok()) return internal(bound.status());
  bound->Bind(1, cs.device_id);
  auto brow = bound->Step();
  if (!brow.ok()) return internal(brow.status());
  if (*brow && bound->Text(0) != holder->id) {
    // Renewals move a device forward along its credential's lineage, never sideways.
    const std::string owner = bound->Text(0);
    auto newer = SameLineage(*db_, holder->id, owner);
    auto older = SameLineage(*db_, owner, holder->id);
    if (!newer.ok()) return internal(newer.status());
    if (!older.ok()) return internal(older.status());
    if (!*newer && !*older) {
      return Refuse(RefusalCode::kCredential, "device " + cs.device_id + " belongs to credential " + owner +
                                                  "; its change-sets cannot be signed by " + signer.id);
    }
    if (*newer) {
      auto follow = db_->Cached("UPDATE devices SET credential_id = ? WHERE device_id = ?");
      if (!follow.ok()) return internal(follow.status());
      follow->Bind(1, holder->id).Bind(2, cs.device_id);
      if (Status s = follow->Run(); !s.ok()) return internal(s);
    }
  }
  if (!*brow) {
    auto ins = db_->Cached("INSERT INTO devices (device_id, credential_id) VALUES (?, ?)");
    if (!ins.ok()) return internal(ins.status());
    ins->Bind(1, cs.device_id).Bind(2, holder->id);
    if (Status s = ins->Run(); !s.ok()) return internal(s);
  }

  auto ins_cs = db_->Cached(
      "INSERT INTO changesets (id, device_id, seq, credential_id, body, signature, received_at, source) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins_cs.ok()) return internal(ins_cs.status());
  ins_cs->Bind(1, opened->id).Bind(2, cs.device_id).Bind(3, static_cast<std::int64_t>(cs.seq)).Bind(4, signer.id);
  ins_cs->BindBlob(5, opened->body).BindBlob(6, opened->signature).Bind(7, now).Bind(8, network ? "network" : "bundle");
  if (Status s = ins_cs->Run(); !s.ok()) return internal(s);
  // The actor is the credential that delivered it; the payload names the one that signed it.
  auto logged = AppendAuditEntry(*db_, AuditKind::kChangeSet, holder->id, audit::ChangeSetPayload(opened->body, opened->signature));
  if (!logged.ok()) return internal(logged.status());

  if (Status s = AdvanceAckedThrough(*db_, cs.device_id); !s.ok()) return internal(s);

  auto meta_hlc = GetMetaNumber(*db_, "hlc");
  if (!meta_hlc.ok()) return internal(meta_hlc.status());
  HybridClock clock(*meta_hlc);
  std::set<std::string> touched;
  std::map<std::string, std::vector<merge::Op>> added;  // per field, the edits this change-set adds
  auto find_op = db_->Cached("SELECT value FROM ops WHERE field = ? AND version = ?");
  if (!find_op.ok()) return internal(find_op.status());
  auto ins_op = db_->Cached(
      "INSERT INTO ops (field, version, value, old_value, hlc, author, parents, changeset_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins_op.ok()) return internal(ins_op.status());
  for (const auto& op : cs.ops) {
    const std::string version = OperationVersion(op);
    find_op->Reset();
    find_op->Bind(1, op.field).Bind(2, version);
    auto row = find_op->Step();
    if (!row.ok()) return internal(row.status());
    if (*row) {
      // The same edit delivered again inside another change-set: already merged. The same version with
      // another value cannot come from an honest device and would make the merge depend on arrival.
      if (find_op->OptText(0) != op.new_value) {
        return Refuse(RefusalCode::kBadChangeSet, what + " holds edit " + version + " of " + op.field +
                                                      " with another value than the one already stored");
      }
      continue;
    }
    nlohmann::json parents = op.parents;
    ins_op->Reset();
    ins_op->Bind(1, op.field).Bind(2, version).Bind(3, op.new_value).Bind(4, op.old_value);
    ins_op->Bind(5, static_cast<std::int64_t>(op.hlc)).Bind(6, op.author).Bind(7, parents.dump()).Bind(8, opened->id);
    if (Status s = ins_op->Run(); !s.ok()) return internal(s);
    clock.Observe(op.hlc);
    touched.insert(op.field);
    added[op.field].push_back(merge::Op{version, op.new_value, op.hlc, op.author, op.parents});
  }

  auto seq = GetMetaNumber(*db_, "state_seq");
  if (!seq.ok()) return internal(seq.status());
  std::uint64_t state_seq = *seq;
  for (const auto& field : touched) {
    if (const auto& ops = added[field]; ops.size() == 1) {
      auto merged = MergeFromSummary(*db_, field, ops.front(), state_seq);
      if (!merged.ok()) return internal(merged.status());
      if (*merged) {
        ++outcome.fields_changed;
        continue;
      }
    }
    auto r = RecomputeField(*db_, field, state_seq, now);
    if (!r.ok()) return internal(r.status());
    outcome.fields_changed += r->winner_changed ? 1 : 0;
    outcome.conflicts_opened += r->conflicts_opened;
  }
  std::set<std::string> edited_countries;
  for (const auto& field : touched) {
    auto fk = ParseField(field);
    if (fk.ok() && (fk->kind == FieldKey::Kind::kAnswer || fk->kind == FieldKey::Kind::kPractice)) edited_countries.insert(fk->country);
  }
  for (const auto& country : edited_countries) {
    if (Status s = ReopenIfEditedAfterApproval(country, cs.device_id, opened->id, clock, state_seq); !s.ok()) return internal(s);
  }
  if (Status s = SetMeta(*db_, "state_seq", std::to_string(state_seq)); !s.ok()) return internal(s);
  if (Status s = SetMeta(*db_, "hlc", std::to_string(clock.last())); !s.ok()) return internal(s);
  outcome.acked_through = AckedThrough(cs.device_id);
  return Intake{outcome, std::nullopt};
}

std::uint64_t ServerStore::AckedThrough(const std::string& device_id) {
  auto st = db_->Cached("SELECT acked_through FROM devices WHERE device_id = ?");
  if (!st.ok()) return 0;
  st->Bind(1, device_id);
  auto row = st->Step();
  if (!row.ok() || !*row) return 0;
  return static_cast<std::uint64_t>(st->Int(0));
}

Result<std::vector<Conflict>> ServerStore::Conflicts(bool open_only) {
  std::string sql = std::string("SELECT ") + kConflictColumns + " FROM conflicts";
  if (open_only) sql += " WHERE status = 'open'";
  sql += " ORDER BY id";
  auto st = db_->Prepare(sql);
  if (!st.ok()) return st.status();
  std::vector<Conflict> out;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto c = ReadConflictRow(*db_, *st);
    if (!c.ok()) return c.status();
    out.push_back(std::move(*c));
  }
  return out;
}

Result<std::optional<Conflict>> ServerStore::FindConflict(std::int64_t id) {
  auto st = db_->Cached(std::string("SELECT ") + kConflictColumns + " FROM conflicts WHERE id = ?");
  if (!st.ok()) return st.status();
  st->Bind(1, id);
  auto row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Conflict>();
  auto c = ReadConflictRow(*db_, *st);
  if (!c.ok()) return c.status();
  return std::optional<Conflict>(std::move(*c));
}

// The actor recorded in the audit log for a coordinator's action: the credential when a coordinator
// acted remotely (remote_ops.cc passes "<name> (<credential id>)"), else the operator on the server host.
Result<std::string> ServerStore::CoordinatorActor(const std::string& who) {
  if (const auto open = who.rfind(" (cred-"); open != std::string::npos && who.back() == ')') {
    const std::string cred_id = who.substr(open + 2, who.size() - open - 3);
    auto cred = FindCredential(*db_, cred_id);
    if (!cred.ok()) return cred.status();
    if (*cred && (*cred)->name + " (" + cred_id + ")" == who) return cred_id;
  }
  return "operator:" + who;
}

// Writes one coordinator-authored operation inside the caller's transaction: a resolutions row (the
// table of every coordinator-authored operation; conflict 0 for a review action), the operation
// descending from `parents`, its audit entry, and the field's new merged state.
Status ServerStore::WriteCoordinatorOp(const CoordinatorOp& op, HybridClock& clock, std::uint64_t& state_seq) {
  const HlcTime hlc = clock.Now();
  const std::string author = "coordinator:" + op.who;
  const std::string version = OperationVersion(hlc, author);
  const std::int64_t now = UnixNow();

  auto res = db_->Cached(
      "INSERT INTO resolutions (field, version, resolved_by, reason, conflict_id, created_at) VALUES (?, ?, ?, ?, ?, ?)");
  if (!res.ok()) return res.status();
  res->Bind(1, op.field).Bind(2, version).Bind(3, op.who).Bind(4, op.reason).Bind(5, op.conflict_id).Bind(6, now);
  MNR_RETURN_IF_ERROR(res->Run());
  const std::int64_t resolution_id = db_->LastInsertRowId();

  std::optional<std::string> old_value;
  auto cur = db_->Cached("SELECT value FROM fields WHERE field = ?");
  if (!cur.ok()) return cur.status();
  cur->Bind(1, op.field);
  auto row = cur->Step();
  if (!row.ok()) return row.status();
  if (*row) old_value = cur->OptText(0);

  nlohmann::json parents = nlohmann::json::array();
  for (const auto& p : op.parents) parents.push_back(p);
  auto ins = db_->Cached(
      "INSERT INTO ops (field, version, value, old_value, hlc, author, parents, resolution_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins.ok()) return ins.status();
  ins->Bind(1, op.field).Bind(2, version).Bind(3, op.value).Bind(4, old_value).Bind(5, static_cast<std::int64_t>(hlc));
  ins->Bind(6, author).Bind(7, parents.dump()).Bind(8, resolution_id);
  MNR_RETURN_IF_ERROR(ins->Run());

  auto actor = CoordinatorActor(op.who);
  if (!actor.ok()) return actor.status();
  nlohmann::json logged = {{"conflict", op.conflict_id},
                           {"field", op.field},
                           {"version", version},
                           {"value", op.value ? nlohmann::json(*op.value) : nlohmann::json(nullptr)},
                           {"old_value", old_value ? nlohmann::json(*old_value) : nlohmann::json(nullptr)},
                           {"hlc", hlc},
                           {"author", author},
                           {"parents", parents},
                           {"resolved_by", op.who},
                           {"reason", op.reason}};
  if (!op.action.empty()) logged["action"] = op.action;
  auto entry = AppendAuditEntry(*db_, AuditKind::kConflictResolution, *actor, logged.dump());
  if (!entry.ok()) return entry.status();
  auto r = RecomputeField(*db_, op.field, state_seq, now);
  return r.ok() ? Status::OK() : r.status();
}

Status ServerStore::ResolveConflict(std::int64_t id, const std::optional<std::string>& value, const std::string& who,
                                    const std::string& reason) {
  MNR_RETURN_IF_ERROR(CheckLabel(who, "resolver name (--by)", limits::kNameBytes));
  if (reason.empty()) return Status::InvalidArgument("a resolution needs a --reason");
  MNR_RETURN_IF_ERROR(CheckText(reason, "reason", limits::kNoteBytes));
  Transaction tx(*db_);
  MNR_RETURN_IF_ERROR(tx.status());
  auto found = FindConflict(id);
  if (!found.ok()) return found.status();
  if (!*found) return Status::NotFound("no conflict " + std::to_string(id) + " (see `mnr-server conflicts list`)");
  const Conflict& c = **found;
  if (c.resolved) {
    return Status::InvalidArgument("conflict " + std::to_string(id) + " on " + c.field + " is already resolved (by " +
                                   c.resolved_by.value_or("?") + ")");
  }
  auto fk = ParseField(c.field);
  if (!fk.ok()) return fk.status();
  MNR_RETURN_IF_ERROR(CheckOpValue(*fk, value).With("resolution of conflict " + std::to_string(id) + " on " + c.field));

  auto meta_hlc = GetMetaNumber(*db_, "hlc");
  if (!meta_hlc.ok()) return meta_hlc.status();
  HybridClock clock(*meta_hlc);
  for (const auto& cand : c.candidates) clock.Observe(cand.hlc);
  auto seq = GetMetaNumber(*db_, "state_seq");
  if (!seq.ok()) return seq.status();
  std::uint64_t state_seq = *seq;
  CoordinatorOp op{c.field, value, {}, who, reason, id, ""};
  for (const auto& cand : c.candidates) op.parents.push_back(cand.version);
  MNR_RETURN_IF_ERROR(WriteCoordinatorOp(op, clock, state_seq));
  MNR_RETURN_IF_ERROR(SetMeta(*db_, "state_seq", std::to_string(state_seq)));
  MNR_RETURN_IF_ERROR(SetMeta(*db_, "hlc", std::to_string(clock.last())));
  return tx.Commit();
}

Result<std::vector<std::string>> ServerStore::RecordReview(const std::string& country,
                                                           const std::optional<ReviewDecision>& decision,
                                                           const std::vector<QueryQuestion>& questions,
                                                           const std::string& who, const std::string& action) {
  MNR_RETURN_IF_ERROR(CheckLabel(who, "reviewer name (--by)", limits::kNameBytes));
  if (decision) MNR_RETURN_IF_ERROR(CheckText(decision->comment, "comment", limits::kNoteBytes));
  for (const auto& q : questions) MNR_RETURN_IF_ERROR(CheckText(q.text, "query text", limits::kNoteBytes));
  Transaction tx(*db_);
  MNR_RETURN_IF_ERROR(tx.status());
  auto meta_hlc = GetMetaNumber(*db_, "hlc");
  if (!meta_hlc.ok()) return meta_hlc.status();
  HybridClock clock(*meta_hlc);
  auto seq = GetMetaNumber(*db_, "state_seq");
  if (!seq.ok()) return seq.status();
  std::uint64_t state_seq = *seq;

  // A coordinator's edit descends from what the server holds now, so it never conflicts with it.
  auto current = [&](const std::string& field) -> Result<std::vector<std::string>> {
    auto st = db_->Cached("SELECT version, hlc FROM fields WHERE field = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, field);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::vector<std::string>{};
    clock.Observe(static_cast<HlcTime>(st->Int(1)));
    return std::vector<std::string>{st->Text(0)};
  };
  // Every edit of the country so far happened before this decision.
  {
    auto st = db_->Cached("SELECT MAX(hlc) FROM fields WHERE country = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, country);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (*row && !st->IsNull(0)) clock.Observe(static_cast<HlcTime>(st->Int(0)));
  }
  std::vector<std::string> ids;
  if (!questions.empty()) {
    auto next = GetMetaNumber(*db_, "next_query");
    if (!next.ok()) return next.status();
    std::uint64_t n = std::max<std::uint64_t>(*next, 1);
    for (const auto& q : questions) {
      const std::string id = "q" + std::to_string(n++);
      const std::string field = QueryField(country, id, "question");
      auto parents = current(field);
      if (!parents.ok()) return parents.status();
      CoordinatorOp op{field, EncodeQuestion(q), *parents, who, q.text, 0, action};
      MNR_RETURN_IF_ERROR(WriteCoordinatorOp(op, clock, state_seq));
      ids.push_back(id);
    }
    MNR_RETURN_IF_ERROR(SetMeta(*db_, "next_query", std::to_string(n)));
  }
  if (decision) {
    const std::string field = ReviewField(country, "decision");
    auto parents = current(field);
    if (!parents.ok()) return parents.status();
    CoordinatorOp op{field, EncodeDecision(*decision), *parents, who, decision->comment, 0, action};
    MNR_RETURN_IF_ERROR(WriteCoordinatorOp(op, clock, state_seq));
  }
  MNR_RETURN_IF_ERROR(SetMeta(*db_, "state_seq", std::to_string(state_seq)));
  MNR_RETURN_IF_ERROR(SetMeta(*db_, "hlc", std::to_string(clock.last())));
  MNR_RETURN_IF_ERROR(tx.Commit());
  return ids;
}

// An office's edit that reaches an approved survey makes it submitted again: the server records that
// as its own submission, so the transition is an audit entry with who and why, and every store that
// pulls it derives the same state.
Status ServerStore::ReopenIfEditedAfterApproval(const std::string& country, const std::string& device_id,
                                                const std::string& changeset_id, HybridClock& clock,
                                                std::uint64_t& state_seq) {
  // Most intake touches countries nobody has approved: one key lookup, and no scan of the country.
  {
    auto decision = db_->Cached("SELECT value FROM fields WHERE field = ?");
    if (!decision.ok()) return decision.status();
    decision->Bind(1, ReviewField(country, "decision"));
    auto row = decision->Step();
    if (!row.ok()) return row.status();
    if (!*row || decision->IsNull(0) || decision->Text(0).rfind("approved", 0) != 0) return Status::OK();
  }
  auto st = db_->Cached("SELECT field, value, version, hlc, state_seq FROM fields WHERE country = ?");
  if (!st.ok()) return st.status();
  st->Bind(1, country);
  ReviewBook book;
  std::vector<std::string> parents;
  const std::string field = ReviewField(country, "submitted");
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto version = SplitVersion(st->Text(2));
    book.Add(st->Text(0), st->OptText(1), static_cast<HlcTime>(st->Int(3)), version ? version->second : std::string(),
             static_cast<std::uint64_t>(st->Int(4)));
    if (st->Text(0) == field) parents = {st->Text(2)};
  }
  const CountryReview* r = book.Find(country);
  // Approved and edited since, and not yet reopened for that edit.
  if (r == nullptr || !r->edited_after_approval() || r->reopened()) return Status::OK();
  CoordinatorOp op{field, std::string(kSubmittedValue), parents, kReopenedBy,
                   "edited after approval by device " + device_id + " in change-set " + changeset_id.substr(0, 16), 0,
                   "review.reopen"};
  return WriteCoordinatorOp(op, clock, state_seq);
}

Result<std::string> ServerStore::StateHash() {
  // Canonical text of the merged state; values are escaped so that no two states share a text.
  auto escape = [](const std::optional<std::string>& v) {
    if (!v) return std::string("\\N");
    std::string out;
    for (char ch : *v) {
      switch (ch) {
        case '\\': out += "\\\\"; break;
        case '\t': out += "\\t"; break;
        case '\n': out += "\\n"; break;
        default: out += ch;
      }
    }
    return out;
  };
  std::vector<std::string> lines;
  {
    auto st = db_->Cached("SELECT field, version, value FROM fields");
    if (!st.ok()) return st.status();
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      lines.push_back(st->Text(0) + "\t" + st->Text(1) + "\t" + escape(st->OptText(2)) + "\n");
    }
  }
  std::sort(lines.begin(), lines.end());
  std::string text;
  for (const auto& l : lines) text += l;
  text += "--- conflicts\n";
  std::vector<std::tuple<std::string, std::string, std::string>> conflicts;
  {
    auto st = db_->Cached("SELECT field, candidate_key, status FROM conflicts");
    if (!st.ok()) return st.status();
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      std::string key = st->Text(1);
      std::replace(key.begin(), key.end(), '\n', ' ');
      conflicts.emplace_back(st->Text(0), key, st->Text(2));
    }
  }
  std::sort(conflicts.begin(), conflicts.end());
  for (const auto& [field, key, status] : conflicts) text += field + "\t" + key + "\t" + status + "\n";
  return crypto::Sha256Hex(text);
}

Result<std::vector<ServerStore::MergedAnswer>> ServerStore::MergedAnswers() {
  auto st = db_->Cached("SELECT field, value FROM fields WHERE field LIKE 'answer/%' AND value IS NOT NULL ORDER BY field");
  if (!st.ok()) return st.status();
  std::vector<MergedAnswer> out;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const std::string field = st->Text(0);
    auto fk = ParseField(field);
    if (!fk.ok() || fk->kind != FieldKey::Kind::kAnswer) continue;
    auto v = DecodeAnswer(st->Text(1));
    if (!v.ok()) return v.status().With("merged value of " + field);
    out.push_back({fk->country, fk->indicator, std::move(*v), fk->round});
  }
  return out;
}

}  // namespace mnr::server
