// ServerLink: one conversation with the server from a client store bound to a credential: resolve,
// connect, TLS 1.3 with the credential's certificate (the server's certificate is checked against the
// credential's CA and the host name), Hello/Welcome, then the caller's body. `sync` and the remote
// commands of coordinators and auditors (`conflicts`, `audit`) all talk to the server through it.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "client/client_store.h"
#include "mnr/address.h"
#include "mnr/connection.h"

namespace mnr::client {

struct LinkOptions {
  HostPort server;
  std::chrono::milliseconds timeout{30000};
};

// Server address from --server if given, else from the store's credential.
Result<LinkOptions> LinkOptionsFor(const ClientStore& store, const std::optional<std::string>& server_override,
                                   std::chrono::milliseconds timeout);

// The body runs after Welcome; it must keep every argument it co_awaits alive (see Connection::Send).
using LinkBody = std::function<asio::awaitable<Status>(Connection&, const Welcome&)>;

// What an attempt learnt that a caller who retries needs: whether the server answered Busy
// (RefusalCode::kBusy) and the retry-after it gave.
struct LinkOutcome {
  bool busy = false;
  std::chrono::seconds retry_after{0};
  // Whether the TLS handshake completed, and whether it resumed the session the store kept from the
  // last connection (docs/protocol.md, "Session resumption") rather than exchanging certificates.
  bool handshake = false;
  bool resumed = false;
};

// For a body that pipelines (sync): `opening` queues frames to travel in one write with the Hello,
// before Welcome is read (the body then reads their answers first); a body that queued Bye behind its
// last request sets `said_bye`, and the link does not send another. Reset for each attempt.
struct LinkPipeline {
  std::function<Status(Connection&)> opening;
  bool said_bye = false;
};

// One attempt. It offers the TLS session the store kept for this server and credential, and keeps the
// one this connection gives for the next (a failed handshake drops it). Link failures come back as Unavailable (retrying may help), and so does a Busy server
// ("server busy: retry after N s (...)"; `outcome` says so). Refusals come back as Refused with the
// server's reason, also when the server closed the link right after refusing (a credential revoked
// during the session is reported as such, not as a dropped link). Local failures come back as they
// are. Needs a bound credential.
Status RunLink(ClientStore& store, const LinkOptions& options, const LinkBody& body, LinkOutcome* outcome = nullptr,
               LinkPipeline* pipeline = nullptr);

// Turns a Refused payload into a Refused status carrying the server's reason.
Status RefusedStatus(std::string_view payload);

// Calls one remote operation (server/remote_ops.h) and returns its JSON result. The server checks the
// credential's role for every call.
Result<nlohmann::json> CallServer(ClientStore& store, const LinkOptions& options, const std::string& operation,
                                  const nlohmann::json& arguments);

}  // namespace mnr::client
