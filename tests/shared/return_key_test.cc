// DeriveReturnKey: the X25519 key a return bundle is sealed to, derived from a credential's Ed25519
// private key (docs/protocol.md, "Return bundles").
#include <catch2/catch.hpp>

#include <string>

#include "mnr/crypto.h"

namespace crypto = mnr::crypto;

namespace {

// The Ed25519 key whose seed is the bytes 00 01 02 ... 1f.
constexpr const char* kSeedPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n"
    "-----END PRIVATE KEY-----\n";

}  // namespace

TEST_CASE("The return key is HKDF-SHA256 of the Ed25519 seed, as computed independently", "[crypto]") {
  auto k = crypto::DeriveReturnKey(kSeedPem);
  REQUIRE(k.ok());
  // Expected values computed with Python (hmac/hashlib HKDF, info "mnr-sync return key v1", no salt;
  // the `cryptography` package for the X25519 public key).
  CHECK(crypto::HexEncode(k->private_key) == "4de1970af30ead4eca8b0c12784bcfe96fee56aa959cd171dffe10c38137d047");
  CHECK(crypto::HexEncode(k->public_key) == "869c06d0fc9bb9f60a7d8951bbcd6ae2d362ad65baba5401d94d49ffc2c4d30c");
}

TEST_CASE("The return key is deterministic, differs per credential key, and opens what is sealed to it", "[crypto]") {
  auto ed = crypto::GenerateSigningKey();
  REQUIRE(ed.ok());
  auto a = crypto::DeriveReturnKey(ed->private_pem);
  auto again = crypto::DeriveReturnKey(ed->private_pem);
  REQUIRE(a.ok());
  REQUIRE(again.ok());
  CHECK(a->private_key.size() == 32);
  CHECK(a->public_key.size() == 32);
  CHECK(a->private_key == again->private_key);
  CHECK(a->public_key == again->public_key);

  auto other_ed = crypto::GenerateSigningKey();
  REQUIRE(other_ed.ok());
  auto b = crypto::DeriveReturnKey(other_ed->private_pem);
  REQUIRE(b.ok());
  CHECK(b->public_key != a->public_key);

  auto sealed = crypto::Seal("merged state for Q01", a->public_key);
  REQUIRE(sealed.ok());
  auto opened = crypto::Unseal(*sealed, a->private_key);
  REQUIRE(opened.ok());
  CHECK(*opened == "merged state for Q01");
  auto wrong = crypto::Unseal(*sealed, b->private_key);
  CHECK_FALSE(wrong.ok());
}

TEST_CASE("A return key cannot be derived from something that is not an Ed25519 private key", "[crypto]") {
  CHECK(crypto::DeriveReturnKey("").status().code() == mnr::Status::Code::kInvalidArgument);
  CHECK_FALSE(crypto::DeriveReturnKey("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").ok());
  auto ed = crypto::GenerateSigningKey();
  REQUIRE(ed.ok());
  // The public half is not enough.
  CHECK_FALSE(crypto::DeriveReturnKey(ed->public_pem).ok());
}
