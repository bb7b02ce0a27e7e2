// Attachments' files over a sync session (protocol 3, docs/protocol.md "Attachments") and into a
// bundle. A file goes up only once its attachment field is on the server (the sync pushes first),
// resumes at the first chunk the server does not hold, and is not sent at all when the server already
// holds it from any device. Files come down only when asked (`sync --with-attachments`), so a 2G
// office is not flooded with every country's documents.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "client/client_store.h"
#include "mnr/connection.h"

namespace mnr::client {

struct FileTransferReport {
  int sent = 0;                 // files the server now holds whole thanks to this sync
  int already = 0;              // files the server already held (sent by another device, or before)
  std::uint64_t sent_bytes = 0;
  int received = 0;             // files now whole in this store
  std::uint64_t received_bytes = 0;
  std::vector<std::string> refusals;  // one sentence per file the server would not take or give
};

// Whether a sync has files to move: a file held whole here that the server has not confirmed, or,
// with `download`, an attachment whose file is not whole here.
Result<bool> HasFileWork(ClientStore& store, bool download);

// Offers and sends every file waiting to go up, then (with `download`) fetches every missing one.
// Link failures come back as Unavailable: what arrived on either side is kept, and the next sync
// resumes from it. A file the server refuses is noted on it (`attachments list`) and in the report.
asio::awaitable<Status> TransferFiles(Connection& conn, ClientStore& store, bool download, FileTransferReport& report,
                                      const std::function<void(const std::string&)>& progress);

// Fetches one file from where this store's copy stops (`attachments get`, opening it in the app).
asio::awaitable<Status> FetchFile(Connection& conn, ClientStore& store, const AttachmentRow& file, FileTransferReport& report,
                                  const std::function<void(const std::string&)>& progress);
// The same as one link of its own: connects, fetches `file`, and says Bye.
Status FetchFileNow(ClientStore& store, const AttachmentRow& file, std::chrono::milliseconds timeout);

// Every chunk of every file waiting to go up, sealed for the server, in order (for a bundle).
Result<std::vector<std::string>> SealWaitingFiles(ClientStore& store);

}  // namespace mnr::client
