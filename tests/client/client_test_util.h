// Helpers shared by the client store tests: a store in a scratch directory, credentials issued by a
// throwaway CA, and direct SQL reads to check what the store wrote.
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "client/client_store.h"
#include "mnr/crypto.h"
#include "tests/support/process.h"

namespace mnr::client::testing {

inline constexpr std::int64_t kJan2025 = 1735689600;

struct IssuedCredential {
  Credential credential;
  std::string sealing_private;  // the server's half, to open what the store sealed
};

inline IssuedCredential Issue(const std::vector<std::string>& countries, Role role = Role::kField,
                              const std::string& id = "cred-0a1b2c") {
  auto ca_key = crypto::GenerateSigningKey();
  REQUIRE(ca_key.ok());
  auto ca = crypto::CreateCaCertificate(*ca_key, "test CA", kJan2025, kJan2025 + 86400 * 3650);
  REQUIRE(ca.ok());
  auto key = crypto::GenerateSigningKey();
  REQUIRE(key.ok());
  crypto::CertificateRequest req;
  req.common_name = id;
  req.not_before = kJan2025;
  req.not_after = kJan2025 + 86400 * 3650;
  req.client = true;
  auto cert = crypto::IssueCertificate(*ca, ca_key->private_pem, key->public_pem, req);
  REQUIRE(cert.ok());
  auto sealing = crypto::GenerateSealingKey();
  REQUIRE(sealing.ok());
  IssuedCredential out;
  Credential& c = out.credential;
  c.id = id;
  c.role = role;
  c.name = "test device";
  c.countries = countries;
  c.server_address = "127.0.0.1:7443";
  c.certificate_pem = *cert;
  c.private_key_pem = key->private_pem;
  c.ca_certificate_pem = *ca;
  c.sealing_public_key = sealing->public_key;
  c.expires_at = req.not_after;
  out.sealing_private = sealing->private_key;
  return out;
}

inline std::unique_ptr<ClientStore> NewStore(const std::string& path, const std::vector<std::string>& countries,
                                             const std::optional<Credential>& cred = std::nullopt) {
  auto r = ClientStore::Create(path, countries, "test laptop", cred);
  INFO(r.status().message());
  REQUIRE(r.ok());
  return std::move(r).value();
}

inline std::int64_t QueryInt(Db& db, const std::string& sql) {
  auto st = db.Prepare(sql);
  INFO(sql << ": " << st.status().message());
  REQUIRE(st.ok());
  auto row = st->Step();
  REQUIRE(row.ok());
  REQUIRE(*row);
  return st->Int(0);
}

inline std::string QueryText(Db& db, const std::string& sql) {
  auto st = db.Prepare(sql);
  INFO(sql << ": " << st.status().message());
  REQUIRE(st.ok());
  auto row = st->Step();
  REQUIRE(row.ok());
  REQUIRE(*row);
  return st->Text(0);
}

inline AnswerEdit Set(const std::string& country, const std::string& indicator, Answer a,
                      const std::string& note = "") {
  return AnswerEdit{country, indicator, AnswerValue{a, note}};
}

inline AnswerEdit Clear(const std::string& country, const std::string& indicator) {
  return AnswerEdit{country, indicator, std::nullopt};
}

}  // namespace mnr::client::testing
