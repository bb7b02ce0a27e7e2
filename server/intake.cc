#include "server/intake.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "mnr/changeset.h"
#include "mnr/field.h"
#include "mnr/hlc.h"
#include "mnr/review.h"
#include "mnr/utf8.h"
#include "server/audit_log.h"
#include "server/merged_state_internal.h"
#include "server/store_internal.h"

namespace mnr::server {

namespace {

constexpr std::size_t kDeviceIdBytes = 128;

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

IntakeResult Refuse(RefusalCode code, std::string reason) {
  IntakeResult in;
  in.refusal = Refusal{code, std::move(reason)};
  return in;
}

// An office's edit that reaches an approved survey makes it submitted again: the server records that
// as its own submission, so the transition is an audit entry with who and why, and every store that
// pulls it derives the same state.
Status ReopenIfEditedAfterApproval(Db& db, const std::string& country, const std::string& device_id,
                                   const std::string& changeset_id, HybridClock& clock, std::uint64_t& state_seq) {
  // Most intake touches countries nobody has approved: one key lookup, and no scan of the country.
  {
    auto decision = db.Cached("SELECT value FROM fields WHERE field = ?");
    if (!decision.ok()) return decision.status();
    decision->Bind(1, ReviewField(country, "decision"));
    auto row = decision->Step();
    if (!row.ok()) return row.status();
    if (!*row || decision->IsNull(0) || decision->Text(0).rfind("approved", 0) != 0) return Status::OK();
  }
  auto st = db.Cached("SELECT field, value, version, hlc, state_seq FROM fields WHERE country = ?");
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
  return WriteCoordinatorOp(db, op, clock, state_seq);
}

IntakeResult ApplyChangeSet(Db& db, VerifiedChangeSet& v, std::int64_t now) {
  const OpenedChangeSet* opened = &v.opened;
  const ChangeSet& cs = opened->changeset;
  const std::string& what = v.what;
  const CredentialRecord& signer = v.signer;
  const CredentialRecord* holder = &v.holder;
  const bool network = v.network;
  auto internal = [&](const Status& s) { return Refuse(RefusalCode::kInternal, "the server could not store " + what + ": " + s.message()); };

  auto prior = db.Cached("SELECT id FROM changesets WHERE id = ? OR (device_id = ? AND seq = ?)");
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
    outcome.acked_through = AckedThrough(db, cs.device_id);
    return IntakeResult{outcome, std::nullopt};
  }

  auto bound = db.Cached("SELECT credential_id FROM devices WHERE device_id = ?");
  if (!bound.ok()) return internal(bound.status());
  bound->Bind(1, cs.device_id);
  auto brow = bound->Step();
  if (!brow.ok()) return internal(brow.status());
  if (*brow && bound->Text(0) != holder->id) {
    // Renewals move a device forward along its credential's lineage, never sideways.
    const std::string owner = bound->Text(0);
    auto newer = SameLineage(db, holder->id, owner);
    auto older = SameLineage(db, owner, holder->id);
    if (!newer.ok()) return internal(newer.status());
    if (!older.ok()) return internal(older.status());
    if (!*newer && !*older) {
      return Refuse(RefusalCode::kCredential, "device " + cs.device_id + " belongs to credential " + owner +
                                                  "; its change-sets cannot be signed by " + signer.id);
    }
    if (*newer) {
      auto follow = db.Cached("UPDATE devices SET credential_id = ? WHERE device_id = ?");
      if (!follow.ok()) return internal(follow.status());
      follow->Bind(1, holder->id).Bind(2, cs.device_id);
      if (Status s = follow->Run(); !s.ok()) return internal(s);
    }
  }
  if (!*brow) {
    auto ins = db.Cached("INSERT INTO devices (device_id, credential_id) VALUES (?, ?)");
    if (!ins.ok()) return internal(ins.status());
    ins->Bind(1, cs.device_id).Bind(2, holder->id);
    if (Status s = ins->Run(); !s.ok()) return internal(s);
  }

