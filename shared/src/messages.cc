#include "mnr/messages.h"

#include "mnr/crypto.h"

namespace mnr {

PackedPullChunk PackPullChunk(const PullChunk& chunk) {
  const std::string frame = EncodeMessage(chunk);
  return PackedPullChunk{crypto::Compress(std::string_view(frame).substr(kFrameHeaderBytes))};
}

Result<PullChunk> UnpackPullChunk(const PackedPullChunk& packed) {
  auto payload = crypto::Decompress(packed.packed, limits::kFrameBytes);
  if (!payload.ok()) return Status::InvalidArgument("malformed PackedPullChunk: " + payload.status().message());
  return DecodeMessage<PullChunk>(*payload);
}

}  // namespace mnr
