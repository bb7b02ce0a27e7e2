#include "server/merged_state.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "mnr/attachment.h"
#include "mnr/changeset.h"
#include "mnr/crypto.h"
#include "mnr/limits.h"
#include "mnr/utf8.h"
#include "mnr/wall_clock.h"
#include "server/audit_log.h"
#include "server/dataset.h"
#include "server/merged_state_internal.h"
#include "server/register.h"
#include "server/store_internal.h"

namespace mnr::server {

namespace {

constexpr std::size_t kShortAttrBytes = 1024;

std::string CountryOfField(const std::string& field) {
  auto parsed = ParseField(field);
  return parsed.ok() ? parsed->country : std::string();
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

// The actor recorded in the audit log for a coordinator's action: the credential when a coordinator
// acted remotely (remote_ops.cc passes "<name> (<credential id>)"), else the operator on the server host.
Result<std::string> CoordinatorActor(Db& db, const std::string& who) {
  if (const auto open = who.rfind(" (cred-"); open != std::string::npos && who.back() == ')') {
    const std::string cred_id = who.substr(open + 2, who.size() - open - 3);
    auto cred = FindCredential(db, cred_id);
    if (!cred.ok()) return cred.status();
    if (*cred && (*cred)->name + " (" + cred_id + ")" == who) return cred_id;
  }
  return "operator:" + who;
}

}  // namespace

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

Status WriteCoordinatorOp(Db& db, const CoordinatorOp& op, HybridClock& clock, std::uint64_t& state_seq) {
  const HlcTime hlc = clock.Now();
  const std::string author = "coordinator:" + op.who;
  const std::string version = OperationVersion(hlc, author);
  const std::int64_t now = UnixNow();

  auto res = db.Cached(
      "INSERT INTO resolutions (field, version, resolved_by, reason, conflict_id, created_at) VALUES (?, ?, ?, ?, ?, ?)");
  if (!res.ok()) return res.status();
  res->Bind(1, op.field).Bind(2, version).Bind(3, op.who).Bind(4, op.reason).Bind(5, op.conflict_id).Bind(6, now);
  MNR_RETURN_IF_ERROR(res->Run());
  const std::int64_t resolution_id = db.LastInsertRowId();

  std::optional<std::string> old_value;
  auto cur = db.Cached("SELECT value FROM fields WHERE field = ?");
  if (!cur.ok()) return cur.status();
  cur->Bind(1, op.field);
  auto row = cur->Step();
  if (!row.ok()) return row.status();
  if (*row) old_value = cur->OptText(0);

  nlohmann::json parents = nlohmann::json::array();
  for (const auto& p : op.parents) parents.push_back(p);
  auto ins = db.Cached(
      "INSERT INTO ops (field, version, value, old_value, hlc, author, parents, resolution_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins.ok()) return ins.status();
  ins->Bind(1, op.field).Bind(2, version).Bind(3, op.value).Bind(4, old_value).Bind(5, static_cast<std::int64_t>(hlc));
  ins->Bind(6, author).Bind(7, parents.dump()).Bind(8, resolution_id);
  MNR_RETURN_IF_ERROR(ins->Run());

  auto actor = CoordinatorActor(db, op.who);
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
  auto entry = AppendAuditEntry(db, AuditKind::kConflictResolution, *actor, logged.dump());
  if (!entry.ok()) return entry.status();
  auto r = RecomputeField(db, op.field, state_seq, now);
  return r.ok() ? Status::OK() : r.status();
}

Result<std::vector<Conflict>> Conflicts(Db& db, bool open_only) {
  std::string sql = std::string("SELECT ") + kConflictColumns + " FROM conflicts";
  if (open_only) sql += " WHERE status = 'open'";
  sql += " ORDER BY id";
  auto st = db.Prepare(sql);
  if (!st.ok()) return st.status();
  std::vector<Conflict> out;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto c = ReadConflictRow(db, *st);
    if (!c.ok()) return c.status();
    out.push_back(std::move(*c));
  }
  return out;
}

Result<std::optional<Conflict>> FindConflict(Db& db, std::int64_t id) {
  auto st = db.Cached(std::string("SELECT ") + kConflictColumns + " FROM conflicts WHERE id = ?");
  if (!st.ok()) return st.status();
  st->Bind(1, id);
  auto row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Conflict>();
  auto c = ReadConflictRow(db, *st);
  if (!c.ok()) return c.status();
  return std::optional<Conflict>(std::move(*c));
}

Status ResolveConflict(Db& db, std::int64_t id, const std::optional<std::string>& value, const std::string& who,
                       const std::string& reason) {
  MNR_RETURN_IF_ERROR(CheckLabel(who, "resolver name (--by)", limits::kNameBytes));
  if (reason.empty()) return Status::InvalidArgument("a resolution needs a --reason");
  MNR_RETURN_IF_ERROR(CheckText(reason, "reason", limits::kNoteBytes));
  Transaction tx(db);
  MNR_RETURN_IF_ERROR(tx.status());
  auto found = FindConflict(db, id);
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

  auto meta_hlc = GetMetaNumber(db, "hlc");
  if (!meta_hlc.ok()) return meta_hlc.status();
  HybridClock clock(*meta_hlc);
  for (const auto& cand : c.candidates) clock.Observe(cand.hlc);
  auto seq = GetMetaNumber(db, "state_seq");
  if (!seq.ok()) return seq.status();
  std::uint64_t state_seq = *seq;
  CoordinatorOp op{c.field, value, {}, who, reason, id, ""};
  for (const auto& cand : c.candidates) op.parents.push_back(cand.version);
  MNR_RETURN_IF_ERROR(WriteCoordinatorOp(db, op, clock, state_seq));
  MNR_RETURN_IF_ERROR(SetMeta(db, "state_seq", std::to_string(state_seq)));
  MNR_RETURN_IF_ERROR(SetMeta(db, "hlc", std::to_string(clock.last())));
  return tx.Commit();
}

Result<std::vector<std::string>> RecordReview(Db& db, const std::string& country, const std::optional<ReviewDecision>& decision,
                                              const std::vector<QueryQuestion>& questions, const std::string& who,
                                              const std::string& action) {
  MNR_RETURN_IF_ERROR(CheckLabel(who, "reviewer name (--by)", limits::kNameBytes));
  if (decision) MNR_RETURN_IF_ERROR(CheckText(decision->comment, "comment", limits::kNoteBytes));
  for (const auto& q : questions) MNR_RETURN_IF_ERROR(CheckText(q.text, "query text", limits::kNoteBytes));
  Transaction tx(db);
  MNR_RETURN_IF_ERROR(tx.status());
  auto meta_hlc = GetMetaNumber(db, "hlc");
  if (!meta_hlc.ok()) return meta_hlc.status();
  HybridClock clock(*meta_hlc);
  auto seq = GetMetaNumber(db, "state_seq");
  if (!seq.ok()) return seq.status();
  std::uint64_t state_seq = *seq;

  // A coordinator's edit descends from what the server holds now, so it never conflicts with it.
  auto current = [&](const std::string& field) -> Result<std::vector<std::string>> {
    auto st = db.Cached("SELECT version, hlc FROM fields WHERE field = ?");
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
    auto st = db.Cached("SELECT MAX(hlc) FROM fields WHERE country = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, country);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (*row && !st->IsNull(0)) clock.Observe(static_cast<HlcTime>(st->Int(0)));
  }
  std::vector<std::string> ids;
  if (!questions.empty()) {
    auto next = GetMetaNumber(db, "next_query");
    if (!next.ok()) return next.status();
    std::uint64_t n = std::max<std::uint64_t>(*next, 1);
    for (const auto& q : questions) {
      const std::string id = "q" + std::to_string(n++);
      const std::string field = QueryField(country, id, "question");
      auto parents = current(field);
      if (!parents.ok()) return parents.status();
      CoordinatorOp op{field, EncodeQuestion(q), *parents, who, q.text, 0, action};
      MNR_RETURN_IF_ERROR(WriteCoordinatorOp(db, op, clock, state_seq));
      ids.push_back(id);
    }
    MNR_RETURN_IF_ERROR(SetMeta(db, "next_query", std::to_string(n)));
  }
  if (decision) {
    const std::string field = ReviewField(country, "decision");
    auto parents = current(field);
    if (!parents.ok()) return parents.status();
    CoordinatorOp op{field, EncodeDecision(*decision), *parents, who, decision->comment, 0, action};
    MNR_RETURN_IF_ERROR(WriteCoordinatorOp(db, op, clock, state_seq));
  }
  MNR_RETURN_IF_ERROR(SetMeta(db, "state_seq", std::to_string(state_seq)));
  MNR_RETURN_IF_ERROR(SetMeta(db, "hlc", std::to_string(clock.last())));
  MNR_RETURN_IF_ERROR(tx.Commit());
  return ids;
}

Result<std::string> StateHash(Db& db) {
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
    auto st = db.Cached("SELECT field, version, value FROM fields");
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
    auto st = db.Cached("SELECT field, candidate_key, status FROM conflicts");
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

Result<std::vector<MergedAnswer>> MergedAnswers(Db& db) {
  auto st = db.Cached("SELECT field, value FROM fields WHERE field LIKE 'answer/%' AND value IS NOT NULL ORDER BY field");
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
