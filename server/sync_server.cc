// `mnr-server run`: the sync listener. One coroutine per connection on a single-threaded io_context,
// which only moves bytes: every SQLite, disk and crypto step is handed to the StoreWorkers (readers
// on every core, one writer with group commit; server/store_workers.h) and awaited. Admin commands in
// other processes share the store through SQLite's busy timeout.
//
// Admission, so that idle or slow connections cannot starve real users (docs/protocol.md, "Limits"):
// a connection is *pending* from accept until its TLS handshake and Hello are done, and a *session*
// after. Pending connections have their own limits (--max-pending in all, --max-pending-per-address
// from one address) and a short deadline (--handshake-timeout); sessions have --max-clients, and a
// client that finds them all taken is told Busy with a retry-after instead of being cut off.
#include <sys/resource.h>
#include <unistd.h>

#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <functional>
#include <iostream>
#include <list>
#include <unordered_map>

#include "mnr/address.h"
#include "mnr/cli.h"
#include "mnr/connection.h"
#include "mnr/file_util.h"
#include "mnr/limits.h"
#include "mnr/wall_clock.h"
#include "server/attachments.h"
#include "server/audit_log.h"
#include "server/commands.h"
#include "server/intake.h"
#include "server/pull.h"
#include "server/register.h"
#include "server/remote_ops.h"
#include "server/server_config.h"
#include "server/server_log.h"
#include "server/server_store.h"
#include "server/store_workers.h"

namespace mnr::server {
namespace {

using namespace asio::experimental::awaitable_operators;
using asio::experimental::as_tuple_t;
using default_token = as_tuple_t<asio::use_awaitable_t<>>;
using Clock = std::chrono::steady_clock;

constexpr const char* kRunProgram = "mnr-server run";

// At most this many pipelined pushes of one session are gathered into one hand-over (the client keeps
// a window of a few in flight; docs/protocol.md).
constexpr std::size_t kPushesAtOnce = 16;

// Test seam, off unless set: a session whose Hello carries this device id throws right after it takes
// its session slot, so tests can check that a failing session is logged and its slot freed.
constexpr const char* kThrowSeamVariable = "MNR_TEST_SESSION_THROW";


struct ServerConfig {
  RunSettings run;                 // the limits and deadlines (server/server_config.h); SIGHUP replaces them
  std::string server_certificate;  // PEM, sent in Welcome: it verifies receipts
  std::string throw_for_device;    // kThrowSeamVariable; empty = off
};

// The log's word for a refusal: the code's name, never the reason's text, which can quote what a
// change-set held (the reason itself goes to the debug level).
std::string_view RefusalLogName(RefusalCode code) {
  switch (code) {
    case RefusalCode::kProtocol: return "protocol";
    case RefusalCode::kVersion: return "version";
    case RefusalCode::kCredential: return "credential";
    case RefusalCode::kScope: return "scope";
    case RefusalCode::kRole: return "role";
    case RefusalCode::kBadChangeSet: return "bad-change-set";
    case RefusalCode::kSequence: return "sequence";
    case RefusalCode::kInternal: return "internal";
    case RefusalCode::kBadRequest: return "bad-request";
    case RefusalCode::kBusy: return "busy";
    case RefusalCode::kAttachment: return "attachment";
  }
  return "other";
}

// What one sync did, for the one log line per connection.
struct SessionLog {
  std::string peer = "?";
  std::string credential = "-";
  std::string name = "-";
  std::string device = "-";
  int pushed = 0, duplicates = 0, refused = 0, pulled = 0, requests = 0, chunks = 0;
  std::string result = "ok";
  std::string refusal_detail;  // the last refusal's reason: debug level only
  bool silent = false;  // closed before it sent a byte: counted, not logged one by one
  bool resumed = false; // the TLS session was resumed (docs/protocol.md, "Layers")
};

// The pending connections, by client address. Each address holds at most `per_address` *places*; a
// connection with a place runs its handshake, the others wait for one in order of arrival (so an
// honest burst from one address is served, not cut off). A connection that has sent nothing yet is
// *idle*: when an address has no free place, a newcomer closes the address's oldest idle connection
// and its place goes on (a flood of connections that never start TLS thus only ever holds a few
// places, and the newest connection, the live one, gets through). At `max_pending` in all, a newcomer
// closes the oldest idle or waiting connection of the address that holds the most; if there is none,
// the newcomer is closed. Single-threaded, like the server.
class PendingTable {
 public:
  struct Ticket {
    std::string address;
    Connection* conn = nullptr;
    asio::steady_timer* turn = nullptr;  // cancelled when the ticket gets a place or is evicted
    bool placed = false;                 // holds a place: its handshake may run
    bool reading = false;                // the peer has sent bytes: its handshake is under way
    bool evicted = false;
    bool listed = false;
  };

  PendingTable(std::size_t max_pending, std::size_t per_address) : max_pending_(max_pending), per_address_(per_address) {}

  std::size_t size() const { return total_; }

  // New limits (SIGHUP): they apply to connections that arrive from now on.
  void SetLimits(std::size_t max_pending, std::size_t per_address) {
    max_pending_ = max_pending;
    per_address_ = per_address;
  }

  // Closes every pending connection (shutdown): none has done anything yet that could be lost.
  void CloseAll() {
    std::vector<Ticket*> all;
    for (auto& [address, a] : by_address_) {
      all.insert(all.end(), a.placed.begin(), a.placed.end());
      all.insert(all.end(), a.waiting.begin(), a.waiting.end());
    }
    for (Ticket* t : all) Evict(*t);
  }

