#include "mnr/crypto.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>

namespace mnr::crypto {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
template <typename T, void (*F)(T*)>
using Ptr = std::unique_ptr<T, Deleter<T, F>>;

void FreeBio(BIO* b) { BIO_free_all(b); }
void FreeGeneralNames(GENERAL_NAMES* g) { GENERAL_NAMES_free(g); }
void FreeExtension(X509_EXTENSION* e) { X509_EXTENSION_free(e); }
void FreeAsn1Integer(ASN1_INTEGER* i) { ASN1_INTEGER_free(i); }

using PkeyPtr = Ptr<EVP_PKEY, EVP_PKEY_free>;
using PkeyCtxPtr = Ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using MdCtxPtr = Ptr<EVP_MD_CTX, EVP_MD_CTX_free>;
using CipherCtxPtr = Ptr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using KdfPtr = Ptr<EVP_KDF, EVP_KDF_free>;
using KdfCtxPtr = Ptr<EVP_KDF_CTX, EVP_KDF_CTX_free>;
using BioPtr = Ptr<BIO, FreeBio>;
using X509Ptr = Ptr<X509, X509_free>;
using StorePtr = Ptr<X509_STORE, X509_STORE_free>;
using StoreCtxPtr = Ptr<X509_STORE_CTX, X509_STORE_CTX_free>;
using BnPtr = Ptr<BIGNUM, BN_free>;
using Asn1IntegerPtr = Ptr<ASN1_INTEGER, FreeAsn1Integer>;
using GeneralNamesPtr = Ptr<GENERAL_NAMES, FreeGeneralNames>;
using ExtensionPtr = Ptr<X509_EXTENSION, FreeExtension>;
using DctxPtr = std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)>;

constexpr std::string_view kSealMagic = "MNRSEAL1";
constexpr std::size_t kX25519Bytes = 32;
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kSealHeaderBytes = kSealMagic.size() + kX25519Bytes + kNonceBytes;
constexpr std::size_t kEd25519SignatureBytes = 64;

// Drains this thread's OpenSSL error queue into one line, so the Status says what OpenSSL saw.
std::string SslErrors() {
  std::string out;
  char buf[256];
  while (unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no detail from OpenSSL" : out;
}

std::string Describe(std::string_view what) { return std::string(what) + " (" + SslErrors() + ")"; }

const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* Bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

BioPtr MemoryBio(std::string_view pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(std::min<std::size_t>(pem.size(), INT32_MAX))));
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

Result<PkeyPtr> ReadEd25519PrivateKey(std::string_view pem) {
  BioPtr bio = MemoryBio(pem);
  if (!bio) return Status::IOError(Describe("cannot allocate a memory BIO"));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Status::InvalidArgument(Describe("the private key is not a readable PEM private key"));
  if (!EVP_PKEY_is_a(key.get(), "ED25519")) {
    return Status::InvalidArgument("the private key is not an Ed25519 key");
  }
  return key;
}

Result<PkeyPtr> ReadEd25519PublicKey(std::string_view pem) {
  BioPtr bio = MemoryBio(pem);
  if (!bio) return Status::IOError(Describe("cannot allocate a memory BIO"));
  PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Status::InvalidArgument(Describe("the public key is not a readable PEM public key"));
  if (!EVP_PKEY_is_a(key.get(), "ED25519")) return Status::InvalidArgument("the public key is not an Ed25519 key");
  return key;
}

Result<X509Ptr> ReadCertificate(std::string_view pem, std::string_view which) {
  BioPtr bio = MemoryBio(pem);
  if (!bio) return Status::IOError(Describe("cannot allocate a memory BIO"));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return Status::InvalidArgument(Describe(std::string(which) + " is not a readable PEM certificate"));
  return cert;
}

Result<std::string> CertificatePem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return Status::IOError(Describe("cannot encode the certificate"));
  return BioText(bio.get());
}

