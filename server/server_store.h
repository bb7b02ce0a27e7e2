// ServerStore: the reconciliation server's SQLite store (DIR/server.db, WAL) and key material
// (DIR/ca.key, DIR/server.key, DIR/sealing.key, mode 0600). It creates a store, opens and migrates
// it, and owns the database handle and the keys. What the store holds is read and written by units
// that take the database (or, for intake, the store): the country and credential registers
// (server/register.h), change-set intake (server/intake.h), the merged state with its conflicts and
// the coordinator's decisions (server/merged_state.h), pulls (server/pull.h), the audit log
// (server/audit_log.h) and the dataset (server/dataset.h). Opened by `mnr-server run` and by the
// admin commands at the same time: every write is one IMMEDIATE transaction and waits on a busy
// timeout. One ServerStore per thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mnr/sqlite.h"
#include "mnr/status.h"
#include "mnr/survey_schema.h"
#include "server/audit_log.h"
#include "server/server_paths.h"

namespace mnr::server {

// The store version this mnr-server writes (PRAGMA user_version); Open migrates older stores to it and
// refuses newer ones.
int ServerStoreVersion();

class ServerStore {
 public:
  // Creates DIR (refuses an existing one): store, CA, server TLS certificate for localhost, 127.0.0.1
  // and `hosts`, sealing key pair. `address` is the HOST:PORT written into credentials.
  static Status Init(const std::string& dir, const std::vector<std::string>& hosts, const std::string& address);
  static Result<std::unique_ptr<ServerStore>> Open(const std::string& dir);

  const ServerPaths& paths() const { return paths_; }
  const SurveySchema& schema() const { return *schema_; }
  Db& db() { return *db_; }
  std::string store_id();
  // The raw X25519 sealing key (DIR/sealing.key). Read on first use and kept for the life of this
  // ServerStore: intake needs it for every change-set.
  Result<std::string> SealingPrivateKey();
  // The server's Ed25519 signing key (DIR/server.key, PEM) that signs audit tree heads and receipts;
  // read on first use and kept, like the sealing key.
  Result<std::string> ServerSigningKey();
  // Signs with that key, for the audit log's tree heads and receipts (server/audit_log.h). Valid while
  // this ServerStore lives.
  Signer HeadSigner();

 private:
  ServerStore() = default;
  ServerPaths paths_;
  std::unique_ptr<Db> db_;
  std::optional<std::string> sealing_key_, signing_key_;
  const SurveySchema* schema_ = nullptr;
};

}  // namespace mnr::server
