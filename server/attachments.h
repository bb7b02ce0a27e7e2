// The server's side of attachments (mnr/attachment.h, docs/protocol.md "Attachments"): the files
// themselves, kept outside the SQLite file in a content-addressed directory, and the checks a file
// passes before it is kept. The attachment fields travel and merge in change-sets like any other
// field; this unit only decides whether the bytes they name may come in, and serves them back out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mnr/attachment.h"
#include "mnr/messages.h"
#include "mnr/status.h"
#include "server/register.h"
#include "server/server_config.h"
#include "server/server_store.h"

namespace mnr::server {

// What the server accepts (server.toml: attachment_max_bytes, attachment_device_quota,
// attachment_country_quota). A quota is the total size of the files held.
struct AttachmentLimits {
  std::uint64_t max_bytes = 20ull << 20;
  std::uint64_t device_quota = 512ull << 20;
  std::uint64_t country_quota = 1024ull << 20;
};

AttachmentLimits AttachmentLimitsOf(const RunSettings& run);

// A file the merged state refers to: a live attachment field of `country` names it.
struct AttachmentRef {
  std::string field;
  std::string country;
  AttachmentValue value;
};

// Files as they lie on disk under DIR/blobs: whole ones at blobs/<2 hex>/<hash>, chunks of one still
// arriving at blobs/partial/<hash>/<offset as 16 hex digits>. Every file is written to a temporary
// name, fsynced and renamed, so a crash leaves a chunk or a file whole or absent, never torn.
class BlobDirectory {
 public:
  explicit BlobDirectory(std::string data_dir) : dir_(std::move(data_dir) + "/blobs") {}
  std::string PathOf(const std::string& hash) const;
  // Bytes of a file still arriving held from its start: its chunks in a row (at most `size`).
  std::uint64_t Held(const std::string& hash, std::uint64_t size) const;
  Status WriteChunk(const BlobChunk& chunk);
  // Joins the chunks of a file and checks its SHA-256; the caller checks the type and keeps the file.
  // Chunks that do not hash to the name are dropped (the file must be sent again).
  Result<std::string> Assemble(const std::string& hash, std::uint64_t size);
  // Up to `n` bytes from `offset` of a whole file.
  Result<std::string> Read(const std::string& hash, std::uint64_t offset, std::size_t n) const;
  // The file's bytes hash to its name (the audit check).
  Status Verify(const std::string& hash, std::uint64_t size) const;
  void DropPartial(const std::string& hash) const;
  // Files of removed attachments stay (the audit trail refers to them); a backup copies the whole
  // files, not the chunks of files still arriving, which their device sends again.
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

// The live attachment fields that name `hash` (empty: none does, or every one was removed).
Result<std::vector<AttachmentRef>> AttachmentRefs(Db& db, const std::string& hash);
// Every live attachment field, in key order.
Result<std::vector<AttachmentRef>> AllAttachmentRefs(Db& db);
// The media type the server holds the file as, if it holds it whole.
Result<std::optional<std::string>> HeldMediaType(Db& db, const std::string& hash);

// The decisions of one session or one bundle about files. `device_id` is the sending device's.
class AttachmentIntake {
 public:
  AttachmentIntake(ServerStore& store, AttachmentLimits limits) : store_(store), blobs_(store.paths().dir), limits_(limits) {}

  // What the server holds of an offered file, or why it will not take it: no live attachment field of
  // the credential's countries names it with that size, it is larger than max_bytes, or it would take
  // the device or a country past its quota.
  BlobState Offer(const CredentialRecord& cred, const std::string& device_id, const std::string& hash, std::uint64_t size);
  // Opens, verifies (signature against the chunk's credential, which must be `session`'s when given,
  // else a usable credential of the register) and stores one chunk. When it was the last one missing,
  // the file is assembled, its hash and its type checked against its attachment field (a file lying
  // about its type is refused and dropped), and it is kept.
  BlobState Put(std::string_view sealed, const CredentialRecord* session, const std::string& session_device, std::int64_t now);

  // Whether `cred` may read the file: a coordinator or auditor any file the merged state refers to, a
  // field office one of its countries'. Returns the file's size.
  Result<std::uint64_t> CheckReadable(const CredentialRecord& cred, const std::string& hash);
  BlobDirectory& blobs() { return blobs_; }

 private:
  BlobState Refuse(const std::string& hash, std::uint64_t size, std::string reason) const;
  ServerStore& store_;
  BlobDirectory blobs_;
  AttachmentLimits limits_;
};

}  // namespace mnr::server
