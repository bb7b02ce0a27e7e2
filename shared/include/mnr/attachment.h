// Attachments: evidence files (a law, a strategy, a helpline's report) on an answer or a practice
// entry. An attachment is two things that travel apart:
//   - a field, attachment/<C>/<indicator|practice>/<ID>/<SHA256> (mnr/field.h), whose value says the
//     file's size, media type and title; adding and removing it are edits like any other, merged and
//     conflicted by the same rules, and logged in the audit log with the change-set that carries them;
//   - the file's bytes, content-addressed by that SHA-256, cut into chunks of limits::kBlobChunkBytes,
//     each signed by the device and sealed to the server like a change-set (docs/protocol.md,
//     "Attachments"), so that a cut link resumes at the first chunk the server does not hold.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mnr/status.h"

namespace mnr {

struct AttachmentValue {
  std::uint64_t size = 0;  // bytes
  std::string media_type;  // as sniffed from the bytes (mnr/media_type.h): "application/pdf"
  std::string title;       // what the office called it; one line, at most limits::kAttachmentTitleBytes
};
std::string EncodeAttachment(const AttachmentValue& v);
// Refuses a value that is not "<size>\n<media type>\n<title>" with a size of 1 byte to
// limits::kAttachmentBytes, a media type IsAcceptedMediaType knows, and a one-line UTF-8 title.
Result<AttachmentValue> DecodeAttachment(std::string_view encoded);

// The number of chunks a file of `size` bytes travels in (at least 1).
std::uint64_t BlobChunkCount(std::uint64_t size);

// One chunk of a file, as the device signed it.
struct BlobChunk {
  std::string hash;           // the whole file's SHA-256, hex
  std::uint64_t size = 0;     // the whole file's size
  std::uint64_t offset = 0;   // a multiple of limits::kBlobChunkBytes below size
  std::string bytes;          // limits::kBlobChunkBytes, or what is left at the end
  std::string device_id;      // the device that sends it (quotas count per device)
  std::string credential_id;  // whose key signed it
  std::string signature;      // Ed25519 over BlobChunkSignedBytes
};
// What the signature covers: a domain string, the file's hash and size, the chunk's offset, the
// device and credential, and the SHA-256 of the chunk's bytes.
std::string BlobChunkSignedBytes(const BlobChunk& c);

// Signs `c` (its signature is ignored) with the device key and seals it to the server's sealing key.
// Refuses a chunk whose shape is wrong (CheckBlobChunkShape).
Result<std::string> SealBlobChunk(BlobChunk c, std::string_view device_private_pem, std::string_view server_sealing_public);
// Opens and checks the shape; does not check the signature (the caller looks up the credential).
Result<BlobChunk> OpenBlobChunk(std::string_view sealed, std::string_view server_sealing_private);
Status VerifyBlobChunkSignature(const BlobChunk& c, std::string_view certificate_pem);
// A valid hash, a size within limits::kAttachmentBytes, an offset on a chunk boundary below the size,
// and exactly the bytes a chunk at that offset holds.
Status CheckBlobChunkShape(const BlobChunk& c);

}  // namespace mnr