Result<PkeyPtr> GenerateKey(const char* type) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, type));
  if (!key) return Status::IOError(Describe(std::string("cannot generate an ") + type + " key"));
  return key;
}

Result<std::string> RawKey(EVP_PKEY* key, bool private_half) {
  std::string out(kX25519Bytes, '\0');
  std::size_t len = out.size();
  int rc = private_half ? EVP_PKEY_get_raw_private_key(key, Bytes(out), &len)
                        : EVP_PKEY_get_raw_public_key(key, Bytes(out), &len);
  if (rc != 1 || len != kX25519Bytes) return Status::IOError(Describe("cannot export a raw X25519 key"));
  return out;
}

// HKDF-SHA256 (RFC 5869) of `ikm` to `length` bytes; an empty salt is HKDF's default (zeros).
Result<std::string> HkdfSha256(std::string_view ikm, std::string_view salt, std::string_view info, std::size_t length) {
  KdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return Status::IOError(Describe("HKDF is not available"));
  KdfCtxPtr kctx(EVP_KDF_CTX_new(kdf.get()));
  if (!kctx) return Status::IOError(Describe("cannot create an HKDF context"));
  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  std::size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(ikm.data()), ikm.size());
  if (!salt.empty()) params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()), salt.size());
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size());
  params[n] = OSSL_PARAM_construct_end();
  std::string out(length, '\0');
  if (EVP_KDF_derive(kctx.get(), Bytes(out), out.size(), params) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return Status::IOError(Describe("HKDF-SHA256 failed"));
  }
  return out;
}

// X25519 agreement then HKDF-SHA256. The salt binds both public keys so a key is never reused across
// recipients even if an ephemeral key were.
Result<std::string> DeriveSealKey(EVP_PKEY* own, EVP_PKEY* peer, std::string_view ephemeral_public,
                                  std::string_view recipient_public) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer) != 1) {
    return Status::InvalidArgument(Describe("X25519 key agreement failed"));
  }
  std::string shared(kX25519Bytes, '\0');
  std::size_t len = shared.size();
  if (EVP_PKEY_derive(ctx.get(), Bytes(shared), &len) != 1 || len != kX25519Bytes) {
    return Status::InvalidArgument(Describe("X25519 key agreement failed (a degenerate public key?)"));
  }

  std::string salt = std::string(ephemeral_public) + std::string(recipient_public);
  auto key = HkdfSha256(shared, salt, "mnr-sync seal v1 aes-256-gcm", 32);
  OPENSSL_cleanse(shared.data(), shared.size());
  return key;
}

Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return Status::IOError(Describe(std::string("cannot add the certificate extension ") + OBJ_nid2sn(nid)));
  }
  return Status::OK();
}

Status SetCommonName(X509* cert, std::string_view common_name) {
  if (common_name.empty()) return Status::InvalidArgument("the certificate common name is empty");
  if (common_name.size() > 64) return Status::InvalidArgument("the certificate common name is longer than 64 bytes");
  X509_NAME* name = X509_get_subject_name(cert);
  if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8, Bytes(common_name),
                                 static_cast<int>(common_name.size()), -1, 0) != 1) {
    return Status::InvalidArgument(Describe("the certificate common name is not valid UTF-8"));
  }
  return Status::OK();
}

