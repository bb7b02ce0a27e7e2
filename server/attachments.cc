#include "server/attachments.h"
#include "server/register.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "mnr/crypto.h"
#include "mnr/field.h"
#include "mnr/file_util.h"
#include "mnr/limits.h"
#include "mnr/media_type.h"

namespace mnr::server {
namespace {

namespace fs = std::filesystem;

std::string OffsetName(std::uint64_t offset) {
  char name[17];
  std::snprintf(name, sizeof name, "%016llx", static_cast<unsigned long long>(offset));
  return name;
}

std::string MiB(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return text;
}

// Attachment keys sort between "attachment/" and "attachment0" ('0' follows '/'), so the range is an
// index scan of the attachment fields only.
constexpr const char* kAttachmentRange = "field >= 'attachment/' AND field < 'attachment0'";

Result<std::vector<AttachmentRef>> ReadRefs(Statement& st) {
  std::vector<AttachmentRef> refs;
  for (;;) {
    auto row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto value = DecodeAttachment(st.Text(2));
    if (!value.ok()) return value.status().With("stored field " + st.Text(0));
    refs.push_back({st.Text(0), st.Text(1), std::move(value).value()});
  }
  return refs;
}

}  // namespace

AttachmentLimits AttachmentLimitsOf(const RunSettings& run) {
  return {static_cast<std::uint64_t>(run.attachment_max_mib) << 20, static_cast<std::uint64_t>(run.attachment_device_quota_mib) << 20,
          static_cast<std::uint64_t>(run.attachment_country_quota_mib) << 20};
}

std::string BlobDirectory::PathOf(const std::string& hash) const { return dir_ + "/" + hash.substr(0, 2) + "/" + hash; }

std::uint64_t BlobDirectory::Held(const std::string& hash, std::uint64_t size) const {
  std::uint64_t held = 0;
  std::error_code ec;
  while (held < size && fs::exists(dir_ + "/partial/" + hash + "/" + OffsetName(held), ec)) {
    held = std::min<std::uint64_t>(size, held + limits::kBlobChunkBytes);
  }
  return held;
}

Status BlobDirectory::WriteChunk(const BlobChunk& chunk) {
  const std::string dir = dir_ + "/partial/" + chunk.hash;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError(dir + ": " + ec.message());
  return WriteFileAtomic(dir + "/" + OffsetName(chunk.offset), chunk.bytes, 0600);
}

Result<std::string> BlobDirectory::Assemble(const std::string& hash, std::uint64_t size) {
  std::string bytes;
  bytes.reserve(size);
  for (std::uint64_t offset = 0; offset < size; offset += limits::kBlobChunkBytes) {
    auto chunk = ReadFile(dir_ + "/partial/" + hash + "/" + OffsetName(offset), limits::kBlobChunkBytes);
    if (!chunk.ok()) return chunk.status();
    bytes += *chunk;
  }
  if (bytes.size() != size || crypto::Sha256Hex(bytes) != hash) {
    DropPartial(hash);
    return Status::Corruption("the bytes received do not hash to " + hash.substr(0, 12) + "…; the file must be sent again");
  }
  return bytes;
}

Result<std::string> BlobDirectory::Read(const std::string& hash, std::uint64_t offset, std::size_t n) const {
  std::ifstream in(PathOf(hash), std::ios::binary);
  if (!in) return Status::NotFound("the server does not hold file " + hash.substr(0, 12) + "…");
  in.seekg(static_cast<std::streamoff>(offset));
  std::string out(n, '\0');
  in.read(out.data(), static_cast<std::streamsize>(n));
  out.resize(static_cast<std::size_t>(in.gcount()));
  return out;
}

Status BlobDirectory::Verify(const std::string& hash, std::uint64_t size) const {
  auto bytes = ReadFile(PathOf(hash), limits::kAttachmentBytes);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() != size) {
    return Status::Corruption(PathOf(hash) + " holds " + std::to_string(bytes->size()) + " bytes, not " + std::to_string(size));
  }
  if (crypto::Sha256Hex(*bytes) != hash) return Status::Corruption(PathOf(hash) + ": its bytes no longer hash to its name");
  return Status::OK();
}

void BlobDirectory::DropPartial(const std::string& hash) const {
  std::error_code ec;
  fs::remove_all(dir_ + "/partial/" + hash, ec);
}

Result<std::vector<AttachmentRef>> AttachmentRefs(Db& db, const std::string& hash) {
  auto st = db.Cached(std::string("SELECT field, country, value FROM fields WHERE ") + kAttachmentRange +
                      " AND substr(field, -64) = ? AND value IS NOT NULL ORDER BY field");
  if (!st.ok()) return st.status();
  st->Bind(1, hash);
  return ReadRefs(*st);
}

