#include "mnr/attachment.h"

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/string.hpp>
#include <charconv>
#include <sstream>

#include "mnr/bounded_archive.h"
#include "mnr/credential.h"
#include "mnr/crypto.h"
#include "mnr/field.h"
#include "mnr/limits.h"
#include "mnr/media_type.h"
#include "mnr/utf8.h"

namespace mnr {
namespace {

constexpr std::string_view kChunkDomain = "mnr-sync blob chunk v1\n";
// Room for the ids, hash, signature and cereal's length tags beside a chunk of the maximum size.
constexpr std::size_t kChunkOverhead = 4096;

}  // namespace

std::string EncodeAttachment(const AttachmentValue& v) {
  return std::to_string(v.size) + "\n" + v.media_type + "\n" + v.title;
}

Result<AttachmentValue> DecodeAttachment(std::string_view encoded) {
  const std::size_t a = encoded.find('\n');
  const std::size_t b = a == std::string_view::npos ? a : encoded.find('\n', a + 1);
  if (b == std::string_view::npos) return Status::InvalidArgument("an attachment's value is \"<size>\\n<media type>\\n<title>\"");
  AttachmentValue v;
  const std::string_view size = encoded.substr(0, a);
  const auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), v.size);
  if (ec != std::errc() || end != size.data() + size.size() || size.empty() || size[0] == '0') {
    return Status::InvalidArgument("an attachment's size must be a whole number of bytes");
  }
  if (v.size > limits::kAttachmentBytes) {
    return Status::InvalidArgument("an attachment of " + std::to_string(v.size) + " bytes exceeds the ceiling of " +
                                   std::to_string(limits::kAttachmentBytes >> 20) + " MiB");
  }
  v.media_type = std::string(encoded.substr(a + 1, b - a - 1));
  if (!IsAcceptedMediaType(v.media_type)) {
    return Status::InvalidArgument("an attachment's media type \"" + v.media_type.substr(0, 80) + "\" is not one accepted (" +
                                   AcceptedMediaTypes() + ")");
  }
  v.title = std::string(encoded.substr(b + 1));
  MNR_RETURN_IF_ERROR(CheckText(v.title, "attachment title", limits::kAttachmentTitleBytes));
  if (v.title.find_first_of("\r\n") != std::string::npos) return Status::InvalidArgument("an attachment title is one line");
  return v;
}

std::uint64_t BlobChunkCount(std::uint64_t size) {
  return size == 0 ? 1 : (size + limits::kBlobChunkBytes - 1) / limits::kBlobChunkBytes;
}

std::string BlobChunkSignedBytes(const BlobChunk& c) {
  std::string out(kChunkDomain);
  out += c.hash + "\n" + std::to_string(c.size) + "\n" + std::to_string(c.offset) + "\n" + c.device_id + "\n" +
         c.credential_id + "\n" + crypto::Sha256Hex(c.bytes);
  return out;
}

Status CheckBlobChunkShape(const BlobChunk& c) {
  if (!IsValidBlobHash(c.hash)) return Status::InvalidArgument("a file chunk names a bad hash");
  if (c.size == 0 || c.size > limits::kAttachmentBytes) {
    return Status::InvalidArgument("a file chunk names a file of " + std::to_string(c.size) + " bytes (1 byte to " +
                                   std::to_string(limits::kAttachmentBytes >> 20) + " MiB)");
  }
  if (c.offset % limits::kBlobChunkBytes != 0 || c.offset >= c.size) {
    return Status::InvalidArgument("a file chunk starts at byte " + std::to_string(c.offset) + ", not on a chunk boundary inside the file");
  }
  const std::uint64_t expected = std::min<std::uint64_t>(limits::kBlobChunkBytes, c.size - c.offset);
  if (c.bytes.size() != expected) {
    return Status::InvalidArgument("the file chunk at byte " + std::to_string(c.offset) + " holds " +
                                   std::to_string(c.bytes.size()) + " bytes, not " + std::to_string(expected));
  }
  if (c.device_id.empty() || c.device_id.size() > 128 || c.credential_id.empty() || c.credential_id.size() > 128) {
    return Status::InvalidArgument("a file chunk must name its device and credential");
  }
  return Status::OK();
}

Result<std::string> SealBlobChunk(BlobChunk c, std::string_view device_private_pem, std::string_view server_sealing_public) {
  MNR_RETURN_IF_ERROR(CheckBlobChunkShape(c));
  auto signature = crypto::Sign(device_private_pem, BlobChunkSignedBytes(c));
  if (!signature.ok()) return signature.status().With("cannot sign a file chunk with the device key");
  c.signature = std::move(signature).value();
  std::ostringstream os;
  {
    cereal::PortableBinaryOutputArchive ar(os, cereal::PortableBinaryOutputArchive::Options::LittleEndian());
    ar(c.hash, c.size, c.offset, c.bytes, c.device_id, c.credential_id, c.signature);
  }
  auto sealed = crypto::Seal(crypto::Compress(os.str()), server_sealing_public);
  if (!sealed.ok()) return sealed.status().With("cannot seal a file chunk to the server's key");
  return sealed;
}

Result<BlobChunk> OpenBlobChunk(std::string_view sealed, std::string_view server_sealing_private) {
  auto compressed = crypto::Unseal(sealed, server_sealing_private);
  if (!compressed.ok()) return compressed.status().With("cannot open a sealed file chunk");
  auto plain = crypto::Decompress(*compressed, limits::kBlobChunkBytes + kChunkOverhead);
  if (!plain.ok()) return plain.status().With("cannot decompress a sealed file chunk");
  BlobChunk c;
  try {
    BoundedInputArchive ar(*plain);
    ar(c.hash, c.size, c.offset, c.bytes, c.device_id, c.credential_id, c.signature);
    if (ar.remaining() != 0) return Status::Corruption("a sealed file chunk has unexpected bytes after its signature");
  } catch (const cereal::Exception& e) {
    return Status::Corruption(std::string("a sealed file chunk is malformed: ") + e.what());
  }
  if (c.signature.size() != 64) return Status::Corruption("a sealed file chunk carries a signature that is not 64 bytes");
  MNR_RETURN_IF_ERROR(CheckBlobChunkShape(c));
  return c;
}

Status VerifyBlobChunkSignature(const BlobChunk& c, std::string_view certificate_pem) {
  auto info = crypto::InspectCertificate(certificate_pem);
  if (!info.ok()) return info.status();
  if (info->common_name != c.credential_id) {
    return Status::Refused("a file chunk names credential \"" + c.credential_id + "\" but is checked against \"" +
                           info->common_name + "\"");
  }
  return crypto::VerifyWithCertificate(certificate_pem, BlobChunkSignedBytes(c), c.signature)
      .With("file chunk at byte " + std::to_string(c.offset) + " of " + c.hash.substr(0, 12));
}

}  // namespace mnr
