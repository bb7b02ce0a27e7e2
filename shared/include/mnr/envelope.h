// The sealed change-set: the one format a change-set travels in, in the client's outbox, over the
// network and in a USB bundle. Sign-then-compress-then-seal:
//   sealed = crypto::Seal(zstd(cereal{body, signature}), server sealing key)
// where body = SerializeChangeSet(cs) and signature = Ed25519(device key, body).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mnr/changeset.h"
#include "mnr/status.h"

namespace mnr {

Result<std::string> SealChangeSet(std::string_view body, std::string_view device_private_pem,
                                  std::string_view server_sealing_public);

struct OpenedChangeSet {
  std::string id;         // ChangeSetId(body)
  std::string body;       // canonical bytes, exactly as signed
  std::string signature;
  ChangeSet changeset;
};
// Decrypts and parses; does not check the signature (the caller looks up the signer's certificate
// by changeset.credential_id and calls VerifyChangeSetSignature).
Result<OpenedChangeSet> OpenChangeSet(std::string_view sealed, std::string_view server_sealing_private);
Status VerifyChangeSetSignature(const OpenedChangeSet& opened, std::string_view certificate_pem);

// A bundle file (.mnrb) for a USB stick: the magic "MNRBNDL1", then one Push frame (frame.h) per sealed
// change-set, then one BlobPut frame per sealed file chunk (mnr/attachment.h), then an end frame
// carrying the counts, so a truncated copy is detected. A bundle without file chunks is byte for byte
// what bundles were before attachments.
struct BundleContents {
  std::vector<std::string> changesets;   // sealed change-sets, in the outbox's order
  std::vector<std::string> blob_chunks;  // sealed file chunks
};
std::string EncodeBundle(const std::vector<std::string>& sealed_changesets, const std::vector<std::string>& sealed_chunks = {});
Result<BundleContents> DecodeBundle(std::string_view bytes);

}  // namespace mnr
