#include "server/dataset.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <map>
#include <set>

#include "mnr/csv.h"
#include "mnr/field.h"
#include "server/aggregate.h"

namespace mnr::server {
namespace {

// The groups every dataset has rows for, even when they have no country; regions follow.
constexpr const char* kFixedGroups[] = {"all", "high", "upper_middle", "lower_middle", "low", "lmic"};
constexpr std::string_view kRegionPrefix = "region:";

std::optional<Answer> AnswerOf(const std::optional<std::string>& value) {
  if (!value) return std::nullopt;
  auto v = DecodeAnswer(*value);
  if (!v.ok()) return std::nullopt;  // validated on intake; an unreadable value counts as no answer
  return v->answer;
}

Result<std::optional<Country>> RegisteredCountry(Db& db, std::string_view code) {
  auto st = db.Cached("SELECT code, name, income_group, region FROM countries WHERE code = ?");
  if (!st.ok()) return st.status();
  st->Bind(1, code);
  auto row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Country>();
  return std::optional<Country>(Country{st->Text(0), st->Text(1), st->Text(2), st->Text(3)});
}

// Changes to the four counts (yes, partial, no, unknown) of one (indicator, group) row.
using CountDelta = std::array<int, 4>;

CountDelta DeltaOf(Answer a, int delta) {
  CountDelta d{};
  switch (a) {
    case Answer::kYes: d[0] = delta; break;
    case Answer::kPartial: d[1] = delta; break;
    case Answer::kNo: d[2] = delta; break;
    case Answer::kUnknown: d[3] = delta; break;
  }
  return d;
}

CountDelta Sum(const CountDelta& a, const CountDelta& b) {
  CountDelta out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = a[i] + b[i];
  return out;
}

// Adds `delta` to the counts of `indicator` of `round` in each group: one upsert per group, and when a
// count went down one delete of the rows left all zero. A count would only go negative if the tables had drifted
// from the merged state; the CHECK then aborts the whole transaction.
Status Bump(Db& db, std::string_view round, std::string_view indicator, const std::vector<std::string>& groups,
            const CountDelta& delta) {
  if (delta == CountDelta{} || groups.empty()) return Status::OK();
  // An update, and an insert only for a row not there yet (an upsert would check the CHECK against
  // the bare deltas before it saw the row).
  auto add = db.Cached(
      "UPDATE dataset_counts SET n_yes = n_yes + ?3, n_partial = n_partial + ?4, n_no = n_no + ?5, "
      "n_unknown = n_unknown + ?6 WHERE indicator = ?1 AND grp = ?2 AND round = ?7");
  if (!add.ok()) return add.status();
  auto ins = db.Cached(
      "INSERT INTO dataset_counts (round, indicator, grp, n_yes, n_partial, n_no, n_unknown) VALUES (?7, ?1, ?2, ?3, ?4, ?5, ?6)");
  if (!ins.ok()) return ins.status();
  for (const auto& g : groups) {
    const std::string where = "dataset count " + std::string(round) + "/" + std::string(indicator) + "/" + g;
    const std::string fix = " (if the counts drifted from the merged answers, run `mnr-server aggregate --rebuild`)";
    for (Statement* st : {&*add, &*ins}) {
      st->Reset();
      st->Bind(1, indicator).Bind(2, g);
      for (int i = 0; i < 4; ++i) st->Bind(3 + i, static_cast<std::int64_t>(delta[static_cast<std::size_t>(i)]));
      st->Bind(7, round);
      MNR_RETURN_IF_ERROR(st->Run().With(where + fix));
      if (db.Changes() > 0) break;
    }
  }
  if (std::all_of(delta.begin(), delta.end(), [](int d) { return d >= 0; })) return Status::OK();
  auto drop = db.Cached("DELETE FROM dataset_counts WHERE round = ?2 AND indicator = ?1 AND n_yes = 0 AND n_partial = 0 "
                        "AND n_no = 0 AND n_unknown = 0");
  if (!drop.ok()) return drop.status();
  drop->Bind(1, indicator).Bind(2, round);
  return drop->Run().With("dataset counts of " + std::string(round) + "/" + std::string(indicator));
}

Status BumpGroupSize(Db& db, const std::string& group, int delta) {
  if (delta > 0) {
    auto st = db.Cached("INSERT INTO dataset_groups (grp, n_countries) VALUES (?, ?) "
                         "ON CONFLICT (grp) DO UPDATE SET n_countries = n_countries + excluded.n_countries");
    if (!st.ok()) return st.status();
    st->Bind(1, group).Bind(2, static_cast<std::int64_t>(delta));
    return st->Run().With("dataset group " + group);
  }
  auto del = db.Cached("DELETE FROM dataset_groups WHERE grp = ? AND n_countries = ?");
  if (!del.ok()) return del.status();
  del->Bind(1, group).Bind(2, static_cast<std::int64_t>(-delta));
  MNR_RETURN_IF_ERROR(del->Run());
  if (db.Changes() > 0) return Status::OK();
  auto st = db.Cached("UPDATE dataset_groups SET n_countries = n_countries + ? WHERE grp = ?");
  if (!st.ok()) return st.status();
  st->Bind(1, static_cast<std::int64_t>(delta)).Bind(2, group);
  MNR_RETURN_IF_ERROR(st->Run().With("dataset group " + group));
  if (db.Changes() != 1) {
    return Status::Corruption("dataset group " + group + " has no countries to remove; run `mnr-server aggregate --rebuild`");
  }
  return Status::OK();
}

std::vector<std::string> Minus(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  for (const auto& x : a) {
    if (std::find(b.begin(), b.end(), x) == b.end()) out.push_back(x);
  }
  return out;
}

std::string RowSubject(DatasetLevel level, int id) {
  return std::string(DatasetLevelName(level)) + ":" + std::to_string(id);
}

Result<int> ParseCount(const std::string& s, const std::string& where) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) {
    return Status::Corruption(where + ": \"" + s.substr(0, 20) + "\" is not a count");
  }
  return v;
}

