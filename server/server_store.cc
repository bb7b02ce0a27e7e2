#include "server/server_store.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "mnr/address.h"
#include "mnr/crypto.h"
#include "mnr/file_util.h"
#include "mnr/wall_clock.h"
#include "server/audit_log.h"
#include "server/backup.h"
#include "server/store_internal.h"

namespace mnr::embedded {
std::string_view server_store_v1();
std::string_view server_store_v2();
std::string_view server_store_v3();
std::string_view server_store_v4();
std::string_view server_store_v5();
std::string_view server_store_v6();
std::string_view server_store_v7();
std::string_view server_store_v8();
}

namespace mnr::server {

namespace {

// Migration i (0-based) takes the store from version i+1 to i+2.
constexpr std::string_view (*kMigrations[])() = {&mnr::embedded::server_store_v2, &mnr::embedded::server_store_v3,
                                                      &mnr::embedded::server_store_v4, &mnr::embedded::server_store_v5,
                                                      &mnr::embedded::server_store_v6, &mnr::embedded::server_store_v7,
                                                      &mnr::embedded::server_store_v8};
constexpr int kStoreVersion = 1 + static_cast<int>(std::size(kMigrations));

// Brings a store from `from` to kStoreVersion, one transaction per step, so a crash mid-way leaves a
// store at a well-defined version that the next Open continues from.
Status Migrate(Db& db, int from) {
  for (int v = from; v < kStoreVersion; ++v) {
    Transaction tx(db);
    MNR_RETURN_IF_ERROR(tx.status());
    MNR_RETURN_IF_ERROR(db.Exec(kMigrations[v - 1]()).With("migrating " + db.path() + " to version " + std::to_string(v + 1)));
    MNR_RETURN_IF_ERROR(db.Exec("PRAGMA user_version = " + std::to_string(v + 1)));
    MNR_RETURN_IF_ERROR(tx.Commit());
  }
  return Status::OK();
}
}  // namespace

int ServerStoreVersion() { return kStoreVersion; }

namespace {

constexpr std::int64_t kTenYears = 10LL * 365 * 24 * 3600;

bool IsIpAddress(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

Status CheckAddress(const std::string& address) {
  auto hp = ParseHostPort(address);
  if (!hp.ok()) return hp.status().With("server address (--address HOST:PORT)");
  return CheckLabel(address, "server address", 255);
}

}  // namespace

Status ServerStore::Init(const std::string& dir_in, const std::vector<std::string>& hosts, const std::string& address) {
  std::string dir = dir_in;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir.empty()) return Status::InvalidArgument("no data directory given");
  struct stat sb;
  if (::lstat(dir.c_str(), &sb) == 0) {
    return Status::AlreadyExists(dir + " already exists; a server store is only created in a new directory "
                                       "(choose another --data, or remove the old one deliberately)");
  }
  MNR_RETURN_IF_ERROR(CheckAddress(address));
  std::vector<std::string> dns = {"localhost"}, ips = {"127.0.0.1"};
  for (const auto& h : hosts) {
    MNR_RETURN_IF_ERROR(CheckLabel(h, "--host", 253));
    if (h.find_first_of(" ,/") != std::string::npos) return Status::InvalidArgument("--host '" + h + "' is not a host name or IP address");
    auto& list = IsIpAddress(h) ? ips : dns;
    if (std::find(list.begin(), list.end(), h) == list.end()) list.push_back(h);
  }