  // Lists `t`, placed or waiting. False if it could not be listed: close it.
  bool Enter(Ticket& t) {
    if (total_ >= max_pending_ && !EvictForRoom()) return false;
    Address& a = by_address_[t.address];
    if (a.placed.size() >= per_address_) {
      for (Ticket* other : a.placed) {
        if (Idle(*other)) {
          Evict(*other);  // its place goes to the first waiter, or stays free for `t`
          break;
        }
      }
    }
    Address& b = by_address_[t.address];  // Evict may have erased the entry `a` referred to
    t.listed = true;
    ++total_;
    if (b.placed.size() < per_address_ && b.waiting.empty()) {
      t.placed = true;
      b.placed.push_back(&t);
    } else {
      b.waiting.push_back(&t);
    }
    return true;
  }

  // Unlists `t` (idempotent); a place it held goes to a waiter of its address.
  void Leave(Ticket& t) {
    if (!t.listed) return;
    t.listed = false;
    --total_;
    auto it = by_address_.find(t.address);
    if (it == by_address_.end()) return;
    Address& a = it->second;
    if (t.placed) {
      a.placed.remove(&t);
      // The first waiter that has sent its TLS hello goes first; else the first in line.
      auto next = std::find_if(a.waiting.begin(), a.waiting.end(), [](Ticket* w) { return w->conn->Unread() > 0; });
      if (next == a.waiting.end()) next = a.waiting.begin();
      if (next != a.waiting.end()) {
        Ticket* w = *next;
        a.waiting.erase(next);
        w->placed = true;
        a.placed.push_back(w);
        if (w->turn) w->turn->cancel();
      }
    } else {
      a.waiting.erase(std::remove(a.waiting.begin(), a.waiting.end(), &t), a.waiting.end());
    }
    if (a.placed.empty() && a.waiting.empty()) by_address_.erase(it);
  }

 private:
  struct Address {
    std::list<Ticket*> placed;   // oldest first
    std::deque<Ticket*> waiting;  // in order of arrival
  };

  static bool Idle(Ticket& t) { return !t.reading && t.conn->Unread() == 0; }

  void Evict(Ticket& t) {
    t.evicted = true;
    Leave(t);
    t.conn->Close();
    if (t.turn) t.turn->cancel();
  }

  // At max_pending: closes the oldest idle, else the oldest waiting, connection of the address that
  // holds the most. False if that address has neither.
  bool EvictForRoom() {
    Address* busiest = nullptr;
    for (auto& [address, a] : by_address_) {
      if (!busiest || a.placed.size() + a.waiting.size() > busiest->placed.size() + busiest->waiting.size()) busiest = &a;
    }
    if (!busiest) return false;
    Ticket* victim = nullptr;
    for (Ticket* t : busiest->placed) {
      if (Idle(*t)) {
        victim = t;
        break;
      }
    }
    for (Ticket* t : busiest->waiting) {
      if (victim) break;
      if (Idle(*t)) victim = t;
    }
    if (!victim && !busiest->waiting.empty()) victim = busiest->waiting.front();
    if (!victim) return false;
    Evict(*victim);
    return true;
  }

  std::size_t max_pending_;
  std::size_t per_address_;
  std::size_t total_ = 0;
  std::unordered_map<std::string, Address> by_address_;
};

// Holds a ticket in the table for as long as the session's frame lives, exceptions included.
class TicketHold {
 public:
  TicketHold(PendingTable& table, PendingTable::Ticket& ticket) : table_(table), ticket_(ticket) {}
  ~TicketHold() { table_.Leave(ticket_); }
  TicketHold(const TicketHold&) = delete;
  TicketHold& operator=(const TicketHold&) = delete;

 private:
  PendingTable& table_;
  PendingTable::Ticket& ticket_;
};

// One of the max-clients session slots, freed when the session's frame goes, exceptions included.
class SessionSlot {
 public:
  explicit SessionSlot(std::size_t& count) : count_(count) { ++count_; }
  ~SessionSlot() { --count_; }
  SessionSlot(const SessionSlot&) = delete;
  SessionSlot& operator=(const SessionSlot&) = delete;

 private:
  std::size_t& count_;
};

class Server {
  // A session past Hello, for the shutdown: which were in flight when it began, and which it cut.
  struct LiveSession {
    Connection* conn = nullptr;
    bool at_shutdown = false;
    bool cut = false;
  };

  // Lists a session among the live ones for as long as its frame lives, exceptions included; when it
  // ends during a shutdown it is counted as finished or cut, and the last one to end wakes Drain.
  class LiveHold {
   public:
    LiveHold(Server& server, Connection& conn, SessionLog& log)
        : server_(server), log_(log), it_(server.live_.insert(server.live_.end(), LiveSession{&conn})) {}
    ~LiveHold() {
      if (it_->at_shutdown) {
        if (it_->cut) {
          ++server_.cut_at_shutdown_;
          log_.result = "cut:shutdown";
        } else {
          ++server_.finished_at_shutdown_;
        }
      }
      server_.live_.erase(it_);
      if (server_.draining_ && server_.live_.empty() && server_.drain_timer_) server_.drain_timer_->cancel();
    }
    LiveHold(const LiveHold&) = delete;
    LiveHold& operator=(const LiveHold&) = delete;

   private:
    Server& server_;
    SessionLog& log_;
    std::list<LiveSession>::iterator it_;
  };

 public:
  Server(StoreWorkers& workers, std::shared_ptr<asio::ssl::context> tls, ServerConfig config)
      : workers_(workers),
        tls_(std::move(tls)),
        config_(config),
        pending_(config.run.max_pending, config.run.max_pending_per_address) {}

