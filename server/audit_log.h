// The audit log: an append-only, hash-linked log of everything that changed the server's data — each
// accepted change-set exactly as received with its signature, and each coordinator action (conflict
// resolution, release, publish, credential issue and revoke, country register change) — covered by a
// Merkle tree in the style of RFC 6962, whose signed tree heads let anyone check later that no entry
// was rewritten or removed. Appends happen inside the caller's transaction, so an entry exists exactly
// when the change it records does.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/audit_format.h"
#include "mnr/sqlite.h"
#include "mnr/status.h"

namespace mnr::server {

class ServerStore;

enum class AuditKind {
  kChangeSet = 1,           // payload: the signed change-set (body + signature) as received
  kConflictResolution = 2,  // payload: JSON {conflict, field, value, parents, reason}
  kRelease = 3,             // payload: JSON release manifest
  kPublish = 4,             // payload: JSON {release, output hash}
  kCredentialIssued = 5,    // payload: JSON {id, role, name, countries, certificate fingerprint, expires_at}
  kCredentialRevoked = 6,   // payload: JSON {id}
  kCountriesChanged = 7,    // payload: JSON of the rows imported
};

// A signed statement of the tree at one size: Ed25519 by the server's key over
// "mnr-sync tree head v1\n<size>\n<root hex>\n<timestamp>".
struct TreeHead {
  std::uint64_t size = 0;
  std::string root;  // hex SHA-256 (RFC 6962 Merkle tree hash; of the empty string for size 0)
  std::int64_t timestamp = 0;
  std::string signature;  // raw 64 bytes
};

// Appends one entry inside the caller's open transaction on `db`; returns its 0-based index.
// `actor` is the credential id or the local operator ("operator:<user>").
Result<std::uint64_t> AppendAuditEntry(Db& db, AuditKind kind, std::string_view actor, std::string_view payload);

// The current tree head, signed with the server key (DIR/server.key).
// Signed heads are stored, one per size: when the latest stored head already covers every entry, it
// is returned rather than signed again. Works inside or outside a transaction.
Result<TreeHead> CurrentTreeHead(ServerStore& store);

// "operator:<login name>": the actor of a change made on the server host by its operator.
std::string OperatorActor();

// The index of the entry that logged change-set `changeset_id`, if it was logged.
Result<std::optional<std::uint64_t>> ChangeSetEntryIndex(Db& db, std::string_view changeset_id);

// A signed receipt (mnr/audit_format.h, EncodeReceipt) for a logged change-set: its entry index and
// the current tree head. For a change-set offered again, the index of the entry that first logged it.
Result<std::string> MakeReceipt(ServerStore& store, std::string_view changeset_id);

// A store made before the audit log existed: enters its existing history (country register,
// credentials, change-sets exactly as stored, resolutions, revocations) as the log's first entries,
// in time order, under the actor "operator:backfill". Does nothing when the log has entries or there
// is no history. Called by ServerStore::Open.
Status BackfillAuditLog(Db& db);

// `audit log`: the history, one record per edit (JSON objects; docs/protocol.md). Filters by the
// edited field's country and indicator, the device, and the server's receipt time; with any of the
// first three, entries that edit no field (credentials, register, releases) are left out.
struct HistoryQuery {
  std::optional<std::string> country, indicator, device;
  std::optional<std::int64_t> since;  // Unix seconds, compared with the entry's recorded_at
  std::uint64_t from = 0;             // first entry index to read
  std::size_t max_bytes = 0;          // stop after the entry that passes this much JSON (0: no limit)
};
struct HistoryPage {
  nlohmann::json records = nlohmann::json::array();
  std::optional<std::uint64_t> next;  // the `from` of the next page, if the limit cut this one
};
Result<HistoryPage> AuditHistory(ServerStore& store, const HistoryQuery& q);

// `audit export`: the self-contained file mnr-audit verifies (docs/protocol.md). With sign_head, a
// head covering every entry is signed first. kAll is the whole file. For remote callers, whose
// answers must fit in a frame, the file comes in parts that the caller joins: kMeta (certificates,
// credentials, releases and the consistency proofs between releases), kHeads (signed heads from
// index `from`, each with its consistency proof from the one before) and kEntries (entries from index
// `from` with their inclusion proofs); each part stops near max_bytes and says where to go on in
// "next". Every part describes the tree of `size` entries (default: the latest signed head's), which
// the first call returns and later calls pass back.
struct ExportOptions {
  enum class Part { kAll, kMeta, kHeads, kEntries };
  Part part = Part::kAll;
  std::uint64_t from = 0;
  std::size_t max_bytes = 0;
  std::optional<std::uint64_t> size;
  bool sign_head = true;
  bool proofs = true;
};
Result<nlohmann::json> ExportAuditLog(ServerStore& store, const ExportOptions& o);

// One entry with the proof that it is in the log: the entry as its Merkle leaf covers it, a tree head
// covering every entry (signed now if none is stored), the inclusion path from the entry to that
// head's root, and the server certificate that signed it. JSON:
//   {entry: {index, kind, kind_name, actor, recorded_at, prev_hash (hex), payload (base64)},
//    tree_head: {size, root, timestamp, signature (base64)}, path: [hex], server_certificate}
// NotFound when the log holds no entry `index`.
Result<nlohmann::json> AuditEntryProof(ServerStore& store, std::uint64_t index);

// `audit verify`: everything VerifyExport checks, on the live store, plus that the stored tables
// agree with the log: every stored change-set and its signature, the credential register (every
// logged attribute and the revocation time; an expiry no later than issued), the resolutions, the
// country register,
// and the merged state (ops, fields, conflicts) equal to a replay of the log's change-sets and
// resolutions through the merge; the server clock (meta hlc) not behind the newest logged edit; the
// dataset tables equal to a recount of the replayed state; and every release: its CSV against its
// hash, its manifest's signature and log entry, its tree head's signature and root, and its CSV and
// good-practice entries equal to those a replay of the log up to that tree head gives (only the
// indicator rows' counts when it was made with another survey schema). Corruption names the first
// problem. A release that lists attachments is also checked against the attachment fields the replay
// gives at its tree head (each listed or pending, with the value it states), and its held files
// against their hashes.
struct AuditVerifyReport {
  audit::ExportSummary summary;
  std::uint64_t ops = 0;
  std::uint64_t fields = 0;
  std::uint64_t releases = 0;  // re-checked against a replay of the log
};
Result<AuditVerifyReport> VerifyAuditTrail(ServerStore& store);

// The files the merged state refers to, as `audit verify` and `check` see them: every row of `blobs`
// and every live attachment field (AllAttachmentRefs). A file the server holds must exist under
// DIR/blobs and hash to its name and its row's size; a field must state that size. Unlike
// VerifyAuditTrail, every problem is reported, not only the first: each failure names the attachment
// field (or "no live attachment" for a file only its row keeps) and the file's path. A field whose file
// has not been received yet is a note, not a failure. Reads every held file once.
struct HeldFilesReport {
  std::uint64_t files = 0;  // distinct files held (rows of blobs) that were checked
  std::uint64_t refs = 0;   // live attachment fields
  std::vector<std::string> failures;
  std::vector<std::string> notes;
};
Result<HeldFilesReport> CheckHeldFiles(ServerStore& store);

}  // namespace mnr::server