  auto ins_cs = db.Cached(
      "INSERT INTO changesets (id, device_id, seq, credential_id, body, signature, received_at, source) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins_cs.ok()) return internal(ins_cs.status());
  ins_cs->Bind(1, opened->id).Bind(2, cs.device_id).Bind(3, static_cast<std::int64_t>(cs.seq)).Bind(4, signer.id);
  ins_cs->BindBlob(5, opened->body).BindBlob(6, opened->signature).Bind(7, now).Bind(8, network ? "network" : "bundle");
  if (Status s = ins_cs->Run(); !s.ok()) return internal(s);
  // The actor is the credential that delivered it; the payload names the one that signed it.
  auto logged = AppendAuditEntry(db, AuditKind::kChangeSet, holder->id, audit::ChangeSetPayload(opened->body, opened->signature));
  if (!logged.ok()) return internal(logged.status());

  if (Status s = AdvanceAckedThrough(db, cs.device_id); !s.ok()) return internal(s);

  auto meta_hlc = GetMetaNumber(db, "hlc");
  if (!meta_hlc.ok()) return internal(meta_hlc.status());
  HybridClock clock(*meta_hlc);
  std::set<std::string> touched;
  std::map<std::string, std::vector<merge::Op>> added;  // per field, the edits this change-set adds
  auto find_op = db.Cached("SELECT value FROM ops WHERE field = ? AND version = ?");
  if (!find_op.ok()) return internal(find_op.status());
  auto ins_op = db.Cached(
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

  auto seq = GetMetaNumber(db, "state_seq");
  if (!seq.ok()) return internal(seq.status());
  std::uint64_t state_seq = *seq;
  for (const auto& field : touched) {
    if (const auto& ops = added[field]; ops.size() == 1) {
      auto merged = MergeFromSummary(db, field, ops.front(), state_seq);
      if (!merged.ok()) return internal(merged.status());
      if (*merged) {
        ++outcome.fields_changed;
        continue;
      }
    }
    auto r = RecomputeField(db, field, state_seq, now);
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
    if (Status s = ReopenIfEditedAfterApproval(db, country, cs.device_id, opened->id, clock, state_seq); !s.ok()) return internal(s);
  }
  if (Status s = SetMeta(db, "state_seq", std::to_string(state_seq)); !s.ok()) return internal(s);
  if (Status s = SetMeta(db, "hlc", std::to_string(clock.last())); !s.ok()) return internal(s);
  outcome.acked_through = AckedThrough(db, cs.device_id);
  return IntakeResult{outcome, std::nullopt};
}

}  // namespace

IntakeResult ReceiveChangeSet(ServerStore& store, std::string_view sealed, const CredentialRecord* connection,
                              std::int64_t now) {
  CheckResult checked = CheckChangeSet(store, sealed, connection, now);
  if (checked.refusal) return IntakeResult{std::nullopt, std::move(checked.refusal)};
  std::vector<VerifiedChangeSet> group;
  group.push_back(std::move(*checked.verified));
  return std::move(ApplyChangeSets(store, group, now, connection != nullptr).front());
}

CheckResult CheckChangeSet(ServerStore& store, std::string_view sealed, const CredentialRecord* connection,
                           std::int64_t now) {
  const auto Refuse = [](RefusalCode code, std::string reason) { return CheckResult{std::nullopt, Refusal{code, std::move(reason)}}; };
  Db& db = store.db();
  const SurveySchema& schema = store.schema();
  auto key = store.SealingPrivateKey();
  if (!key.ok()) return Refuse(RefusalCode::kInternal, "the server cannot read its sealing key: " + key.status().message());
  auto opened = OpenChangeSet(sealed, *key);
  if (!opened.ok()) {
    return Refuse(RefusalCode::kBadChangeSet,
                  "the change-set does not open (not sealed to this server, damaged or malformed): " + opened.status().message());
  }
  const ChangeSet& cs = opened->changeset;
  const std::string what = "change-set " + std::to_string(cs.seq) + " of device " + cs.device_id;

  auto cred = FindCredential(db, cs.credential_id);
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
    auto lineage = SameLineage(db, holder->id, signer.id);
    if (!lineage.ok()) return Refuse(RefusalCode::kInternal, lineage.status().message());
    if (!*lineage) {
      return Refuse(RefusalCode::kCredential, what + " is signed by credential " + signer.id +
                                                  ", but this connection authenticated as " + holder->id);
    }
  }
  Status usable = CheckCredentialUsable(signer, now);
  if (!usable.ok()) {
    auto renewed = db.Cached("SELECT 1 FROM credentials WHERE predecessor = ?");
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
  if (cs.schema_version > static_cast<std::uint32_t>(schema.version())) {
    return Refuse(RefusalCode::kVersion, what + " was made with survey schema version " + std::to_string(cs.schema_version) +
                                             ", newer than this server's (" + std::to_string(schema.version()) +
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
    if (fk->kind == FieldKey::Kind::kAnswer && schema.FindIndicator(fk->indicator) == nullptr) {
      return Refuse(RefusalCode::kBadChangeSet, what + " writes " + op.field + ", but indicator '" + fk->indicator +
                                                    "' is not in survey schema version " + std::to_string(schema.version()));
    }
    if (fk->kind == FieldKey::Kind::kAnswer && fk->round != kFirstRound && !schema.HasRound(fk->round)) {
      return Refuse(RefusalCode::kBadChangeSet, what + " writes " + op.field + ", but round " + fk->round +
                                                    " is not in survey schema version " + std::to_string(schema.version()));
    }
    if (fk->kind == FieldKey::Kind::kAttachment && fk->target == "indicator" && schema.FindIndicator(fk->indicator) == nullptr) {
      return Refuse(RefusalCode::kBadChangeSet, what + " attaches a file to " + op.field + ", but indicator '" + fk->indicator +
                                                    "' is not in survey schema version " + std::to_string(schema.version()));
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

  VerifiedChangeSet v;
  v.holder = *holder;
  v.signer = signer;
  v.network = connection != nullptr;
  v.what = what;
  v.opened = std::move(*opened);
  return CheckResult{std::move(v), std::nullopt};
}

std::vector<IntakeResult> ApplyChangeSets(ServerStore& store, std::vector<VerifiedChangeSet>& group, std::int64_t now,
                                          bool sign_head) {
  Db& db = store.db();
  std::vector<IntakeResult> out(group.size());
  const auto all_internal = [&](const std::string& why) {
    for (std::size_t i = 0; i < group.size(); ++i) {
      out[i] = Refuse(RefusalCode::kInternal, "the server could not store " + group[i].what + ": " + why);
    }
    return out;
  };
  Transaction tx(db);
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
    if (Status s = db.Exec("SAVEPOINT intake"); !s.ok()) return all_internal(s.message());
    out[i] = ApplyChangeSet(db, group[i], now);
    const bool keep = out[i].outcome.has_value();
    if (!keep) {
      if (Status s = db.Exec("ROLLBACK TO intake"); !s.ok()) return all_internal(s.message());
    }
    if (Status s = db.Exec("RELEASE intake"); !s.ok()) return all_internal(s.message());
    stored = stored || (keep && !out[i].outcome->duplicate);
    if (!keep && group[i].session != 0) refused_sessions.emplace(group[i].session, out[i].refusal->code);
  }
  if (stored && sign_head) {
    // Signed now, in the same commit, so the receipts the listener sends cost no second write.
    auto head = CurrentTreeHead(db, store.HeadSigner());
    if (!head.ok()) return all_internal(head.status().message());
  }
  if (Status s = tx.Commit(); !s.ok()) return all_internal(s.message());
  return out;
}

std::uint64_t AckedThrough(Db& db, const std::string& device_id) {
  auto st = db.Cached("SELECT acked_through FROM devices WHERE device_id = ?");
  if (!st.ok()) return 0;
  st->Bind(1, device_id);
  auto row = st->Step();
  if (!row.ok() || !*row) return 0;
  return static_cast<std::uint64_t>(st->Int(0));
}

}  // namespace mnr::server
