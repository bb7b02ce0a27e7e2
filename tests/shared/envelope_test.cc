#include "mnr/envelope.h"

#include <catch2/catch.hpp>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/string.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "mnr/crypto.h"
#include "mnr/frame.h"
#include "mnr/limits.h"
#include "tests/support/instants.h"

namespace crypto = mnr::crypto;

namespace {

using mnr::test::kJan2025;

struct Device {
  crypto::SigningKey key;
  std::string cert;
};

struct World {
  crypto::SigningKey ca_key;
  std::string ca_cert;
  crypto::SealingKey server;
};

World MakeWorld() {
  World w;
  auto ca_key = crypto::GenerateSigningKey();
  REQUIRE(ca_key.ok());
  w.ca_key = *ca_key;
  auto ca = crypto::CreateCaCertificate(w.ca_key, "mnr CA", kJan2025, kJan2025 + 86400 * 3650);
  REQUIRE(ca.ok());
  w.ca_cert = *ca;
  auto sealing = crypto::GenerateSealingKey();
  REQUIRE(sealing.ok());
  w.server = *sealing;
  return w;
}

Device MakeDevice(const World& w, const std::string& credential_id) {
  Device d;
  auto key = crypto::GenerateSigningKey();
  REQUIRE(key.ok());
  d.key = *key;
  crypto::CertificateRequest req;
  req.common_name = credential_id;
  req.not_before = kJan2025;
  req.not_after = kJan2025 + 86400 * 365;
  req.client = true;
  auto cert = crypto::IssueCertificate(w.ca_cert, w.ca_key.private_pem, d.key.public_pem, req);
  REQUIRE(cert.ok());
  d.cert = *cert;
  return d;
}

mnr::ChangeSet SampleChangeSet(std::uint64_t seq) {
  mnr::ChangeSet cs;
  cs.schema_version = 1;
  cs.device_id = "dev-7f3a";
  cs.credential_id = "cred-00aa11";
  cs.seq = seq;
  cs.created = mnr::HybridClock::Make(1735689600000, 3);
  mnr::Operation op;
  op.field = "answer/Q01/1.1/value";
  op.new_value = "yes";
  op.hlc = cs.created;
  op.author = cs.device_id;
  cs.ops.push_back(op);
  mnr::Operation cleared;
  cleared.field = "answer/Q01/1.2/note";
  cleared.old_value = "draft";
  cleared.hlc = cs.created + 1;
  cleared.author = cs.device_id;
  cleared.parents = {mnr::OperationVersion(cs.created - 5, "dev-7f3a")};
  cs.ops.push_back(cleared);
  return cs;
}

// Seals arbitrary inner bytes the way SealChangeSet does, to reach the checks behind the seal.
std::string SealInner(const std::string& body, const std::string& signature, const std::string& server_public) {
  std::ostringstream os;
  {
    cereal::PortableBinaryOutputArchive ar(os, cereal::PortableBinaryOutputArchive::Options::LittleEndian());
    std::string b = body, s = signature;
    ar(b, s);
  }
  auto sealed = crypto::Seal(crypto::Compress(os.str()), server_public);
  REQUIRE(sealed.ok());
  return *sealed;
}

}  // namespace