// Common to CA and leaf: v3, a random 128-bit serial (unpredictable, so no two issuers collide; DER
// needs at most 17 octets, within RFC 5280's 20), validity, subject key.
Status FillBasics(X509* cert, EVP_PKEY* subject_key, std::int64_t not_before, std::int64_t not_after) {
  if (not_after <= not_before) {
    return Status::InvalidArgument("the certificate validity is empty: not_after must be later than not_before");
  }
  if (X509_set_version(cert, X509_VERSION_3) != 1) return Status::IOError(Describe("cannot set the version"));
  std::string serial = RandomBytes(16);
  BnPtr bn(BN_bin2bn(Bytes(serial), static_cast<int>(serial.size()), nullptr));
  Asn1IntegerPtr asn(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  if (!asn || X509_set_serialNumber(cert, asn.get()) != 1) return Status::IOError(Describe("cannot set the serial"));
  if (!ASN1_TIME_set(X509_getm_notBefore(cert), static_cast<time_t>(not_before)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert), static_cast<time_t>(not_after))) {
    return Status::InvalidArgument(Describe("the certificate validity cannot be encoded"));
  }
  if (X509_set_pubkey(cert, subject_key) != 1) return Status::IOError(Describe("cannot set the public key"));
  return Status::OK();
}

Status SignCertificate(X509* cert, EVP_PKEY* key) {
  // Ed25519 hashes internally: no separate digest.
  if (X509_sign(cert, key, nullptr) <= 0) return Status::IOError(Describe("cannot sign the certificate"));
  return Status::OK();
}

bool ValidDnsName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '.' || c == '*' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Status AddSubjectAltNames(X509* cert, const CertificateRequest& req) {
  if (req.dns_names.empty() && req.ip_addresses.empty()) return Status::OK();
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (!names) return Status::IOError(Describe("cannot allocate subjectAltName"));
  for (const std::string& dns : req.dns_names) {
    if (!ValidDnsName(dns)) return Status::InvalidArgument("\"" + dns + "\" is not a valid DNS name for subjectAltName");
    GENERAL_NAME* gen = GENERAL_NAME_new();
    ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
    if (!gen || !ia5 || ASN1_STRING_set(ia5, dns.data(), static_cast<int>(dns.size())) != 1) {
      GENERAL_NAME_free(gen);
      ASN1_IA5STRING_free(ia5);
      return Status::IOError(Describe("cannot encode a DNS name"));
    }
    GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
    if (sk_GENERAL_NAME_push(names.get(), gen) == 0) {
      GENERAL_NAME_free(gen);
      return Status::IOError(Describe("cannot encode a DNS name"));
    }
  }
  for (const std::string& ip : req.ip_addresses) {
    ASN1_OCTET_STRING* octets = a2i_IPADDRESS(ip.c_str());
    if (!octets || ip.find('\0') != std::string::npos) {
      ASN1_OCTET_STRING_free(octets);
      ERR_clear_error();
      return Status::InvalidArgument("\"" + ip + "\" is not a valid IPv4 or IPv6 address for subjectAltName");
    }
    GENERAL_NAME* gen = GENERAL_NAME_new();
    if (!gen) {
      ASN1_OCTET_STRING_free(octets);
      return Status::IOError(Describe("cannot encode an IP address"));
    }
    GENERAL_NAME_set0_value(gen, GEN_IPADD, octets);
    if (sk_GENERAL_NAME_push(names.get(), gen) == 0) {
      GENERAL_NAME_free(gen);
      return Status::IOError(Describe("cannot encode an IP address"));
    }
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return Status::IOError(Describe("cannot add subjectAltName"));
  }
  return Status::OK();
}

Result<std::int64_t> TimeToUnix(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return Status::Corruption(Describe("unreadable validity time"));
  return static_cast<std::int64_t>(timegm(&tm));
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string Sha256(std::string_view data) {
  std::string out(32, '\0');
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), Bytes(out), &len, EVP_sha256(), nullptr) != 1 || len != 32) {
    // Only fails if the default provider is missing, in which case nothing in this program can work.
    std::fprintf(stderr, "fatal: SHA-256 unavailable: %s\n", SslErrors().c_str());
    std::abort();
  }
  return out;
}

std::string Sha256Hex(std::string_view data) { return HexEncode(Sha256(data)); }

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr) != 1) std::abort();
}
Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Sha256Stream::Update(std::string_view data) {
  if (EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size()) != 1) std::abort();
}
std::string Sha256Stream::FinishHex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &n) != 1) std::abort();
  return HexEncode(std::string_view(reinterpret_cast<const char*>(md), n));
}

