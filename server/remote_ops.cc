#include "server/remote_ops.h"

#include <algorithm>

#include "mnr/describe.h"
#include "server/audit_trail.h"

#include "server/merged_state.h"
#include "server/register.h"
#include "server/release.h"
#include "server/return_bundle.h"
#include "server/review.h"

namespace mnr::server {
namespace {

Result<std::int64_t> ConflictId(const nlohmann::json& args) {
  if (!args.contains("id") || !args["id"].is_number_integer()) return Status::InvalidArgument("argument \"id\" must be a conflict number");
  return args["id"].get<std::int64_t>();
}

// A field credential sees the conflicts of its own countries only; for it, another country's conflict
// does not exist.
bool CallerMaySee(const RemoteCall& call, const Conflict& c) {
  return call.caller.role != Role::kField || ConflictInCountries(c, call.caller.countries);
}

Result<nlohmann::json> ConflictsList(const RemoteCall& call) {
  const bool all = call.arguments.value("all", false);
  auto conflicts = Conflicts(call.store.db(), !all);
  if (!conflicts.ok()) return conflicts.status();
  auto names = LoadPeopleNames(call.store);
  if (!names.ok()) return names.status();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : *conflicts) {
    if (!CallerMaySee(call, c)) continue;
    auto j = ConflictForOffices(call.store, c, *names);
    if (!j.ok()) return j.status();
    out.push_back(std::move(*j));
  }
  return out;
}

Result<nlohmann::json> ConflictsShow(const RemoteCall& call) {
  auto id = ConflictId(call.arguments);
  if (!id.ok()) return id.status();
  auto c = FindConflict(call.store.db(), *id);
  if (!c.ok()) return c.status();
  if (!*c || !CallerMaySee(call, **c)) return Status::InvalidArgument("no conflict " + std::to_string(*id));
  auto names = LoadPeopleNames(call.store);
  if (!names.ok()) return names.status();
  return ConflictForOffices(call.store, **c, *names);
}

// {id, pick: candidate number} or {id, value: answer word, practice value or null, note?}, and reason.
// Without "note" an answer keeps the current winner's note. A value "<answer>\n<note>" (clients
// before "note" existed) is taken whole.
Result<nlohmann::json> ConflictsResolve(const RemoteCall& call) {
  auto id = ConflictId(call.arguments);
  if (!id.ok()) return id.status();
  const auto& a = call.arguments;
  if (!a.contains("reason") || !a["reason"].is_string() || a["reason"].get<std::string>().empty()) {
    return Status::InvalidArgument("argument \"reason\" is required");
  }
  ResolutionChoice choice;
  const bool has_pick = a.contains("pick") && !a["pick"].is_null();
  if (has_pick == a.contains("value")) return Status::InvalidArgument("give either \"pick\" (a candidate number) or \"value\"");
  if (has_pick) {
    if (!a["pick"].is_number_integer()) return Status::InvalidArgument("argument \"pick\" must be a candidate number (1, 2, ...)");
    choice.pick = a["pick"].get<std::int64_t>();
  } else if (a["value"].is_string()) {
    choice.value = a["value"].get<std::string>();
  } else if (!a["value"].is_null()) {
    return Status::InvalidArgument("argument \"value\" must be a string or null");
  }
  if (a.contains("note") && !a["note"].is_null()) {
    if (!a["note"].is_string()) return Status::InvalidArgument("argument \"note\" must be a string");
    choice.note = a["note"].get<std::string>();
  }
  auto c = FindConflict(call.store.db(), *id);
  if (!c.ok()) return c.status();
  if (!*c) return Status::InvalidArgument("no conflict " + std::to_string(*id));
  auto value = ResolutionValue(call.store, **c, choice);
  if (!value.ok()) return value.status();
  // The resolver is the authenticated caller, never a name the caller supplies.
  const std::string who = call.caller.name + " (" + call.caller.id + ")";
  MNR_RETURN_IF_ERROR(ResolveConflict(call.store.db(), *id, *value, who, a["reason"].get<std::string>()));
  auto after = FindConflict(call.store.db(), *id);
  if (!after.ok()) return after.status();
  auto names = LoadPeopleNames(call.store);
  if (!names.ok()) return names.status();
  return ConflictToJson(**after, *names);
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
  auto names = LoadPeopleNames(call.store);
  if (!names.ok()) return names.status();
  MNR_RETURN_IF_ERROR(ResolveHistoryFilters(call.store, *names, q));
  auto page = AuditHistory(call.store, q);
  if (!page.ok()) return page.status();
  AddHistoryNames(page->records, *names);
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

// {index} -> the entry with its inclusion proof against a signed head covering the log (AuditEntryProof).
Result<nlohmann::json> AuditProofOperation(const RemoteCall& call) {
  if (!call.arguments.contains("index")) return Status::InvalidArgument("argument \"index\" is required");
  auto index = OptIndex(call.arguments, "index", 0);
  if (!index.ok()) return index.status();
  auto out = AuditEntryProof(call.store, *index);
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

std::string PeopleNames::Credential(const std::string& id) const {
  auto it = credentials.find(id);
  return it == credentials.end() ? std::string() : it->second;
}

std::string PeopleNames::Device(const std::string& id, const std::string& credential_id) const {
  auto it = devices.find(id);
  return it != devices.end() ? it->second : DeviceLabel("", Credential(credential_id), id);
}

Result<PeopleNames> LoadPeopleNames(ServerStore& store) {
  PeopleNames names;
  auto creds = Credentials(store.db());
  if (!creds.ok()) return creds.status();
  for (const auto& c : *creds) names.credentials[c.id] = c.name;
  auto st = store.db().Prepare("SELECT device_id, credential_id, name FROM devices");
  if (!st.ok()) return st.status();
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const std::string id = st->Text(0);
    names.devices[id] = DeviceLabel(st->Text(2), names.Credential(st->Text(1)), id);
  }
  return names;
}

nlohmann::json ConflictToJson(const Conflict& c, const PeopleNames& names) {
  nlohmann::json j = ConflictToJson(c);
  for (auto& cand : j["candidates"]) {
    const std::string author = cand["author"].get<std::string>();
    const std::string credential = cand["credential"].get<std::string>();
    constexpr std::string_view kResolver = "coordinator:";
    cand["author_name"] = author.starts_with(kResolver) ? author.substr(kResolver.size()) : names.Device(author, credential);
    cand["credential_name"] = names.Credential(credential);
  }
  return j;
}

Result<std::optional<std::string>> ResolutionValue(ServerStore& store, const Conflict& c, const ResolutionChoice& choice) {
  auto fk = ParseField(c.field);
  if (!fk.ok()) return fk.status();
  const bool answer = fk->kind == FieldKey::Kind::kAnswer;
  if (choice.pick) {
    if (choice.value || choice.note) return Status::InvalidArgument("a picked candidate is kept whole: give no value or note with it");
    const auto n = static_cast<std::int64_t>(c.candidates.size());
    if (*choice.pick < 1 || *choice.pick > n) {
      return Status::InvalidArgument("conflict " + std::to_string(c.id) + " has no candidate " + std::to_string(*choice.pick) +
                                     " (its candidates are 1 to " + std::to_string(n) + ", see conflicts show)");
    }
    return c.candidates[static_cast<std::size_t>(*choice.pick - 1)].value;
  }
  if (!answer) {
    if (choice.note) return Status::InvalidArgument("a note applies to answers only; " + c.field + " is not an answer");
    return choice.value;
  }
  if (!choice.value) {
    if (choice.note) return Status::InvalidArgument("a cleared answer has no note");
    return std::optional<std::string>();
  }
  if (choice.value->find('\n') != std::string::npos) {
    // "<answer>\n<note>": the whole value, as clients before the "note" argument sent it.
    if (choice.note) return Status::InvalidArgument("give the note once: the value already carries one");
    auto whole = DecodeAnswer(*choice.value);
    if (!whole.ok()) return Status::InvalidArgument("value \"" + choice.value->substr(0, 40) + "\" is not a valid answer");
    return std::optional<std::string>(*choice.value);
  }
  auto word = ParseAnswer(*choice.value);
  if (!word) {
    return Status::InvalidArgument("value \"" + choice.value->substr(0, 40) +
                                   "\" is not an answer (yes, partial, no, unknown, or clear)");
  }
  AnswerValue v{*word, choice.note.value_or("")};
  if (!choice.note) {
    // No note given: the note that is current now stays.
    auto st = store.db().Prepare("SELECT value FROM fields WHERE field = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, c.field);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (*row && !st->IsNull(0)) {
      auto current = DecodeAnswer(st->Text(0));
      if (current.ok()) v.note = current->note;
    }
  }
  return std::optional<std::string>(EncodeAnswer(v));
}

namespace {

Status UnknownName(const std::string& what, const std::string& given, const std::vector<std::string>& known,
                   const std::string& detail = "") {
  std::string msg = "unknown " + what + " \"" + TerminalText(given, 60) + "\"" + detail;
  const auto nearest = NearestNames(given, known);
  if (!nearest.empty()) {
    msg += "; nearest: ";
    for (std::size_t i = 0; i < nearest.size(); ++i) msg += (i ? ", " : "") + TerminalText(nearest[i], 60);
  } else {
    msg += "; none are known yet";
  }
  return Status::InvalidArgument(msg);
}

}  // namespace

Status ResolveHistoryFilters(ServerStore& store, const PeopleNames& names, HistoryQuery& q) {
  if (q.country) {
    auto countries = Countries(store.db());
    if (!countries.ok()) return countries.status();
    std::vector<std::string> codes;
    for (const auto& c : *countries) codes.push_back(c.code);
    if (std::find(codes.begin(), codes.end(), *q.country) == codes.end()) {
      return UnknownName("country", *q.country, codes, " (not in the country register)");
    }
  }
  if (q.indicator && !store.schema().FindIndicator(*q.indicator)) {
    std::vector<std::string> ids;
    for (const auto& i : store.schema().indicators()) ids.push_back(i.id);
    return UnknownName("indicator", *q.indicator, ids, " (not in survey schema v" + std::to_string(store.schema().version()) + ")");
  }
  if (q.device && !names.devices.count(*q.device)) {
    // A name, a label or the start of an id.
    std::vector<std::string> matches;
    for (const auto& [id, label] : names.devices) {
      if (label == *q.device || id.starts_with(*q.device)) matches.push_back(id);
    }
    if (matches.size() == 1) {
      q.device = matches.front();
    } else if (matches.size() > 1) {
      std::string list;
      for (std::size_t i = 0; i < matches.size() && i < 5; ++i) {
        list += (i ? ", " : "") + TerminalText(names.devices.at(matches[i]), 60) + " (" + matches[i].substr(0, 16) + ")";
      }
      return Status::InvalidArgument("device \"" + TerminalText(*q.device, 60) + "\" could be " + std::to_string(matches.size()) +
                                     " devices: " + list + (matches.size() > 5 ? ", ..." : "") + "; give more of its id");
    } else {
      std::vector<std::string> labels;
      for (const auto& [id, label] : names.devices) labels.push_back(label);
      return UnknownName("device", *q.device, labels, " (no device of that id, id prefix or name has reached this server)");
    }
  }
  return Status::OK();
}

void AddHistoryNames(nlohmann::json& records, const PeopleNames& names) {
  for (auto& r : records) {
    const auto str = [&r](const char* key) { return r.contains(key) && r[key].is_string() ? r[key].get<std::string>() : std::string(); };
    if (!str("device").empty()) r["device_name"] = names.Device(str("device"), str("credential"));
    if (!str("carried_by").empty()) r["carried_by_name"] = names.Credential(str("carried_by"));
  }
}

const std::vector<RemoteOperation>& RemoteOperations() {
  static const std::vector<RemoteOperation> ops = {
      {"conflicts.list", {Role::kCoordinator, Role::kAuditor, Role::kField}, &ConflictsList},  // field: its countries
      {"conflicts.show", {Role::kCoordinator, Role::kAuditor, Role::kField}, &ConflictsShow},
      {"conflicts.resolve", {Role::kCoordinator}, &ConflictsResolve},
      {"audit.log", {Role::kAuditor, Role::kCoordinator}, &AuditLogOperation},
      {"audit.export", {Role::kAuditor}, &AuditExportOperation},
      {"audit.proof", {Role::kAuditor, Role::kCoordinator}, &AuditProofOperation},
      {"release.latest", {Role::kField, Role::kCoordinator, Role::kAuditor}, &ReleaseLatestOperation},
      {"review.list", {Role::kCoordinator, Role::kAuditor}, &ReviewListOperation},
      {"review.show", {Role::kCoordinator, Role::kAuditor}, &ReviewShowOperation},
      {"review.approve", {Role::kCoordinator}, &ReviewApproveOperation},
      {"review.return", {Role::kCoordinator}, &ReviewReturnOperation},
      {"status.overview", {Role::kCoordinator, Role::kAuditor}, &StatusOverviewOperation},
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
