// Shared by the libFuzzer targets and the seed maker: a fixed, public sealing key pair, so that seeds
// sealed by make_corpus open in the change-set target. Not a secret: it exists only for fuzzing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mnr/crypto.h"

namespace mnr::fuzz {

inline constexpr std::string_view kSealingSeedPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIOd0yDcP2rnu4EVzlrlv6XJxI22hHYQOUOuoJa3AvmWz\n"
    "-----END PRIVATE KEY-----\n";

// The X25519 pair derived from kSealingSeedPem (crypto::DeriveReturnKey: deterministic).
inline const crypto::SealingKey& SealingKey() {
  static const crypto::SealingKey key = crypto::DeriveReturnKey(kSealingSeedPem).value();
  return key;
}

inline std::string_view Bytes(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace mnr::fuzz