std::string HexEncode(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

std::string RandomBytes(std::size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(Bytes(out), static_cast<int>(n)) != 1) {
    // Continuing without randomness would mint predictable keys and nonces.
    std::fprintf(stderr, "fatal: the OS random generator failed: %s\n", SslErrors().c_str());
    std::abort();
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = (static_cast<std::uint8_t>(bytes[i]) << 16) | (static_cast<std::uint8_t>(bytes[i + 1]) << 8) |
                      static_cast<std::uint8_t>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = static_cast<std::uint8_t>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<std::uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Strict: standard alphabet, padded, no whitespace. A credential with a mangled key should fail here
// with a clear message rather than later as a bad key.
Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return Status::InvalidArgument("base64 text has length " + std::to_string(text.size()) +
                                   ", not a multiple of 4");
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int pad = 0;
    if (last && text[i + 3] == '=') pad = text[i + 2] == '=' ? 2 : 1;
    std::uint32_t v = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      int d = 0;
      if (j >= 4 - static_cast<std::size_t>(pad)) {
        d = 0;
      } else {
        d = Base64Value(text[i + j]);
        if (d < 0) return Status::InvalidArgument("base64 text has an invalid character at offset " + std::to_string(i + j));
      }
      v = (v << 6) | static_cast<std::uint32_t>(d);
    }
    out += static_cast<char>((v >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((v >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(v & 0xff);
    // Non-canonical encodings (stray bits under the padding) would let two texts mean one key.
    if ((pad == 1 && (v & 0xff) != 0) || (pad == 2 && (v & 0xffff) != 0)) {
      return Status::InvalidArgument("base64 text has non-zero bits in its padding");
    }
  }
  return out;
}

Result<SigningKey> GenerateSigningKey() {
  ERR_clear_error();
  auto key = GenerateKey("ED25519");
  if (!key.ok()) return key.status();
  BioPtr priv(BIO_new(BIO_s_mem()));
  BioPtr pub(BIO_new(BIO_s_mem()));
  if (!priv || !pub ||
      PEM_write_bio_PrivateKey(priv.get(), key->get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_PUBKEY(pub.get(), key->get()) != 1) {
    return Status::IOError(Describe("cannot encode the Ed25519 key as PEM"));
  }
  return SigningKey{BioText(priv.get()), BioText(pub.get())};
}

Result<std::string> Sign(std::string_view private_pem, std::string_view data) {
  ERR_clear_error();
  auto key = ReadEd25519PrivateKey(private_pem);
  if (!key.ok()) return key.status().With("cannot sign");
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::string sig(kEd25519SignatureBytes, '\0');
  std::size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key->get()) != 1 ||
      EVP_DigestSign(ctx.get(), Bytes(sig), &len, Bytes(data), data.size()) != 1 || len != kEd25519SignatureBytes) {
    return Status::IOError(Describe("Ed25519 signing failed"));
  }
  return sig;
}

Status VerifyWithCertificate(std::string_view certificate_pem, std::string_view data, std::string_view signature) {
  ERR_clear_error();
  auto cert = ReadCertificate(certificate_pem, "the signer's certificate");
  if (!cert.ok()) return cert.status();
  EVP_PKEY* key = X509_get0_pubkey(cert->get());
  if (key == nullptr) return Status::InvalidArgument(Describe("the signer's certificate has no usable public key"));
  if (!EVP_PKEY_is_a(key, "ED25519")) return Status::InvalidArgument("the signer's certificate is not an Ed25519 certificate");
  if (signature.size() != kEd25519SignatureBytes) {
    return Status::Corruption("the signature is " + std::to_string(signature.size()) + " bytes, not 64");
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1) {
    return Status::IOError(Describe("cannot start Ed25519 verification"));
  }
  int rc = EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(data), data.size());
  if (rc != 1) {
    ERR_clear_error();
    return Status::Corruption("the signature does not verify against the certificate's key (tampered data or the wrong signer)");
  }
  return Status::OK();
}

Result<SealingKey> GenerateSealingKey() {
  ERR_clear_error();
  auto key = GenerateKey("X25519");
  if (!key.ok()) return key.status();
  auto priv = RawKey(key->get(), true);
  if (!priv.ok()) return priv.status();
  auto pub = RawKey(key->get(), false);
  if (!pub.ok()) return pub.status();
  return SealingKey{std::move(priv).value(), std::move(pub).value()};
}

Result<std::string> Seal(std::string_view plaintext, std::string_view recipient_public) {
  ERR_clear_error();
  if (recipient_public.size() != kX25519Bytes) {
    return Status::InvalidArgument("the recipient's sealing key is " + std::to_string(recipient_public.size()) +
                                   " bytes, not 32");
  }
  if (plaintext.size() > static_cast<std::size_t>(INT32_MAX) - 1024) {
    return Status::InvalidArgument("the data to seal is too large");
  }
  PkeyPtr peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, Bytes(recipient_public), kX25519Bytes));
  if (!peer) return Status::InvalidArgument(Describe("the recipient's sealing key is not a valid X25519 key"));
  auto eph = GenerateKey("X25519");
  if (!eph.ok()) return eph.status();
  auto eph_public = RawKey(eph->get(), false);
  if (!eph_public.ok()) return eph_public.status();
  auto key = DeriveSealKey(eph->get(), peer.get(), *eph_public, recipient_public);
  if (!key.ok()) return key.status().With("cannot seal");

  std::string out;
  out.reserve(kSealHeaderBytes + plaintext.size() + kTagBytes);
  out += kSealMagic;
  out += *eph_public;
  out += RandomBytes(kNonceBytes);
  std::size_t header = out.size();
  out.resize(header + plaintext.size() + kTagBytes);

  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  int final_len = 0;
  // The header is authenticated too, so no byte of the blob can change unnoticed.
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(*key), Bytes(out) + header - kNonceBytes) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(out), static_cast<int>(header)) == 1 &&
            EVP_EncryptUpdate(ctx.get(), Bytes(out) + header, &len, Bytes(plaintext),
                              static_cast<int>(plaintext.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), Bytes(out) + header + len, &final_len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, Bytes(out) + header + plaintext.size()) == 1;
  OPENSSL_cleanse(key->data(), key->size());
  if (!ok) return Status::IOError(Describe("AES-256-GCM encryption failed"));
  return out;
}

