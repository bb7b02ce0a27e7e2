// Shared pieces of the mnr-client subcommands in client/cmd_*.cc: the entry points main.cc dispatches
// to, and the few helpers every command uses to open the store and report errors the same way.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/client_store.h"
#include "mnr/cli.h"
#include "mnr/status.h"

namespace mnr::client {

inline constexpr std::string_view kProgram = "mnr-client";

// Each takes the arguments after its subcommand name and returns the exit code (0, 1 or 2).
int InitCommand(const std::vector<std::string>& args);
int CountriesCommand(const std::vector<std::string>& args);
int AnswerCommand(const std::vector<std::string>& args);
int ImportCommand(const std::vector<std::string>& args);
int ExportCommand(const std::vector<std::string>& args);
int PracticeCommand(const std::vector<std::string>& args);
int StatusCommand(const std::vector<std::string>& args);
int LogCommand(const std::vector<std::string>& args);

// "mnr-client: message" on stderr; returns 1 (the command ran and failed; nothing was written).
int Fail(const Status& s);
// "mnr-client: message" on stderr; returns 2 (the command line is wrong).
int UsageError(std::string_view message);

// Opens the store named by --db, migrating it if needed, working on the round given by --round when
// the command has that option (WithRound) and it was given.
Result<std::unique_ptr<ClientStore>> OpenStore(const cli::Args& args);

// Adds --round YEAR: the survey round whose answers the command reads or writes.
cli::Parser& WithRound(cli::Parser& p);

// At most `max_chars` characters of `s` (UTF-8 aware) on one line: line breaks shown as "⏎", and
// "…" when cut.
std::string OneLine(std::string_view s, std::size_t max_chars);

// "label:" padded so the values of `status` line up: 13 columns, or one space after a longer
// translation (columns counted in characters, not bytes).
std::string StatusLabel(const std::string& label);

// The --country values, each of which may also be a comma-separated list.
std::vector<std::string> SplitCountries(const std::vector<std::string>& values);

}  // namespace mnr::client
