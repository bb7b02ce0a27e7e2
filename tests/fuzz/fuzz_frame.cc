// libFuzzer target: the frame codec (shared/src/frame.cc) and the message decoders behind it
// (mnr/messages.h). Any byte string is split into frames as a bundle reader does, and each frame's
// payload is decoded as the message its type names, as the server and the client do on the wire.
#include <array>
#include <cstring>

#include "mnr/frame.h"
#include "mnr/limits.h"
#include "mnr/messages.h"
#include "tests/fuzz/fuzz_common.h"

namespace {

void DecodeAs(const mnr::Frame& f) {
  using mnr::MessageType;
  switch (f.type) {
    case MessageType::kHello: (void)mnr::DecodeMessage<mnr::Hello>(f.payload); break;
    case MessageType::kWelcome: (void)mnr::DecodeMessage<mnr::Welcome>(f.payload); break;
    case MessageType::kPush: (void)mnr::DecodeMessage<mnr::Push>(f.payload); break;
    case MessageType::kAck: (void)mnr::DecodeMessage<mnr::Ack>(f.payload); break;
    case MessageType::kRefused: (void)mnr::DecodeMessage<mnr::Refused>(f.payload); break;
    case MessageType::kPull: (void)mnr::DecodeMessage<mnr::Pull>(f.payload); break;
    case MessageType::kPullChunk: (void)mnr::DecodeMessage<mnr::PullChunk>(f.payload); break;
    case MessageType::kPullEnd: (void)mnr::DecodeMessage<mnr::PullEnd>(f.payload); break;
    case MessageType::kBye: (void)mnr::DecodeMessage<mnr::Bye>(f.payload); break;
    case MessageType::kRequest: (void)mnr::DecodeMessage<mnr::Request>(f.payload); break;
    case MessageType::kResponse: (void)mnr::DecodeMessage<mnr::Response>(f.payload); break;
    case MessageType::kBundleEnd: break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view buffer = mnr::fuzz::Bytes(data, size);
  if (size >= mnr::kFrameHeaderBytes) {
    std::array<unsigned char, mnr::kFrameHeaderBytes> header{};
    std::memcpy(header.data(), data, header.size());
    (void)mnr::DecodeFrameHeader(header, mnr::limits::kFrameBytes);
  }
  for (int i = 0; i < 64; ++i) {
    auto frame = mnr::TakeFrame(buffer, mnr::limits::kFrameBytes);
    if (!frame.ok()) break;
    DecodeAs(*frame);
  }
  return 0;
}
