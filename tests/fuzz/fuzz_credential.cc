// libFuzzer target: the credential loader (credential.cc CredentialFromJson), what `mnr-client init
// --credentials FILE` reads from a file it was handed.
#include "mnr/credential.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto c = mnr::CredentialFromJson(mnr::fuzz::Bytes(data, size), "fuzz");
  // A loaded credential writes back to a file that loads to the same credential.
  if (c.ok()) {
    auto again = mnr::CredentialFromJson(mnr::CredentialToJson(*c), "fuzz");
    if (!again.ok() || again->id != c->id || again->certificate_pem != c->certificate_pem ||
        again->private_key_pem != c->private_key_pem || again->countries != c->countries || again->expires_at != c->expires_at) {
      __builtin_trap();
    }
  }
  return 0;
}
