// Credential::renews: the predecessor a renewed credential names, so that a store can tell its own
// successor from an unrelated credential; files without it (issued, or older) still load.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "mnr/credential.h"
#include "mnr/crypto.h"
#include "tests/support/instants.h"

namespace crypto = mnr::crypto;
using nlohmann::json;

namespace {

mnr::Credential Renewed() {
  using mnr::test::kJan2025;
  auto ca_key = crypto::GenerateSigningKey();
  REQUIRE(ca_key.ok());
  auto ca = crypto::CreateCaCertificate(*ca_key, "mnr CA", kJan2025, kJan2025 + 86400 * 3650);
  REQUIRE(ca.ok());
  auto key = crypto::GenerateSigningKey();
  REQUIRE(key.ok());
  crypto::CertificateRequest req;
  req.common_name = "cred-b2";
  req.not_before = kJan2025;
  req.not_after = kJan2025 + 86400 * 365;
  req.client = true;
  auto cert = crypto::IssueCertificate(*ca, ca_key->private_pem, key->public_pem, req);
  REQUIRE(cert.ok());
  auto sealing = crypto::GenerateSealingKey();
  REQUIRE(sealing.ok());
  mnr::Credential c;
  c.id = "cred-b2";
  c.name = "Q01 office";
  c.countries = {"Q01"};
  c.server_address = "sync.example.org:7443";
  c.certificate_pem = *cert;
  c.private_key_pem = key->private_pem;
  c.ca_certificate_pem = *ca;
  c.sealing_public_key = sealing->public_key;
  c.expires_at = req.not_after;
  c.renews = "cred-a1";
  return c;
}

}  // namespace

TEST_CASE("A renewed credential names its predecessor and an older file without the member still loads") {
  const mnr::Credential c = Renewed();
  const std::string text = mnr::CredentialToJson(c);
  CHECK(json::parse(text)["renews"] == "cred-a1");
  auto back = mnr::CredentialFromJson(text, "renewed.mnrcred");
  REQUIRE(back.ok());
  CHECK(back->renews == std::optional<std::string>("cred-a1"));

  json older = json::parse(text);
  older.erase("renews");
  auto old = mnr::CredentialFromJson(older.dump(), "older.mnrcred");
  REQUIRE(old.ok());
  CHECK_FALSE(old->renews);
  mnr::Credential issued = c;
  issued.renews.reset();
  CHECK_FALSE(json::parse(mnr::CredentialToJson(issued)).contains("renews"));
}

TEST_CASE("A credential whose renews member is not another credential's id is refused") {
  json j = json::parse(mnr::CredentialToJson(Renewed()));
  j["renews"] = 42;
  auto number = mnr::CredentialFromJson(j.dump(), "bad.mnrcred");
  REQUIRE_FALSE(number.ok());
  CHECK(number.status().message() == "bad.mnrcred: credential field \"renews\" must be a string");
  j["renews"] = "cred-b2";
  auto itself = mnr::CredentialFromJson(j.dump(), "bad.mnrcred");
  REQUIRE_FALSE(itself.ok());
  CHECK(itself.status().message() == "bad.mnrcred: credential field \"renews\" names the credential itself");
}