Result<std::vector<AttachmentRef>> AllAttachmentRefs(Db& db) {
  auto st = db.Cached(std::string("SELECT field, country, value FROM fields WHERE ") + kAttachmentRange +
                      " AND value IS NOT NULL ORDER BY field");
  if (!st.ok()) return st.status();
  return ReadRefs(*st);
}

Result<std::optional<std::string>> HeldMediaType(Db& db, const std::string& hash) {
  auto st = db.Cached("SELECT media_type FROM blobs WHERE hash = ?");
  if (!st.ok()) return st.status();
  st->Bind(1, hash);
  auto row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(st->Text(0));
}

BlobState AttachmentIntake::Refuse(const std::string& hash, std::uint64_t size, std::string reason) const {
  BlobState s;
  s.hash = hash;
  s.size = size;
  s.code = static_cast<std::uint16_t>(RefusalCode::kAttachment);
  s.reason = std::move(reason);
  return s;
}

BlobState AttachmentIntake::Offer(const CredentialRecord& cred, const std::string& device_id, const std::string& hash,
                                  std::uint64_t size) {
  const std::string name = "file " + hash.substr(0, 12) + "…";
  if (!IsValidBlobHash(hash)) return Refuse(hash.substr(0, 64), size, "a file is named by its SHA-256 in 64 lowercase hex digits");
  if (cred.role != Role::kField) return Refuse(hash, size, "only field credentials send attachments");
  Db& db = store_.db();
  auto refs = AttachmentRefs(db, hash);
  if (!refs.ok()) return Refuse(hash, size, "server store error; try again later");
  std::set<std::string> countries;
  for (const AttachmentRef& r : *refs) {
    if (std::find(cred.countries.begin(), cred.countries.end(), r.country) == cred.countries.end()) continue;
    if (r.value.size != size) {
      return Refuse(hash, size, name + " is offered as " + std::to_string(size) + " bytes, but its attachment (" + r.field +
                                    ") says " + std::to_string(r.value.size));
    }
    countries.insert(r.country);
  }
  if (countries.empty()) {
    return Refuse(hash, size, "no attachment of " + (cred.countries.empty() ? std::string("your countries") : cred.countries.front()) +
                                  (cred.countries.size() > 1 ? " and the others of your credential" : "") + " names " + name +
                                  ": the edit that attaches it must reach the server first");
  }
  BlobState state;
  state.hash = hash;
  state.size = size;
  auto held = HeldMediaType(db, hash);
  if (!held.ok()) return Refuse(hash, size, "server store error; try again later");
  if (held->has_value()) {
    state.held = size;  // sent before, by this device or another: nothing to send
    return state;
  }
  if (size > limits_.max_bytes) {
    return Refuse(hash, size, name + " is " + MiB(size) + "; this server takes attachments of at most " + MiB(limits_.max_bytes));
  }
  auto dev = db.Cached("SELECT COALESCE(SUM(size), 0) FROM blobs WHERE device_id = ?");
  if (!dev.ok()) return Refuse(hash, size, "server store error; try again later");
  dev->Bind(1, device_id);
  if (auto row = dev->Step(); !row.ok() || !*row) return Refuse(hash, size, "server store error; try again later");
  const auto device_total = static_cast<std::uint64_t>(dev->Int(0));
  if (device_total + size > limits_.device_quota) {
    return Refuse(hash, size, name + " (" + MiB(size) + ") would take this device past its attachment quota: it has sent " +
                                  MiB(device_total) + " of " + MiB(limits_.device_quota) + "; ask the coordinator");
  }
  for (const std::string& country : countries) {
    auto st = db.Cached(
        "SELECT COALESCE(SUM(size), 0) FROM blobs WHERE hash IN (SELECT substr(field, -64) FROM fields WHERE "
        "field >= 'attachment/' || ?1 || '/' AND field < 'attachment/' || ?1 || '0' AND value IS NOT NULL)");
    if (!st.ok()) return Refuse(hash, size, "server store error; try again later");
    st->Bind(1, country);
    if (auto row = st->Step(); !row.ok() || !*row) return Refuse(hash, size, "server store error; try again later");
    const auto country_total = static_cast<std::uint64_t>(st->Int(0));
    if (country_total + size > limits_.country_quota) {
      return Refuse(hash, size, name + " (" + MiB(size) + ") would take " + country + " past its attachment quota: it holds " +
                                    MiB(country_total) + " of " + MiB(limits_.country_quota) + "; ask the coordinator");
    }
  }
  state.held = blobs_.Held(hash, size);
  // Every chunk held but no file kept (the server stopped between the two): the last chunk sent again
  // makes the file whole.
  if (state.held >= size) state.held = (size - 1) / limits::kBlobChunkBytes * limits::kBlobChunkBytes;
  return state;
}

