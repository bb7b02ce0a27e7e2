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

namespace {

struct Command {
  const char* name;
  int (*run)(const std::vector<std::string>&);
  const char* summary;
};

const Command kCommands[] = {
    {"init", mnr::client::InitCommand, "create a store for a field office, or bind it to a credential"},
    {"countries", mnr::client::CountriesCommand, "import or list the country register (import, list)"},
    {"answer", mnr::client::AnswerCommand, "record, change or clear one survey answer"},
    {"import", mnr::client::ImportCommand, "record answers from a CSV file (all rows or none)"},
    {"export", mnr::client::ExportCommand, "write the answers (CSV) or everything (JSON)"},
    {"survey", mnr::client::SurveyCommand, "answer the questionnaire interactively in the terminal"},
    {"practice", mnr::client::PracticeCommand, "good-practice entries (add, edit, list, show, rm)"},
    {"status", mnr::client::StatusCommand, "this store's identity, progress and sync state"},
    {"log", mnr::client::LogCommand, "the history of edits, newest first"},
    {"sync", mnr::client::SyncCommand, "send unsynced edits to the server and fetch the merged state"},
    {"bundle", mnr::client::BundleCommand, "write unsynced edits to a file for a USB stick"},
    {"import-bundle", mnr::client::ImportBundleCommand, "apply a return bundle from the server (USB stick)"},
    {"submit", mnr::client::SubmitCommand, "hand a country's survey in for review"},
    {"reply", mnr::client::ReplyCommand, "answer a coordinator's query"},
    {"review", mnr::client::ReviewCommand, "coordinators: list, show, approve or return countries' surveys"},
    {"conflicts", mnr::client::ConflictsCommand, "the server's conflicts: list and show (field: own countries); resolve (coordinators)"},
    {"receipts", mnr::client::ReceiptsCommand, "the server's signed receipts for this device's change-sets"},
    {"audit", mnr::client::AuditCommand, "auditors and coordinators: the server's audit log and its export"},
    {"dataset", mnr::client::DatasetCommand, "the global dataset release received on sync, offline"},
};

std::string Overview() {
  std::string out =
      "usage: mnr-client COMMAND [ARGS...]\n\n"
      "Records the MNR survey offline in a local store and syncs it with the reconciliation server.\n\n"
      "commands:\n";
  std::size_t width = 14;
  for (const auto& c : kCommands) width = std::max(width, std::string_view(c.name).size() + 4);
  for (const auto& c : kCommands) {
    std::string left = std::string("  ") + c.name;
    left.resize(width, ' ');
    out += left + c.summary + "\n";
  }
  out +=
      "\nRun `mnr-client COMMAND --help` for a command's options.\n"
      "Exit status: 0 done, 1 failed or refused (nothing was written), 2 bad command line.\n";
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
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
    std::cout << "mnr-client " << MNR_VERSION << "\n";
    return mnr::cli::kExitOk;
  }
  for (const auto& c : kCommands) {
    if (name != c.name) continue;
    try {
      return c.run(std::vector<std::string>(args.begin() + 1, args.end()));
    } catch (const std::exception& e) {
      std::cerr << "mnr-client: internal error: " << e.what() << "\n";
      return mnr::cli::kExitFailure;
    }
  }
  return mnr::client::UsageError("unknown command \"" + name + "\" (see mnr-client --help)");
}
