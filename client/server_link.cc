#include "client/server_link.h"

#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include "mnr/i18n.h"

namespace mnr::client {
namespace {

using namespace asio::experimental::awaitable_operators;
using asio::experimental::as_tuple_t;
using default_token = as_tuple_t<asio::use_awaitable_t<>>;

// A refusal after which the server closes the connection: the code says the session cannot go on.
bool EndsSession(std::uint16_t code) {
  return code != static_cast<std::uint16_t>(RefusalCode::kBadRequest) && code != static_cast<std::uint16_t>(RefusalCode::kBusy) &&
         code != static_cast<std::uint16_t>(RefusalCode::kAttachment);
}

// What an attempt leaves for the store's kept TLS session.
struct KeptTls {
  bool offered = false;
  bool handshake_failed = false;
  std::string session;  // the newest this connection holds, once it is over
};

asio::awaitable<Status> Converse(ClientStore& store, const LinkOptions& opt, Connection& conn,
                                 asio::ip::tcp::resolver::results_type endpoints, const LinkBody& body,
                                 LinkOutcome& outcome, LinkPipeline* pipeline, KeptTls& kept) {
  auto [cec, ep] = co_await asio::async_connect(conn.stream().lowest_layer(), endpoints, default_token{});
  if (cec) co_return Status::Unavailable("cannot connect to " + opt.server.host + ":" + opt.server.port + ": " + cec.message());
  conn.SetNoDelay();
  Status hs = co_await conn.Handshake(asio::ssl::stream_base::client);
  kept.handshake_failed = !hs.ok();
  if (hs.ok()) {
    outcome.handshake = true;
    outcome.resumed = conn.Resumed();
  }
  if (!hs.ok() && hs.code() == Status::Code::kUnavailable) {
    // A server at its limits closes new connections before TLS; say so rather than leave a bare
    // "peer closed the connection".
    co_return Status::Unavailable(hs.message() + " (the server may be overloaded or restarting; a later attempt should get through)");
  }
  if (!hs.ok()) co_return hs;
  Hello hello;
  hello.schema_version = static_cast<std::uint32_t>(store.schema().version());
  hello.device_id = store.identity().device_id;
  hello.software = std::string("mnr-client ") + MNR_VERSION;
  hello.device_name = store.identity().device_name;
  hello.protocol = kProtocolVersion;
  conn.Queue(hello);
  if (pipeline && pipeline->opening) MNR_CO_RETURN_IF_ERROR(pipeline->opening(conn));
  MNR_CO_RETURN_IF_ERROR(co_await conn.Flush());
  auto frame = co_await conn.ReadFrame();
  if (!frame.ok()) co_return frame.status();
  if (frame->type == MessageType::kRefused) {
    auto refused = DecodeMessage<Refused>(frame->payload);
    if (refused.ok() && refused->code == static_cast<std::uint16_t>(RefusalCode::kBusy)) {
      outcome.busy = true;
      outcome.retry_after = std::chrono::seconds(BusyRetryAfter(refused->reason).value_or(1));
      co_return Status::Unavailable(refused->reason);
    }
    co_return RefusedStatus(frame->payload);
  }
  if (frame->type != MessageType::kWelcome) {
    co_return Status::Corruption("server sent " + std::string(MessageTypeName(frame->type)) + " instead of Welcome");
  }
  auto welcome = DecodeMessage<Welcome>(frame->payload);
  if (!welcome.ok()) co_return welcome.status();
  Status s = co_await body(conn, *welcome);
  if (!s.ok() && s.code() == Status::Code::kUnavailable && conn.last_refusal() && EndsSession(conn.last_refusal()->code)) {
    // The server refused (say, a credential revoked since Welcome) and closed: that is the news, not
    // the closed link the body then ran into.
    co_return Status::Refused(conn.last_refusal()->reason);
  }
  if (!s.ok()) co_return s;
  if (!pipeline || !pipeline->said_bye) {
    const Bye bye;
    (void)co_await conn.Send(bye);
  }
  co_await conn.Shutdown();
  co_return Status::OK();
}

asio::awaitable<void> ConverseInto(ClientStore& store, const LinkOptions& opt, Connection& conn,
                                   asio::ip::tcp::resolver::results_type endpoints, const LinkBody& body, Status& out,
                                   LinkOutcome& outcome, LinkPipeline* pipeline, KeptTls& kept) {
  // Caught here, not thrown through `||`: that waits for the first of the two to *succeed*, so an
  // exception would wait for the watchdog's deadline.
  try {
    out = co_await Converse(store, opt, conn, endpoints, body, outcome, pipeline, kept);
  } catch (const std::exception& e) {
    out = Status::IOError(std::string("the sync failed unexpectedly: ") + e.what());
  } catch (...) {
    out = Status::IOError("the sync failed unexpectedly");
  }
  conn.Close();
}

asio::awaitable<Status> Attempt(ClientStore& store, const LinkOptions& opt, asio::ssl::context& tls, const LinkBody& body,
                                LinkOutcome& outcome, LinkPipeline* pipeline, const std::optional<std::string>& offer,
                                KeptTls& kept) {
  auto executor = co_await asio::this_coro::executor;
  asio::ip::tcp::resolver resolver(executor);
  auto [rec, endpoints] = co_await resolver.async_resolve(opt.server.host, opt.server.port, default_token{});
  if (rec) co_return Status::Unavailable("cannot resolve " + opt.server.host + ": " + rec.message());
  TlsStream stream(executor, tls);
  // SNI, and the name the server's certificate must carry.
  SSL_set_tlsext_host_name(stream.native_handle(), opt.server.host.c_str());
  stream.set_verify_callback(asio::ssl::host_name_verification(opt.server.host));
  Connection conn(std::move(stream), opt.timeout);
  if (offer) kept.offered = conn.OfferSession(*offer);
  Status result = Status::OK();
  co_await (ConverseInto(store, opt, conn, endpoints, body, result, outcome, pipeline, kept) || conn.Watchdog());
  // The server's ticket follows its handshake, so it was read with the first reply; without a reply,
  // this is the resumed session, or none after a full handshake.
  if (outcome.handshake) kept.session = conn.KeptSession();
  conn.Close();
  co_return result;
}

}  // namespace

Result<LinkOptions> LinkOptionsFor(const ClientStore& store, const std::optional<std::string>& server_override,
                                   std::chrono::milliseconds timeout) {
  const auto& cred = store.identity().credential;
  if (!cred) {
    return Status::InvalidArgument(
        tr("this store is not bound to a credential; run `mnr-client init --db PATH --credentials FILE.mnrcred` first"));
  }
  auto hp = ParseHostPort(server_override ? *server_override : cred->server_address);
  if (!hp.ok()) return hp.status();
  return LinkOptions{*hp, timeout};
}

Status RefusedStatus(std::string_view payload) {
  auto r = DecodeMessage<Refused>(payload);
  if (!r.ok()) return Status::Refused("the server refused (reason unreadable)");
  return Status::Refused(r->reason);
}

Status RunLink(ClientStore& store, const LinkOptions& options, const LinkBody& body, LinkOutcome* outcome,
               LinkPipeline* pipeline) {
  LinkOutcome ignored;
  LinkOutcome& out = outcome ? *outcome : ignored;
  out = LinkOutcome{};
  const auto& cred = store.identity().credential;
  if (!cred) return Status::InvalidArgument("this store is not bound to a credential");
  auto tls = MakeTlsContext(false, cred->ca_certificate_pem, cred->certificate_pem, cred->private_key_pem);
  if (!tls.ok()) return tls.status();
  const std::string server = options.server.host + ":" + options.server.port;
  auto offer = store.KeptTlsSession(server);
  if (!offer.ok()) return offer.status();
  KeptTls kept;
  asio::io_context io(1);
  Status result = Status::OK();
  asio::co_spawn(io, Attempt(store, options, **tls, body, out, pipeline, *offer, kept), [&](std::exception_ptr e, Status s) {
    result = e ? Status::Unavailable("the link failed unexpectedly") : s;
  });
  io.run();
  // Keep the newest session (unless it is the one offered: a resumption without a new ticket); drop
  // the offered one after a handshake that failed with it, so that the next attempt is a full
  // handshake. A store that cannot write it only loses a resumption.
  const bool unchanged = kept.offered && offer->has_value() && kept.session == **offer;
  if ((out.handshake && !unchanged) || (kept.offered && kept.handshake_failed)) {
    (void)store.KeepTlsSession(server, kept.session);
  }
  return result;
}

Result<nlohmann::json> CallServer(ClientStore& store, const LinkOptions& options, const std::string& operation,
                                  const nlohmann::json& arguments) {
  nlohmann::json answer;
  const LinkBody body = [&](Connection& conn, const Welcome&) -> asio::awaitable<Status> {
    const Request request{operation, arguments.dump()};
    MNR_CO_RETURN_IF_ERROR(co_await conn.Send(request));
    auto reply = co_await conn.ReadFrame();
    if (!reply.ok()) co_return reply.status();
    if (reply->type == MessageType::kRefused) co_return RefusedStatus(reply->payload);
    if (reply->type != MessageType::kResponse) {
      co_return Status::Corruption("server answered a request with " + std::string(MessageTypeName(reply->type)));
    }
    auto response = DecodeMessage<Response>(reply->payload);
    if (!response.ok()) co_return response.status();
    answer = nlohmann::json::parse(response->body, nullptr, false);
    if (answer.is_discarded()) co_return Status::Corruption("server sent a response that is not JSON");
    co_return Status::OK();
  };
  Status s = RunLink(store, options, body);
  if (!s.ok()) return s;
  return answer;
}

}  // namespace mnr::client
