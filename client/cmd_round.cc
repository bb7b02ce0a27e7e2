// `mnr-client round`: the survey rounds this store holds and the one it works on (docs/rounds.md).
#include <iostream>

#include "client/cmd_common.h"
#include "client/commands.h"
#include "mnr/i18n.h"

namespace mnr::client {
namespace {

int RoundList(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client round list --db PATH",
                tr("Lists the survey's rounds, oldest first: the answers this store holds in each, the answers\n"
                   "carried forward and not yet confirmed, and (*) the round the store works on."));
  p.Option("db", "PATH", "the client store", true);
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  auto store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  auto rounds = (*store)->Rounds();
  if (!rounds.ok()) return Fail(rounds.status());
  for (const auto& r : *rounds) {
    std::cout << (r.current ? "* " : "  ") << r.round << "  " << trn("{n} answer", "{n} answers", r.answers);
    if (r.carried > 0) std::cout << ", " << trn("{n} carried, not yet confirmed", "{n} carried, not yet confirmed", r.carried);
    std::cout << "\n";
  }
  return cli::kExitOk;
}

int RoundStart(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client round start --db PATH YEAR [--carry-forward]",
                tr("Moves the store on to a new survey round (a later round of the survey schema): from then on\n"
                   "answer, import, export, template, survey and status work on it, and the earlier rounds stay\n"
                   "as they were (--round reads or edits one). The new round starts empty; with --carry-forward,\n"
                   "each answer of the round the store worked on is carried into it, marked as carried until\n"
                   "someone confirms it by giving it again (the same or another answer). A carried answer is\n"
                   "not sent to the server until it is confirmed."));
  p.Option("db", "PATH", "the client store", true)
      .Flag("carry-forward", "prefill the new round with the answers of the previous one, to confirm")
      .Positional("YEAR", "the new round, e.g. 2028");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kProgram, args)) return *code;
  auto store = OpenStore(args);
  if (!store.ok()) return Fail(store.status());
  const std::string from = (*store)->round();
  auto carried = (*store)->StartRound(args.positional()[0], args.Has("carry-forward"));
  if (!carried.ok()) return Fail(carried.status());
  std::cout << tr("this store now works on round {1} (was {2})", args.positional()[0], from) << "\n";
  if (args.Has("carry-forward")) {
    std::cout << trn("{n} answer carried from {1}; confirm each with answer, import or survey",
                     "{n} answers carried from {1}; confirm each with answer, import or survey", *carried, from)
              << "\n";
  }
  return cli::kExitOk;
}

}  // namespace

int RoundCommand(const std::vector<std::string>& argv) {
  const std::string help = tr(
      "usage: mnr-client round list --db PATH\n"
      "       mnr-client round start --db PATH YEAR [--carry-forward]\n\n"
      "The survey is run again every few years; each run is a round (2025, 2028, ...) with answers of its\n"
      "own. A store works on one round at a time.\n");
  if (argv.empty()) return UsageError(tr("round needs an action: list or start (see --help)"));
  if (argv[0] == "--help" || argv[0] == "-h") {
    std::cout << help;
    return cli::kExitOk;
  }
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (argv[0] == "list") return RoundList(rest);
  if (argv[0] == "start") return RoundStart(rest);
  return UsageError(tr("unknown round action \"{1}\" (list or start)", argv[0]));
}

}  // namespace mnr::client
