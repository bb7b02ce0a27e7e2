// `mnr-client sync` and `mnr-client bundle`: the two ways a field office's change-sets reach the
// server. Both cut unsynced edits into sealed change-sets first, so the outbox is the single source
// of what is still owed; sync then pushes what the server has not acknowledged and pulls the merged
// state, resuming from the server's acknowledgement after any drop.
#include <unistd.h>

#include <asio.hpp>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "client/client_store.h"
#include "client/commands.h"
#include "client/field_conflicts.h"
#include "client/receipts.h"
#include "client/release_sync.h"
#include "client/server_link.h"
#include "mnr/address.h"
#include "mnr/cli.h"
#include "mnr/connection.h"
#include "mnr/envelope.h"
#include "mnr/file_util.h"

namespace mnr::client {
namespace {


constexpr const char* kSyncProgram = "mnr-client sync";
constexpr const char* kBundleProgram = "mnr-client bundle";

// Exit codes of `sync` (documented in --help and the README).
constexpr int kExitSynced = 0;
constexpr int kExitUnreachable = 3;
constexpr int kExitRefused = 4;
constexpr int kExitNothingToDo = 5;  // only with --detailed-exit-codes; otherwise 0

struct SyncOptions {
  std::chrono::milliseconds timeout{30000};
  int attempts = 5;
  std::chrono::milliseconds first_delay{1000};
  bool progress = false;
};

struct SyncReport {
  int pushed = 0;        // change-sets the server stored in this run
  int already = 0;       // change-sets it already had (a bundle, an earlier cut link)
  int pulled = 0;        // fields of merged state applied
  std::optional<std::string> refusal;
  std::string release;    // label of a dataset release received in this run
};

// What one sync does once the link is up: push what Welcome says the server lacks, then pull. Returns
// OK when done, Unavailable when the link failed (the caller retries), Refused when the server said no.
class SyncBody {
 public:
  SyncBody(ClientStore& store, bool progress, SyncReport& report) : store_(store), progress_(progress), report_(report) {}

  asio::awaitable<Status> Run(Connection& conn, const Welcome& welcome) {
    MNR_CO_RETURN_IF_ERROR(store_.MarkAckedThrough(welcome.acked_through));
    auto outbox = store_.Outbox(true);
    if (!outbox.ok()) co_return outbox.status();
    std::size_t sent = 0;
    for (const auto& entry : *outbox) {
      if (entry.seq <= welcome.acked_through) continue;
      const Push push{entry.sealed};
      MNR_CO_RETURN_IF_ERROR(co_await conn.Send(push));
      auto reply = co_await conn.ReadFrame();
      if (!reply.ok()) co_return reply.status();
      if (reply->type == MessageType::kRefused) {
        // Stop pushing (later change-sets build on this one) but still pull what others did.
        report_.refusal = RefusedStatus(reply->payload).message();
        break;
      }
      if (reply->type != MessageType::kAck) co_return Status::Corruption("server answered a push with " + std::string(MessageTypeName(reply->type)));
      auto ack = DecodeMessage<Ack>(reply->payload);
      if (!ack.ok()) co_return ack.status();
      if (ack->changeset_id != entry.id) co_return Status::Corruption("server acknowledged change-set " + ack->changeset_id + ", not " + entry.id);
      MNR_CO_RETURN_IF_ERROR(SaveReceipt(store_, welcome.server_certificate, entry.seq, *ack));
      MNR_CO_RETURN_IF_ERROR(store_.MarkAckedThrough(ack->acked_through));
      (ack->duplicate ? report_.already : report_.pushed) += 1;
      ++sent;
      Progress("pushed " + std::to_string(sent) + " change-set(s)");
    }

    auto cursor = store_.PullCursor();
    if (!cursor.ok()) co_return cursor.status();
    const std::string store_id = welcome.store_id;
    const std::uint64_t from = cursor->first == welcome.store_id ? cursor->second : 0;
    const Pull pull{store_id, from};
    MNR_CO_RETURN_IF_ERROR(co_await conn.Send(pull));
    for (;;) {
      auto reply = co_await conn.ReadFrame();
      if (!reply.ok()) co_return reply.status();
      if (reply->type == MessageType::kPullEnd) {
        auto end = DecodeMessage<PullEnd>(reply->payload);
        if (!end.ok()) co_return end.status();
        MNR_CO_RETURN_IF_ERROR(store_.ApplyPulled({}, store_id, end->cursor));
        break;
      }
      if (reply->type == MessageType::kRefused) co_return RefusedStatus(reply->payload);
      if (reply->type != MessageType::kPullChunk) co_return Status::Corruption("unexpected " + std::string(MessageTypeName(reply->type)) + " during pull");
      auto chunk = DecodeMessage<PullChunk>(reply->payload);
      if (!chunk.ok()) co_return chunk.status();
      MNR_CO_RETURN_IF_ERROR(store_.ApplyPulled(chunk->fields, store_id, chunk->cursor));
      report_.pulled += static_cast<int>(chunk->fields.size());
      Progress("pulled " + std::to_string(report_.pulled) + " field(s)");
    }
    auto release = co_await ReceiveLatestRelease(conn, store_);
    if (!release.ok()) co_return release.status();
    if (!release->empty()) report_.release = *release;
    // What happened to this office's edits: the conflicts on its countries, told after the summary.
    co_return co_await ReceiveConflicts(conn, store_);
  }