Result<std::map<std::string, int>> StoredGroupSizes(Db& db) {
  std::map<std::string, int> sizes;
  auto st = db.Cached("SELECT grp, n_countries FROM dataset_groups ORDER BY grp");
  if (!st.ok()) return st.status();
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    sizes[st->Text(0)] = static_cast<int>(st->Int(1));
  }
  return sizes;
}

// The groups present in a dataset: the fixed ones, then the regions that have countries, by name.
std::vector<std::pair<std::string, int>> GroupOrder(const std::map<std::string, int>& sizes) {
  std::vector<std::pair<std::string, int>> out;
  for (const char* g : kFixedGroups) {
    auto it = sizes.find(g);
    out.emplace_back(g, it == sizes.end() ? 0 : it->second);
  }
  for (const auto& [g, n] : sizes) {
    if (g.rfind(kRegionPrefix, 0) == 0) out.emplace_back(g, n);
  }
  return out;
}

Result<std::vector<std::pair<std::string, int>>> GroupSizes(Db& db) {
  auto sizes = StoredGroupSizes(db);
  if (!sizes.ok()) return sizes.status();
  return GroupOrder(*sizes);
}

// Reads (indicator, grp, n_yes, n_partial, n_no, n_unknown) rows of `round` from `table`; an all-zero
// row is left out, as the maintained table never keeps one.
Result<std::map<std::pair<std::string, std::string>, DatasetCounts::Answers>> ReadAnswerCounts(Db& db, std::string_view table,
                                                                                               std::string_view round) {
  std::map<std::pair<std::string, std::string>, DatasetCounts::Answers> out;
  auto st = db.Prepare("SELECT indicator, grp, n_yes, n_partial, n_no, n_unknown FROM " + std::string(table) + " WHERE round = ?");
  if (!st.ok()) return st.status();
  st->Bind(1, round);
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const DatasetCounts::Answers a{static_cast<int>(st->Int(2)), static_cast<int>(st->Int(3)), static_cast<int>(st->Int(4)),
                                   static_cast<int>(st->Int(5))};
    if (a == DatasetCounts::Answers{}) continue;
    out[{st->Text(0), st->Text(1)}] = a;
  }
  return out;
}

}  // namespace

std::vector<std::string> DatasetGroupsOf(const Country& c) {
  std::vector<std::string> g = {"all", c.income_group};
  if (c.income_group != "high") g.push_back("lmic");
  if (!c.region.empty()) g.push_back(std::string(kRegionPrefix) + c.region);
  return g;
}

std::string_view DatasetLevelName(DatasetLevel level) {
  switch (level) {
    case DatasetLevel::kIndicator: return "indicator";
    case DatasetLevel::kCapability: return "capability";
    case DatasetLevel::kDomain: return "domain";
  }
  return "indicator";
}

const DatasetRow* Dataset::Find(std::string_view subject, std::string_view group) const {
  for (const auto& r : rows) {
    if (r.subject == subject && r.group == group) return &r;
  }
  return nullptr;
}