Result<std::string> Unseal(std::string_view sealed, std::string_view recipient_private) {
  ERR_clear_error();
  if (recipient_private.size() != kX25519Bytes) {
    return Status::InvalidArgument("the sealing private key is " + std::to_string(recipient_private.size()) +
                                   " bytes, not 32");
  }
  if (sealed.size() < kSealHeaderBytes + kTagBytes) {
    return Status::Corruption("sealed data is " + std::to_string(sealed.size()) + " bytes, shorter than the " +
                              std::to_string(kSealHeaderBytes + kTagBytes) + "-byte minimum (truncated?)");
  }
  if (sealed.substr(0, kSealMagic.size()) != kSealMagic) {
    return Status::Corruption("sealed data does not start with \"MNRSEAL1\" (not a sealed change-set, or damaged)");
  }
  if (sealed.size() - kSealHeaderBytes - kTagBytes > static_cast<std::size_t>(INT32_MAX)) {
    return Status::InvalidArgument("sealed data is too large");
  }
  std::string_view eph_public = sealed.substr(kSealMagic.size(), kX25519Bytes);
  std::string_view nonce = sealed.substr(kSealMagic.size() + kX25519Bytes, kNonceBytes);
  std::string_view ciphertext = sealed.substr(kSealHeaderBytes, sealed.size() - kSealHeaderBytes - kTagBytes);
  std::string tag(sealed.substr(sealed.size() - kTagBytes));

  PkeyPtr own(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, Bytes(recipient_private), kX25519Bytes));
  if (!own) return Status::InvalidArgument(Describe("the sealing private key is not a valid X25519 key"));
  auto own_public = RawKey(own.get(), false);
  if (!own_public.ok()) return own_public.status();
  PkeyPtr peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, Bytes(eph_public), kX25519Bytes));
  if (!peer) return Status::Corruption(Describe("sealed data carries an invalid ephemeral key"));
  auto key = DeriveSealKey(own.get(), peer.get(), eph_public, *own_public);
  if (!key.ok()) return Status::Corruption("sealed data does not verify: " + key.status().message());

  std::string out(ciphertext.size(), '\0');
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  int final_len = 0;
  bool setup = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
               EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
               EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(*key), Bytes(nonce)) == 1 &&
               EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(sealed), static_cast<int>(kSealHeaderBytes)) == 1 &&
               EVP_DecryptUpdate(ctx.get(), Bytes(out), &len, Bytes(ciphertext), static_cast<int>(ciphertext.size())) == 1 &&
               EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1;
  OPENSSL_cleanse(key->data(), key->size());
  if (!setup) return Status::IOError(Describe("AES-256-GCM decryption could not start"));
  if (EVP_DecryptFinal_ex(ctx.get(), Bytes(out) + len, &final_len) != 1) {
    ERR_clear_error();
    OPENSSL_cleanse(out.data(), out.size());
    return Status::Corruption("sealed data does not verify: it was changed or truncated, or sealed to another key");
  }
  return out;
}

