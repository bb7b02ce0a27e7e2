#include "server/review.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "mnr/audit_format.h"
#include "mnr/describe.h"
#include "mnr/field.h"
#include "server/merged_state.h"
#include "server/register.h"

namespace mnr::server {
namespace {

std::string Time(std::optional<std::int64_t> t) { return t ? audit::FormatTime(*t) : std::string("never"); }

std::string HlcTimeText(HlcTime t) { return t ? audit::FormatTime(static_cast<std::int64_t>(HybridClock::Millis(t) / 1000)) : "-"; }

std::string Short(std::string_view s, std::size_t max = 60) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += ' ';
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) out += '?';
    else out += c;
  }
  if (out.size() > max) {
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out = out.substr(0, cut) + "…";
  }
  return out;
}

Result<std::string> CountryArg(const nlohmann::json& args) {
  if (!args.contains("country") || !args["country"].is_string()) return Status::InvalidArgument("argument \"country\" is required");
  return args["country"].get<std::string>();
}

Result<CountryOverview> OneCountry(ServerStore& store, const std::string& country) {
  auto rows = Overview(store);
  if (!rows.ok()) return rows.status();
  for (auto& r : *rows) {
    if (r.country == country) return std::move(r);
  }
  std::string known;
  for (const auto& r : *rows) known += (known.empty() ? "" : ", ") + r.country;
  return Status::InvalidArgument("country " + country + " is not in the register (" + (known.empty() ? "it is empty" : known) + ")");
}

std::string WhoOf(const RemoteCall& call) { return call.caller.name + " (" + call.caller.id + ")"; }

}  // namespace

std::string PersonName(std::string_view author) {
  if (author.rfind("coordinator:", 0) == 0) {
    std::string_view who = author.substr(12);
    if (auto open = who.rfind(" (cred-"); open != std::string_view::npos && who.back() == ')') who = who.substr(0, open);
    return std::string(who);
  }
  return std::string(author);
}

Result<std::vector<CountryOverview>> Overview(ServerStore& store) {
  Db& db = store.db();
  auto countries = Countries(store.db());
  if (!countries.ok()) return countries.status();
  const auto& indicators = store.schema().indicators();

  std::map<std::string, CountryOverview> by_country;
  for (const auto& c : *countries) {
    CountryOverview o;
    o.country = c.code;
    o.name = c.name;
    o.income_group = c.income_group;
    o.indicators = static_cast<int>(indicators.size());
    by_country.emplace(c.code, std::move(o));
  }

  ReviewBook book;
  std::map<std::string, std::set<std::string>> answered;
  std::map<std::string, std::map<std::string, bool>> practice_deleted;  // country -> entry -> removed
  {
    auto st = db.Prepare("SELECT field, value, version, hlc, state_seq FROM fields");
    if (!st.ok()) return st.status();
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      const std::string field = st->Text(0);
      const std::optional<std::string> value = st->OptText(1);
      auto version = SplitVersion(st->Text(2));
      book.Add(field, value, static_cast<HlcTime>(st->Int(3)), version ? version->second : std::string(),
               static_cast<std::uint64_t>(st->Int(4)));
      auto key = ParseField(field);
      if (!key.ok()) continue;
      if (key->kind == FieldKey::Kind::kAnswer && value) answered[key->country].insert(key->indicator);
      if (key->kind == FieldKey::Kind::kPractice) {
        bool& removed = practice_deleted[key->country][key->practice_id];
        if (key->attr == "deleted" && value && *value == "1") removed = true;
      }
    }
  }
  auto conflicts = Conflicts(store.db(), true);
  if (!conflicts.ok()) return conflicts.status();
  std::map<std::string, int> open_conflicts;
  for (const auto& c : *conflicts) {
    auto key = ParseField(c.field);
    if (key.ok()) ++open_conflicts[key->country];
  }

  std::map<std::string, std::string> device_label;  // device id -> how people know it
  std::map<std::string, std::int64_t> last_changeset;
  {
    auto st = db.Prepare("SELECT device_id, MAX(received_at) FROM changesets GROUP BY device_id");
    if (!st.ok()) return st.status();
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      last_changeset[st->Text(0)] = st->Int(1);
    }
  }
  {
    auto st = db.Prepare(
        "SELECT d.device_id, d.name, d.last_seen_at, c.id, c.name, c.countries FROM devices d "
        "JOIN credentials c ON c.id = d.credential_id ORDER BY c.name, d.name, d.device_id");
    if (!st.ok()) return st.status();
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      CountryOverview::Device d;
      d.id = st->Text(0);
      d.name = st->Text(1);
      if (!st->IsNull(2)) d.last_sync_at = st->Int(2);
      d.credential = st->Text(3);
      d.credential_name = st->Text(4);
      if (auto it = last_changeset.find(d.id); it != last_changeset.end()) d.last_changeset_at = it->second;
      device_label[d.id] = DeviceLabel(d.name, d.credential_name, d.id);
      std::stringstream codes(st->Text(5));
      for (std::string code; std::getline(codes, code, ',');) {
        if (auto it = by_country.find(code); it != by_country.end()) it->second.devices.push_back(d);
      }
    }
  }

  std::vector<CountryOverview> out;
  for (auto& [code, o] : by_country) {
    const auto& done = answered[code];
    o.answered = 0;
    for (const auto& ind : indicators) {
      if (done.count(ind.id)) ++o.answered;
      else o.unanswered.push_back(ind.id);
    }
    for (const auto& [id, removed] : practice_deleted[code]) o.practices += removed ? 0 : 1;
    o.open_conflicts = open_conflicts[code];
    if (const CountryReview* r = book.Find(code)) o.review = *r;
    const auto label = [&device_label](std::string& who) {
      if (auto it = device_label.find(who); it != device_label.end()) who = it->second;
    };
    label(o.review.submitted_by);
    label(o.review.last_edit_by);
    for (auto& [id, q] : o.review.queries) label(q.replied_by);
    out.push_back(std::move(o));
  }
  return out;
}

