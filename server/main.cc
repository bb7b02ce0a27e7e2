// mnr-server: the reconciliation server's command line. Every subcommand has --help and exits 0 on
// success, 1 on failure, 2 on misuse; errors go to stderr as "mnr-server: ...".
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "mnr/cli.h"
#include "mnr/credential.h"
#include "mnr/csv.h"
#include "mnr/describe.h"
#include "mnr/envelope.h"
#include "mnr/field.h"
#include "mnr/file_util.h"
#include "mnr/hlc.h"
#include "mnr/limits.h"
#include "mnr/version.h"
#include "mnr/wall_clock.h"
#include "server/attachments.h"
#include "server/cli_common.h"
#include "server/commands.h"
#include "server/dataset_commands.h"
#include "server/intake.h"
#include "server/merged_state.h"
#include "server/register.h"
#include "server/return_bundle.h"
#include "server/remote_ops.h"
#include "server/server_config.h"
#include "server/server_store.h"

namespace mnr::server {
namespace {

constexpr std::size_t kBundleBytes = std::size_t{1} << 30;



std::string FormatDay(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}


cli::Parser& WithData(cli::Parser& p) {
  return p.Option("data", "DIR", "the server store directory", true);
}

Result<std::unique_ptr<ServerStore>> OpenStore(const cli::Args& a) { return ServerStore::Open(*a.Get("data")); }

int InitCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server init --data DIR [--host NAME]... [--address HOST:PORT]",
                "Creates a new server store in DIR (which must not exist): the SQLite store, a certificate\n"
                "authority, the server's TLS certificate (valid for localhost, 127.0.0.1 and each --host) and\n"
                "the key pair that devices seal their change-sets to. Private keys are written with mode 0600.");
  WithData(p)
      .Option("host", "NAME", "an extra DNS name or IP address for the server certificate", false, true)
      .Option("address", "HOST:PORT", "the address written into credentials (default localhost:7443)");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  const std::string dir = *a.Get("data");
  Status s = ServerStore::Init(dir, a.GetAll("host"), a.GetOr("address", "localhost:7443"));
  if (!s.ok()) return Failure(s);
  auto store = ServerStore::Open(dir);
  if (!store.ok()) return Failure(store.status());
  std::cout << "created server store " << (*store)->store_id() << " in " << dir << "\n"
            << "next: mnr-server countries import --data " << dir << " COUNTRIES.csv\n";
  return cli::kExitOk;
}

