// `mnr-server aggregate | release | releases | publish`: the global dataset, its frozen releases and
// the published report (docs/dataset.md).
#include <algorithm>
#include <charconv>
#include <iostream>

#include "mnr/cli.h"
#include "mnr/crypto.h"
#include "mnr/csv.h"
#include "mnr/file_util.h"
#include "mnr/wall_clock.h"
#include "server/aggregate.h"
#include "server/audit_log.h"
#include "server/cli_common.h"
#include "server/dataset.h"
#include "server/dataset_commands.h"
#include "server/publish.h"
#include "server/release.h"
#include "server/review.h"
#include "server/sdmx.h"
#include "server/server_config.h"
#include "server/server_store.h"

namespace mnr::server {
namespace {

// --out FILE replaces an existing file only with --force, and never the store (file_util.h).
OutputRules OutRules(const cli::Args& a) { return {a.Has("force"), true, {ServerPaths{*a.Get("data")}.db()}}; }

int Emit(const cli::Args& a, const std::string& text) {
  if (auto out = a.Get("out")) {
    if (Status s = WriteOutputFile(*out, text, OutRules(a)); !s.ok()) return Failure(s);
    return cli::kExitOk;
  }
  std::cout << text;
  return cli::kExitOk;
}

std::vector<std::string> Rest(const std::vector<std::string>& argv) { return {argv.begin() + 1, argv.end()}; }

Result<int> ParseMinGroup(const std::string& text) {
  int n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 1 || n > 1000) {
    return Status::InvalidArgument("--min-group must be a whole number of countries from 1 to 1000, not \"" + text.substr(0, 20) + "\"");
  }
  return n;
}

// What every export is written from: the current dataset, or a checked release with the rule and the
// round it was made under.
struct ExportSource {
  Dataset dataset;
  DatasetOrigin origin;
  std::string canonical_csv;
  std::string round;  // TIME_PERIOD
  int min_group = kDefaultMinGroup;
};

// `round` is that of the current dataset (a release's own is in its manifest).
Result<ExportSource> LoadExportSource(ServerStore& s, const std::optional<Release>& release, const std::string& round) {
  ExportSource x;
  x.origin.survey_schema_version = s.schema().version();
  x.round = round;
  if (release) {
    auto d = ParseDatasetCsv(release->csv, "release " + release->label);
    if (!d.ok()) return d.status();
    x.dataset = std::move(*d);
    const auto manifest = nlohmann::json::parse(release->manifest, nullptr, false);
    x.origin.release_label = release->label;
    x.origin.release_id = release->release_id;
    x.origin.created_at = release->created_at;
    x.origin.content_sha256 = release->content_sha256;
    if (manifest.is_object()) {
      x.origin.store_schema_version = manifest.value("store_schema_version", 0);
      x.origin.survey_schema_version = manifest.value("survey_schema_version", 0);
    }
    x.round = ReleaseRound(*release);
    x.min_group = MinGroupOfManifest(manifest);
    x.canonical_csv = release->csv;
  } else {
    auto d = LoadDataset(s.db(), s.schema(), round);
    if (!d.ok()) return d.status();
    x.dataset = std::move(*d);
    auto v = s.db().UserVersion();
    if (!v.ok()) return v.status();
    x.origin.store_schema_version = *v;
    x.canonical_csv = DatasetCsv(x.dataset);
    x.origin.content_sha256 = crypto::Sha256Hex(x.canonical_csv);
  }
  return x;
}

std::string DiffCell(const std::optional<DatasetRow>& r) {
  if (!r) return "-";
  const std::string pct = PercentYes(r->n_yes, r->n_responding());
  return std::to_string(r->n_yes) + " of " + std::to_string(r->n_responding()) + (pct.empty() ? "" : " (" + pct + "%)");
}

nlohmann::json DiffSide(const std::optional<DatasetRow>& r) {
  if (!r) return nullptr;
  return {{"n_yes", r->n_yes},           {"n_partial", r->n_partial},         {"n_no", r->n_no},
          {"n_unknown", r->n_unknown},   {"n_responding", r->n_responding()}, {"n_not_answered", r->n_not_answered},
          {"n_countries", r->n_countries}, {"pct_yes", PercentYes(r->n_yes, r->n_responding())}};
}

// `releases diff`: both releases are checked (hash, signature, audit entry) before anything is compared.
int ReleasesDiff(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server releases diff --data DIR FROM TO [--format text|csv|json] [--all]",
                "Lists, per indicator, capability and domain and per group, what changed from release FROM to\n"
                "release TO (usually the same survey in two rounds): the yes count, the countries that responded,\n"
                "the share of yes and its change in percentage points. Only the rows that changed, unless --all.\n"
                "Coordinators' view: small groups keep their counts.");
  p.Option("data", "DIR", "the server store directory", true)
      .Positional("FROM", "the earlier release's label")
      .Positional("TO", "the later release's label")
      .Option("format", "FORMAT", "text (default), csv or json")
      .Flag("all", "list the rows that did not change too");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  const std::string format = a.GetOr("format", "text");
  if (format != "text" && format != "csv" && format != "json") return Usage("--format must be text, csv or json, not \"" + format + "\"");
  auto store = ServerStore::Open(*a.Get("data"));
  if (!store.ok()) return Failure(store.status());
  std::vector<Release> releases;
  std::vector<Dataset> datasets;
  for (const auto& label : a.positional()) {
    auto r = FindRelease((*store)->db(), label);
    if (!r.ok()) return Failure(r.status());
    if (Status v = CheckStoredRelease(**store, *r); !v.ok()) return Failure(v);
    auto d = ParseDatasetCsv(r->csv, "release " + r->label);
    if (!d.ok()) return Failure(d.status());
    releases.push_back(std::move(*r));
    datasets.push_back(std::move(*d));
  }
  const auto changes = DiffDatasets(datasets[0], datasets[1], a.Has("all"));
  const auto change_of = [](const DatasetChange& c) {
    return c.before && c.after ? ChangeInPoints(c.before->n_yes, c.before->n_responding(), c.after->n_yes, c.after->n_responding())
                               : std::string();
  };
  std::size_t changed = 0;
  for (const auto& c : changes) changed += c.changed() ? 1 : 0;
  if (format == "json") {
    nlohmann::json out = {{"from", {{"label", releases[0].label}, {"round", ReleaseRound(releases[0])}, {"release_id", releases[0].release_id}}},
                          {"to", {{"label", releases[1].label}, {"round", ReleaseRound(releases[1])}, {"release_id", releases[1].release_id}}},
                          {"changed", changed},
                          {"rows", nlohmann::json::array()}};
    for (const auto& c : changes) {
      const std::string pp = change_of(c);
      out["rows"].push_back({{"subject", c.subject}, {"group", c.group}, {"changed", c.changed()}, {"before", DiffSide(c.before)},
                             {"after", DiffSide(c.after)}, {"change_pp", pp.empty() ? nlohmann::json(nullptr) : nlohmann::json(pp)}});
    }
    std::cout << out.dump(1) << "\n";
    return cli::kExitOk;
  }
  if (format == "csv") {
    std::string csv = "subject,group,changed,n_yes_before,n_responding_before,pct_yes_before,n_yes_after,n_responding_after,"
                      "pct_yes_after,change_pp\r\n";
    const auto side = [](const std::optional<DatasetRow>& r) -> std::vector<std::string> {
      if (!r) return {"", "", ""};
      return {std::to_string(r->n_yes), std::to_string(r->n_responding()), PercentYes(r->n_yes, r->n_responding())};
    };
    for (const auto& c : changes) {
      std::vector<std::string> fields = {c.subject, c.group, c.changed() ? "1" : "0"};
      for (auto& f : side(c.before)) fields.push_back(std::move(f));
      for (auto& f : side(c.after)) fields.push_back(std::move(f));
      fields.push_back(change_of(c));
      csv += CsvLine(fields, ',', "\r\n");
    }
    std::cout << csv;
    return cli::kExitOk;
  }
  std::cout << "from " << releases[0].label << " (round " << ReleaseRound(releases[0]) << ") to " << releases[1].label << " (round "
            << ReleaseRound(releases[1]) << "): " << changed << " of " << datasets[1].rows.size() << " rows changed\n";
  if (changes.empty()) return cli::kExitOk;
  std::vector<std::vector<std::string>> rows = {{"SUBJECT", "GROUP", "BEFORE", "AFTER", "CHANGE (PTS)"}};
  for (const auto& c : changes) rows.push_back({c.subject, c.group, DiffCell(c.before), DiffCell(c.after), change_of(c)});
  PrintTable(rows);
  return cli::kExitOk;
}

}  // namespace

int AggregateCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server aggregate --data DIR [--round YEAR | --release LABEL] [--format csv|canonical-csv|json|sdmx-csv|xlsx] [--lang en|fr] [--public [--min-group N]] [--out FILE [--force]] [--rebuild] [--countries]",
                "Prints the global aggregate dataset (docs/dataset.md): for every indicator, capability and domain\n"
                "and every group (all, high, upper_middle, lower_middle, low, lmic, region:...), the counts of yes,\n"
                "partial, no and unknown among the registered countries, those that did not answer, and the share\n"
                "of yes, with the labels in --lang. The current dataset of the survey's current round by default\n"
                "(--round for another), or a frozen release, whose hash\n"
                "and signature are checked before it is printed. canonical-csv is the release's hashed bytes (no\n"
                "labels). --public hides the figures of groups of fewer than --min-group countries (a release's own\n"
                "rule, else 3), as the report does. SDMX-CSV is described in docs/sdmx.md.");
  p.Option("data", "DIR", "the server store directory", true)
      .Option("release", "LABEL", "a release (see `mnr-server releases list`) instead of the current dataset")
      .Option("round", "YEAR", "the survey round of the current dataset (default: the schema's current round)")
      .Option("format", "FORMAT", "csv (default), canonical-csv, json, sdmx-csv or xlsx (one sheet per level; needs --out)")
      .Option("lang", "LANG", "the labels' language: en (default) or fr")
      .Flag("public", "what the public may see: groups of too few countries without figures")
      .Option("min-group", "N", "with --public and no --release: the smallest group shown (default: min_group of the configuration file, 3)")
      .Option("config", "FILE", "the configuration file (default /etc/mnr-sync/server.toml, if it exists)")
      .Option("out", "FILE", "write to FILE (atomically) instead of stdout")
      .Flag("force", "replace FILE if it exists (never the store itself)")
      .Flag("rebuild", "recompute the maintained counts from the merged answers first (gives the same result)")
      .Flag("countries", "coordinators: which countries stand behind each count (csv or json)");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  const std::string format = a.GetOr("format", "csv");
  const std::string lang = a.GetOr("lang", "en");
  if (format != "csv" && format != "canonical-csv" && format != "json" && format != "sdmx-csv" && format != "xlsx") {
    return Usage("--format must be csv, canonical-csv, json, sdmx-csv or xlsx, not \"" + format + "\"");
  }
  if (lang != "en" && lang != "fr") return Usage("--lang must be en or fr, not \"" + lang + "\"");
  if (a.Has("countries") && format != "csv" && format != "json") return Usage("--countries is written as csv or json");
  if (a.Has("countries") && a.Has("public")) return Usage("--countries is for coordinators; it has no public form");
  if (format == "canonical-csv" && a.Has("public")) return Usage("canonical-csv is the release's hashed bytes; it has no public form");
  if (format == "xlsx" && !a.Has("out")) return Usage("--format xlsx needs --out FILE");
  if (a.Has("min-group") && (!a.Has("public") || a.Has("release"))) {
    return Usage("--min-group applies with --public to the current dataset (a release keeps the rule it was made under)");
  }
  auto settings = CommandSettings(a.Get("config"));
  if (!settings.ok()) return Usage(settings.status().message());
  int min_group_flag = settings->min_group;
  if (auto m = a.Get("min-group")) {
    auto n = ParseMinGroup(*m);
    if (!n.ok()) return Usage(n.status().message());
    min_group_flag = *n;
  }
  if (a.Has("rebuild") && a.Has("release")) return Usage("--rebuild recomputes the current dataset; a release never changes");
  if (a.Has("round") && a.Has("release")) return Usage("--round chooses the current dataset's round; a release has its own");
  if (auto out = a.Get("out")) {
    if (Status s = CheckOutputFile(*out, OutRules(a)); !s.ok()) return Failure(s);
  }
  auto store = ServerStore::Open(*a.Get("data"));
  if (!store.ok()) return Failure(store.status());
  ServerStore& s = **store;
  auto round = ChooseRound(s.schema(), a.Get("round"));
  if (!round.ok()) return Usage(round.status().message());
  if (a.Has("rebuild")) {
    Transaction tx(s.db());
    if (!tx.status().ok()) return Failure(tx.status());
    if (Status r = RebuildDataset(s.db()); !r.ok()) return Failure(r);
    if (Status c = tx.Commit(); !c.ok()) return Failure(c);
  }

  std::optional<Release> release;
  if (auto label = a.Get("release")) {
    auto r = FindRelease(s.db(), *label);
    if (!r.ok()) return Failure(r.status());
    if (Status v = CheckStoredRelease(s, *r); !v.ok()) return Failure(v);
    release = std::move(*r);
  }
  if (a.Has("countries")) {
    nlohmann::json members;
    if (release) {
      members = nlohmann::json::parse(release->members, nullptr, false);
      if (members.is_discarded()) return Failure(Status::Corruption("release " + release->label + ": its country lists are not JSON"));
    } else {
      auto m = DatasetMembers(s.db(), s.schema(), *round);
      if (!m.ok()) return Failure(m.status());
      members = std::move(*m);
    }
    return Emit(a, format == "json" ? members.dump(1) + "\n" : DatasetMembersCsv(members));
  }
  auto source = LoadExportSource(s, release, *round);
  if (!source.ok()) return Failure(source.status());
  const Dataset& dataset = source->dataset;
  const int min_group = !a.Has("public") ? 0 : release ? source->min_group : min_group_flag;
  if (format == "canonical-csv") return Emit(a, source->canonical_csv);
  if (format == "csv") return Emit(a, DatasetLabelledCsv(dataset, s.schema(), lang, min_group));
  if (format == "sdmx-csv") {
    auto sdmx = SdmxCsv(dataset, {source->round, min_group});
    if (!sdmx.ok()) return Failure(sdmx.status());
    return Emit(a, *sdmx);
  }
  if (format == "xlsx") {
    if (Status w = WriteDatasetWorkbook(*a.Get("out"), dataset, s.schema(), lang, min_group); !w.ok()) return Failure(w);
    return cli::kExitOk;
  }
  return Emit(a, DatasetLabelledJson(dataset, s.schema(), source->origin, lang, min_group).dump(1) + "\n");
}

int SdmxStructureCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server sdmx-structure --data DIR [--round YEAR | --release LABEL] --out FILE [--force]",
                "Writes the SDMX-ML 2.1 structure message that `aggregate --format sdmx-csv` refers to: the dataflow\n"
                "MNR:DF_MNR_DATASET(2.0), its data structure definition, concept scheme and code lists (indicators,\n"
                "capabilities, domains, groups with the current or the release's regions, measures, units,\n"
                "statuses). Described in docs/sdmx.md.");
  p.Option("data", "DIR", "the server store directory", true)
      .Option("release", "LABEL", "the groups of a release instead of the current dataset's")
      .Option("round", "YEAR", "the survey round of the current dataset (default: the schema's current round)")
      .Option("out", "FILE", "where to write the XML (atomically)", true)
      .Flag("force", "replace FILE if it exists (never the store itself)");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  if (Status c = CheckOutputFile(*a.Get("out"), OutRules(a)); !c.ok()) return Failure(c);
  if (a.Has("round") && a.Has("release")) return Usage("--round chooses the current dataset's round; a release has its own");
  auto store = ServerStore::Open(*a.Get("data"));
  if (!store.ok()) return Failure(store.status());
  auto round = ChooseRound((*store)->schema(), a.Get("round"));
  if (!round.ok()) return Usage(round.status().message());
  std::optional<Release> release;
  if (auto label = a.Get("release")) {
    auto r = FindRelease((*store)->db(), *label);
    if (!r.ok()) return Failure(r.status());
    if (Status v = CheckStoredRelease(**store, *r); !v.ok()) return Failure(v);
    release = std::move(*r);
  }
  auto source = LoadExportSource(**store, release, *round);
  if (!source.ok()) return Failure(source.status());
  auto xml = SdmxStructureMessage(source->dataset, (*store)->schema(), {source->round, 0}, release ? release->created_at : UnixNow());
  if (!xml.ok()) return Failure(xml.status());
  return Emit(a, *xml);
}

int ReleaseCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server release --data DIR --label TEXT [--round YEAR] [--allow-open-conflicts] [--allow-unapproved]",
                "Freezes the current dataset of a survey round (the schema's current round by default) as an\n"
                "immutable release: its canonical CSV, the SHA-256 of that CSV,\n"
                "and a manifest signed with the server key that names the hash, the audit log's tree head (the\n"
                "inputs), the schema and software versions. Logged in the audit log. A label is used once.\n"
                "Refused while conflicts are open or countries are not approved (`mnr-server status`), unless\n"
                "the flags below allow it; the manifest then records what was allowed, and the report marks\n"
                "those countries' data as provisional. Refused too when the stored counts differ from a recount\n"
                "of the merged answers (the first difference is named; see `aggregate --rebuild`).");
  p.Option("data", "DIR", "the server store directory", true)
      .Option("label", "TEXT", "the release's name, e.g. 2025-final", true)
      .Option("round", "YEAR", "the survey round to release (default: the schema's current round)")
      .Flag("allow-open-conflicts", "release even though conflicts are open (their current winners are counted)")
      .Flag("allow-unapproved", "release even though some countries' surveys are not approved")
      .Option("min-group", "N", "the smallest group whose figures the public sees (default: min_group of the configuration file, "
              "3; signed into the manifest)")
      .Option("config", "FILE", "the configuration file (default /etc/mnr-sync/server.toml, if it exists)");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  if (Status s = CheckReleaseLabel(*a.Get("label")); !s.ok()) return Usage(s.message());
  auto settings = CommandSettings(a.Get("config"));
  if (!settings.ok()) return Usage(settings.status().message());
  int min_group = settings->min_group;
  if (auto m = a.Get("min-group")) {
    auto n = ParseMinGroup(*m);
    if (!n.ok()) return Usage(n.status().message());
    min_group = *n;
  }
  auto store = ServerStore::Open(*a.Get("data"));
  if (!store.ok()) return Failure(store.status());
  auto round = ChooseRound((*store)->schema(), a.Get("round"));
  if (!round.ok()) return Usage(round.status().message());
  auto gate = CheckReleaseGate(**store);
  if (!gate.ok()) return Failure(gate.status());
  nlohmann::json provisional = nullptr;
  {
    std::string refusal;
    auto list = [](const auto& items, auto name, std::size_t max) {
      std::string out;
      for (std::size_t i = 0; i < items.size() && i < max; ++i) out += (i ? ", " : "") + name(items[i]);
      if (items.size() > max) out += " and " + std::to_string(items.size() - max) + " more";
      return out;
    };
    const auto conflict_name = [](const std::pair<std::int64_t, std::string>& c) { return std::to_string(c.first) + " (" + c.second + ")"; };
    const auto country_name = [](const std::pair<std::string, std::string>& c) { return c.first + " (" + c.second + ")"; };
    if (!gate->open_conflicts.empty() && !a.Has("allow-open-conflicts")) {
      refusal += std::to_string(gate->open_conflicts.size()) + " open conflict(s): " + list(gate->open_conflicts, conflict_name, 10) +
                 " (resolve them with `mnr-server conflicts resolve`, or pass --allow-open-conflicts)\n";
    }
    if (!gate->unapproved.empty() && !a.Has("allow-unapproved")) {
      refusal += std::to_string(gate->unapproved.size()) + " countr" + (gate->unapproved.size() == 1 ? "y" : "ies") +
                 " not approved: " + list(gate->unapproved, country_name, 12) +
                 " (review them with `mnr-server review`, or pass --allow-unapproved)\n";
    }
    if (!refusal.empty()) {
      std::cerr << kProgram << ": release refused, nothing was written:\n" << refusal;
      return cli::kExitFailure;
    }
    if (!gate->open_conflicts.empty() || !gate->unapproved.empty()) {
      provisional = nlohmann::json::object();
      nlohmann::json conflicts = nlohmann::json::array(), countries = nlohmann::json::array();
      for (const auto& [id, field] : gate->open_conflicts) conflicts.push_back({{"id", id}, {"field", field}});
      for (const auto& [code, state] : gate->unapproved) countries.push_back({{"country", code}, {"state", state}});
      provisional["open_conflicts"] = conflicts;
      provisional["unapproved"] = countries;
    }
  }
  auto r = CreateRelease(**store, *a.Get("label"), OperatorActor(), UnixNow(), provisional, min_group, *round);
  if (!r.ok()) return Failure(r.status());
  const auto manifest = nlohmann::json::parse(r->manifest);
  std::cout << "release " << r->label << "\n"
            << "  survey round    " << *round << "\n"
            << "  content sha256  " << r->content_sha256 << "\n"
            << "  release id      " << r->release_id << "\n"
            << "  audit log size  " << manifest["audit_tree_head"]["size"].get<std::uint64_t>() << "\n"
            << "  small groups    fewer than " << min_group << " countries shown without figures in public\n";
  if (!provisional.is_null()) {
    std::cout << "  provisional     " << provisional["open_conflicts"].size() << " open conflict(s), "
              << provisional["unapproved"].size() << " countr" << (provisional["unapproved"].size() == 1 ? "y" : "ies")
              << " not approved (recorded in the manifest)\n";
  }
  return cli::kExitOk;
}

