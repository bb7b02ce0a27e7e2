// The merge rules of the reconciliation server: the one place that decides which edit of a field wins
// and which edits are in conflict. Everything here is a pure function of the SET of a field's
// operations (not their arrival order, not their repetition), which is what makes the merged state
// byte-identical whatever order change-sets arrive in.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "mnr/hlc.h"

namespace mnr::server::merge {

// One stored edit of a field, as the merge sees it.
struct Op {
  std::string version;  // OperationVersion(hlc, author); unique within the field
  std::optional<std::string> value;
  HlcTime hlc = 0;
  std::string author;
  std::vector<std::string> parents;  // versions the author had when it made the edit
};

// Last-writer-wins order: true if `a` ranks below `b` by (hlc, author, value bytes with null below
// any text). Total on distinct ops; the winner of a field is the highest-ranked op that no other op
// descends from.
bool RanksBelow(const Op& a, const Op& b);

// A set of ops of one field that took part in a disagreement, by index into the input of MergeField.
struct ConflictSet {
  std::vector<std::size_t> candidates;  // oldest first (RanksBelow order)
  // Set when one op descends from every disagreeing pair of the set (a coordinator's resolution, or a
  // device that had seen all of them): the lowest-ranked such op.
  std::optional<std::size_t> resolved_by;
};

struct FieldMerge {
  std::size_t winner = 0;
  // The ops no other op strictly descends from, in input order (the winner is the highest-ranked).
  std::vector<std::size_t> heads;
  // Resolved sets, then at most one open set, each in a canonical order (by candidate versions).
  std::vector<ConflictSet> conflicts;
};

// Ancestry: B descends from A if A's version is reachable through B's parents (among the given ops),
// or A and B share an author and A has the lower hlc (a device always knows its own earlier edits).
// Two ops are concurrent when neither descends from the other; a concurrent pair with different values
// disagrees. A disagreeing pair is settled by the lowest-ranked op that descends from both; unsettled
// pairs form the field's one open conflict, settled pairs are grouped by the op that settled them.
// The winner is the highest-ranked op among those no other op descends from.
// `ops` must be non-empty; duplicate versions are treated as one op (the first).
FieldMerge MergeField(const std::vector<Op>& ops);

// True if every parent `op` names, whether the field holds it or not, is older than `op` by (hlc,
// author), read from the version (OperationVersion: 16 hex digits of the hlc, '@', the author), as an
// honest device's parents always are. A malformed parent version counts as not older.
bool NamesOnlyOlderParents(const Op& op);

// Merging one more op from a summary of the field instead of its whole history. The summary holds
// when every op of the field names only older parents and MergeField found no conflict set: then
// `winner` (MergeField's) is the field's highest-ranked op and `heads` the versions of its heads.
// Returns true if `op`, added to such a field, names only older parents, ranks above `winner` and names
// every head as a parent: it then descends from every op, nothing descends from it, so MergeField over
// the whole history plus `op` gives `op` as winner and sole head and no conflict set. False: the summary
// does not decide it; merge the whole history.
bool SupersedesAll(const Op& winner, const std::vector<std::string>& heads, const Op& op);

// Canonical identity of a candidate set: its sorted versions joined by '\n'.
std::string CandidateKey(const std::vector<std::string>& versions);

}  // namespace mnr::server::merge