int CountriesCommand(const std::vector<std::string>& argv) {
  const std::string group_help =
      "usage: mnr-server countries import --data DIR FILE.csv\n"
      "       mnr-server countries list --data DIR\n\n"
      "The country register: codes, names, income groups (high, upper_middle, lower_middle, low) and regions.\n";
  if (argv.empty()) return Usage("countries needs an action: import or list (see --help)");
  if (argv[0] == "--help" || argv[0] == "-h") {
    std::cout << group_help;
    return cli::kExitOk;
  }
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (argv[0] == "import") {
    cli::Parser p("mnr-server countries import --data DIR FILE.csv",
                  "Adds or replaces register rows from a CSV file with the header code,name,income_group,region.\n"
                  "The whole file is checked first and applied in one transaction: one bad line changes nothing.");
    WithData(p).Positional("FILE.csv", "the country file");
    cli::Args a;
    if (auto rc = cli::ParseOrExit(p, rest, kProgram, a)) return *rc;
    const std::string file = a.positional()[0];
    auto text = ReadFile(file, limits::kImportFileBytes);
    if (!text.ok()) return Failure(text.status());
    auto records = ParseCsv(*text, file);
    if (!records.ok()) return Failure(records.status());
    if (records->empty()) return Failure(Status::InvalidArgument(file + ": empty; expected the header code,name,income_group,region"));
    const std::vector<std::string> expected = {"code", "name", "income_group", "region"};
    const auto& header = records->front();
    if (header.fields != expected) {
      return Failure(Status::InvalidArgument(file + ":" + std::to_string(header.line) + ": header is \"" +
                                             Join(header.fields, ",") + "\", expected \"code,name,income_group,region\""));
    }
    std::vector<Country> rows;
    std::map<std::string, std::size_t> line_of;
    for (std::size_t i = 1; i < records->size(); ++i) {
      const auto& r = (*records)[i];
      const std::string where = file + ":" + std::to_string(r.line);
      if (r.fields.size() != expected.size()) {
        return Failure(Status::InvalidArgument(where + ": expected 4 fields (code,name,income_group,region), found " +
                                               std::to_string(r.fields.size())));
      }
      Country c{r.fields[0], r.fields[1], r.fields[2], r.fields[3]};
      if (Status s = ValidateCountry(c); !s.ok()) return Failure(s.With(where));
      if (auto [it, fresh] = line_of.emplace(c.code, r.line); !fresh) {
        return Failure(Status::InvalidArgument(where + ": country " + c.code + " already given on line " + std::to_string(it->second)));
      }
      rows.push_back(std::move(c));
    }
    auto store = OpenStore(a);
    if (!store.ok()) return Failure(store.status());
    if (Status s = ImportCountries((*store)->db(), rows); !s.ok()) return Failure(s.With(file));
    std::cout << rows.size() << " countries imported\n";
    return cli::kExitOk;
  }
  if (argv[0] == "list") {
    cli::Parser p("mnr-server countries list --data DIR", "Prints the country register as CSV.");
    WithData(p);
    cli::Args a;
    if (auto rc = cli::ParseOrExit(p, rest, kProgram, a)) return *rc;
    auto store = OpenStore(a);
    if (!store.ok()) return Failure(store.status());
    auto countries = Countries((*store)->db());
    if (!countries.ok()) return Failure(countries.status());
    std::cout << CsvLine({"code", "name", "income_group", "region"});
    for (const auto& c : *countries) std::cout << CsvLine({c.code, c.name, c.income_group, c.region});
    return cli::kExitOk;
  }
  return Usage("unknown countries action \"" + argv[0] + "\" (import or list)");
}

int IssueCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server issue --data DIR --role field|coordinator|auditor [--country CODE]... --name TEXT --out FILE.mnrcred [--days N]",
                "Issues a credential for one device or person: a key pair, a certificate from the store's CA, the\n"
                "CA certificate, the server address and the server's sealing key, in one file (mode 0600).\n"
                "A field credential names the countries it may write. Prints the credential id.");
  WithData(p)
      .Option("role", "ROLE", "field, coordinator or auditor", true)
      .Option("country", "CODE", "a country the credential may write (field: at least one)", false, true)
      .Option("name", "TEXT", "a label for the holder, e.g. \"Q01 office laptop\"", true)
      .Option("out", "FILE", "the credential file to write (must not exist)", true)
      .Option("days", "N", "validity in days (default: credential_days of the configuration file, 730)")
      .Option("config", "FILE", "the configuration file (default /etc/mnr-sync/server.toml, if it exists)");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  auto role = ParseRole(*a.Get("role"));
  if (!role) return Usage("--role must be field, coordinator or auditor, not \"" + *a.Get("role") + "\"");
  auto settings = CommandSettings(a.Get("config"));
  if (!settings.ok()) return Usage(settings.status().message());
  auto lifetime = CredentialLifetimeDays(a, settings->credential_days);
  if (!lifetime.ok()) return Usage(lifetime.status().message());
  const long long days = *lifetime;
  const std::vector<std::string> countries = a.GetAll("country");
  if (*role == Role::kField && countries.empty()) return Usage("a field credential needs at least one --country CODE");
  const std::string out = *a.Get("out");
  if (Status s = CheckOutputFile(out, {false, false, {ServerPaths{*a.Get("data")}.db()}}); !s.ok()) return Failure(s);
  auto store = OpenStore(a);
  if (!store.ok()) return Failure(store.status());
  auto cred = IssueCredential((*store)->db(), (*store)->paths(), *role, countries, *a.Get("name"), days * 24 * 3600);
  if (!cred.ok()) return Failure(cred.status());
  if (Status s = SaveCredential(out, *cred); !s.ok()) {
    // A credential nobody holds must not stay usable.
    (void)RevokeCredential((*store)->db(), cred->id);
    return Failure(s.With("credential " + cred->id + " was revoked again because its file could not be written"));
  }
  std::cout << cred->id << "\n";
  return cli::kExitOk;
}

int RevokeCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server revoke --data DIR ID",
                "Revokes a credential: from now on its change-sets and connections are refused. Works while\n"
                "`mnr-server run` is serving.");
  WithData(p).Positional("ID", "the credential id (cred-...)");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  const std::string id = a.positional()[0];
  auto store = OpenStore(a);
  if (!store.ok()) return Failure(store.status());
  auto before = FindCredential((*store)->db(), id);
  if (!before.ok()) return Failure(before.status());
  if (*before && (*before)->revoked_at) {
    std::cout << id << " was already revoked on " << FormatDay(*(*before)->revoked_at) << "\n";
    return cli::kExitOk;
  }
  if (Status s = RevokeCredential((*store)->db(), id); !s.ok()) return Failure(s);
  std::cout << "revoked " << id << "\n";
  return cli::kExitOk;
}

int CredentialsCommand(const std::vector<std::string>& argv) {
  if (argv.empty()) return Usage("credentials needs an action: list (see --help)");
  if (argv[0] == "--help" || argv[0] == "-h") {
    std::cout << "usage: mnr-server credentials list --data DIR\n\nThe credential register.\n";
    return cli::kExitOk;
  }
  if (argv[0] != "list") return Usage("unknown credentials action \"" + argv[0] + "\" (list)");
  cli::Parser p("mnr-server credentials list --data DIR",
                "Lists every credential issued: id, role, name, countries, expiry and status (active, revoked, expired).");
  WithData(p);
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, std::vector<std::string>(argv.begin() + 1, argv.end()), kProgram, a)) return *rc;
  auto store = OpenStore(a);
  if (!store.ok()) return Failure(store.status());
  auto creds = Credentials((*store)->db());
  if (!creds.ok()) return Failure(creds.status());
  const std::int64_t now = UnixNow();
  std::vector<std::vector<std::string>> rows = {{"ID", "ROLE", "NAME", "COUNTRIES", "EXPIRES", "STATUS"}};
  for (const auto& c : *creds) {
    std::string status = c.revoked_at ? "revoked" : (now >= c.expires_at ? "expired" : "active");
    rows.push_back({c.id, std::string(RoleName(c.role)), c.name, c.countries.empty() ? "-" : Join(c.countries, ","),
                    FormatDay(c.expires_at), status});
  }
  PrintTable(rows);
  return cli::kExitOk;
}

int ImportBundleCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server import-bundle --data DIR [--config FILE] FILE.mnrb",
                "Applies the change-sets and attachment files of a USB bundle (made by `mnr-client bundle`)\n"
                "exactly as an online sync would: each change-set is verified, checked against its credential and\n"
                "merged, then each file chunk is verified and kept; what is already present changes nothing. The\n"
                "parts of a bundle split with --max-size may come in any order: a file is kept once all its chunks\n"
                "are in. Exits 1 if any change-set or file was refused.");
  WithData(p).Option("config", "FILE", "the configuration file, for the attachment limits (default "
                                       "/etc/mnr-sync/server.toml, if it exists)");
  p.Positional("FILE.mnrb", "the bundle file");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  const std::string file = a.positional()[0];
  auto settings = CommandSettings(a.Get("config"));
  if (!settings.ok()) return Failure(settings.status());
  auto bytes = ReadFile(file, kBundleBytes);
  if (!bytes.ok()) return Failure(bytes.status());
  auto bundle = DecodeBundle(*bytes);
  if (!bundle.ok()) return Failure(bundle.status().With(file));
  auto store = OpenStore(a);
  if (!store.ok()) return Failure(store.status());
  int applied = 0, present = 0, refused = 0;
  const std::vector<std::string>& changesets = bundle->changesets;
  for (std::size_t i = 0; i < changesets.size(); ++i) {
    auto in = ReceiveChangeSet(**store, changesets[i], nullptr, UnixNow());
    if (in.refusal) {
      ++refused;
      std::cerr << kProgram << ": " << file << ": change-set " << (i + 1) << " of " << changesets.size()
                << " refused: " << in.refusal->reason << "\n";
    } else if (in.outcome->duplicate) {
      ++present;
    } else {
      ++applied;
    }
  }
  std::cout << applied << " applied, " << present << " already present, " << refused << " refused\n";
  if (bundle->blob_chunks.empty()) return refused ? cli::kExitFailure : cli::kExitOk;

  AttachmentIntake intake(**store, AttachmentLimitsOf(*settings));
  // One line per file: the state after its last chunk in this bundle.
  std::map<std::string, BlobState> files;
  std::set<std::string> refused_files;
  for (const std::string& sealed : bundle->blob_chunks) {
    BlobState state = intake.Put(sealed, nullptr, "", UnixNow());
    if (state.code != 0 && refused_files.insert(state.hash).second) {
      std::cerr << kProgram << ": " << file << ": file " << (state.hash.empty() ? std::string("?") : state.hash.substr(0, 12))
                << " refused: " << state.reason << "\n";
    }
    files[state.hash] = state;
  }
  int whole = 0, waiting = 0;
  for (const auto& [hash, state] : files) {
    if (state.code != 0) continue;
    (state.held == state.size ? whole : waiting) += 1;
  }
  std::cout << whole << " file(s) complete, " << waiting << " waiting for the other parts of the bundle, " << refused_files.size()
            << " refused\n";
  return refused || !refused_files.empty() ? cli::kExitFailure : cli::kExitOk;
}

std::string DescribeValue(const std::string& field, const std::optional<std::string>& value, bool with_note) {
  if (!value) return "(cleared)";
  auto fk = ParseField(field);
  if (fk.ok() && fk->kind == FieldKey::Kind::kAnswer) {
    auto v = DecodeAnswer(*value);
    if (!v.ok()) return "(unreadable)";
    std::string out(AnswerName(v->answer));
    if (with_note && !v->note.empty()) out += " -- note: " + v->note;
    return out;
  }
  return with_note ? *value : "(" + std::to_string(value->size()) + " bytes of text)";
}

