#include "mnr/credential.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <string>

#include "mnr/crypto.h"
#include "tests/support/instants.h"
#include "tests/support/process.h"

namespace crypto = mnr::crypto;
using nlohmann::json;

namespace {

using mnr::test::kJan2025;

struct Issued {
  mnr::Credential cred;
  std::string other_ca_cert;
};

Issued MakeCredential() {
  auto ca_key = crypto::GenerateSigningKey();
  REQUIRE(ca_key.ok());
  auto ca = crypto::CreateCaCertificate(*ca_key, "mnr CA", kJan2025, kJan2025 + 86400 * 3650);
  REQUIRE(ca.ok());
  auto key = crypto::GenerateSigningKey();
  REQUIRE(key.ok());
  crypto::CertificateRequest req;
  req.common_name = "cred-3f9a0c";
  req.not_before = kJan2025;
  req.not_after = kJan2025 + 86400 * 365;
  req.client = true;
  auto cert = crypto::IssueCertificate(*ca, ca_key->private_pem, key->public_pem, req);
  REQUIRE(cert.ok());
  auto sealing = crypto::GenerateSealingKey();
  REQUIRE(sealing.ok());

  Issued out;
  mnr::Credential& c = out.cred;
  c.id = "cred-3f9a0c";
  c.role = mnr::Role::kField;
  c.name = "Q01 office laptop";
  c.countries = {"Q01", "Q02"};
  c.server_address = "sync.example.org:7443";
  c.certificate_pem = *cert;
  c.private_key_pem = key->private_pem;
  c.ca_certificate_pem = *ca;
  c.sealing_public_key = sealing->public_key;
  c.expires_at = req.not_after;

  auto other_key = crypto::GenerateSigningKey();
  REQUIRE(other_key.ok());
  auto other_ca = crypto::CreateCaCertificate(*other_key, "other CA", kJan2025, kJan2025 + 86400 * 3650);
  REQUIRE(other_ca.ok());
  out.other_ca_cert = *other_ca;
  return out;
}

void CheckSame(const mnr::Credential& a, const mnr::Credential& b) {
  CHECK(a.id == b.id);
  CHECK(a.role == b.role);
  CHECK(a.name == b.name);
  CHECK(a.countries == b.countries);
  CHECK(a.server_address == b.server_address);
  CHECK(a.certificate_pem == b.certificate_pem);
  CHECK(a.private_key_pem == b.private_key_pem);
  CHECK(a.ca_certificate_pem == b.ca_certificate_pem);
  CHECK(a.sealing_public_key == b.sealing_public_key);
  CHECK(a.expires_at == b.expires_at);
}

// The error for `j` as a credential file, which must name `field` and the origin.
std::string ErrorFor(const json& j) {
  auto r = mnr::CredentialFromJson(j.dump(), "/media/usb/q01.mnrcred");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == mnr::Status::Code::kInvalidArgument);
  CHECK(r.status().message().find("/media/usb/q01.mnrcred") != std::string::npos);
  return r.status().message();
}

}  // namespace

TEST_CASE("roles have stable names", "[credential]") {
  for (mnr::Role r : {mnr::Role::kField, mnr::Role::kCoordinator, mnr::Role::kAuditor}) {
    CHECK(mnr::ParseRole(mnr::RoleName(r)) == r);
  }
  CHECK(mnr::RoleName(mnr::Role::kCoordinator) == "coordinator");
  CHECK_FALSE(mnr::ParseRole("admin").has_value());
}

TEST_CASE("a credential round trips through JSON and a file", "[credential]") {
  Issued issued = MakeCredential();
  const mnr::Credential& c = issued.cred;
  const std::string text = mnr::CredentialToJson(c);
  json j = json::parse(text);
  CHECK(j["format"] == "mnr-credential");
  CHECK(j["version"] == 1);
  CHECK(j["role"] == "field");
  CHECK(j["server"] == "sync.example.org:7443");
  CHECK(j["sealing_public_key"] == crypto::Base64Encode(c.sealing_public_key));

  auto back = mnr::CredentialFromJson(text, "memory");
  REQUIRE(back.ok());
  CheckSame(*back, c);

  mnr::test::TempDir dir;
  const std::string path = dir / "q01.mnrcred";
  REQUIRE(mnr::SaveCredential(path, c).ok());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto loaded = mnr::LoadCredential(path);
  REQUIRE(loaded.ok());
  CheckSame(*loaded, c);

  SECTION("an existing file is never overwritten") {
    mnr::Credential changed = c;
    changed.name = "something else";
    auto s = mnr::SaveCredential(path, changed);
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == mnr::Status::Code::kAlreadyExists);
    CHECK(mnr::test::ReadText(path) == text);
  }
  SECTION("an invalid credential is not saved") {
    mnr::Credential bad = c;
    bad.sealing_public_key = "short";
    const std::string other = dir / "bad.mnrcred";
    CHECK_FALSE(mnr::SaveCredential(other, bad).ok());
    struct stat st2 {};
    CHECK(::stat(other.c_str(), &st2) != 0);
  }
  SECTION("a missing file names its path") {
    auto r = mnr::LoadCredential(dir / "nope.mnrcred");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("nope.mnrcred") != std::string::npos);
  }
}

TEST_CASE("loading names the missing or wrong field and the file", "[credential]") {
  Issued issued = MakeCredential();
  const json good = json::parse(mnr::CredentialToJson(issued.cred));

  for (const char* field : {"format", "version", "id", "role", "name", "countries", "server", "expires_at",
                            "certificate", "private_key", "ca_certificate", "sealing_public_key"}) {
    json j = good;
    j.erase(field);
    std::string msg = ErrorFor(j);
    INFO(msg);
    CHECK(msg.find(std::string("\"") + field + "\" is missing") != std::string::npos);
  }

  auto with = [&](const char* field, json value) {
    json j = good;
    j[field] = std::move(value);
    std::string msg = ErrorFor(j);
    INFO(msg);
    CHECK(msg.find(std::string("\"") + field + "\"") != std::string::npos);
    return msg;
  };
  CHECK(with("format", "something-else").find("mnr-credential") != std::string::npos);
  CHECK(with("version", 2).find("version 1") != std::string::npos);
  with("version", "1");
  with("role", "admin");
  with("countries", json::array());
  with("countries", "Q01");
  with("server", "no-port");
  with("server", "host:99999");
  with("expires_at", "tomorrow");
  with("sealing_public_key", "!!!!");
  with("sealing_public_key", crypto::Base64Encode("sixteen bytes..."));
  with("certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  CHECK(with("id", "cred-other").find("cred-3f9a0c") != std::string::npos);
  CHECK(with("ca_certificate", issued.other_ca_cert).find("did not issue") != std::string::npos);
  auto other_key = crypto::GenerateSigningKey();
  REQUIRE(other_key.ok());
  CHECK(with("private_key", other_key->private_pem).find("does not belong") != std::string::npos);

  // A coordinator may have no countries (it sees every country).
  json coordinator = good;
  coordinator["role"] = "coordinator";
  coordinator["countries"] = json::array();
  auto c = mnr::CredentialFromJson(coordinator.dump(), "memory");
  REQUIRE(c.ok());
  CHECK(c->role == mnr::Role::kCoordinator);

  auto not_json = mnr::CredentialFromJson("{\"format\": ", "/tmp/x.mnrcred");
  REQUIRE_FALSE(not_json.ok());
  CHECK(not_json.status().message().find("/tmp/x.mnrcred") != std::string::npos);
  CHECK_FALSE(mnr::CredentialFromJson("[1,2]", "memory").ok());
}
