// The first aggregate of the merged survey: per indicator and income group, how many countries
// answered yes, partial, no and unknown. Countries outside the register are not counted (they cannot
// be attributed to a group).
#pragma once

#include <string>
#include <vector>

#include "mnr/field.h"
#include "mnr/survey_schema.h"
#include "server/server_store.h"

namespace mnr::server {

struct AggregateRow {
  std::string indicator;
  std::string group;  // all|high|lmic
  int n_yes = 0, n_partial = 0, n_no = 0, n_unknown = 0;
  int n_responding() const { return n_yes + n_partial + n_no + n_unknown; }
};

// One row per schema indicator (questionnaire order) and group (all, high, lmic = upper_middle +
// lower_middle + low), zero rows included.
std::vector<AggregateRow> Aggregate(const SurveySchema& schema, const std::vector<Country>& countries,
                                    const std::vector<ServerStore::MergedAnswer>& answers);

// 100 * yes / responding rounded half up to one decimal ("66.7"); "" when nobody responded.
std::string PercentYes(int n_yes, int n_responding);

// The CSV document, header
// `indicator,group,n_yes,n_partial,n_no,n_unknown,n_responding,pct_yes`.
std::string AggregateCsv(const std::vector<AggregateRow>& rows);

}  // namespace mnr::server
