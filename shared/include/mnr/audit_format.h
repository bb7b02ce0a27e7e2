// The formats of the audit trail that leave the server (docs/protocol.md, "Audit log and receipts"):
// log entries (the bytes each Merkle leaf covers), signed tree heads, signed receipts, and the export
// file an external auditor checks offline. mnr-server writes them; mnr-client and mnr-audit check
// them with the code here, so the three can never disagree on a byte.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/status.h"

namespace mnr::audit {

// Entry kinds (numbers reach disk and export files: do not change, never reuse).
inline constexpr int kChangeSet = 1;
inline constexpr int kConflictResolution = 2;
inline constexpr int kRelease = 3;
inline constexpr int kPublish = 4;
inline constexpr int kCredentialIssued = 5;
inline constexpr int kCredentialRevoked = 6;
inline constexpr int kCountriesChanged = 7;
// "change-set", "resolution", ...; "kind-N" for a number this build does not know.
std::string KindName(int kind);

struct Entry {
  std::uint64_t index = 0;
  int kind = 0;
  std::string actor;             // credential id, or "operator:<user>" for the server host's operator
  std::int64_t recorded_at = 0;  // Unix seconds, server clock
  std::string prev_hash;         // raw 32 bytes: the previous entry's hash; zeros for entry 0
  std::string payload;
};

// 32 zero bytes: the prev_hash of entry 0.
std::string GenesisHash();
// The bytes the entry's Merkle leaf covers (unambiguous: every field but the payload is one line
// without control characters, and the payload's length is given):
//   "mnr-sync audit entry v1\n<index>\n<kind>\n<actor>\n<recorded_at>\n<prev hash hex>\n<payload bytes>\n" payload
std::string EntryBytes(const Entry& e);
// merkle::LeafHash(EntryBytes(e)): both the entry's hash in the chain and its leaf in the tree.
std::string EntryHash(const Entry& e);
// OK if `actor` can be written in an entry: 1-300 bytes, no control characters.
Status CheckActor(std::string_view actor);

// Payload of a kChangeSet entry: the signed change-set exactly as received.
//   body length (4 bytes, big-endian) | canonical change-set bytes | Ed25519 signature (64 bytes)
std::string ChangeSetPayload(std::string_view body, std::string_view signature);
struct SignedChangeSet {
  std::string body;
  std::string signature;
};
Result<SignedChangeSet> SplitChangeSetPayload(std::string_view payload);

// The statement a tree head signature covers: "mnr-sync tree head v1\n<size>\n<root hex>\n<timestamp>".
std::string TreeHeadMessage(std::uint64_t size, std::string_view root_hex, std::int64_t timestamp);

// A receipt: the server's signed statement that it logged a change-set at `index` and that its log
// then had the tree head (tree_size, root, timestamp). Carries the tree head's own signature too, so
// the receipt holder also holds a signed tree head to compare with later ones.
struct Receipt {
  std::string changeset_id;
  std::uint64_t index = 0;
  std::uint64_t tree_size = 0;
  std::string root;  // hex
  std::int64_t timestamp = 0;
  std::string tree_head_signature;  // raw 64 bytes, over TreeHeadMessage
  std::string signature;            // raw 64 bytes, over ReceiptMessage
};
// "mnr-sync receipt v1\n<changeset id>\n<index>\n<tree size>\n<root hex>\n<timestamp>"
std::string ReceiptMessage(const Receipt& r);
// JSON text: {"changeset_id", "index", "tree_size", "root", "timestamp", "tree_head_signature", "signature"}
// (signatures base64). This is Ack.receipt on the wire.
std::string EncodeReceipt(const Receipt& r);
Result<Receipt> DecodeReceipt(std::string_view text);

// OK if `certificate_pem` is the server's own certificate (common name "server") issued by the CA and
// valid at `at` (Unix seconds). A credential's certificate, though issued by the same CA, is not.
Status VerifyServerCertificate(std::string_view certificate_pem, std::string_view ca_certificate_pem, std::int64_t at);
// OK if both signatures of the receipt verify with the server certificate, and that certificate
// passes VerifyServerCertificate at the receipt's time.
Status VerifyReceipt(const Receipt& r, std::string_view server_certificate_pem, std::string_view ca_certificate_pem);

// An entry of the server's audit log whose place in the log was proved: what CheckEntryProof returns.
struct ProvedEntry {
  Entry entry;
  std::uint64_t tree_size = 0;   // the signed head the entry was proved against
  std::string root;              // its root, hex
  std::int64_t head_timestamp = 0;
};
// Checks an answer of the remote operation `audit.proof` (docs/protocol.md) against the CA the
// checker trusts, which must come from the checker's own credential, never from the answer: the
// server certificate chains to that CA and was valid when the head was signed, the head's signature
// verifies with it, and the inclusion path leads from the entry's own hash, computed here from its
// bytes, to the head's root. Corruption naming the first thing that fails.
Result<ProvedEntry> CheckEntryProof(const nlohmann::json& answer, std::string_view ca_certificate_pem);

// Unix seconds from "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS][Z]" (UTC) or a plain number of seconds.
Result<std::int64_t> ParseTime(std::string_view text);
// "2026-11-28T10:09:13Z".
std::string FormatTime(std::int64_t unix_seconds);

// One line of `audit log` text output for a record of the JSON history (server/audit_log.h).
std::string FormatHistoryRecord(const nlohmann::json& record);

// The "format" member of an export file.
inline constexpr std::string_view kExportFormat = "mnr-sync audit export v1";

// A tree head someone outside the server holds, e.g. the tree_size and root of a receipt a field
// office kept: `mnr-audit verify FILE --tree-head SIZE:ROOT`.
struct PinnedTreeHead {
  std::uint64_t size = 0;
  std::string root;  // hex, 64 lowercase digits
};
// "SIZE:ROOT" (ROOT: 64 hex digits, either case).
Result<PinnedTreeHead> ParsePinnedTreeHead(std::string_view text);

// What VerifyExport checked.
struct ExportSummary {
  std::uint64_t entries = 0;
  std::uint64_t changesets = 0;
  std::uint64_t tree_heads = 0;
  std::uint64_t inclusion_proofs = 0;
  std::uint64_t consistency_proofs = 0;
  std::uint64_t releases = 0;
  std::uint64_t credentials = 0;
  std::uint64_t pinned = 0;  // pinned tree heads the export was proven to extend (or equal)
  std::string root;          // hex root of the tree over every entry (the head to pin next time)
};
struct VerifyOptions {
  // Some signed head must cover every entry (true for export files, which are cut with a fresh head;
  // the live store may hold entries newer than its latest head).
  bool require_covering_head = true;
  // Tree heads held outside the export: each must be a prefix of (or equal to) the exported log.
  std::vector<PinnedTreeHead> pins;
};
// Checks an export file (`mnr-server audit export`) on its own, with no server data; every member
// of the file is either checked or refused as unknown:
// - the server certificate against the CA; every entry's hash, index and link; `size` equal to the
//   number of entries (a file cut short says so);
// - every tree head's root against the entries and its signature; every change-set's signature
//   against the certificate logged when its credential was issued (and that credential not revoked
//   or expired before, except by renewal); every inclusion and consistency proof against signed
//   tree heads;
// - every release: its manifest is the payload of a release entry of the log (byte for byte) and
//   each release entry has its release, its id is the manifest's hash, its label the manifest's,
//   its signature verifies, its tree head (from the manifest) is signed and matches the log, and the
//   hash of the CSV the server holds (csv_sha256) is the content hash the manifest states;
// - the credentials section: exactly the credentials the log issued, each with the role, name,
//   countries, certificate, fingerprint, issue time and predecessor its issue entry logged, an expiry
//   no later than the one it logged (a register may end a credential sooner, never extend it), and
//   the revocation time its revoke entry logged;
// - `store_id` against the release manifests (`exported_at` is information only);
// - each pin: the export holds at least `size` entries and the first `size` hash to its root.
// The first failure is returned as Corruption naming the entry, head, proof, release or credential.
Result<ExportSummary> VerifyExport(const nlohmann::json& file, const VerifyOptions& options);
Result<ExportSummary> VerifyExport(const nlohmann::json& file, bool require_covering_head = true);

}  // namespace mnr::audit
