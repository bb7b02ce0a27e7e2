// libFuzzer target: opening a sealed change-set (envelope.cc OpenChangeSet) and parsing its body
// (changeset.cc ParseChangeSet), as the server's intake does with every Push and bundle. The first
// byte picks the layer the rest of the input reaches:
//   0  the sealed envelope itself (header, key agreement, AES-GCM tag);
//   1  the decompressed plaintext cereal{body, signature}, sealed here to the fuzzing key;
//   2  the compressed plaintext (zstd), sealed here;
//   3  the canonical change-set bytes, parsed directly.
#include "mnr/changeset.h"
#include "mnr/envelope.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto& key = mnr::fuzz::SealingKey();
  const std::string_view rest = mnr::fuzz::Bytes(data + 1, size - 1);
  switch (data[0] % 4) {
    case 0: (void)mnr::OpenChangeSet(rest, key.private_key); break;
    case 1: {
      auto sealed = mnr::crypto::Seal(mnr::crypto::Compress(rest), key.public_key);
      if (sealed.ok()) (void)mnr::OpenChangeSet(*sealed, key.private_key);
      break;
    }
    case 2: {
      auto sealed = mnr::crypto::Seal(rest, key.public_key);
      if (sealed.ok()) (void)mnr::OpenChangeSet(*sealed, key.private_key);
      break;
    }
    case 3: {
      auto cs = mnr::ParseChangeSet(rest);
      // What parses must serialize back to the same canonical bytes: the change-set id depends on it.
      if (cs.ok() && mnr::SerializeChangeSet(*cs) != rest) __builtin_trap();
      break;
    }
  }
  return 0;
}
