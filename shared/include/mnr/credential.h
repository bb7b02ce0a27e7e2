// Credentials: one file (.mnrcred, JSON, mode 0600) that gives one device or person an identity:
// its certificate and private key, the CA certificate that both sides trust, the server's address
// and the server's sealing public key. The server keeps the authoritative register; the file is what
// travels to the device.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/status.h"

namespace mnr {

enum class Role { kField, kCoordinator, kAuditor };
std::string_view RoleName(Role r);
std::optional<Role> ParseRole(std::string_view s);

struct Credential {
  std::string id;                      // the certificate's common name; stable, "cred-<hex>"
  Role role = Role::kField;
  std::string name;                    // human label ("Q01 office laptop")
  std::vector<std::string> countries;  // field: the countries it may write
  std::string server_address;          // HOST:PORT
  std::string certificate_pem;
  std::string private_key_pem;         // secret: never logged
  std::string ca_certificate_pem;
  std::string sealing_public_key;      // raw 32 bytes (base64 in the file)
  std::int64_t expires_at = 0;         // Unix seconds
  // The id of the credential this one renewed (`mnr-server renew`), so that a device can tell its
  // own successor from an unrelated credential. Absent in files of issued credentials and in files
  // written before it existed ("renews" in the JSON).
  std::optional<std::string> renews;
};

std::string CredentialToJson(const Credential& c);
// How much CredentialFromJson checks. A credential from outside (a file, LoadCredential) is checked
// whole: the certificate, the CA certificate and the key are decoded and must belong together. A copy
// this program stored after that check (the client store's bound credential) is read for its fields
// only: decoding the keys took a third of a sync's start-up, and the TLS context decodes them anyway
// (once), refusing a key that does not match its certificate.
enum class CredentialCheck { kWhole, kFieldsOnly };
Result<Credential> CredentialFromJson(std::string_view json, std::string_view origin,
                                      CredentialCheck check = CredentialCheck::kWhole);
Result<Credential> LoadCredential(const std::string& path);
// Written atomically with mode 0600; refuses to overwrite an existing file.
Status SaveCredential(const std::string& path, const Credential& c);

}  // namespace mnr
