// The first aggregate of the merged survey: per indicator and income group, how many countries
// answered yes, partial, no and unknown. Countries outside the register are not counted (they cannot
// be attributed to a group).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/field.h"
#include "mnr/survey_schema.h"
#include "server/dataset.h"
#include "server/merged_state.h"

namespace mnr::server {

struct AggregateRow {
  std::string indicator;
  std::string group;  // all|high|lmic
  int n_yes = 0, n_partial = 0, n_no = 0, n_unknown = 0;
  int n_responding() const { return n_yes + n_partial + n_no + n_unknown; }
};

// One row per schema indicator (questionnaire order) and group (all, high, lmic = upper_middle +
// lower_middle + low), zero rows included; answers of the first round only.
std::vector<AggregateRow> Aggregate(const SurveySchema& schema, const std::vector<Country>& countries,
                                    const std::vector<MergedAnswer>& answers);

// 100 * yes / responding rounded half up to one decimal ("66.7"); "" when nobody responded.
std::string PercentYes(int n_yes, int n_responding);

// The change of the share of yes from (y1 of r1) to (y2 of r2) in percentage points, signed, rounded
// half away from zero to one decimal ("+5.0", "-3.3", "0.0"); "" when either side has no respondents.
// Integer arithmetic, like PercentYes. The report's and `releases diff`'s change between rounds.
std::string ChangeInPoints(int y1, int r1, int y2, int r2);

// The CSV document, header
// `indicator,group,n_yes,n_partial,n_no,n_unknown,n_responding,pct_yes`.
std::string AggregateCsv(const std::vector<AggregateRow>& rows);

// --- the exports people read: labels, and the rule for small groups ---

// A group with fewer registered countries than this is shown without its figures in everything public
// (the report, its downloads, a field office's dataset view, `aggregate --public`), because a group of
// one or two countries would disclose their answers. The coordinator's exports keep every count.
// `release --min-group` may raise or lower it; the rule used is signed into the release manifest as
// "small_groups": {"min_countries": N}.
inline constexpr int kDefaultMinGroup = 3;

// True when `r`'s figures must not be shown under `min_group` (0 or less: never).
bool IsSmallGroup(const DatasetRow& r, int min_group);
// "fewer than 3 countries" / "moins de 3 pays": what is shown instead of the figures.
std::string SmallGroupText(int min_group, std::string_view lang);
// The rule a release was made under: the manifest's small_groups.min_countries; kDefaultMinGroup for a
// release made before the rule was recorded (never less strict than today's default).
int MinGroupOfManifest(const nlohmann::json& manifest);

// The dataset CSV with labels, as `aggregate --format csv` writes it: the canonical CSV's 14 columns
// (DatasetCsv; the release's hashed bytes are that one), then indicator_label (the label of the
// row's indicator, capability or domain), capability_label, domain_label in `lang` (en|fr), and
// small_group. With `min_group` > 0 a small group's row has every number empty and small_group says
// SmallGroupText; otherwise small_group is empty. RFC 4180, CRLF, UTF-8.
std::string DatasetLabelledCsv(const Dataset& d, const SurveySchema& schema, std::string_view lang, int min_group);
// DatasetJson plus, per row, indicator_label, capability_label (null on domain rows) and domain_label
// in `lang`, and "lang". With `min_group` > 0 the small groups' numbers are null with "small_group":
// text, and "small_groups": {"min_countries": N} says the rule.
nlohmann::json DatasetLabelledJson(const Dataset& d, const SurveySchema& schema, const DatasetOrigin& origin, std::string_view lang,
                                   int min_group);
// The labelled CSV's columns as an Excel workbook at `path` (atomically): one sheet per level
// ("indicators", "capabilities", "domains"), counts and shares as numbers, empty cells where the CSV
// has empty fields. Errors name the file.
Status WriteDatasetWorkbook(const std::string& path, const Dataset& d, const SurveySchema& schema, std::string_view lang,
                            int min_group);

}  // namespace mnr::server
