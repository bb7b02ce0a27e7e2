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
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

  // Caps every deadline at now + `phase` until ClearLimit(): a phase that must end in that time as a
  // whole however steadily the peer trickles bytes (the server's TLS handshake and Hello). A timeout
  // inside it reads "not done within N s".
  void LimitFor(std::chrono::milliseconds phase);
  void ClearLimit();

  // Waits, under the deadline, until the peer has sent a byte or closed, without reading anything.
  asio::awaitable<Status> WaitReadable();
  // Bytes the peer sent that wait unread in the socket (0 if none or on error). Does not block.
  std::size_t Unread();

  asio::awaitable<Status> Handshake(asio::ssl::stream_base::handshake_type type);
  // Reads one whole frame; refuses a length above limits::kFrameBytes before reading the payload.
  asio::awaitable<Result<Frame>> ReadFrame();
  // `bytes` must stay alive until the returned awaitable completes (callers co_await at once).
  asio::awaitable<Status> WriteFrame(const std::string& bytes);
  // Callers pass a named message, never a temporary: g++ 12 can destroy a temporary that spans a
  // co_await twice, so every co_await expression in this project holds only lvalues.
  // Sends whatever Queue() holds, then `m`, in one write.
  template <class M>
  asio::awaitable<Status> Send(const M& m) {
    Queue(m);
    Status s = co_await Flush();
    co_return s;
  }
  // Frames of one reply (PullChunks and PullEnd, a window of Pushes) go out in one write, so that
  // neither Nagle nor a delayed ACK holds the second behind the first. Queue() only appends; nothing
  // is sent until Flush() (or Send()). Callers flush once Queued() passes kFlushBytes, which bounds the
  // buffer.
  template <class M>
  void Queue(const M& m) {
    out_ += EncodeMessage(m);
  }
  static constexpr std::size_t kFlushBytes = 256 * 1024;
  std::size_t Queued() const { return out_.size(); }
  // Writes what Queue() holds (nothing to do when empty) under the deadline; empties the buffer either way.
  asio::awaitable<Status> Flush();
  // Turns Nagle's algorithm off: every reply is one write, so nothing is gained by holding a small
  // segment back, and on a round trip per exchange it costs a delayed ACK (about 40 ms). Called on
  // every connected socket (the server's accepted ones, the client's once connected).
  void SetNoDelay();
  // TLS close_notify (bounded by the deadline), then the socket.
  asio::awaitable<void> Shutdown();
  void Close();

  // Subject common name of the peer's verified certificate ("" if none). On a resumed session, the
  // certificate verified by the full handshake that made it (the session carries it), so the same.
  std::string PeerCommonName();
  // SHA-256 fingerprint (hex) of the peer certificate's DER ("" if none); on a resumed session, as above.
  std::string PeerFingerprint();

  // TLS 1.3 session resumption (docs/protocol.md, "Session resumption"; never 0-RTT data).
  // Client side, before Handshake(): offers `kept` (KeptSession() of an earlier connection to the same
  // server under the same credential). False, and nothing offered, if it does not decode. A session
  // the server no longer takes (it restarted, the ticket expired) costs nothing: the handshake is then
  // a full one.
  bool OfferSession(std::string_view kept);
  // True if the handshake resumed an offered session instead of exchanging certificates.
  bool Resumed();
  // Client side: the newest resumable session of this connection, to offer on the next one (the
  // resumed one itself if the server sent no new ticket); "" if there is none. The server's ticket
  // follows its handshake, so read a frame first. A secret like the credential's key: keep it beside
  // it, never log it.
  std::string KeptSession();
  // A session holds a ticket and the client's certificate, about 1 KiB; anything far larger is not one.
  static constexpr std::size_t kMaxSessionBytes = 16 * 1024;

  // The last Refused message ReadFrame returned, if any. A server closes the connection after most
  // refusals, so a client whose next read or write fails reports this rather than a dropped link.
  const std::optional<Refused>& last_refusal() const { return last_refusal_; }

 private:
  void Arm() { deadline_ = std::min(std::chrono::steady_clock::now() + io_timeout_, limit_); }
  void Disarm() { deadline_ = limit_; }
  Status LinkError(const asio::error_code& ec, std::string_view what) const;

  TlsStream stream_;
  std::chrono::milliseconds io_timeout_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point limit_ = std::chrono::steady_clock::time_point::max();
  std::chrono::milliseconds phase_{0};
  bool timed_out_ = false;
  bool timed_out_phase_ = false;  // the deadline that passed was LimitFor's
  bool closed_ = false;
  bool ticket_due_ = false;  // server side: a session ticket to send with the next write
  std::optional<Refused> last_refusal_;
  std::string out_;  // frames queued for the next Flush
};

// How long a client waits before retry number `retry` (0 for the first): exponential back-off with
// full jitter, floor + a uniformly random time in [0, min(cap, base * 2^retry)], drawn from `random`
// (any 64-bit value; pass a fresh random one each time). `floor` is the server's retry-after when it
// answered Busy, else 0. The jitter spreads clients that failed together, so they do not all come
// back at the same moment and fail together again.
std::chrono::milliseconds RetryDelay(int retry, std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                     std::chrono::milliseconds floor, std::uint64_t random);

// TLS 1.3 only, peer verification on, our certificate and key from PEM text. The server side also
// requires a client certificate signed by the CA, and gives a session ticket after a full handshake
// (no early data), which a client may offer to resume (Connection::OfferSession).
Result<std::shared_ptr<asio::ssl::context>> MakeTlsContext(bool server, const std::string& ca_pem,
                                                          const std::string& cert_pem, const std::string& key_pem);

}  // namespace mnr
