#include "server/register.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "mnr/crypto.h"
#include "mnr/file_util.h"
#include "mnr/limits.h"
#include "mnr/wall_clock.h"
#include "server/audit_log.h"
#include "server/dataset.h"
#include "server/store_internal.h"

namespace mnr::server {

namespace {

std::vector<std::string> SplitCountries(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    std::size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

Result<Role> RoleFromText(const std::string& s) {
  auto r = ParseRole(s);
  if (!r) return Status::Corruption("credential register holds an unknown role '" + s + "'");
  return *r;
}

Result<CredentialRecord> ReadCredentialRow(const Statement& st) {
  CredentialRecord c;
  c.id = st.Text(0);
  auto role = RoleFromText(st.Text(1));
  if (!role.ok()) return role.status();
  c.role = *role;
  c.name = st.Text(2);
  c.countries = SplitCountries(st.Text(3));
  c.certificate_pem = st.Text(4);
  c.fingerprint = st.Text(5);
  c.issued_at = st.Int(6);
  c.expires_at = st.Int(7);
  if (!st.IsNull(8)) c.revoked_at = st.Int(8);
  if (!st.IsNull(9)) c.predecessor = st.Text(9);
  return c;
}

constexpr const char* kCredentialColumns =
    "id, role, name, countries, certificate_pem, fingerprint, issued_at, expires_at, revoked_at, predecessor";

// The audit payload of a credential as issued (mnr/audit_format.h, kind 5).
std::string IssuedPayload(const Credential& c, const std::string& fingerprint, std::int64_t issued_at,
                          const std::optional<std::string>& predecessor) {
  nlohmann::json j = {{"id", c.id},
                      {"role", RoleName(c.role)},
                      {"name", c.name},
                      {"countries", c.countries},
                      {"certificate", c.certificate_pem},
                      {"fingerprint", fingerprint},
                      {"issued_at", issued_at},
                      {"expires_at", c.expires_at}};
  if (predecessor) j["predecessor"] = *predecessor;
  return j.dump();
}

// Issues a credential; with `renews`, its successor, revoking `renews` and moving its devices in the
// same transaction.
Result<Credential> IssueOrRenew(Db& db, const ServerPaths& paths, Role role, const std::vector<std::string>& countries_in,
                                const std::string& name, std::int64_t lifetime_seconds, const CredentialRecord* renews) {
  MNR_RETURN_IF_ERROR(CheckLabel(name, "credential name", limits::kNameBytes));
  if (lifetime_seconds <= 0 || lifetime_seconds > 20 * 365 * 24 * 3600LL) {
    return Status::InvalidArgument("credential lifetime must be between 1 second and 20 years");
  }
  std::vector<std::string> countries;
  for (const auto& c : countries_in) {
    if (std::find(countries.begin(), countries.end(), c) == countries.end()) countries.push_back(c);
  }
  if (role == Role::kField && countries.empty()) {
    return Status::InvalidArgument("a field credential needs at least one --country it may write");
  }
  auto registered = Countries(db);
  if (!registered.ok()) return registered.status();
  for (const auto& c : countries) {
    bool known = std::any_of(registered->begin(), registered->end(), [&](const Country& r) { return r.code == c; });
    if (!known) {
      return Status::InvalidArgument("country '" + c + "' is not in the register (import it with `mnr-server countries import`)");
    }
  }
  auto address = GetMeta(db, "server_address");
  if (!address.ok()) return address.status();
  auto sealing_b64 = GetMeta(db, "sealing_public_key");
  if (!sealing_b64.ok()) return sealing_b64.status();
  if (!*sealing_b64) return Status::Corruption("the store has no sealing public key");
  auto sealing = crypto::Base64Decode(**sealing_b64);
  if (!sealing.ok()) return sealing.status().With("sealing public key");
  auto ca_cert = ReadFile(paths.ca_cert(), kKeyFileBytes);
  if (!ca_cert.ok()) return ca_cert.status();
  auto ca_key = ReadFile(paths.ca_key(), kKeyFileBytes);
  if (!ca_key.ok()) return ca_key.status();

  const std::int64_t now = UnixNow();
  Credential c;
  c.id = "cred-" + crypto::HexEncode(crypto::RandomBytes(8));
  c.role = role;
  c.name = name;
  c.countries = countries;
  c.server_address = address->value_or("localhost:7443");
  c.ca_certificate_pem = *ca_cert;
  c.sealing_public_key = *sealing;
  c.expires_at = now + lifetime_seconds;
  auto key = crypto::GenerateSigningKey();
  if (!key.ok()) return key.status().With("generating the credential key");
  crypto::CertificateRequest req;
  req.common_name = c.id;
  req.not_before = now - kClockSlack;
  req.not_after = c.expires_at;
  req.client = true;
  auto cert = crypto::IssueCertificate(*ca_cert, *ca_key, key->public_pem, req);
  if (!cert.ok()) return cert.status().With("issuing the credential certificate");
  auto info = crypto::InspectCertificate(*cert);
  if (!info.ok()) return info.status();
  c.certificate_pem = *cert;
  c.private_key_pem = key->private_pem;
  // Return bundles for the holder's offices are sealed to a key derived from this private key
  // (docs/protocol.md, "Return bundles"); the server keeps only its public half.
  std::optional<std::string> return_key;
  if (role == Role::kField) {
    auto rk = crypto::DeriveReturnKey(key->private_pem);
    if (!rk.ok()) return rk.status().With("deriving the credential's return key");
    return_key = crypto::Base64Encode(rk->public_key);
  }

  Transaction tx(db);
  MNR_RETURN_IF_ERROR(tx.status());
  auto st = db.Cached(
      "INSERT INTO credentials (id, role, name, countries, certificate_pem, fingerprint, issued_at, expires_at, predecessor, "
      "return_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!st.ok()) return st.status();
  const std::optional<std::string> predecessor = renews ? std::optional<std::string>(renews->id) : std::nullopt;
  st->Bind(1, c.id).Bind(2, RoleName(role)).Bind(3, name).Bind(4, JoinCountries(countries));
  st->Bind(5, c.certificate_pem).Bind(6, info->fingerprint).Bind(7, now).Bind(8, c.expires_at).Bind(9, predecessor);
  st->Bind(10, return_key);
  MNR_RETURN_IF_ERROR(st->Run());
  auto entry = AppendAuditEntry(db, AuditKind::kCredentialIssued, OperatorActor(), IssuedPayload(c, info->fingerprint, now, predecessor));
  if (!entry.ok()) return entry.status();
  if (renews) {
    // The old credential is revoked in the same transaction, and its devices follow the new one.
    auto revoke = db.Cached("UPDATE credentials SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
    if (!revoke.ok()) return revoke.status();
    revoke->Bind(1, now).Bind(2, renews->id);
    MNR_RETURN_IF_ERROR(revoke->Run());
    if (db.Changes() != 1) return Status::InvalidArgument("credential " + renews->id + " was revoked meanwhile; it is not renewed");
    auto devices = db.Cached("UPDATE devices SET credential_id = ? WHERE credential_id = ?");
    if (!devices.ok()) return devices.status();
    devices->Bind(1, c.id).Bind(2, renews->id);
    MNR_RETURN_IF_ERROR(devices->Run());
    nlohmann::json revoked = {{"id", renews->id}, {"revoked_at", now}, {"successor", c.id}};
    auto logged = AppendAuditEntry(db, AuditKind::kCredentialRevoked, OperatorActor(), revoked.dump());
    if (!logged.ok()) return logged.status();
  }
  MNR_RETURN_IF_ERROR(tx.Commit());
  return c;
}

}  // namespace

Status ValidateCountry(const Country& c) {
  if (!IsValidCountryCode(c.code)) {
    return Status::InvalidArgument("country code '" + c.code + "' is not 2 to 8 capital letters or digits");
  }
  MNR_RETURN_IF_ERROR(CheckLabel(c.name, "country name", limits::kNameBytes).With(c.code));
  static const std::set<std::string, std::less<>> kGroups = {"high", "upper_middle", "lower_middle", "low"};
  if (!kGroups.count(c.income_group)) {
    return Status::InvalidArgument(c.code + ": income group '" + c.income_group +
                                   "' is not one of high, upper_middle, lower_middle, low");
  }
  if (!c.region.empty()) MNR_RETURN_IF_ERROR(CheckLabel(c.region, "region", limits::kNameBytes).With(c.code));
  return Status::OK();
}

Status ImportCountries(Db& db, const std::vector<Country>& rows) {
  std::set<std::string> seen;
  for (const auto& c : rows) {
    MNR_RETURN_IF_ERROR(ValidateCountry(c));
    if (!seen.insert(c.code).second) return Status::InvalidArgument("country " + c.code + " is listed twice");
  }
  Transaction tx(db);
  MNR_RETURN_IF_ERROR(tx.status());
  auto st = db.Cached(
      "INSERT INTO countries (code, name, income_group, region) VALUES (?, ?, ?, ?) "
      "ON CONFLICT (code) DO UPDATE SET name = excluded.name, income_group = excluded.income_group, region = excluded.region");
  if (!st.ok()) return st.status();
  for (const auto& c : rows) {
    st->Reset();
    st->Bind(1, c.code).Bind(2, c.name).Bind(3, c.income_group).Bind(4, c.region);
    MNR_RETURN_IF_ERROR(DatasetOnCountryImport(db, c));
    MNR_RETURN_IF_ERROR(st->Run());
  }
  nlohmann::json logged = nlohmann::json::array();
  for (const auto& c : rows) logged.push_back({{"code", c.code}, {"name", c.name}, {"income_group", c.income_group}, {"region", c.region}});
  auto entry = AppendAuditEntry(db, AuditKind::kCountriesChanged, OperatorActor(), logged.dump());
  if (!entry.ok()) return entry.status();
  return tx.Commit();
}

Result<std::vector<Country>> Countries(Db& db) {
  auto st = db.Cached("SELECT code, name, income_group, region FROM countries ORDER BY code");
  if (!st.ok()) return st.status();
  std::vector<Country> out;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back({st->Text(0), st->Text(1), st->Text(2), st->Text(3)});
  }
  return out;
}

Result<Credential> IssueCredential(Db& db, const ServerPaths& paths, Role role, const std::vector<std::string>& countries,
                                   const std::string& name, std::int64_t lifetime_seconds) {
  return IssueOrRenew(db, paths, role, countries, name, lifetime_seconds, nullptr);
}

Result<Credential> RenewCredential(Db& db, const ServerPaths& paths, const std::string& id, std::int64_t lifetime_seconds) {
  auto old = FindCredential(db, id);
  if (!old.ok()) return old.status();
  if (!*old) return Status::NotFound("no credential " + id + " in the register (see `mnr-server credentials list`)");
  const CredentialRecord before = **old;
  if (before.revoked_at) {
    auto successor = db.Cached("SELECT id FROM credentials WHERE predecessor = ?");
    if (!successor.ok()) return successor.status();
    successor->Bind(1, id);
    auto row = successor->Step();
    if (!row.ok()) return row.status();
    return Status::InvalidArgument("credential " + id + " was revoked on " + FormatUtcMinutes(*before.revoked_at) +
                                   (*row ? " (renewed as " + successor->Text(0) + "; renew that one)" : "; a revoked credential is not renewed, issue a new one"));
  }
  return IssueOrRenew(db, paths, before.role, before.countries, before.name, lifetime_seconds, &before);
}

Status RevokeCredential(Db& db, const std::string& id) {
  Transaction tx(db);
  MNR_RETURN_IF_ERROR(tx.status());
  auto found = FindCredential(db, id);
  if (!found.ok()) return found.status();
  if (!*found) return Status::NotFound("no credential " + id + " in the register (see `mnr-server credentials list`)");
  if ((*found)->revoked_at) return Status::OK();
  const std::int64_t now = UnixNow();
  auto st = db.Cached("UPDATE credentials SET revoked_at = ? WHERE id = ?");
  if (!st.ok()) return st.status();
  st->Bind(1, now).Bind(2, id);
  MNR_RETURN_IF_ERROR(st->Run());
  nlohmann::json logged = {{"id", id}, {"revoked_at", now}};
  auto entry = AppendAuditEntry(db, AuditKind::kCredentialRevoked, OperatorActor(), logged.dump());
  if (!entry.ok()) return entry.status();
  return tx.Commit();
}

Result<std::optional<CredentialRecord>> FindCredential(Db& db, const std::string& id) {
  auto st = db.Cached(std::string("SELECT ") + kCredentialColumns + " FROM credentials WHERE id = ?");
  if (!st.ok()) return st.status();
  st->Bind(1, id);
  auto row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<CredentialRecord>();
  auto c = ReadCredentialRow(*st);
  if (!c.ok()) return c.status();
  return std::optional<CredentialRecord>(std::move(*c));
}

Result<std::vector<CredentialRecord>> Credentials(Db& db) {
  auto st = db.Cached(std::string("SELECT ") + kCredentialColumns + " FROM credentials ORDER BY issued_at, id");
  if (!st.ok()) return st.status();
  std::vector<CredentialRecord> out;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto c = ReadCredentialRow(*st);
    if (!c.ok()) return c.status();
    out.push_back(std::move(*c));
  }
  return out;
}

Status CheckCredentialUsable(const CredentialRecord& c, std::int64_t now) {
  if (c.revoked_at) {
    return Status::Refused("credential " + c.id + " (" + c.name + ") was revoked on " + FormatUtcMinutes(*c.revoked_at) +
                           "; ask the coordinator for a new one");
  }
  if (now >= c.expires_at) {
    return Status::Refused("credential " + c.id + " (" + c.name + ") expired on " + FormatUtcMinutes(c.expires_at) +
                           "; ask the coordinator for a new one");
  }
  return Status::OK();
}

}  // namespace mnr::server
