// `mnr-server run`: the sync listener. One coroutine per connection on a single-threaded io_context;
// the store is used from that one thread, so no locking is needed beyond SQLite's own (which admin
// commands in other processes share through the busy timeout).
#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <csignal>
#include <ctime>
#include <algorithm>
#include <iostream>

#include "mnr/address.h"
#include "mnr/cli.h"
#include "mnr/connection.h"
#include "mnr/file_util.h"
#include "mnr/limits.h"
#include "server/audit_log.h"
#include "server/commands.h"
#include "server/remote_ops.h"
#include "server/server_store.h"

namespace mnr::server {
namespace {

using namespace asio::experimental::awaitable_operators;
using asio::experimental::as_tuple_t;
using default_token = as_tuple_t<asio::use_awaitable_t<>>;

constexpr const char* kProgram = "mnr-server run";

std::int64_t UnixNow() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string UtcStamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct ServerConfig {
  std::chrono::milliseconds io_timeout{30000};
  std::size_t max_clients = 256;
  std::string server_certificate;  // PEM, sent in Welcome: it verifies receipts
};

// What one sync did, for the one log line per connection.
struct SessionLog {
  std::string credential = "-";
  std::string name = "-";
  std::string device = "-";
  int pushed = 0, duplicates = 0, refused = 0, pulled = 0, requests = 0;
  std::string result = "ok";
};

class Server {
 public:
  Server(ServerStore& store, std::shared_ptr<asio::ssl::context> tls, ServerConfig config)
      : store_(store), tls_(std::move(tls)), config_(config) {}

