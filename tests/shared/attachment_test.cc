#include <catch2/catch.hpp>

#include <ctime>

#include "mnr/attachment.h"
#include "mnr/crypto.h"
#include "mnr/envelope.h"
#include "mnr/field.h"
#include "mnr/frame.h"
#include "mnr/limits.h"

namespace {

const std::string kHash = mnr::crypto::Sha256Hex("the file");

}  // namespace

TEST_CASE("An attachment key names its country, its indicator or practice entry, and its file's hash") {
  auto k = mnr::ParseField("attachment/Q01/indicator/c11_child_helpline/" + kHash);
  REQUIRE(k.ok());
  CHECK(k->kind == mnr::FieldKey::Kind::kAttachment);
  CHECK(k->country == "Q01");
  CHECK(k->target == "indicator");
  CHECK(k->indicator == "c11_child_helpline");
  CHECK(k->hash == kHash);
  CHECK(k->ToString() == "attachment/Q01/indicator/c11_child_helpline/" + kHash);
  auto p = mnr::ParseField(mnr::AttachmentField("Q02", "practice", "0a1b2c3d", kHash));
  REQUIRE(p.ok());
  CHECK(p->practice_id == "0a1b2c3d");
  CHECK(p->ToString() == "attachment/Q02/practice/0a1b2c3d/" + kHash);

  CHECK(mnr::ParseField("attachment/Q01/answer/c11_child_helpline/" + kHash).status().message().find("an indicator or a practice") !=
        std::string::npos);
  CHECK(mnr::ParseField("attachment/Q01/indicator/c11_child_helpline/" + kHash.substr(1)).status().message().find("bad file hash") !=
        std::string::npos);
  std::string upper = kHash;
  upper[0] = 'A';
  CHECK_FALSE(mnr::ParseField("attachment/Q01/indicator/c11_child_helpline/" + upper).ok());
  CHECK_FALSE(mnr::ParseField("attachment/q01/indicator/c11_child_helpline/" + kHash).ok());
  CHECK_FALSE(mnr::ParseField("attachment/Q01/indicator/../" + kHash).ok());
}

TEST_CASE("An attachment's value holds its size, an accepted media type and a one-line title") {
  const mnr::AttachmentValue v{1234, "application/pdf", "Loi n° 2024-12 sur la protection de l'enfance"};
  auto d = mnr::DecodeAttachment(mnr::EncodeAttachment(v));
  REQUIRE(d.ok());
  CHECK(d->size == 1234);
  CHECK(d->media_type == "application/pdf");
  CHECK(d->title == v.title);
  for (const std::string bad : {"1234\napplication/pdf", "0\napplication/pdf\nt", "012\napplication/pdf\nt", "-1\napplication/pdf\nt",
                                "12x\napplication/pdf\nt", "67108865\napplication/pdf\nt", "12\napplication/x-msdownload\nt",
                                "12\napplication/pdf\ntwo\nlines", "12\napplication/pdf\n\xff\xfe"}) {
    INFO(bad);
    CHECK_FALSE(mnr::DecodeAttachment(bad).ok());
  }
  CHECK(mnr::DecodeAttachment("67108864\ntext/plain\nt").ok());
  CHECK(mnr::BlobChunkCount(1) == 1);
  CHECK(mnr::BlobChunkCount(mnr::limits::kBlobChunkBytes) == 1);
  CHECK(mnr::BlobChunkCount(mnr::limits::kBlobChunkBytes + 1) == 2);
}