nlohmann::json OverviewToJson(const std::vector<CountryOverview>& rows, bool with_unanswered) {
  nlohmann::json countries = nlohmann::json::array();
  std::map<std::string, int> states;
  int answered = 0, indicators = 0, conflicts = 0, queries = 0;
  for (const auto& r : rows) {
    nlohmann::json devices = nlohmann::json::array();
    for (const auto& d : r.devices) {
      devices.push_back({{"id", d.id},
                         {"name", d.name},
                         {"credential", d.credential},
                         {"credential_name", d.credential_name},
                         {"last_sync_at", d.last_sync_at ? nlohmann::json(*d.last_sync_at) : nlohmann::json(nullptr)},
                         {"last_changeset_at", d.last_changeset_at ? nlohmann::json(*d.last_changeset_at) : nlohmann::json(nullptr)}});
    }
    nlohmann::json queries_json = nlohmann::json::array();
    for (const auto& [id, q] : r.review.queries) {
      queries_json.push_back({{"id", id},
                              {"indicator", q.question.indicator},
                              {"text", q.question.text},
                              {"asked_by", PersonName(q.asked_by)},
                              {"reply", q.reply ? nlohmann::json(*q.reply) : nlohmann::json(nullptr)},
                              {"open", q.open()}});
    }
    const std::string state(ReviewStateName(r.review.state()));
    nlohmann::json review = {{"state", state}, {"edited_after_approval", r.review.edited_after_approval()}};
    if (r.review.decision) {
      review["decision"] = r.review.decision->approved ? "approved" : "returned";
      review["comment"] = r.review.decision->comment;
      review["decided_by"] = PersonName(r.review.decided_by);
    }
    nlohmann::json c = {{"country", r.country},
                        {"name", r.name},
                        {"income_group", r.income_group},
                        {"answered", r.answered},
                        {"indicators", r.indicators},
                        {"practices", r.practices},
                        {"open_conflicts", r.open_conflicts},
                        {"review", review},
                        {"open_queries", r.review.open_queries()},
                        {"queries", queries_json},
                        {"devices", devices}};
    if (with_unanswered) c["unanswered"] = r.unanswered;
    countries.push_back(std::move(c));
    ++states[state];
    answered += r.answered;
    indicators += r.indicators;
    conflicts += r.open_conflicts;
    queries += r.review.open_queries();
  }
  nlohmann::json totals = {{"countries", rows.size()},
                           {"answered", answered},
                           {"indicators", indicators},
                           {"open_conflicts", conflicts},
                           {"open_queries", queries}};
  for (const char* s : {"draft", "submitted", "returned", "approved"}) totals[s] = states[s];
  return {{"countries", countries}, {"totals", totals}};
}

