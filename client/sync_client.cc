// `mnr-client sync` and `mnr-client bundle`: the two ways a field office's change-sets reach the
// server. Both cut unsynced edits into sealed change-sets first, so the outbox is the single source
// of what is still owed; sync then pushes what the server has not acknowledged and pulls the merged
// state, resuming from the server's acknowledgement after any drop.
#include <unistd.h>

#include <asio.hpp>
#include <chrono>
#include <deque>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "client/client_store.h"
#include "client/commands.h"
#include "client/field_conflicts.h"
#include "client/file_transfer.h"
#include "client/receipts.h"
#include "client/release_sync.h"
#include "client/server_link.h"
#include "mnr/address.h"
#include "mnr/cli.h"
#include "mnr/i18n.h"
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
  FileTransferReport files;
  bool files_unsupported = false;  // files wait, but the server speaks no protocol 3
};

// What one sync does, pipelined so that a sync with little to send costs the TCP and TLS handshakes
// and one exchange: the first unacknowledged change-set travels with the Hello (Opening), then, after
// Welcome, the rest with at most kWindow unacknowledged at once; behind the last push go the Pull, the
// release and conflict questions and Bye, and the answers are read in the order the server sends them.
// Every Ack is checked against the change-set it answers before that one counts as stored. Returns OK
// when done, Unavailable when the link failed (the caller retries), Refused when the server said no.
class SyncBody {
 public:
  // Pushes written and not yet acknowledged: bounds the bytes in flight (and so what a cut link costs
  // the server to receive again) without a round trip per change-set.
  static constexpr std::size_t kWindow = 8;

  // `file_work`: files wait to move (HasFileWork), so the session stays open after the pull for them.
  SyncBody(ClientStore& store, bool progress, SyncReport& report, LinkPipeline& pipeline, bool file_work, bool download)
      : store_(store), progress_(progress), report_(report), pipeline_(pipeline), file_work_(file_work), download_(download) {}

  // Queued behind the Hello, before Welcome says what the server holds: only the first unacknowledged
  // change-set, so that a link cut after the server stored several costs at most this one again.
  Status Opening(Connection& conn) {
    auto outbox = store_.Outbox(true);
    if (!outbox.ok()) return outbox.status();
    outbox_ = std::move(outbox).value();
    if (!outbox_.empty()) {
      const Push push{outbox_.front().sealed};
      conn.Queue(push);
      in_flight_.push_back(0);
      next_ = 1;
      early_ = true;
    }
    if (next_ == outbox_.size()) return QueueTail(conn);
    return Status::OK();
  }