TEST_CASE("A file chunk is signed by its device and sealed to the server, and any change to it is caught") {
  auto device = mnr::crypto::GenerateSigningKey();
  auto other = mnr::crypto::GenerateSigningKey();
  auto ca = mnr::crypto::GenerateSigningKey();
  auto sealing = mnr::crypto::GenerateSealingKey();
  REQUIRE((device.ok() && other.ok() && ca.ok() && sealing.ok()));
  const std::int64_t now = std::time(nullptr);
  auto ca_cert = mnr::crypto::CreateCaCertificate(*ca, "test CA", now - 60, now + 3600);
  REQUIRE(ca_cert.ok());
  const auto request = [&](const char* name) {
    mnr::crypto::CertificateRequest r;
    r.common_name = name;
    r.not_before = now - 60;
    r.not_after = now + 3600;
    r.client = true;
    return r;
  };
  auto cert = mnr::crypto::IssueCertificate(*ca_cert, ca->private_pem, device->public_pem, request("cred-a"));
  auto other_cert = mnr::crypto::IssueCertificate(*ca_cert, ca->private_pem, other->public_pem, request("cred-b"));
  REQUIRE((cert.ok() && other_cert.ok()));

  const std::string file(mnr::limits::kBlobChunkBytes + 100, 'z');
  const std::string hash = mnr::crypto::Sha256Hex(file);
  mnr::BlobChunk last{hash, file.size(), mnr::limits::kBlobChunkBytes, file.substr(mnr::limits::kBlobChunkBytes), "dev-a", "cred-a", {}};
  auto sealed = mnr::SealBlobChunk(last, device->private_pem, sealing->public_key);
  REQUIRE(sealed.ok());
  CHECK(sealed->find("zzzzzzzz") == std::string::npos);  // sealed, not in the clear
  auto opened = mnr::OpenBlobChunk(*sealed, sealing->private_key);
  REQUIRE(opened.ok());
  CHECK(opened->bytes == last.bytes);
  CHECK(opened->offset == mnr::limits::kBlobChunkBytes);
  CHECK(mnr::VerifyBlobChunkSignature(*opened, *cert).ok());
  CHECK_FALSE(mnr::VerifyBlobChunkSignature(*opened, *other_cert).ok());

  mnr::BlobChunk moved = *opened;
  moved.offset = 0;  // the same bytes claimed for another place in the file
  moved.bytes = file.substr(0, mnr::limits::kBlobChunkBytes);
  CHECK_FALSE(mnr::VerifyBlobChunkSignature(moved, *cert).ok());
  std::string flipped = *sealed;
  flipped[flipped.size() / 2] ^= 1;
  CHECK_FALSE(mnr::OpenBlobChunk(flipped, sealing->private_key).ok());

  mnr::BlobChunk short_chunk = last;
  short_chunk.bytes.pop_back();
  CHECK(mnr::SealBlobChunk(short_chunk, device->private_pem, sealing->public_key).status().message().find("not 100") != std::string::npos);
  mnr::BlobChunk off = last;
  off.offset = 1000;
  CHECK_FALSE(mnr::SealBlobChunk(off, device->private_pem, sealing->public_key).ok());

  // In a bundle, chunks follow the change-sets and the end marker counts both.
  const std::string bundle = mnr::EncodeBundle({"cs"}, {*sealed, *sealed});
  auto decoded = mnr::DecodeBundle(bundle);
  REQUIRE(decoded.ok());
  CHECK(decoded->changesets == std::vector<std::string>{"cs"});
  CHECK(decoded->blob_chunks.size() == 2);
  CHECK(mnr::EncodeBundle(decoded->changesets, decoded->blob_chunks) == bundle);
  const std::string no_files = mnr::EncodeBundle({"cs"});
  CHECK(no_files.substr(no_files.size() - 8) == std::string("\0\0\0\0\0\0\0\1", 8));
  std::string miscounted = bundle;
  miscounted[miscounted.size() - 1] = 3;
  CHECK(mnr::DecodeBundle(miscounted).status().message().find("says 3 file chunks") != std::string::npos);
  const std::string late = "MNRBNDL1" + mnr::EncodeFrame(mnr::MessageType::kBlobPut, "x") + mnr::EncodeFrame(mnr::MessageType::kPush, "cs") +
                           mnr::EncodeFrame(mnr::MessageType::kBundleEnd, std::string("\0\0\0\0\0\0\0\1\0\0\0\0\0\0\0\1", 16));
  CHECK(mnr::DecodeBundle(late).status().message().find("change-set after file chunks") != std::string::npos);
}