TEST_CASE("a sealed change-set opens to the same body and verifies with the signer's certificate", "[envelope]") {
  World w = MakeWorld();
  Device dev = MakeDevice(w, "cred-00aa11");
  const mnr::ChangeSet cs = SampleChangeSet(4);
  const std::string body = mnr::SerializeChangeSet(cs);

  auto sealed = mnr::SealChangeSet(body, dev.key.private_pem, w.server.public_key);
  REQUIRE(sealed.ok());
  CHECK(sealed->substr(0, 8) == "MNRSEAL1");
  CHECK(sealed->find("answer/Q01") == std::string::npos);

  auto opened = mnr::OpenChangeSet(*sealed, w.server.private_key);
  REQUIRE(opened.ok());
  CHECK(opened->body == body);
  CHECK(opened->id == mnr::ChangeSetId(body));
  CHECK(opened->id.size() == 64);
  CHECK(opened->signature.size() == 64);
  CHECK(opened->changeset.seq == 4);
  CHECK(opened->changeset.device_id == "dev-7f3a");
  REQUIRE(opened->changeset.ops.size() == 2);
  CHECK(opened->changeset.ops[0].new_value == std::optional<std::string>("yes"));
  CHECK_FALSE(opened->changeset.ops[1].new_value.has_value());
  CHECK(mnr::VerifyChangeSetSignature(*opened, dev.cert).ok());

  SECTION("another device's certificate with the same credential name does not verify") {
    Device impostor = MakeDevice(w, "cred-00aa11");
    auto s = mnr::VerifyChangeSetSignature(*opened, impostor.cert);
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == mnr::Status::Code::kCorruption);
  }
  SECTION("a valid signature under a certificate for another credential is refused") {
    Device other = MakeDevice(w, "cred-ffee99");
    auto forged = mnr::SealChangeSet(body, other.key.private_pem, w.server.public_key);
    REQUIRE(forged.ok());
    auto o = mnr::OpenChangeSet(*forged, w.server.private_key);
    REQUIRE(o.ok());
    auto s = mnr::VerifyChangeSetSignature(*o, other.cert);
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == mnr::Status::Code::kRefused);
    CHECK(s.message().find("cred-ffee99") != std::string::npos);
  }
  SECTION("the wrong sealing key cannot open it") {
    auto other = crypto::GenerateSealingKey();
    REQUIRE(other.ok());
    auto o = mnr::OpenChangeSet(*sealed, other->private_key);
    REQUIRE_FALSE(o.ok());
    CHECK(o.status().code() == mnr::Status::Code::kCorruption);
  }
  SECTION("any flipped bit is detected") {
    for (std::size_t i = 0; i < sealed->size(); i += 7) {
      std::string bad = *sealed;
      bad[i] ^= 0x20;
      INFO("byte " << i);
      CHECK_FALSE(mnr::OpenChangeSet(bad, w.server.private_key).ok());
    }
  }
}

TEST_CASE("opening refuses malformed contents behind a valid seal", "[envelope]") {
  World w = MakeWorld();
  const std::string body = mnr::SerializeChangeSet(SampleChangeSet(1));

  auto short_sig = mnr::OpenChangeSet(SealInner(body, std::string(10, 's'), w.server.public_key), w.server.private_key);
  REQUIRE_FALSE(short_sig.ok());
  CHECK(short_sig.status().message().find("signature") != std::string::npos);

  auto bad_body = mnr::OpenChangeSet(SealInner("junk", std::string(64, 's'), w.server.public_key), w.server.private_key);
  CHECK_FALSE(bad_body.ok());

  auto not_cereal = crypto::Seal(crypto::Compress("\x01\xff\xff\xff\xff\xff\xff\xff\x7f"), w.server.public_key);
  REQUIRE(not_cereal.ok());
  auto r = mnr::OpenChangeSet(*not_cereal, w.server.private_key);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == mnr::Status::Code::kCorruption);

  // A compressed bomb behind a valid seal is refused before it is expanded.
  auto bomb = crypto::Seal(crypto::Compress(std::string(mnr::limits::kChangeSetBytes * 4, 'a')), w.server.public_key);
  REQUIRE(bomb.ok());
  auto b = mnr::OpenChangeSet(*bomb, w.server.private_key);
  REQUIRE_FALSE(b.ok());
  CHECK(b.status().message().find("limit") != std::string::npos);

  World w2 = MakeWorld();
  Device dev = MakeDevice(w2, "cred-00aa11");
  auto too_big = mnr::SealChangeSet(std::string(mnr::limits::kChangeSetBytes + 1, 'x'), dev.key.private_pem,
                                    w.server.public_key);
  CHECK_FALSE(too_big.ok());
  CHECK_FALSE(mnr::SealChangeSet(body, dev.key.private_pem, "not a key").ok());
}

