// Dataset releases on the client: received at the end of every sync (the server's "release.latest"
// operation), checked, and kept in the store so `mnr-client dataset` reads them offline. A release is
// kept only if its server certificate chains to the credential's CA, the server key signed its
// manifest, and its CSV hashes to the manifest's content hash.
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "client/client_store.h"
#include "mnr/connection.h"
#include "mnr/status.h"

namespace mnr::client {

struct StoredRelease {
  std::int64_t seq = 0;
  std::string label;
  std::string release_id;      // hex SHA-256 of manifest
  std::string content_sha256;  // hex SHA-256 of csv
  std::string csv;
  std::string manifest;  // the signed JSON text
  std::string signature;
  std::string server_certificate;
  std::int64_t received_at = 0;
};

// Asking the server for its latest release, in two halves so that a sync can pipeline the question
// with its pushes and pull: QueueLatestReleaseRequest queues the request (with the id of the latest
// release held) on the connection; ReadLatestRelease flushes what is queued, reads the answer and keeps
// the release if it is new. Returns the new release's label, or "" when there is none or nothing
// changed. A server that does not offer the operation is not an error. Run after Welcome.
Status QueueLatestReleaseRequest(Connection& conn, ClientStore& store);
asio::awaitable<Result<std::string>> ReadLatestRelease(Connection& conn, ClientStore& store);

// Checks and stores the result of "release.latest" (docs/protocol.md); returns the label stored, or ""
// for {unchanged} and {release: null}. Corruption if a check fails; nothing is stored then.
// CheckReleaseResult then KeepRelease.
Result<std::string> StoreReleaseResult(ClientStore& store, const nlohmann::json& result, std::int64_t now);

// A release as the result of "release.latest" carries it (online, or inside a return bundle), checked
// but not yet kept.
struct ReceivedRelease {
  StoredRelease release;
  std::optional<nlohmann::json> scope;  // register rows of the office's countries, when sent
};
// Reads `result` and makes every check on the release (certificate against this store's credential's
// CA at `now`, manifest signature, label, content hash, release id) without writing. nullopt for
// {unchanged} and {release: null}; Corruption naming the failed check.
Result<std::optional<ReceivedRelease>> CheckReleaseResult(ClientStore& store, const nlohmann::json& result, std::int64_t now);
// Keeps a checked release, received at `now`, and replaces the stored scope when it carries one, in
// one transaction. A release already held stays as it was. Returns its label.
Result<std::string> KeepRelease(ClientStore& store, const ReceivedRelease& received, std::int64_t now);

// The release `label`, or the latest when nullopt; nullopt when there is none.
Result<std::optional<StoredRelease>> FindStoredRelease(ClientStore& store, const std::optional<std::string>& label);

// Checks a stored release again: hash, signature, and the certificate against `ca_certificate_pem`
// as of when it was received.
Status VerifyStoredRelease(const StoredRelease& r, std::string_view ca_certificate_pem);

}  // namespace mnr::client
