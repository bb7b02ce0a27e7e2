// mnr-client attach and attachments list|show|get|rm: evidence files on answers and practice entries
// (mnr/attachment.h). Attaching works offline; the file goes to the server with the next sync, or in
// a bundle.
#include <iostream>

#include "client/cmd_common.h"
#include "client/commands.h"
#include "client/file_transfer.h"
#include "mnr/file_util.h"
#include "mnr/i18n.h"
#include "mnr/limits.h"
#include "mnr/media_type.h"

namespace mnr::client {
namespace {

std::string AttachmentsUsage() {
  return tr("usage: {1}", "mnr-client attachments (list|show|get|rm) ...") + "\n\n" +
         "  list --db PATH [--country C]\n"
         "  show --db PATH REF\n"
         "  get --db PATH REF --out FILE [--force]\n"
         "  rm --db PATH REF\n\n" +
         tr("REF is the attachment's field or at least 8 hex digits of its file's hash (see `attachments list`).\n"
            "Attach a file with `mnr-client attach`.") + "\n";
}

std::string SizeText(std::uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  if (bytes < (1u << 20)) return std::to_string((bytes + 1023) >> 10) + " KiB";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return text;
}

// Where the file is: here and on the server, here only (waiting for a sync, or refused), or only on
// the server (`get` or `sync --with-attachments` brings it).
std::string FileState(const AttachmentRow& a) {
  if (a.held < a.value.size) {
    return a.held == 0 ? tr("on the server only") : tr("arriving ({1} of {2})", SizeText(a.held), SizeText(a.value.size));
  }
  if (!a.refusal.empty()) return tr("refused by the server");
  return a.uploaded ? tr("here and on the server") : tr("waiting to be sent");
}

std::string TargetText(const AttachmentRow& a) {
  return a.target == "practice" ? tr("practice {1}", a.target_id.substr(0, 8)) : a.target_id;
}

int List(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client attachments list --db PATH [--country C]",
                tr("Lists the attachments of this store's countries: hash, country, what it is attached to, size,\n"
                   "where the file is, and title."));
  p.Option("db", "PATH", "the client store", true).Option("country", "CODE", "only this country");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  auto store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  auto rows = (*store)->Attachments(args.Get("country"));
  if (!rows.ok()) return Fail(rows.status());
  for (const auto& a : *rows) {
    std::string target = TargetText(a);
    target.resize(std::max<std::size_t>(target.size(), 34), ' ');
    std::string size = SizeText(a.value.size);
    size.resize(std::max<std::size_t>(size.size(), 9), ' ');
    std::cout << a.hash.substr(0, 12) << "  " << a.country << "  " << target << " " << size << " " << FileState(a) << "  "
              << OneLine(a.value.title, 60) << "\n";
  }
  if (rows->empty()) std::cerr << kProgram << ": " << tr("no attachments") << "\n";
  return cli::kExitOk;
}

int Show(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client attachments show --db PATH REF", tr("Shows one attachment: its field, file and state."));
  p.Option("db", "PATH", "the client store", true).Positional("REF", "the attachment's field or hash prefix");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  auto store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  auto a = (*store)->FindAttachment(args.positional()[0]);
  if (!a.ok()) return Fail(a.status());
  std::cout << StatusLabel(tr("title:")) << a->value.title << "\n"
            << StatusLabel(tr("country:")) << a->country << "\n"
            << StatusLabel(tr("attached to:")) << TargetText(*a) << "\n"
            << StatusLabel(tr("type:")) << a->value.media_type << "\n"
            << StatusLabel(tr("size:")) << SizeText(a->value.size) << " (" << a->value.size << " B)\n"
            << StatusLabel(tr("sha-256:")) << a->hash << "\n"
            << StatusLabel(tr("field:")) << a->field << "\n"
            << StatusLabel(tr("file:")) << FileState(*a) << "\n";
  if (!a->file_name.empty()) std::cout << StatusLabel(tr("from file:")) << a->file_name << "\n";
  if (!a->refusal.empty()) std::cout << StatusLabel(tr("refusal:")) << a->refusal << "\n";
  return cli::kExitOk;
}

int Get(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client attachments get --db PATH REF --out FILE [--force] [--timeout SECONDS]",
                tr("Writes an attachment's file to FILE. A file not in this store yet is fetched from the server\n"
                   "first (resuming where an earlier fetch stopped), and kept for next time."));
  p.Option("db", "PATH", "the client store", true)
      .Option("out", "FILE", "where to write the file", true)
      .Option("timeout", "SECONDS", "give up on a link that makes no progress for this long (default 30)")
      .Flag("force", "replace FILE if it exists (never the store itself)")
      .Positional("REF", "the attachment's field or hash prefix");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  std::chrono::milliseconds timeout{30000};
  if (auto t = args.Get("timeout")) {
    try {
      timeout = std::chrono::milliseconds(static_cast<long>(std::stod(*t) * 1000));
    } catch (const std::exception&) {
      timeout = std::chrono::milliseconds(0);
    }
    if (timeout.count() <= 0) return UsageError(tr("--timeout takes a positive number of seconds"));
  }
  const std::string out = *args.Get("out");
  const OutputRules rules{args.Has("force"), true, {*args.Get("db")}};
  if (Status s = CheckOutputFile(out, rules); !s.ok()) return Fail(s);
  auto store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  auto a = (*store)->FindAttachment(args.positional()[0]);
  if (!a.ok()) return Fail(a.status());
  if (a->held < a->value.size) {
    if (!(*store)->identity().credential) {
      return Fail(Status::NotFound(tr("the file is not in this store, and the store has no credential to fetch it with")));
    }
    if (Status s = FetchFileNow(**store, *a, timeout); !s.ok()) return Fail(s.With(tr("fetching the file")));
  }
  auto bytes = (*store)->ReadAttachmentFile(a->hash);
  if (!bytes.ok()) return Fail(bytes.status());
  if (Status s = WriteOutputFile(out, *bytes, rules, 0600); !s.ok()) return Fail(s);
  std::cout << tr("wrote {1} ({2}) to {3}", a->value.title, SizeText(a->value.size), out) << "\n";
  return cli::kExitOk;
}

