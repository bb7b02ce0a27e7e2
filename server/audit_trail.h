// Audit trail reading over a whole store: the history of edits, the export file that mnr-audit
// verifies, one entry's proof, and `audit verify` and the held-files check. Built on the audit log
// (server/audit_log.h) and the rest of the store, which they read but never change, except that an
// export or a proof may sign a new tree head.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mnr/audit_format.h"
#include "mnr/status.h"
#include "server/audit_log.h"

namespace mnr::server {

class ServerStore;

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
