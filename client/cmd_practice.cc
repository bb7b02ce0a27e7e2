// mnr-client practice add|edit|list|show|rm: good-practice entries (good practices, challenges,
// lessons learned), each attached to a country and a capability.
#include <charconv>
#include <iostream>

#include "client/cmd_common.h"
#include "mnr/file_util.h"
#include "mnr/i18n.h"
#include "mnr/limits.h"

namespace mnr::client {
namespace {

// The overview of the practice commands; the synopsis lines stay as typed, the rest is translated.
std::string PracticeUsage() {
  return tr("usage: {1}", "mnr-client practice (add|edit|list|show|rm) ...") + "\n\n" +
         "  add --db PATH --country C --capability N --kind K --title T (--text T | --text-file F) [--lang L]\n"
         "  edit --db PATH ID [--title T] [--text T | --text-file F] [--kind K] [--capability N] [--lang L]\n"
         "  list --db PATH [--country C] [--capability N]\n"
         "  show --db PATH ID\n"
         "  rm --db PATH ID\n\n" +
         tr("kinds: good_practice, challenge, lesson_learned. Run `mnr-client practice add --help` for details.") + "\n";
}

// The entry text from --text or --text-file (exactly one); nullopt with neither.
Result<std::optional<std::string>> TextOption(const cli::Args& args) {
  const auto text = args.Get("text");
  const auto file = args.Get("text-file");
  if (text && file) return Status::InvalidArgument(tr("give --text or --text-file, not both"));
  if (file) {
    auto data = ReadFile(*file, limits::kPracticeTextBytes);
    if (!data.ok()) return data.status();
    return std::optional<std::string>(std::move(data).value());
  }
  return text;
}

void PrintEntry(const PracticeEntry& e, const SurveySchema& schema) {
  const Capability* cap = schema.FindCapability(e.capability);
  std::cout << StatusLabel(tr("id:")) << e.id << "\n"
            << StatusLabel(tr("country:")) << e.country << "\n"
            << StatusLabel(tr("capability:")) << e.capability << (cap ? " (" + cap->label.In(e.lang) + ")" : "") << "\n"
            << StatusLabel(tr("kind:")) << e.kind << "\n"
            << StatusLabel(tr("lang:")) << e.lang << "\n"
            << StatusLabel(tr("title:")) << e.title << "\n\n"
            << e.text << (e.text.ends_with('\n') ? "" : "\n");
}

cli::Parser& EditOptions(cli::Parser& p) {
  return p.Option("db", "PATH", "the client store", true)
      .Option("capability", "N", "the MNR capability number, 1 to 21")
      .Option("kind", "KIND", "good_practice, challenge or lesson_learned")
      .Option("title", "TEXT", "a one-line title (up to 512 bytes)")
      .Option("text", "TEXT", "the entry's text (up to 64 KiB)")
      .Option("text-file", "FILE", "read the text from FILE (UTF-8)")
      .Option("lang", "LANG", "language of the entry: en, fr, es, ar, ... (default en)");
}

int Add(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client practice add --db PATH --country C --capability N --kind K --title T "
                "(--text T | --text-file F) [--lang L]",
                tr("Adds a good-practice entry for a country in this device's scope and prints its id."));
  EditOptions(p).Option("country", "CODE", "the country the entry is about", true);
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  for (const char* required : {"capability", "kind", "title"}) {
    if (!args.Has(required)) return UsageError(tr("practice add needs --{1} (see --help)", required));
  }
  auto text = TextOption(args);
  if (!text.ok()) return text.status().code() == Status::Code::kInvalidArgument ? UsageError(text.status().message())
                                                                                 : Fail(text.status());
  if (!*text) return UsageError(tr("practice add needs --text TEXT or --text-file FILE"));
  const std::string cap_text = *args.Get("capability");
  int capability = 0;
  auto [ptr, ec] = std::from_chars(cap_text.data(), cap_text.data() + cap_text.size(), capability);
  if (ec != std::errc() || ptr != cap_text.data() + cap_text.size()) capability = -1;
  auto store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  if (capability < 0) {
    return Fail(Status::InvalidArgument(tr("capability \"{1}\" is not a capability number (1 to {2})", OneLine(cap_text, 20),
                                           store.value()->schema().capabilities().size())));
  }
  PracticeEntry e;
  e.country = *args.Get("country");
  e.capability = capability;
  e.kind = *args.Get("kind");
  e.title = *args.Get("title");
  e.text = **text;
  e.lang = args.GetOr("lang", "en");
  auto id = store.value()->AddPractice(e);
  if (!id.ok()) return Fail(id.status());
  std::cout << *id << "\n";
  return cli::kExitOk;
}

int Edit(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client practice edit --db PATH ID [--title T] [--text T | --text-file F] [--kind K] "
                "[--capability N] [--lang L]",
                tr("Changes attributes of a good-practice entry; each changed attribute is one recorded edit."));
  EditOptions(p).Positional("ID", "the entry's id (see practice list)");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  std::map<std::string, std::string> attrs;
  for (const char* a : {"capability", "kind", "title", "lang"}) {
    if (auto v = args.Get(a)) attrs[a] = *v;
  }
  auto text = TextOption(args);
  if (!text.ok()) return text.status().code() == Status::Code::kInvalidArgument ? UsageError(text.status().message())
                                                                                 : Fail(text.status());
  if (*text) attrs["text"] = **text;
  if (attrs.empty()) return UsageError(tr("practice edit needs at least one of --title, --text, --text-file, --kind, --capability, --lang"));
  auto store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  const std::string id = args.positional()[0];
  Status s = store.value()->EditPractice(id, attrs);
  if (!s.ok()) return Fail(s);
  std::cout << tr("updated {1}", id) << "\n";
  return cli::kExitOk;
}

