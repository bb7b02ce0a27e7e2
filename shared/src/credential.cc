#include "mnr/credential.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "mnr/crypto.h"
#include "mnr/file_util.h"
#include "mnr/limits.h"

namespace mnr {
namespace {

using nlohmann::json;

constexpr std::string_view kFormat = "mnr-credential";
constexpr int kVersion = 1;
// A credential is three PEM blobs and a few names; anything near this size is not a credential.
constexpr std::size_t kMaxCredentialBytes = 1024 * 1024;

Status FieldError(std::string_view origin, std::string_view field, std::string_view problem) {
  return Status::InvalidArgument(std::string(origin) + ": credential field \"" + std::string(field) + "\" " +
                                 std::string(problem));
}

Result<const json*> Require(const json& obj, std::string_view origin, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end()) return FieldError(origin, field, "is missing");
  return &*it;
}

Result<std::string> RequireString(const json& obj, std::string_view origin, const char* field, bool allow_empty = false) {
  auto v = Require(obj, origin, field);
  if (!v.ok()) return v.status();
  if (!(*v)->is_string()) return FieldError(origin, field, "must be a string");
  std::string s = (*v)->get<std::string>();
  if (s.empty() && !allow_empty) return FieldError(origin, field, "is empty");
  return s;
}

Status CheckAddress(std::string_view origin, const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return FieldError(origin, "server", "must be HOST:PORT, got \"" + address + "\"");
  }
  std::string port = address.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) < 1 ||
      std::stoi(port) > 65535) {
    return FieldError(origin, "server", "has an invalid port in \"" + address + "\" (1-65535)");
  }
  return Status::OK();
}

// The checks that tie the parts together, so a credential assembled from mismatched pieces is caught
// when it is loaded rather than as an obscure TLS failure later.
Status CheckConsistent(const Credential& c, std::string_view origin) {
  auto info = crypto::InspectCertificate(c.certificate_pem);
  if (!info.ok()) return FieldError(origin, "certificate", "is not a valid certificate: " + info.status().message());
  if (info->common_name != c.id) {
    return FieldError(origin, "id", "is \"" + c.id + "\" but the certificate is for \"" + info->common_name + "\"");
  }
  auto ca = crypto::InspectCertificate(c.ca_certificate_pem);
  if (!ca.ok()) return FieldError(origin, "ca_certificate", "is not a valid certificate: " + ca.status().message());
  Status chain = crypto::VerifyCertificate(c.certificate_pem, c.ca_certificate_pem, info->not_before);
  if (!chain.ok()) return FieldError(origin, "ca_certificate", "did not issue the certificate: " + chain.message());
  static constexpr std::string_view kProbe = "mnr-credential key check";
  auto sig = crypto::Sign(c.private_key_pem, kProbe);
  if (!sig.ok()) return FieldError(origin, "private_key", "is not a usable Ed25519 key: " + sig.status().message());
  if (!crypto::VerifyWithCertificate(c.certificate_pem, kProbe, *sig).ok()) {
    return FieldError(origin, "private_key", "does not belong to the certificate");
  }
  return Status::OK();
}

}  // namespace

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kField: return "field";
    case Role::kCoordinator: return "coordinator";
    case Role::kAuditor: return "auditor";
  }
  return "unknown";
}

std::optional<Role> ParseRole(std::string_view s) {
  if (s == "field") return Role::kField;
  if (s == "coordinator") return Role::kCoordinator;
  if (s == "auditor") return Role::kAuditor;
  return std::nullopt;
}

std::string CredentialToJson(const Credential& c) {
  json j = json::object();
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["id"] = c.id;
  j["role"] = RoleName(c.role);
  j["name"] = c.name;
  j["countries"] = c.countries;
  j["server"] = c.server_address;
  j["expires_at"] = c.expires_at;
  j["certificate"] = c.certificate_pem;
  j["private_key"] = c.private_key_pem;
  j["ca_certificate"] = c.ca_certificate_pem;
  j["sealing_public_key"] = crypto::Base64Encode(c.sealing_public_key);
  if (c.renews) j["renews"] = *c.renews;
  return j.dump(2) + "\n";
}

