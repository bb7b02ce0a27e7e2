#include "mnr/survey_schema.h"

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "mnr/field.h"
#include "mnr/file_util.h"

namespace mnr {
namespace embedded {
std::string_view survey_schema_v1();
}

std::string_view AnswerName(Answer a) {
  switch (a) {
    case Answer::kYes: return "yes";
    case Answer::kPartial: return "partial";
    case Answer::kNo: return "no";
    case Answer::kUnknown: return "unknown";
  }
  return "unknown";
}

std::optional<Answer> ParseAnswer(std::string_view s) {
  if (s == "yes") return Answer::kYes;
  if (s == "partial") return Answer::kPartial;
  if (s == "no") return Answer::kNo;
  if (s == "unknown") return Answer::kUnknown;
  return std::nullopt;
}

namespace {

Result<Label> ParseLabel(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("en") || !j.contains("fr") || !j["en"].is_string() || !j["fr"].is_string()) {
    return Status::InvalidArgument(where + ": label needs string fields \"en\" and \"fr\"");
  }
  return Label{j["en"].get<std::string>(), j["fr"].get<std::string>()};
}

// "guidance" is optional; when present it is a label (both languages), like "label".
Result<Label> ParseGuidance(const nlohmann::json& item, const std::string& where) {
  if (!item.contains("guidance")) return Label{};
  return ParseLabel(item["guidance"], where + ": guidance");
}

}  // namespace

Result<SurveySchema> SurveySchema::Parse(std::string_view text, std::string_view origin) {
  const std::string o(origin);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return Status::InvalidArgument(o + ": not valid JSON");
  if (!j.is_object() || j.value("schema", "") != "mnr-survey") {
    return Status::InvalidArgument(o + ": not an MNR survey schema (\"schema\" must be \"mnr-survey\")");
  }
  SurveySchema s;
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int>() < 1) {
    return Status::InvalidArgument(o + ": \"version\" must be a positive integer");
  }
  s.version_ = j["version"].get<int>();
  if (j.contains("round")) {
    const auto& r = j["round"];
    // One string for begin() and end(): two get<std::string>() calls would be two different temporaries.
    const std::string year = r.is_string() ? r.get<std::string>() : std::string();
    if (!r.is_string() || year.size() != 4 || !std::all_of(year.begin(), year.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Status::InvalidArgument(o + ": \"round\" must be a year of four digits, such as \"2025\"");
    }
    s.round_ = r.get<std::string>();
    s.rounds_ = {s.round_};
  }
  if (j.contains("rounds")) {
    const auto& rs = j["rounds"];
    const std::string bad = o + ": \"rounds\" must list the survey's rounds oldest first, years of four digits from " +
                            std::string(kFirstRound) + " to \"round\"";
    if (!rs.is_array() || rs.empty() || s.round_.empty()) return Status::InvalidArgument(bad);
    s.rounds_.clear();
    for (const auto& r : rs) {
      const std::string year = r.is_string() ? r.get<std::string>() : std::string();
      if (!IsValidRound(year) || (!s.rounds_.empty() && year <= s.rounds_.back())) return Status::InvalidArgument(bad);
      s.rounds_.push_back(year);
    }
    if (s.rounds_.back() != s.round_) return Status::InvalidArgument(bad);
  }
  // Answer keys without a round belong to the first round (mnr/field.h), whatever the file says.
  if (!s.rounds_.empty() && s.rounds_.front() != kFirstRound) {
    return Status::InvalidArgument(o + ": the first survey round must be " + std::string(kFirstRound) +
                                   " (answers recorded before rounds existed belong to it); list later rounds in \"rounds\"");
  }
  for (const char* key : {"domains", "capabilities", "indicators"}) {
    if (!j.contains(key) || !j[key].is_array()) return Status::InvalidArgument(o + ": \"" + key + "\" must be an array");
  }
  for (std::size_t i = 0; i < j["domains"].size(); ++i) {
    const auto& d = j["domains"][i];
    const std::string where = o + ": domains[" + std::to_string(i) + "]";
    if (!d.contains("id") || !d["id"].is_number_integer()) return Status::InvalidArgument(where + ": needs an integer id");
    auto label = ParseLabel(d.value("label", nlohmann::json()), where);
    if (!label.ok()) return label.status();
    s.domains_.push_back({d["id"].get<int>(), *label});
  }
  for (std::size_t i = 0; i < j["capabilities"].size(); ++i) {
    const auto& c = j["capabilities"][i];
    const std::string where = o + ": capabilities[" + std::to_string(i) + "]";
    if (!c.contains("id") || !c["id"].is_number_integer() || !c.contains("domain") || !c["domain"].is_number_integer()) {
      return Status::InvalidArgument(where + ": needs integer id and domain");
    }
    auto label = ParseLabel(c.value("label", nlohmann::json()), where);
    if (!label.ok()) return label.status();
    auto guidance = ParseGuidance(c, where);
    if (!guidance.ok()) return guidance.status();
    Capability cap{c["id"].get<int>(), c["domain"].get<int>(), *label, *guidance};
    if (!s.FindDomain(cap.domain)) return Status::InvalidArgument(where + ": unknown domain " + std::to_string(cap.domain));
    if (s.FindCapability(cap.id)) return Status::InvalidArgument(where + ": duplicate capability " + std::to_string(cap.id));
    s.capabilities_.push_back(cap);
  }
  for (std::size_t i = 0; i < j["indicators"].size(); ++i) {
    const auto& in = j["indicators"][i];
    const std::string where = o + ": indicators[" + std::to_string(i) + "]";
    if (!in.contains("id") || !in["id"].is_string() || !in.contains("capability") || !in["capability"].is_number_integer()) {
      return Status::InvalidArgument(where + ": needs a string id and an integer capability");
    }
    Indicator ind;
    ind.id = in["id"].get<std::string>();
    ind.capability = in["capability"].get<int>();
    ind.answer_type = in.value("answer_type", "yes_partial_no_unknown");
    if (ind.answer_type != "yes_partial_no_unknown") {
      return Status::InvalidArgument(where + ": unsupported answer_type \"" + ind.answer_type + "\"");
    }
    if (ind.id.empty() || ind.id.size() > 64 || ind.id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
      return Status::InvalidArgument(where + ": id must be 1-64 of [a-z0-9_]");
    }
    auto label = ParseLabel(in.value("label", nlohmann::json()), where);
    if (!label.ok()) return label.status();
    ind.label = *label;
    auto guidance = ParseGuidance(in, where);
    if (!guidance.ok()) return guidance.status();
    ind.guidance = *guidance;
    if (!s.FindCapability(ind.capability)) {
      return Status::InvalidArgument(where + ": unknown capability " + std::to_string(ind.capability));
    }
    if (s.by_id_.count(ind.id)) return Status::InvalidArgument(where + ": duplicate indicator id " + ind.id);
    s.by_id_.emplace(ind.id, s.indicators_.size());
    s.indicators_.push_back(std::move(ind));
  }
  return s;
}