std::vector<std::string> Dataset::Groups() const {
  std::vector<std::string> out;
  for (const auto& r : rows) {
    if (std::find(out.begin(), out.end(), r.group) == out.end()) out.push_back(r.group);
  }
  return out;
}

Status DatasetOnMergedChange(Db& db, std::string_view field, const std::optional<std::string>& before,
                             const std::optional<std::string>& after) {
  auto fk = ParseField(field);
  if (!fk.ok() || fk->kind != FieldKey::Kind::kAnswer) return Status::OK();
  const auto was = AnswerOf(before), now = AnswerOf(after);
  if (was == now) return Status::OK();
  auto country = RegisteredCountry(db, fk->country);
  if (!country.ok()) return country.status();
  if (!*country) return Status::OK();  // counted once the country is registered
  const auto groups = DatasetGroupsOf(**country);
  // One upsert per group carries both the answer that left and the one that came.
  MNR_RETURN_IF_ERROR(Bump(db, fk->round, fk->indicator, groups, Sum(was ? DeltaOf(*was, -1) : CountDelta{}, now ? DeltaOf(*now, +1) : CountDelta{})));
  return Status::OK();
}

Status DatasetOnCountryImport(Db& db, const Country& row) {
  auto old = RegisteredCountry(db, row.code);
  if (!old.ok()) return old.status();
  const std::vector<std::string> before = *old ? DatasetGroupsOf(**old) : std::vector<std::string>();
  const std::vector<std::string> after = DatasetGroupsOf(row);
  const auto left = Minus(before, after), joined = Minus(after, before);
  if (left.empty() && joined.empty()) return Status::OK();
  for (const auto& g : left) MNR_RETURN_IF_ERROR(BumpGroupSize(db, g, -1));
  for (const auto& g : joined) MNR_RETURN_IF_ERROR(BumpGroupSize(db, g, +1));
  auto st = db.Cached("SELECT field, value FROM fields WHERE country = ? AND substr(field, 1, 7) = 'answer/' AND value IS NOT NULL");
  if (!st.ok()) return st.status();
  st->Bind(1, row.code);
  for (;;) {
    auto r = st->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    auto fk = ParseField(st->Text(0));
    const auto a = AnswerOf(st->OptText(1));
    if (!fk.ok() || fk->kind != FieldKey::Kind::kAnswer || !a) continue;
    MNR_RETURN_IF_ERROR(Bump(db, fk->round, fk->indicator, left, DeltaOf(*a, -1)));
    MNR_RETURN_IF_ERROR(Bump(db, fk->round, fk->indicator, joined, DeltaOf(*a, +1)));
  }
  return Status::OK();
}

Status RebuildDataset(Db& db) {
  MNR_RETURN_IF_ERROR(db.Exec(
      "DELETE FROM dataset_counts;"
      "DELETE FROM dataset_groups;"
      "INSERT INTO dataset_counts SELECT round, indicator, grp, n_yes, n_partial, n_no, n_unknown FROM dataset_recount;"
      "INSERT INTO dataset_groups SELECT grp, COUNT(*) FROM dataset_country_groups GROUP BY grp;").With("rebuilding the dataset"));
  return Status::OK();
}

Result<DatasetCounts> StoredDatasetCounts(Db& db, std::string_view round) {
  DatasetCounts out;
  auto answers = ReadAnswerCounts(db, "dataset_counts", round);
  if (!answers.ok()) return answers.status();
  out.answers = std::move(*answers);
  auto groups = StoredGroupSizes(db);
  if (!groups.ok()) return groups.status();
  out.groups = std::move(*groups);
  return out;
}

Result<DatasetCounts> RecountDataset(Db& db, std::string_view round) {
  DatasetCounts out;
  auto answers = ReadAnswerCounts(db, "dataset_recount", round);
  if (!answers.ok()) return answers.status();
  out.answers = std::move(*answers);
  auto st = db.Cached("SELECT grp, COUNT(*) FROM dataset_country_groups GROUP BY grp");
  if (!st.ok()) return st.status();
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.groups[st->Text(0)] = static_cast<int>(st->Int(1));
  }
  return out;
}

