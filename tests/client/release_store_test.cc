// A field store keeps a dataset release only when everything about it checks out.
#include "client/release_sync.h"

#include <catch2/catch.hpp>

#include "mnr/crypto.h"
#include "tests/client/client_test_util.h"

namespace mnr::client {
namespace {

using namespace mnr::client::testing;

// A CA that issues both the server's certificate and the device's credential, as `mnr-server init` does.
struct Pki {
  crypto::SigningKey ca_key, server_key, device_key;
  std::string ca, server_cert;
  Credential credential;

  Pki() {
    ca_key = crypto::GenerateSigningKey().value();
    ca = crypto::CreateCaCertificate(ca_key, "test CA", kJan2025, kJan2025 + 86400 * 3650).value();
    server_key = crypto::GenerateSigningKey().value();
    crypto::CertificateRequest req;
    req.common_name = "server";
    req.dns_names = {"localhost"};
    req.not_before = kJan2025;
    req.not_after = kJan2025 + 86400 * 3650;
    req.server = true;
    server_cert = crypto::IssueCertificate(ca, ca_key.private_pem, server_key.public_pem, req).value();
    device_key = crypto::GenerateSigningKey().value();
    req.common_name = "cred-01";
    req.server = false;
    req.client = true;
    credential.id = "cred-01";
    credential.role = Role::kField;
    credential.name = "Q01 laptop";
    credential.countries = {"Q01"};
    credential.server_address = "127.0.0.1:7443";
    credential.certificate_pem = crypto::IssueCertificate(ca, ca_key.private_pem, device_key.public_pem, req).value();
    credential.private_key_pem = device_key.private_pem;
    credential.ca_certificate_pem = ca;
    credential.sealing_public_key = crypto::GenerateSealingKey().value().public_key;
    credential.expires_at = req.not_after;
  }

  // What "release.latest" answers, signed with `signer` (the server key unless a test says otherwise).
  nlohmann::json Result(const std::string& label, const std::string& csv, const std::string* signer_pem = nullptr,
                        const std::string* cert = nullptr) const {
    const nlohmann::json manifest_json = {{"label", label}, {"content_sha256", crypto::Sha256Hex(csv)}, {"created_at", kJan2025}};
    const std::string manifest = manifest_json.dump();
    const std::string sig = crypto::Sign(signer_pem ? *signer_pem : server_key.private_pem, manifest).value();
    return {{"release",
             {{"label", label},
              {"release_id", crypto::Sha256Hex(manifest)},
              {"content_sha256", crypto::Sha256Hex(csv)},
              {"csv", csv},
              {"manifest", manifest},
              {"signature", crypto::Base64Encode(sig)},
              {"server_certificate", cert ? *cert : server_cert}}},
            {"scope", {{{"code", "Q01"}, {"name", "Placeholder Q01"}, {"income_group", "high"}, {"region", "europe"}}}}};
  }
};

constexpr std::int64_t kNow = kJan2025 + 86400;
const std::string kCsv = "indicator,group,n_yes\r\nc11_child_helpline,all,3\r\n";

}  // namespace

TEST_CASE("release store: a checked release is kept and read back") {
  mnr::test::TempDir tmp;
  Pki pki;
  auto store = NewStore(tmp / "office.db", {"Q01"}, pki.credential);
  auto none = FindStoredRelease(*store, std::nullopt);
  REQUIRE(none.ok());
  CHECK(!*none);
  auto kept = StoreReleaseResult(*store, pki.Result("2025-final", kCsv), kNow);
  INFO(kept.status().message());
  REQUIRE(kept.ok());
  CHECK(*kept == "2025-final");
  auto latest = FindStoredRelease(*store, std::nullopt);
  REQUIRE(latest.ok());
  REQUIRE(*latest);
  CHECK((*latest)->csv == kCsv);
  CHECK((*latest)->received_at == kNow);
  CHECK(VerifyStoredRelease(**latest, pki.ca).ok());
  CHECK(QueryText(store->db(), "SELECT income_group FROM release_scope WHERE code = 'Q01'") == "high");

  // Unchanged, or no release at all: nothing new.
  CHECK(StoreReleaseResult(*store, {{"unchanged", true}}, kNow).value().empty());
  CHECK(StoreReleaseResult(*store, {{"release", nullptr}}, kNow).value().empty());
  // A newer one becomes the latest; the older stays readable by label.
  REQUIRE(StoreReleaseResult(*store, pki.Result("2025-revised", kCsv + "c12_reporting_hotline,all,1\r\n"), kNow + 10).ok());
  CHECK(FindStoredRelease(*store, std::nullopt).value()->label == "2025-revised");
  CHECK(FindStoredRelease(*store, std::string("2025-final")).value()->csv == kCsv);
  CHECK(QueryInt(store->db(), "SELECT COUNT(*) FROM releases") == 2);

  // A store reopened (migrations included) still has them.
  store.reset();
  auto reopened = ClientStore::Open(tmp / "office.db");
  REQUIRE(reopened.ok());
  CHECK(FindStoredRelease(**reopened, std::nullopt).value()->label == "2025-revised");
}

TEST_CASE("release store: a release that does not check out is refused and nothing is kept") {
  mnr::test::TempDir tmp;
  Pki pki;
  auto store = NewStore(tmp / "office.db", {"Q01"}, pki.credential);

  auto tampered = pki.Result("r", kCsv);
  tampered["release"]["csv"] = kCsv + "c12_reporting_hotline,all,9\r\n";
  CHECK(StoreReleaseResult(*store, tampered, kNow).status().code() == Status::Code::kCorruption);

  const auto other_key = crypto::GenerateSigningKey().value();
  CHECK(StoreReleaseResult(*store, pki.Result("r", kCsv, &other_key.private_pem), kNow).status().code() == Status::Code::kCorruption);

  Pki stranger;  // a server of another deployment: its certificate is not from this credential's CA
  CHECK(StoreReleaseResult(*store, pki.Result("r", kCsv, &stranger.server_key.private_pem, &stranger.server_cert), kNow).status().code() ==
        Status::Code::kCorruption);

  auto relabelled = pki.Result("r", kCsv);
  relabelled["release"]["label"] = "something else";
  CHECK(StoreReleaseResult(*store, relabelled, kNow).status().code() == Status::Code::kCorruption);

  auto no_csv = pki.Result("r", kCsv);
  no_csv["release"].erase("csv");
  CHECK(!StoreReleaseResult(*store, no_csv, kNow).ok());
  CHECK(QueryInt(store->db(), "SELECT COUNT(*) FROM releases") == 0);
  CHECK(QueryInt(store->db(), "SELECT COUNT(*) FROM release_scope") == 0);
}

}  // namespace mnr::client
