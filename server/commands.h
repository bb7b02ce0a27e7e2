// mnr-server subcommands implemented outside main.cc. Each takes the arguments after the subcommand
// name and returns the process exit code (0 ok, 1 failure, 2 usage).
#pragma once

#include <string>
#include <vector>

namespace mnr::server {

int RunCommand(const std::vector<std::string>& args);  // server/sync_server.cc: `mnr-server run`
int AuditCommand(const std::vector<std::string>& args);  // server/cmd_audit.cc: `mnr-server audit log|verify|export`
int RenewCommand(const std::vector<std::string>& args);  // server/cmd_audit.cc: `mnr-server renew`
int ReviewCommand(const std::vector<std::string>& args);  // server/cmd_review.cc: `mnr-server review`
int StatusCommand(const std::vector<std::string>& args);  // server/cmd_review.cc: `mnr-server status`
int BackupCommand(const std::vector<std::string>& args);   // server/cmd_maintenance.cc: `mnr-server backup`
int RestoreCommand(const std::vector<std::string>& args);  // server/cmd_maintenance.cc: `mnr-server restore`
int CheckCommand(const std::vector<std::string>& args);    // server/cmd_maintenance.cc: `mnr-server check`

}  // namespace mnr::server
