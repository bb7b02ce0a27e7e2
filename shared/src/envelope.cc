#include "mnr/envelope.h"

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/string.hpp>

#include <sstream>

#include "mnr/bounded_archive.h"
#include "mnr/crypto.h"
#include "mnr/frame.h"
#include "mnr/limits.h"

namespace mnr {
namespace {

constexpr std::string_view kBundleMagic = "MNRBNDL1";
constexpr std::size_t kSignatureBytes = 64;
// Room for the signature and cereal's length tags beside a body of the maximum size.
constexpr std::size_t kSignedOverhead = 4096;

std::string EncodeCount(std::uint64_t n) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(n & 0xff);
    n >>= 8;
  }
  return out;
}

std::uint64_t DecodeCount(std::string_view bytes) {
  std::uint64_t n = 0;
  for (unsigned char c : bytes) n = (n << 8) | c;
  return n;
}

}  // namespace

Result<std::string> SealChangeSet(std::string_view body, std::string_view device_private_pem,
                                  std::string_view server_sealing_public) {
  if (body.size() > limits::kChangeSetBytes) {
    return Status::InvalidArgument("change-set of " + std::to_string(body.size()) + " bytes exceeds the limit of " +
                                   std::to_string(limits::kChangeSetBytes) + "; split it into smaller change-sets");
  }
  auto signature = crypto::Sign(device_private_pem, body);
  if (!signature.ok()) return signature.status().With("cannot sign the change-set with the device key");
  std::ostringstream os;
  {
    cereal::PortableBinaryOutputArchive ar(os, cereal::PortableBinaryOutputArchive::Options::LittleEndian());
    std::string body_copy(body);
    ar(body_copy, *signature);
  }
  auto sealed = crypto::Seal(crypto::Compress(os.str()), server_sealing_public);
  if (!sealed.ok()) return sealed.status().With("cannot seal the change-set to the server's key");
  return sealed;
}

Result<OpenedChangeSet> OpenChangeSet(std::string_view sealed, std::string_view server_sealing_private) {
  auto compressed = crypto::Unseal(sealed, server_sealing_private);
  if (!compressed.ok()) return compressed.status().With("cannot open the sealed change-set");
  auto plain = crypto::Decompress(*compressed, limits::kChangeSetBytes + kSignedOverhead);
  if (!plain.ok()) return plain.status().With("cannot decompress the sealed change-set");

  OpenedChangeSet opened;
  try {
    BoundedInputArchive ar(*plain);
    ar(opened.body, opened.signature);
    if (ar.remaining() != 0) {
      return Status::Corruption("sealed change-set has " + std::to_string(ar.remaining()) +
                                " unexpected bytes after the signature");
    }
  } catch (const cereal::Exception& e) {
    return Status::Corruption(std::string("sealed change-set is malformed: ") + e.what());
  }
  if (opened.signature.size() != kSignatureBytes) {
    return Status::Corruption("sealed change-set carries a signature of " + std::to_string(opened.signature.size()) +
                              " bytes, not 64");
  }
  auto cs = ParseChangeSet(opened.body);
  if (!cs.ok()) return cs.status().With("sealed change-set");
  opened.changeset = std::move(cs).value();
  opened.id = ChangeSetId(opened.body);
  return opened;
}

Status VerifyChangeSetSignature(const OpenedChangeSet& opened, std::string_view certificate_pem) {
  // The certificate must be the one the change-set names, or a valid key could vouch for another
  // credential's edits.
  auto info = crypto::InspectCertificate(certificate_pem);
  if (!info.ok()) return info.status().With("change-set " + opened.id);
  if (info->common_name != opened.changeset.credential_id) {
    return Status::Refused("change-set " + opened.id + " names credential \"" + opened.changeset.credential_id +
                           "\" but the certificate given is for \"" + info->common_name + "\"");
  }
  return crypto::VerifyWithCertificate(certificate_pem, opened.body, opened.signature)
      .With("change-set " + opened.id + " from credential " + opened.changeset.credential_id);
}

std::string EncodeBundle(const std::vector<std::string>& sealed_changesets, const std::vector<std::string>& sealed_chunks) {
  std::string out(kBundleMagic);
  for (const std::string& sealed : sealed_changesets) out += EncodeFrame(MessageType::kPush, sealed);
  for (const std::string& sealed : sealed_chunks) out += EncodeFrame(MessageType::kBlobPut, sealed);
  std::string counts = EncodeCount(sealed_changesets.size());
  if (!sealed_chunks.empty()) counts += EncodeCount(sealed_chunks.size());
  out += EncodeFrame(MessageType::kBundleEnd, counts);
  return out;
}

Result<BundleContents> DecodeBundle(std::string_view bytes) {
  if (bytes.substr(0, kBundleMagic.size()) != kBundleMagic) {
    return Status::InvalidArgument("not a change-set bundle: the file does not start with \"MNRBNDL1\"");
  }
  std::string_view rest = bytes.substr(kBundleMagic.size());
  BundleContents contents;
  std::vector<std::string>& sealed = contents.changesets;
  while (true) {
    if (rest.empty()) {
      return Status::Corruption("bundle ends after " + std::to_string(sealed.size()) +
                                " change-sets without its end marker: the copy is truncated; copy it again");
    }
    const std::size_t offset = bytes.size() - rest.size();
    auto frame = TakeFrame(rest, limits::kFrameBytes);
    if (!frame.ok()) {
      if (frame.status().code() == Status::Code::kNotFound) {
        return Status::Corruption("bundle is truncated inside the frame at byte " + std::to_string(offset) +
                                  " (after " + std::to_string(sealed.size()) + " change-sets); copy it again");
      }
      return Status::Corruption("bundle has a bad frame at byte " + std::to_string(offset) + ": " +
                                frame.status().message());
    }
    if (frame->type == MessageType::kPush) {
      if (!contents.blob_chunks.empty()) {
        return Status::Corruption("bundle has a change-set after file chunks at byte " + std::to_string(offset));
      }
      sealed.push_back(std::move(frame->payload));
      continue;
    }
    if (frame->type == MessageType::kBlobPut) {
      contents.blob_chunks.push_back(std::move(frame->payload));
      continue;
    }
    if (frame->type != MessageType::kBundleEnd) {
      return Status::Corruption("bundle has an unexpected " + std::string(MessageTypeName(frame->type)) +
                                " frame at byte " + std::to_string(offset));
    }
    const std::size_t marker = contents.blob_chunks.empty() ? 8 : 16;
    if (frame->payload.size() != marker) {
      return Status::Corruption("bundle end marker is " + std::to_string(frame->payload.size()) +
                                " bytes, not " + std::to_string(marker));
    }
    const std::uint64_t count = DecodeCount(std::string_view(frame->payload).substr(0, 8));
    if (marker == 16 && DecodeCount(std::string_view(frame->payload).substr(8)) != contents.blob_chunks.size()) {
      return Status::Corruption("bundle end marker says " + std::to_string(DecodeCount(std::string_view(frame->payload).substr(8))) +
                                " file chunks but the file holds " + std::to_string(contents.blob_chunks.size()));
    }
    if (count != sealed.size()) {
      return Status::Corruption("bundle end marker says " + std::to_string(count) + " change-sets but the file holds " +
                                std::to_string(sealed.size()));
    }
    if (!rest.empty()) {
      return Status::Corruption("bundle has " + std::to_string(rest.size()) + " unexpected bytes after its end marker");
    }
    return contents;
  }
}

}  // namespace mnr