std::string OverviewText(const std::vector<CountryOverview>& rows, bool ids) {
  std::ostringstream os;
  char line[256];
  std::snprintf(line, sizeof line, "%-8s %-22s %9s %9s %-10s %9s %7s  %s\n", "country", "name", "answered", "practices",
                "review", "conflicts", "queries", "devices (last sync)");
  os << line;
  for (const auto& r : rows) {
    std::string devices;
    for (const auto& d : r.devices) {
      std::string who = DeviceLabel(d.name, d.credential_name, d.id);
      if (ids) who += " [" + d.id + ", " + d.credential + "]";
      devices += (devices.empty() ? "" : "; ") + who + " (" + Time(d.last_sync_at) + ")";
    }
    std::string state(ReviewStateName(r.review.state()));
    if (r.review.edited_after_approval()) state += "*";
    const std::string fraction = std::to_string(r.answered) + "/" + std::to_string(r.indicators);
    std::snprintf(line, sizeof line, "%-8s %-22s %9s %9d %-10s %9d %7d  ", r.country.c_str(), Short(r.name, 22).c_str(),
                  fraction.c_str(), r.practices, state.c_str(), r.open_conflicts, r.review.open_queries());
    os << line << (devices.empty() ? "none" : devices) << "\n";
  }
  const auto j = OverviewToJson(rows, false)["totals"];
  os << "total: " << j["countries"].get<int>() << " countries (" << j["approved"].get<int>() << " approved, "
     << j["submitted"].get<int>() << " submitted, " << j["returned"].get<int>() << " returned, " << j["draft"].get<int>()
     << " draft); " << j["answered"].get<int>() << "/" << j["indicators"].get<int>() << " answers; "
     << j["open_conflicts"].get<int>() << " open conflicts; " << j["open_queries"].get<int>() << " open queries\n";
  bool edited = false;
  for (const auto& r : rows) edited = edited || r.review.edited_after_approval();
  if (edited) os << "* edited after approval: submitted again, to be reviewed\n";
  return os.str();
}

std::string ReviewText(const CountryOverview& r) {
  std::ostringstream os;
  const CountryReview& v = r.review;
  os << r.country << " " << r.name << ": " << ReviewStateName(v.state());
  if (v.edited_after_approval()) {
    os << " (approved by " << PersonName(v.decided_by) << " on " << HlcTimeText(v.decided_at) << ", then edited by "
       << v.last_edit_by << " on " << HlcTimeText(v.last_edit_at) << ")";
  }
  os << "\n";
  os << "  answered       " << r.answered << " of " << r.indicators << "\n";
  if (v.submitted_at) os << "  submitted      " << HlcTimeText(*v.submitted_at) << " by " << v.submitted_by << "\n";
  if (v.decision) {
    os << "  " << (v.decision->approved ? "approved " : "returned ") << "      " << HlcTimeText(v.decided_at) << " by "
       << PersonName(v.decided_by) << (v.decision->comment.empty() ? "" : ": " + Short(v.decision->comment, 200)) << "\n";
  }
  os << "  open conflicts " << r.open_conflicts << "\n";
  for (const auto& [id, q] : v.queries) {
    os << "  query " << id << (q.question.indicator.empty() ? "" : " on " + q.question.indicator) << " by "
       << PersonName(q.asked_by) << ": " << Short(q.question.text, 200) << "\n";
    os << "    " << (q.reply ? "reply: " + Short(*q.reply, 200) : std::string("no reply yet")) << "\n";
  }
  if (!r.unanswered.empty()) {
    os << "  unanswered     ";
    for (std::size_t i = 0; i < r.unanswered.size(); ++i) os << (i ? ", " : "") << r.unanswered[i];
    os << "\n";
  }
  return os.str();
}

Result<std::vector<std::string>> Approve(ServerStore& store, const std::string& country, const std::string& comment,
                                         const std::string& who) {
  auto row = OneCountry(store, country);
  if (!row.ok()) return row.status();
  const ReviewState s = row->review.state();
  if (s != ReviewState::kSubmitted) {
    return Status::InvalidArgument(country + " is " + std::string(ReviewStateName(s)) +
                                   (s == ReviewState::kApproved ? " already" : "; only a submitted survey can be approved"));
  }
  return RecordReview(store.db(), country, ReviewDecision{true, comment}, {}, who, "review.approve");
}

