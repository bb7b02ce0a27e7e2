// mnr-client init, countries, status, log.
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <iostream>
#include <limits>
#include <set>

#include "client/cmd_common.h"
#include "client/commands.h"
#include "client/field_conflicts.h"
#include "mnr/csv.h"
#include "mnr/describe.h"
#include "mnr/file_util.h"
#include "mnr/i18n.h"
#include "mnr/limits.h"
#include "mnr/wall_clock.h"

namespace mnr::client {
namespace {

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

std::string FormatLocalTime(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string JoinCodes(const std::vector<std::string>& codes) {
  std::string out;
  for (const auto& c : codes) out += (out.empty() ? "" : ", ") + c;
  return out;
}

std::string Scope(const Identity& id) {
  if (!id.countries.empty()) return JoinCodes(id.countries);
  return id.credential && id.credential->role == Role::kCoordinator ? tr("all countries") : tr("none");
}

int CountriesImport(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client countries import --db PATH FILE.csv",
                tr("Loads the country register from a CSV file with the header code,name,income_group,region.\n"
                   "The whole file is checked first; one bad row and nothing is imported. Existing codes are\n"
                   "updated."));
  p.Option("db", "PATH", "the client store", true).Positional("FILE.csv", "the register to load");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  auto store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  const std::string file = args.positional()[0];
  auto text = ReadFile(file, limits::kImportFileBytes);
  if (!text.ok()) return Fail(text.status());
  auto records = ParseCsv(*text, file);
  if (!records.ok()) return Fail(records.status());
  if (records->empty()) return Fail(Status::InvalidArgument(tr("{1}: empty file (expected the header code,name,income_group,region)", file)));

  const std::vector<std::string> expected = {"code", "name", "income_group", "region"};
  const CsvRecord& header = records->front();
  if (header.fields != expected) {
    return Fail(Status::InvalidArgument(tr("{1}:{2}: header: expected code,name,income_group,region", file, header.line)));
  }
  std::vector<std::string> errors;
  std::vector<client::Country> rows;
  std::set<std::string> seen;
  for (std::size_t i = 1; i < records->size(); ++i) {
    const CsvRecord& r = (*records)[i];
    const std::string at = file + ":" + std::to_string(r.line) + ": ";
    if (r.fields.size() != expected.size()) {
      errors.push_back(at + tr("row: has {1} fields, the header has 4", r.fields.size()));
      continue;
    }
    client::Country c{r.fields[0], r.fields[1], r.fields[2], r.fields[3]};
    if (!IsValidCountryCode(c.code)) {
      errors.push_back(at + tr("code: \"{1}\" is not 2 to 8 capital letters and digits", c.code.substr(0, 20)));
    } else if (!seen.insert(c.code).second) {
      errors.push_back(at + tr("code: {1} appears twice", c.code));
    }
    if (c.name.empty()) errors.push_back(at + tr("name: is empty"));
    if (c.name.size() > limits::kNameBytes) errors.push_back(at + tr("name: longer than {1} bytes", limits::kNameBytes));
    if (c.income_group != "high" && c.income_group != "upper_middle" && c.income_group != "lower_middle" &&
        c.income_group != "low") {
      errors.push_back(at + tr("income_group: \"{1}\" is not one of high, upper_middle, lower_middle, low",
                               c.income_group.substr(0, 40)));
    }
    if (c.region.size() > limits::kNameBytes) errors.push_back(at + tr("region: longer than {1} bytes", limits::kNameBytes));
    rows.push_back(std::move(c));
  }
  if (!errors.empty()) {
    for (std::size_t i = 0; i < errors.size() && i < 20; ++i) std::cerr << kProgram << ": " << errors[i] << "\n";
    if (errors.size() > 20) std::cerr << kProgram << ": " << tr("... and {1} more", errors.size() - 20) << "\n";
    return Fail(Status::InvalidArgument(tr("{1}: {2} error(s); nothing imported", file, errors.size())));
  }
  Status s = store.value()->ImportCountries(rows);
  if (!s.ok()) return Fail(s.With(file));
  std::cout << tr("imported {1} countries", rows.size()) << "\n";
  return cli::kExitOk;
}

int CountriesList(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client countries list --db PATH", tr("Lists the country register; * marks this device's scope."));
  p.Option("db", "PATH", "the client store", true);
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  auto store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  auto rows = store.value()->Countries();
  if (!rows.ok()) return Fail(rows.status());
  const auto& scope = store.value()->identity().countries;
  for (const auto& c : *rows) {
    const bool mine = std::find(scope.begin(), scope.end(), c.code) != scope.end();
    std::string code = c.code;
    code.resize(std::max<std::size_t>(code.size(), 8), ' ');
    std::string group = c.income_group;
    group.resize(13, ' ');
    std::cout << (mine ? "* " : "  ") << code << " " << group << " " << c.region << "  " << c.name << "\n";
  }
  if (rows->empty()) std::cerr << kProgram << ": " << tr("the register is empty (mnr-client countries import --db PATH FILE.csv)") << "\n";
  return cli::kExitOk;
}

}  // namespace

int InitCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client init --db PATH (--country CODE... | --credentials FILE.mnrcred) [--device NAME]",
                tr("Creates the local store of one field office (device), which may write the given countries.\n"
                   "With --credentials, the store takes the identity and countries of a credential issued by\n"
                   "`mnr-server issue`; on an existing store, binds it to the credential and keeps its edits."));
  p.Option("db", "PATH", "the store file (created with mode 0600)", true)
      .Option("country", "CODE", "a country this device may write: 2 to 8 capital letters and digits", false, true)
      .Option("device", "NAME", "a name for this device, shown to coordinators (default: the credential's name, else the host name)")
      .Option("credentials", "FILE", "a .mnrcred file: the identity used to sync");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  const std::string db = *args.Get("db");
  const auto countries = SplitCountries(args.GetAll("country"));
  const auto cred_file = args.Get("credentials");
  if (!cred_file && countries.empty()) return UsageError(tr("init needs --country CODE or --credentials FILE (see --help)"));
  if (cred_file && !countries.empty()) {
    return UsageError(tr("give either --country or --credentials: with a credential, the countries are the credential's"));
  }
  for (const auto& c : countries) {
    if (!IsValidCountryCode(c)) {
      return Fail(Status::InvalidArgument(tr("\"{1}\" is not a country code (2 to 8 capital letters and digits, e.g. KE or X01)", c)));
    }
  }
  std::optional<Credential> cred;
  if (cred_file) {
    auto c = LoadCredential(*cred_file);
    if (!c.ok()) return Fail(c.status());
    cred = std::move(c).value();
  }

  if (FileExists(db)) {
    if (!cred) {
      return Fail(Status::AlreadyExists(
          tr("{1} already exists; to bind it to a credential, run: mnr-client init --db {1} --credentials FILE.mnrcred", db)));
    }
    auto store = ClientStore::Open(db);
    if (!store.ok()) return Fail(store.status());
    Status s = store.value()->BindCredential(*cred);
    if (!s.ok()) return Fail(s);
    auto state = store.value()->State();
    std::cout << (cred->renews ? tr("bound {1} to credential {2} ({3}, {4}, renewal of {5})", db, cred->id, RoleName(cred->role),
                                    Scope(store.value()->identity()), *cred->renews)
                               : tr("bound {1} to credential {2} ({3}, {4})", db, cred->id, RoleName(cred->role),
                                    Scope(store.value()->identity())));
    if (state.ok()) std::cout << "; " << tr("{1} unsynced edits kept", state->unsynced_edits);
    std::cout << "\n";
    return cli::kExitOk;
  }

  std::string device = args.GetOr("device", cred ? cred->name : HostName());
  auto store = ClientStore::Create(db, countries, device, cred);
  if (!store.ok()) return Fail(store.status());
  const Identity& id = store.value()->identity();
  std::cout << tr("created {1}: device {2}", db, id.device_id) << (id.device_name.empty() ? "" : " (" + id.device_name + ")")
            << tr(", countries {1}", Scope(id));
  if (cred) std::cout << tr(", credential {1}", cred->id);
  std::cout << "\n";
  return cli::kExitOk;
}

