#include "server/remote_ops.h"

namespace mnr::server {
namespace {

Result<std::int64_t> ConflictId(const nlohmann::json& args) {
  if (!args.contains("id") || !args["id"].is_number_integer()) return Status::InvalidArgument("argument \"id\" must be a conflict number");
  return args["id"].get<std::int64_t>();
}

Result<nlohmann::json> ConflictsList(const RemoteCall& call) {
  const bool all = call.arguments.value("all", false);
  auto conflicts = call.store.Conflicts(!all);
  if (!conflicts.ok()) return conflicts.status();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : *conflicts) out.push_back(ConflictToJson(c));
  return out;
}

Result<nlohmann::json> ConflictsShow(const RemoteCall& call) {
  auto id = ConflictId(call.arguments);
  if (!id.ok()) return id.status();
  auto c = call.store.FindConflict(*id);
  if (!c.ok()) return c.status();
  if (!*c) return Status::InvalidArgument("no conflict " + std::to_string(*id));
  return ConflictToJson(**c);
}

Result<nlohmann::json> ConflictsResolve(const RemoteCall& call) {
  auto id = ConflictId(call.arguments);
  if (!id.ok()) return id.status();
  const auto& a = call.arguments;
  if (!a.contains("reason") || !a["reason"].is_string() || a["reason"].get<std::string>().empty()) {
    return Status::InvalidArgument("argument \"reason\" is required");
  }
  std::optional<std::string> value;
  if (a.contains("value") && a["value"].is_string()) value = a["value"].get<std::string>();
  else if (a.contains("value") && !a["value"].is_null()) return Status::InvalidArgument("argument \"value\" must be a string or null");
  auto c = call.store.FindConflict(*id);
  if (!c.ok()) return c.status();
  if (!*c) return Status::InvalidArgument("no conflict " + std::to_string(*id));
  if (value) {
    auto fk = ParseField((*c)->field);
    if (fk.ok() && fk->kind == FieldKey::Kind::kAnswer && !DecodeAnswer(*value).ok()) {
      return Status::InvalidArgument("value \"" + value->substr(0, 40) + "\" is not a valid answer");
    }
  }
  // The resolver is the authenticated caller, never a name the caller supplies.
  const std::string who = call.caller.name + " (" + call.caller.id + ")";
  MNR_RETURN_IF_ERROR(call.store.ResolveConflict(*id, value, who, a["reason"].get<std::string>()));
  auto after = call.store.FindConflict(*id);
  if (!after.ok()) return after.status();
  return ConflictToJson(**after);
}

}  // namespace

nlohmann::json ConflictToJson(const Conflict& c) {
  nlohmann::json candidates = nlohmann::json::array();
  for (const auto& cand : c.candidates) {
    candidates.push_back({{"version", cand.version},
                          {"value", cand.value ? nlohmann::json(*cand.value) : nlohmann::json(nullptr)},
                          {"author", cand.author},
                          {"credential", cand.credential},
                          {"hlc", cand.hlc}});
  }
  nlohmann::json j = {{"id", c.id},
                      {"field", c.field},
                      {"status", c.resolved ? "resolved" : "open"},
                      {"winner_version", c.winner_version},
                      {"candidates", candidates}};
  if (c.resolved) {
    j["resolved_by"] = c.resolved_by.value_or("");
    j["reason"] = c.reason.value_or("");
    j["resolution_version"] = c.resolution_version.value_or("");
  }
  return j;
}

const std::vector<RemoteOperation>& RemoteOperations() {
  static const std::vector<RemoteOperation> ops = {
      {"conflicts.list", {Role::kCoordinator, Role::kAuditor}, &ConflictsList},
      {"conflicts.show", {Role::kCoordinator, Role::kAuditor}, &ConflictsShow},
      {"conflicts.resolve", {Role::kCoordinator}, &ConflictsResolve},
  };
  return ops;
}

const RemoteOperation* FindRemoteOperation(std::string_view name) {
  for (const auto& op : RemoteOperations()) {
    if (op.name == name) return &op;
  }
  return nullptr;
}

}  // namespace mnr::server
