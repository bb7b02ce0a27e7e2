// libFuzzer target: the evidence-file sniffer (media_type.cc SniffMediaType), which the server runs on
// every attachment a peer uploads and which walks zip and OLE2 directories the sender wrote.
#include "mnr/media_type.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes = mnr::fuzz::Bytes(data, size);
  auto type = mnr::SniffMediaType(bytes, "");
  if (!type.ok()) {
    if (type.status().message().empty()) __builtin_trap();
    return 0;
  }
  // media_type.h's promises: a type returned is one IsAcceptedMediaType knows, and a name with the
  // type's own extension neither refuses the file nor changes its type.
  if (!mnr::IsAcceptedMediaType(type->mime)) __builtin_trap();
  auto named = mnr::SniffMediaType(bytes, "evidence." + type->extension);
  if (!named.ok() || named->mime != type->mime) __builtin_trap();
  return 0;
}
