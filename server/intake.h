// Change-set intake: the single way a change-set enters the server store, online or from a bundle. It
// opens the envelope with the server's sealing key, checks the signer against the credential register
// (server/register.h), the signature, the scope and the survey schema, then stores the change-set
// exactly as received, logs it (server/audit_log.h) and merges its edits into the merged state
// (server/merged_state.h), in one transaction. It needs the store's keys and schema as well as its
// database, so it takes the ServerStore.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/envelope.h"
#include "mnr/messages.h"
#include "mnr/sqlite.h"
#include "server/register.h"
#include "server/server_store.h"

namespace mnr::server {

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

// One change-set's intake: its outcome, or the refusal.
struct IntakeResult {
  std::optional<IntakeOutcome> outcome;
  std::optional<Refusal> refusal;
};

// The single entry point for a change-set, online or from a bundle: opens the envelope, checks the
// signer's credential (and, online, that it is the connection's credential), verifies the signature,
// checks scope and the schema version, then stores and merges it in one transaction. Idempotent: a
// change-set already stored is a duplicate and changes nothing. On refusal nothing is stored.
// `connection` is null for a bundle import. Change-sets a renewed credential signed before its
// renewal (server/register.h, RenewCredential) are still accepted.
IntakeResult ReceiveChangeSet(ServerStore& store, std::string_view sealed, const CredentialRecord* connection,
                              std::int64_t now);

// ReceiveChangeSet in its two halves, so that `mnr-server run` opens and verifies change-sets on
// several threads and stores them on one (server/store_workers.h).
struct VerifiedChangeSet {
  OpenedChangeSet opened;
  CredentialRecord signer;
  CredentialRecord holder;   // the connection's credential, or for a bundle the signer's
  bool network = false;
  std::string what;          // "change-set N of device D", for messages
  std::uint64_t session = 0; // non-zero: after a refusal, later change-sets of this session are refused too
};
struct CheckResult {
  std::optional<VerifiedChangeSet> verified;
  std::optional<Refusal> refusal;
};
// The first half: opens the envelope, checks the signer against the register, the signature, scope
// and schema. Writes nothing, so it runs on any thread's ServerStore.
CheckResult CheckChangeSet(ServerStore& store, std::string_view sealed, const CredentialRecord* connection,
                           std::int64_t now);
// The second half: stores and merges checked change-sets in their order in one transaction (one
// commit, one fsync for the group), each under a savepoint so that a refused one (a reused sequence
// number, an edit contradicting a stored one) leaves the others applied. With `sign_head` the audit
// tree head is signed in the same commit, for the receipts. One IntakeResult per change-set, in
// order; nothing is stored if the commit fails, and then every one is an internal refusal.
std::vector<IntakeResult> ApplyChangeSets(ServerStore& store, std::vector<VerifiedChangeSet>& group, std::int64_t now,
                                          bool sign_head);

// The highest sequence number through which the store holds every change-set of `device_id`, which
// the device may drop from its outbox; 0 for a device it does not know, or if the read fails.
std::uint64_t AckedThrough(Db& db, const std::string& device_id);

}  // namespace mnr::server