int List(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client practice list --db PATH [--country C] [--capability N]",
                tr("Lists good-practice entries: id, country, capability, kind, language and title."));
  p.Option("db", "PATH", "the client store", true)
      .Option("country", "CODE", "only this country")
      .Option("capability", "N", "only this capability");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  std::optional<int> capability;
  if (auto c = args.Get("capability")) {
    int n = 0;
    auto [ptr, ec] = std::from_chars(c->data(), c->data() + c->size(), n);
    if (ec != std::errc() || ptr != c->data() + c->size()) return UsageError(tr("--capability needs a number, got \"{1}\"", *c));
    capability = n;
  }
  auto store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  auto entries = store.value()->Practices(args.Get("country"));
  if (!entries.ok()) return Fail(entries.status());
  std::size_t shown = 0;
  for (const auto& e : *entries) {
    if (capability && e.capability != *capability) continue;
    std::string kind = e.kind;
    kind.resize(15, ' ');
    std::string country = e.country;
    country.resize(std::max<std::size_t>(country.size(), 5), ' ');
    std::cout << e.id << "  " << country << " " << (e.capability < 10 ? " " : "") << e.capability << "  " << kind
              << e.lang << "  " << OneLine(e.title, 70) << "\n";
    ++shown;
  }
  if (shown == 0) std::cerr << kProgram << ": " << tr("no practice entries") << "\n";
  return cli::kExitOk;
}

int Show(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client practice show --db PATH ID", tr("Shows one good-practice entry in full."));
  p.Option("db", "PATH", "the client store", true).Positional("ID", "the entry's id");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  auto store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  const std::string id = args.positional()[0];
  auto e = store.value()->FindPractice(id);
  if (!e.ok()) return Fail(e.status());
  if (!*e) return Fail(Status::NotFound(tr("no practice entry {1} (see mnr-client practice list)", OneLine(id, 40))));
  PrintEntry(**e, store.value()->schema());
  return cli::kExitOk;
}

int Remove(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client practice rm --db PATH ID",
                tr("Removes a good-practice entry. The removal is recorded and synced like any edit."));
  p.Option("db", "PATH", "the client store", true).Positional("ID", "the entry's id");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  auto store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  const std::string id = args.positional()[0];
  Status s = store.value()->RemovePractice(id);
  if (!s.ok()) return Fail(s);
  std::cout << tr("removed {1}", id) << "\n";
  return cli::kExitOk;
}

}  // namespace

int PracticeCommand(const std::vector<std::string>& argv) {
  if (argv.empty()) {
    std::cerr << PracticeUsage();
    return cli::kExitUsage;
  }
  if (argv[0] == "--help" || argv[0] == "-h") {
    std::cout << PracticeUsage();
    return cli::kExitOk;
  }
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (argv[0] == "add") return Add(rest);
  if (argv[0] == "edit") return Edit(rest);
  if (argv[0] == "list") return List(rest);
  if (argv[0] == "show") return Show(rest);
  if (argv[0] == "rm") return Remove(rest);
  return UsageError(tr("unknown practice command \"{1}\" (add, edit, list, show or rm)", argv[0]));
}

}  // namespace mnr::client
