// mnr-client subcommands implemented outside main.cc. Each takes the arguments after the subcommand
// name and returns the process exit code (0 ok, 1 failure, 2 usage; sync has more, see sync_client.h).
#pragma once

#include <string>
#include <vector>
#include <ostream>

#include "client/client_store.h"
#include "mnr/cli.h"

namespace mnr::client {

int SurveyCommand(const std::vector<std::string>& args);   // client/survey.cc
int SyncCommand(const std::vector<std::string>& args);     // client/sync_client.cc
int BundleCommand(const std::vector<std::string>& args);   // client/sync_client.cc
int ImportBundleCommand(const std::vector<std::string>& args);  // client/return_bundle.cc (return bundles)
int ConflictsCommand(const std::vector<std::string>& args);  // client/cmd_remote.cc (coordinators)
int AuditCommand(const std::vector<std::string>& args);      // client/cmd_audit.cc (auditors, coordinators)
int AuditProofCommand(const std::vector<std::string>& args);  // client/cmd_audit_proof.cc (`audit proof`)
int ReceiptsCommand(const std::vector<std::string>& args);   // client/receipts.cc
int DatasetCommand(const std::vector<std::string>& args);    // client/cmd_dataset.cc (offline)
int SubmitCommand(const std::vector<std::string>& args);     // client/cmd_review.cc (field offices)
int ReplyCommand(const std::vector<std::string>& args);      // client/cmd_review.cc (field offices)
int ReviewCommand(const std::vector<std::string>& args);     // client/cmd_review.cc (coordinators, remote)
int UiCommand(const std::vector<std::string>& args);         // client/cmd_ui.cc (the local web app)
int TemplateCommand(const std::vector<std::string>& args);    // client/cmd_template.cc (spreadsheets)
int IndicatorsCommand(const std::vector<std::string>& args);  // client/cmd_template.cc
int RoundCommand(const std::vector<std::string>& args);       // client/cmd_round.cc (survey rounds)
int AttachCommand(const std::vector<std::string>& args);      // client/cmd_attach.cc (evidence files)
int AttachmentsCommand(const std::vector<std::string>& args);  // client/cmd_attach.cc
// `status --all` (coordinators and auditors, remote) and the review lines of the local `status`.
int StatusAllCommand(const cli::Args& args);
void PrintReviewStatus(ClientStore& store, std::ostream& os);

}  // namespace mnr::client
