// Return bundles (.mnrr): the way back for field offices that never go online. `mnr-server bundle`
// writes, for one country, everything an online sync would have given its offices — receipts for the
// change-sets the server stored, the country's merged state (answers, practices, review and query
// fields), its conflicts with their resolutions, and the latest dataset release — signed with the
// server key and sealed once to each usable field credential of the country (docs/protocol.md,
// "Return bundles (.mnrr)"). `mnr-client import-bundle` opens and applies it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mnr/status.h"
#include "server/merged_state.h"
#include "server/remote_ops.h"
#include "server/server_store.h"

namespace mnr::server {

// The JSON view of a conflict that offices receive (remote conflicts.list and conflicts.show, return
// bundles): ConflictToJson with names (remote_ops.h) plus, once resolved, "resolution_value" (the
// chosen value; null when the resolution cleared the field).
Result<nlohmann::json> ConflictForOffices(ServerStore& store, const Conflict& c, const PeopleNames& names);

// True if conflict `c` concerns one of `countries` (its field names that country).
bool ConflictInCountries(const Conflict& c, const std::vector<std::string>& countries);

struct ReturnBundleOptions {
  std::string country;
  std::int64_t now = 0;      // Unix seconds; becomes created_at
  bool allow_empty = false;  // write a bundle with no fields, receipts, conflicts or release
  bool with_attachments = false;  // also carry the files of the country's attachments the server holds
};

struct ReturnBundle {
  std::string bytes;  // the whole file
  std::size_t fields = 0, receipts = 0, conflicts = 0, files = 0;
  std::string release;                  // label of the release included, or ""
  std::vector<std::string> recipients;  // credential ids it is sealed to
};

// Builds the return bundle of `country` from one consistent view of the store. InvalidArgument when
// the country is not in the register, when no usable field credential of the country can receive it
// (none issued, all revoked or expired, or issued before return keys existed: the message says to
// renew), or when there is nothing to send and !allow_empty.
Result<ReturnBundle> MakeReturnBundle(ServerStore& store, const ReturnBundleOptions& o);

// `mnr-server bundle --data DIR --country C --out FILE.mnrr [--force] [--allow-empty]`.
int ReturnBundleCommand(const std::vector<std::string>& argv);

}  // namespace mnr::server