  asio::awaitable<void> Listen(asio::ip::tcp::acceptor acceptor) {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(default_token{});
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) {
        // Out of descriptors or similar: wait rather than spin, then keep serving.
        asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(200));
        co_await pause.async_wait(default_token{});
        continue;
      }
      if (active_ >= config_.max_clients) {
        asio::error_code ignored;
        socket.close(ignored);
        continue;
      }
      asio::co_spawn(acceptor.get_executor(), Session(std::move(socket)), asio::detached);
    }
  }

 private:
  asio::awaitable<void> Session(asio::ip::tcp::socket socket) {
    ++active_;
    const auto started = std::chrono::steady_clock::now();
    std::string peer = "?";
    asio::error_code ignored;
    auto ep = socket.remote_endpoint(ignored);
    if (!ignored) peer = ep.address().to_string();
    Connection conn(TlsStream(std::move(socket), *tls_), config_.io_timeout);
    SessionLog log;
    co_await (Serve(conn, log) || conn.Watchdog());
    conn.Close();
    --active_;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    std::cerr << UtcStamp() << " sync peer=" << peer << " credential=" << log.credential << " device=" << log.device
              << " pushed=" << log.pushed << " duplicate=" << log.duplicates << " refused=" << log.refused
              << " pulled=" << log.pulled << " requests=" << log.requests << " ms=" << ms << " result=" << log.result << std::endl;
  }

  // Sends a refusal and closes. `reason` is a named string owned by the caller (see Connection::Send).
  asio::awaitable<void> Refuse(Connection& conn, SessionLog& log, RefusalCode code, const std::string& reason) {
    log.result = "refused:" + reason.substr(0, 120);
    const Refused refused{static_cast<std::uint16_t>(code), reason};
    (void)co_await conn.Send(refused);
    co_await conn.Shutdown();
  }

  asio::awaitable<void> Serve(Connection& conn, SessionLog& log) {
    Status hs = co_await conn.Handshake(asio::ssl::stream_base::server);
    if (!hs.ok()) {
      log.result = "handshake-failed:" + hs.message();
      co_return;
    }
    const std::string cred_id = conn.PeerCommonName();
    log.credential = cred_id.empty() ? "-" : cred_id;
    auto found = store_.FindCredential(cred_id);
    if (!found.ok()) {
      {
        const std::string why = "server store error; try again later";
        co_await Refuse(conn, log, RefusalCode::kInternal, why);
      }
      co_return;
    }
    if (!found->has_value()) {
      {
        const std::string why = "credential " + cred_id + " is not in the register";
        co_await Refuse(conn, log, RefusalCode::kCredential, why);
      }
      co_return;
    }
    const CredentialRecord cred = **found;
    if (cred.fingerprint != conn.PeerFingerprint()) {
      {
        const std::string why = "certificate does not match credential " + cred_id;
        co_await Refuse(conn, log, RefusalCode::kCredential, why);
      }
      co_return;
    }
    if (Status usable = store_.CheckCredentialUsable(cred, UnixNow()); !usable.ok()) {
      {
        const std::string why = usable.message();
        co_await Refuse(conn, log, RefusalCode::kCredential, why);
      }
      co_return;
    }
    log.name = cred.name;

    auto first = co_await conn.ReadFrame();
    if (!first.ok() || first->type != MessageType::kHello) {
      {
        const std::string why = "expected Hello first";
        co_await Refuse(conn, log, RefusalCode::kProtocol, why);
      }
      co_return;
    }
    auto hello = DecodeMessage<Hello>(first->payload);
    if (!hello.ok()) {
      {
        const std::string why = hello.status().message();
        co_await Refuse(conn, log, RefusalCode::kProtocol, why);
      }
      co_return;
    }
    if (hello->protocol != kProtocolVersion) {
      {
        const std::string why = "protocol version " + std::to_string(hello->protocol) + " is not supported (server speaks " +
                          std::to_string(kProtocolVersion) + ")";
        co_await Refuse(conn, log, RefusalCode::kVersion, why);
      }
      co_return;
    }
    if (hello->device_id.empty() || hello->device_id.size() > 64) {
      {
        const std::string why = "Hello needs a device id of 1-64 bytes";
        co_await Refuse(conn, log, RefusalCode::kProtocol, why);
      }
      co_return;
    }
    log.device = hello->device_id;
    Welcome welcome;
    welcome.store_id = store_.store_id();
    welcome.credential_id = cred.id;
    welcome.role = std::string(RoleName(cred.role));
    welcome.countries = cred.countries;
    welcome.acked_through = store_.AckedThrough(hello->device_id);
    welcome.server_time = HybridClock::Make(static_cast<std::uint64_t>(UnixNow()) * 1000, 0);
    welcome.server_certificate = config_.server_certificate;
    const Status welcomed = co_await conn.Send(welcome);
    if (!welcomed.ok()) {
      log.result = "dropped";
      co_return;
    }

    for (;;) {
      auto frame = co_await conn.ReadFrame();
      if (!frame.ok()) {
        log.result = frame.status().code() == Status::Code::kUnavailable ? "dropped" : "bad-frame";
        if (frame.status().code() != Status::Code::kUnavailable) {
          {
            const std::string why = frame.status().message();
            co_await Refuse(conn, log, RefusalCode::kProtocol, why);
          }
        }
        co_return;
      }
      // Every request is checked against the register as it is now: a revocation or an expiry during
      // a long session ends it at the next request.
      if (frame->type == MessageType::kPush || frame->type == MessageType::kPull || frame->type == MessageType::kRequest) {
        auto current = store_.FindCredential(cred.id);
        Status usable = !current.ok() ? current.status()
                        : !current->has_value() ? Status::Refused("credential " + cred.id + " is no longer in the register")
                                                : store_.CheckCredentialUsable(**current, UnixNow());
        if (!usable.ok()) {
          {
            const std::string why = usable.message();
            co_await Refuse(conn, log, current.ok() ? RefusalCode::kCredential : RefusalCode::kInternal, why);
          }
          co_return;
        }
      }
      switch (frame->type) {
        case MessageType::kPush: {
          auto push = DecodeMessage<Push>(frame->payload);
          if (!push.ok()) {
            {
              const std::string why = push.status().message();
              co_await Refuse(conn, log, RefusalCode::kProtocol, why);
            }
            co_return;
          }
          if (cred.role != Role::kField) {
            // Only field credentials submit answers; refused before the envelope is even opened.
            ++log.refused;
            log.result = "refused:role";
            const Refused refused{static_cast<std::uint16_t>(RefusalCode::kRole),
                                  std::string(RoleName(cred.role)) + " credentials may not push change-sets; only field "
                                  "credentials submit answers (coordinators resolve conflicts with `conflicts resolve`)"};
            const Status sent = co_await conn.Send(refused);
            if (!sent.ok()) co_return;
            break;
          }
          auto intake = store_.ReceiveChangeSet(push->sealed, &cred, UnixNow());
          if (intake.refusal) {
            ++log.refused;
            // The connection stays usable: the client decides whether to go on (it pulls, then stops).
            log.result = "refused:" + intake.refusal->reason.substr(0, 120);
            const Refused refused{static_cast<std::uint16_t>(intake.refusal->code), intake.refusal->reason};
            const Status sent = co_await conn.Send(refused);
            if (!sent.ok()) co_return;
            break;
          }
          const IntakeOutcome& out = *intake.outcome;
          if (out.duplicate) ++log.duplicates; else ++log.pushed;
          Ack ack{out.changeset_id, out.seq, out.duplicate, out.acked_through, {}};
          // The change-set is committed either way; a receipt that cannot be signed is logged, not fatal.
          auto receipt = MakeReceipt(store_, out.changeset_id);
          if (receipt.ok()) {
            ack.receipt = std::move(*receipt);
          } else {
            std::cerr << UtcStamp() << " receipt for change-set " << out.changeset_id.substr(0, 16)
                      << " not signed: " << receipt.status().message() << std::endl;
          }
          const Status sent = co_await conn.Send(ack);
          if (!sent.ok()) {
            log.result = "dropped";
            co_return;
          }
          break;
        }
        case MessageType::kPull: {
          auto pull = DecodeMessage<Pull>(frame->payload);
          if (!pull.ok()) {
            {
              const std::string why = pull.status().message();
              co_await Refuse(conn, log, RefusalCode::kProtocol, why);
            }
            co_return;
          }
          if (cred.role == Role::kAuditor) {
            {
              const std::string why = "an auditor credential does not pull survey state";
              co_await Refuse(conn, log, RefusalCode::kRole, why);
            }
            co_return;
          }
          std::uint64_t cursor = pull->store_id == welcome.store_id ? pull->cursor : 0;
          // Coordinators see every country; a field credential only its own.
          const std::vector<std::string> scope = cred.role == Role::kField ? cred.countries : std::vector<std::string>{};
          for (;;) {
            auto batch = store_.PullSince(scope, cursor, limits::kPullChunkFields);
            if (!batch.ok()) {
              {
                const std::string why = "server store error; try again later";
                co_await Refuse(conn, log, RefusalCode::kInternal, why);
              }
              co_return;
            }
            if (!batch->fields.empty()) {
              log.pulled += static_cast<int>(batch->fields.size());
              PullChunk chunk{std::move(batch->fields), batch->next_cursor};
              const Status sent = co_await conn.Send(chunk);
              if (!sent.ok()) {
                log.result = "dropped";
                co_return;
              }
            }
            cursor = std::max(cursor, batch->next_cursor);
            if (!batch->more) break;
          }
          const PullEnd end{cursor};
          const Status sent = co_await conn.Send(end);
          if (!sent.ok()) {
            log.result = "dropped";
            co_return;
          }
          break;
        }
        case MessageType::kRequest: {
          auto request = DecodeMessage<Request>(frame->payload);
          if (!request.ok()) {
            const std::string why = request.status().message();
            co_await Refuse(conn, log, RefusalCode::kProtocol, why);
            co_return;
          }
          ++log.requests;
          const RemoteReply reply = RunRemote(cred, *request);
          if (reply.refusal) {
            ++log.refused;
            log.result = "refused:" + reply.refusal->reason.substr(0, 120);
          }
          Status sent = Status::OK();
          if (reply.refusal) {
            sent = co_await conn.Send(*reply.refusal);
          } else {
            sent = co_await conn.Send(reply.response);
          }
          if (!sent.ok()) {
            log.result = "dropped";
            co_return;
          }
          break;
        }
        case MessageType::kBye:
          co_await conn.Shutdown();
          co_return;
        default:
          {
            const std::string why = std::string("unexpected ") + std::string(MessageTypeName(frame->type)) + " message";
            co_await Refuse(conn, log, RefusalCode::kProtocol, why);
          }
          co_return;
      }
    }
  }

  struct RemoteReply {
    Response response;
    std::optional<Refused> refusal;
  };

  // Every remote request passes here: unknown operation, wrong role and bad arguments are refusals
  // that leave the connection open.
  RemoteReply RunRemote(const CredentialRecord& cred, const Request& request) {
    RemoteReply reply;
    const auto refuse = [&](RefusalCode code, std::string reason) {
      reply.refusal = Refused{static_cast<std::uint16_t>(code), std::move(reason)};
      return reply;
    };
    const RemoteOperation* op = FindRemoteOperation(request.operation);
    if (!op) return refuse(RefusalCode::kBadRequest, "no remote operation \"" + request.operation.substr(0, 60) + "\"");
    if (std::find(op->roles.begin(), op->roles.end(), cred.role) == op->roles.end()) {
      return refuse(RefusalCode::kRole, std::string(RoleName(cred.role)) + " credentials may not call " + request.operation);
    }
    const nlohmann::json args = nlohmann::json::parse(request.arguments, nullptr, false);
    if (args.is_discarded() || !args.is_object()) return refuse(RefusalCode::kBadRequest, "arguments must be a JSON object");
    Result<nlohmann::json> result = Status::OK();
    try {
      result = op->run(RemoteCall{store_, cred, args});
    } catch (const std::exception& e) {
      // A bug in one operation must not take the listener down with every other session.
      return refuse(RefusalCode::kInternal, "the server failed on " + request.operation + ": " + e.what());
    }
    if (!result.ok()) {
      const bool bad = result.status().code() == Status::Code::kInvalidArgument;
      return refuse(bad ? RefusalCode::kBadRequest : RefusalCode::kInternal, result.status().message());
    }
    reply.response.body = result->dump();
    return reply;
  }

  ServerStore& store_;
  std::shared_ptr<asio::ssl::context> tls_;
  ServerConfig config_;
  std::size_t active_ = 0;
};

}  // namespace

int RunCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server run --data DIR --listen HOST:PORT [--timeout SECONDS] [--max-clients N]",
                "Serves syncs from field offices and coordinators over mutual TLS 1.3 until SIGINT or SIGTERM.\n"
                "Logs one line per connection to stderr (no survey content).");
  p.Option("data", "DIR", "server data directory (from mnr-server init)", true)
      .Option("listen", "HOST:PORT", "address to listen on, e.g. 0.0.0.0:7443 or 127.0.0.1:7443", true)
      .Option("timeout", "SECONDS", "drop a client that makes no progress for this long (default 30)")
      .Option("max-clients", "N", "connections served at once; more are closed at once (default 256)");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  ServerConfig config;
  try {
    if (auto t = args.Get("timeout")) config.io_timeout = std::chrono::milliseconds(static_cast<long>(std::stod(*t) * 1000));
    if (auto m = args.Get("max-clients")) config.max_clients = static_cast<std::size_t>(std::stoul(*m));
  } catch (const std::exception&) {
    std::cerr << kProgram << ": --timeout and --max-clients take numbers\n";
    return cli::kExitUsage;
  }
  if (config.io_timeout.count() <= 0 || config.max_clients == 0) {
    std::cerr << kProgram << ": --timeout and --max-clients must be positive\n";
    return cli::kExitUsage;
  }
  auto listen = ParseHostPort(*args.Get("listen"));
  if (!listen.ok()) {
    std::cerr << kProgram << ": --listen: " << listen.status().message() << "\n";
    return cli::kExitUsage;
  }
  auto store = ServerStore::Open(*args.Get("data"));
  if (!store.ok()) return cli::Fail(kProgram, store.status());
  const ServerPaths& paths = (*store)->paths();
  auto ca = ReadFile(paths.ca_cert(), 1 << 20);
  auto cert = ReadFile(paths.server_cert(), 1 << 20);
  auto key = ReadFile(paths.server_key(), 1 << 20);
  for (const auto* r : {&ca, &cert, &key}) {
    if (!r->ok()) return cli::Fail(kProgram, r->status());
  }
  auto tls = MakeTlsContext(true, *ca, *cert, *key);
  if (!tls.ok()) return cli::Fail(kProgram, tls.status());
  config.server_certificate = *cert;

  asio::io_context io(1);
  asio::ip::tcp::acceptor acceptor(io);
  try {
    asio::ip::tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(listen->host, listen->port, asio::ip::tcp::resolver::passive);
    const auto endpoint = endpoints.begin()->endpoint();
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen();
  } catch (const std::system_error& e) {
    std::cerr << kProgram << ": cannot listen on " << *args.Get("listen") << ": " << e.code().message() << "\n";
    return cli::kExitFailure;
  }
  std::signal(SIGPIPE, SIG_IGN);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code&, int) {
    asio::error_code ignored;
    acceptor.close(ignored);
    io.stop();
  });
  Server server(**store, *tls, config);
  std::cerr << UtcStamp() << " listening on " << *args.Get("listen") << " (TLS 1.3, client certificates required)" << std::endl;
  asio::co_spawn(io, server.Listen(std::move(acceptor)), asio::detached);
  io.run();
  std::cerr << UtcStamp() << " stopped" << std::endl;
  return cli::kExitOk;
}

}  // namespace mnr::server
