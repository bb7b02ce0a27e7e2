// Pulls: what a device fetches of the merged state (server/merged_state.h), in bounded batches after
// a cursor, and the device register's note of its last sync. Over a database handle only, so a
// reader's read-only WAL connection (server/store_workers.h) serves pulls beside the writer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/messages.h"
#include "mnr/sqlite.h"
#include "mnr/status.h"

namespace mnr::server {

struct PullBatch {
  std::vector<PulledField> fields;
  std::uint64_t next_cursor = 0;
  bool more = false;
};

// Merged state changed after `cursor`, limited to `countries` (empty = all, for coordinators), at
// most `limit` fields. With `skip_own_of_device` (protocol 2), leaves out each field whose winner is
// that device's own latest edit of it: the device holds it already. The cursor still moves past what
// was left out; a batch may then be empty with `more` set (a batch scans a bounded number of rows).
// Only reads.
Result<PullBatch> PullSince(Db& db, const std::vector<std::string>& countries, std::uint64_t cursor, std::size_t limit,
                            std::string_view skip_own_of_device = {});

// Notes that a device completed a sync (a pull) now: its name and time, for the coordinator's
// overview. A device not yet known is bound to `credential_id`; a known one keeps its binding.
Status NoteDeviceSync(Db& db, const std::string& device_id, const std::string& credential_id, const std::string& name,
                      std::int64_t now);

}  // namespace mnr::server