  asio::awaitable<Status> Run(Connection& conn, const Welcome& welcome) {
    MNR_CO_RETURN_IF_ERROR(store_.MarkAckedThrough(welcome.acked_through));
    if (welcome.attachment_max_bytes != 0) MNR_CO_RETURN_IF_ERROR(store_.SetAttachmentLimit(welcome.attachment_max_bytes));
    std::size_t sent = 0;
    for (;;) {
      while (!refused_ && next_ < outbox_.size() && in_flight_.size() < kWindow) {
        const OutboxEntry& entry = outbox_[next_];
        if (entry.seq > welcome.acked_through) {
          const Push push{entry.sealed};
          conn.Queue(push);
          in_flight_.push_back(next_);
        }
        ++next_;
        if (conn.Queued() >= Connection::kFlushBytes) MNR_CO_RETURN_IF_ERROR(co_await conn.Flush());
      }
      if (!tail_queued_ && (refused_ || next_ == outbox_.size())) MNR_CO_RETURN_IF_ERROR(QueueTail(conn));
      if (in_flight_.empty()) break;
      MNR_CO_RETURN_IF_ERROR(co_await conn.Flush());
      const OutboxEntry& entry = outbox_[in_flight_.front()];
      in_flight_.pop_front();
      auto reply = co_await conn.ReadFrame();
      if (!reply.ok()) co_return reply.status();
      if (reply->type == MessageType::kRefused) {
        // Stop pushing (later change-sets build on this one) but still pull what others did. Those
        // already in flight are refused too; the first refusal is the one to report.
        if (!refused_) report_.refusal = RefusedStatus(reply->payload).message();
        refused_ = true;
        continue;
      }
      if (reply->type != MessageType::kAck) co_return Status::Corruption("server answered a push with " + std::string(MessageTypeName(reply->type)));
      auto ack = DecodeMessage<Ack>(reply->payload);
      if (!ack.ok()) co_return ack.status();
      if (ack->changeset_id != entry.id) co_return Status::Corruption("server acknowledged change-set " + ack->changeset_id + ", not " + entry.id);
      MNR_CO_RETURN_IF_ERROR(SaveReceipt(store_, welcome.server_certificate, entry.seq, *ack));
      MNR_CO_RETURN_IF_ERROR(store_.MarkAckedThrough(ack->acked_through));
      // One sent with the Hello that Welcome already counted as stored was not news.
      const bool known = early_ && entry.seq <= welcome.acked_through;
      if (!known) (ack->duplicate ? report_.already : report_.pushed) += 1;
      ++sent;
      Progress(tr("pushed {1} change-set(s)", sent));
    }
    early_ = false;
    MNR_CO_RETURN_IF_ERROR(co_await conn.Flush());

    // The pull's cursor belongs to the store that issued it; the server restarts from 0 for another.
    const std::string store_id = welcome.store_id;
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
      Result<PullChunk> chunk = Status::Corruption("unexpected " + std::string(MessageTypeName(reply->type)) + " during pull");
      if (reply->type == MessageType::kPackedPullChunk) {
        auto packed = DecodeMessage<PackedPullChunk>(reply->payload);
        chunk = packed.ok() ? UnpackPullChunk(*packed) : Result<PullChunk>(packed.status());
      } else if (reply->type == MessageType::kPullChunk) {
        chunk = DecodeMessage<PullChunk>(reply->payload);
      }
      if (!chunk.ok()) co_return chunk.status();
      MNR_CO_RETURN_IF_ERROR(store_.ApplyPulled(chunk->fields, store_id, chunk->cursor));
      report_.pulled += static_cast<int>(chunk->fields.size());
      Progress(tr("pulled {1} field(s)", report_.pulled));
    }
    auto release = co_await ReadLatestRelease(conn, store_);
    if (!release.ok()) co_return release.status();
    if (!release->empty()) report_.release = *release;
    // What happened to this office's edits: the conflicts on its countries, told after the summary.
    MNR_CO_RETURN_IF_ERROR(co_await ReadConflicts(conn, store_));
    if (!file_work_) co_return Status::OK();
    if (welcome.protocol < 3) {
      report_.files_unsupported = true;
      co_return Status::OK();
    }
    // Files go last: their attachment fields are on the server by now, and a slow file does not hold
    // up the answers and the pull.
    const std::function<void(const std::string&)> progress = [this](const std::string& what) { Progress(what); };
    co_return co_await TransferFiles(conn, store_, download_, report_.files, progress);
  }

 private:
  // What follows the last push: the Pull, the release and conflict questions, and Bye (the server
  // answers in this order, then closes).
  Status QueueTail(Connection& conn) {
    tail_queued_ = true;
    auto cursor = store_.PullCursor();
    if (!cursor.ok()) return cursor.status();
    const Pull pull{cursor->first, cursor->second};
    conn.Queue(pull);
    MNR_RETURN_IF_ERROR(QueueLatestReleaseRequest(conn, store_));
    QueueConflictsRequest(conn);
    if (file_work_) return Status::OK();  // the link says Bye after the files
    const Bye bye;
    conn.Queue(bye);
    pipeline_.said_bye = true;
    return Status::OK();
  }

  void Progress(const std::string& what) const {
    if (progress_) std::cerr << "\r" << what << "   " << std::flush;
  }

  ClientStore& store_;
  bool progress_;
  SyncReport& report_;
  LinkPipeline& pipeline_;
  std::vector<OutboxEntry> outbox_;  // unacknowledged, by sequence number
  std::size_t next_ = 0;             // the next outbox_ entry to push
  std::deque<std::size_t> in_flight_;  // outbox_ entries pushed and not yet answered, in order
  bool early_ = false;               // the first push went with the Hello
  bool refused_ = false;
  bool tail_queued_ = false;
  bool file_work_;
  bool download_;
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
    return Status::InvalidArgument(
        tr("{1} is not bound to a credential; run `mnr-client init --db {1} --credentials FILE.mnrcred` first", db));
  }
  return store;
}

}  // namespace

int SyncCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client sync --db PATH [--with-attachments] [--server HOST:PORT] [--retries N] [--retry-delay SECONDS] [--timeout SECONDS]",
                tr("Pushes unsynced change-sets to the server, then pulls the merged state of this device's countries.\n"
                   "Safe to interrupt and to repeat: the next run sends only what the server has not acknowledged."));
  p.Option("db", "PATH", "client store", true)
      .Option("server", "HOST:PORT", "server address (default: the one in the credential)")
      .Option("retries", "N", "attempts after a dropped or failed link or a busy server, each after a random wait "
              "whose bound doubles (default 4)")
      .Option("retry-delay", "SECONDS", "bound of the wait before the first retry, doubled for each next one up to 60 "
              "(default 1); a busy server's retry-after is added to it")
      .Option("timeout", "SECONDS", "give up on a link that makes no progress for this long (default 30)")
      .Flag("with-attachments", "also bring the files of every attachment of this device's countries that are not here yet "
            "(by default only the list of attachments comes, so a slow link is not flooded)")
      .Flag("detailed-exit-codes", "exit 5 instead of 0 when there was nothing to send or receive")
      .Flag("quiet", "print nothing on success")
      .Flag("verbose", "also say how each connection was set up: a TLS session resumed from the last sync, or a full handshake")
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
    std::cerr << kSyncProgram << ": " << tr("--retries, --retry-delay and --timeout take numbers") << "\n";
    return cli::kExitUsage;
  }
  if (retries < 0 || retries > 100 || opt.timeout.count() <= 0 || opt.first_delay.count() < 0) {
    std::cerr << kSyncProgram << ": " << tr("--retries must be 0-100, --timeout positive, --retry-delay not negative") << "\n";
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
  auto file_work = HasFileWork(**store, args.Has("with-attachments"));
  if (!file_work.ok()) return cli::Fail(kSyncProgram, file_work.status());

  SyncReport report;
  Status last = Status::OK();
  // Exponential back-off with full jitter (RetryDelay), so that clients cut off together, or told
  // Busy together, do not all come back at the same moment.
  std::mt19937_64 random(std::random_device{}());
  for (int attempt = 1; attempt <= opt.attempts; ++attempt) {
    LinkPipeline pipeline;
    SyncBody sync(**store, opt.progress, report, pipeline, *file_work, args.Has("with-attachments"));
    pipeline.opening = [&sync](Connection& conn) { return sync.Opening(conn); };
    LinkOutcome outcome;
    last = RunLink(**store, *link, [&sync](Connection& conn, const Welcome& welcome) { return sync.Run(conn, welcome); },
                   &outcome, &pipeline);
    if (opt.progress) std::cerr << "\r" << std::string(40, ' ') << "\r";
    if (args.Has("verbose") && outcome.handshake) {
      std::cerr << kSyncProgram << ": " << (outcome.resumed ? tr("TLS session resumed") : tr("TLS full handshake")) << "\n";
    }
    if (last.ok() || last.code() != Status::Code::kUnavailable) break;
    if (attempt < opt.attempts) {
      const auto delay = RetryDelay(attempt - 1, opt.first_delay, std::chrono::milliseconds(60000),
                                    outcome.busy ? outcome.retry_after : std::chrono::milliseconds(0), random());
      std::ostringstream wait;
      wait << std::fixed << std::setprecision(1) << static_cast<double>(delay.count()) / 1000.0;
      std::cerr << kSyncProgram << ": "
                << (outcome.busy ? tr("server busy, retrying in {1} s (attempt {2} of {3})", wait.str(), attempt + 1, opt.attempts)
                                 : tr("{1}; retrying in {2} s (attempt {3} of {4})", last.message(), wait.str(), attempt + 1,
                                      opt.attempts))
                << "\n";
      std::this_thread::sleep_for(delay);
    }
  }
  // The store records the summary in English (data that `status` shows as stored); the terminal gets it
  // in the user's language.
  const auto summary_in = [&report](bool translate) {
    const std::string pushed = std::to_string(report.pushed), already = std::to_string(report.already),
                      pulled = std::to_string(report.pulled);
    return tr_if(translate, "pushed {1} change-set(s)", {pushed}) +
           (report.already ? tr_if(translate, " ({1} already on the server)", {already}) : "") +
           tr_if(translate, ", pulled {1} field(s)", {pulled}) +
           (report.release.empty() ? "" : tr_if(translate, ", received dataset release {1}", {report.release})) +
           (report.files.sent + report.files.already == 0
                ? ""
                : tr_if(translate, ", sent {1} file(s) ({2} KiB)", {std::to_string(report.files.sent + report.files.already),
                                                                    std::to_string(report.files.sent_bytes >> 10)})) +
           (report.files.received == 0
                ? ""
                : tr_if(translate, ", received {1} file(s) ({2} KiB)", {std::to_string(report.files.received),
                                                                        std::to_string(report.files.received_bytes >> 10)}));
  };
  const std::string summary = summary_in(true);
  const std::string record = summary_in(false);
  if (!last.ok()) {
    (void)(*store)->RecordSync("failed: " + last.message());
    if (last.code() == Status::Code::kRefused) {
      std::cerr << kSyncProgram << ": " << tr("refused by the server: {1}", last.message()) << "\n";
      return kExitRefused;
    }
    if (last.code() == Status::Code::kUnavailable) {
      std::cerr << kSyncProgram << ": "
                << tr("could not finish: {1} ({2} so far; everything else is kept for the next sync)", last.message(), summary)
                << "\n";
      return kExitUnreachable;
    }
    return cli::Fail(kSyncProgram, last);
  }
  if (report.refusal) {
    (void)(*store)->RecordSync("refused: " + *report.refusal);
    std::cerr << kSyncProgram << ": " << tr("refused by the server: {1} ({2})", *report.refusal, summary) << "\n";
    if (!args.Has("quiet")) (void)PrintConflictNews(**store);
    return kExitRefused;
  }
  if (report.files_unsupported) {
    std::cerr << kSyncProgram << ": " << tr("the server does not take attachments yet (it speaks an older protocol); the files wait here until it is upgraded") << "\n";
  }
  if (!report.files.refusals.empty()) {
    (void)(*store)->RecordSync("synced; files refused: " + std::to_string(report.files.refusals.size()));
    for (const auto& r : report.files.refusals) std::cerr << kSyncProgram << ": " << r << "\n";
    if (!args.Has("quiet")) {
      std::cout << tr("synced: {1}", summary) << "\n";
      (void)PrintConflictNews(**store);
    }
    return kExitRefused;
  }
  const bool nothing = report.pushed == 0 && report.already == 0 && report.pulled == 0 && report.release.empty() &&
                       report.files.sent + report.files.already + report.files.received == 0;
  if (auto s = (*store)->RecordSync(nothing ? "up to date" : "synced: " + record); !s.ok()) return cli::Fail(kSyncProgram, s);
  if (!args.Has("quiet")) {
    std::cout << (nothing ? tr("up to date") : tr("synced: {1}", summary)) << "\n";
    if (Status s = PrintConflictNews(**store); !s.ok()) return cli::Fail(kSyncProgram, s);
  }
  if (nothing && args.Has("detailed-exit-codes")) return kExitNothingToDo;
  return kExitSynced;
}

