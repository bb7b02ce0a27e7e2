// Remote operations: what coordinators and auditors do from their own machines through `mnr-client`
// (a Request message naming the operation, JSON arguments, a JSON Response). The table in
// remote_ops.cc is the one place that says which role may call which operation; the listener checks
// it before running anything, on every request.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "server/server_store.h"

namespace mnr::server {

struct RemoteCall {
  ServerStore& store;
  const CredentialRecord& caller;
  const nlohmann::json& arguments;
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

}  // namespace mnr::server
