#include "mnr/connection.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>

#include "mnr/crypto.h"
#include "mnr/limits.h"
#include "mnr/wall_clock.h"

namespace mnr {

using asio::experimental::as_tuple_t;
using default_token = as_tuple_t<asio::use_awaitable_t<>>;

namespace {

// How long a client may resume a session: a working day or two of syncs without a full handshake.
// TLS 1.3 allows up to 7 days; longer would only widen what a stolen store yields, as it holds the key.
constexpr std::chrono::seconds kTicketLifetime{36 * 3600};

}  // namespace

Connection::Connection(TlsStream stream, std::chrono::milliseconds io_timeout)
    : stream_(std::move(stream)), io_timeout_(io_timeout) {
  // An accepted socket is connected already; a client's is not yet (it calls SetNoDelay after connect).
  if (stream_.lowest_layer().is_open()) SetNoDelay();
}

void Connection::SetNoDelay() {
  asio::error_code ignored;  // only a latency hint: a socket that refuses it still works
  stream_.lowest_layer().set_option(asio::ip::tcp::no_delay(true), ignored);
}

asio::awaitable<Status> Connection::Flush() {
  if (out_.empty()) co_return Status::OK();
  const std::string bytes = std::move(out_);
  out_.clear();
  Status s = co_await WriteFrame(bytes);
  co_return s;
}

asio::awaitable<void> Connection::Watchdog() {
  asio::steady_timer timer(stream_.get_executor());
  while (!closed_) {
    const auto now = std::chrono::steady_clock::now();
    if (deadline_ <= now) {
      timed_out_ = true;
      timed_out_phase_ = deadline_ >= limit_;
      Close();
      co_return;
    }
    timer.expires_at(std::min(deadline_, now + std::chrono::milliseconds(250)));
    auto [ec] = co_await timer.async_wait(default_token{});
    if (ec == asio::error::operation_aborted) co_return;
  }
}

void Connection::LimitFor(std::chrono::milliseconds phase) {
  phase_ = phase;
  limit_ = std::chrono::steady_clock::now() + phase;
  deadline_ = std::min(deadline_, limit_);
}

void Connection::ClearLimit() {
  if (deadline_ == limit_) deadline_ = std::chrono::steady_clock::time_point::max();
  limit_ = std::chrono::steady_clock::time_point::max();
}

asio::awaitable<Status> Connection::WaitReadable() {
  Arm();
  auto [ec] = co_await stream_.lowest_layer().async_wait(asio::ip::tcp::socket::wait_read, default_token{});
  Disarm();
  if (ec) co_return LinkError(ec, "waiting for the peer");
  co_return Status::OK();
}

std::size_t Connection::Unread() {
  asio::error_code ec;
  const std::size_t n = stream_.lowest_layer().available(ec);
  return ec ? 0 : n;
}

Status Connection::LinkError(const asio::error_code& ec, std::string_view what) const {
  if (timed_out_ && timed_out_phase_) {
    const auto ms = phase_.count();
    const std::string seconds = ms % 1000 == 0 ? std::to_string(ms / 1000) : std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100);
    return Status::Unavailable(std::string(what) + ": not done within " + seconds + " s (timed out)");
  }
  if (timed_out_) {
    return Status::Unavailable(std::string(what) + ": no progress for " + std::to_string(io_timeout_.count() / 1000) +
                               " s (timed out)");
  }
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
    return Status::Unavailable(std::string(what) + ": the peer closed the connection");
  }
  return Status::Unavailable(std::string(what) + ": " + ec.message());
}

asio::awaitable<Status> Connection::Handshake(asio::ssl::stream_base::handshake_type type) {
  Arm();
  auto [ec] = co_await stream_.async_handshake(type, default_token{});
  Disarm();
  if (!ec && type == asio::ssl::stream_base::server) {
    // A ticket after a full handshake, and after a resumption only when the ticket used is older than
    // half its lifetime: most resumed connections then carry none (about 640 bytes, a sixth of a sync
    // with nothing to send), the client offering the one it has again, and a device that syncs daily
    // never falls back to a full handshake. The session's time is when its ticket was issued.
    SSL_SESSION* session = SSL_get_session(stream_.native_handle());
    const auto age = std::chrono::seconds(UnixNow() - static_cast<std::int64_t>(session ? SSL_SESSION_get_time(session) : 0));
    ticket_due_ = !Resumed() || age < std::chrono::seconds(0) || age >= kTicketLifetime / 2;
  }
  if (ec) {
    // A certificate the peer does not accept shows up here; say so rather than "handshake failed".
    Status s = LinkError(ec, "TLS handshake");
    if (ec.category() == asio::error::get_ssl_category()) {
      s = Status::Refused("TLS handshake refused: " + ec.message());
    }
    co_return s;
  }
  co_return Status::OK();
}

asio::awaitable<Result<Frame>> Connection::ReadFrame() {
  std::array<unsigned char, kFrameHeaderBytes> header{};
  Arm();
  auto [ec, n] = co_await asio::async_read(stream_, asio::buffer(header), default_token{});
  if (ec) co_return LinkError(ec, "reading a frame");
  auto h = DecodeFrameHeader(header, limits::kFrameBytes);
  if (!h.ok()) co_return h.status();
  Frame f{h->type, std::string(h->length, '\0')};
  if (h->length > 0) {
    Arm();
    auto [ec2, n2] = co_await asio::async_read(stream_, asio::buffer(f.payload), default_token{});
    if (ec2) co_return LinkError(ec2, "reading a frame");
  }
  Disarm();
  if (f.type == MessageType::kRefused) {
    auto refused = DecodeMessage<Refused>(f.payload);
    if (refused.ok()) last_refusal_ = std::move(*refused);
  }
  co_return f;
}