Result<SealingKey> DeriveReturnKey(std::string_view ed25519_private_pem) {
  ERR_clear_error();
  auto ed = ReadEd25519PrivateKey(ed25519_private_pem);
  if (!ed.ok()) return ed.status().With("deriving the return key");
  std::string seed(32, '\0');
  std::size_t seed_len = seed.size();
  if (EVP_PKEY_get_raw_private_key(ed->get(), Bytes(seed), &seed_len) != 1 || seed_len != seed.size()) {
    return Status::IOError(Describe("cannot read the Ed25519 seed"));
  }
  auto derived = HkdfSha256(seed, "", "mnr-sync return key v1", kX25519Bytes);
  OPENSSL_cleanse(seed.data(), seed.size());
  if (!derived.ok()) return derived.status();
  std::string priv = std::move(derived).value();
  PkeyPtr x(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, Bytes(priv), kX25519Bytes));
  if (!x) {
    OPENSSL_cleanse(priv.data(), priv.size());
    return Status::IOError(Describe("cannot make an X25519 key from the derived bytes"));
  }
  auto pub = RawKey(x.get(), false);
  if (!pub.ok()) return pub.status();
  return SealingKey{std::move(priv), std::move(pub).value()};
}

std::string Compress(std::string_view data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  std::size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  if (ZSTD_isError(n)) {
    // Only possible on allocation failure, given a bound-sized output.
    std::fprintf(stderr, "fatal: zstd compression failed: %s\n", ZSTD_getErrorName(n));
    std::abort();
  }
  out.resize(n);
  return out;
}

