// The global aggregate dataset (docs/dataset.md): per indicator and group, how many registered
// countries answered yes, partial, no and unknown, how many did not answer, and the share of yes;
// per capability and domain, the share of indicators in place. Each survey round has its own dataset. Groups: all, each income group, lmic
// (all but high) and each region.
//
// The answer counts per (indicator, group) live in the store (dataset_counts, dataset_groups) and are
// kept current by two hooks that run inside the transaction that changes their inputs: a merged
// answer's winner (DatasetOnMergedChange) and a country register row (DatasetOnCountryImport). Each
// does work proportional to its change. RebuildDataset recomputes both tables from scratch; the two
// paths give identical tables.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/sqlite.h"
#include "mnr/status.h"
#include "mnr/survey_schema.h"
#include "server/country.h"

namespace mnr::server {

// Incremented when the dataset's columns or row order change (the canonical CSV, hence every hash).
inline constexpr int kDatasetFormat = 1;

// The groups a registered country counts in, in output order: "all", its income group, "lmic" unless
// high income, and "region:<region>" when it has one.
std::vector<std::string> DatasetGroupsOf(const Country& c);

enum class DatasetLevel { kIndicator, kCapability, kDomain };
std::string_view DatasetLevelName(DatasetLevel level);  // indicator|capability|domain

// One row of the dataset. For a capability or domain row the counts pool every (country, indicator)
// answer of its indicators, so n_yes / n_responding is the share of indicators in place.
struct DatasetRow {
  std::string subject;  // indicator id, "capability:<N>" or "domain:<N>" (the CSV's indicator column)
  std::string group;
  DatasetLevel level = DatasetLevel::kIndicator;
  int capability = 0;  // 0 on domain rows
  int domain = 0;
  int n_yes = 0, n_partial = 0, n_no = 0, n_unknown = 0;
  int n_not_answered = 0;  // answers expected from the group's countries but absent
  int n_countries = 0;     // registered countries in the group
  int n_responding() const { return n_yes + n_partial + n_no + n_unknown; }
};

struct Dataset {
  std::vector<DatasetRow> rows;  // indicator rows (schema order), then capability, then domain rows
  const DatasetRow* Find(std::string_view subject, std::string_view group) const;
  std::vector<std::string> Groups() const;  // in row order
};

// --- maintenance, each inside the caller's open transaction ---

// The merged value of `field` changed from `before` to `after` (either may be absent = not
// answered). Not an answer field, or the same answer with another note: nothing to do.
Status DatasetOnMergedChange(Db& db, std::string_view field, const std::optional<std::string>& before,
                             const std::optional<std::string>& after);
// Call before `row` is written into the register: moves the country's answers between groups if its
// income group or region changes, and adjusts the group sizes.
Status DatasetOnCountryImport(Db& db, const Country& row);
// Recomputes dataset_counts and dataset_groups from the merged fields and the register.
Status RebuildDataset(Db& db);

// --- checking the maintained tables against a recount ---

// The content of dataset_counts and dataset_groups, or what a recount gives for them: answer counts
// per (indicator, group), without all-zero entries, and registered countries per group, without
// empty groups. Both tables are a function of the merged answers and the register, so two of these
// compare equal exactly when the published figures would.
struct DatasetCounts {
  struct Answers {
    int yes = 0, partial = 0, no = 0, unknown = 0;
    bool operator==(const Answers&) const = default;
  };
  std::map<std::pair<std::string, std::string>, Answers> answers;  // (indicator, group)
  std::map<std::string, int> groups;                              // group -> n_countries
  bool operator==(const DatasetCounts&) const = default;
};
// What the tables hold for survey round `round` ("2025").
Result<DatasetCounts> StoredDatasetCounts(Db& db, std::string_view round);
// A recount of `round` from the store's merged fields and register (the views `aggregate --rebuild` uses).
Result<DatasetCounts> RecountDataset(Db& db, std::string_view round);
// The rounds that have answer counts, stored or recounted, oldest first.
Result<std::vector<std::string>> DatasetRounds(Db& db);
// The same recount of `round` from a merged state held in memory (a replay of the audit log): `merged`
// maps each field to its merged value, absent when cleared; fields that are not answers of `round` are
// ignored. Counts as
// the views do: the answer word before the first line break, if it is one of the four.
DatasetCounts CountDataset(const std::map<std::string, std::optional<std::string>>& merged, const std::vector<Country>& countries,
                           std::string_view round);
// CountDataset of every round that has an answer in `merged`, and of kFirstRound (the group sizes).
std::map<std::string, DatasetCounts> CountDatasetRounds(const std::map<std::string, std::optional<std::string>>& merged,
                                                        const std::vector<Country>& countries);
// OK if equal. Otherwise Corruption naming the first difference, in the order indicator/group then
// group sizes: "the stored dataset of round 2025 differs from a recount at c11_child_helpline/all: stored 37,
// recount 32 (n_yes); run `mnr-server aggregate --rebuild` after investigating".
Status CompareDatasetCounts(const DatasetCounts& stored, const DatasetCounts& recount, std::string_view round);
// StoredDatasetCounts against RecountDataset, for every round. `mnr-server release` runs it before it signs, and
// `audit verify` against a replay of the log.
Status CheckDatasetAgainstRecount(Db& db);

// --- reading ---

// The round a command works on: `asked` if the schema lists it (or it is kFirstRound), else
// InvalidArgument naming the schema's rounds; without `asked`, the schema's current round (kFirstRound
// when the schema names none).
Result<std::string> ChooseRound(const SurveySchema& schema, const std::optional<std::string>& asked);

// The current dataset of survey round `round` from the maintained tables. Rows for every indicator, capability and domain of
// `schema` and every group that has countries (plus the income groups and lmic even when empty).
Result<Dataset> LoadDataset(Db& db, const SurveySchema& schema, std::string_view round);
// The dataset that `counts` give (LoadDataset is BuildDataset of StoredDatasetCounts).
Dataset BuildDataset(const DatasetCounts& counts, const SurveySchema& schema);

// One row of the comparison of two datasets (two releases, usually of two rounds).
struct DatasetChange {
  std::string subject;
  std::string group;
  std::optional<DatasetRow> before;  // absent: the row is only in the later dataset
  std::optional<DatasetRow> after;   // absent: only in the earlier one
  // A row changed when it is in one dataset only or any of its counts differ.
  bool changed() const;
};
// The rows of `after` in its order, then those only in `before`; unchanged rows only with
// `include_unchanged`.
std::vector<DatasetChange> DiffDatasets(const Dataset& before, const Dataset& after, bool include_unchanged);

// 100 * n / d rounded half up to a whole number ("76"); "" when d is 0. The report's display.
std::string PercentWhole(int n, int d);

// The canonical CSV (RFC 4180, CRLF): the bytes a release hashes. Header:
// indicator,group,n_yes,n_partial,n_no,n_unknown,n_responding,pct_yes,n_not_answered,n_countries,
// pct_yes_whole,level,capability,domain
std::string DatasetCsv(const Dataset& d);
// Reads DatasetCsv's output back (a release's stored CSV); refuses any other header.
Result<Dataset> ParseDatasetCsv(std::string_view csv, std::string_view origin);

// What a JSON export says about its origin.
struct DatasetOrigin {
  std::optional<std::string> release_label;
  std::optional<std::string> release_id;
  std::optional<std::int64_t> created_at;
  int store_schema_version = 0;
  int survey_schema_version = 0;
  std::string content_sha256;  // of DatasetCsv
};
nlohmann::json DatasetJson(const Dataset& d, const SurveySchema& schema, const DatasetOrigin& origin);
// SDMX-CSV (docs/sdmx.md): DATAFLOW,INDICATOR,GROUP,MEASURE,OBS_VALUE,UNIT_MEASURE,OBS_STATUS.
std::string DatasetSdmxCsv(const Dataset& d);
// The SDMX codes of a subject and a group (docs/sdmx.md); exposed for tests.
std::string SdmxIndicatorCode(std::string_view subject);
std::string SdmxGroupCode(std::string_view group);

// Which countries stand behind each count: for every indicator and group, the countries per answer
// and those that did not answer. For coordinators only: never sent to a field credential.
// JSON: [{indicator, group, yes: [...], partial: [...], no: [...], unknown: [...], not_answered: [...]}].
Result<nlohmann::json> DatasetMembers(Db& db, const SurveySchema& schema, std::string_view round);
// The same as CSV: indicator,group,answer,countries (codes separated by spaces).
std::string DatasetMembersCsv(const nlohmann::json& members);

// The good-practice entries of the merged state (practice/<C>/<id>/<attr>) of registered countries,
// not removed, with a title and a capability of the schema: JSON array ordered by capability,
// country, id: [{id, country, country_name, capability, kind, title, text, lang}].
Result<nlohmann::json> PracticeEntries(Db& db, const SurveySchema& schema);
// The same from a merged state held in memory (field -> merged value, absent when cleared) and the
// register.
nlohmann::json PracticeEntriesOf(const std::map<std::string, std::optional<std::string>>& merged,
                                 const std::vector<Country>& countries, const SurveySchema& schema);

}  // namespace mnr::server
