// The dataset's subcommands of mnr-server (server/cmd_dataset.cc). Each takes the arguments after
// the subcommand name and returns the exit code (0 ok, 1 failure, 2 usage).
#pragma once

#include <string>
#include <vector>

namespace mnr::server {

int AggregateCommand(const std::vector<std::string>& args);  // `aggregate`: exports, --rebuild, --countries
int ReleaseCommand(const std::vector<std::string>& args);    // `release --label`
int ReleasesCommand(const std::vector<std::string>& args);   // `releases list|show`
int PublishCommand(const std::vector<std::string>& args);    // `publish`
int SdmxStructureCommand(const std::vector<std::string>& args);  // `sdmx-structure`: the SDMX-ML structure message

}  // namespace mnr::server
