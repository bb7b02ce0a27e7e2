#include "server/aggregate.h"
#include "server/merged_state.h"

#include <map>
#include <set>

#include "mnr/csv.h"
#include "mnr/xlsx.h"

namespace mnr::server {

std::string PercentYes(int n_yes, int n_responding) {
  if (n_responding <= 0) return "";
  // Integer arithmetic, so 2/3 is "66.7" on every machine and a half always rounds up.
  long long tenths = (2000LL * n_yes + n_responding) / (2LL * n_responding);
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
}

std::string ChangeInPoints(int y1, int r1, int y2, int r2) {
  if (r1 <= 0 || r2 <= 0) return "";
  const long long num = 1000LL * (static_cast<long long>(y2) * r1 - static_cast<long long>(y1) * r2);
  const long long den = static_cast<long long>(r1) * r2;
  const long long tenths = (2 * (num < 0 ? -num : num) + den) / (2 * den);
  return std::string(tenths == 0 ? "" : num < 0 ? "-" : "+") + std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
}

std::vector<AggregateRow> Aggregate(const SurveySchema& schema, const std::vector<Country>& countries,
                                    const std::vector<MergedAnswer>& answers) {
  static const std::set<std::string, std::less<>> kLmic = {"upper_middle", "lower_middle", "low"};
  std::map<std::string, std::string, std::less<>> group_of;  // country -> high|lmic|""
  for (const auto& c : countries) {
    group_of[c.code] = c.income_group == "high" ? "high" : (kLmic.count(c.income_group) ? "lmic" : "");
  }
  std::map<std::pair<std::string, std::string>, AggregateRow> by_key;
  auto count = [](AggregateRow& row, Answer a) {
    switch (a) {
      case Answer::kYes: ++row.n_yes; break;
      case Answer::kPartial: ++row.n_partial; break;
      case Answer::kNo: ++row.n_no; break;
      case Answer::kUnknown: ++row.n_unknown; break;
    }
  };
  for (const auto& a : answers) {
    auto g = group_of.find(a.country);
    if (g == group_of.end() || a.round != kFirstRound || schema.FindIndicator(a.indicator) == nullptr) continue;
    count(by_key[{a.indicator, "all"}], a.value.answer);
    if (!g->second.empty()) count(by_key[{a.indicator, g->second}], a.value.answer);
  }
  std::vector<AggregateRow> rows;
  for (const auto& ind : schema.indicators()) {
    for (const char* group : {"all", "high", "lmic"}) {
      AggregateRow row = by_key[{ind.id, group}];
      row.indicator = ind.id;
      row.group = group;
      rows.push_back(row);
    }
  }
  return rows;
}

std::string AggregateCsv(const std::vector<AggregateRow>& rows) {
  std::string out = CsvLine({"indicator", "group", "n_yes", "n_partial", "n_no", "n_unknown", "n_responding", "pct_yes"});
  for (const auto& r : rows) {
    out += CsvLine({r.indicator, r.group, std::to_string(r.n_yes), std::to_string(r.n_partial), std::to_string(r.n_no),
                    std::to_string(r.n_unknown), std::to_string(r.n_responding()), PercentYes(r.n_yes, r.n_responding())});
  }
  return out;
}

}  // namespace mnr::server

