// mnr-client: the field office's offline tool. Records the MNR survey and good-practice entries in a
// local store, shows their history, and hands change-sets to the server (sync, or a USB bundle).
#include <algorithm>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "client/cmd_common.h"
#include "client/commands.h"
#include "mnr/cli.h"
#include "mnr/i18n.h"
#include "mnr/version.h"

namespace {

struct Command {
  const char* name;
  int (*run)(const std::vector<std::string>&);
  const char* summary;  // an English msgid; shown through mnr::tr
};

// Marks a msgid for xgettext (keyword "tr") without translating it yet: the table is built before
// InitMessages has chosen the language.
constexpr const char* tr(const char* msgid) { return msgid; }

const Command kCommands[] = {
    {"ui", mnr::client::UiCommand, tr("the web app on this computer: questionnaire, sync, review (in a browser)")},
    {"init", mnr::client::InitCommand, tr("create a store for a field office, or bind it to a credential")},
    {"countries", mnr::client::CountriesCommand, tr("import or list the country register (import, list)")},
    {"answer", mnr::client::AnswerCommand, tr("record, change or clear one survey answer")},
    {"import", mnr::client::ImportCommand, tr("record answers from a CSV file or an Excel workbook (all rows or none)")},
    {"export", mnr::client::ExportCommand, tr("write the answers (CSV, Excel) or everything (JSON)")},
    {"template", mnr::client::TemplateCommand, tr("every indicator with its text and current answer, to fill in (CSV, Excel)")},
    {"indicators", mnr::client::IndicatorsCommand, tr("list the indicator ids with their domain, capability and text")},
    {"round", mnr::client::RoundCommand, tr("the survey rounds: list them, or start a new one (--carry-forward)")},
    {"survey", mnr::client::SurveyCommand, tr("answer the questionnaire interactively in the terminal")},
    {"practice", mnr::client::PracticeCommand, tr("good-practice entries (add, edit, list, show, rm)")},
    {"attach", mnr::client::AttachCommand, tr("attach an evidence file to an answer or a practice entry")},
    {"attachments", mnr::client::AttachmentsCommand, tr("evidence files (list, show, get, rm)")},
    {"status", mnr::client::StatusCommand, tr("this store's identity, progress and sync state")},
    {"log", mnr::client::LogCommand, tr("the history of edits, newest first")},
    {"sync", mnr::client::SyncCommand, tr("send unsynced edits to the server and fetch the merged state")},
    {"bundle", mnr::client::BundleCommand, tr("write unsynced edits to a file for a USB stick")},
    {"import-bundle", mnr::client::ImportBundleCommand, tr("apply a return bundle from the server (USB stick)")},
    {"submit", mnr::client::SubmitCommand, tr("hand a country's survey in for review")},
    {"reply", mnr::client::ReplyCommand, tr("answer a coordinator's query")},
    {"review", mnr::client::ReviewCommand, tr("coordinators: list, show, approve or return countries' surveys")},
    {"conflicts", mnr::client::ConflictsCommand, tr("the server's conflicts: list and show (field: own countries); resolve (coordinators)")},
    {"receipts", mnr::client::ReceiptsCommand, tr("the server's signed receipts for this device's change-sets")},
    {"audit", mnr::client::AuditCommand, tr("auditors and coordinators: the server's audit log and its export")},
    {"dataset", mnr::client::DatasetCommand, tr("the global dataset release received on sync, offline")},
};

std::string Overview() {
  std::string out = mnr::tr("usage: mnr-client COMMAND [ARGS...]") + "\n\n" +
                    mnr::tr("Records the MNR survey offline in a local store and syncs it with the reconciliation server.") +
                    "\n\n" + mnr::tr("commands:") + "\n";
  std::size_t width = 14;
  for (const auto& c : kCommands) width = std::max(width, std::string_view(c.name).size() + 4);
  for (const auto& c : kCommands) {
    std::string left = std::string("  ") + c.name;
    left.resize(width, ' ');
    out += left + mnr::tr(c.summary) + "\n";
  }
  out += "\n" + mnr::tr("Run `mnr-client COMMAND --help` for a command's options.") + "\n" +
         mnr::tr("mnr-client --lang en|fr COMMAND ... sets the language of messages (default: from LANGUAGE,\n"
                 "LC_ALL, LC_MESSAGES or LANG; English when none names French). After COMMAND too, except for\n"
                 "export, template and practice, whose own --lang is the language of their data.") +
         "\n" +
         mnr::tr("Exit status: 0 done, 1 failed or refused (nothing was written), 2 bad command line.") + "\n";
  return out;
}

// Commands whose own --lang is about data (the language of an exported file's labels, of a practice
// entry): there, only a --lang before the command name sets the language of messages.
bool HasOwnLanguageOption(std::string_view command) {
  return command == "export" || command == "template" || command == "practice" || command == "attachments";
}

// Takes the language of messages from "--lang X" / "--lang=X": before the command name, or after it
// (before any "--") unless the command has its own --lang. The option is removed from `args`, except
// for `survey` and `indicators`, whose --lang (labels and prompts) is the same choice. Returns false on
// a value other than en or fr.
bool TakeLanguage(std::vector<std::string>& args, std::string& lang) {
  const auto take = [&](std::size_t i, bool remove) -> std::size_t {  // returns how many to skip
    if (args[i] == "--lang" && i + 1 < args.size()) {
      lang = args[i + 1];
      if (remove) args.erase(args.begin() + static_cast<std::ptrdiff_t>(i), args.begin() + static_cast<std::ptrdiff_t>(i) + 2);
      return remove ? 0 : 2;
    }
    if (args[i].rfind("--lang=", 0) == 0) {
      lang = args[i].substr(7);
      if (remove) args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
      return remove ? 0 : 1;
    }
    return 1;
  };
  // Before the command name.
  while (!args.empty() && (args[0] == "--lang" || args[0].rfind("--lang=", 0) == 0)) {
    if (args[0] == "--lang" && args.size() < 2) break;
    take(0, true);
  }
  if (!args.empty() && !HasOwnLanguageOption(args[0])) {
    const bool keep = args[0] == "survey" || args[0] == "indicators";
    for (std::size_t i = 1; i < args.size();) {
      if (args[i] == "--") break;
      i += take(i, !keep);
    }
  }
  return lang.empty() || lang == "en" || lang == "fr";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string lang;
  const bool lang_ok = TakeLanguage(args, lang);
  // Catalogues next to the binary's prefix when installed (bin/../share/locale), the build tree's
  // when run from there; MNR_LOCALEDIR overrides both (see mnr/i18n.h).
  mnr::InitMessages({MNR_MESSAGES_DOMAIN, lang_ok ? lang : "", MNR_BUILD_LOCALEDIR, "../share/locale"});
  if (!lang_ok) return mnr::client::UsageError(mnr::tr("--lang must be en or fr, not \"{1}\"", lang));
  if (args.empty()) {
    std::cerr << Overview();
    return mnr::cli::kExitUsage;
  }
  const std::string& name = args.front();
  if (name == "--help" || name == "-h" || name == "help") {
    std::cout << Overview();
    return mnr::cli::kExitOk;
  }
  if (name == "--version") {
    std::cout << mnr::VersionLine("mnr-client") << "\n";
    return mnr::cli::kExitOk;
  }
  for (const auto& c : kCommands) {
    if (name != c.name) continue;
    try {
      return c.run(std::vector<std::string>(args.begin() + 1, args.end()));
    } catch (const std::exception& e) {
      std::cerr << "mnr-client: " << mnr::tr("internal error: {1}", e.what()) << "\n";
      return mnr::cli::kExitFailure;
    }
  }
  return mnr::client::UsageError(mnr::tr("unknown command \"{1}\" (see mnr-client --help)", name));
}