int ReleasesCommand(const std::vector<std::string>& argv) {
  const std::string help =
      "usage: mnr-server releases list --data DIR\n"
      "       mnr-server releases show --data DIR LABEL\n"
      "       mnr-server releases diff --data DIR FROM TO [--format text|csv|json] [--all]\n\n"
      "The frozen releases of the dataset, oldest first, each of one survey round; diff compares two.\n";
  if (argv.empty()) return Usage("releases needs an action: list, show or diff (see --help)");
  if (argv[0] == "--help" || argv[0] == "-h") {
    std::cout << help;
    return cli::kExitOk;
  }
  if (argv[0] == "list") {
    cli::Parser p("mnr-server releases list --data DIR", "Lists every release: label, time, content hash and audit log size.");
    p.Option("data", "DIR", "the server store directory", true);
    cli::Args a;
    if (auto rc = cli::ParseOrExit(p, Rest(argv), kProgram, a)) return *rc;
    auto store = ServerStore::Open(*a.Get("data"));
    if (!store.ok()) return Failure(store.status());
    auto list = ListReleases((*store)->db());
    if (!list.ok()) return Failure(list.status());
    if (list->empty()) {
      std::cout << "no releases yet (make one with `mnr-server release --data DIR --label TEXT`)\n";
      return cli::kExitOk;
    }
    std::cout << "LABEL\tROUND\tCREATED\tCONTENT SHA-256\tAUDIT SIZE\n";
    for (const auto& r : *list) {
      const auto m = nlohmann::json::parse(r.manifest, nullptr, false);
      const std::uint64_t size = m.is_object() ? m["audit_tree_head"].value("size", std::uint64_t{0}) : 0;
      std::cout << r.label << "\t" << ReleaseRound(r) << "\t" << FormatUtcMinutes(r.created_at) << "\t" << r.content_sha256 << "\t" << size << "\n";
    }
    return cli::kExitOk;
  }
  if (argv[0] == "show") {
    cli::Parser p("mnr-server releases show --data DIR LABEL",
                  "Prints a release's signed manifest, its signature (base64) and whether both check out.");
    p.Option("data", "DIR", "the server store directory", true).Positional("LABEL", "the release");
    cli::Args a;
    if (auto rc = cli::ParseOrExit(p, Rest(argv), kProgram, a)) return *rc;
    auto store = ServerStore::Open(*a.Get("data"));
    if (!store.ok()) return Failure(store.status());
    auto r = FindRelease((*store)->db(), a.positional()[0]);
    if (!r.ok()) return Failure(r.status());
    auto cert = ReadFile((*store)->paths().server_cert(), 64 * 1024);
    if (!cert.ok()) return Failure(cert.status());
    std::cout << "manifest: " << r->manifest << "\nsignature: " << crypto::Base64Encode(r->signature) << "\n";
    if (Status v = CheckStoredRelease(**store, *r); !v.ok()) return Failure(v);
    std::cout << "verified: the CSV hashes to the manifest's content hash and the server key signed the manifest\n";
    return cli::kExitOk;
  }
  if (argv[0] == "diff") return ReleasesDiff(Rest(argv));
  return Usage("unknown releases action \"" + argv[0] + "\" (list, show or diff)");
}

int PublishCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server publish --data DIR [--release LABEL] --out DIR [--lang en|fr] [--with-attachments]",
                "Writes the report of a release (the latest by default) as a static site that opens from file://\n"
                "with no network: overview chart, every indicator with income-group comparison, the good-practice\n"
                "entries (searchable), the hashes, and the CSV/JSON downloads. Logged in the audit log. OUT must not\n"
                "exist, be empty, or hold an earlier publication, which is replaced. The evidence files the release\n"
                "lists are named by title; with --with-attachments they are copied into OUT/attachments/ (each\n"
                "checked against the release's manifest) and linked from their indicator.");
  p.Option("data", "DIR", "the server store directory", true)
      .Option("release", "LABEL", "the release to publish (default: the latest)")
      .Option("out", "DIR", "the site's directory", true)
      .Option("lang", "LANG", "en (default) or fr")
      .Flag("with-attachments", "copy the release's evidence files into the site and link them");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  const std::string lang = a.GetOr("lang", "en");
  if (Status s = CheckReportLanguage(lang); !s.ok()) return Usage(s.message());
  auto store = ServerStore::Open(*a.Get("data"));
  if (!store.ok()) return Failure(store.status());
  if (Status s = CheckOutputDirectory(*a.Get("out"), {(*store)->paths().db()}); !s.ok()) return Failure(s);
  auto r = FindRelease((*store)->db(), a.Get("release"));
  if (!r.ok()) return Failure(r.status());
  if (Status v = CheckStoredRelease(**store, *r); !v.ok()) return Failure(v);
  auto done = Publish(**store, *r, lang, *a.Get("out"), OperatorActor(), a.Has("with-attachments"));
  if (!done.ok()) return Failure(done.status());
  const auto copied = std::count_if(done->files.begin(), done->files.end(), [](const auto& f) { return f.first.starts_with("attachments/"); });
  std::cout << "published release " << r->label << " (" << lang << ") to " << *a.Get("out") << "/index.html\n";
  if (a.Has("with-attachments")) std::cout << "  attachments    " << copied << " file(s) copied and checked\n";
  std::cout << "  output sha256  " << done->output_sha256 << "\n"
            << "  audit entry    " << done->audit_index << "\n";
  return cli::kExitOk;
}

}  // namespace mnr::server