 private:
  void Progress(const std::string& what) const {
    if (progress_) std::cerr << "\r" << what << "   " << std::flush;
  }

  ClientStore& store_;
  bool progress_;
  SyncReport& report_;
};

// Prints, one line each, what changed since last told about conflicts on this device's edits, and
// records that it was told.
Status PrintConflictNews(ClientStore& store) {
  auto news = PendingConflictNews(store);
  if (!news.ok()) return news.status();
  for (const auto& n : *news) std::cout << n.line << "\n";
  std::cout << std::flush;
  return MarkConflictsReported(store, *news);
}

Result<std::unique_ptr<ClientStore>> OpenBound(const std::string& db) {
  auto store = ClientStore::Open(db);
  if (!store.ok()) return store.status();
  if (!(*store)->identity().credential) {
    return Status::InvalidArgument(db + " is not bound to a credential; run `mnr-client init --db " + db +
                                   " --credentials FILE.mnrcred` first");
  }
  return store;
}

}  // namespace

int SyncCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client sync --db PATH [--server HOST:PORT] [--retries N] [--retry-delay SECONDS] [--timeout SECONDS]",
                "Pushes unsynced change-sets to the server, then pulls the merged state of this device's countries.\n"
                "Safe to interrupt and to repeat: the next run sends only what the server has not acknowledged.");
  p.Option("db", "PATH", "client store", true)
      .Option("server", "HOST:PORT", "server address (default: the one in the credential)")
      .Option("retries", "N", "attempts after a dropped or failed link or a busy server, each after a random wait "
              "whose bound doubles (default 4)")
      .Option("retry-delay", "SECONDS", "bound of the wait before the first retry, doubled for each next one up to 60 "
              "(default 1); a busy server's retry-after is added to it")
      .Option("timeout", "SECONDS", "give up on a link that makes no progress for this long (default 30)")
      .Flag("detailed-exit-codes", "exit 5 instead of 0 when there was nothing to send or receive")
      .Flag("quiet", "print nothing on success")
      .Epilog("exit codes: 0 synced (or up to date), 1 local error, 2 usage, 3 could not reach or finish (everything\n"
              "is kept for the next attempt), 4 refused by the server (the reason is printed), 5 nothing to do\n"
              "(with --detailed-exit-codes).");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kSyncProgram, args)) return *code;
  SyncOptions opt;
  int retries = 4;
  try {
    if (auto v = args.Get("retries")) retries = std::stoi(*v);
    if (auto v = args.Get("retry-delay")) opt.first_delay = std::chrono::milliseconds(static_cast<long>(std::stod(*v) * 1000));
    if (auto v = args.Get("timeout")) opt.timeout = std::chrono::milliseconds(static_cast<long>(std::stod(*v) * 1000));
  } catch (const std::exception&) {
    std::cerr << kSyncProgram << ": --retries, --retry-delay and --timeout take numbers\n";
    return cli::kExitUsage;
  }
  if (retries < 0 || retries > 100 || opt.timeout.count() <= 0 || opt.first_delay.count() < 0) {
    std::cerr << kSyncProgram << ": --retries must be 0-100, --timeout positive, --retry-delay not negative\n";
    return cli::kExitUsage;
  }
  opt.attempts = retries + 1;
  auto store = OpenBound(*args.Get("db"));
  if (!store.ok()) return cli::Fail(kSyncProgram, store.status());
  auto link = LinkOptionsFor(**store, args.Get("server"), opt.timeout);
  if (!link.ok()) {
    std::cerr << kSyncProgram << ": " << link.status().message() << "\n";
    return cli::kExitUsage;
  }
  opt.progress = isatty(STDERR_FILENO) && !args.Has("quiet");
  auto cut = (*store)->CutChangeSets();
  if (!cut.ok()) return cli::Fail(kSyncProgram, cut.status());

  SyncReport report;
  Status last = Status::OK();
  // Exponential back-off with full jitter (RetryDelay), so that clients cut off together, or told
  // Busy together, do not all come back at the same moment.
  std::mt19937_64 random(std::random_device{}());
  for (int attempt = 1; attempt <= opt.attempts; ++attempt) {
    SyncBody sync(**store, opt.progress, report);
    LinkOutcome outcome;
    last = RunLink(**store, *link, [&sync](Connection& conn, const Welcome& welcome) { return sync.Run(conn, welcome); },
                   &outcome);
    if (opt.progress) std::cerr << "\r" << std::string(40, ' ') << "\r";
    if (last.ok() || last.code() != Status::Code::kUnavailable) break;
    if (attempt < opt.attempts) {
      const auto delay = RetryDelay(attempt - 1, opt.first_delay, std::chrono::milliseconds(60000),
                                    outcome.busy ? outcome.retry_after : std::chrono::milliseconds(0), random());
      std::ostringstream wait;
      wait << std::fixed << std::setprecision(1) << static_cast<double>(delay.count()) / 1000.0;
      std::cerr << kSyncProgram << ": " << (outcome.busy ? std::string("server busy, ") : last.message() + "; ") << "retrying in "
                << wait.str() << " s (attempt " << attempt + 1 << " of " << opt.attempts << ")\n";
      std::this_thread::sleep_for(delay);
    }
  }
  const std::string summary = "pushed " + std::to_string(report.pushed) + " change-set(s)" +
                              (report.already ? " (" + std::to_string(report.already) + " already on the server)" : "") +
                              ", pulled " + std::to_string(report.pulled) + " field(s)" +
                              (report.release.empty() ? "" : ", received dataset release " + report.release);
  if (!last.ok()) {
    (void)(*store)->RecordSync("failed: " + last.message());
    if (last.code() == Status::Code::kRefused) {
      std::cerr << kSyncProgram << ": refused by the server: " << last.message() << "\n";
      return kExitRefused;
    }
    if (last.code() == Status::Code::kUnavailable) {
      std::cerr << kSyncProgram << ": could not finish: " << last.message() << " (" << summary
                << " so far; everything else is kept for the next sync)\n";
      return kExitUnreachable;
    }
    return cli::Fail(kSyncProgram, last);
  }
  if (report.refusal) {
    (void)(*store)->RecordSync("refused: " + *report.refusal);
    std::cerr << kSyncProgram << ": refused by the server: " << *report.refusal << " (" << summary << ")\n";
    if (!args.Has("quiet")) (void)PrintConflictNews(**store);
    return kExitRefused;
  }
  const bool nothing = report.pushed == 0 && report.already == 0 && report.pulled == 0 && report.release.empty();
  if (auto s = (*store)->RecordSync(nothing ? "up to date" : "synced: " + summary); !s.ok()) return cli::Fail(kSyncProgram, s);
  if (!args.Has("quiet")) {
    std::cout << (nothing ? "up to date" : "synced: " + summary) << "\n";
    if (Status s = PrintConflictNews(**store); !s.ok()) return cli::Fail(kSyncProgram, s);
  }
  if (nothing && args.Has("detailed-exit-codes")) return kExitNothingToDo;
  return kExitSynced;
}

int BundleCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client bundle --db PATH --out FILE.mnrb [--force] [--allow-empty]",
                "Writes every change-set the server has not acknowledged into one sealed bundle file, for a USB\n"
                "stick when there is no link. The coordinator applies it with `mnr-server import-bundle`; a later\n"
                "online sync sends none of it again. With nothing unacknowledged, writes nothing (exit 1) unless\n"
                "--allow-empty.");
  p.Option("db", "PATH", "client store", true)
      .Option("out", "FILE.mnrb", "bundle file to write", true)
      .Flag("force", "replace FILE if it exists (never the store itself)")
      .Flag("allow-empty", "write a bundle even when every change-set is acknowledged");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kBundleProgram, args)) return *code;
  const std::string out = *args.Get("out");
  const OutputRules rules{args.Has("force"), true, {*args.Get("db")}};
  if (Status s = CheckOutputFile(out, rules); !s.ok()) return cli::Fail(kBundleProgram, s);
  auto store = OpenBound(*args.Get("db"));
  if (!store.ok()) return cli::Fail(kBundleProgram, store.status());
  auto cut = (*store)->CutChangeSets();
  if (!cut.ok()) return cli::Fail(kBundleProgram, cut.status());
  auto outbox = (*store)->Outbox(true);
  if (!outbox.ok()) return cli::Fail(kBundleProgram, outbox.status());
  std::vector<std::string> sealed;
  std::int64_t ops = 0;
  for (const auto& e : *outbox) {
    sealed.push_back(e.sealed);
    ops += e.ops;
  }
  if (sealed.empty() && !args.Has("allow-empty")) {
    return cli::Fail(kBundleProgram, Status::InvalidArgument("nothing to send: every change-set is acknowledged; use --allow-empty to "
                                                             "write an empty bundle"));
  }
  if (auto s = WriteOutputFile(out, EncodeBundle(sealed), rules, 0600); !s.ok()) return cli::Fail(kBundleProgram, s);
  std::cout << "wrote " << sealed.size() << " change-set(s) with " << ops << " edit(s) to " << out
            << "; apply it on the server with: mnr-server import-bundle --data DIR " << out << "\n";
  return cli::kExitOk;
}

}  // namespace mnr::client
