#include "client/file_transfer.h"

#include <map>
#include <optional>
#include <set>

#include "client/server_link.h"
#include "mnr/attachment.h"
#include "mnr/i18n.h"
#include "mnr/limits.h"
#include "mnr/messages.h"

namespace mnr::client {
namespace {

// Chunks written and not yet answered: two keep a slow link busy while one is answered, and a cut
// link costs at most these again.
constexpr std::size_t kChunkWindow = 2;

// The files of live attachments, one entry per file (a file attached at two places goes once).
Result<std::vector<AttachmentRow>> FilesOf(ClientStore& store) {
  auto rows = store.Attachments();
  if (!rows.ok()) return rows.status();
  std::vector<AttachmentRow> files;
  std::set<std::string> seen;
  for (auto& a : *rows) {
    if (seen.insert(a.hash).second) files.push_back(std::move(a));
  }
  return files;
}

bool WaitsToGoUp(const AttachmentRow& a) { return a.held == a.value.size && !a.uploaded; }

Result<std::string> SealChunk(ClientStore& store, const AttachmentRow& a, std::uint64_t offset) {
  auto bytes = store.FileChunk(a.hash, offset);
  if (!bytes.ok()) return bytes.status();
  const Credential& cred = *store.identity().credential;
  BlobChunk c{a.hash, a.value.size, offset, std::move(bytes).value(), store.identity().device_id, cred.id, {}};
  return SealBlobChunk(std::move(c), cred.private_key_pem, cred.sealing_public_key);
}

asio::awaitable<Result<BlobState>> ReadState(Connection& conn, const std::string& hash) {
  auto frame = co_await conn.ReadFrame();
  if (!frame.ok()) co_return frame.status();
  if (frame->type == MessageType::kRefused) co_return RefusedStatus(frame->payload);
  if (frame->type != MessageType::kBlobState) {
    co_return Status::Corruption("server answered a file transfer with " + std::string(MessageTypeName(frame->type)));
  }
  auto state = DecodeMessage<BlobState>(frame->payload);
  if (!state.ok()) co_return state.status();
  if (state->hash != hash) co_return Status::Corruption("server answered about file " + state->hash.substr(0, 12) + ", not " + hash.substr(0, 12));
  co_return state;
}

std::string Refusal(const AttachmentRow& a, const std::string& reason) {
  return tr("file \"{1}\" ({2}) refused: {3}", a.value.title, a.hash.substr(0, 12), reason);
}

// Offers one file and sends what the server lacks of it.
asio::awaitable<Status> SendFile(Connection& conn, ClientStore& store, const AttachmentRow& a, FileTransferReport& report,
                                 const std::function<void(const std::string&)>& progress) {
  // Named, not temporaries: GCC 12 destroys a temporary of a co_await expression twice.
  const BlobOffer offer{a.hash, a.value.size};
  auto offered = co_await conn.Send(offer);
  if (!offered.ok()) co_return offered;
  auto state = co_await ReadState(conn, a.hash);
  if (!state.ok()) co_return state.status();
  const bool held_before = state->code == 0 && state->held == a.value.size;
  std::uint64_t next = state->held;
  std::size_t in_flight = 0;
  std::optional<std::uint64_t> restarted_at;
  while (state->code == 0 && state->held < a.value.size) {
    // Everything was sent and answered, yet the server lacks a part: send again from there, once per
    // point of progress, so a server that keeps nothing cannot hold the sync in a loop.
    if (in_flight == 0 && next >= a.value.size) {
      if (restarted_at && *restarted_at >= state->held) {
        co_return Status::Corruption("the server keeps answering that it lacks file " + a.hash.substr(0, 12) + " from byte " +
                                     std::to_string(state->held));
      }
      restarted_at = state->held;
      next = state->held / limits::kBlobChunkBytes * limits::kBlobChunkBytes;
    }
    while (in_flight < kChunkWindow && next < a.value.size) {
      auto sealed = SealChunk(store, a, next);
      if (!sealed.ok()) co_return sealed.status();
      conn.Queue(BlobPut{std::move(sealed).value()});
      report.sent_bytes += std::min<std::uint64_t>(limits::kBlobChunkBytes, a.value.size - next);
      next += limits::kBlobChunkBytes;
      ++in_flight;
    }
    if (Status s = co_await conn.Flush(); !s.ok()) co_return s;
    state = co_await ReadState(conn, a.hash);
    if (!state.ok()) co_return state.status();
    --in_flight;
    progress(tr("sending \"{1}\": {2} of {3} KiB", a.value.title, state->held >> 10, a.value.size >> 10));
  }
  // Answers to chunks still in flight after a refusal or the last chunk are read, so the next
  // message's answer is not mistaken for theirs.
  for (; in_flight > 0; --in_flight) {
    auto rest = co_await ReadState(conn, a.hash);
    if (!rest.ok()) co_return rest.status();
    if (state->code == 0 && rest->code != 0) state = rest;
  }
  if (state->code != 0) {
    report.refusals.push_back(Refusal(a, state->reason));
    co_return store.NoteFileOnServer(a.hash, false, state->reason);
  }
  (held_before ? report.already : report.sent) += 1;
  co_return store.NoteFileOnServer(a.hash, true, "");
}

}  // namespace

asio::awaitable<Status> FetchFile(Connection& conn, ClientStore& store, const AttachmentRow& a, FileTransferReport& report,
                                  const std::function<void(const std::string&)>& progress) {
  const BlobGet get{a.hash, a.held / limits::kBlobChunkBytes * limits::kBlobChunkBytes};
  auto asked = co_await conn.Send(get);
  if (!asked.ok()) co_return asked;
  for (;;) {
    auto frame = co_await conn.ReadFrame();
    if (!frame.ok()) co_return frame.status();
    if (frame->type == MessageType::kBlobState) {
      auto state = DecodeMessage<BlobState>(frame->payload);
      if (!state.ok()) co_return state.status();
      if (state->code != 0) report.refusals.push_back(Refusal(a, state->reason));
      co_return Status::OK();
    }
    if (frame->type == MessageType::kRefused) co_return RefusedStatus(frame->payload);
    if (frame->type != MessageType::kBlobData) {
      co_return Status::Corruption("server answered a file request with " + std::string(MessageTypeName(frame->type)));
    }
    auto data = DecodeMessage<BlobData>(frame->payload);
    if (!data.ok()) co_return data.status();
    if (data->hash != a.hash || data->size != a.value.size) {
      co_return Status::Corruption("server sent file " + data->hash.substr(0, 12) + " for " + a.hash.substr(0, 12));
    }
    auto held = store.StoreFileChunk(a.hash, a.value.size, a.value.media_type, data->offset, data->bytes);
    if (!held.ok()) co_return held.status();
    report.received_bytes += data->bytes.size();
    if (*held == a.value.size) ++report.received;
    progress(tr("receiving \"{1}\": {2} of {3} KiB", a.value.title, *held >> 10, a.value.size >> 10));
  }
}

Status FetchFileNow(ClientStore& store, const AttachmentRow& file, std::chrono::milliseconds timeout) {
  auto link = LinkOptionsFor(store, std::nullopt, timeout);
  if (!link.ok()) return link.status();
  FileTransferReport report;
  Status fetched = RunLink(store, *link, [&](Connection& conn, const Welcome& welcome) -> asio::awaitable<Status> {
    if (welcome.protocol < 3) co_return Status::Unavailable("the server does not serve attachments yet (it speaks an older protocol)");
    const std::function<void(const std::string&)> quiet = [](const std::string&) {};
    co_return co_await FetchFile(conn, store, file, report, quiet);
  });
  if (!fetched.ok()) return fetched;
  if (!report.refusals.empty()) return Status::Refused(report.refusals.front());
  return Status::OK();
}

Result<bool> HasFileWork(ClientStore& store, bool download) {
  auto files = FilesOf(store);
  if (!files.ok()) return files.status();
  for (const auto& a : *files) {
    if (WaitsToGoUp(a) || (download && a.held < a.value.size)) return true;
  }
  return false;
}

asio::awaitable<Status> TransferFiles(Connection& conn, ClientStore& store, bool download, FileTransferReport& report,
                                      const std::function<void(const std::string&)>& progress) {
  auto files = FilesOf(store);
  if (!files.ok()) co_return files.status();
  for (const auto& a : *files) {
    if (!WaitsToGoUp(a)) continue;
    if (Status s = co_await SendFile(conn, store, a, report, progress); !s.ok()) co_return s;
  }
  if (!download) co_return Status::OK();
  for (const auto& a : *files) {
    if (a.held == a.value.size) continue;
    if (Status s = co_await FetchFile(conn, store, a, report, progress); !s.ok()) co_return s;
  }
  co_return Status::OK();
}

Result<std::vector<std::string>> SealWaitingFiles(ClientStore& store) {
  auto files = FilesOf(store);
  if (!files.ok()) return files.status();
  std::vector<std::string> sealed;
  for (const auto& a : *files) {
    if (!WaitsToGoUp(a)) continue;
    for (std::uint64_t offset = 0; offset < a.value.size; offset += limits::kBlobChunkBytes) {
      auto chunk = SealChunk(store, a, offset);
      if (!chunk.ok()) return chunk.status();
      sealed.push_back(std::move(chunk).value());
    }
  }
  return sealed;
}

}  // namespace mnr::client
