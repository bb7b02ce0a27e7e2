// Protocol messages (docs/protocol.md is the reference; keep the two in step). Each message is the
// payload of one frame, serialized with cereal's portable binary archive.
#pragma once

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/bounded_archive.h"
#include "mnr/frame.h"
#include "mnr/hlc.h"
#include "mnr/limits.h"
#include "mnr/status.h"

namespace mnr {

// The protocol versions this build speaks (docs/protocol.md, "Versions"). 2: the pull leaves out
// what the device itself wrote and comes compressed (PackedPullChunk); the client pipelines. 3:
// attachments' files travel (BlobOffer .. BlobData). A server answers 1 to 3; Welcome names the
// version of the session.
inline constexpr std::uint32_t kProtocolVersion = 3;
inline constexpr std::uint32_t kOldestProtocolVersion = 1;

// Reasons in a Refused message; numbers reach the wire (do not change, never reuse).
enum class RefusalCode : std::uint16_t {
  kProtocol = 1,         // malformed frame or message, or one out of order
  kVersion = 2,          // protocol or schema version not supported
  kCredential = 3,       // unknown, revoked or expired credential
  kScope = 4,            // a change-set touches a country outside the credential
  kRole = 5,             // the role may not do this
  kBadChangeSet = 6,     // does not open, parse or verify
  kSequence = 7,         // device sequence number reused with other content
  kInternal = 8,         // the server failed; retry later
  kBadRequest = 9,       // a remote operation's name or arguments are wrong; the connection stays open
  kBusy = 10,            // the server serves as many sessions as it may; retry after the time in the reason
  kAttachment = 11,      // a file is refused: too large, over a quota, not what its field says; the connection stays open
};

// A Busy refusal carries its retry-after in the reason, so that a client that does not know code 10
// still prints a sentence a person can act on: "server busy: retry after N s (...)" (N in 1..3600).
inline std::string BusyReason(std::uint32_t retry_after_seconds, std::string_view why) {
  return "server busy: retry after " + std::to_string(retry_after_seconds) + " s (" + std::string(why) + ")";
}
// The retry-after of a Busy reason; nullopt if `reason` does not start as BusyReason writes it.
inline std::optional<std::uint32_t> BusyRetryAfter(std::string_view reason) {
  constexpr std::string_view kPrefix = "server busy: retry after ";
  if (reason.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  reason.remove_prefix(kPrefix.size());
  std::uint32_t n = 0;
  std::size_t digits = 0;
  while (digits < reason.size() && digits < 5 && reason[digits] >= '0' && reason[digits] <= '9') {
    n = n * 10 + static_cast<std::uint32_t>(reason[digits] - '0');
    ++digits;
  }
  if (digits == 0 || reason.substr(digits, 2) != " s" || n == 0 || n > 3600) return std::nullopt;
  return n;
}

struct Hello {
  static constexpr MessageType kType = MessageType::kHello;
  // The version the client speaks; mnr-client sends kProtocolVersion. 1 by default, so that a peer
  // which sets nothing gets the plain version-1 session.
  std::uint32_t protocol = kOldestProtocolVersion;
  std::uint32_t schema_version = 0;
  std::string device_id;
  std::string software;
  // What the device's owner named it (`mnr-client init --name`), shown to coordinators instead of
  // the id. Optional on the wire: a Hello that ends after `software` has no name.
  std::string device_name;
  template <class A> void save(A& a) const { a(protocol, schema_version, device_id, software, device_name); }
  template <class A> void load(A& a) {
    a(protocol, schema_version, device_id, software);
    if constexpr (requires { a.remaining(); }) {
      if (a.remaining() > 0) a(device_name);
    }
  }
};

struct Welcome {
  static constexpr MessageType kType = MessageType::kWelcome;
  std::uint32_t protocol = kProtocolVersion;  // the session's version: the Hello's, if the server speaks it
  std::string store_id;        // changes if the server store is ever recreated: stale cursors reset
  std::string credential_id;
  std::string role;
  std::vector<std::string> countries;
  std::uint64_t acked_through = 0;  // every change-set of this device with seq <= this is stored
  HlcTime server_time = 0;
  // PEM of the server's own certificate (issued by the CA in the credential): the key that signs
  // receipts and audit tree heads (docs/protocol.md, "Audit log and receipts").
  std::string server_certificate;
  // Protocol 3: the largest attachment file the server takes, so that the office is told when it
  // attaches, not only when it syncs. Optional on the wire: a Welcome that ends before it has none (0).
  std::uint64_t attachment_max_bytes = 0;
  template <class A> void save(A& a) const {
    a(protocol, store_id, credential_id, role, countries, acked_through, server_time, server_certificate);
    if (protocol >= 3) a(attachment_max_bytes);
  }
  template <class A> void load(A& a) {
    a(protocol, store_id, credential_id, role, countries, acked_through, server_time, server_certificate);
    if constexpr (requires { a.remaining(); }) {
      if (a.remaining() > 0) a(attachment_max_bytes);
    }
  }
};

struct Push {
  static constexpr MessageType kType = MessageType::kPush;
  std::string sealed;  // envelope.h
  template <class A> void serialize(A& a) { a(sealed); }
};

struct Ack {
  static constexpr MessageType kType = MessageType::kAck;
  std::string changeset_id;
  std::uint64_t seq = 0;
  bool duplicate = false;  // already stored before this push; nothing changed
  std::uint64_t acked_through = 0;
  // Signed receipt (mnr/audit_format.h): the audit log entry that holds the change-set (for a
  // duplicate, the entry that first logged it) and the tree head; empty if the server could not sign.
  std::string receipt;
  template <class A> void serialize(A& a) { a(changeset_id, seq, duplicate, acked_through, receipt); }
};

struct Refused {
  static constexpr MessageType kType = MessageType::kRefused;
  std::uint16_t code = 0;
  std::string reason;
  template <class A> void serialize(A& a) { a(code, reason); }
};

struct Pull {
  static constexpr MessageType kType = MessageType::kPull;
  std::string store_id;  // empty or different from Welcome.store_id: start from 0
  std::uint64_t cursor = 0;
  template <class A> void serialize(A& a) { a(store_id, cursor); }
};

struct PulledField {
  std::string field;
  std::optional<std::string> value;
  std::string version;  // OperationVersion of the winning edit
  HlcTime hlc = 0;
  template <class A> void serialize(A& a) { a(field, value, version, hlc); }
};

struct PullChunk {
  static constexpr MessageType kType = MessageType::kPullChunk;
  std::vector<PulledField> fields;  // at most limits::kPullChunkFields, in server order
  std::uint64_t cursor = 0;         // where to resume if the link drops after this chunk
  template <class A> void save(A& a) const { a(cursor, fields); }
  template <class A> void load(A& a) {
    a(cursor);
    cereal::size_type n = 0;
    a(cereal::make_size_tag(n));
    if (n > limits::kPullChunkFields) throw cereal::Exception("too many fields in one chunk");
    fields.resize(static_cast<std::size_t>(n));
    for (auto& f : fields) a(f);
  }
};

// Protocol 2's form of PullChunk: the same payload, compressed (crypto::Compress). The receiver
// refuses one that expands past limits::kFrameBytes (PackPullChunk / UnpackPullChunk, below).
struct PackedPullChunk {
  static constexpr MessageType kType = MessageType::kPackedPullChunk;
  std::string packed;  // zstd of a PullChunk payload
  template <class A> void serialize(A& a) { a(packed); }
};
PackedPullChunk PackPullChunk(const PullChunk& chunk);
Result<PullChunk> UnpackPullChunk(const PackedPullChunk& packed);

struct PullEnd {
  static constexpr MessageType kType = MessageType::kPullEnd;
  std::uint64_t cursor = 0;
  template <class A> void serialize(A& a) { a(cursor); }
};

struct Bye {
  static constexpr MessageType kType = MessageType::kBye;
  template <class A> void serialize(A&) {}
};

// A remote operation by name with JSON arguments; answered by Response or Refused (kRole, kBadRequest).
struct Request {
  static constexpr MessageType kType = MessageType::kRequest;
  std::string operation;
  std::string arguments;  // a JSON object
  template <class A> void serialize(A& a) { a(operation, arguments); }
};

struct Response {
  static constexpr MessageType kType = MessageType::kResponse;
  std::string body;  // JSON
  template <class A> void serialize(A& a) { a(body); }
};

// Protocol 3: attachments' files (docs/protocol.md, "Attachments"). A client offers a file it holds
// for an attachment field the server already has; the server answers with what it holds of it.
struct BlobOffer {
  static constexpr MessageType kType = MessageType::kBlobOffer;
  std::string hash;
  std::uint64_t size = 0;
  template <class A> void serialize(A& a) { a(hash, size); }
};

// The server's answer to BlobOffer, BlobPut and (at the end) BlobGet: `held` bytes from the start are
// stored; held == size means the file is whole on the server (a BlobGet: all of it was sent). A
// refusal (code != 0: a RefusalCode, mostly kAttachment) concerns this file only; the session goes on.
struct BlobState {
  static constexpr MessageType kType = MessageType::kBlobState;
  std::string hash;
  std::uint64_t size = 0;
  std::uint64_t held = 0;
  std::uint16_t code = 0;
  std::string reason;
  template <class A> void serialize(A& a) { a(hash, size, held, code, reason); }
};

// One chunk, signed and sealed (SealBlobChunk).
struct BlobPut {
  static constexpr MessageType kType = MessageType::kBlobPut;
  std::string sealed;
  template <class A> void serialize(A& a) { a(sealed); }
};

// Asks for a file from `offset` (a chunk boundary); answered by BlobData frames to its end, then a
// BlobState, or by a BlobState that refuses.
struct BlobGet {
  static constexpr MessageType kType = MessageType::kBlobGet;
  std::string hash;
  std::uint64_t offset = 0;
  template <class A> void serialize(A& a) { a(hash, offset); }
};

struct BlobData {
  static constexpr MessageType kType = MessageType::kBlobData;
  std::string hash;
  std::uint64_t size = 0;
  std::uint64_t offset = 0;
  std::string bytes;  // at most limits::kBlobChunkBytes
  template <class A> void serialize(A& a) { a(hash, size, offset, bytes); }
};

template <class M>
std::string EncodeMessage(const M& m) {
  std::ostringstream os;
  {
    cereal::PortableBinaryOutputArchive ar(os);
    ar(const_cast<M&>(m));
  }
  return EncodeFrame(M::kType, os.str());
}

// Decodes a payload already known to be of type M::kType; any cereal failure (a short or lying
// length) becomes InvalidArgument. Lengths inside are bounded by the frame's own size.
template <class M>
Result<M> DecodeMessage(std::string_view payload) {
  try {
    BoundedInputArchive ar(payload);
    M m;
    ar(m);
    if (ar.remaining() != 0) return Status::InvalidArgument("trailing bytes after message");
    return m;
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("malformed ") + std::string(MessageTypeName(M::kType)) +
                                   " message: " + e.what());
  }
}

}  // namespace mnr