namespace mnr::server {
namespace {

std::string CapabilityLabel(const SurveySchema& schema, int id, std::string_view lang) {
  const Capability* c = id ? schema.FindCapability(id) : nullptr;
  return c ? c->label.In(lang) : "";
}
std::string DomainLabel(const SurveySchema& schema, int id, std::string_view lang) {
  const Domain* d = schema.FindDomain(id);
  return d ? d->label.In(lang) : "";
}
std::string SubjectLabel(const SurveySchema& schema, const DatasetRow& r, std::string_view lang) {
  switch (r.level) {
    case DatasetLevel::kIndicator: {
      const Indicator* ind = schema.FindIndicator(r.subject);
      return ind ? ind->label.In(lang) : "";
    }
    case DatasetLevel::kCapability: return CapabilityLabel(schema, r.capability, lang);
    case DatasetLevel::kDomain: return DomainLabel(schema, r.domain, lang);
  }
  return "";
}

}  // namespace

bool IsSmallGroup(const DatasetRow& r, int min_group) { return min_group > 0 && r.n_countries < min_group; }

std::string SmallGroupText(int min_group, std::string_view lang) {
  return lang == "fr" ? "moins de " + std::to_string(min_group) + " pays" : "fewer than " + std::to_string(min_group) + " countries";
}

int MinGroupOfManifest(const nlohmann::json& manifest) {
  if (!manifest.is_object() || !manifest.contains("small_groups") || !manifest["small_groups"].is_object()) return kDefaultMinGroup;
  const auto& rule = manifest["small_groups"];
  if (!rule.contains("min_countries") || !rule["min_countries"].is_number_integer()) return kDefaultMinGroup;
  return rule["min_countries"].get<int>();
}

std::string DatasetLabelledCsv(const Dataset& d, const SurveySchema& schema, std::string_view lang, int min_group) {
  const std::string csv = DatasetCsv(d);
  // The canonical rows are reused as they are, so the two files cannot disagree on a figure.
  std::vector<std::string> lines;
  for (std::size_t at = 0; at < csv.size();) {
    const std::size_t end = csv.find("\r\n", at);
    lines.push_back(csv.substr(at, end - at));
    at = end + 2;
  }
  std::string out = lines.at(0) + "," + CsvLine({"indicator_label", "capability_label", "domain_label", "small_group"}, ',', "\r\n");
  for (std::size_t i = 0; i < d.rows.size(); ++i) {
    const DatasetRow& r = d.rows[i];
    std::string line = lines.at(i + 1);
    std::string note;
    if (IsSmallGroup(r, min_group)) {
      // Every number goes: the group's size too, since "1 country, 1 yes" is the disclosure itself.
      line = CsvLine({r.subject, r.group, "", "", "", "", "", "", "", "", "", std::string(DatasetLevelName(r.level)),
                      r.capability ? std::to_string(r.capability) : "", std::to_string(r.domain)},
                     ',', "");
      note = SmallGroupText(min_group, lang);
    }
    out += line + "," +
           CsvLine({SubjectLabel(schema, r, lang), CapabilityLabel(schema, r.capability, lang), DomainLabel(schema, r.domain, lang), note},
                   ',', "\r\n");
  }
  return out;
}

nlohmann::json DatasetLabelledJson(const Dataset& d, const SurveySchema& schema, const DatasetOrigin& origin, std::string_view lang,
                                   int min_group) {
  nlohmann::json j = DatasetJson(d, schema, origin);
  j["lang"] = lang;
  if (min_group > 0) j["small_groups"] = {{"min_countries", min_group}};
  auto& rows = j["rows"];
  for (std::size_t i = 0; i < d.rows.size() && i < rows.size(); ++i) {
    const DatasetRow& r = d.rows[i];
    auto& row = rows[i];
    row["indicator_label"] = SubjectLabel(schema, r, lang);
    row["capability_label"] = r.capability ? nlohmann::json(CapabilityLabel(schema, r.capability, lang)) : nlohmann::json(nullptr);
    row["domain_label"] = DomainLabel(schema, r.domain, lang);
    if (IsSmallGroup(r, min_group)) {
      for (const char* k : {"n_yes", "n_partial", "n_no", "n_unknown", "n_responding", "n_not_answered", "n_countries", "pct_yes",
                            "pct_yes_whole"}) {
        row[k] = nullptr;
      }
      row["small_group"] = SmallGroupText(min_group, lang);
    }
  }
  if (min_group > 0) {
    for (auto& g : j["groups"]) {
      if (g.value("n_countries", 0) < min_group) {
        g["n_countries"] = nullptr;
        g["small_group"] = SmallGroupText(min_group, lang);
      }
    }
  }
  return j;
}

Status WriteDatasetWorkbook(const std::string& path, const Dataset& d, const SurveySchema& schema, std::string_view lang,
                            int min_group) {
  // The labelled CSV is the one source of the cells, so the workbook and the CSV always agree.
  auto records = ParseCsv(DatasetLabelledCsv(d, schema, lang, min_group), "dataset");
  if (!records.ok()) return records.status();
  std::vector<xlsx::Sheet> sheets = {{"indicators", {}, {}}, {"capabilities", {}, {}}, {"domains", {}, {}}};
  const auto& header = records->front().fields;
  for (auto& sheet : sheets) sheet.header = header;
  // Numbers are the count and share columns (2..10) and the capability and domain numbers (12, 13).
  auto numeric = [](std::size_t col) { return (col >= 2 && col <= 10) || col == 12 || col == 13; };
  for (std::size_t i = 1; i < records->size(); ++i) {
    const auto& f = (*records)[i].fields;
    std::vector<xlsx::Cell> row;
    for (std::size_t c = 0; c < f.size(); ++c) {
      if (f[c].empty()) row.emplace_back(std::monostate{});
      else if (numeric(c)) row.emplace_back(std::stod(f[c]));
      else row.emplace_back(f[c]);
    }
    const std::string& level = f.at(11);
    sheets[level == "indicator" ? 0 : level == "capability" ? 1 : 2].rows.push_back(std::move(row));
  }
  return xlsx::WriteWorkbook(path, sheets).With("writing " + path);
}

}  // namespace mnr::server
