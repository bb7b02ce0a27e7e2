#include "server/remote_ops.h"

#include "server/audit_log.h"

#include "server/release.h"

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

// Remote answers travel in one frame (limits::kFrameBytes); pages stop near this many bytes.
constexpr std::size_t kAuditPageBytes = 512 * 1024;
constexpr std::size_t kMaxAnswerBytes = 3 * 1024 * 1024 + 512 * 1024;

Result<std::optional<std::string>> OptString(const nlohmann::json& args, const char* key) {
  if (!args.contains(key) || args[key].is_null()) return std::optional<std::string>();
  if (!args[key].is_string()) return Status::InvalidArgument(std::string("argument \"") + key + "\" must be a string");
  return std::optional<std::string>(args[key].get<std::string>());
}

Result<std::uint64_t> OptIndex(const nlohmann::json& args, const char* key, std::uint64_t fallback) {
  if (!args.contains(key) || args[key].is_null()) return fallback;
  if (!args[key].is_number_unsigned()) return Status::InvalidArgument(std::string("argument \"") + key + "\" must be a whole number");
  return args[key].get<std::uint64_t>();
}

Status FitsOneAnswer(const nlohmann::json& answer) {
  if (answer.dump().size() > kMaxAnswerBytes) {
    return Status::InvalidArgument("one audit entry is too large to send in one answer; read it on the server host with "
                                   "`mnr-server audit log` or `mnr-server audit export`");
  }
  return Status::OK();
}

// {country, indicator, device, since (Unix seconds), from} -> {records: [...], next: index or null}
Result<nlohmann::json> AuditLogOperation(const RemoteCall& call) {
  HistoryQuery q;
  for (auto [key, slot] : {std::pair{"country", &q.country}, {"indicator", &q.indicator}, {"device", &q.device}}) {
    auto v = OptString(call.arguments, key);
    if (!v.ok()) return v.status();
    *slot = *v;
  }
  if (call.arguments.contains("since") && !call.arguments["since"].is_null()) {
    if (!call.arguments["since"].is_number_integer()) return Status::InvalidArgument("argument \"since\" must be Unix seconds");
    q.since = call.arguments["since"].get<std::int64_t>();
  }
  auto from = OptIndex(call.arguments, "from", 0);
  if (!from.ok()) return from.status();
  q.from = *from;
  q.max_bytes = kAuditPageBytes;
  auto page = AuditHistory(call.store, q);
  if (!page.ok()) return page.status();
  nlohmann::json out = {{"records", page->records}, {"next", page->next ? nlohmann::json(*page->next) : nlohmann::json(nullptr)}};
  MNR_RETURN_IF_ERROR(FitsOneAnswer(out));
  return out;
}

// {part: meta|heads|entries, from, size} -> one part of the export file (server/audit_log.h).
Result<nlohmann::json> AuditExportOperation(const RemoteCall& call) {
  ExportOptions o;
  const std::string part = call.arguments.value("part", "meta");
  if (part == "meta") {
    o.part = ExportOptions::Part::kMeta;
  } else if (part == "heads") {
    o.part = ExportOptions::Part::kHeads;
  } else if (part == "entries") {
    o.part = ExportOptions::Part::kEntries;
  } else {
    return Status::InvalidArgument("argument \"part\" must be meta, heads or entries");
  }
  auto from = OptIndex(call.arguments, "from", 0);
  if (!from.ok()) return from.status();
  o.from = *from;
  if (call.arguments.contains("size") && !call.arguments["size"].is_null()) {
    auto size = OptIndex(call.arguments, "size", 0);
    if (!size.ok()) return size.status();
    o.size = *size;
  }
  // Only the first part signs a head; the rest describe the tree that part named.
  o.sign_head = o.part == ExportOptions::Part::kMeta && !o.size;
  o.max_bytes = kAuditPageBytes;
  auto out = ExportAuditLog(call.store, o);
  if (!out.ok()) return out.status();
  MNR_RETURN_IF_ERROR(FitsOneAnswer(*out));
  return out;
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
      {"audit.log", {Role::kAuditor, Role::kCoordinator}, &AuditLogOperation},
      {"audit.export", {Role::kAuditor}, &AuditExportOperation},
      {"release.latest", {Role::kField, Role::kCoordinator, Role::kAuditor}, &ReleaseLatestOperation},
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
