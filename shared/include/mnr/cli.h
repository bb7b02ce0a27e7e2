// Command-line parsing shared by mnr-client, mnr-server and their subcommands, so every command has
// the same --help shape and the same exit codes: 0 success, 1 failure, 2 usage.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/status.h"

namespace mnr::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

class Args {
 public:
  bool Has(std::string_view option) const;  // flag given, or option given at least once
  std::optional<std::string> Get(std::string_view option) const;  // last value given
  std::string GetOr(std::string_view option, std::string_view fallback) const;
  std::vector<std::string> GetAll(std::string_view option) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  friend class Parser;
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> positional_;
};

// Describes one command. Options are "--name VALUE"; flags are "--name". "--name=VALUE" works too.
class Parser {
 public:
  Parser(std::string usage_line, std::string summary);
  Parser& Option(std::string name, std::string metavar, std::string help, bool required = false,
                 bool repeatable = false);
  Parser& Flag(std::string name, std::string help);
  // Positional arguments, in order; the last may take `rest` (one or more).
  Parser& Positional(std::string name, std::string help, bool required = true);
  Parser& Epilog(std::string text);

  // On --help: prints Help() to stdout, returns NotFound ("help shown"). On a usage error returns
  // InvalidArgument with a message naming the bad option; the caller prints it and exits 2.
  Result<Args> Parse(const std::vector<std::string>& argv) const;
  std::string Help() const;

 private:
  struct Opt {
    std::string name, metavar, help;
    bool required, repeatable, flag;
  };
  struct Pos {
    std::string name, help;
    bool required;
  };
  std::string usage_, summary_, epilog_;
  std::vector<Opt> options_;
  std::vector<Pos> positionals_;
};

// Runs a parse for a subcommand and folds the outcome into an exit code: returns std::nullopt when
// the command should go on with `out`, or the exit code to return now (0 after --help, 2 on misuse,
// with the message on stderr prefixed by `program`).
std::optional<int> ParseOrExit(const Parser& p, const std::vector<std::string>& argv,
                               std::string_view program, Args& out);

// Prints "PROGRAM: message" to stderr and returns 1 (or 2 for InvalidArgument from usage).
int Fail(std::string_view program, const Status& s);

}  // namespace mnr::cli