// Streams into a buffer that never grows past max_bytes + 1, and caps the window zstd may allocate,
// so neither a lying header nor a bomb can make us allocate much more than the caller allowed.
Result<std::string> Decompress(std::string_view data, std::size_t max_bytes) {
  const std::size_t limit = std::min<std::size_t>(max_bytes, SIZE_MAX / 2);
  unsigned long long declared = ZSTD_getFrameContentSize(data.data(), data.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) return Status::Corruption("not zstd-compressed data (bad frame header)");
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared > limit) {
    return Status::InvalidArgument("compressed data declares " + std::to_string(declared) +
                                   " bytes, more than the limit of " + std::to_string(max_bytes));
  }
  DctxPtr dctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
  if (!dctx) return Status::IOError("cannot allocate a zstd decompression context");
  ZSTD_bounds bounds = ZSTD_dParam_getBounds(ZSTD_d_windowLogMax);
  if (ZSTD_isError(bounds.error)) return Status::IOError(std::string("zstd: ") + ZSTD_getErrorName(bounds.error));
  int window_log = bounds.lowerBound;
  while (window_log < bounds.upperBound && window_log < 62 && (std::size_t{1} << window_log) < limit) ++window_log;
  std::size_t rc = ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, window_log);
  if (ZSTD_isError(rc)) return Status::IOError(std::string("zstd: ") + ZSTD_getErrorName(rc));

  const std::string too_large =
      "compressed data expands to more than the limit of " + std::to_string(max_bytes) + " bytes";
  std::string out;
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  std::size_t produced = 0;
  while (true) {
    if (produced == out.size()) {
      if (out.size() > limit) return Status::InvalidArgument(too_large);
      std::size_t grow = std::max<std::size_t>(out.size(), ZSTD_DStreamOutSize());
      out.resize(std::min(out.size() + grow, limit + 1));
    }
    ZSTD_outBuffer outbuf{out.data(), out.size(), produced};
    std::size_t ret = ZSTD_decompressStream(dctx.get(), &outbuf, &in);
    if (ZSTD_isError(ret)) {
      if (ZSTD_getErrorCode(ret) == ZSTD_error_frameParameter_windowTooLarge) {
        return Status::InvalidArgument(too_large + " (its window is too large)");
      }
      return Status::Corruption(std::string("zstd data is damaged: ") + ZSTD_getErrorName(ret));
    }
    produced = outbuf.pos;
    if (produced > limit) return Status::InvalidArgument(too_large);
    if (ret == 0 && in.pos == in.size) break;
    // All input consumed and room left over: the decoder has nothing more to give, yet the frame is open.
    if (in.pos == in.size && produced < out.size()) {
      return Status::Corruption("zstd data is truncated (the frame does not end)");
    }
  }
  out.resize(produced);
  return out;
}

Result<std::string> CreateCaCertificate(const SigningKey& key, std::string_view common_name, std::int64_t not_before,
                                        std::int64_t not_after) {
  ERR_clear_error();
  auto pkey = ReadEd25519PrivateKey(key.private_pem);
  if (!pkey.ok()) return pkey.status().With("cannot create the CA certificate");
  X509Ptr cert(X509_new());
  if (!cert) return Status::IOError(Describe("cannot allocate a certificate"));
  MNR_RETURN_IF_ERROR(FillBasics(cert.get(), pkey->get(), not_before, not_after));
  MNR_RETURN_IF_ERROR(SetCommonName(cert.get(), common_name));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1) {
    return Status::IOError(Describe("cannot set the issuer"));
  }
  MNR_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE"));
  MNR_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  MNR_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  MNR_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_authority_key_identifier, "keyid:always"));
  MNR_RETURN_IF_ERROR(SignCertificate(cert.get(), pkey->get()));
  return CertificatePem(cert.get());
}

