// mnr-audit: checks an audit export file offline (docs/protocol.md, "Audit log and receipts"). It
// trusts nothing in the file but the CA certificate the auditor compares with the one they hold.
#include <iostream>
#include <string>
#include <vector>

#include "mnr/audit_format.h"
#include "mnr/cli.h"
#include "mnr/crypto.h"
#include "mnr/file_util.h"

namespace {

constexpr const char* kProgram = "mnr-audit";
constexpr std::size_t kMaxFileBytes = std::size_t{4} << 30;

const char* kHelp =
    "usage: mnr-audit verify FILE\n\n"
    "Checks an audit export (`mnr-server audit export` or `mnr-client audit export`) with no server data:\n"
    "the server certificate against the CA in the file; every log entry's hash and its link to the one\n"
    "before; every signed tree head against a recomputation of the Merkle tree and the server's signature;\n"
    "every change-set's signature against the certificate logged when its credential was issued; every\n"
    "inclusion proof (a change-set is in a tree head, e.g. a release's) and consistency proof (an older\n"
    "head is a prefix of a newer one); every release manifest's signature. Prints the CA's fingerprint:\n"
    "compare it with the one you hold. Exit status: 0 verified, 1 not (the first problem is named), 2 misuse.\n";

int Verify(const std::vector<std::string>& argv) {
  mnr::cli::Parser p("mnr-audit verify FILE", "Checks an audit export file offline (see mnr-audit --help).");
  p.Positional("FILE", "the export file");
  mnr::cli::Args a;
  if (auto rc = mnr::cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  const std::string path = a.positional()[0];
  auto text = mnr::ReadFile(path, kMaxFileBytes);
  if (!text.ok()) return mnr::cli::Fail(kProgram, text.status());
  const auto file = nlohmann::json::parse(*text, nullptr, false);
  if (file.is_discarded() || !file.is_object()) {
    std::cerr << kProgram << ": " << path << ": not a JSON object; not an audit export\n";
    return mnr::cli::kExitFailure;
  }
  auto summary = mnr::audit::VerifyExport(file);
  if (!summary.ok()) {
    std::cerr << kProgram << ": " << path << ": FAILED: " << summary.status().message() << "\n";
    return mnr::cli::kExitFailure;
  }
  auto ca = mnr::crypto::InspectCertificate(file.value("ca_certificate", ""));
  std::cout << path << ": verified " << summary->entries << " entries (" << summary->changesets << " change-sets), "
            << summary->tree_heads << " signed tree heads, " << summary->inclusion_proofs << " inclusion proofs, "
            << summary->consistency_proofs << " consistency proofs, " << summary->releases << " releases\n";
  if (ca.ok()) std::cout << "CA " << ca->common_name << ", SHA-256 fingerprint " << ca->fingerprint << "\n";
  return mnr::cli::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kHelp;
    return mnr::cli::kExitUsage;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kHelp;
    return mnr::cli::kExitOk;
  }
  if (args[0] == "--version") {
    std::cout << "mnr-audit " << MNR_VERSION << "\n";
    return mnr::cli::kExitOk;
  }
  if (args[0] == "verify") return Verify(std::vector<std::string>(args.begin() + 1, args.end()));
  std::cerr << kProgram << ": unknown command \"" << args[0] << "\" (see mnr-audit --help)\n";
  return mnr::cli::kExitUsage;
}