DatasetCounts CountDataset(const std::map<std::string, std::optional<std::string>>& merged, const std::vector<Country>& countries,
                           std::string_view round) {
  DatasetCounts out;
  std::map<std::string, std::vector<std::string>> groups_of;
  for (const auto& c : countries) {
    groups_of[c.code] = DatasetGroupsOf(c);
    for (const auto& g : groups_of[c.code]) ++out.groups[g];
  }
  constexpr std::string_view kAnswerPrefix = "answer/";
  for (auto it = merged.lower_bound(std::string(kAnswerPrefix)); it != merged.end(); ++it) {
    const std::string& field = it->first;
    if (field.compare(0, kAnswerPrefix.size(), kAnswerPrefix) != 0) break;
    if (!it->second) continue;
    auto key = ParseField(field);
    if (!key.ok() || key->kind != FieldKey::Kind::kAnswer || key->round != round) continue;
    auto country = groups_of.find(key->country);
    if (country == groups_of.end()) continue;
    const std::string word = it->second->substr(0, it->second->find('\n'));
    const auto answer = ParseAnswer(word);
    if (!answer || AnswerName(*answer) != word) continue;
    for (const auto& g : country->second) {
      auto& a = out.answers[{key->indicator, g}];
      switch (*answer) {
        case Answer::kYes: ++a.yes; break;
        case Answer::kPartial: ++a.partial; break;
        case Answer::kNo: ++a.no; break;
        case Answer::kUnknown: ++a.unknown; break;
      }
    }
  }
  return out;
}

std::map<std::string, DatasetCounts> CountDatasetRounds(const std::map<std::string, std::optional<std::string>>& merged,
                                                        const std::vector<Country>& countries) {
  std::set<std::string> rounds = {std::string(kFirstRound)};
  constexpr std::string_view kAnswerPrefix = "answer/";
  for (auto it = merged.lower_bound(std::string(kAnswerPrefix)); it != merged.end(); ++it) {
    if (it->first.compare(0, kAnswerPrefix.size(), kAnswerPrefix) != 0) break;
    if (auto key = ParseField(it->first); key.ok() && it->second) rounds.insert(key->round);
  }
  std::map<std::string, DatasetCounts> out;
  for (const auto& r : rounds) out[r] = CountDataset(merged, countries, r);
  return out;
}

Status CompareDatasetCounts(const DatasetCounts& stored, const DatasetCounts& recount, std::string_view round) {
  const auto differ = [round](const std::string& at, const char* column, int a, int b) {
    return Status::Corruption("the stored dataset of round " + std::string(round) + " differs from a recount at " + at + ": stored " + std::to_string(a) + ", recount " +
                              std::to_string(b) + " (" + column + "); run `mnr-server aggregate --rebuild` after investigating");
  };
  std::set<std::pair<std::string, std::string>> keys;
  for (const auto& [k, v] : stored.answers) keys.insert(k);
  for (const auto& [k, v] : recount.answers) keys.insert(k);
  for (const auto& k : keys) {
    const auto find = [&k](const DatasetCounts& d) {
      auto it = d.answers.find(k);
      return it == d.answers.end() ? DatasetCounts::Answers{} : it->second;
    };
    const auto a = find(stored), b = find(recount);
    const std::string at = k.first + "/" + k.second;
    if (a.yes != b.yes) return differ(at, "n_yes", a.yes, b.yes);
    if (a.partial != b.partial) return differ(at, "n_partial", a.partial, b.partial);
    if (a.no != b.no) return differ(at, "n_no", a.no, b.no);
    if (a.unknown != b.unknown) return differ(at, "n_unknown", a.unknown, b.unknown);
  }
  std::set<std::string> groups;
  for (const auto& [g, n] : stored.groups) groups.insert(g);
  for (const auto& [g, n] : recount.groups) groups.insert(g);
  for (const auto& g : groups) {
    auto a = stored.groups.find(g), b = recount.groups.find(g);
    const int na = a == stored.groups.end() ? 0 : a->second, nb = b == recount.groups.end() ? 0 : b->second;
    if (na != nb) return differ("group " + g, "n_countries", na, nb);
  }
  return Status::OK();
}

Result<std::vector<std::string>> DatasetRounds(Db& db) {
  std::vector<std::string> out;
  auto st = db.Prepare("SELECT round FROM dataset_counts UNION SELECT round FROM dataset_recount ORDER BY 1");
  if (!st.ok()) return st.status();
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(st->Text(0));
  }
  return out;
}

Status CheckDatasetAgainstRecount(Db& db) {
  auto rounds = DatasetRounds(db);
  if (!rounds.ok()) return rounds.status();
  // The group sizes are compared even in a store without answers.
  if (rounds->empty()) rounds->push_back(std::string(kFirstRound));
  for (const auto& round : *rounds) {
    auto stored = StoredDatasetCounts(db, round);
    if (!stored.ok()) return stored.status();
    auto recount = RecountDataset(db, round);
    if (!recount.ok()) return recount.status();
    MNR_RETURN_IF_ERROR(CompareDatasetCounts(*stored, *recount, round));
  }
  return Status::OK();
}