asio::awaitable<Status> Connection::WriteFrame(const std::string& bytes) {
  // The ticket goes out with the server's first reply, in the same write: sent on its own right after
  // the handshake it would cross the client's first flight, a turn of its own on the wire.
  if (ticket_due_) {
    ticket_due_ = false;
    if (SSL_new_session_ticket(stream_.native_handle()) != 1) ERR_clear_error();  // only a resumption lost
  }
  Arm();
  auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(bytes), default_token{});
  Disarm();
  if (ec) co_return LinkError(ec, "sending a frame");
  co_return Status::OK();
}

asio::awaitable<void> Connection::Shutdown() {
  if (closed_) co_return;
  deadline_ = std::min(std::chrono::steady_clock::now() + std::min(io_timeout_, std::chrono::milliseconds(2000)), limit_);
  co_await stream_.async_shutdown(default_token{});
  Close();
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  asio::error_code ignored;
  stream_.lowest_layer().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream_.lowest_layer().close(ignored);
}

std::string Connection::PeerCommonName() {
  X509* cert = SSL_get1_peer_certificate(stream_.native_handle());
  if (!cert) return {};
  char buf[256] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  X509_free(cert);
  return buf;
}

std::string Connection::PeerFingerprint() {
  X509* cert = SSL_get1_peer_certificate(stream_.native_handle());
  if (!cert) return {};
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  std::string out;
  if (len > 0) out = crypto::Sha256Hex(std::string_view(reinterpret_cast<char*>(der), static_cast<std::size_t>(len)));
  OPENSSL_free(der);
  X509_free(cert);
  return out;
}

bool Connection::OfferSession(std::string_view kept) {
  if (kept.empty() || kept.size() > kMaxSessionBytes) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(kept.data());
  SSL_SESSION* session = d2i_SSL_SESSION(nullptr, &p, static_cast<long>(kept.size()));
  if (!session) {
    ERR_clear_error();
    return false;
  }
  const bool offered = SSL_SESSION_is_resumable(session) == 1 && SSL_set_session(stream_.native_handle(), session) == 1;
  SSL_SESSION_free(session);
  if (!offered) ERR_clear_error();
  return offered;
}

bool Connection::Resumed() { return SSL_session_reused(stream_.native_handle()) == 1; }

std::string Connection::KeptSession() {
  SSL_SESSION* session = SSL_get1_session(stream_.native_handle());
  if (!session) return {};
  std::string out;
  if (SSL_SESSION_is_resumable(session) == 1) {
    const int len = i2d_SSL_SESSION(session, nullptr);
    if (len > 0 && static_cast<std::size_t>(len) <= kMaxSessionBytes) {
      out.resize(static_cast<std::size_t>(len));
      auto* p = reinterpret_cast<unsigned char*>(out.data());
      if (i2d_SSL_SESSION(session, &p) != len) out.clear();
    }
  }
  SSL_SESSION_free(session);
  return out;
}

std::chrono::milliseconds RetryDelay(int retry, std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                     std::chrono::milliseconds floor, std::uint64_t random) {
  std::int64_t span = std::max<std::int64_t>(base.count(), 0);
  for (int i = 0; i < retry && span < cap.count(); ++i) span *= 2;
  span = std::clamp<std::int64_t>(span, 0, std::max<std::int64_t>(cap.count(), 0));
  const auto jitter = static_cast<std::int64_t>(random % static_cast<std::uint64_t>(span + 1));
  return std::max(floor, std::chrono::milliseconds(0)) + std::chrono::milliseconds(jitter);
}

Result<std::shared_ptr<asio::ssl::context>> MakeTlsContext(bool server, const std::string& ca_pem,
                                                          const std::string& cert_pem, const std::string& key_pem) {
  try {
    auto ctx = std::make_shared<asio::ssl::context>(server ? asio::ssl::context::tls_server : asio::ssl::context::tls_client);
    SSL_CTX* native = ctx->native_handle();
    if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1) {
      return Status::IOError("cannot restrict TLS to version 1.3");
    }
    ctx->set_options(asio::ssl::context::no_compression);
    ctx->add_certificate_authority(asio::buffer(ca_pem));
    ctx->use_certificate_chain(asio::buffer(cert_pem));
    ctx->use_private_key(asio::buffer(key_pem), asio::ssl::context::pem);
    ctx->set_verify_mode(server ? (asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert) : asio::ssl::verify_peer);
    if (server) {
      // No ticket at the end of the handshake (OpenSSL's default is two): Connection sends one with its
      // first reply after a full handshake, and none after most resumptions (Connection::Handshake); a
      // client keeps only the newest. Tickets are stateless
      // (sealed with a key this process draws at start), so no session cache. A resumed session keeps
      // the client's certificate, and the server checks it against the register on every connection,
      // resumed or not, so a revoked or expired credential is refused either way. No early data: it
      // could be replayed.
      SSL_CTX_set_num_tickets(native, 0);
      SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
      SSL_CTX_set_max_early_data(native, 0);
      SSL_CTX_set_recv_max_early_data(native, 0);
      SSL_CTX_set_timeout(native, static_cast<long>(kTicketLifetime.count()));
      // Required for a server that verifies its peers to take a session back at all.
      static constexpr unsigned char kSessionContext[] = "mnr-sync";
      if (SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1) != 1) {
        return Status::IOError("cannot set the TLS session context");
      }
    }
    return ctx;
  } catch (const std::system_error& e) {
    return Status::InvalidArgument(std::string("TLS setup: ") + e.what() + " (is the credential file intact?)");
  }
}

}  // namespace mnr
