// What happened to this office's edits: the conflicts the server reports on the office's countries
// (remote conflicts.list on every sync, or a return bundle), kept in the client store (conflicts table,
// client-store-v5.sql) so that `sync` and `import-bundle` say once what changed and `status` lists
// what is still open.
//
// A conflict concerns this device when one of its candidates was made here (its author is this
// store's device id). This device's edit lost when the conflict is open and another candidate is the
// current value, or when it was resolved to a value other than this device's candidate.
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/client_store.h"
#include "mnr/connection.h"
#include "mnr/status.h"

namespace mnr::client {

// OK if `conflicts` is a JSON array of conflicts as the server gives them (server/remote_ops.h
// ConflictToJson): objects with an integer id, a field key, a status "open" or "resolved" and an
// array of candidates, each with a version, an author and a value (string or null).
Status CheckConflicts(const nlohmann::json& conflicts);

// Checks `conflicts` (CheckConflicts), then keeps each one's JSON by id, all in one transaction;
// nothing is stored when a check fails. Conflicts not in `conflicts` stay as they were.
Status StoreConflicts(ClientStore& store, const nlohmann::json& conflicts);

// On an open link after Welcome, in two halves so that a sync can pipeline the question:
// QueueConflictsRequest queues a request for every conflict the credential may see (conflicts.list
// {all: true}); ReadConflicts flushes what is queued, reads the answer and stores the conflicts. A
// server that refuses the operation for this role or does not know it (one from before field offices
// could list conflicts) is not an error: nothing is stored then.
void QueueConflictsRequest(Connection& conn);
asio::awaitable<Status> ReadConflicts(Connection& conn, ClientStore& store);

// The one-line description of conflict `c` from the point of view of device `device_id`, or nullopt
// when it does not concern that device. Open:
//   conflict 3 on Q01 c11_child_helpline: your answer "no" (note "…") lost to "yes" from Q01 laptop;
//   open, a coordinator will decide
// (or `your answer "yes" is kept for now over "no" from …` while this device's edit is the current
// value); resolved:
//   conflict 3 on Q01 c11_child_helpline: resolved by Ada (coordinator): "partial" — reason: "…"
// Notes, values and reasons are shortened to 40 characters with control characters escaped.
// `lost` (optional) is set as defined above.
std::optional<std::string> DescribeConflictFor(const nlohmann::json& c, std::string_view device_id, bool* lost = nullptr);

struct ConflictNews {
  std::int64_t id = 0;
  std::string status;  // what it is being reported as
  std::string line;
};
// The stored conflicts that concern this device and whose status changed since they were last
// reported: every open one, and a resolved one when this device's edit lost or it had been reported
// open. Oldest first.
Result<std::vector<ConflictNews>> PendingConflictNews(ClientStore& store);
// Records that `news` was shown, so it is not shown again until the status changes.
Status MarkConflictsReported(ClientStore& store, const std::vector<ConflictNews>& news);

// One line per stored open conflict that concerns this device (for `status`), oldest first.
Result<std::vector<std::string>> OpenConflictLines(ClientStore& store);

}  // namespace mnr::client