Result<std::string> ChooseRound(const SurveySchema& schema, const std::optional<std::string>& asked) {
  if (!asked) return schema.round().empty() ? std::string(kFirstRound) : schema.round();
  MNR_RETURN_IF_ERROR(schema.CheckRound(*asked));
  return *asked;
}

Result<Dataset> LoadDataset(Db& db, const SurveySchema& schema, std::string_view round) {
  auto counts = StoredDatasetCounts(db, round);
  if (!counts.ok()) return counts.status();
  return BuildDataset(*counts, schema);
}

Dataset BuildDataset(const DatasetCounts& stored, const SurveySchema& schema) {
  const auto groups = GroupOrder(stored.groups);
  const auto& counts = stored.answers;
  Dataset d;
  std::map<std::pair<int, std::string>, DatasetRow> by_capability, by_domain;
  for (const auto& ind : schema.indicators()) {
    const Capability* cap = schema.FindCapability(ind.capability);
    const int domain = cap ? cap->domain : 0;
    for (const auto& [g, n] : groups) {
      DatasetRow r;
      r.subject = ind.id;
      r.group = g;
      r.level = DatasetLevel::kIndicator;
      r.capability = ind.capability;
      r.domain = domain;
      auto it = counts.find({ind.id, g});
      if (it != counts.end()) {
        r.n_yes = it->second.yes;
        r.n_partial = it->second.partial;
        r.n_no = it->second.no;
        r.n_unknown = it->second.unknown;
      }
      r.n_countries = n;
      r.n_not_answered = n - r.n_responding();
      d.rows.push_back(r);
      for (auto* pool : {&by_capability[{ind.capability, g}], &by_domain[{domain, g}]}) {
        pool->n_yes += r.n_yes;
        pool->n_partial += r.n_partial;
        pool->n_no += r.n_no;
        pool->n_unknown += r.n_unknown;
        pool->n_not_answered += r.n_not_answered;
        pool->n_countries = n;
      }
    }
  }
  for (const auto& cap : schema.capabilities()) {
    for (const auto& [g, n] : groups) {
      DatasetRow r = by_capability[{cap.id, g}];
      r.subject = RowSubject(DatasetLevel::kCapability, cap.id);
      r.group = g;
      r.level = DatasetLevel::kCapability;
      r.capability = cap.id;
      r.domain = cap.domain;
      r.n_countries = n;
      d.rows.push_back(r);
    }
  }
  for (const auto& dom : schema.domains()) {
    for (const auto& [g, n] : groups) {
      DatasetRow r = by_domain[{dom.id, g}];
      r.subject = RowSubject(DatasetLevel::kDomain, dom.id);
      r.group = g;
      r.level = DatasetLevel::kDomain;
      r.capability = 0;
      r.domain = dom.id;
      r.n_countries = n;
      d.rows.push_back(r);
    }
  }
  return d;
}

bool DatasetChange::changed() const {
  if (!before || !after) return true;
  const DatasetRow &a = *before, &b = *after;
  return a.n_yes != b.n_yes || a.n_partial != b.n_partial || a.n_no != b.n_no || a.n_unknown != b.n_unknown ||
         a.n_not_answered != b.n_not_answered || a.n_countries != b.n_countries;
}

std::vector<DatasetChange> DiffDatasets(const Dataset& before, const Dataset& after, bool include_unchanged) {
  std::vector<DatasetChange> out;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& r : after.rows) {
    DatasetChange c{r.subject, r.group, std::nullopt, r};
    if (const DatasetRow* b = before.Find(r.subject, r.group)) c.before = *b;
    seen.insert({r.subject, r.group});
    if (include_unchanged || c.changed()) out.push_back(std::move(c));
  }
  for (const auto& r : before.rows) {
    if (!seen.count({r.subject, r.group})) out.push_back(DatasetChange{r.subject, r.group, r, std::nullopt});
  }
  return out;
}

std::string PercentWhole(int n, int d) {
  if (d <= 0) return "";
  return std::to_string((200LL * n + d) / (2LL * d));
}

