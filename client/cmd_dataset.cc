// `mnr-client dataset`: the latest dataset release (or a named one) received on sync, read offline.
// The text view lets a country office see its own answer next to the share of "yes" in its income
// group, among low- and middle-income countries, and among all countries.
#include <iostream>
#include <map>

#include "client/cmd_common.h"
#include "client/commands.h"
#include "client/release_sync.h"
#include "mnr/csv.h"
#include "mnr/field.h"
#include "mnr/i18n.h"
#include "mnr/wall_clock.h"

namespace mnr::client {
namespace {

constexpr const char* kDatasetProgram = "mnr-client dataset";

// The release's CSV by column name, so columns added by later dataset formats are simply ignored.
struct Table {
  std::map<std::pair<std::string, std::string>, std::map<std::string, std::string>> rows;  // (indicator, group) -> column -> value
  const std::map<std::string, std::string>* Find(const std::string& indicator, const std::string& group) const {
    auto it = rows.find({indicator, group});
    return it == rows.end() ? nullptr : &it->second;
  }
};

Result<Table> ReadTable(const StoredRelease& r) {
  auto records = ParseCsv(r.csv, "release " + r.label);
  if (!records.ok()) return records.status();
  if (records->empty()) return Status::Corruption("release " + r.label + " has an empty dataset");
  const auto& header = records->front().fields;
  Table t;
  for (std::size_t i = 1; i < records->size(); ++i) {
    std::map<std::string, std::string> row;
    const auto& f = (*records)[i].fields;
    for (std::size_t c = 0; c < header.size() && c < f.size(); ++c) row[header[c]] = f[c];
    t.rows[{row["indicator"], row["group"]}] = std::move(row);
  }
  return t;
}

// The release's rule for small groups (server/aggregate.h): groups of fewer countries than the signed
// "small_groups.min_countries" (3 when a release predates the rule) are shown without figures.
int MinGroup(const nlohmann::json& manifest) {
  if (manifest.is_object() && manifest.contains("small_groups") && manifest["small_groups"].is_object() &&
      manifest["small_groups"].contains("min_countries") && manifest["small_groups"]["min_countries"].is_number_integer()) {
    return manifest["small_groups"]["min_countries"].get<int>();
  }
  return 3;
}

bool IsSmall(const std::map<std::string, std::string>& row, int min_group) {
  auto it = row.find("n_countries");
  if (it == row.end()) return false;
  int n = 0;
  for (char c : it->second) n = c >= '0' && c <= '9' && n < 100000 ? n * 10 + (c - '0') : n;
  return n < min_group;
}

std::string Share(int min_group, const std::map<std::string, std::string>* row) {
  if (row == nullptr) return "-";
  if (IsSmall(*row, min_group)) return tr("fewer than {1} countries", std::to_string(min_group));
  const std::string yes = row->count("n_yes") ? row->at("n_yes") : "?";
  const std::string resp = row->count("n_responding") ? row->at("n_responding") : "?";
  const std::string pct = row->count("pct_yes_whole") ? row->at("pct_yes_whole") : "";
  return pct.empty() ? tr("{1} of {2}", yes, resp) : tr("{1} of {2} ({3}%)", yes, resp, pct);
}

std::string Pad(std::string s, std::size_t width) {
  if (s.size() < width) s.resize(width, ' ');
  return s;
}

}  // namespace

int DatasetCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client dataset --db PATH [--release LABEL] [--format text|csv|json]",
                tr("Shows the global dataset release received at the last sync (or an earlier one by label), offline.\n"
                   "text: for this store's countries, each indicator's own answer next to the share of \"yes\" in the\n"
                   "country's income group, among low- and middle-income countries (lmic) and among all countries.\n"
                   "csv: the release's dataset exactly as the server signed it. json: the release with every row.\n"
                   "Groups of fewer countries than the release's rule (3 by default) show \"fewer than 3 countries\"\n"
                   "instead of their figures in text and json."));
  p.Option("db", "PATH", "client store", true)
      .Option("release", "LABEL", "a release received earlier (default: the latest)")
      .Option("format", "FORMAT", "text (default), csv or json");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kDatasetProgram, a)) return *rc;
  const std::string format = a.GetOr("format", "text");
  if (format != "text" && format != "csv" && format != "json") return UsageError(tr("--format must be text, csv or json, not \"{1}\"", format));
  auto store = OpenStore(a);
  if (!store.ok()) return Fail(store.status());
  ClientStore& s = **store;
  auto found = FindStoredRelease(s, a.Get("release"));
  if (!found.ok()) return Fail(found.status());
  if (!*found) {
    if (auto label = a.Get("release")) return Fail(Status::NotFound(tr("no release \"{1}\" in {2} (see --format json of the latest)", *label, *a.Get("db"))));
    return Fail(Status::NotFound(
        tr("no dataset release in {1} yet; it arrives with `mnr-client sync` once the coordinators have made one", *a.Get("db"))));
  }
  const StoredRelease& r = **found;
  const auto& cred = s.identity().credential;
  Status verified = cred ? VerifyStoredRelease(r, cred->ca_certificate_pem) : Status::InvalidArgument(tr("the store has no credential"));
  if (!verified.ok()) return Fail(verified.With(tr("release {1} in {2} does not check out", r.label, *a.Get("db"))));
  if (format == "csv") {
    std::cout << r.csv;
    return cli::kExitOk;
  }
  auto table = ReadTable(r);
  if (!table.ok()) return Fail(table.status());
  const auto manifest = nlohmann::json::parse(r.manifest, nullptr, false);
  const int min_group = MinGroup(manifest);
  if (format == "json") {
    nlohmann::json rows = nlohmann::json::array();
    auto records = ParseCsv(r.csv, "release");
    const auto& header = records->front().fields;
    for (std::size_t i = 1; i < records->size(); ++i) {
      nlohmann::json row = nlohmann::json::object();
      std::map<std::string, std::string> cells;
      for (std::size_t c = 0; c < header.size() && c < (*records)[i].fields.size(); ++c) cells[header[c]] = (*records)[i].fields[c];
      const bool small = IsSmall(cells, min_group);
      for (const auto& [column, value] : cells) {
        const bool figure = column.rfind("n_", 0) == 0 || column.rfind("pct_", 0) == 0;
        row[column] = small && figure ? nlohmann::json(nullptr) : nlohmann::json(value);
      }
      if (small) row["small_group"] = tr("fewer than {1} countries", std::to_string(min_group));
      rows.push_back(std::move(row));
    }
    const nlohmann::json out = {{"release",
                                 {{"label", r.label},
                                  {"release_id", r.release_id},
                                  {"content_sha256", r.content_sha256},
                                  {"received_at", r.received_at},
                                  {"manifest", manifest},
                                  {"verified", true}}},
                                {"rows", rows}};
    std::cout << out.dump(1) << "\n";
    return cli::kExitOk;
  }

  const std::int64_t created = manifest.is_object() ? manifest.value("created_at", std::int64_t{0}) : 0;
  const std::string lang(MessagesLanguage());
  std::cout << tr("Release {1} (made {2}, received {3})", r.label, FormatUtcMinutes(created), FormatUtcMinutes(r.received_at)) << "\n"
            << "  " << tr("content sha256 {1}, signed by the server (verified)", r.content_sha256) << "\n";
  if (const auto* all = table->Find(s.schema().indicators().empty() ? "" : s.schema().indicators()[0].id, "all")) {
    if (all->count("n_countries")) std::cout << "  " << tr("{1} countries in the register", all->at("n_countries")) << "\n";
  }
  // This store's countries with their groups as the server registered them; else the local register.
  std::vector<std::pair<std::string, std::string>> mine;  // code, income group
  {
    auto st = s.db().Prepare("SELECT code, income_group FROM release_scope ORDER BY code");
    if (!st.ok()) return Fail(st.status());
    for (;;) {
      auto row = st->Step();
      if (!row.ok()) return Fail(row.status());
      if (!*row) break;
      mine.emplace_back(st->Text(0), st->Text(1));
    }
  }
  if (mine.empty()) {
    auto countries = s.Countries();
    if (!countries.ok()) return Fail(countries.status());
    for (const auto& code : s.identity().countries) {
      std::string group;
      for (const auto& c : *countries) {
        if (c.code == code) group = c.income_group;
      }
      mine.emplace_back(code, group);
    }
  }
  std::map<std::pair<std::string, std::string>, std::string> own;  // (country, indicator) -> answer
  auto answers = s.Answers();
  if (!answers.ok()) return Fail(answers.status());
  for (const auto& ans : *answers) own[{ans.country, ans.indicator}] = std::string(AnswerName(ans.value.answer));

  if (mine.empty()) mine.emplace_back("", "");
  for (const auto& [code, group] : mine) {
    std::cout << "\n";
    if (!code.empty()) {
      std::cout << (group.empty() ? tr("{1}: own answer, then the share of \"yes\" among the countries that answered", code)
                                  : tr("{1} (income group {2}): own answer, then the share of \"yes\" among the countries that "
                                       "answered",
                                       code, group))
                << "\n";
    }
    const bool lmic = !group.empty() && group != "high";
    for (const auto& dom : s.schema().domains()) {
      std::cout << "\n" << tr("Domain {1}. {2}", dom.id, dom.label.In(lang)) << "\n";
      for (const auto& cap : s.schema().capabilities()) {
        if (cap.domain != dom.id) continue;
        const std::string subject = "capability:" + std::to_string(cap.id);
        std::cout << "  " << tr("Capability {1}. {2}", cap.id, cap.label.In(lang)) << "  ("
                  << (group.empty() ? tr("in place: all {1}", Share(min_group, table->Find(subject, "all")))
                                    : tr("in place: {1} {2}, all {3}", group, Share(min_group, table->Find(subject, group)),
                                         Share(min_group, table->Find(subject, "all"))))
                  << ")\n";
        for (const auto& ind : s.schema().indicators()) {
          if (ind.capability != cap.id) continue;
          std::cout << "    " << ind.id << "  " << ind.label.In(lang) << "\n      ";
          if (!code.empty()) {
            auto it = own.find({code, ind.id});
            std::cout << Pad(code + ": " + (it == own.end() ? tr("not answered") : it->second), 22);
          }
          if (!group.empty()) std::cout << Pad(group + ": " + Share(min_group, table->Find(ind.id, group)), 30);
          if (lmic) std::cout << Pad("lmic: " + Share(min_group, table->Find(ind.id, "lmic")), 26);
          std::cout << tr("all: ") << Share(min_group, table->Find(ind.id, "all")) << "\n";
        }
      }
    }
  }
  return cli::kExitOk;
}

}  // namespace mnr::client
