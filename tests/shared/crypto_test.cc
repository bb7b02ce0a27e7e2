#include "mnr/crypto.h"

#include <catch2/catch.hpp>

#include <zstd.h>

#include <string>

#include "tests/support/instants.h"

namespace crypto = mnr::crypto;

namespace {

using mnr::test::kJan2025;
constexpr std::int64_t kYear = 365 * 24 * 3600;

struct Pki {
  crypto::SigningKey ca_key;
  std::string ca_cert;
  crypto::SigningKey leaf_key;
  std::string leaf_cert;
};

Pki MakePki(std::string_view ca_name = "mnr test CA") {
  Pki p;
  auto ca_key = crypto::GenerateSigningKey();
  REQUIRE(ca_key.ok());
  p.ca_key = *ca_key;
  auto ca = crypto::CreateCaCertificate(p.ca_key, ca_name, kJan2025, kJan2025 + 10 * kYear);
  REQUIRE(ca.ok());
  p.ca_cert = *ca;
  auto leaf_key = crypto::GenerateSigningKey();
  REQUIRE(leaf_key.ok());
  p.leaf_key = *leaf_key;
  crypto::CertificateRequest req;
  req.common_name = "cred-0123abcd";
  req.dns_names = {"localhost"};
  req.ip_addresses = {"127.0.0.1", "::1"};
  req.not_before = kJan2025;
  req.not_after = kJan2025 + kYear;
  req.server = true;
  req.client = true;
  auto leaf = crypto::IssueCertificate(p.ca_cert, p.ca_key.private_pem, p.leaf_key.public_pem, req);
  REQUIRE(leaf.ok());
  p.leaf_cert = *leaf;
  return p;
}

}  // namespace

TEST_CASE("sha256 and hex match the known test vector", "[crypto]") {
  CHECK(crypto::Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(crypto::Sha256("").size() == 32);
  CHECK(crypto::HexEncode(std::string("\x00\xff\x10", 3)) == "00ff10");
  CHECK(crypto::RandomBytes(24).size() == 24);
  CHECK(crypto::RandomBytes(16) != crypto::RandomBytes(16));
}

TEST_CASE("base64 round trips and rejects malformed text", "[crypto]") {
  CHECK(crypto::Base64Encode("") == "");
  CHECK(crypto::Base64Encode("f") == "Zg==");
  CHECK(crypto::Base64Encode("fo") == "Zm8=");
  CHECK(crypto::Base64Encode("foo") == "Zm9v");
  CHECK(crypto::Base64Encode("foobar") == "Zm9vYmFy");
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (std::size_t n = 0; n < 8; ++n) {
    auto back = crypto::Base64Decode(crypto::Base64Encode(bytes.substr(n)));
    REQUIRE(back.ok());
    CHECK(*back == bytes.substr(n));
  }
  CHECK(crypto::Base64Encode(bytes).find('\n') == std::string::npos);
  CHECK_FALSE(crypto::Base64Decode("Zm9").ok());
  CHECK_FALSE(crypto::Base64Decode("Zm9v\n").ok());
  CHECK_FALSE(crypto::Base64Decode("Zm*v").ok());
  CHECK_FALSE(crypto::Base64Decode("Zh==").ok());  // stray bits under the padding
  CHECK_FALSE(crypto::Base64Decode("=m9v").ok());
}

TEST_CASE("a signature verifies with the signer's certificate and no other", "[crypto]") {
  Pki p = MakePki();
  auto sig = crypto::Sign(p.leaf_key.private_pem, "change-set body");
  REQUIRE(sig.ok());
  CHECK(sig->size() == 64);
  CHECK(crypto::VerifyWithCertificate(p.leaf_cert, "change-set body", *sig).ok());

  auto tampered = crypto::VerifyWithCertificate(p.leaf_cert, "change-set bodY", *sig);
  CHECK(tampered.code() == mnr::Status::Code::kCorruption);
  std::string bad_sig = *sig;
  bad_sig[10] ^= 1;
  CHECK_FALSE(crypto::VerifyWithCertificate(p.leaf_cert, "change-set body", bad_sig).ok());
  CHECK_FALSE(crypto::VerifyWithCertificate(p.leaf_cert, "change-set body", sig->substr(0, 63)).ok());

  Pki other = MakePki();
  auto wrong = crypto::VerifyWithCertificate(other.leaf_cert, "change-set body", *sig);
  CHECK(wrong.code() == mnr::Status::Code::kCorruption);

  auto garbage = crypto::Sign("not a key", "x");
  REQUIRE_FALSE(garbage.ok());
  CHECK(garbage.status().message().find("private key") != std::string::npos);
}

TEST_CASE("seal and unseal round trip, any change or the wrong key is detected", "[crypto]") {
  auto server = crypto::GenerateSealingKey();
  REQUIRE(server.ok());
  CHECK(server->public_key.size() == 32);
  CHECK(server->private_key.size() == 32);
  const std::string plaintext = "answers for Q01: " + std::string(300, 'x');

  auto sealed = crypto::Seal(plaintext, server->public_key);
  REQUIRE(sealed.ok());
  CHECK(sealed->size() == 8 + 32 + 12 + plaintext.size() + 16);
  CHECK(sealed->substr(0, 8) == "MNRSEAL1");
  CHECK(sealed->find("answers") == std::string::npos);
  auto opened = crypto::Unseal(*sealed, server->private_key);
  REQUIRE(opened.ok());
  CHECK(*opened == plaintext);

  // Two seals of the same text differ (fresh ephemeral key and nonce).
  auto again = crypto::Seal(plaintext, server->public_key);
  REQUIRE(again.ok());
  CHECK(*again != *sealed);

  SECTION("a flipped bit anywhere is detected") {
    for (std::size_t i = 0; i < sealed->size(); ++i) {
      std::string bad = *sealed;
      bad[i] ^= static_cast<char>(1 << (i % 8));
      auto r = crypto::Unseal(bad, server->private_key);
      INFO("byte " << i);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == mnr::Status::Code::kCorruption);
    }
  }
  SECTION("truncation and extension are detected") {
    CHECK_FALSE(crypto::Unseal(sealed->substr(0, sealed->size() - 1), server->private_key).ok());
    CHECK_FALSE(crypto::Unseal(sealed->substr(0, 20), server->private_key).ok());
    CHECK_FALSE(crypto::Unseal(*sealed + "x", server->private_key).ok());
    CHECK_FALSE(crypto::Unseal("", server->private_key).ok());
  }
  SECTION("the wrong key fails") {
    auto other = crypto::GenerateSealingKey();
    REQUIRE(other.ok());
    auto r = crypto::Unseal(*sealed, other->private_key);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == mnr::Status::Code::kCorruption);
    CHECK_FALSE(crypto::Unseal(*sealed, "short").ok());
    CHECK_FALSE(crypto::Seal("x", "short").ok());
  }
  SECTION("empty plaintext") {
    auto e = crypto::Seal("", server->public_key);
    REQUIRE(e.ok());
    auto back = crypto::Unseal(*e, server->private_key);
    REQUIRE(back.ok());
    CHECK(back->empty());
  }
}

