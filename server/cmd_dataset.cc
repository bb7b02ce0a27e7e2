// `mnr-server aggregate | release | releases | publish`: the global dataset, its frozen releases and
// the published report (docs/dataset.md).
#include <ctime>
#include <iostream>

#include "mnr/cli.h"
#include "mnr/crypto.h"
#include "mnr/file_util.h"
#include "server/audit_log.h"
#include "server/cli_common.h"
#include "server/dataset.h"
#include "server/dataset_commands.h"
#include "server/publish.h"
#include "server/release.h"
#include "server/review.h"
#include "server/server_store.h"

namespace mnr::server {
namespace {



std::int64_t Now() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string FormatTime(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

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

}  // namespace

int AggregateCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server aggregate --data DIR [--release LABEL] [--format csv|json|sdmx-csv] [--out FILE [--force]] [--rebuild] [--countries]",
                "Prints the global aggregate dataset (docs/dataset.md): for every indicator, capability and domain\n"
                "and every group (all, high, upper_middle, lower_middle, low, lmic, region:...), the counts of yes,\n"
                "partial, no and unknown among the registered countries, those that did not answer, and the share\n"
                "of yes. The current dataset by default, or a frozen release, whose hash and signature are checked\n"
                "before it is printed. SDMX-CSV is described in docs/sdmx.md.");
  p.Option("data", "DIR", "the server store directory", true)
      .Option("release", "LABEL", "a release (see `mnr-server releases list`) instead of the current dataset")
      .Option("format", "FORMAT", "csv (default), json or sdmx-csv")
      .Option("out", "FILE", "write to FILE (atomically) instead of stdout")
      .Flag("force", "replace FILE if it exists (never the store itself)")
      .Flag("rebuild", "recompute the maintained counts from the merged answers first (gives the same result)")
      .Flag("countries", "coordinators: which countries stand behind each count (csv or json)");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  const std::string format = a.GetOr("format", "csv");
  if (format != "csv" && format != "json" && format != "sdmx-csv") return Usage("--format must be csv, json or sdmx-csv, not \"" + format + "\"");
  if (a.Has("countries") && format == "sdmx-csv") return Usage("--countries is written as csv or json");
  if (a.Has("rebuild") && a.Has("release")) return Usage("--rebuild recomputes the current dataset; a release never changes");
  if (auto out = a.Get("out")) {
    if (Status s = CheckOutputFile(*out, OutRules(a)); !s.ok()) return Failure(s);
  }
  auto store = ServerStore::Open(*a.Get("data"));
  if (!store.ok()) return Failure(store.status());
  ServerStore& s = **store;
  if (a.Has("rebuild")) {
    Transaction tx(s.db());
    if (!tx.status().ok()) return Failure(tx.status());
    if (Status r = RebuildDataset(s.db()); !r.ok()) return Failure(r);
    if (Status c = tx.Commit(); !c.ok()) return Failure(c);
  }

  Dataset dataset;
  DatasetOrigin origin;
  origin.survey_schema_version = s.schema().version();
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
      auto m = DatasetMembers(s.db(), s.schema());
      if (!m.ok()) return Failure(m.status());
      members = std::move(*m);
    }
    return Emit(a, format == "json" ? members.dump(1) + "\n" : DatasetMembersCsv(members));
  }
  if (release) {
    auto d = ParseDatasetCsv(release->csv, "release " + release->label);
    if (!d.ok()) return Failure(d.status());
    dataset = std::move(*d);
    const auto manifest = nlohmann::json::parse(release->manifest, nullptr, false);
    origin.release_label = release->label;
    origin.release_id = release->release_id;
    origin.created_at = release->created_at;
    origin.content_sha256 = release->content_sha256;
    if (manifest.is_object()) {
      origin.store_schema_version = manifest.value("store_schema_version", 0);
      origin.survey_schema_version = manifest.value("survey_schema_version", 0);
    }
  } else {
    auto d = LoadDataset(s.db(), s.schema());
    if (!d.ok()) return Failure(d.status());
    dataset = std::move(*d);
    auto v = s.db().UserVersion();
    if (!v.ok()) return Failure(v.status());
    origin.store_schema_version = *v;
  }
  const std::string csv = release ? release->csv : DatasetCsv(dataset);
  if (origin.content_sha256.empty()) origin.content_sha256 = crypto::Sha256Hex(csv);
  if (format == "csv") return Emit(a, csv);
  if (format == "sdmx-csv") return Emit(a, DatasetSdmxCsv(dataset));
  return Emit(a, DatasetJson(dataset, s.schema(), origin).dump(1) + "\n");
}

int ReleaseCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server release --data DIR --label TEXT [--allow-open-conflicts] [--allow-unapproved]",
                "Freezes the current dataset as an immutable release: its canonical CSV, the SHA-256 of that CSV,\n"
                "and a manifest signed with the server key that names the hash, the audit log's tree head (the\n"
                "inputs), the schema and software versions. Logged in the audit log. A label is used once.\n"
                "Refused while conflicts are open or countries are not approved (`mnr-server status`), unless\n"
                "the flags below allow it; the manifest then records what was allowed, and the report marks\n"
                "those countries' data as provisional. Refused too when the stored counts differ from a recount\n"
                "of the merged answers (the first difference is named; see `aggregate --rebuild`).");
  p.Option("data", "DIR", "the server store directory", true)
      .Option("label", "TEXT", "the release's name, e.g. 2025-final", true)
      .Flag("allow-open-conflicts", "release even though conflicts are open (their current winners are counted)")
      .Flag("allow-unapproved", "release even though some countries' surveys are not approved");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  if (Status s = CheckReleaseLabel(*a.Get("label")); !s.ok()) return Usage(s.message());
  auto store = ServerStore::Open(*a.Get("data"));
  if (!store.ok()) return Failure(store.status());
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
  auto r = CreateRelease(**store, *a.Get("label"), OperatorActor(), Now(), provisional);
  if (!r.ok()) return Failure(r.status());
  const auto manifest = nlohmann::json::parse(r->manifest);
  std::cout << "release " << r->label << "\n"
            << "  content sha256  " << r->content_sha256 << "\n"
            << "  release id      " << r->release_id << "\n"
            << "  audit log size  " << manifest["audit_tree_head"]["size"].get<std::uint64_t>() << "\n";
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
      "       mnr-server releases show --data DIR LABEL\n\n"
      "The frozen releases of the dataset, oldest first.\n";
  if (argv.empty()) return Usage("releases needs an action: list or show (see --help)");
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
    std::cout << "LABEL\tCREATED\tCONTENT SHA-256\tAUDIT SIZE\n";
    for (const auto& r : *list) {
      const auto m = nlohmann::json::parse(r.manifest, nullptr, false);
      const std::uint64_t size = m.is_object() ? m["audit_tree_head"].value("size", std::uint64_t{0}) : 0;
      std::cout << r.label << "\t" << FormatTime(r.created_at) << "\t" << r.content_sha256 << "\t" << size << "\n";
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
  return Usage("unknown releases action \"" + argv[0] + "\" (list or show)");
}

int PublishCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server publish --data DIR [--release LABEL] --out DIR [--lang en|fr]",
                "Writes the report of a release (the latest by default) as a static site that opens from file://\n"
                "with no network: overview chart, every indicator with income-group comparison, the good-practice\n"
                "entries (searchable), the hashes, and the CSV/JSON downloads. Logged in the audit log. OUT must not\n"
                "exist, be empty, or hold an earlier publication, which is replaced.");
  p.Option("data", "DIR", "the server store directory", true)
      .Option("release", "LABEL", "the release to publish (default: the latest)")
      .Option("out", "DIR", "the site's directory", true)
      .Option("lang", "LANG", "en (default) or fr");
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
  auto done = Publish(**store, *r, lang, *a.Get("out"), OperatorActor());
  if (!done.ok()) return Failure(done.status());
  std::cout << "published release " << r->label << " (" << lang << ") to " << *a.Get("out") << "/index.html\n"
            << "  output sha256  " << done->output_sha256 << "\n"
            << "  audit entry    " << done->audit_index << "\n";
  return cli::kExitOk;
}

}  // namespace mnr::server