  asio::awaitable<void> Listen(asio::ip::tcp::acceptor acceptor) {
    acceptor_ = &acceptor;
    struct Forget {
      asio::ip::tcp::acceptor*& acceptor;
      ~Forget() { acceptor = nullptr; }
    } forget{acceptor_};
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(default_token{});
      if (ec == asio::error::operation_aborted || draining_) co_return;
      if (ec) {
        // Out of descriptors or similar: wait rather than spin, then keep serving.
        asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(200));
        co_await pause.async_wait(default_token{});
        continue;
      }
      std::string peer = "?";
      asio::error_code ignored;
      auto ep = socket.remote_endpoint(ignored);
      if (!ignored) peer = ep.address().to_string();
      // The session's boundary: whatever escapes it is logged here; its slots were freed as its frame
      // unwound, so one failing session never takes a place from the others.
      asio::co_spawn(acceptor.get_executor(), Session(std::move(socket), peer), [peer](std::exception_ptr e) {
        if (!e) return;
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          what = ex.what();
        } catch (...) {
        }
        LogLine(LogLevel::kError) << "session peer=" << peer << " failed: " << what
                                  << "; its connection was closed and its slot freed";
      });
    }
  }

  // Every 10 s, one line for the connections closed before they sent a byte (a flood of them would
  // otherwise write one line each).
  asio::awaitable<void> ReportSilent() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    report_timer_ = &timer;
    for (;;) {
      timer.expires_after(std::chrono::seconds(10));
      auto [ec] = co_await timer.async_wait(default_token{});
      if (ec || draining_) break;
      if (silent_closed_ == 0) continue;
      LogLine(LogLevel::kInfo) << "closed " << silent_closed_ << " connection(s) that sent nothing (idle past the "
                               << "handshake timeout, or closed to make room for newer ones); pending now " << pending_.size();
      silent_closed_ = 0;
    }
    report_timer_ = nullptr;
  }

  // SIGHUP: the limits and deadlines and the log level of `run` become these. A new deadline applies
  // to connections accepted from now on; the session slots and pending places to the next admission.
  void Reconfigure(const RunSettings& run) {
    config_.run = run;
    pending_.SetLimits(run.max_pending, run.max_pending_per_address);
    SetLogLevel(run.log_level);
  }

  // SIGTERM or SIGINT, after the listener stopped accepting: pending connections are closed at once;
  // sessions may finish their syncs within the grace, then the rest are cut. Every Ack was sent after
  // its change-set committed, so a cut session loses nothing acknowledged: its client sends the rest
  // again on its next sync. Completes when every session has ended; never blocks the thread.
  asio::awaitable<void> Drain() {
    draining_ = true;
    if (acceptor_) {
      asio::error_code ignored;
      acceptor_->close(ignored);
    }
    if (report_timer_) report_timer_->cancel();
    pending_.CloseAll();
    for (auto& live : live_) live.at_shutdown = true;
    LogLine(LogLevel::kInfo) << "shutting down: " << live_.size() << " sessions in flight (grace "
                             << config_.run.shutdown_grace.count() / 1000.0 << " s)";
    asio::steady_timer timer(co_await asio::this_coro::executor);
    drain_timer_ = &timer;
    if (!live_.empty()) {
      timer.expires_after(config_.run.shutdown_grace);
      (void)co_await timer.async_wait(default_token{});
    }
    if (!live_.empty()) CutSessions();
    // A cut session unwinds at its next resumption; wait for that, briefly, so the count is complete.
    for (int i = 0; i < 100 && !live_.empty(); ++i) {
      timer.expires_after(std::chrono::milliseconds(20));
      (void)co_await timer.async_wait(default_token{});
    }
    drain_timer_ = nullptr;
  }

  // A second SIGTERM during the grace: cut what is left now.
  void CutSessions() {
    for (auto& live : live_) {
      if (live.cut) continue;
      live.cut = true;
      live.conn->Close();
    }
  }

  bool draining() const { return draining_; }
  std::size_t finished_at_shutdown() const { return finished_at_shutdown_; }
  std::size_t cut_at_shutdown() const { return cut_at_shutdown_; }

 private:
  asio::awaitable<void> Session(asio::ip::tcp::socket socket, std::string peer) {
    const auto started = Clock::now();
    Connection conn(TlsStream(std::move(socket), *tls_), config_.run.timeout);
    SessionLog log;
    log.peer = std::move(peer);
    std::exception_ptr failure;
    co_await (Guarded(conn, log, failure) || conn.Watchdog());
    conn.Close();
    // To the completion handler in Listen, the session's boundary.
    if (failure) std::rethrow_exception(failure);
    if (log.silent) {
      ++silent_closed_;
      co_return;
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    LogLine(LogLevel::kInfo) << "sync peer=" << log.peer << " credential=" << log.credential << " device=" << log.device
                             << " pushed=" << log.pushed << " duplicate=" << log.duplicates << " refused=" << log.refused
                             << " pulled=" << log.pulled << " requests=" << log.requests << " chunks=" << log.chunks
                             << " tls=" << (log.resumed ? "resumed" : "full") << " ms=" << ms
                             << " result=" << log.result;
    if (!log.refusal_detail.empty()) {
      LogLine(LogLevel::kDebug) << "sync peer=" << log.peer << " device=" << log.device << " refusal: " << log.refusal_detail;
    }
  }

  // Seconds a client told Busy should wait: long enough for the sessions now running and the devices
  // already waiting (told Busy in the last minute and not served since) to be served at the recent
  // average session length: (waiting / max-clients + 1) * average, rounded up, 1 to 60.
  std::uint32_t BusyRetryAfterSeconds(const std::string& device) {
    const auto now = Clock::now();
    std::erase_if(waiting_, [&](const auto& entry) { return now - entry.second > std::chrono::minutes(1); });
    if (waiting_.size() < 100000) waiting_[device] = now;
    const double rounds = static_cast<double>(waiting_.size() - 1) / static_cast<double>(config_.run.max_clients) + 1.0;
    return static_cast<std::uint32_t>(std::clamp(std::ceil(rounds * average_session_seconds_), 1.0, 60.0));
  }

  // Keeps the average session length that BusyRetryAfterSeconds uses (a moving average).
  void NoteSessionLength(Clock::duration length) {
    const double seconds = std::chrono::duration<double>(length).count();
    average_session_seconds_ = 0.8 * average_session_seconds_ + 0.2 * std::min(seconds, 600.0);
  }

  // Waits for a place among the pending connections and for the peer's first byte. False if the
  // connection is to be closed (log.result says why).
  asio::awaitable<bool> Admit(Connection& conn, SessionLog& log, PendingTable::Ticket& ticket, asio::steady_timer& turn) {
    if (!pending_.Enter(ticket)) {
      log.result = "closed:" + std::to_string(config_.run.max_pending) + "-pending-connections";
      log.silent = conn.Unread() == 0;
      co_return false;
    }
    if (!ticket.placed) {
      // Its address's places are all handshaking: wait in line, unread, for at most the I/O timeout.
      turn.expires_after(config_.run.timeout);
      (void)co_await turn.async_wait(default_token{});
      if (!ticket.placed) {
        log.result = ticket.evicted ? "closed:evicted-while-waiting" : "closed:waited-too-long-for-a-handshake-place";
        log.silent = conn.Unread() == 0;
        co_return false;
      }
    }
    conn.LimitFor(std::min(config_.run.handshake_timeout, config_.run.timeout));
    const Status readable = co_await conn.WaitReadable();
    if (!readable.ok() || conn.Unread() == 0) {
      log.result = ticket.evicted ? "closed:idle" : readable.ok() ? "closed-before-tls" : "idle-timeout";
      log.silent = true;
      co_return false;
    }
    ticket.reading = true;
    co_return true;
  }

  // Serve, with an exception kept in `failure` rather than thrown: `a || b` waits for the first of the
  // two to *succeed*, so an exception thrown through it would wait for the watchdog and be lost.
  asio::awaitable<void> Guarded(Connection& conn, SessionLog& log, std::exception_ptr& failure) {
    try {
      co_await Serve(conn, log);
    } catch (...) {
      failure = std::current_exception();
    }
  }

  // The frame read ahead, if any, else the next from the connection.
  static asio::awaitable<Result<Frame>> NextFrame(Connection& conn, std::optional<Frame>& ahead) {
    if (ahead) {
      Frame f = std::move(*ahead);
      ahead.reset();
      co_return f;
    }
    co_return co_await conn.ReadFrame();
  }

  // True if the peer has sent bytes not read yet (decrypted or still in the socket): reading a frame
  // then does not wait on the client, which is how pipelined pushes are gathered without a stall.
  static bool HasInput(Connection& conn) {
    return ::SSL_pending(conn.stream().native_handle()) > 0 || conn.Unread() > 0;
  }

  static void NoteRefusal(SessionLog& log, RefusalCode code, const std::string& reason) {
    log.result = "refused:" + std::string(RefusalLogName(code));
    log.refusal_detail = reason.substr(0, 300);
  }

  // Sends a refusal and closes. `reason` is a named string owned by the caller (see Connection::Send).
  asio::awaitable<void> Refuse(Connection& conn, SessionLog& log, RefusalCode code, const std::string& reason) {
    NoteRefusal(log, code, reason);
    const Refused refused{static_cast<std::uint16_t>(code), reason};
    (void)co_await conn.Send(refused);
    co_await conn.Shutdown();
  }

  asio::awaitable<void> Serve(Connection& conn, SessionLog& log) {
    // However Serve ends (an exception included), the connection closes, which also ends its watchdog.
    struct CloseOnExit {
      Connection& conn;
      ~CloseOnExit() { conn.Close(); }
    } close_on_exit{conn};
    asio::steady_timer turn(co_await asio::this_coro::executor);
    PendingTable::Ticket ticket;
    ticket.address = log.peer;
    ticket.conn = &conn;
    ticket.turn = &turn;
    TicketHold hold(pending_, ticket);
    if (!co_await Admit(conn, log, ticket, turn)) co_return;
    Status hs = co_await conn.Handshake(asio::ssl::stream_base::server);
    if (!hs.ok()) {
      log.result = "handshake-failed:" + hs.message();
      co_return;
    }
    log.resumed = conn.Resumed();
    const std::string cred_id = conn.PeerCommonName();
    log.credential = cred_id.empty() ? "-" : cred_id;
    const auto find = [cred_id](ServerStore& store) { return FindCredential(store.db(), cred_id); };
    auto found = co_await workers_.Read(find);
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
    if (Status usable = CheckCredentialUsable(cred, UnixNow()); !usable.ok()) {
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
    if (hello->protocol < kOldestProtocolVersion || hello->protocol > kProtocolVersion) {
      {
        const std::string why = "protocol version " + std::to_string(hello->protocol) + " is not supported (server speaks " +
                          std::to_string(kOldestProtocolVersion) + " to " + std::to_string(kProtocolVersion) + ")";
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
    // TLS and Hello are done: the connection leaves the pending ones and needs a session slot.
    pending_.Leave(ticket);
    conn.ClearLimit();
    if (draining_) {
      // Shutting down (a restart, most often): the client waits a little and syncs again.
      {
        const std::string why = BusyReason(5, "the server is shutting down");
        co_await Refuse(conn, log, RefusalCode::kBusy, why);
      }
      log.result = "busy:shutting-down";
      co_return;
    }
    if (sessions_ >= config_.run.max_clients) {
      {
        const std::string why = BusyReason(BusyRetryAfterSeconds(hello->device_id), std::to_string(config_.run.max_clients) +
                                                                      " sessions at once is its limit");
        co_await Refuse(conn, log, RefusalCode::kBusy, why);
      }
      log.result = "busy";
      co_return;
    }
    SessionSlot slot(sessions_);
    LiveHold live(*this, conn, log);
    waiting_.erase(hello->device_id);
    struct Timing {
      Server& server;
      Clock::time_point began = Clock::now();
      ~Timing() { server.NoteSessionLength(Clock::now() - began); }
    } timing{*this};
    if (!config_.throw_for_device.empty() && hello->device_id == config_.throw_for_device) {
      throw std::runtime_error(std::string("test seam ") + kThrowSeamVariable + ": the session of device " +
                               hello->device_id + " throws");
    }
    Welcome welcome;
    welcome.protocol = hello->protocol;  // the session speaks the client's version
    const auto where = [device = hello->device_id](ServerStore& store) {
      return std::pair<std::string, std::uint64_t>(store.store_id(), AckedThrough(store.db(), device));
    };
    std::tie(welcome.store_id, welcome.acked_through) = co_await workers_.Read(where);
    welcome.credential_id = cred.id;
    welcome.role = std::string(RoleName(cred.role));
    welcome.countries = cred.countries;
    welcome.server_time = HybridClock::Make(static_cast<std::uint64_t>(UnixNow()) * 1000, 0);
    welcome.server_certificate = config_.server_certificate;
    welcome.attachment_max_bytes = AttachmentLimitsOf(config_.run).max_bytes;
    const Status welcomed = co_await conn.Send(welcome);
    if (!welcomed.ok()) {
      log.result = "dropped";
      co_return;
    }

    std::optional<Refused> push_refused;  // the first Push refused in this session
    std::optional<Frame> ahead;            // a frame read while gathering pipelined pushes
    std::uint64_t session_id = 0;
    for (;;) {
      auto frame = co_await NextFrame(conn, ahead);
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
      const bool blob_message = frame->type == MessageType::kBlobOffer || frame->type == MessageType::kBlobPut ||
                                frame->type == MessageType::kBlobGet;
      if (blob_message && welcome.protocol < 3) {
        const std::string why = std::string(MessageTypeName(frame->type)) + " needs protocol 3; this session speaks " +
                                std::to_string(welcome.protocol);
        co_await Refuse(conn, log, RefusalCode::kProtocol, why);
        co_return;
      }
      if (frame->type == MessageType::kPush || frame->type == MessageType::kPull || frame->type == MessageType::kRequest ||
          blob_message) {
        const auto find_current = [id = cred.id](ServerStore& store) { return FindCredential(store.db(), id); };
        auto current = co_await workers_.Read(find_current);
        Status usable = !current.ok() ? current.status()
                        : !current->has_value() ? Status::Refused("credential " + cred.id + " is no longer in the register")
                                                : CheckCredentialUsable(**current, UnixNow());
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
          // The pushes a pipelining client has already sent go in one hand-over: checked on every
          // core, stored in one group commit, answered in one write.
          std::vector<std::string> sealed;
          sealed.push_back(std::move(push->sealed));
          std::optional<Status> read_failure;
          while (sealed.size() < kPushesAtOnce && HasInput(conn)) {
            auto more = co_await conn.ReadFrame();
            if (!more.ok()) {
              read_failure = more.status();
              break;
            }
            if (more->type != MessageType::kPush) {
              ahead = std::move(*more);
              break;
            }
            auto next = DecodeMessage<Push>(more->payload);
            if (!next.ok()) {
              read_failure = Status::InvalidArgument(next.status().message());
              break;
            }
            sealed.push_back(std::move(next->sealed));
          }
          std::vector<StoreWorkers::Received> received(sealed.size());
          if (push_refused) {
            // A pipelining client sent these before it read the refusal; they may build on the refused
            // change-set, so they are not stored either (docs/protocol.md, "Refused").
            for (auto& r : received) r.intake.refusal = Refusal{static_cast<RefusalCode>(push_refused->code), "not stored: an earlier change-set of this sync was refused"};
          } else if (cred.role != Role::kField) {
            // Only field credentials submit answers; refused before the envelope is even opened.
            NoteRefusal(log, RefusalCode::kRole, "a " + std::string(RoleName(cred.role)) + " credential pushed");
            for (auto& r : received) {
              r.intake.refusal = Refusal{RefusalCode::kRole, std::string(RoleName(cred.role)) +
                                                                 " credentials may not push change-sets; only field credentials "
                                                                 "submit answers (coordinators resolve conflicts with `conflicts resolve`)"};
            }
          } else {
            if (session_id == 0) session_id = ++next_session_;
            received = co_await workers_.ReceiveAll(std::move(sealed), cred, session_id, UnixNow());
          }
          for (auto& r : received) {
            const IntakeResult& intake = r.intake;
            if (intake.refusal) {
              ++log.refused;
              // The connection stays usable: the client decides whether to go on (it pulls, then stops).
              if (!push_refused || cred.role != Role::kField) NoteRefusal(log, intake.refusal->code, intake.refusal->reason);
              const Refused refused{static_cast<std::uint16_t>(intake.refusal->code), intake.refusal->reason};
              // A role refusal is the credential's, not a change-set's: later pushes get it again.
              if (!push_refused && cred.role == Role::kField) push_refused = refused;
              conn.Queue(refused);
              continue;
            }
            const IntakeOutcome& out = *intake.outcome;
            if (out.duplicate) ++log.duplicates; else ++log.pushed;
            // The change-set is committed either way: without a receipt, the Ack still says so.
            if (!r.receipt_error.empty()) {
              LogLine(LogLevel::kWarning) << "receipt for change-set " << out.changeset_id.substr(0, 16)
                                          << " not signed: " << r.receipt_error;
            }
            conn.Queue(Ack{out.changeset_id, out.seq, out.duplicate, out.acked_through, std::move(r.receipt)});
          }
          const Status sent = co_await conn.Flush();
          if (!sent.ok()) {
            log.result = "dropped";
            co_return;
          }
          if (read_failure) {
            log.result = read_failure->code() == Status::Code::kUnavailable ? "dropped" : "bad-frame";
            if (read_failure->code() != Status::Code::kUnavailable) {
              const std::string why = read_failure->message();
              co_await Refuse(conn, log, RefusalCode::kProtocol, why);
            }
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
          // Protocol 2: no echo of what the device itself wrote, and chunks compressed.
          const bool v2 = welcome.protocol >= 2;
          const std::string skip_own = v2 && cred.role == Role::kField ? hello->device_id : std::string();
          for (;;) {
            const auto read_batch = [&scope, cursor, &skip_own](ServerStore& store) {
              return PullSince(store.db(), scope, cursor, limits::kPullChunkFields, skip_own);
            };
            auto batch = co_await workers_.Read(read_batch);
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
              // Chunks and PullEnd go out together, flushed only when the buffer is full.
              if (v2) {
                conn.Queue(PackPullChunk(chunk));
              } else {
                conn.Queue(chunk);
              }
              Status sent = Status::OK();
              if (conn.Queued() >= Connection::kFlushBytes) sent = co_await conn.Flush();
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
          if (cred.role == Role::kField) {
            // A pull completes a sync: the coordinator's overview shows when each device last did.
            const auto note = [&hello, &cred](ServerStore& store) {
              return NoteDeviceSync(store.db(), hello->device_id, cred.id, hello->device_name, UnixNow());
            };
            Status seen = co_await workers_.Write(note);
            if (!seen.ok()) LogLine(LogLevel::kWarning) << "device " << hello->device_id.substr(0, 16) << ": " << seen.message();
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
          const auto run = [this, &cred, &request](ServerStore& store) { return RunRemote(store, cred, *request); };
          const RemoteReply reply = co_await workers_.Write(run);
          if (reply.refusal) {
            ++log.refused;
            NoteRefusal(log, static_cast<RefusalCode>(reply.refusal->code), reply.refusal->reason);
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
        case MessageType::kBlobOffer: {
          auto offer = DecodeMessage<BlobOffer>(frame->payload);
          if (!offer.ok()) {
            const std::string why = offer.status().message();
            co_await Refuse(conn, log, RefusalCode::kProtocol, why);
            co_return;
          }
          const auto offered = [limits = AttachmentLimitsOf(config_.run), &cred, &hello, &offer](ServerStore& store) {
            AttachmentIntake intake(store, limits);
            return intake.Offer(cred, hello->device_id, offer->hash, offer->size);
          };
          const BlobState state = co_await workers_.Write(offered);
          if (state.code != 0) NoteRefusal(log, RefusalCode::kAttachment, state.reason);
          if (!(co_await conn.Send(state)).ok()) {
            log.result = "dropped";
            co_return;
          }
          break;
        }
        case MessageType::kBlobPut: {
          auto put = DecodeMessage<BlobPut>(frame->payload);
          if (!put.ok()) {
            const std::string why = put.status().message();
            co_await Refuse(conn, log, RefusalCode::kProtocol, why);
            co_return;
          }
          const auto stored = [limits = AttachmentLimitsOf(config_.run), &cred, &hello, &put](ServerStore& store) {
            AttachmentIntake intake(store, limits);
            return intake.Put(put->sealed, &cred, hello->device_id, UnixNow());
          };
          const BlobState state = co_await workers_.Write(stored);
          if (state.code != 0) {
            NoteRefusal(log, RefusalCode::kAttachment, state.reason);
          } else {
            ++log.chunks;
          }
          if (!(co_await conn.Send(state)).ok()) {
            log.result = "dropped";
            co_return;
          }
          break;
        }
        case MessageType::kBlobGet: {
          auto get = DecodeMessage<BlobGet>(frame->payload);
          if (!get.ok()) {
            const std::string why = get.status().message();
            co_await Refuse(conn, log, RefusalCode::kProtocol, why);
            co_return;
          }
          const AttachmentLimits limits = AttachmentLimitsOf(config_.run);
          BlobState state;
          state.hash = get->hash.substr(0, 64);
          const auto readable = [limits, &cred, &get](ServerStore& store) {
            AttachmentIntake intake(store, limits);
            return intake.CheckReadable(cred, get->hash);
          };
          auto size = co_await workers_.Read(readable);
          if (!size.ok()) {
            state.code = static_cast<std::uint16_t>(RefusalCode::kAttachment);
            state.reason = size.status().message();
          } else if (get->offset % limits::kBlobChunkBytes != 0 || get->offset > *size) {
            state.code = static_cast<std::uint16_t>(RefusalCode::kAttachment);
            state.reason = "a file is read from a chunk boundary inside it";
          } else {
            state.size = *size;
            // Chunks go out as the connection takes them, flushed when the buffer fills, so a 2G link
            // is kept busy without holding the file in memory.
            for (std::uint64_t offset = get->offset; offset < *size; offset += limits::kBlobChunkBytes) {
              const auto read_chunk = [&get, offset](ServerStore& store) {
                return BlobDirectory(store.paths().dir).Read(get->hash, offset, limits::kBlobChunkBytes);
              };
              auto bytes = co_await workers_.Read(read_chunk);
              if (!bytes.ok()) {
                LogLine(LogLevel::kWarning) << "file " << get->hash.substr(0, 12) << ": " << bytes.status().message();
                const std::string why = "server store error; try again later";
                co_await Refuse(conn, log, RefusalCode::kInternal, why);
                co_return;
              }
              conn.Queue(BlobData{get->hash, *size, offset, std::move(bytes).value()});
              if (conn.Queued() >= Connection::kFlushBytes && !(co_await conn.Flush()).ok()) {
                log.result = "dropped";
                co_return;
              }
              ++log.chunks;
            }
            state.held = *size;
          }
          if (!(co_await conn.Send(state)).ok()) {
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

  // Every remote request passes here: unknown operation, wrong role and bad arguments are refusals
  // that leave the connection open.
  static RemoteReply RunRemote(ServerStore& store, const CredentialRecord& cred, const Request& request) {
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
      result = op->run(RemoteCall{store, cred, args});
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

  StoreWorkers& workers_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::uint64_t next_session_ = 0;       // ties the change-sets of one sync in the writer's groups
  ServerConfig config_;
  PendingTable pending_;
  std::size_t sessions_ = 0;             // connections past TLS and Hello, at most max_clients
  std::unordered_map<std::string, Clock::time_point> waiting_;  // devices told Busy, when last
  double average_session_seconds_ = 1.0;
  std::size_t silent_closed_ = 0;        // since the last ReportSilent line
  asio::ip::tcp::acceptor* acceptor_ = nullptr;  // Listen's, while it runs
  std::list<LiveSession> live_;           // sessions past Hello (a list: LiveHold keeps an iterator)
  bool draining_ = false;                 // shutting down: no new sessions
  asio::steady_timer* drain_timer_ = nullptr;   // Drain's grace timer, while it waits
  asio::steady_timer* report_timer_ = nullptr;  // ReportSilent's timer, while it runs
  std::size_t finished_at_shutdown_ = 0;  // of the sessions in flight when the shutdown began
  std::size_t cut_at_shutdown_ = 0;
};

}  // namespace

namespace {

// The flags that override a key of the configuration file, by key.
constexpr std::pair<const char*, const char*> kRunFlagKeys[] = {
    {"listen", "listen"},
    {"timeout", "timeout"},
    {"handshake-timeout", "handshake_timeout"},
    {"max-clients", "max_clients"},
    {"max-pending", "max_pending"},
    {"max-pending-per-address", "max_pending_per_address"},
    {"log-level", "log_level"},
    {"shutdown-grace", "shutdown_grace"},
};

// The settings `run` uses: the defaults, then the configuration file (`config_path`, if not empty),
// then the flags. The message of a failure names the file, line and column, or the flag.
Result<RunSettings> ResolveRunSettings(const std::string& config_path, const cli::Args& args) {
  RunSettings run;
  if (!config_path.empty()) {
    auto loaded = LoadRunSettings(config_path);
    if (!loaded.ok()) return loaded.status();
    run = *loaded;
  }
  for (const auto& [flag, key] : kRunFlagKeys) {
    if (auto value = args.Get(flag)) {
      if (Status set = SetRunSetting(run, key, *value); !set.ok()) {
        return Status::InvalidArgument("--" + std::string(flag) + ": " + set.message());
      }
    }
  }
  return run;
}

// Raises the soft descriptor limit to cover every pending connection and session.
void RaiseDescriptorLimit(const RunSettings& run) {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0) return;
  const rlim_t wanted = static_cast<rlim_t>(run.max_pending + run.max_clients + 64);
  if (files.rlim_cur >= wanted) return;
  files.rlim_cur = std::min(wanted, files.rlim_max);
  (void)::setrlimit(RLIMIT_NOFILE, &files);
  if (files.rlim_cur < wanted) {
    LogLine(LogLevel::kWarning) << "only " << files.rlim_cur << " file descriptors for " << run.max_pending
                                << " pending connections and " << run.max_clients << " sessions (raise ulimit -n)";
  }
}

}  // namespace

int RunCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server run --data DIR [--config FILE] [--listen HOST:PORT] [--timeout SECONDS] "
                "[--handshake-timeout SECONDS] [--max-clients N] [--max-pending N] [--max-pending-per-address N] "
                "[--log-level LEVEL] [--shutdown-grace SECONDS]",
                "Serves syncs from field offices and coordinators over mutual TLS 1.3 until SIGTERM or SIGINT.\n"
                "Settings come from the configuration file (--config, else /etc/mnr-sync/server.toml when it\n"
                "exists; every key is in docs/config.md), and a flag given here wins over the file.\n"
                "Logs one line per connection to stderr (no survey content; under systemd with journal levels);\n"
                "connections that never sent a byte are counted in one line every 10 s instead.\n"
                "Signals: SIGHUP reads the configuration file again and applies its log level, limits and\n"
                "deadlines (listen needs a restart; flags still win). The credential register needs no reload:\n"
                "every connection and every request is checked against the store as it is then. SIGTERM (or\n"
                "SIGINT) stops accepting, lets the syncs in flight finish within the shutdown grace, then cuts\n"
                "the rest (a second SIGTERM cuts them at once); nothing acknowledged is lost, and it exits 0.");
  p.Option("data", "DIR", "server data directory (from mnr-server init)", true)
      .Option("config", "FILE", "configuration file (default /etc/mnr-sync/server.toml, if it exists)")
      .Option("listen", "HOST:PORT", "address to listen on, e.g. 0.0.0.0:7443 or 127.0.0.1:7443 (default 0.0.0.0:7443)")
      .Option("timeout", "SECONDS", "drop a client that makes no progress for this long (default 30)")
      .Option("handshake-timeout", "SECONDS",
              "a new connection must finish its TLS handshake and Hello within this (default 5, at most --timeout)")
      .Option("max-clients", "N", "sessions (past TLS and Hello) served at once; more are told Busy with a retry-after "
              "(default 256)")
      .Option("max-pending", "N", "connections not yet past TLS and Hello, in all (default 1024)")
      .Option("max-pending-per-address", "N",
              "the same, from one client address; more wait their turn, and a newer one closes the oldest that has "
              "sent nothing (default 8)")
      .Option("log-level", "LEVEL", "error, warning, info or debug (default info)")
      .Option("shutdown-grace", "SECONDS", "on SIGTERM, how long syncs in flight may take to finish (default 10)");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kRunProgram, args)) return *code;
  // An explicit --config must exist; the default file only when it is there.
  const std::string config_path = ConfigPath(args.Get("config"));
  auto settings = ResolveRunSettings(config_path, args);
  if (!settings.ok()) {
    std::cerr << kRunProgram << ": " << settings.status().message() << "\n";
    return cli::kExitUsage;
  }
  ServerConfig config;
  config.run = *settings;
  SetLogLevel(config.run.log_level);
  if (const char* seam = std::getenv(kThrowSeamVariable)) config.throw_for_device = seam;
  auto listen = ParseHostPort(config.run.listen);
  if (!listen.ok()) {
    std::cerr << kRunProgram << ": listen: " << listen.status().message() << "\n";
    return cli::kExitUsage;
  }
  auto store = ServerStore::Open(*args.Get("data"));
  if (!store.ok()) return cli::Fail(kRunProgram, store.status());
  const ServerPaths& paths = (*store)->paths();
  auto ca = ReadFile(paths.ca_cert(), 1 << 20);
  auto cert = ReadFile(paths.server_cert(), 1 << 20);
  auto key = ReadFile(paths.server_key(), 1 << 20);
  for (const auto* r : {&ca, &cert, &key}) {
    if (!r->ok()) return cli::Fail(kRunProgram, r->status());
  }
  auto tls = MakeTlsContext(true, *ca, *cert, *key);
  if (!tls.ok()) return cli::Fail(kRunProgram, tls.status());
  config.server_certificate = *cert;

  asio::io_context io(1);
  // Signals are handled on the io_context's thread, between sessions' steps: nothing here blocks. The
  // sets exist before the port opens, so a SIGTERM sent as soon as the port answers (systemd stopping
  // a unit it just started) is a clean stop, not the default action's kill.
  asio::signal_set stops(io, SIGINT, SIGTERM);
  asio::signal_set hangups(io, SIGHUP);
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
    std::cerr << kRunProgram << ": cannot listen on " << config.run.listen << ": " << e.code().message() << "\n";
    return cli::kExitFailure;
  }
  RaiseDescriptorLimit(config.run);
  std::signal(SIGPIPE, SIG_IGN);
  // Readers on every core: at least two, so a pull never waits behind another's verification, and at
  // most eight, as each holds a SQLite connection and its page cache.
  const std::size_t readers = std::clamp(std::thread::hardware_concurrency(), 2u, 8u);
  auto workers = StoreWorkers::Open(paths.dir, readers);
  if (!workers.ok()) return cli::Fail(kRunProgram, workers.status());
  Server server(**workers, *tls, config);

  std::function<void()> await_hangup = [&] {
    hangups.async_wait([&](const asio::error_code& ec, int) {
      if (ec || server.draining()) return;
      if (config_path.empty()) {
        LogLine(LogLevel::kInfo) << "SIGHUP: no configuration file to read again (" << kDefaultConfigPath
                                 << " does not exist and --config was not given); nothing changed";
      } else if (auto again = ResolveRunSettings(config_path, args); !again.ok()) {
        LogLine(LogLevel::kError) << "SIGHUP: kept the running settings: " << again.status().message();
      } else {
        if (again->listen != config.run.listen) {
          LogLine(LogLevel::kWarning) << "SIGHUP: listen changed to " << again->listen << "; it applies at the next start";
          again->listen = config.run.listen;
        }
        config.run = *again;
        server.Reconfigure(*again);
        RaiseDescriptorLimit(*again);
        LogLine(LogLevel::kInfo) << "SIGHUP: reloaded " << config_path << ": log_level=" << LogLevelName(again->log_level)
                                 << " timeout=" << again->timeout.count() / 1000.0 << " handshake_timeout="
                                 << again->handshake_timeout.count() / 1000.0 << " max_clients=" << again->max_clients
                                 << " max_pending=" << again->max_pending << " max_pending_per_address="
                                 << again->max_pending_per_address << " shutdown_grace="
                                 << again->shutdown_grace.count() / 1000.0;
      }
      await_hangup();
    });
  };
  await_hangup();
  std::function<void()> await_stop = [&] {
    stops.async_wait([&](const asio::error_code& ec, int signal) {
      if (ec) return;
      if (server.draining()) {
        LogLine(LogLevel::kInfo) << (signal == SIGINT ? "SIGINT" : "SIGTERM") << " again: cutting the sessions left now";
        server.CutSessions();
        return;
      }
      asio::co_spawn(io, server.Drain(), [&](std::exception_ptr) {
        stops.cancel();
        hangups.cancel();
      });
      await_stop();
    });
  };
  await_stop();

  LogLine(LogLevel::kInfo) << "listening on " << config.run.listen << " (TLS 1.3, client certificates required)"
                           << (config_path.empty() ? std::string() : "; settings from " + config_path);
  bool listener_failed = false;
  asio::co_spawn(io, server.Listen(std::move(acceptor)), [&io, &listener_failed](std::exception_ptr e) {
    if (!e) return;
    listener_failed = true;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      LogLine(LogLevel::kError) << "the listener failed: " << ex.what();
    } catch (...) {
      LogLine(LogLevel::kError) << "the listener failed";
    }
    io.stop();
  });
  asio::co_spawn(io, server.ReportSilent(), asio::detached);
  io.run();
  const StoreWorkers::Counts counts = (*workers)->counts();
  LogLine(LogLevel::kInfo) << "stored " << counts.changesets << " change-sets in " << counts.commits << " commits";
  if (server.draining()) {
    LogLine(LogLevel::kInfo) << "stopped: " << server.finished_at_shutdown() << " finished, " << server.cut_at_shutdown() << " cut";
  } else {
    LogLine(LogLevel::kInfo) << "stopped";
  }
  return listener_failed ? cli::kExitFailure : cli::kExitOk;
}

}  // namespace mnr::server
