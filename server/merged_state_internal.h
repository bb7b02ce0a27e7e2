// What intake (server/intake.cc) and the merged state (server/merged_state.cc) share: the check of an
// operation's value, the merge of one field after edits were added to it, and the writing of a
// coordinator-authored operation. Each runs inside the caller's transaction and moves the caller's
// `state_seq` (the meta table's, which the caller writes back before it commits). Not for other code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mnr/field.h"
#include "mnr/hlc.h"
#include "mnr/sqlite.h"
#include "mnr/status.h"
#include "server/merge.h"

namespace mnr::server {

// Validates the value an operation writes, by field kind. Free text is never echoed in the error.
Status CheckOpValue(const FieldKey& key, const std::optional<std::string>& value);

// Recomputes one field from all its stored ops: the winner (bumping state_seq if it changed) and the
// conflict rows.
struct Recompute {
  bool winner_changed = false;
  int conflicts_opened = 0;
};
Result<Recompute> RecomputeField(Db& db, const std::string& field, std::uint64_t& state_seq, std::int64_t now);

// Merges `op`, just added to `field`, from the field's summary (its winner and heads in the fields
// row) instead of its whole history, when merge::SupersedesAll says the summary decides it: `op`
// becomes the winner and sole head, and no conflict arises. Returns false, having changed nothing,
// when the summary does not decide it (the caller then runs RecomputeField).
Result<bool> MergeFromSummary(Db& db, const std::string& field, const merge::Op& op, std::uint64_t& state_seq);

struct CoordinatorOp {
  std::string field;
  std::optional<std::string> value;
  std::vector<std::string> parents;
  std::string who;
  std::string reason;
  std::int64_t conflict_id = 0;  // 0: not a conflict resolution
  std::string action;            // review.approve, review.return; empty for a resolution
};
// Writes one coordinator-authored operation: a resolutions row (the table of every
// coordinator-authored operation; conflict 0 for a review action), the operation descending from
// `parents`, its audit entry, and the field's new merged state. `clock` gives its timestamp.
Status WriteCoordinatorOp(Db& db, const CoordinatorOp& op, HybridClock& clock, std::uint64_t& state_seq);

}  // namespace mnr::server