int ConflictsCommand(const std::vector<std::string>& argv) {
  if (argv.empty()) return Usage("conflicts needs an action: list, show or resolve (see --help)");
  if (argv[0] == "--help" || argv[0] == "-h") {
    std::cout << "usage: mnr-server conflicts list --data DIR [--all]\n"
                 "       mnr-server conflicts show --data DIR ID\n"
                 "       mnr-server conflicts resolve --data DIR ID (--pick N | --value VALUE [--note TEXT]) --reason TEXT [--by NAME]\n\n"
                 "Conflicts: edits of one field made on devices that had not seen each other, with different values.\n"
                 "Last writer wins meanwhile; a resolution is a new edit that supersedes every candidate and syncs\n"
                 "back to the devices. Devices and credentials are shown by name; --ids shows their ids.\n";
    return cli::kExitOk;
  }
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  auto parse_id = [](const std::string& s) -> std::optional<std::int64_t> {
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return std::stoll(s);
  };
  if (argv[0] == "list") {
    cli::Parser p("mnr-server conflicts list --data DIR [--all]", "Lists open conflicts (with --all, resolved ones too).");
    WithData(p).Flag("all", "include resolved conflicts");
    cli::Args a;
    if (auto rc = cli::ParseOrExit(p, rest, kProgram, a)) return *rc;
    auto store = OpenStore(a);
    if (!store.ok()) return Failure(store.status());
    auto conflicts = Conflicts((*store)->db(), !a.Has("all"));
    if (!conflicts.ok()) return Failure(conflicts.status());
    if (conflicts->empty()) {
      std::cout << (a.Has("all") ? "no conflicts\n" : "no open conflicts\n");
      return cli::kExitOk;
    }
    std::vector<std::vector<std::string>> rows = {{"ID", "STATUS", "FIELD", "CANDIDATES"}};
    for (const auto& c : *conflicts) {
      std::vector<std::string> values;
      for (const auto& cand : c.candidates) values.push_back(DescribeValue(c.field, cand.value, false));
      rows.push_back({std::to_string(c.id), c.resolved ? "resolved" : "open", c.field, Join(values, " | ")});
    }
    PrintTable(rows);
    return cli::kExitOk;
  }
  if (argv[0] == "show") {
    cli::Parser p("mnr-server conflicts show --data DIR ID [--ids]",
                  "Shows every candidate of a conflict, numbered for `conflicts resolve --pick N`: its answer and\n"
                  "note (cut to 40 characters, then in full on the next line; control characters escaped), the\n"
                  "device that made it and the credential's holder, by name.");
    WithData(p).Positional("ID", "the conflict id (see conflicts list)").Flag("ids", "show device and credential ids and versions");
    cli::Args a;
    if (auto rc = cli::ParseOrExit(p, rest, kProgram, a)) return *rc;
    auto id = parse_id(a.positional()[0]);
    if (!id) return Usage("conflict ID must be a number, not \"" + a.positional()[0] + "\"");
    auto store = OpenStore(a);
    if (!store.ok()) return Failure(store.status());
    auto c = FindConflict((*store)->db(), *id);
    if (!c.ok()) return Failure(c.status());
    if (!*c) return Failure(Status::NotFound("no conflict " + a.positional()[0] + " (see `mnr-server conflicts list --all`)"));
    const Conflict& k = **c;
    auto names = LoadPeopleNames(**store);
    if (!names.ok()) return Failure(names.status());
    const auto candidates = ConflictToJson(k, *names)["candidates"];
    const bool ids = a.Has("ids");
    std::cout << "conflict " << k.id << " (" << (k.resolved ? "resolved" : "open") << ") on " << k.field << "\n";
    for (std::size_t i = 0; i < k.candidates.size(); ++i) {
      const auto& cand = k.candidates[i];
      const std::string shown = mnr::DescribeValue(k.field, cand.value);
      std::cout << "  candidate " << (i + 1) << ": " << shown
                << (cand.version == k.winner_version ? "  <- current value" : "") << "\n";
      if (mnr::DescribeValue(k.field, cand.value, 0) != shown) {
        std::cout << "    in full: " << mnr::DescribeValue(k.field, cand.value, 0) << "\n";
      }
      const std::string author = candidates[i].value("author_name", "");
      const std::string holder = candidates[i].value("credential_name", "");
      if (ids) {
        std::cout << "    by " << TerminalText(cand.author, 0) << " (" << TerminalText(author, 0) << ")"
                  << (cand.credential.empty() ? "" : ", credential " + cand.credential + " (" + TerminalText(holder, 0) + ")")
                  << " at " << HybridClock::Format(cand.hlc) << "\n"
                  << "    version " << TerminalText(cand.version, 0) << "\n";
      } else {
        std::cout << "    by " << TerminalText(author.empty() ? cand.author : author, 0)
                  << (holder.empty() || holder == author ? "" : " (" + TerminalText(holder, 0) + ")") << " at "
                  << HybridClock::Format(cand.hlc) << "\n";
      }
    }
    if (k.resolved) {
      std::cout << "  resolved by " << TerminalText(k.resolved_by.value_or("?"), 0);
      if (k.reason) std::cout << ": " << TerminalText(*k.reason, 0);
      std::cout << "\n";
      if (ids) std::cout << "  resolution version " << k.resolution_version.value_or("?") << "\n";
    } else {
      std::cout << "  resolve with: mnr-server conflicts resolve --data " << *a.Get("data") << " " << k.id
                << " --pick N --reason TEXT (or --value VALUE [--note TEXT] instead of --pick)\n";
    }
    return cli::kExitOk;
  }
  if (argv[0] == "resolve") {
    cli::Parser p("mnr-server conflicts resolve --data DIR ID (--pick N | --value VALUE [--note TEXT]) --reason TEXT [--by NAME]",
                  "Records the chosen value as a new edit that supersedes every candidate; it wins and syncs back\n"
                  "to the devices. --pick N keeps candidate N (as `conflicts show` numbers them) whole: its answer\n"
                  "and its note. --value sets a new value: for an answer yes, partial, no, unknown or clear; for a\n"
                  "good-practice field the text itself. With --value and no --note an answer keeps the note of the\n"
                  "current value (the one marked \"<- current value\" by conflicts show); --note TEXT replaces it\n"
                  "and --note '' removes it. A resolution never drops a note otherwise.");
    WithData(p)
        .Positional("ID", "the conflict id (see conflicts list)")
        .Option("pick", "N", "keep candidate N whole (answer and note)")
        .Option("value", "VALUE", "a new value (instead of --pick)")
        .Option("note", "TEXT", "the answer's note with --value ('' for none; default: the current value's note)")
        .Option("reason", "TEXT", "why this value was chosen (kept with the resolution)", true)
        .Option("by", "NAME", "who resolves (default $USER)");
    cli::Args a;
    if (auto rc = cli::ParseOrExit(p, rest, kProgram, a)) return *rc;
    auto id = parse_id(a.positional()[0]);
    if (!id) return Usage("conflict ID must be a number, not \"" + a.positional()[0] + "\"");
    std::string by = a.GetOr("by", "");
    if (by.empty()) {
      const char* user = std::getenv("USER");
      if (user == nullptr || *user == '\0') return Usage("--by NAME is required when $USER is not set");
      by = user;
    }
    auto store = OpenStore(a);
    if (!store.ok()) return Failure(store.status());
    auto c = FindConflict((*store)->db(), *id);
    if (!c.ok()) return Failure(c.status());
    if (!*c) return Failure(Status::NotFound("no conflict " + a.positional()[0] + " (see `mnr-server conflicts list`)"));
    auto fk = ParseField((*c)->field);
    if (!fk.ok()) return Failure(fk.status());
    ResolutionChoice choice;
    if (auto pick = a.Get("pick")) {
      auto n = parse_id(*pick);
      if (!n || *n < 1) return Usage("--pick needs a candidate number (1, 2, ... as conflicts show numbers them), not \"" + *pick + "\"");
      if (a.Has("value") || a.Has("note")) return Usage("--pick keeps the candidate whole: give no --value or --note with it");
      choice.pick = *n;
    } else if (auto raw = a.Get("value")) {
      const bool answer = fk->kind == FieldKey::Kind::kAnswer;
      if (answer && *raw == "clear") {
        if (a.Has("note")) return Usage("--note cannot go with --value clear");
      } else if (answer && !ParseAnswer(*raw)) {
        return Usage("--value must be yes, partial, no, unknown or clear for an answer, not \"" + *raw + "\"");
      } else {
        choice.value = *raw;
      }
      if (a.Has("note") && !answer) return Usage("--note applies to answers only");
      choice.note = a.Get("note");
    } else {
      return Usage("give --pick N (keep candidate N) or --value VALUE (see conflicts show " + a.positional()[0] + ")");
    }
    auto value = ResolutionValue(**store, **c, choice);
    if (!value.ok()) return value.status().code() == Status::Code::kInvalidArgument ? Usage(value.status().message()) : Failure(value.status());
    if (Status s = ResolveConflict((*store)->db(), *id, *value, by, *a.Get("reason")); !s.ok()) return Failure(s);
    auto after = FindConflict((*store)->db(), *id);
    std::cout << "conflict " << *id << " resolved: " << (*c)->field << " = " << mnr::DescribeValue((*c)->field, *value);
    if (after.ok() && *after && (*after)->resolution_version) std::cout << " (version " << *(*after)->resolution_version << ")";
    std::cout << "\n";
    return cli::kExitOk;
  }
  return Usage("unknown conflicts action \"" + argv[0] + "\" (list, show or resolve)");
}

