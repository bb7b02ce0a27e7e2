// `mnr-client dataset`: the latest dataset release (or a named one) received on sync, read offline.
// The text view lets a country office see its own answer next to the share of "yes" in its income
// group, among low- and middle-income countries, and among all countries.
#include <ctime>
#include <iostream>
#include <map>

#include "client/cmd_common.h"
#include "client/commands.h"
#include "client/release_sync.h"
#include "mnr/csv.h"
#include "mnr/field.h"

namespace mnr::client {
namespace {

constexpr const char* kProgramName = "mnr-client dataset";

std::string FormatTime(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

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

std::string Share(const std::map<std::string, std::string>* row) {
  if (row == nullptr) return "-";
  const std::string yes = row->count("n_yes") ? row->at("n_yes") : "?";
  const std::string resp = row->count("n_responding") ? row->at("n_responding") : "?";
  const std::string pct = row->count("pct_yes_whole") ? row->at("pct_yes_whole") : "";
  return yes + " of " + resp + (pct.empty() ? "" : " (" + pct + "%)");
}

std::string Pad(std::string s, std::size_t width) {
  if (s.size() < width) s.resize(width, ' ');
  return s;
}

}  // namespace

int DatasetCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client dataset --db PATH [--release LABEL] [--format text|csv|json]",
                "Shows the global dataset release received at the last sync (or an earlier one by label), offline.\n"
                "text: for this store's countries, each indicator's own answer next to the share of \"yes\" in the\n"
                "country's income group, among low- and middle-income countries (lmic) and among all countries.\n"
                "csv: the release's dataset exactly as the server signed it. json: the release with every row.");
  p.Option("db", "PATH", "client store", true)
      .Option("release", "LABEL", "a release received earlier (default: the latest)")
      .Option("format", "FORMAT", "text (default), csv or json");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgramName, a)) return *rc;
  const std::string format = a.GetOr("format", "text");
  if (format != "text" && format != "csv" && format != "json") return UsageError("--format must be text, csv or json, not \"" + format + "\"");
  auto store = OpenStore(a);
  if (!store.ok()) return Fail(store.status());
  ClientStore& s = **store;
  auto found = FindStoredRelease(s, a.Get("release"));
  if (!found.ok()) return Fail(found.status());
  if (!*found) {
    if (auto label = a.Get("release")) return Fail(Status::NotFound("no release \"" + *label + "\" in " + *a.Get("db") + " (see --format json of the latest)"));
    return Fail(Status::NotFound("no dataset release in " + *a.Get("db") +
                                 " yet; it arrives with `mnr-client sync` once the coordinators have made one"));
  }
  const StoredRelease& r = **found;
  const auto& cred = s.identity().credential;
  Status verified = cred ? VerifyStoredRelease(r, cred->ca_certificate_pem) : Status::InvalidArgument("the store has no credential");
  if (!verified.ok()) return Fail(verified.With("release " + r.label + " in " + *a.Get("db") + " does not check out"));
  if (format == "csv") {
    std::cout << r.csv;
    return cli::kExitOk;
  }
  auto table = ReadTable(r);
  if (!table.ok()) return Fail(table.status());
  const auto manifest = nlohmann::json::parse(r.manifest, nullptr, false);
  if (format == "json") {
    nlohmann::json rows = nlohmann::json::array();
    auto records = ParseCsv(r.csv, "release");
    const auto& header = records->front().fields;
    for (std::size_t i = 1; i < records->size(); ++i) {
      nlohmann::json row = nlohmann::json::object();
      for (std::size_t c = 0; c < header.size() && c < (*records)[i].fields.size(); ++c) row[header[c]] = (*records)[i].fields[c];
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
  std::cout << "Release " << r.label << " (made " << FormatTime(created) << ", received " << FormatTime(r.received_at) << ")\n"
            << "  content sha256 " << r.content_sha256 << ", signed by the server (verified)\n";
  if (const auto* all = table->Find(s.schema().indicators().empty() ? "" : s.schema().indicators()[0].id, "all")) {
    if (all->count("n_countries")) std::cout << "  " << all->at("n_countries") << " countries in the register\n";
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
      std::cout << code << (group.empty() ? "" : " (income group " + group + ")")
                << ": own answer, then the share of \"yes\" among the countries that answered\n";
    }
    const bool lmic = !group.empty() && group != "high";
    for (const auto& dom : s.schema().domains()) {
      std::cout << "\nDomain " << dom.id << ". " << dom.label.en << "\n";
      for (const auto& cap : s.schema().capabilities()) {
        if (cap.domain != dom.id) continue;
        const std::string subject = "capability:" + std::to_string(cap.id);
        std::cout << "  Capability " << cap.id << ". " << cap.label.en << "  (in place: "
                  << (group.empty() ? "" : group + " " + Share(table->Find(subject, group)) + ", ") << "all "
                  << Share(table->Find(subject, "all")) << ")\n";
        for (const auto& ind : s.schema().indicators()) {
          if (ind.capability != cap.id) continue;
          std::cout << "    " << ind.id << "  " << ind.label.en << "\n      ";
          if (!code.empty()) {
            auto it = own.find({code, ind.id});
            std::cout << Pad(code + ": " + (it == own.end() ? "not answered" : it->second), 22);
          }
          if (!group.empty()) std::cout << Pad(group + ": " + Share(table->Find(ind.id, group)), 30);
          if (lmic) std::cout << Pad("lmic: " + Share(table->Find(ind.id, "lmic")), 26);
          std::cout << "all: " << Share(table->Find(ind.id, "all")) << "\n";
        }
      }
    }
  }
  return cli::kExitOk;
}

}  // namespace mnr::client