Result<Credential> CredentialFromJson(std::string_view text, std::string_view origin, CredentialCheck check) {
  json j;
  try {
    j = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string(origin) + ": not a credential file (invalid JSON: " + e.what() + ")");
  }
  if (!j.is_object()) return Status::InvalidArgument(std::string(origin) + ": not a credential file (not a JSON object)");

  auto format = RequireString(j, origin, "format");
  if (!format.ok()) return format.status();
  if (*format != kFormat) return FieldError(origin, "format", "must be \"mnr-credential\", got \"" + *format + "\"");
  auto version = Require(j, origin, "version");
  if (!version.ok()) return version.status();
  if (!(*version)->is_number_integer()) return FieldError(origin, "version", "must be an integer");
  if ((*version)->get<std::int64_t>() != kVersion) {
    return FieldError(origin, "version", "is " + (*version)->dump() + "; this build reads version 1 (upgrade mnr-sync)");
  }

  Credential c;
  auto id = RequireString(j, origin, "id");
  if (!id.ok()) return id.status();
  c.id = *id;
  auto role = RequireString(j, origin, "role");
  if (!role.ok()) return role.status();
  auto parsed_role = ParseRole(*role);
  if (!parsed_role) return FieldError(origin, "role", "must be field, coordinator or auditor, got \"" + *role + "\"");
  c.role = *parsed_role;
  auto name = RequireString(j, origin, "name", true);
  if (!name.ok()) return name.status();
  if (name->size() > limits::kNameBytes) {
    return FieldError(origin, "name", "is longer than " + std::to_string(limits::kNameBytes) + " bytes");
  }
  c.name = *name;

  auto countries = Require(j, origin, "countries");
  if (!countries.ok()) return countries.status();
  if (!(*countries)->is_array()) return FieldError(origin, "countries", "must be an array of country codes");
  for (const json& code : **countries) {
    if (!code.is_string() || code.get<std::string>().empty()) {
      return FieldError(origin, "countries", "must hold only non-empty strings");
    }
    c.countries.push_back(code.get<std::string>());
  }
  if (c.role == Role::kField && c.countries.empty()) {
    return FieldError(origin, "countries", "is empty, but a field credential must name the countries it may write");
  }

  auto server = RequireString(j, origin, "server");
  if (!server.ok()) return server.status();
  MNR_RETURN_IF_ERROR(CheckAddress(origin, *server));
  c.server_address = *server;

  auto expires = Require(j, origin, "expires_at");
  if (!expires.ok()) return expires.status();
  if (!(*expires)->is_number_integer()) return FieldError(origin, "expires_at", "must be an integer (Unix seconds)");
  c.expires_at = (*expires)->get<std::int64_t>();

  auto cert = RequireString(j, origin, "certificate");
  if (!cert.ok()) return cert.status();
  c.certificate_pem = *cert;
  auto key = RequireString(j, origin, "private_key");
  if (!key.ok()) return key.status();
  c.private_key_pem = *key;
  auto ca = RequireString(j, origin, "ca_certificate");
  if (!ca.ok()) return ca.status();
  c.ca_certificate_pem = *ca;
  auto sealing = RequireString(j, origin, "sealing_public_key");
  if (!sealing.ok()) return sealing.status();
  auto raw = crypto::Base64Decode(*sealing);
  if (!raw.ok()) return FieldError(origin, "sealing_public_key", "is not valid base64: " + raw.status().message());
  c.sealing_public_key = *raw;
  if (c.sealing_public_key.size() != 32) {
    return FieldError(origin, "sealing_public_key",
                      "must be 32 bytes, got " + std::to_string(c.sealing_public_key.size()));
  }
  if (j.contains("renews")) {
    auto renews = RequireString(j, origin, "renews");
    if (!renews.ok()) return renews.status();
    if (*renews == c.id) return FieldError(origin, "renews", "names the credential itself");
    c.renews = *renews;
  }

  if (check == CredentialCheck::kWhole) MNR_RETURN_IF_ERROR(CheckConsistent(c, origin));
  return c;
}

Result<Credential> LoadCredential(const std::string& path) {
  auto text = ReadFile(path, kMaxCredentialBytes);
  if (!text.ok()) return text.status().With("cannot read the credential file");
  return CredentialFromJson(*text, path);
}

Status SaveCredential(const std::string& path, const Credential& c) {
  const std::string text = CredentialToJson(c);
  // Refuse to write what LoadCredential would reject, so a bad credential never reaches a device.
  auto check = CredentialFromJson(text, path);
  if (!check.ok()) return check.status().With("refusing to save an invalid credential");
  const std::string exists = path + ": already exists; refusing to overwrite a credential (remove it first)";
  if (FileExists(path)) return Status::AlreadyExists(exists);
  Status written = WriteNewFileAtomic(path, text, 0600);
  if (written.code() == Status::Code::kAlreadyExists) return Status::AlreadyExists(exists);
  return written;
}

}  // namespace mnr
