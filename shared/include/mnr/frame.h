// The frame codec: the only way bytes are delimited on the wire and in bundle files.
// A frame is a 5-byte header, type (1 byte) then payload length (4 bytes, big-endian), then the
// payload. A length above limits::kFrameBytes is a protocol error: the peer is dropped.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "mnr/status.h"

namespace mnr {

enum class MessageType : std::uint8_t {
  kHello = 1,
  kWelcome = 2,
  kPush = 3,
  kAck = 4,
  kRefused = 5,
  kPull = 6,
  kPullChunk = 7,
  kPullEnd = 8,
  kBye = 9,
  kBundleEnd = 10,  // bundle files only
  kRequest = 11,    // a remote operation of a coordinator or auditor (server/remote_ops.h)
  kResponse = 12,
  kPackedPullChunk = 13,  // protocol 2: a PullChunk compressed with zstd
  kBlobOffer = 14,        // protocol 3: attachments (mnr/attachment.h)
  kBlobState = 15,
  kBlobPut = 16,          // also each file chunk in a bundle file
  kBlobGet = 17,
  kBlobData = 18,
  // 19.. free for later messages; never reuse a retired number.
};
std::string_view MessageTypeName(MessageType t);

inline constexpr std::size_t kFrameHeaderBytes = 5;

struct FrameHeader {
  MessageType type;
  std::uint32_t length;
};

std::string EncodeFrame(MessageType type, std::string_view payload);
// Checks the type is known and the length within `max_payload`.
Result<FrameHeader> DecodeFrameHeader(const std::array<unsigned char, kFrameHeaderBytes>& header,
                                      std::size_t max_payload);

// Splits the next whole frame off the front of `buffer` (bundle files, tests); NotFound if the buffer
// holds less than one frame.
struct Frame {
  MessageType type;
  std::string payload;
};
Result<Frame> TakeFrame(std::string_view& buffer, std::size_t max_payload);

}  // namespace mnr
