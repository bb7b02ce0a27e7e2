// The audit log: an append-only, hash-linked log of everything that changed the server's data — each
// accepted change-set exactly as received with its signature, and each coordinator action (conflict
// resolution, release, publish, credential issue and revoke, country register change) — covered by a
// Merkle tree in the style of RFC 6962, whose signed tree heads let anyone check later that no entry
// was rewritten or removed. Appends happen inside the caller's transaction, so an entry exists exactly
// when the change it records does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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
Result<TreeHead> CurrentTreeHead(ServerStore& store);

}  // namespace mnr::server