BlobState AttachmentIntake::Put(std::string_view sealed, const CredentialRecord* session, const std::string& session_device,
                                std::int64_t now) {
  auto key = store_.SealingPrivateKey();
  if (!key.ok()) return Refuse("", 0, "server store error; try again later");
  auto chunk = OpenBlobChunk(sealed, *key);
  if (!chunk.ok()) return Refuse("", 0, chunk.status().message());
  std::optional<CredentialRecord> signer;
  if (session) {
    if (chunk->credential_id != session->id || chunk->device_id != session_device) {
      return Refuse(chunk->hash, chunk->size, "a file chunk signed for credential " + chunk->credential_id +
                                                  " arrived on the connection of " + session->id);
    }
    signer = *session;
  } else {
    auto found = FindCredential(store_.db(), chunk->credential_id);
    if (!found.ok()) return Refuse(chunk->hash, chunk->size, "server store error; try again later");
    if (!found->has_value()) return Refuse(chunk->hash, chunk->size, "credential " + chunk->credential_id + " is not in the register");
    if (Status usable = CheckCredentialUsable(**found, now); !usable.ok()) return Refuse(chunk->hash, chunk->size, usable.message());
    signer = **found;
  }
  if (Status s = VerifyBlobChunkSignature(*chunk, signer->certificate_pem); !s.ok()) {
    return Refuse(chunk->hash, chunk->size, s.message());
  }
  BlobState state = Offer(*signer, chunk->device_id, chunk->hash, chunk->size);
  if (state.code != 0 || state.held == state.size) return state;
  if (Status s = blobs_.WriteChunk(*chunk); !s.ok()) return Refuse(chunk->hash, chunk->size, "server cannot store the chunk; try again later");
  state.held = blobs_.Held(chunk->hash, chunk->size);
  // A chunk ahead of the first one missing (a pipelining client, a bundle split across sticks) is kept
  // and counts once the gap is filled.
  if (state.held < state.size) return state;

  const std::string name = "file " + chunk->hash.substr(0, 12) + "…";
  auto bytes = blobs_.Assemble(chunk->hash, chunk->size);
  if (!bytes.ok()) return Refuse(chunk->hash, chunk->size, bytes.status().message());
  auto sniffed = SniffMediaType(*bytes, "");
  auto refs = AttachmentRefs(store_.db(), chunk->hash);
  if (!refs.ok()) return Refuse(chunk->hash, chunk->size, "server store error; try again later");
  if (!sniffed.ok()) {
    blobs_.DropPartial(chunk->hash);
    return Refuse(chunk->hash, chunk->size, name + " is refused: " + sniffed.status().message());
  }
  for (const AttachmentRef& r : *refs) {
    if (r.value.media_type != sniffed->mime) {
      blobs_.DropPartial(chunk->hash);
      return Refuse(chunk->hash, chunk->size, name + " is " + sniffed->label + " (" + sniffed->mime + "), but its attachment " +
                                                  r.field + " says " + r.value.media_type + "; it was not kept");
    }
  }
  std::error_code ec;
  fs::create_directories(fs::path(blobs_.PathOf(chunk->hash)).parent_path(), ec);
  if (ec) return Refuse(chunk->hash, chunk->size, "server cannot store the file; try again later");
  if (Status s = WriteFileAtomic(blobs_.PathOf(chunk->hash), *bytes, 0600); !s.ok()) {
    return Refuse(chunk->hash, chunk->size, "server cannot store the file; try again later");
  }
  auto ins = store_.db().Cached(
      "INSERT INTO blobs (hash, size, media_type, device_id, credential_id, stored_at) VALUES (?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (hash) DO NOTHING");
  if (!ins.ok()) return Refuse(chunk->hash, chunk->size, "server store error; try again later");
  ins->Bind(1, chunk->hash).Bind(2, static_cast<std::int64_t>(chunk->size)).Bind(3, sniffed->mime).Bind(4, chunk->device_id);
  ins->Bind(5, chunk->credential_id).Bind(6, now);
  if (Status s = ins->Run(); !s.ok()) return Refuse(chunk->hash, chunk->size, "server store error; try again later");
  blobs_.DropPartial(chunk->hash);
  return state;
}

Result<std::uint64_t> AttachmentIntake::CheckReadable(const CredentialRecord& cred, const std::string& hash) {
  if (!IsValidBlobHash(hash)) return Status::InvalidArgument("a file is named by its SHA-256 in 64 lowercase hex digits");
  auto refs = AttachmentRefs(store_.db(), hash);
  if (!refs.ok()) return refs.status();
  const bool readable = std::any_of(refs->begin(), refs->end(), [&](const AttachmentRef& r) {
    return cred.role != Role::kField ||
           std::find(cred.countries.begin(), cred.countries.end(), r.country) != cred.countries.end();
  });
  if (!readable) return Status::Refused("no attachment of the credential's countries names file " + hash.substr(0, 12) + "…");
  auto held = HeldMediaType(store_.db(), hash);
  if (!held.ok()) return held.status();
  if (!held->has_value()) return Status::NotFound("the server does not hold file " + hash.substr(0, 12) + "… yet");
  return refs->front().value.size;
}

}  // namespace mnr::server