int Remove(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client attachments rm --db PATH REF",
                tr("Removes an attachment. The removal is recorded and synced like any edit; the file stays in the\n"
                   "audit trail of the server that received it."));
  p.Option("db", "PATH", "the client store", true).Positional("REF", "the attachment's field or hash prefix");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  auto store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  auto a = (*store)->FindAttachment(args.positional()[0]);
  if (!a.ok()) return Fail(a.status());
  if (Status s = (*store)->RemoveAttachment(a->field); !s.ok()) return Fail(s);
  std::cout << tr("removed {1} from {2} {3}", a->value.title, a->country, TargetText(*a)) << "\n";
  return cli::kExitOk;
}

}  // namespace

int AttachCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client attach --db PATH --country C (--indicator I | --practice ID) FILE [--title T]",
                tr("Attaches an evidence file (the law, the strategy, a report) to an indicator's answer or to a\n"
                   "practice entry. Works offline: the file goes to the server with the next sync or bundle. Its\n"
                   "type is read from its bytes: {1}. Prints the file's hash.",
                   AcceptedMediaTypes()));
  p.Option("db", "PATH", "the client store", true)
      .Option("country", "CODE", "the country the evidence is for", true)
      .Option("indicator", "ID", "the indicator whose answer it supports (`mnr-client indicators`)")
      .Option("practice", "ID", "the practice entry it belongs to (`mnr-client practice list`)")
      .Option("title", "TEXT", "what the file is, in one line (default: the file's name)")
      .Positional("FILE", "the file to attach (at most the server's limit, 20 MiB by default)");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  if (args.Has("indicator") == args.Has("practice")) return UsageError(tr("attach needs --indicator ID or --practice ID (one of them)"));
  const std::string file = args.positional()[0];
  auto bytes = ReadFile(file, limits::kAttachmentBytes);
  if (!bytes.ok()) return Fail(bytes.status());
  auto store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  const bool indicator = args.Has("indicator");
  auto a = (*store)->Attach(*args.Get("country"), indicator ? "indicator" : "practice",
                            *args.Get(indicator ? "indicator" : "practice"), *bytes, file, args.GetOr("title", ""));
  if (!a.ok()) return Fail(a.status());
  std::cout << a->hash << "\n";
  std::cerr << kProgram << ": " << tr("attached {1} ({2}, {3}) to {4} {5}; it goes to the server with the next sync", a->value.title,
                                      a->value.media_type, SizeText(a->value.size), a->country, TargetText(*a))
            << "\n";
  return cli::kExitOk;
}

int AttachmentsCommand(const std::vector<std::string>& argv) {
  if (argv.empty()) {
    std::cerr << AttachmentsUsage();
    return cli::kExitUsage;
  }
  if (argv[0] == "--help" || argv[0] == "-h") {
    std::cout << AttachmentsUsage();
    return cli::kExitOk;
  }
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (argv[0] == "list") return List(rest);
  if (argv[0] == "show") return Show(rest);
  if (argv[0] == "get") return Get(rest);
  if (argv[0] == "rm") return Remove(rest);
  std::cerr << kProgram << ": " << tr("unknown attachments command \"{1}\"", OneLine(argv[0], 40)) << "\n" << AttachmentsUsage();
  return cli::kExitUsage;
}

}  // namespace mnr::client
