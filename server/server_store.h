// ServerStore: the reconciliation server's SQLite store (DIR/server.db, WAL) and key material
// (DIR/ca.key, DIR/server.key, DIR/sealing.key, mode 0600). It holds every accepted change-set exactly
// as received, every operation, the merged state (one winner per field), conflicts and resolutions.
// The country and credential registers (server/register.h) and pulls (server/pull.h) are units over
// its database. Opened by `mnr-server run` and by the admin commands at the same time: every write is
// one IMMEDIATE transaction and waits on a busy timeout. One ServerStore per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mnr/credential.h"
#include "mnr/envelope.h"
#include "mnr/field.h"
#include "mnr/hlc.h"
#include "mnr/messages.h"
#include "mnr/review.h"
#include "mnr/sqlite.h"
#include "mnr/status.h"
#include "mnr/survey_schema.h"
#include "server/audit_log.h"
#include "server/register.h"
#include "server/server_paths.h"

namespace mnr::server {

// The store version this mnr-server writes (PRAGMA user_version); Open migrates older stores to it and
// refuses newer ones.
int ServerStoreVersion();

// What happened to one change-set offered to the server (by network or bundle).
struct IntakeOutcome {
  std::string changeset_id;
  std::uint64_t seq = 0;
  bool duplicate = false;           // already stored; nothing changed
  std::uint64_t acked_through = 0;  // for the change-set's device
  int fields_changed = 0;
  int conflicts_opened = 0;
};

// A refusal with the wire code to send and a reason a person can act on.
struct Refusal {
  RefusalCode code;
  std::string reason;
};

struct Conflict {
  std::int64_t id = 0;
  std::string field;
  struct Candidate {
    std::string version;
    std::optional<std::string> value;
    std::string author;       // device id or coordinator
    std::string credential;   // credential id that signed it
    HlcTime hlc = 0;
  };
  std::vector<Candidate> candidates;  // every concurrent value, oldest first
  std::string winner_version;         // what last-writer-wins chose meanwhile
  bool resolved = false;
  std::optional<std::string> resolved_by, reason, resolution_version;
};

class ServerStore {
 public:
  // Creates DIR (refuses an existing one): store, CA, server TLS certificate for localhost, 127.0.0.1
  // and `hosts`, sealing key pair. `address` is the HOST:PORT written into credentials.
  static Status Init(const std::string& dir, const std::vector<std::string>& hosts, const std::string& address);
  static Result<std::unique_ptr<ServerStore>> Open(const std::string& dir);

  const ServerPaths& paths() const { return paths_; }
  const SurveySchema& schema() const { return *schema_; }
  Db& db() { return *db_; }
  std::string store_id();
  // The raw X25519 sealing key (DIR/sealing.key). Read on first use and kept for the life of this
  // ServerStore: intake needs it for every change-set.
  Result<std::string> SealingPrivateKey();
  // The server's Ed25519 signing key (DIR/server.key, PEM) that signs audit tree heads and receipts;
  // read on first use and kept, like the sealing key.
  Result<std::string> ServerSigningKey();
  // Signs with that key, for the audit log's tree heads and receipts (server/audit_log.h). Valid while
  // this ServerStore lives.
  Signer HeadSigner();

  // The single entry point for a change-set, online or from a bundle: opens the envelope, checks the
  // signer's credential (and, online, that it is the connection's credential), verifies the signature,
  // checks scope and the schema version, then stores and merges it in one transaction. Idempotent: a
  // change-set already stored is a duplicate and changes nothing. On refusal nothing is stored.
  // `connection` is null for a bundle import.
  struct Intake {
    std::optional<IntakeOutcome> outcome;
    std::optional<Refusal> refusal;
  };
  Intake ReceiveChangeSet(std::string_view sealed, const CredentialRecord* connection, std::int64_t now);

  // ReceiveChangeSet in its two halves, so that `mnr-server run` opens and verifies change-sets on
  // several threads and stores them on one (server/store_workers.h).
  struct Verified {
    OpenedChangeSet opened;
    CredentialRecord signer;
    CredentialRecord holder;   // the connection's credential, or for a bundle the signer's
    bool network = false;
    std::string what;          // "change-set N of device D", for messages
    std::uint64_t session = 0; // non-zero: after a refusal, later change-sets of this session are refused too
  };
  struct Checked {
    std::optional<Verified> verified;
    std::optional<Refusal> refusal;
  };
  // The first half: opens the envelope, checks the signer against the register, the signature, scope
  // and schema. Writes nothing, so it runs on any thread's ServerStore.
  Checked CheckChangeSet(std::string_view sealed, const CredentialRecord* connection, std::int64_t now);
  // The second half: stores and merges checked change-sets in their order in one transaction (one
  // commit, one fsync for the group), each under a savepoint so that a refused one (a reused sequence
  // number, an edit contradicting a stored one) leaves the others applied. With `sign_head` the audit
  // tree head is signed in the same commit, for the receipts. One Intake per change-set, in order;
  // nothing is stored if the commit fails, and then every one is an internal refusal.
  std::vector<Intake> ApplyChangeSets(std::vector<Verified>& group, std::int64_t now, bool sign_head);

  std::uint64_t AckedThrough(const std::string& device_id);

  Result<std::vector<Conflict>> Conflicts(bool open_only);
  Result<std::optional<Conflict>> FindConflict(std::int64_t id);
  // Records a coordinator's choice as a new operation that descends from every candidate, so it wins
  // and syncs back to the devices. `value` nullopt clears the field.
  Status ResolveConflict(std::int64_t id, const std::optional<std::string>& value, const std::string& who,
                         const std::string& reason);

  // The review loop (mnr/review.h): records a coordinator's decision on `country` (if any) and one
  // query per question, in one transaction. Each is an operation authored by "coordinator:<who>" that
  // descends from the field's current value (so it never conflicts with what the server holds), kept
  // like a resolution (resolutions row with conflict 0; audit entry with `action`). Returns the ids
  // given to the queries ("q<n>", never reused). The caller checks the review state first.
  Result<std::vector<std::string>> RecordReview(const std::string& country, const std::optional<ReviewDecision>& decision,
                                                const std::vector<QueryQuestion>& questions, const std::string& who,
                                                const std::string& action);

  // SHA-256 over the merged state in canonical order: equal for equal sets of change-sets, whatever
  // their arrival order or repetition.
  Result<std::string> StateHash();

  // Current merged answers (field key, decoded value) for aggregation.
  struct MergedAnswer {
    std::string country;
    std::string indicator;
    AnswerValue value;
    std::string round;
  };
  Result<std::vector<MergedAnswer>> MergedAnswers();

 private:
  ServerStore() = default;
  struct CoordinatorOp {
    std::string field;
    std::optional<std::string> value;
    std::vector<std::string> parents;
    std::string who;
    std::string reason;
    std::int64_t conflict_id = 0;  // 0: not a conflict resolution
    std::string action;            // review.approve, review.return; empty for a resolution
  };
  Result<std::string> CoordinatorActor(const std::string& who);
  Status ReopenIfEditedAfterApproval(const std::string& country, const std::string& device_id,
                                     const std::string& changeset_id, HybridClock& clock, std::uint64_t& state_seq);
  Status WriteCoordinatorOp(const CoordinatorOp& op, HybridClock& clock, std::uint64_t& state_seq);
  Intake ApplyChangeSet(Verified& v, std::int64_t now);
  ServerPaths paths_;
  std::unique_ptr<Db> db_;
  std::optional<std::string> sealing_key_, signing_key_;
  const SurveySchema* schema_ = nullptr;
};

}  // namespace mnr::server