int StateCommand(const std::vector<std::string>& argv) {
  if (argv.empty()) return Usage("state needs an action: hash (see --help)");
  if (argv[0] == "--help" || argv[0] == "-h") {
    std::cout << "usage: mnr-server state hash --data DIR\n\nFacts about the merged state.\n";
    return cli::kExitOk;
  }
  if (argv[0] != "hash") return Usage("unknown state action \"" + argv[0] + "\" (hash)");
  cli::Parser p("mnr-server state hash --data DIR",
                "Prints the SHA-256 of the merged state (every field's winner and every conflict) in canonical\n"
                "order: the same set of change-sets gives the same hash whatever their arrival order.");
  WithData(p);
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, std::vector<std::string>(argv.begin() + 1, argv.end()), kProgram, a)) return *rc;
  auto store = OpenStore(a);
  if (!store.ok()) return Failure(store.status());
  auto h = StateHash((*store)->db());
  if (!h.ok()) return Failure(h.status());
  std::cout << *h << "\n";
  return cli::kExitOk;
}

const char* kTopHelp =
    "usage: mnr-server COMMAND [ARGS] (each command has --help)\n\n"
    "The MNR reconciliation server: merges the change-sets of many field offices deterministically.\n\n"
    "commands:\n"
    "  init              create a server store, its CA and keys\n"
    "  countries         import or list the country register\n"
    "  issue             issue a credential file for a device or person\n"
    "  revoke            revoke a credential\n"
    "  renew             replace a credential by a new one for the same holder\n"
    "  credentials list  list the credential register\n"
    "  run               serve devices over mutual TLS\n"
    "  import-bundle     apply a USB bundle of change-sets\n"
    "  bundle            write a return bundle for a country's offline offices\n"
    "  conflicts         list, show and resolve conflicts\n"
    "  review            the review of each country's survey: list, show, approve, return\n"
    "  status            per country: answers, practices, review, conflicts, queries, devices\n"
    "  state hash        print the hash of the merged state\n"
    "  audit             the audit trail: log, verify, export\n"
    "  aggregate         print the global dataset (csv, json, sdmx-csv, xlsx), current or released\n"
    "  sdmx-structure    write the SDMX-ML structure (code lists, DSD) the sdmx-csv refers to\n"
    "  release           freeze the dataset as a signed, immutable release\n"
    "  releases          list, show or diff the releases\n"
    "  publish           write the report of a release as a static site\n"
    "  backup            take a consistent copy of the store while the server runs\n"
    "  restore           check a backup, then restore it into a new directory\n"
    "  check             integrity, versions, audit, last backup, open conflicts (for monitoring)\n\n"
    "exit status: 0 success, 1 failure, 2 misuse\n";

}  // namespace
}  // namespace mnr::server