const SurveySchema& SurveySchema::Embedded() {
  static const SurveySchema schema = [] {
    auto r = Parse(embedded::survey_schema_v1(), "embedded schemas/mnr-survey-v1.json");
    if (!r.ok()) std::abort();  // the build embeds a file the tests validate; this cannot fail at run time
    return std::move(r).value();
  }();
  return schema;
}

Result<SurveySchema> SurveySchema::Load(const std::optional<std::string>& file) {
  if (!file) return Embedded();
  auto text = ReadFile(*file, 16 * 1024 * 1024);
  if (!text.ok()) return text.status();
  auto s = Parse(*text, *file);
  if (!s.ok()) return s;
  if (s->version() < Embedded().version()) {
    return Status::InvalidArgument(*file + ": schema version " + std::to_string(s->version()) +
                                   " is older than the built-in version " + std::to_string(Embedded().version()));
  }
  // Ids are never renamed once released: a newer schema must keep every built-in indicator.
  for (const auto& ind : Embedded().indicators()) {
    if (!s->FindIndicator(ind.id)) return Status::InvalidArgument(*file + ": drops released indicator " + ind.id);
  }
  for (const auto& r : Embedded().rounds()) {
    if (!s->HasRound(r)) return Status::InvalidArgument(*file + ": drops survey round " + r);
  }
  return s;
}

Result<const SurveySchema*> SurveySchema::Active() {
  static const Result<SurveySchema> active = [] {
    const char* file = std::getenv("MNR_SURVEY_SCHEMA");
    if (file == nullptr || *file == '\0') return Load(std::nullopt);
    auto loaded = Load(std::string(file));
    if (!loaded.ok()) return Result<SurveySchema>(loaded.status().With("MNR_SURVEY_SCHEMA"));
    return loaded;
  }();
  if (!active.ok()) return active.status();
  return &active.value();
}

bool SurveySchema::HasRound(std::string_view round) const {
  return std::find(rounds_.begin(), rounds_.end(), round) != rounds_.end();
}

Status SurveySchema::CheckRound(std::string_view round) const {
  if (round == kFirstRound || HasRound(round)) return Status::OK();
  std::string all;
  for (const auto& r : rounds_) all += (all.empty() ? "" : ", ") + r;
  return Status::InvalidArgument("round \"" + std::string(round.substr(0, 20)) + "\" is not a round of survey schema v" +
                                 std::to_string(version_) + " (its rounds: " + (all.empty() ? std::string(kFirstRound) : all) + ")");
}

std::optional<std::string> SurveySchema::PreviousRound(std::string_view round) const {
  auto it = std::find(rounds_.begin(), rounds_.end(), round);
  if (it == rounds_.end() || it == rounds_.begin()) return std::nullopt;
  return *(it - 1);
}

const Indicator* SurveySchema::FindIndicator(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &indicators_[it->second];
}

const Capability* SurveySchema::FindCapability(int id) const {
  for (const auto& c : capabilities_) if (c.id == id) return &c;
  return nullptr;
}

const Domain* SurveySchema::FindDomain(int id) const {
  for (const auto& d : domains_) if (d.id == id) return &d;
  return nullptr;
}

}  // namespace mnr
