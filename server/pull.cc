#include "server/pull.h"

#include <algorithm>
#include <cstdint>

#include "mnr/limits.h"
#include "mnr/utf8.h"
#include "server/store_internal.h"

namespace mnr::server {

Result<PullBatch> PullSince(Db& db, const std::vector<std::string>& countries, std::uint64_t cursor, std::size_t limit,
                            std::string_view skip_own_of_device) {
  if (limit == 0) limit = limits::kPullChunkFields;
  const bool skip_own = !skip_own_of_device.empty();
  // `own`: the winner is the device's own edit (a version is "%016x@author") and the device made no
  // later edit of the field, so the device's store holds exactly this version.
  std::string sql = "SELECT field, value, version, hlc, state_seq, ";
  sql += skip_own ? "(substr(version, 18) = ?1 AND NOT EXISTS (SELECT 1 FROM ops o WHERE o.field = fields.field "
                    "AND o.author = ?1 AND o.hlc > fields.hlc))"
                  : "0";
  sql += " AS own FROM fields WHERE state_seq > ?2";
  if (!countries.empty()) {
    sql += " AND country IN (";
    for (std::size_t i = 0; i < countries.size(); ++i) sql += "?" + std::to_string(i + 4) + (i + 1 < countries.size() ? ", " : "");
    sql += ")";
  }
  sql += " ORDER BY state_seq LIMIT ?3";
  auto st = db.Prepare(sql);
  if (!st.ok()) return st.status();
  // Rows left out still cost a step: bound the rows one batch reads, so that a device that pulls
  // after pushing 100,000 edits gets a few empty batches rather than one long scan.
  const std::size_t max_rows = skip_own ? limit * 8 : limit + 1;
  if (skip_own) st->Bind(1, std::string(skip_own_of_device));
  st->Bind(2, static_cast<std::int64_t>(std::min<std::uint64_t>(cursor, INT64_MAX)));
  st->Bind(3, static_cast<std::int64_t>(max_rows));
  int i = 4;
  for (const auto& c : countries) st->Bind(i++, c);
  PullBatch batch;
  batch.next_cursor = cursor;
  std::size_t rows = 0;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (batch.fields.size() == limit || ++rows == max_rows) {
      batch.more = true;
      if (batch.fields.size() == limit) break;
    }
    const auto seq = static_cast<std::uint64_t>(st->Int(4));
    if (st->Int(5) != 0) {
      batch.next_cursor = seq;
      continue;
    }
    PulledField f;
    f.field = st->Text(0);
    f.value = st->OptText(1);
    f.version = st->Text(2);
    f.hlc = static_cast<HlcTime>(st->Int(3));
    batch.next_cursor = seq;
    batch.fields.push_back(std::move(f));
  }
  return batch;
}

Status NoteDeviceSync(Db& db, const std::string& device_id, const std::string& credential_id, const std::string& name,
                      std::int64_t now) {
  std::string clean = name.substr(0, limits::kNameBytes);
  if (!IsValidUtf8(clean) || HasControl(clean)) clean.clear();
  auto st = db.Cached(
      "INSERT INTO devices (device_id, credential_id, name, last_seen_at) VALUES (?, ?, ?, ?) "
      "ON CONFLICT (device_id) DO UPDATE SET name = excluded.name, last_seen_at = excluded.last_seen_at");
  if (!st.ok()) return st.status();
  st->Bind(1, device_id).Bind(2, credential_id).Bind(3, clean).Bind(4, now);
  return st->Run();
}

}  // namespace mnr::server
