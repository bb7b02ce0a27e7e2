// The country register (who the survey counts, server/country.h) and the credential register (every
// credential the server's CA issued: role, countries, certificate, revocation, renewal), in the server
// store's database. Issuing signs with the CA (DIR/ca.key, DIR/ca.crt), so only the functions that
// issue take the store's paths. Each change is one transaction with its audit entry
// (server/audit_log.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mnr/credential.h"
#include "mnr/sqlite.h"
#include "mnr/status.h"
#include "server/country.h"
#include "server/server_paths.h"

namespace mnr::server {

// OK if `c` can enter the register: a valid code, a name, a known income group, text limits.
Status ValidateCountry(const Country& c);

// Adds the rows to the country register, or updates those whose code it holds, together with the
// dataset's groups (server/dataset.h). Nothing is stored if a row is invalid or a code is listed twice.
Status ImportCountries(Db& db, const std::vector<Country>& rows);
// The country register, by code.
Result<std::vector<Country>> Countries(Db& db);

struct CredentialRecord {
  std::string id;
  Role role = Role::kField;
  std::string name;
  std::vector<std::string> countries;
  std::string certificate_pem;
  std::string fingerprint;
  std::int64_t issued_at = 0;
  std::int64_t expires_at = 0;
  std::optional<std::int64_t> revoked_at;
  std::optional<std::string> predecessor;  // the credential this one renewed (mnr-server renew)
};

// Issues a new credential (a key pair and a certificate from the CA) and records it. A field
// credential names at least one country, and every country must be in the register.
Result<Credential> IssueCredential(Db& db, const ServerPaths& paths, Role role, const std::vector<std::string>& countries,
                                   const std::string& name, std::int64_t lifetime_seconds);
// Revokes credential `id` now. OK if it was revoked already; NotFound if the register has no `id`.
Status RevokeCredential(Db& db, const std::string& id);
// Issues a successor of credential `id` (same role, name and countries, a new key pair), revokes
// `id` and moves its devices to the successor, in one transaction. Change-sets the old credential
// signed before the renewal are still accepted (server/intake.h), so a device loses nothing.
Result<Credential> RenewCredential(Db& db, const ServerPaths& paths, const std::string& id, std::int64_t lifetime_seconds);
// The credential `id`; nullopt if the register has none.
Result<std::optional<CredentialRecord>> FindCredential(Db& db, const std::string& id);
// Every credential ever issued, revoked ones too, in the order of issue.
Result<std::vector<CredentialRecord>> Credentials(Db& db);
// OK if the credential is not revoked and has not expired at `now`; else a Refused status with a
// reason the holder can act on.
Status CheckCredentialUsable(const CredentialRecord& c, std::int64_t now);

}  // namespace mnr::server
