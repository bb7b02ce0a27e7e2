#include "mnr/changeset.h"

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <cstdio>
#include <sstream>

#include "mnr/bounded_archive.h"
#include "mnr/crypto.h"
#include "mnr/limits.h"

namespace mnr {
namespace {

inline constexpr std::size_t kMaxParents = 64;

template <class A>
void SaveOp(A& a, const Operation& op) {
  a(op.field, op.old_value, op.new_value, op.hlc, op.author, op.parents);
}

void LoadOp(BoundedInputArchive& a, Operation& op) {
  a(op.field, op.old_value, op.new_value, op.hlc, op.author);
  cereal::size_type n = 0;
  a(cereal::make_size_tag(n));
  if (n > kMaxParents) throw cereal::Exception("operation has too many parents");
  op.parents.resize(static_cast<std::size_t>(n));
  for (auto& p : op.parents) a(p);
}

}  // namespace

std::string OperationVersion(HlcTime hlc, std::string_view author) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hlc));
  return std::string(buf) + "@" + std::string(author);
}

std::string SerializeChangeSet(const ChangeSet& cs) {
  std::ostringstream os;
  {
    cereal::PortableBinaryOutputArchive a(os, cereal::PortableBinaryOutputArchive::Options::LittleEndian());
    a(cs.format, cs.schema_version, cs.device_id, cs.credential_id, cs.seq, cs.created);
    a(cereal::make_size_tag(static_cast<cereal::size_type>(cs.ops.size())));
    for (const auto& op : cs.ops) SaveOp(a, op);
  }
  return os.str();
}

Result<ChangeSet> ParseChangeSet(std::string_view bytes) {
  if (bytes.size() > limits::kChangeSetBytes) {
    return Status::InvalidArgument("change-set of " + std::to_string(bytes.size()) + " bytes exceeds the limit");
  }
  try {
    BoundedInputArchive a(bytes);
    ChangeSet cs;
    a(cs.format);
    if (cs.format != kChangeSetFormat) {
      return Status::InvalidArgument("change-set format " + std::to_string(cs.format) + " is not supported (this build reads " +
                                     std::to_string(kChangeSetFormat) + ")");
    }
    a(cs.schema_version, cs.device_id, cs.credential_id, cs.seq, cs.created);
    cereal::size_type n = 0;
    a(cereal::make_size_tag(n));
    if (n > limits::kOpsPerChangeSet) {
      return Status::InvalidArgument("change-set has " + std::to_string(n) + " operations; the limit is " +
                                     std::to_string(limits::kOpsPerChangeSet));
    }
    cs.ops.resize(static_cast<std::size_t>(n));
    for (auto& op : cs.ops) LoadOp(a, op);
    if (a.remaining() != 0) return Status::InvalidArgument("change-set has trailing bytes");
    if (cs.seq == 0) return Status::InvalidArgument("change-set sequence number must start at 1");
    if (cs.device_id.empty() || cs.credential_id.empty()) return Status::InvalidArgument("change-set lacks a device or credential id");
    // One change-set, one encoding: its id is the hash of these bytes. cereal also reads a stream
    // flagged big-endian, or flagged with any non-zero byte, into the same change-set (found by
    // tests/fuzz).
    if (SerializeChangeSet(cs) != bytes) return Status::InvalidArgument("change-set is not in its canonical encoding");
    return cs;
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("malformed change-set: ") + e.what());
  }
}

std::string ChangeSetId(std::string_view serialized) { return crypto::Sha256Hex(serialized); }

}  // namespace mnr
