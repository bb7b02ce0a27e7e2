// Connection: one TLS 1.3 stream carrying frames (frame.h), used by the server's per-client coroutine
// and by the client's sync. Every read and write has a deadline; when one passes, the watchdog closes
// the socket and the pending operation completes with an error value. A dropped link is an expected
// outcome (Status::Unavailable), not an exception. Not thread-safe: one coroutine drives it.
#pragma once

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <string>

#include "mnr/frame.h"
#include "mnr/messages.h"
#include "mnr/status.h"

namespace mnr {

using TlsStream = asio::ssl::stream<asio::ip::tcp::socket>;

class Connection {
 public:
  Connection(TlsStream stream, std::chrono::milliseconds io_timeout);

  TlsStream& stream() { return stream_; }
  // Runs until Close() or until a deadline passes (then closes the socket). Join it with the session:
  // `co_await (session() || conn.Watchdog())`.
  asio::awaitable<void> Watchdog();

  asio::awaitable<Status> Handshake(asio::ssl::stream_base::handshake_type type);
  // Reads one whole frame; refuses a length above limits::kFrameBytes before reading the payload.
  asio::awaitable<Result<Frame>> ReadFrame();
  // `bytes` must stay alive until the returned awaitable completes (callers co_await at once).
  asio::awaitable<Status> WriteFrame(const std::string& bytes);
  // Callers pass a named message, never a temporary: g++ 12 can destroy a temporary that spans a
  // co_await twice, so every co_await expression in this project holds only lvalues.
  template <class M>
  asio::awaitable<Status> Send(const M& m) {
    const std::string bytes = EncodeMessage(m);
    Status s = co_await WriteFrame(bytes);
    co_return s;
  }
  // TLS close_notify (bounded by the deadline), then the socket.
  asio::awaitable<void> Shutdown();
  void Close();

  // Subject common name of the peer's verified certificate ("" if none).
  std::string PeerCommonName();
  // SHA-256 fingerprint (hex) of the peer certificate's DER ("" if none).
  std::string PeerFingerprint();

 private:
  void Arm() { deadline_ = std::chrono::steady_clock::now() + io_timeout_; }
  Status LinkError(const asio::error_code& ec, std::string_view what) const;

  TlsStream stream_;
  std::chrono::milliseconds io_timeout_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  bool timed_out_ = false;
  bool closed_ = false;
};

// TLS 1.3 only, peer verification on, our certificate and key from PEM text. The server side also
// requires a client certificate signed by the CA.
Result<std::shared_ptr<asio::ssl::context>> MakeTlsContext(bool server, const std::string& ca_pem,
                                                          const std::string& cert_pem, const std::string& key_pem);

}  // namespace mnr