namespace {

// "4M", "700K", "1G" or a number of bytes.
std::optional<std::uint64_t> ParseByteSize(const std::string& text) {
  std::uint64_t n = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9' && i < 12; ++i) n = n * 10 + static_cast<std::uint64_t>(text[i] - '0');
  if (i == 0) return std::nullopt;
  const std::string unit = text.substr(i);
  if (unit.empty() || unit == "B") return n;
  if (unit == "K" || unit == "KiB" || unit == "k") return n << 10;
  if (unit == "M" || unit == "MiB") return n << 20;
  if (unit == "G" || unit == "GiB") return n << 30;
  return std::nullopt;
}

// The name of part `n` (from 1) of a bundle written to `out`: the first keeps the name, the next ones
// add -2, -3... before the extension.
std::string PartName(const std::string& out, std::size_t n) {
  if (n == 1) return out;
  const std::size_t dot = out.rfind('.');
  const std::size_t slash = out.rfind('/');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash);
  return has_ext ? out.substr(0, dot) + "-" + std::to_string(n) + out.substr(dot) : out + "-" + std::to_string(n);
}

}  // namespace

int BundleCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client bundle --db PATH --out FILE.mnrb [--max-size SIZE] [--force] [--allow-empty]",
                tr("Writes every change-set the server has not acknowledged, and every attachment file it does not\n"
                   "hold yet, into a sealed bundle file, for a USB stick when there is no link. The coordinator\n"
                   "applies it with `mnr-server import-bundle`; a later online sync sends none of it again. With\n"
                   "--max-size, the files are split across several parts (FILE.mnrb, FILE-2.mnrb, ...), each small\n"
                   "enough for one stick; every part carries the change-sets, so the parts may be applied in any\n"
                   "order. With nothing to send, writes nothing (exit 1) unless --allow-empty."));
  p.Option("db", "PATH", "client store", true)
      .Option("out", "FILE.mnrb", "bundle file to write", true)
      .Option("max-size", "SIZE", "the largest part to write: bytes, or with K, M or G (\"700M\")")
      .Flag("force", "replace FILE if it exists (never the store itself)")
      .Flag("allow-empty", "write a bundle even when every change-set is acknowledged");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kBundleProgram, args)) return *code;
  std::optional<std::uint64_t> max_size;
  if (auto m = args.Get("max-size")) {
    max_size = ParseByteSize(*m);
    if (!max_size || *max_size < 2 * limits::kBlobChunkBytes) {
      std::cerr << kBundleProgram << ": " << tr("--max-size takes a size of at least 128K, such as 700M") << "\n";
      return cli::kExitUsage;
    }
  }
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
  std::uint64_t changeset_bytes = 0;
  for (const auto& e : *outbox) {
    sealed.push_back(e.sealed);
    changeset_bytes += e.sealed.size() + kFrameHeaderBytes;
    ops += e.ops;
  }
  auto chunks = SealWaitingFiles(**store);
  if (!chunks.ok()) return cli::Fail(kBundleProgram, chunks.status());
  if (sealed.empty() && chunks->empty() && !args.Has("allow-empty")) {
    return cli::Fail(kBundleProgram, Status::InvalidArgument(tr("nothing to send: every change-set is acknowledged; use --allow-empty to "
                                                                "write an empty bundle")));
  }
  // Parts: each carries every change-set, then as many chunks as fit.
  constexpr std::uint64_t kPartOverhead = 64;  // magic and end marker
  std::vector<std::vector<std::string>> parts(1);
  std::uint64_t room = max_size ? *max_size : 0;
  if (max_size && changeset_bytes + kPartOverhead + (chunks->empty() ? 0 : chunks->front().size() + kFrameHeaderBytes) > *max_size) {
    return cli::Fail(kBundleProgram, Status::InvalidArgument(tr("--max-size {1} is too small: the change-sets alone take {2} bytes",
                                                                *args.Get("max-size"), changeset_bytes + kPartOverhead)));
  }
  std::uint64_t used = changeset_bytes + kPartOverhead;
  for (auto& chunk : *chunks) {
    const std::uint64_t size = chunk.size() + kFrameHeaderBytes;
    if (max_size && used + size > room && !parts.back().empty()) {
      parts.emplace_back();
      used = changeset_bytes + kPartOverhead;
    }
    used += size;
    parts.back().push_back(std::move(chunk));
  }
  for (std::size_t n = 1; n < parts.size(); ++n) {
    if (Status s = CheckOutputFile(PartName(out, n + 1), rules); !s.ok()) return cli::Fail(kBundleProgram, s);
  }
  std::size_t chunk_count = 0;
  for (std::size_t n = 0; n < parts.size(); ++n) {
    if (auto s = WriteOutputFile(PartName(out, n + 1), EncodeBundle(sealed, parts[n]), rules, 0600); !s.ok()) {
      return cli::Fail(kBundleProgram, s);
    }
    chunk_count += parts[n].size();
  }
  std::cout << tr("wrote {1} change-set(s) with {2} edit(s) to {3}; apply it on the server with: mnr-server import-bundle "
                 "--data DIR {3}",
                 sealed.size(), ops, out)
            << "\n";
  if (chunk_count > 0) {
    std::cout << tr("with {1} file chunk(s) of attachments in {2} part(s): {3}", chunk_count, parts.size(),
                    parts.size() == 1 ? out : out + " … " + PartName(out, parts.size()))
              << "\n";
  }
  return cli::kExitOk;
}

}  // namespace mnr::client