int main(int argc, char** argv) {
  using namespace mnr::server;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kTopHelp;
    return mnr::cli::kExitUsage;
  }
  const std::string cmd = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kTopHelp;
    return mnr::cli::kExitOk;
  }
  if (cmd == "--version") {
    std::cout << mnr::VersionLine("mnr-server", "server store v" + std::to_string(ServerStoreVersion())) << "\n";
    return mnr::cli::kExitOk;
  }
  static const std::map<std::string, int (*)(const std::vector<std::string>&)> kCommands = {
      {"init", InitCommand},
      {"countries", CountriesCommand},
      {"issue", IssueCommand},
      {"revoke", RevokeCommand},
      {"credentials", CredentialsCommand},
      {"run", RunCommand},
      {"import-bundle", ImportBundleCommand},
      {"bundle", ReturnBundleCommand},
      {"conflicts", ConflictsCommand},
      {"state", StateCommand},
      {"audit", AuditCommand},
      {"renew", RenewCommand},
      {"aggregate", AggregateCommand},
      {"release", ReleaseCommand},
      {"releases", ReleasesCommand},
      {"publish", PublishCommand},
      {"sdmx-structure", SdmxStructureCommand},
      {"review", ReviewCommand},
      {"status", StatusCommand},
      {"backup", BackupCommand},
      {"restore", RestoreCommand},
      {"check", CheckCommand},
  };
  auto it = kCommands.find(cmd);
  if (it == kCommands.end()) return Usage("unknown command \"" + cmd + "\" (see mnr-server --help)");
  return it->second(rest);
}
