#include "mnr/frame.h"

namespace mnr {

std::string_view MessageTypeName(MessageType t) {
  switch (t) {
    case MessageType::kHello: return "Hello";
    case MessageType::kWelcome: return "Welcome";
    case MessageType::kPush: return "Push";
    case MessageType::kAck: return "Ack";
    case MessageType::kRefused: return "Refused";
    case MessageType::kPull: return "Pull";
    case MessageType::kPullChunk: return "PullChunk";
    case MessageType::kPullEnd: return "PullEnd";
    case MessageType::kBye: return "Bye";
    case MessageType::kBundleEnd: return "BundleEnd";
    case MessageType::kRequest: return "Request";
    case MessageType::kResponse: return "Response";
    case MessageType::kPackedPullChunk: return "PackedPullChunk";
    case MessageType::kBlobOffer: return "BlobOffer";
    case MessageType::kBlobState: return "BlobState";
    case MessageType::kBlobPut: return "BlobPut";
    case MessageType::kBlobGet: return "BlobGet";
    case MessageType::kBlobData: return "BlobData";
  }
  return "Unknown";
}

std::string EncodeFrame(MessageType type, std::string_view payload) {
  std::string out;
  out.reserve(kFrameHeaderBytes + payload.size());
  const auto len = static_cast<std::uint32_t>(payload.size());
  out += static_cast<char>(type);
  out += static_cast<char>((len >> 24) & 0xff);
  out += static_cast<char>((len >> 16) & 0xff);
  out += static_cast<char>((len >> 8) & 0xff);
  out += static_cast<char>(len & 0xff);
  out.append(payload);
  return out;
}

Result<FrameHeader> DecodeFrameHeader(const std::array<unsigned char, kFrameHeaderBytes>& h, std::size_t max_payload) {
  const unsigned t = h[0];
  if (t < static_cast<unsigned>(MessageType::kHello) || t > static_cast<unsigned>(MessageType::kBlobData)) {
    return Status::InvalidArgument("unknown frame type " + std::to_string(t));
  }
  const std::uint32_t len = (std::uint32_t{h[1]} << 24) | (std::uint32_t{h[2]} << 16) | (std::uint32_t{h[3]} << 8) | h[4];
  if (len > max_payload) {
    return Status::InvalidArgument("frame of " + std::to_string(len) + " bytes exceeds the limit of " + std::to_string(max_payload));
  }
  return FrameHeader{static_cast<MessageType>(t), len};
}

Result<Frame> TakeFrame(std::string_view& buffer, std::size_t max_payload) {
  if (buffer.size() < kFrameHeaderBytes) return Status::NotFound("incomplete frame header");
  std::array<unsigned char, kFrameHeaderBytes> h{};
  for (std::size_t i = 0; i < kFrameHeaderBytes; ++i) h[i] = static_cast<unsigned char>(buffer[i]);
  auto header = DecodeFrameHeader(h, max_payload);
  if (!header.ok()) return header.status();
  if (buffer.size() - kFrameHeaderBytes < header->length) return Status::NotFound("incomplete frame payload");
  Frame f{header->type, std::string(buffer.substr(kFrameHeaderBytes, header->length))};
  buffer.remove_prefix(kFrameHeaderBytes + header->length);
  return f;
}

}  // namespace mnr