Result<std::string> IssueCertificate(std::string_view ca_certificate_pem, std::string_view ca_private_pem,
                                     std::string_view subject_public_pem, const CertificateRequest& req) {
  ERR_clear_error();
  auto ca = ReadCertificate(ca_certificate_pem, "the CA certificate");
  if (!ca.ok()) return ca.status();
  auto ca_key = ReadEd25519PrivateKey(ca_private_pem);
  if (!ca_key.ok()) return ca_key.status().With("the CA key");
  if (X509_check_private_key(ca->get(), ca_key->get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("the CA private key does not belong to the CA certificate");
  }
  auto subject_key = ReadEd25519PublicKey(subject_public_pem);
  if (!subject_key.ok()) return subject_key.status().With("the subject key");

  X509Ptr cert(X509_new());
  if (!cert) return Status::IOError(Describe("cannot allocate a certificate"));
  MNR_RETURN_IF_ERROR(FillBasics(cert.get(), subject_key->get(), req.not_before, req.not_after));
  MNR_RETURN_IF_ERROR(SetCommonName(cert.get(), req.common_name));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(ca->get())) != 1) {
    return Status::IOError(Describe("cannot set the issuer"));
  }
  MNR_RETURN_IF_ERROR(AddExtension(cert.get(), ca->get(), NID_basic_constraints, "critical,CA:FALSE"));
  MNR_RETURN_IF_ERROR(AddExtension(cert.get(), ca->get(), NID_key_usage, "critical,digitalSignature"));
  if (req.server || req.client) {
    const char* eku = req.server && req.client ? "serverAuth,clientAuth" : req.server ? "serverAuth" : "clientAuth";
    MNR_RETURN_IF_ERROR(AddExtension(cert.get(), ca->get(), NID_ext_key_usage, eku));
  }
  MNR_RETURN_IF_ERROR(AddSubjectAltNames(cert.get(), req));
  MNR_RETURN_IF_ERROR(AddExtension(cert.get(), ca->get(), NID_subject_key_identifier, "hash"));
  MNR_RETURN_IF_ERROR(AddExtension(cert.get(), ca->get(), NID_authority_key_identifier, "keyid:always"));
  MNR_RETURN_IF_ERROR(SignCertificate(cert.get(), ca_key->get()));
  return CertificatePem(cert.get());
}

Result<CertificateInfo> InspectCertificate(std::string_view certificate_pem) {
  ERR_clear_error();
  auto cert = ReadCertificate(certificate_pem, "the certificate");
  if (!cert.ok()) return cert.status();
  CertificateInfo info;
  X509_NAME* subject = X509_get_subject_name(cert->get());
  int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (idx >= 0) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, data);
    if (n < 0) return Status::Corruption(Describe("the certificate common name is unreadable"));
    info.common_name.assign(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
    OPENSSL_free(utf8);
  }
  int der_len = i2d_X509(cert->get(), nullptr);
  if (der_len <= 0) return Status::Corruption(Describe("the certificate cannot be DER-encoded"));
  std::string der(static_cast<std::size_t>(der_len), '\0');
  unsigned char* p = Bytes(der);
  if (i2d_X509(cert->get(), &p) != der_len) return Status::Corruption(Describe("the certificate cannot be DER-encoded"));
  info.fingerprint = Sha256Hex(der);
  auto nb = TimeToUnix(X509_get0_notBefore(cert->get()));
  if (!nb.ok()) return nb.status().With("notBefore");
  auto na = TimeToUnix(X509_get0_notAfter(cert->get()));
  if (!na.ok()) return na.status().With("notAfter");
  info.not_before = *nb;
  info.not_after = *na;
  return info;
}

Status VerifyCertificate(std::string_view certificate_pem, std::string_view ca_certificate_pem, std::int64_t now) {
  ERR_clear_error();
  auto cert = ReadCertificate(certificate_pem, "the certificate");
  if (!cert.ok()) return cert.status();
  auto ca = ReadCertificate(ca_certificate_pem, "the CA certificate");
  if (!ca.ok()) return ca.status();
  StorePtr store(X509_STORE_new());
  if (!store || X509_STORE_add_cert(store.get(), ca->get()) != 1) {
    return Status::IOError(Describe("cannot build the trust store"));
  }
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), cert->get(), nullptr) != 1) {
    return Status::IOError(Describe("cannot start certificate verification"));
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(now));
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return Status::Refused(std::string("the certificate does not verify against the CA: ") +
                           X509_verify_cert_error_string(err));
  }
  return Status::OK();
}

}  // namespace mnr::crypto