Result<std::vector<std::string>> Return(ServerStore& store, const std::string& country, const std::string& comment,
                                        const std::vector<QueryQuestion>& queries, const std::string& who) {
  if (comment.empty()) return Status::InvalidArgument("returning a survey needs a --comment that tells the office what to do");
  auto row = OneCountry(store, country);
  if (!row.ok()) return row.status();
  const ReviewState s = row->review.state();
  if (s != ReviewState::kSubmitted && s != ReviewState::kApproved) {
    return Status::InvalidArgument(country + " is " + std::string(ReviewStateName(s)) +
                                   "; only a submitted or approved survey can be returned");
  }
  std::vector<QueryQuestion> questions;
  for (const auto& q : queries) {
    if (store.schema().FindIndicator(q.indicator) == nullptr) {
      return Status::InvalidArgument("indicator " + q.indicator + " is not in survey schema version " +
                                     std::to_string(store.schema().version()) + " (see `mnr-client survey` or the schema for the ids)");
    }
    for (const auto& earlier : questions) {
      if (earlier.indicator == q.indicator) return Status::InvalidArgument("indicator " + q.indicator + " is named twice");
    }
    questions.push_back({q.indicator, q.text.empty() ? comment : q.text});
  }
  if (questions.empty()) questions.push_back({"", comment});
  return RecordReview(store.db(), country, ReviewDecision{false, comment}, questions, who, "review.return");
}

Result<ReleaseGate> CheckReleaseGate(ServerStore& store) {
  ReleaseGate gate;
  auto conflicts = Conflicts(store.db(), true);
  if (!conflicts.ok()) return conflicts.status();
  for (const auto& c : *conflicts) gate.open_conflicts.emplace_back(c.id, c.field);
  auto rows = Overview(store);
  if (!rows.ok()) return rows.status();
  for (const auto& r : *rows) {
    const ReviewState s = r.review.state();
    if (s != ReviewState::kApproved) gate.unapproved.emplace_back(r.country, std::string(ReviewStateName(s)));
  }
  return gate;
}

Result<nlohmann::json> ReviewListOperation(const RemoteCall& call) {
  auto rows = Overview(call.store);
  if (!rows.ok()) return rows.status();
  return OverviewToJson(*rows, false);
}

Result<nlohmann::json> ReviewShowOperation(const RemoteCall& call) {
  auto country = CountryArg(call.arguments);
  if (!country.ok()) return country.status();
  auto row = OneCountry(call.store, *country);
  if (!row.ok()) return row.status();
  auto j = OverviewToJson({*row}, true);
  nlohmann::json out = j["countries"][0];
  out["text"] = ReviewText(*row);
  return out;
}

Result<nlohmann::json> ReviewApproveOperation(const RemoteCall& call) {
  auto country = CountryArg(call.arguments);
  if (!country.ok()) return country.status();
  const std::string comment = call.arguments.value("comment", "");
  auto ids = Approve(call.store, *country, comment, WhoOf(call));
  if (!ids.ok()) return ids.status();
  return ReviewShowOperation(call);
}

Result<nlohmann::json> ReviewReturnOperation(const RemoteCall& call) {
  auto country = CountryArg(call.arguments);
  if (!country.ok()) return country.status();
  const std::string comment = call.arguments.value("comment", "");
  std::vector<QueryQuestion> queries;
  if (call.arguments.contains("indicators")) {
    if (!call.arguments["indicators"].is_array()) return Status::InvalidArgument("argument \"indicators\" must be a list");
    for (const auto& i : call.arguments["indicators"]) {
      if (!i.is_string()) return Status::InvalidArgument("argument \"indicators\" must be a list of indicator ids");
      queries.push_back({i.get<std::string>(), ""});
    }
  }
  // A query text of its own per indicator; an indicator named only here is queried too.
  if (call.arguments.contains("comments")) {
    const auto& comments = call.arguments["comments"];
    if (!comments.is_object()) return Status::InvalidArgument("argument \"comments\" must map indicator ids to texts");
    for (const auto& [indicator, text] : comments.items()) {
      if (!text.is_string()) return Status::InvalidArgument("argument \"comments\": the text for " + indicator + " must be a string");
      auto named = std::find_if(queries.begin(), queries.end(), [&](const QueryQuestion& q) { return q.indicator == indicator; });
      if (named == queries.end()) queries.push_back({indicator, text.get<std::string>()});
      else named->text = text.get<std::string>();
    }
  }
  auto ids = Return(call.store, *country, comment, queries, WhoOf(call));
  if (!ids.ok()) return ids.status();
  auto out = ReviewShowOperation(call);
  if (!out.ok()) return out;
  (*out)["new_queries"] = *ids;
  return out;
}

Result<nlohmann::json> StatusOverviewOperation(const RemoteCall& call) {
  auto rows = Overview(call.store);
  if (!rows.ok()) return rows.status();
  auto out = OverviewToJson(*rows, false);
  out["text"] = OverviewText(*rows, call.arguments.value("ids", false));
  return out;
}

}  // namespace mnr::server