int CountriesCommand(const std::vector<std::string>& argv) {
  const std::string usage = tr("usage: {1}", "mnr-client countries (import|list) ...") + "\n\n" +
                            "  import --db PATH FILE.csv   " + tr("load the register (header code,name,income_group,region)") +
                            "\n" + "  list --db PATH              " + tr("list the register") + "\n";
  if (argv.empty()) {
    std::cerr << usage;
    return cli::kExitUsage;
  }
  if (argv[0] == "--help" || argv[0] == "-h") {
    std::cout << usage;
    return cli::kExitOk;
  }
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (argv[0] == "import") return CountriesImport(rest);
  if (argv[0] == "list") return CountriesList(rest);
  return UsageError(tr("unknown countries command \"{1}\" (import or list)", argv[0]));
}

int StatusCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client status --db PATH [--all [--format text|json] [--ids] [--server HOST:PORT]]",
                tr("Shows this store's device and scope, its credential, how much of the survey is answered,\n"
                   "the edits not yet sent, the last sync, each country's review state and the coordinators'\n"
                   "open queries. With --all (coordinators and auditors), the server's overview of every\n"
                   "country: answers, practices, review state, open conflicts and queries, devices and their\n"
                   "last sync."));
  WithRound(p.Option("db", "PATH", "the client store", true))
      .Flag("all", "the server's overview of every country (coordinator or auditor credential)")
      .Option("format", "text|json", "with --all: output format (default text)")
      .Flag("ids", "with --all: show device and credential ids")
      .Option("server", "HOST:PORT", "with --all: the server (default: the credential's)");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  if (args.Has("all")) return StatusAllCommand(args);
  auto opened = OpenStore(args);
  if (!opened.ok()) return Fail(opened.status());
  ClientStore& store = *opened.value();
  const Identity& id = store.identity();
  auto answers = store.Answers();
  if (!answers.ok()) return Fail(answers.status());
  auto practices = store.Practices();
  if (!practices.ok()) return Fail(practices.status());
  auto state = store.State();
  if (!state.ok()) return Fail(state.status());

  std::set<std::string> answered_countries;
  for (const auto& a : *answers) answered_countries.insert(a.country);
  const std::size_t n_countries = id.countries.empty() ? answered_countries.size() : id.countries.size();
  const std::size_t n_indicators = store.schema().indicators().size();

  std::cout << StatusLabel(tr("store:")) << *args.Get("db") << "\n";
  std::cout << StatusLabel(tr("device:")) << id.device_id << (id.device_name.empty() ? "" : " (" + id.device_name + ")") << "\n";
  std::cout << StatusLabel(tr("scope:")) << Scope(id) << "\n";
  if (id.credential) {
    const Credential& c = *id.credential;
    const bool expired = c.expires_at < UnixNow();
    std::cout << StatusLabel(tr("credential:"))
              << (expired ? tr("{1} ({2}), server {3}, EXPIRED {4}", c.id, RoleName(c.role), c.server_address, FormatLocalTime(c.expires_at))
                          : tr("{1} ({2}), server {3}, expires {4}", c.id, RoleName(c.role), c.server_address, FormatLocalTime(c.expires_at)))
              << "\n";
  } else {
    std::cout << StatusLabel(tr("credential:")) << tr("not bound (mnr-client init --db PATH --credentials FILE.mnrcred to sync)") << "\n";
  }
  auto carried = store.CarriedAnswers();
  if (!carried.ok()) return Fail(carried.status());
  std::cout << StatusLabel(tr("round:")) << store.round();
  if (!carried->empty()) {
    std::cout << " " << trn("({n} answer carried from {1}, not yet confirmed)", "({n} answers carried from {1}, not yet confirmed)",
                            carried->size(), carried->front().from_round);
  }
  std::cout << "\n";
  std::cout << StatusLabel(tr("survey:"))
            << trn("schema v{1}, {2} of {3} answers recorded ({n} country x {4} indicators)",
                   "schema v{1}, {2} of {3} answers recorded ({n} countries x {4} indicators)", n_countries,
                   store.schema().version(), answers->size(), n_countries * n_indicators, n_indicators)
            << "\n";
  // The English singular keeps the plural's wording that scripts already match; French gets its forms.
  std::cout << StatusLabel(tr("practices:")) << trn("{n} entries", "{n} entries", practices->size()) << "\n";
  std::cout << StatusLabel(tr("unsynced:")) << trn("{n} edits", "{n} edits", state->unsynced_edits) << "\n";
  if (auto files = store.Attachments(); files.ok() && !files->empty()) {
    std::size_t waiting = 0, refused = 0, remote = 0;
    for (const auto& a : *files) {
      if (a.held < a.value.size) {
        ++remote;
      } else if (!a.refusal.empty()) {
        ++refused;
      } else if (!a.uploaded) {
        ++waiting;
      }
    }
    std::cout << StatusLabel(tr("attachments:"))
              << tr("{1} ({2} waiting to be sent, {3} refused by the server, {4} on the server only)", files->size(), waiting,
                    refused, remote)
              << "\n";
  }
  std::cout << StatusLabel(tr("outbox:"))
            << trn("{n} change-sets not yet acknowledged by the server", "{n} change-sets not yet acknowledged by the server",
                   state->outbox_unacked)
            << "\n";
  if (state->last_sync_at) {
    std::cout << StatusLabel(tr("last sync:")) << FormatLocalTime(*state->last_sync_at)
              << (state->last_sync_result.empty() ? "" : ": " + state->last_sync_result) << "\n";
  } else {
    std::cout << StatusLabel(tr("last sync:")) << tr("never") << "\n";
  }
  // This device's edits in open conflicts, until a coordinator resolves them (client/field_conflicts.h).
  auto open_conflicts = OpenConflictLines(store);
  if (!open_conflicts.ok()) return Fail(open_conflicts.status());
  if (open_conflicts->empty()) {
    std::cout << StatusLabel(tr("conflicts:")) << tr("none open on this device's edits") << "\n";
  } else {
    std::cout << StatusLabel(tr("conflicts:"))
              << trn("{n} open on this device's edits (as of the last sync)", "{n} open on this device's edits (as of the last sync)",
                     open_conflicts->size())
              << "\n";
    for (const auto& line : *open_conflicts) std::cout << "  " << line << "\n";
  }
  PrintReviewStatus(store, std::cout);
  return cli::kExitOk;
}

int LogCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client log --db PATH [--indicator ID] [--country CODE] [--limit N]",
                tr("Shows the history of edits in this store, newest first: when (hybrid logical clock, UTC),\n"
                   "who (device id), which field, old -> new value (for an answer, the answer and its note:\n"
                   "`yes -> partial; note \"old\" -> (none)`, text cut to 40 characters, control characters shown\n"
                   "escaped), and whether it was made here (local) or came from the server."));
  p.Option("db", "PATH", "the client store", true)
      .Option("indicator", "ID", "only this indicator's answers")
      .Option("country", "CODE", "only this country's answers and practice entries")
      .Option("limit", "N", "show at most N entries (default 100; 0 = all)");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  std::size_t limit = 100;
  if (auto l = args.Get("limit")) {
    try {
      std::size_t used = 0;
      const long long n = std::stoll(*l, &used);
      if (used != l->size() || n < 0) throw std::invalid_argument("negative");
      limit = static_cast<std::size_t>(n);
    } catch (const std::exception&) {
      return UsageError(tr("--limit needs a whole number, got \"{1}\"", *l));
    }
  }
  auto opened = OpenStore(args);
  if (!opened.ok()) return Fail(opened.status());
  ClientStore& store = *opened.value();
  const auto indicator = args.Get("indicator");
  const auto country = args.Get("country");
  if (indicator && !store.schema().FindIndicator(*indicator)) {
    return Fail(Status::InvalidArgument(
        tr("unknown indicator \"{1}\" (not in survey schema v{2})", *indicator, store.schema().version())));
  }
  if (country && !IsValidCountryCode(*country)) {
    return Fail(Status::InvalidArgument(tr("\"{1}\" is not a country code (2 to 8 capital letters and digits)", *country)));
  }

  std::vector<LogEntry> entries;
  auto take = [&](const std::optional<std::string>& prefix, std::size_t n) -> Status {
    auto r = store.Log(prefix, n);
    if (!r.ok()) return r.status();
    entries.insert(entries.end(), r->begin(), r->end());
    return Status::OK();
  };
  Status s;
  if (indicator && country) {
    s = take(AnswerField(*country, *indicator), limit);
  } else if (indicator) {
    // The key puts the country before the indicator, so this filter cannot be a prefix.
    s = take(std::string("answer/"), 0);
    const std::string suffix = "/" + *indicator;
    std::erase_if(entries, [&](const LogEntry& e) { return !e.field.ends_with(suffix); });
  } else if (country) {
    s = take(AnswerField(*country, ""), limit);
    if (s.ok()) s = take("practice/" + *country + "/", limit);
  } else {
    s = take(std::nullopt, limit);
  }
  if (!s.ok()) return Fail(s);
  std::sort(entries.begin(), entries.end(), [](const LogEntry& a, const LogEntry& b) { return a.seq > b.seq; });
  if (limit > 0 && entries.size() > limit) entries.resize(limit);

  for (const auto& e : entries) {
    std::cout << HybridClock::Format(e.hlc) << "  " << TerminalText(e.author, 0) << "  " << TerminalText(e.field, 0) << "  "
              << DescribeChange(e.field, e.old_value, e.new_value) << "  " << e.origin << "\n";
  }
  if (entries.empty()) {
    std::cerr << kProgram << ": " << (indicator || country ? tr("no edits recorded for this filter") : tr("no edits recorded")) << "\n";
  }
  return cli::kExitOk;
}

}  // namespace mnr::client
