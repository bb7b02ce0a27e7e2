// The merged state: one winner per field over every operation the store holds, decided by the pure
// merge (server/merge.h) and kept current as intake adds edits (server/intake.h); the conflicts that
// merge finds; and the coordinator's decisions (conflict resolutions, review decisions and queries),
// each itself an operation that syncs back to the devices. Over the store's database only; each change
// is one transaction with its audit entry (server/audit_log.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mnr/field.h"
#include "mnr/hlc.h"
#include "mnr/review.h"
#include "mnr/sqlite.h"
#include "mnr/status.h"

namespace mnr::server {

struct Conflict {
  std::int64_t id = 0;
  std::string field;
  struct Candidate {
    std::string version;
    std::optional<std::string> value;
    std::string author;       // device id or coordinator
    std::string credential;   // credential id that signed it
    HlcTime hlc = 0;
  };
  std::vector<Candidate> candidates;  // every concurrent value, oldest first
  std::string winner_version;         // what last-writer-wins chose meanwhile
  bool resolved = false;
  std::optional<std::string> resolved_by, reason, resolution_version;
};

// Every conflict, or only the open ones, oldest first.
Result<std::vector<Conflict>> Conflicts(Db& db, bool open_only);
// Conflict `id`; nullopt if there is none.
Result<std::optional<Conflict>> FindConflict(Db& db, std::int64_t id);
// Records a coordinator's choice as a new operation that descends from every candidate, so it wins
// and syncs back to the devices. `value` nullopt clears the field.
Status ResolveConflict(Db& db, std::int64_t id, const std::optional<std::string>& value, const std::string& who,
                       const std::string& reason);

// The review loop (mnr/review.h): records a coordinator's decision on `country` (if any) and one
// query per question, in one transaction. Each is an operation authored by "coordinator:<who>" that
// descends from the field's current value (so it never conflicts with what the server holds), kept
// like a resolution (resolutions row with conflict 0; audit entry with `action`). Returns the ids
// given to the queries ("q<n>", never reused). The caller checks the review state first.
Result<std::vector<std::string>> RecordReview(Db& db, const std::string& country, const std::optional<ReviewDecision>& decision,
                                              const std::vector<QueryQuestion>& questions, const std::string& who,
                                              const std::string& action);

// SHA-256 over the merged state in canonical order: equal for equal sets of change-sets, whatever
// their arrival order or repetition.
Result<std::string> StateHash(Db& db);

// Current merged answers (field key, decoded value) for aggregation.
struct MergedAnswer {
  std::string country;
  std::string indicator;
  AnswerValue value;
  std::string round;
};
Result<std::vector<MergedAnswer>> MergedAnswers(Db& db);

}  // namespace mnr::server
