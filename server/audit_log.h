// The audit log: an append-only, hash-linked log of everything that changed the server's data — each
// accepted change-set exactly as received with its signature, and each coordinator action (conflict
// resolution, release, publish, credential issue and revoke, country register change) — covered by a
// Merkle tree in the style of RFC 6962, whose signed tree heads let anyone check later that no entry
// was rewritten or removed. Appends happen inside the caller's transaction, so an entry exists exactly
// when the change it records does.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/audit_format.h"
#include "mnr/sqlite.h"
#include "mnr/status.h"

namespace mnr::server {

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

// The server's signature over a message: Ed25519 with DIR/server.key, raw 64 bytes. The store that
// holds the key gives one (ServerStore::HeadSigner), so the log itself never reads key files.
using Signer = std::function<Result<std::string>(std::string_view message)>;

// The number of entries in the log.
Result<std::uint64_t> AuditLogSize(Db& db);

// The Merkle root of the log's first `size` entries, from the stored frontier of the tree (no entry
// is read). Corruption if the frontier does not account for exactly `size` entries: pass the log's
// size.
Result<std::string> AuditFrontierRoot(Db& db, std::uint64_t size);

// The current tree head, signed with `sign`.
// Signed heads are stored, one per size: when the latest stored head already covers every entry, it
// is returned rather than signed again. Works inside or outside a transaction.
Result<TreeHead> CurrentTreeHead(Db& db, const Signer& sign);

// "operator:<login name>": the actor of a change made on the server host by its operator.
std::string OperatorActor();

// The index of the entry that logged change-set `changeset_id`, if it was logged.
Result<std::optional<std::uint64_t>> ChangeSetEntryIndex(Db& db, std::string_view changeset_id);

// A signed receipt (mnr/audit_format.h, EncodeReceipt) for a logged change-set: its entry index and
// the current tree head. For a change-set offered again, the index of the entry that first logged it.
Result<std::string> MakeReceipt(Db& db, const Signer& sign, std::string_view changeset_id);

// A store made before the audit log existed: enters its existing history (country register,
// credentials, change-sets exactly as stored, resolutions, revocations) as the log's first entries,
// in time order, under the actor "operator:backfill". Does nothing when the log has entries or there
// is no history. Called by ServerStore::Open.
Status BackfillAuditLog(Db& db);

}  // namespace mnr::server
