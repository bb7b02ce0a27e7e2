// The attachments a release lists, and the checks of the files the server holds: a real store, real
// change-sets, and a file sent in a signed, sealed chunk as a device sends it.
#include <catch2/catch.hpp>

#include <fstream>

#include "mnr/attachment.h"
#include "mnr/crypto.h"
#include "server/attachments.h"
#include "server/audit_trail.h"
#include "server/release.h"
#include "tests/server/fixture.h"

namespace mnr::server {
namespace {

using namespace mnr::server::testing;

std::string SmallPdf(char fill) { return "%PDF-1.4\n" + std::string(500, fill) + "\n%%EOF\n"; }

std::string AttachmentValueOf(const std::string& bytes, const std::string& title) {
  return EncodeAttachment(AttachmentValue{bytes.size(), "application/pdf", title});
}

// Sends `bytes` whole in one chunk signed by `c`, as `device` would.
void SendFile(ServerWorld& w, const Credential& c, const std::string& device, const std::string& bytes) {
  BlobChunk chunk;
  chunk.hash = crypto::Sha256Hex(bytes);
  chunk.size = bytes.size();
  chunk.bytes = bytes;
  chunk.device_id = device;
  chunk.credential_id = c.id;
  auto sealed = SealBlobChunk(chunk, c.private_key_pem, c.sealing_public_key);
  REQUIRE(sealed.ok());
  AttachmentIntake intake(*w.store, AttachmentLimits{});
  const BlobState state = intake.Put(*sealed, nullptr, "", NowSeconds());
  INFO(state.reason);
  REQUIRE(state.code == 0);
  REQUIRE(state.held == bytes.size());
}

}  // namespace

TEST_CASE("A release lists the held files of released answers and entries, names the others pending, and leaves out the rest") {
  ServerWorld w;
  const std::string held = SmallPdf('h'), pending = SmallPdf('p'), orphan = SmallPdf('o'), removed = SmallPdf('r');
  const std::string held_field = AttachmentField("Q01", "indicator", "c11_child_helpline", crypto::Sha256Hex(held));
  const std::string pending_field = AttachmentField("Q02", "practice", "p1", crypto::Sha256Hex(pending));
  const std::string orphan_field = AttachmentField("Q02", "practice", "p9", crypto::Sha256Hex(orphan));  // no such entry
  const std::string removed_field = AttachmentField("Q01", "indicator", "c12_reporting_hotline", crypto::Sha256Hex(removed));
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 1,
                                       {Edit(kC11, Answer("yes"), T(1), "dev-a"),
                                        Edit(held_field, AttachmentValueOf(held, "Helpline report"), T(1), "dev-a"),
                                        Edit(removed_field, AttachmentValueOf(removed, "Old draft"), T(1), "dev-a")}),
                         w.q01a))
              .outcome);
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 2,
                                       {Edit(removed_field, std::nullopt, T(2), "dev-a", {OperationVersion(T(1), "dev-a")})}),
                         w.q01a))
              .outcome);
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q02, "dev-c", 1,
                                       {Edit(PracticeField("Q02", "p1", "capability"), "11", T(3), "dev-c"),
                                        Edit(PracticeField("Q02", "p1", "kind"), "good_practice", T(3), "dev-c"),
                                        Edit(PracticeField("Q02", "p1", "title"), "A helpline", T(3), "dev-c"),
                                        Edit(pending_field, AttachmentValueOf(pending, "Its leaflet"), T(3), "dev-c"),
                                        Edit(orphan_field, AttachmentValueOf(orphan, "Nowhere"), T(3), "dev-c")}),
                         w.q02))
              .outcome);
  SendFile(w, w.q01a, "dev-a", held);

  auto r = CreateRelease(*w.store, "with-files", "operator:test", 1'760'000'000);
  INFO(r.status().message());
  REQUIRE(r.ok());
  const auto manifest = nlohmann::json::parse(r->manifest);
  const nlohmann::json expected = {{{"field", held_field},
                                    {"country", "Q01"},
                                    {"indicator", "c11_child_helpline"},
                                    {"sha256", crypto::Sha256Hex(held)},
                                    {"size", held.size()},
                                    {"media_type", "application/pdf"},
                                    {"title", "Helpline report"}}};
  CHECK(manifest["attachments"] == expected);
  CHECK(manifest["attachments_pending"] == nlohmann::json::array({pending_field}));
  CHECK(ManifestAttachments(manifest) == expected);
  CHECK(ManifestAttachments(nlohmann::json::object()).empty());  // a release made before attachments: none
  CHECK(CheckStoredRelease(*w.store, *r).ok());
  auto verified = VerifyAuditTrail(*w.store);
  INFO(verified.status().message());
  CHECK(verified.ok());

  auto files = CheckHeldFiles(*w.store);
  REQUIRE(files.ok());
  CHECK(files->files == 1);
  CHECK(files->refs == 3);
  CHECK(files->failures.empty());
  REQUIRE(files->notes.size() == 2);
  CHECK(files->notes[0] == "attachment " + pending_field + ": file " + BlobDirectory(w.dir).PathOf(crypto::Sha256Hex(pending)) +
                               " not received yet");

  // One byte changed on disk: every check names the field and the path; the next release is refused.
  const std::string path = BlobDirectory(w.dir).PathOf(crypto::Sha256Hex(held));
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('x');
  }
  const Status stored = CheckStoredRelease(*w.store, *r);
  CHECK(stored.code() == Status::Code::kCorruption);
  CHECK(stored.message() == "release \"with-files\": attachment " + held_field + ": " + path + ": its bytes no longer hash to its name");
  files = CheckHeldFiles(*w.store);
  REQUIRE(files.ok());
  REQUIRE(files->failures.size() == 1);
  CHECK(files->failures[0] == "attachment " + held_field + ": " + path + ": its bytes no longer hash to its name");
  auto refused = CreateRelease(*w.store, "after-damage", "operator:test", 1'760'000'100);
  CHECK(refused.status().code() == Status::Code::kCorruption);
  CHECK(refused.status().message().find(held_field) != std::string::npos);
  CHECK(w.Count("releases") == 1);
}

}  // namespace mnr::server