namespace {

const std::vector<std::string>& CsvHeader() {
  static const std::vector<std::string> h = {"indicator",   "group",          "n_yes",       "n_partial",     "n_no",
                                             "n_unknown",   "n_responding",   "pct_yes",     "n_not_answered", "n_countries",
                                             "pct_yes_whole", "level",        "capability",  "domain"};
  return h;
}

std::string CsvRecord(const std::vector<std::string>& fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    out += CsvField(fields[i]);
  }
  return out + "\r\n";
}

}  // namespace

std::string DatasetCsv(const Dataset& d) {
  std::string out = CsvRecord(CsvHeader());
  for (const auto& r : d.rows) {
    out += CsvRecord({r.subject, r.group, std::to_string(r.n_yes), std::to_string(r.n_partial), std::to_string(r.n_no),
                      std::to_string(r.n_unknown), std::to_string(r.n_responding()), PercentYes(r.n_yes, r.n_responding()),
                      std::to_string(r.n_not_answered), std::to_string(r.n_countries),
                      PercentWhole(r.n_yes, r.n_responding()), std::string(DatasetLevelName(r.level)),
                      r.capability ? std::to_string(r.capability) : "", std::to_string(r.domain)});
  }
  return out;
}

Result<Dataset> ParseDatasetCsv(std::string_view csv, std::string_view origin) {
  auto records = ParseCsv(csv, origin);
  if (!records.ok()) return records.status();
  if (records->empty() || records->front().fields != CsvHeader()) {
    return Status::Corruption(std::string(origin) + ": not a dataset CSV of format " + std::to_string(kDatasetFormat) +
                              " (unexpected header)");
  }
  Dataset d;
  for (std::size_t i = 1; i < records->size(); ++i) {
    const auto& f = (*records)[i].fields;
    const std::string where = std::string(origin) + ":" + std::to_string((*records)[i].line);
    if (f.size() != CsvHeader().size()) return Status::Corruption(where + ": expected " + std::to_string(CsvHeader().size()) + " fields");
    DatasetRow r;
    r.subject = f[0];
    r.group = f[1];
    int* targets[] = {&r.n_yes, &r.n_partial, &r.n_no, &r.n_unknown};
    for (int k = 0; k < 4; ++k) {
      auto v = ParseCount(f[2 + k], where);
      if (!v.ok()) return v.status();
      *targets[k] = *v;
    }
    auto na = ParseCount(f[8], where);
    if (!na.ok()) return na.status();
    r.n_not_answered = *na;
    auto nc = ParseCount(f[9], where);
    if (!nc.ok()) return nc.status();
    r.n_countries = *nc;
    if (f[11] == "indicator") r.level = DatasetLevel::kIndicator;
    else if (f[11] == "capability") r.level = DatasetLevel::kCapability;
    else if (f[11] == "domain") r.level = DatasetLevel::kDomain;
    else return Status::Corruption(where + ": unknown level \"" + f[11].substr(0, 20) + "\"");
    if (!f[12].empty()) {
      auto c = ParseCount(f[12], where);
      if (!c.ok()) return c.status();
      r.capability = *c;
    }
    auto dm = ParseCount(f[13], where);
    if (!dm.ok()) return dm.status();
    r.domain = *dm;
    auto resp = ParseCount(f[6], where);
    if (!resp.ok()) return resp.status();
    if (*resp != r.n_responding() || f[7] != PercentYes(r.n_yes, r.n_responding())) {
      return Status::Corruption(where + ": n_responding or pct_yes does not follow from the counts");
    }
    d.rows.push_back(std::move(r));
  }
  return d;
}

