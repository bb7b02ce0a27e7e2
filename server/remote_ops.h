// Remote operations: what coordinators and auditors do from their own machines through `mnr-client`
// (a Request message naming the operation, JSON arguments, a JSON Response). The table in
// remote_ops.cc is the one place that says which role may call which operation; the listener checks
// it before running anything, on every request.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/messages.h"
#include "server/audit_trail.h"
#include "server/merged_state.h"
#include "server/register.h"
#include "server/server_store.h"

namespace mnr::server {

struct RemoteCall {
  ServerStore& store;
  const CredentialRecord& caller;
  const nlohmann::json& arguments;
};

// What the listener sends back for one Request: the operation's Response, or a refusal that leaves
// the connection open.
struct RemoteReply {
  Response response;
  std::optional<Refused> refusal;
};

struct RemoteOperation {
  std::string_view name;
  std::vector<Role> roles;  // who may call it
  // InvalidArgument becomes Refused{kBadRequest}; other errors Refused{kInternal}.
  Result<nlohmann::json> (*run)(const RemoteCall& call);
};

const std::vector<RemoteOperation>& RemoteOperations();
const RemoteOperation* FindRemoteOperation(std::string_view name);

// JSON views shared by the CLI and remote operations.
nlohmann::json ConflictToJson(const Conflict& c);

// --- shared by `mnr-server conflicts|audit` and the remote operations (issue 8) ---

// The names people know credentials and devices by. A device is shown by the name its owner gave it
// (devices.name), else as "<credential name>/<first 8 characters of its id>" (mnr/describe.h).
struct PeopleNames {
  std::map<std::string, std::string> credentials;  // credential id -> holder's name
  std::map<std::string, std::string> devices;      // device id -> label
  std::string Credential(const std::string& id) const;  // "" if unknown
  // The label of a device; one not in the register is labelled from `credential_id`'s name.
  std::string Device(const std::string& id, const std::string& credential_id = "") const;
};
Result<PeopleNames> LoadPeopleNames(ServerStore& store);

// ConflictToJson, and for each candidate "author_name" (the device's label, or the resolver for a
// resolution) and "credential_name".
nlohmann::json ConflictToJson(const Conflict& c, const PeopleNames& names);

// A coordinator's choice for a conflict: candidate `pick` (1-based, as `conflicts show` numbers them)
// kept whole, or a new `value`. For an answer, `value` is the answer word (nullopt clears the field)
// and `note` the note; without a note the current merged winner's note is kept, so a resolution never
// drops a note unless told to (note ""). For a good-practice field `value` is the value itself and a
// note is refused.
struct ResolutionChoice {
  std::optional<std::int64_t> pick;
  std::optional<std::string> value;
  std::optional<std::string> note;
};
// The field value the resolution of `c` records (nullopt: cleared); InvalidArgument names what is wrong.
Result<std::optional<std::string>> ResolutionValue(ServerStore& store, const Conflict& c, const ResolutionChoice& choice);

// Checks the country, indicator and device filters of an `audit log` query against the register, the
// survey schema and the devices the server knows: an unknown one is InvalidArgument naming the nearest
// known names. A device may be given by id, id prefix or name; it is replaced by its id.
Status ResolveHistoryFilters(ServerStore& store, const PeopleNames& names, HistoryQuery& q);
// Adds "device_name" and "carried_by_name" to history records (server/audit_log.h).
void AddHistoryNames(nlohmann::json& records, const PeopleNames& names);

}  // namespace mnr::server
