#include "client/field_conflicts.h"

#include <ctime>

#include "client/server_link.h"
#include "mnr/describe.h"
#include "mnr/field.h"
#include "mnr/i18n.h"
#include "mnr/messages.h"
#include "mnr/wall_clock.h"
#include "client/json_fields.h"

namespace mnr::client {
namespace {

constexpr std::size_t kReasonChars = 80;

// Free text on one line in double quotes: shortened, control characters and quotes escaped.
std::string Quote(std::string_view s, std::size_t max_chars = kShownTextChars) {
  std::string out = "\"";
  for (char ch : TerminalText(s, max_chars)) {
    if (ch == '"') out += '\\';
    out += ch;
  }
  return out + "\"";
}

std::optional<std::string> ValueOf(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  return std::nullopt;
}

// "Q01 c11_child_helpline", "Q01 practice 3f2a… title", ...
std::string FieldLabel(const std::string& field) {
  auto key = ParseField(field);
  if (!key.ok()) return TerminalText(field, 0);
  switch (key->kind) {
    case FieldKey::Kind::kAnswer: return key->country + " " + key->indicator;
    case FieldKey::Kind::kPractice: return key->country + " practice " + key->practice_id.substr(0, 8) + " " + key->attr;
    case FieldKey::Kind::kReview: return key->country + " review " + key->attr;
    case FieldKey::Kind::kQuery: return key->country + " query " + key->query_id + " " + key->attr;
    case FieldKey::Kind::kAttachment:
      return key->country + " attachment " + key->hash.substr(0, 12) + " on " +
             (key->target == "practice" ? "practice " + key->practice_id.substr(0, 8) : key->indicator);
  }
  return TerminalText(field, 0);
}

bool IsAnswer(const std::string& field) {
  auto key = ParseField(field);
  return key.ok() && key->kind == FieldKey::Kind::kAnswer;
}

// An answer as `"no" (note "…")`; other values quoted; "(cleared)" when absent.
std::string ShowValue(const std::string& field, const std::optional<std::string>& v) {
  if (!v) return tr("(cleared)");
  if (IsAnswer(field)) {
    auto a = DecodeAnswer(*v);
    if (a.ok()) return "\"" + std::string(AnswerName(a->answer)) + "\"" + (a->note.empty() ? "" : tr(" (note {1})", Quote(a->note)));
  }
  return Quote(*v);
}

// Who made a candidate, by name when the server gave one.
std::string AuthorOf(const nlohmann::json& cand) {
  for (const char* key : {"author_name", "device_name", "credential_name"}) {
    const std::string name = StringField(cand, key);
    if (!name.empty()) return TerminalText(name, 60);
  }
  const std::string author = StringField(cand, "author");
  return author.rfind("coordinator:", 0) == 0 ? tr("coordinator {1}", TerminalText(author.substr(12), 60))
                                              : tr("device {1}", TerminalText(author.substr(0, 12), 0));
}

// "Ada (coordinator)"; a remote resolver is recorded as "NAME (CREDENTIAL)": "Ada (coordinator, cred-…)".
std::string Resolver(const std::string& by) {
  if (by.empty()) return tr("a coordinator");
  const std::size_t open = by.rfind(" (");
  if (open != std::string::npos && by.back() == ')') {
    return tr("{1} (coordinator, {2})", TerminalText(by.substr(0, open), 60),
              TerminalText(by.substr(open + 2, by.size() - open - 3), 60));
  }
  return tr("{1} (coordinator)", TerminalText(by, 60));
}

HlcTime Hlc(const nlohmann::json& cand) {
  return cand.contains("hlc") && cand["hlc"].is_number_unsigned() ? cand["hlc"].get<HlcTime>() : 0;
}

}  // namespace

Status CheckConflicts(const nlohmann::json& conflicts) {
  if (!conflicts.is_array()) return Status::Corruption("the server's conflicts are not a JSON array");
  for (const auto& c : conflicts) {
    if (!c.is_object() || !c.contains("id") || !c["id"].is_number_integer()) {
      return Status::Corruption("the server sent a conflict without a number");
    }
    const std::string id = std::to_string(c["id"].get<std::int64_t>());
    const std::string status = StringField(c, "status");
    if (status != "open" && status != "resolved") return Status::Corruption("conflict " + id + " has no status open or resolved");
    if (!ParseField(StringField(c, "field")).ok()) return Status::Corruption("conflict " + id + " names no valid field");
    if (!c.contains("candidates") || !c["candidates"].is_array()) return Status::Corruption("conflict " + id + " has no candidates");
    for (const auto& cand : c["candidates"]) {
      if (!cand.is_object() || StringField(cand, "version").empty() || StringField(cand, "author").empty() || !cand.contains("value") ||
          !(cand["value"].is_string() || cand["value"].is_null())) {
        return Status::Corruption("conflict " + id + " has a candidate without a version, author or value");
      }
    }
  }
  return Status::OK();
}

Status StoreConflicts(ClientStore& store, const nlohmann::json& conflicts) {
  MNR_RETURN_IF_ERROR(CheckConflicts(conflicts));
  Db& db = store.db();
  Transaction tx(db);
  MNR_RETURN_IF_ERROR(tx.status());
  auto st = db.Prepare(
      "INSERT INTO conflicts (id, field, status, body, updated_at) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT (id) DO UPDATE SET field = excluded.field, status = excluded.status, body = excluded.body, "
      "updated_at = excluded.updated_at WHERE body <> excluded.body");
  if (!st.ok()) return st.status();
  const auto now = UnixNow();
  for (const auto& c : conflicts) {
    st->Reset();
    st->Bind(1, c["id"].get<std::int64_t>()).Bind(2, StringField(c, "field")).Bind(3, StringField(c, "status")).Bind(4, c.dump()).Bind(5, now);
    MNR_RETURN_IF_ERROR(st->Run());
  }
  return tx.Commit();
}

void QueueConflictsRequest(Connection& conn) {
  const Request request{"conflicts.list", nlohmann::json{{"all", true}}.dump()};
  conn.Queue(request);
}

asio::awaitable<Status> ReadConflicts(Connection& conn, ClientStore& store) {
  MNR_CO_RETURN_IF_ERROR(co_await conn.Flush());
  auto reply = co_await conn.ReadFrame();
  if (!reply.ok()) co_return reply.status();
  if (reply->type == MessageType::kRefused) {
    auto refused = DecodeMessage<Refused>(reply->payload);
    // An older server lets only coordinators and auditors list conflicts: nothing to learn from it.
    if (refused.ok() && (refused->code == static_cast<std::uint16_t>(RefusalCode::kRole) ||
                         refused->code == static_cast<std::uint16_t>(RefusalCode::kBadRequest))) {
      co_return Status::OK();
    }
    co_return RefusedStatus(reply->payload);
  }
  if (reply->type != MessageType::kResponse) {
    co_return Status::Corruption("server answered conflicts.list with " + std::string(MessageTypeName(reply->type)));
  }
  auto response = DecodeMessage<Response>(reply->payload);
  if (!response.ok()) co_return response.status();
  const auto list = nlohmann::json::parse(response->body, nullptr, false);
  if (list.is_discarded()) co_return Status::Corruption("the server's answer to conflicts.list is not JSON");
  co_return StoreConflicts(store, list);
}

std::optional<std::string> DescribeConflictFor(const nlohmann::json& c, std::string_view device_id, bool* lost) {
  if (lost) *lost = false;
  if (!CheckConflicts(nlohmann::json::array({c})).ok()) return std::nullopt;
  const std::string field = StringField(c, "field");
  const auto& cands = c["candidates"];
  // This device's candidate: the newest one it made (normally there is one).
  const nlohmann::json* mine = nullptr;
  for (const auto& cand : cands) {
    if (StringField(cand, "author") == device_id && (!mine || Hlc(cand) >= Hlc(*mine))) mine = &cand;
  }
  if (!mine) return std::nullopt;
  const std::optional<std::string> my_value = ValueOf((*mine)["value"]);
  const std::string head = tr("conflict {1} on {2}: ", c["id"].get<std::int64_t>(), FieldLabel(field));
  const bool answer = IsAnswer(field);

  if (StringField(c, "status") == "resolved") {
    std::string line = head + tr("resolved by {1}", Resolver(StringField(c, "resolved_by")));
    if (c.contains("resolution_value")) {
      const std::optional<std::string> chosen = ValueOf(c["resolution_value"]);
      if (lost) *lost = chosen != my_value;
      line += tr(": {1}", ShowValue(field, chosen));
    } else if (lost) {
      *lost = true;  // not known; tell rather than stay silent
    }
    const std::string reason = StringField(c, "reason");
    if (!reason.empty()) line += tr(" \u2014 reason: {1}", Quote(reason, kReasonChars));
    return line;
  }

  // Open: the current value is the winner's; the others are the competing candidates.
  const std::string winner = StringField(c, "winner_version");
  const nlohmann::json* best_other = nullptr;
  std::size_t others = 0;
  // Only candidates with another value are against this office's edit; one that says the same (another
  // device of the office, say) agrees with it, even when it is the one that won.
  bool same_value_wins = false;
  for (const auto& cand : cands) {
    if (&cand == mine || StringField(cand, "author") == device_id) continue;
    const bool is_winner = StringField(cand, "version") == winner;
    if (ValueOf(cand["value"]) == my_value) {
      same_value_wins = same_value_wins || is_winner;
      continue;
    }
    ++others;
    if (!best_other || is_winner || (StringField(*best_other, "version") != winner && Hlc(cand) > Hlc(*best_other))) best_other = &cand;
  }
  const std::string more = others > 1 ? tr(" (and {1} more)", others - 1) : "";
  const std::string tail = tr("; open, a coordinator will decide");
  const std::string value = ShowValue(field, my_value);
  if (!best_other) return head + (answer ? tr("your answer {1} is in conflict", value) : tr("your edit {1} is in conflict", value)) + tail;
  const std::string theirs = tr("{1} from {2}", ShowValue(field, ValueOf((*best_other)["value"])), AuthorOf(*best_other)) + more;
  if (StringField(*mine, "version") == winner || same_value_wins) {
    return head +
           (answer ? tr("your answer {1} is kept for now over {2}", value, theirs)
                   : tr("your edit {1} is kept for now over {2}", value, theirs)) +
           tail;
  }
  if (lost) *lost = true;
  return head + (answer ? tr("your answer {1} lost to {2}", value, theirs) : tr("your edit {1} lost to {2}", value, theirs)) + tail;
}

Result<std::vector<ConflictNews>> PendingConflictNews(ClientStore& store) {
  auto st = store.db().Prepare("SELECT id, status, body, reported_status FROM conflicts WHERE status <> reported_status ORDER BY id");
  if (!st.ok()) return st.status();
  std::vector<ConflictNews> out;
  const std::string& device = store.identity().device_id;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const auto body = nlohmann::json::parse(st->Text(2), nullptr, false);
    if (body.is_discarded()) return Status::Corruption("stored conflict " + std::to_string(st->Int(0)) + " is not JSON");
    bool lost = false;
    auto line = DescribeConflictFor(body, device, &lost);
    if (!line) continue;
    const std::string status = st->Text(1);
    if (status == "resolved" && !lost && st->Text(3) != "open") continue;  // this device's edit stood; nothing to tell
    out.push_back({st->Int(0), status, *line});
  }
  return out;
}

Status MarkConflictsReported(ClientStore& store, const std::vector<ConflictNews>& news) {
  if (news.empty()) return Status::OK();
  Db& db = store.db();
  Transaction tx(db);
  MNR_RETURN_IF_ERROR(tx.status());
  auto st = db.Prepare("UPDATE conflicts SET reported_status = ? WHERE id = ?");
  if (!st.ok()) return st.status();
  for (const auto& n : news) {
    st->Reset();
    st->Bind(1, n.status).Bind(2, n.id);
    MNR_RETURN_IF_ERROR(st->Run());
  }
  return tx.Commit();
}

Result<std::vector<std::string>> OpenConflictLines(ClientStore& store) {
  auto st = store.db().Prepare("SELECT id, body FROM conflicts WHERE status = 'open' ORDER BY id");
  if (!st.ok()) return st.status();
  std::vector<std::string> out;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const auto body = nlohmann::json::parse(st->Text(1), nullptr, false);
    if (body.is_discarded()) return Status::Corruption("stored conflict " + std::to_string(st->Int(0)) + " is not JSON");
    if (auto line = DescribeConflictFor(body, store.identity().device_id)) out.push_back(*line);
  }
  return out;
}

}  // namespace mnr::client
