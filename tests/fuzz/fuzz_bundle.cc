// libFuzzer target: the bundle reader (envelope.cc DecodeBundle), what `mnr-server import-bundle`
// runs on a file from a USB stick.
#include "mnr/envelope.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto sealed = mnr::DecodeBundle(mnr::fuzz::Bytes(data, size));
  // What a bundle holds must encode back to the same bundle.
  if (sealed.ok() && mnr::EncodeBundle(sealed->changesets, sealed->blob_chunks) != mnr::fuzz::Bytes(data, size)) __builtin_trap();
  return 0;
}