TEST_CASE("zstd round trips and refuses output beyond the limit", "[crypto]") {
  std::string data;
  for (int i = 0; i < 5000; ++i) data += "indicator " + std::to_string(i % 37) + " yes;";
  std::string z = crypto::Compress(data);
  CHECK(z.size() < data.size() / 4);
  auto back = crypto::Decompress(z, data.size());
  REQUIRE(back.ok());
  CHECK(*back == data);
  CHECK(crypto::Decompress(crypto::Compress(""), 0).ok());

  SECTION("one byte over the limit is refused") {
    auto r = crypto::Decompress(z, data.size() - 1);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("limit") != std::string::npos);
  }
  SECTION("a bomb is refused, with and without a declared size") {
    std::string zeros(64 * 1024 * 1024, '\0');
    std::string bomb = crypto::Compress(zeros);
    CHECK(bomb.size() < 64 * 1024);
    auto r = crypto::Decompress(bomb, 1024 * 1024);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == mnr::Status::Code::kInvalidArgument);

    // A streamed frame does not declare its size: the bound must hold while decoding.
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    REQUIRE(cctx != nullptr);
    std::string streamed(ZSTD_compressBound(zeros.size()), '\0');
    ZSTD_outBuffer out{streamed.data(), streamed.size(), 0};
    ZSTD_inBuffer in{zeros.data(), zeros.size(), 0};
    REQUIRE_FALSE(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
    REQUIRE_FALSE(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 18)));
    std::size_t rc = ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_end);
    ZSTD_freeCCtx(cctx);
    REQUIRE(rc == 0);
    streamed.resize(out.pos);
    REQUIRE(ZSTD_getFrameContentSize(streamed.data(), streamed.size()) == ZSTD_CONTENTSIZE_UNKNOWN);
    auto s = crypto::Decompress(streamed, 1024 * 1024);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == mnr::Status::Code::kInvalidArgument);
    auto fits = crypto::Decompress(streamed, zeros.size());
    REQUIRE(fits.ok());
    CHECK(fits->size() == zeros.size());
  }
  SECTION("damaged and truncated data is refused") {
    CHECK_FALSE(crypto::Decompress("not zstd at all", 1 << 20).ok());
    CHECK_FALSE(crypto::Decompress("", 1 << 20).ok());
    auto t = crypto::Decompress(z.substr(0, z.size() - 3), 1 << 20);
    REQUIRE_FALSE(t.ok());
    CHECK(t.status().code() == mnr::Status::Code::kCorruption);
  }
}

