// Change-sets: a batch of one device's edits, the unit that is signed, sealed, sent, acknowledged and
// merged. Serialized with cereal's portable binary archive; `kChangeSetFormat` is written first and
// bumped on any change to the layout (retired versions are listed in docs/protocol.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/hlc.h"
#include "mnr/status.h"

namespace mnr {

inline constexpr std::uint32_t kChangeSetFormat = 1;

// One field-level edit. `new_value` absent = the field was cleared (an unset answer; a tombstone).
// `parents` are the versions of this field the editing device had when it made the edit (usually one;
// none for a first write; several for a coordinator's resolution of a conflict). A version is named
// by OperationVersion(): two edits are concurrent when neither is among the other's ancestors.
struct Operation {
  std::string field;
  std::optional<std::string> old_value;
  std::optional<std::string> new_value;
  HlcTime hlc = 0;
  std::string author;  // device id, or "coordinator:<credential id>" for a resolution
  std::vector<std::string> parents;
};

// "<16 hex digits of hlc>@<author>": unique per field, and sorts by time first.
std::string OperationVersion(HlcTime hlc, std::string_view author);
inline std::string OperationVersion(const Operation& op) { return OperationVersion(op.hlc, op.author); }

struct ChangeSet {
  std::uint32_t format = kChangeSetFormat;
  std::uint32_t schema_version = 0;  // survey schema the edits were made against
  std::string device_id;             // stable per client store
  std::string credential_id;         // whose key signs it
  std::uint64_t seq = 0;             // per device, from 1, no gaps
  HlcTime created = 0;
  std::vector<Operation> ops;
};

// Canonical bytes of a change-set; the same change-set always gives the same bytes.
std::string SerializeChangeSet(const ChangeSet& cs);
// Parses bytes from an untrusted source; bounds every length (limits.h) and checks the format.
Result<ChangeSet> ParseChangeSet(std::string_view bytes);
// Content address: lowercase hex SHA-256 of the canonical bytes.
std::string ChangeSetId(std::string_view serialized);

}  // namespace mnr
