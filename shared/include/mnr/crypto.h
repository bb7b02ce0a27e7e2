// Cryptographic primitives, all through OpenSSL 3. Keys are Ed25519 (signatures, TLS certificates)
// and X25519 (sealing change-sets to the server). Every function is thread-safe and returns an error
// value naming the OpenSSL failure rather than throwing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/status.h"

namespace mnr::crypto {

std::string Sha256(std::string_view data);     // 32 raw bytes
std::string Sha256Hex(std::string_view data);  // 64 lowercase hex digits
std::string HexEncode(std::string_view bytes);
// SHA-256 of data given in pieces (a file read chunk by chunk), without holding it whole.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(std::string_view data);
  std::string FinishHex();  // 64 lowercase hex digits; call once

 private:
  void* ctx_;  // EVP_MD_CTX
};
std::string RandomBytes(std::size_t n);        // from the OS CSPRNG
std::string Base64Encode(std::string_view bytes);
Result<std::string> Base64Decode(std::string_view text);

// An Ed25519 key pair, both halves PEM (PKCS#8 private, SubjectPublicKeyInfo public).
struct SigningKey {
  std::string private_pem;
  std::string public_pem;
};
Result<SigningKey> GenerateSigningKey();
Result<std::string> Sign(std::string_view private_pem, std::string_view data);  // 64-byte signature
// OK only if `signature` is a valid Ed25519 signature of `data` by the key in `certificate_pem`.
Status VerifyWithCertificate(std::string_view certificate_pem, std::string_view data,
                             std::string_view signature);

// X25519 key pair for sealing, raw 32-byte halves.
struct SealingKey {
  std::string private_key;
  std::string public_key;
};
Result<SealingKey> GenerateSealingKey();
// Seals `plaintext` so that only the holder of the private half of `recipient_public` can read it and
// any change is detected: ephemeral X25519, HKDF-SHA256, AES-256-GCM. Layout (do not change):
// "MNRSEAL1" | ephemeral public key (32) | nonce (12) | ciphertext | tag (16).
Result<std::string> Seal(std::string_view plaintext, std::string_view recipient_public);
Result<std::string> Unseal(std::string_view sealed, std::string_view recipient_private);
// The X25519 key that return bundles (docs/protocol.md, "Return bundles") are sealed to for one
// credential, derived from the credential's Ed25519 private key (PKCS#8 PEM), so the credential file
// needs nothing new and the server can store the public half when it issues the credential:
// private = HKDF-SHA256(ikm = the raw 32-byte Ed25519 seed, salt = none, info = "mnr-sync return key
// v1"), 32 bytes used as an X25519 private key; public = its X25519 public key. Deterministic; a
// different Ed25519 key gives an unrelated key. InvalidArgument if the PEM is not an Ed25519 key.
Result<SealingKey> DeriveReturnKey(std::string_view ed25519_private_pem);

// zstd. Decompress refuses output larger than `max_bytes` (a decompression bomb is bad input).
std::string Compress(std::string_view data);
Result<std::string> Decompress(std::string_view data, std::size_t max_bytes);

// X.509, Ed25519 throughout.
struct CertificateRequest {
  std::string common_name;
  std::vector<std::string> dns_names;     // subjectAltName DNS
  std::vector<std::string> ip_addresses;  // subjectAltName IP
  std::int64_t not_before = 0;            // Unix seconds
  std::int64_t not_after = 0;
  bool server = false;                    // extendedKeyUsage serverAuth
  bool client = false;                    // extendedKeyUsage clientAuth
};
// A self-signed CA certificate for `key`.
Result<std::string> CreateCaCertificate(const SigningKey& key, std::string_view common_name,
                                        std::int64_t not_before, std::int64_t not_after);
// A certificate for `subject_public_pem`, signed by the CA.
Result<std::string> IssueCertificate(std::string_view ca_certificate_pem, std::string_view ca_private_pem,
                                     std::string_view subject_public_pem, const CertificateRequest& req);

struct CertificateInfo {
  std::string common_name;
  std::string fingerprint;  // SHA-256 of the DER encoding, hex
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
};
Result<CertificateInfo> InspectCertificate(std::string_view certificate_pem);
// OK if `certificate_pem` was signed by `ca_certificate_pem` and is valid at `now`.
Status VerifyCertificate(std::string_view certificate_pem, std::string_view ca_certificate_pem, std::int64_t now);

}  // namespace mnr::crypto