TEST_CASE("a certificate chain verifies against its CA only, and only while valid", "[crypto]") {
  Pki p = MakePki();
  const std::int64_t inside = kJan2025 + 100 * 24 * 3600;
  CHECK(crypto::VerifyCertificate(p.leaf_cert, p.ca_cert, inside).ok());
  CHECK(crypto::VerifyCertificate(p.ca_cert, p.ca_cert, inside).ok());

  Pki other = MakePki("another CA");
  auto foreign = crypto::VerifyCertificate(p.leaf_cert, other.ca_cert, inside);
  REQUIRE_FALSE(foreign.ok());
  CHECK(foreign.code() == mnr::Status::Code::kRefused);

  auto expired = crypto::VerifyCertificate(p.leaf_cert, p.ca_cert, kJan2025 + kYear + 1);
  REQUIRE_FALSE(expired.ok());
  CHECK(expired.message().find("expired") != std::string::npos);
  auto early = crypto::VerifyCertificate(p.leaf_cert, p.ca_cert, kJan2025 - 10);
  REQUIRE_FALSE(early.ok());
  CHECK(early.message().find("not yet valid") != std::string::npos);

  CHECK_FALSE(crypto::VerifyCertificate("garbage", p.ca_cert, inside).ok());
}

TEST_CASE("certificates carry the requested name, validity and extensions", "[crypto]") {
  Pki p = MakePki();
  auto info = crypto::InspectCertificate(p.leaf_cert);
  REQUIRE(info.ok());
  CHECK(info->common_name == "cred-0123abcd");
  CHECK(info->not_before == kJan2025);
  CHECK(info->not_after == kJan2025 + kYear);
  CHECK(info->fingerprint.size() == 64);
  CHECK(info->fingerprint.find_first_not_of("0123456789abcdef") == std::string::npos);

  auto ca = crypto::InspectCertificate(p.ca_cert);
  REQUIRE(ca.ok());
  CHECK(ca->common_name == "mnr test CA");
  CHECK(ca->fingerprint != info->fingerprint);

  // Fresh serials: the same request twice gives two different certificates.
  crypto::CertificateRequest req;
  req.common_name = "cred-0123abcd";
  req.not_before = kJan2025;
  req.not_after = kJan2025 + kYear;
  req.client = true;
  auto a = crypto::IssueCertificate(p.ca_cert, p.ca_key.private_pem, p.leaf_key.public_pem, req);
  auto b = crypto::IssueCertificate(p.ca_cert, p.ca_key.private_pem, p.leaf_key.public_pem, req);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(crypto::InspectCertificate(*a)->fingerprint != crypto::InspectCertificate(*b)->fingerprint);

  SECTION("bad requests are refused with a reason") {
    auto bad_ip = req;
    bad_ip.ip_addresses = {"300.1.1.1"};
    auto r = crypto::IssueCertificate(p.ca_cert, p.ca_key.private_pem, p.leaf_key.public_pem, bad_ip);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("300.1.1.1") != std::string::npos);

    auto bad_dns = req;
    bad_dns.dns_names = {"evil,DNS:x"};
    CHECK_FALSE(crypto::IssueCertificate(p.ca_cert, p.ca_key.private_pem, p.leaf_key.public_pem, bad_dns).ok());

    auto empty = req;
    empty.not_after = empty.not_before;
    CHECK_FALSE(crypto::IssueCertificate(p.ca_cert, p.ca_key.private_pem, p.leaf_key.public_pem, empty).ok());

    Pki other = MakePki();
    auto mismatch = crypto::IssueCertificate(p.ca_cert, other.ca_key.private_pem, p.leaf_key.public_pem, req);
    REQUIRE_FALSE(mismatch.ok());
    CHECK(mismatch.status().message().find("does not belong") != std::string::npos);
  }
}