  // Everything is built in a sibling directory and renamed into place at the end, so a failure
  // (or a crash) never leaves a half-made store behind under DIR.
  std::string tmp = dir + ".init-" + crypto::HexEncode(crypto::RandomBytes(6));
  if (::mkdir(tmp.c_str(), 0700) != 0) {
    return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno) + " (does the parent directory exist?)");
  }
  ServerPaths p{tmp};
  auto build = [&]() -> Status {
    const std::int64_t now = UnixNow();
    const std::string store_id = crypto::HexEncode(crypto::RandomBytes(16));
    auto ca_key = crypto::GenerateSigningKey();
    if (!ca_key.ok()) return ca_key.status().With("generating the CA key");
    auto ca_cert = crypto::CreateCaCertificate(*ca_key, "mnr-sync CA " + store_id.substr(0, 8), now - kClockSlack, now + kTenYears);
    if (!ca_cert.ok()) return ca_cert.status().With("creating the CA certificate");
    auto server_key = crypto::GenerateSigningKey();
    if (!server_key.ok()) return server_key.status().With("generating the server key");
    crypto::CertificateRequest req;
    req.common_name = "server";
    req.dns_names = dns;
    req.ip_addresses = ips;
    req.not_before = now - kClockSlack;
    req.not_after = now + kTenYears;
    req.server = true;
    auto server_cert = crypto::IssueCertificate(*ca_cert, ca_key->private_pem, server_key->public_pem, req);
    if (!server_cert.ok()) return server_cert.status().With("issuing the server certificate");
    auto sealing = crypto::GenerateSealingKey();
    if (!sealing.ok()) return sealing.status().With("generating the sealing key");

    MNR_RETURN_IF_ERROR(WriteFileAtomic(p.ca_key(), ca_key->private_pem, 0600));
    MNR_RETURN_IF_ERROR(WriteFileAtomic(p.server_key(), server_key->private_pem, 0600));
    MNR_RETURN_IF_ERROR(WriteFileAtomic(p.sealing_key(), crypto::Base64Encode(sealing->private_key) + "\n", 0600));
    MNR_RETURN_IF_ERROR(WriteFileAtomic(p.ca_cert(), *ca_cert, 0644));
    MNR_RETURN_IF_ERROR(WriteFileAtomic(p.server_cert(), *server_cert, 0644));

    auto db = Db::Open(p.db(), true);
    if (!db.ok()) return db.status();
    Transaction tx(**db);
    MNR_RETURN_IF_ERROR(tx.status());
    MNR_RETURN_IF_ERROR((*db)->Exec(embedded::server_store_v1()).With("creating the server store schema"));
    MNR_RETURN_IF_ERROR(SetMeta(**db, "store_id", store_id));
    MNR_RETURN_IF_ERROR(SetMeta(**db, "server_address", address));
    MNR_RETURN_IF_ERROR(SetMeta(**db, "sealing_public_key", crypto::Base64Encode(sealing->public_key)));
    MNR_RETURN_IF_ERROR(SetMeta(**db, "hlc", "0"));
    MNR_RETURN_IF_ERROR(SetMeta(**db, "state_seq", "0"));
    MNR_RETURN_IF_ERROR(SetMeta(**db, "created_at", std::to_string(now)));
    MNR_RETURN_IF_ERROR((*db)->Exec("PRAGMA user_version = 1"));
    MNR_RETURN_IF_ERROR(tx.Commit());
    return Migrate(**db, 1);
  };
  Status s = build();
  if (s.ok() && ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_NOREPLACE) != 0) {
    s = Status::IOError("cannot move the new store into " + dir + ": " + std::strerror(errno));
  }
  if (!s.ok()) {
    std::error_code ec;
    std::filesystem::remove_all(tmp, ec);
    return s.With("init " + dir);
  }
  std::string parent = std::filesystem::path(dir).parent_path().string();
  int fd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  return Status::OK();
}

Result<std::unique_ptr<ServerStore>> ServerStore::Open(const std::string& dir) {
  std::unique_ptr<ServerStore> s(new ServerStore());
  s->paths_.dir = dir;
  if (!FileExists(s->paths_.db())) {
    return Status::NotFound(dir + " is not a server store (no server.db); create one with `mnr-server init --data " + dir + "`");
  }
  auto db = Db::Open(s->paths_.db(), false);
  if (!db.ok()) return db.status();
  s->db_ = std::move(*db);
  auto v = s->db_->UserVersion();
  if (!v.ok()) return v.status();
  if (*v > kStoreVersion) {
    return Status::InvalidArgument(s->paths_.db() + " has store version " + std::to_string(*v) +
                                   ", newer than this mnr-server understands (" + std::to_string(kStoreVersion) +
                                   "); upgrade mnr-server");
  }
  if (*v < 1) return Status::Corruption(s->paths_.db() + " is not an mnr-server store (user_version " + std::to_string(*v) + ")");
  if (*v < kStoreVersion) {
    // A store made by an earlier release: keep a copy of it as it was before changing it.
    auto saved = BackupBeforeMigration(dir, *v, kStoreVersion, UnixNow());
    if (!saved.ok()) return saved.status();
    std::cerr << "mnr-server: migrating " << s->paths_.db() << " from store version " << *v << " to " << kStoreVersion
              << "; the store as it was is saved in " << *saved << "\n";
  }
  MNR_RETURN_IF_ERROR(Migrate(*s->db_, *v));
  MNR_RETURN_IF_ERROR(BackfillAuditLog(*s->db_).With(s->paths_.db()));
  auto schema = SurveySchema::Active();
  if (!schema.ok()) return schema.status();
  s->schema_ = *schema;
  return s;
}

std::string ServerStore::store_id() {
  auto v = GetMeta(*db_, "store_id");
  return v.ok() && *v ? **v : std::string();
}

Result<std::string> ServerStore::ServerSigningKey() {
  if (signing_key_) return *signing_key_;
  auto key = ReadFile(paths_.server_key(), kKeyFileBytes);
  if (!key.ok()) return key.status();
  signing_key_ = *key;
  return key;
}

Signer ServerStore::HeadSigner() {
  return [this](std::string_view message) -> Result<std::string> {
    auto key = ServerSigningKey();
    if (!key.ok()) return key.status();
    return crypto::Sign(*key, message);
  };
}

Result<std::string> ServerStore::SealingPrivateKey() {
  if (sealing_key_) return *sealing_key_;
  auto text = ReadFile(paths_.sealing_key(), kKeyFileBytes);
  if (!text.ok()) return text.status();
  std::string t = *text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  auto raw = crypto::Base64Decode(t);
  if (!raw.ok() || raw->size() != 32) {
    return Status::Corruption(paths_.sealing_key() + " does not hold a base64 X25519 private key (32 bytes)");
  }
  sealing_key_ = *raw;
  return *raw;
}

}  // namespace mnr::server
