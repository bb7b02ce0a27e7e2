#include "server/register.h"
#include "server/release.h"

#include <catch2/catch.hpp>

#include <filesystem>

#include "mnr/crypto.h"
#include "mnr/file_util.h"
#include "server/aggregate.h"
#include "server/dataset.h"
#include "server/publish.h"
#include "tests/server/fixture.h"

namespace mnr::server {
namespace {

using namespace mnr::server::testing;

std::vector<std::string> SomeChangeSets(ServerWorld& w) {
  return {Seal(MakeChangeSet(w.q01a, "dev-a", 1, {Edit(AnswerField("Q01", "c11_child_helpline"), Answer("yes"), T(1), "dev-a"),
                                                  Edit(AnswerField("Q01", "c12_reporting_hotline"), Answer("no"), T(1), "dev-a")}),
               w.q01a),
          Seal(MakeChangeSet(w.q02, "dev-c", 1, {Edit(AnswerField("Q02", "c11_child_helpline"), Answer("partial"), T(2), "dev-c"),
                                                 Edit(PracticeField("Q02", "p1", "capability"), "11", T(2), "dev-c"),
                                                 Edit(PracticeField("Q02", "p1", "kind"), "good_practice", T(2), "dev-c"),
                                                 Edit(PracticeField("Q02", "p1", "title"), "Helpline <b>24/7</b>", T(2), "dev-c"),
                                                 Edit(PracticeField("Q02", "p1", "text"), "Runs <script>alert(1)</script> & more", T(2), "dev-c"),
                                                 Edit(PracticeField("Q02", "p1", "lang"), "en", T(2), "dev-c")}),
               w.q02),
          Seal(MakeChangeSet(w.q01b, "dev-b", 1, {Edit(AnswerField("Q01", "c11_child_helpline"), Answer("no"), T(3), "dev-b")}), w.q01b)};
}

}  // namespace

TEST_CASE("release: frozen, signed, logged, and never changed") {
  ServerWorld w;
  for (const auto& cs : SomeChangeSets(w)) REQUIRE(w.Receive(cs).outcome);
  auto r = CreateRelease(*w.store, "2025-final", "operator:test", 1'760'000'000);
  INFO(r.status().message());
  REQUIRE(r.ok());
  CHECK(r->content_sha256 == crypto::Sha256Hex(r->csv));
  auto live = LoadDataset(w.store->db(), w.store->schema(), kFirstRound);
  REQUIRE(live.ok());
  CHECK(r->csv == DatasetCsv(*live));
  CHECK(VerifyRelease(*r, ServerCert(w)).ok());
  const auto manifest = nlohmann::json::parse(r->manifest);
  CHECK(manifest["label"] == "2025-final");
  CHECK(manifest["content_sha256"] == r->content_sha256);
  CHECK(manifest["survey_schema_version"] == 1);
  CHECK(manifest["store_schema_version"].get<int>() >= 3);
  CHECK(manifest["software"] == std::string("mnr-server ") + MNR_VERSION);
  CHECK(manifest["audit_tree_head"]["size"].get<std::uint64_t>() > 0);
  CHECK(manifest["audit_tree_head"]["root"].get<std::string>().size() == 64);
  CHECK(manifest.dump() == r->manifest);  // canonical text

  // The manifest is in the audit log, in the same transaction.
  auto st = w.store->db().Prepare("SELECT payload, actor FROM audit_entries WHERE kind = 3");
  REQUIRE(st.ok());
  auto row = st->Step();
  REQUIRE(row.ok());
  REQUIRE(*row);
  CHECK(st->Blob(0) == r->manifest);
  CHECK(st->Text(1) == "operator:test");

  // A label is used once; nothing changes on a second try.
  auto dup = CreateRelease(*w.store, "2025-final", "operator:test", 1'760'000'100);
  CHECK(dup.status().code() == Status::Code::kAlreadyExists);
  CHECK(w.Count("releases") == 1);
  CHECK(w.Count("audit_entries WHERE kind = 3") == 1);
  CHECK(!w.store->db().Exec("UPDATE releases SET csv = 'x'").ok());
  CHECK(!w.store->db().Exec("DELETE FROM releases").ok());
  CHECK(CreateRelease(*w.store, "", "operator:test", 1).status().code() == Status::Code::kInvalidArgument);
  CHECK(CreateRelease(*w.store, "two\nlines", "operator:test", 1).status().code() == Status::Code::kInvalidArgument);

  // Tampering shows.
  Release bad = *r;
  bad.csv += "x";
  CHECK(VerifyRelease(bad, ServerCert(w)).code() == Status::Code::kCorruption);
  bad = *r;
  bad.manifest[bad.manifest.size() - 2] ^= 1;
  CHECK(!VerifyRelease(bad, ServerCert(w)).ok());

  // Later edits do not touch the release; the latest is the newest.
  REQUIRE(w.Receive(Seal(MakeChangeSet(w.q01a, "dev-a", 2, {Edit(AnswerField("Q01", "c13_education_programme"), Answer("yes"), T(9), "dev-a")}),
                         w.q01a)).outcome);
  auto second = CreateRelease(*w.store, "2025-revised", "operator:test", 1'760'000'200);
  REQUIRE(second.ok());
  CHECK(second->content_sha256 != r->content_sha256);
  auto found = FindRelease(w.store->db(), std::string("2025-final"));
  REQUIRE(found.ok());
  CHECK(found->csv == r->csv);
  auto latest = FindRelease(w.store->db(), std::nullopt);
  REQUIRE(latest.ok());
  CHECK(latest->label == "2025-revised");
  CHECK(FindRelease(w.store->db(), std::string("nope")).status().code() == Status::Code::kNotFound);
}

TEST_CASE("release: the content hash depends on the data only, not on arrival order or time") {
  ServerWorld a, b;
  auto in_a = SomeChangeSets(a), in_b = SomeChangeSets(b);
  for (const auto& cs : in_a) REQUIRE(a.Receive(cs).outcome);
  for (auto it = in_b.rbegin(); it != in_b.rend(); ++it) REQUIRE(b.Receive(*it).outcome);
  REQUIRE(b.Receive(in_b[0]).outcome->duplicate);
  auto ra = CreateRelease(*a.store, "a", "operator:test", 1'700'000'000);
  auto rb = CreateRelease(*b.store, "b", "operator:test", 1'800'000'000);
  REQUIRE(ra.ok());
  REQUIRE(rb.ok());
  CHECK(ra->content_sha256 == rb->content_sha256);
  CHECK(ra->csv == rb->csv);
  CHECK(ra->release_id != rb->release_id);  // the manifests differ (label, time, keys)
}

TEST_CASE("release: release.latest gives field roles counts and their own register rows only") {
  ServerWorld w;
  const nlohmann::json none = nlohmann::json::object();
  const CredentialRecord field = Record(w, w.q02);
  auto empty = ReleaseLatestOperation(RemoteCall{*w.store, field, none});
  REQUIRE(empty.ok());
  CHECK((*empty)["release"].is_null());

  for (const auto& cs : SomeChangeSets(w)) REQUIRE(w.Receive(cs).outcome);
  auto r = CreateRelease(*w.store, "r1", "operator:test", 1'760'000'000);
  REQUIRE(r.ok());
  auto got = ReleaseLatestOperation(RemoteCall{*w.store, field, none});
  REQUIRE(got.ok());
  const auto& rel = (*got)["release"];
  CHECK(rel["label"] == "r1");
  CHECK(rel["csv"] == r->csv);
  CHECK(rel["release_id"] == r->release_id);
  CHECK(crypto::Base64Decode(rel["signature"].get<std::string>()).value() == r->signature);
  CHECK(rel["server_certificate"] == ServerCert(w));
  CHECK(!rel.contains("members"));
  CHECK(got->dump().find("\"Q04\"") == std::string::npos);  // no country lists
  REQUIRE((*got)["scope"].size() == 2);
  CHECK((*got)["scope"][0]["code"] == "Q02");
  CHECK((*got)["scope"][0]["income_group"] == "low");
  CHECK((*got)["scope"][1]["code"] == "Q03");

  const nlohmann::json have = {{"have", r->release_id}};
  auto same = ReleaseLatestOperation(RemoteCall{*w.store, field, have});
  REQUIRE(same.ok());
  CHECK((*same)["unchanged"] == true);
  const nlohmann::json wrong = {{"have", 5}};
  CHECK(ReleaseLatestOperation(RemoteCall{*w.store, field, wrong}).status().code() == Status::Code::kInvalidArgument);
  const auto* op = FindRemoteOperation("release.latest");
  REQUIRE(op != nullptr);
  CHECK(op->roles.size() == 3);
}

TEST_CASE("publish: a self-contained page, escaped text, logged, replacing only its own output") {
  ServerWorld w;
  for (const auto& cs : SomeChangeSets(w)) REQUIRE(w.Receive(cs).outcome);
  auto r = CreateRelease(*w.store, "r1", "operator:test", 1'760'000'000);
  REQUIRE(r.ok());
  auto d = ParseDatasetCsv(r->csv, "r1");
  REQUIRE(d.ok());
  const auto practices = nlohmann::json::parse(r->practices);
  REQUIRE(practices.size() == 1);
  CHECK(practices[0]["country_name"] == "Placeholder Q02");
  const std::string en = RenderReport(w.store->schema(), *d, practices, *r, "en");
  CHECK(RenderReport(w.store->schema(), *d, practices, *r, "en") == en);
  CHECK(en.find("<script>alert(1)") == std::string::npos);
  CHECK(en.find("Runs &lt;script&gt;alert(1)&lt;/script&gt; &amp; more") != std::string::npos);
  CHECK(en.find("Helpline &lt;b&gt;24/7&lt;/b&gt;") != std::string::npos);
  CHECK(en.find(r->content_sha256) != std::string::npos);
  CHECK(en.find("http") == std::string::npos);
  const std::string fr = RenderReport(w.store->schema(), *d, practices, *r, "fr");
  CHECK(fr.find("<html lang=\"fr\">") != std::string::npos);
  CHECK(fr.find("Capacités en place") != std::string::npos);
  CHECK(!CheckReportLanguage("de").ok());

  const std::string out = w.tmp / "site";
  auto first = Publish(*w.store, *r, "en", out, "operator:test");
  INFO(first.status().message());
  REQUIRE(first.ok());
  // The public CSV: labelled, groups of fewer than 3 countries without figures (Q01 alone is high income).
  const std::string public_csv = ReadFile(out + "/dataset.csv", 1 << 20).value();
  CHECK(public_csv == DatasetLabelledCsv(*d, w.store->schema(), "en", 3));
  CHECK(public_csv.find("c11_child_helpline,high,,,,,,,,,,indicator,11,3,") != std::string::npos);
  CHECK(nlohmann::json::parse(r->manifest)["public_csv_sha256"]["en"] == crypto::Sha256Hex(public_csv));
  CHECK(nlohmann::json::parse(r->manifest)["small_groups"]["min_countries"] == 3);
  CHECK(nlohmann::json::parse(r->manifest)["round"] == "2025");
  CHECK(en.find("fewer than 3 countries") != std::string::npos);
  CHECK(en.find("data-group=\"high\" data-yes=") == std::string::npos);
  CHECK(ReadFile(out + "/index.html", 1 << 22).value() == en);
  CHECK(w.Count("audit_entries WHERE kind = 4") == 1);
  auto again = Publish(*w.store, *r, "fr", out, "operator:test");
  REQUIRE(again.ok());
  CHECK(ReadFile(out + "/index.html", 1 << 22).value() == fr);
  CHECK(w.Count("audit_entries WHERE kind = 4") == 2);

  const std::string foreign = w.tmp / "foreign";
  std::filesystem::create_directories(foreign);
  REQUIRE(WriteFileAtomic(foreign + "/keep.txt", "mine").ok());
  auto refused = Publish(*w.store, *r, "en", foreign, "operator:test");
  CHECK(refused.status().code() == Status::Code::kInvalidArgument);
  CHECK(!FileExists(foreign + "/index.html"));
  CHECK(w.Count("audit_entries WHERE kind = 4") == 2);
  // Nothing is left beside the output.
  int siblings = 0;
  for (const auto& e : std::filesystem::directory_iterator(w.tmp.path())) siblings += e.path().filename().string().rfind("site.", 0) == 0;
  CHECK(siblings == 0);
}

}  // namespace mnr::server