nlohmann::json DatasetJson(const Dataset& d, const SurveySchema& schema, const DatasetOrigin& origin) {
  using nlohmann::json;
  json rows = json::array();
  for (const auto& r : d.rows) {
    const int resp = r.n_responding();
    json row = {{"indicator", r.subject},
                {"group", r.group},
                {"level", DatasetLevelName(r.level)},
                {"capability", r.capability ? json(r.capability) : json(nullptr)},
                {"domain", r.domain},
                {"n_yes", r.n_yes},
                {"n_partial", r.n_partial},
                {"n_no", r.n_no},
                {"n_unknown", r.n_unknown},
                {"n_responding", resp},
                {"n_not_answered", r.n_not_answered},
                {"n_countries", r.n_countries},
                {"pct_yes", resp ? json(std::stod(PercentYes(r.n_yes, resp))) : json(nullptr)},
                {"pct_yes_whole", resp ? json(std::stoi(PercentWhole(r.n_yes, resp))) : json(nullptr)}};
    rows.push_back(std::move(row));
  }
  json groups = json::array();
  for (const auto& g : d.Groups()) {
    const DatasetRow* any = nullptr;
    for (const auto& r : d.rows) {
      if (r.group == g) {
        any = &r;
        break;
      }
    }
    groups.push_back({{"id", g}, {"n_countries", any ? any->n_countries : 0}});
  }
  json labels = {{"domains", json::object()}, {"capabilities", json::object()}, {"indicators", json::object()}};
  for (const auto& dom : schema.domains()) labels["domains"][std::to_string(dom.id)] = {{"en", dom.label.en}, {"fr", dom.label.fr}};
  for (const auto& cap : schema.capabilities()) {
    labels["capabilities"][std::to_string(cap.id)] = {{"en", cap.label.en}, {"fr", cap.label.fr}, {"domain", cap.domain}};
  }
  for (const auto& ind : schema.indicators()) {
    labels["indicators"][ind.id] = {{"en", ind.label.en}, {"fr", ind.label.fr}, {"capability", ind.capability}};
  }
  json release = nullptr;
  if (origin.release_label) {
    release = {{"label", *origin.release_label},
               {"release_id", origin.release_id.value_or("")},
               {"created_at", origin.created_at.value_or(0)}};
  }
  return {{"format", "mnr-dataset"},
          {"dataset_format", kDatasetFormat},
          {"store_schema_version", origin.store_schema_version},
          {"survey_schema_version", origin.survey_schema_version},
          {"release", release},
          {"content_sha256", origin.content_sha256},
          {"groups", groups},
          {"rows", rows},
          {"labels", labels}};
}

std::string SdmxIndicatorCode(std::string_view subject) {
  if (subject.rfind("capability:", 0) == 0) return "CAP_" + std::string(subject.substr(11));
  if (subject.rfind("domain:", 0) == 0) return "DOM_" + std::string(subject.substr(7));
  return std::string(subject);
}

std::string SdmxGroupCode(std::string_view group) {
  static const std::map<std::string, std::string, std::less<>> kCodes = {
      {"all", "_T"}, {"high", "HIC"}, {"upper_middle", "UMC"}, {"lower_middle", "LMC"}, {"low", "LIC"}, {"lmic", "LMY"}};
  if (auto it = kCodes.find(group); it != kCodes.end()) return it->second;
  std::string out = "REG_";
  std::string_view name = group.substr(std::min(group.size(), kRegionPrefix.size()));
  for (unsigned char c : name) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "$%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string DatasetSdmxCsv(const Dataset& d) {
  const std::string flow = "MNR:DF_MNR_DATASET(1.0)";
  std::string out = CsvRecord({"DATAFLOW", "INDICATOR", "GROUP", "MEASURE", "OBS_VALUE", "UNIT_MEASURE", "OBS_STATUS"});
  for (const auto& r : d.rows) {
    const std::string ind = SdmxIndicatorCode(r.subject), grp = SdmxGroupCode(r.group);
    const std::pair<const char*, int> counts[] = {{"N_YES", r.n_yes},
                                                  {"N_PARTIAL", r.n_partial},
                                                  {"N_NO", r.n_no},
                                                  {"N_UNKNOWN", r.n_unknown},
                                                  {"N_RESPONDING", r.n_responding()},
                                                  {"N_NOT_ANSWERED", r.n_not_answered},
                                                  {"N_COUNTRIES", r.n_countries}};
    for (const auto& [measure, value] : counts) out += CsvRecord({flow, ind, grp, measure, std::to_string(value), "NUMBER", "A"});
    const std::string pct = PercentYes(r.n_yes, r.n_responding());
    out += CsvRecord({flow, ind, grp, "PCT_YES", pct, "PT", pct.empty() ? "M" : "A"});
  }
  return out;
}

Result<nlohmann::json> DatasetMembers(Db& db, const SurveySchema& schema, std::string_view round) {
  auto groups = GroupSizes(db);
  if (!groups.ok()) return groups.status();
  std::map<std::string, std::vector<std::string>> countries_of;  // group -> codes, sorted
  {
    auto st = db.Cached("SELECT country, grp FROM dataset_country_groups ORDER BY country");
    if (!st.ok()) return st.status();
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      countries_of[st->Text(1)].push_back(st->Text(0));
    }
  }
  std::map<std::pair<std::string, std::string>, std::string> answer_of;  // (indicator, country) -> answer
  {
    auto st = db.Cached("SELECT indicator, country, answer FROM dataset_merged_answers WHERE round = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, round);
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      if (ParseAnswer(st->Text(2))) answer_of[{st->Text(0), st->Text(1)}] = st->Text(2);
    }
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& ind : schema.indicators()) {
    for (const auto& [g, n] : *groups) {
      nlohmann::json row = {{"indicator", ind.id}, {"group", g}};
      for (const char* a : {"yes", "partial", "no", "unknown", "not_answered"}) row[a] = nlohmann::json::array();
      for (const auto& code : countries_of[g]) {
        auto it = answer_of.find({ind.id, code});
        row[it == answer_of.end() ? std::string("not_answered") : it->second].push_back(code);
      }
      out.push_back(std::move(row));
    }
  }
  return out;
}