TEST_CASE("bundles round trip and detect truncation and tampering", "[envelope]") {
  World w = MakeWorld();
  Device dev = MakeDevice(w, "cred-00aa11");
  std::vector<std::string> sealed;
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    auto s = mnr::SealChangeSet(mnr::SerializeChangeSet(SampleChangeSet(seq)), dev.key.private_pem,
                                w.server.public_key);
    REQUIRE(s.ok());
    sealed.push_back(*s);
  }
  const std::string bundle = mnr::EncodeBundle(sealed);
  CHECK(bundle.substr(0, 8) == "MNRBNDL1");

  auto decoded = mnr::DecodeBundle(bundle);
  REQUIRE(decoded.ok());
  CHECK(decoded->changesets == sealed);
  CHECK(decoded->blob_chunks.empty());
  for (std::size_t i = 0; i < decoded->changesets.size(); ++i) {
    auto o = mnr::OpenChangeSet(decoded->changesets[i], w.server.private_key);
    REQUIRE(o.ok());
    CHECK(o->changeset.seq == i + 1);
  }

  auto empty = mnr::DecodeBundle(mnr::EncodeBundle({}));
  REQUIRE(empty.ok());
  CHECK(empty->changesets.empty());

  SECTION("every truncation is detected") {
    for (std::size_t n = 0; n < bundle.size(); ++n) {
      INFO("length " << n);
      REQUIRE_FALSE(mnr::DecodeBundle(std::string_view(bundle).substr(0, n)).ok());
    }
    auto r = mnr::DecodeBundle(std::string_view(bundle).substr(0, bundle.size() - 13));
    CHECK(r.status().message().find("truncated") != std::string::npos);
  }
  SECTION("wrong magic") {
    std::string bad = bundle;
    bad[3] = 'X';
    auto r = mnr::DecodeBundle(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("MNRBNDL1") != std::string::npos);
  }
  SECTION("missing end frame") {
    std::string no_end = "MNRBNDL1";
    for (const auto& s : sealed) no_end += mnr::EncodeFrame(mnr::MessageType::kPush, s);
    auto r = mnr::DecodeBundle(no_end);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("end marker") != std::string::npos);
  }
  SECTION("count mismatch: a change-set removed from the middle") {
    std::string cut = "MNRBNDL1" + mnr::EncodeFrame(mnr::MessageType::kPush, sealed[0]) +
                      mnr::EncodeFrame(mnr::MessageType::kPush, sealed[2]) +
                      mnr::EncodeFrame(mnr::MessageType::kBundleEnd, std::string("\0\0\0\0\0\0\0\3", 8));
    auto r = mnr::DecodeBundle(cut);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("says 3") != std::string::npos);
  }
  SECTION("unknown or unexpected frame types") {
    std::string unknown = bundle;
    unknown[8] = static_cast<char>(200);
    auto r = mnr::DecodeBundle(unknown);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("unknown frame type") != std::string::npos);

    std::string hello = "MNRBNDL1" + mnr::EncodeFrame(mnr::MessageType::kHello, "hi") +
                        mnr::EncodeFrame(mnr::MessageType::kBundleEnd, std::string(8, '\0'));
    auto h = mnr::DecodeBundle(hello);
    REQUIRE_FALSE(h.ok());
    CHECK(h.status().message().find("Hello") != std::string::npos);
  }
  SECTION("bytes after the end frame") {
    CHECK_FALSE(mnr::DecodeBundle(bundle + "x").ok());
  }
  SECTION("a tampered change-set inside a well-formed bundle fails to open") {
    std::string bad = bundle;
    bad[8 + 5 + 100] ^= 1;
    auto d = mnr::DecodeBundle(bad);
    REQUIRE(d.ok());
    CHECK_FALSE(mnr::OpenChangeSet(d->changesets[0], w.server.private_key).ok());
    CHECK(mnr::OpenChangeSet(d->changesets[1], w.server.private_key).ok());
  }
}
