#include "server/aggregate.h"

#include <map>
#include <set>

#include "mnr/csv.h"

namespace mnr::server {

std::string PercentYes(int n_yes, int n_responding) {
  if (n_responding <= 0) return "";
  // Integer arithmetic, so 2/3 is "66.7" on every machine and a half always rounds up.
  long long tenths = (2000LL * n_yes + n_responding) / (2LL * n_responding);
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
}

std::vector<AggregateRow> Aggregate(const SurveySchema& schema, const std::vector<Country>& countries,
                                    const std::vector<ServerStore::MergedAnswer>& answers) {
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
    if (g == group_of.end() || schema.FindIndicator(a.indicator) == nullptr) continue;
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