std::string DatasetMembersCsv(const nlohmann::json& members) {
  std::string out = CsvRecord({"indicator", "group", "answer", "countries"});
  for (const auto& row : members) {
    for (const char* a : {"yes", "partial", "no", "unknown", "not_answered"}) {
      std::string codes;
      for (const auto& c : row[a]) codes += (codes.empty() ? "" : " ") + c.get<std::string>();
      out += CsvRecord({row["indicator"].get<std::string>(), row["group"].get<std::string>(), a, codes});
    }
  }
  return out;
}

namespace {

// The good-practice entries from the practice fields' merged values (field -> value, set ones only)
// and the register's names.
nlohmann::json PracticeEntriesFrom(const std::map<std::string, std::string>& practice_fields,
                                   std::map<std::string, std::string> names, const SurveySchema& schema) {
  std::map<std::pair<std::string, std::string>, std::map<std::string, std::string>> entries;  // (country, id) -> attrs
  for (const auto& [field, value] : practice_fields) {
    auto fk = ParseField(field);
    if (!fk.ok() || fk->kind != FieldKey::Kind::kPractice) continue;
    entries[{fk->country, fk->practice_id}][fk->attr] = value;
  }
  struct Entry {
    int capability;
    std::string country, id;
    nlohmann::json json;
  };
  std::vector<Entry> list;
  for (auto& [key, attrs] : entries) {
    const auto& [country, id] = key;
    if (!names.count(country) || attrs["deleted"] == "1" || attrs["title"].empty()) continue;
    int cap = 0;
    const std::string& c = attrs["capability"];
    auto [p, ec] = std::from_chars(c.data(), c.data() + c.size(), cap);
    if (ec != std::errc() || p != c.data() + c.size() || schema.FindCapability(cap) == nullptr) continue;
    list.push_back({cap, country, id,
                    {{"id", id},
                     {"country", country},
                     {"country_name", names[country]},
                     {"capability", cap},
                     {"kind", attrs["kind"]},
                     {"title", attrs["title"]},
                     {"text", attrs["text"]},
                     {"lang", attrs["lang"]}}});
  }
  std::sort(list.begin(), list.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.capability, a.country, a.id) < std::tie(b.capability, b.country, b.id);
  });
  nlohmann::json out = nlohmann::json::array();
  for (auto& e : list) out.push_back(std::move(e.json));
  return out;
}

}  // namespace

Result<nlohmann::json> PracticeEntries(Db& db, const SurveySchema& schema) {
  std::map<std::string, std::string> names;
  {
    auto st = db.Cached("SELECT code, name FROM countries");
    if (!st.ok()) return st.status();
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      names[st->Text(0)] = st->Text(1);
    }
  }
  std::map<std::string, std::string> fields;
  auto st = db.Cached("SELECT field, value FROM fields WHERE substr(field, 1, 9) = 'practice/' AND value IS NOT NULL");
  if (!st.ok()) return st.status();
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    fields[st->Text(0)] = st->Text(1);
  }
  return PracticeEntriesFrom(fields, std::move(names), schema);
}

nlohmann::json PracticeEntriesOf(const std::map<std::string, std::optional<std::string>>& merged,
                                 const std::vector<Country>& countries, const SurveySchema& schema) {
  std::map<std::string, std::string> names;
  for (const auto& c : countries) names[c.code] = c.name;
  std::map<std::string, std::string> fields;
  constexpr std::string_view kPracticePrefix = "practice/";
  for (auto it = merged.lower_bound(std::string(kPracticePrefix)); it != merged.end(); ++it) {
    if (it->first.compare(0, kPracticePrefix.size(), kPracticePrefix) != 0) break;
    if (it->second) fields[it->first] = *it->second;
  }
  return PracticeEntriesFrom(fields, std::move(names), schema);
}

}  // namespace mnr::server
