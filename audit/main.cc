// mnr-audit: checks an audit export file offline (docs/protocol.md, "Audit log and receipts"). It
// trusts nothing in the file but the CA certificate the auditor compares with the one they hold.
#include <iostream>
#include <string>
#include <vector>

#include "mnr/audit_format.h"
#include "mnr/cli.h"
#include "mnr/crypto.h"
#include "mnr/file_util.h"
#include "mnr/version.h"

namespace {

constexpr const char* kProgram = "mnr-audit";
constexpr std::size_t kMaxFileBytes = std::size_t{4} << 30;

const char* kHelp =
    "usage: mnr-audit verify FILE [--tree-head SIZE:ROOT]...\n\n"
    "Checks an audit export (`mnr-server audit export` or `mnr-client audit export`) with no server data:\n"
    "the server certificate against the CA in the file; every log entry's hash and its link to the one\n"
    "before, and that the file holds as many entries as it says; every signed tree head against a\n"
    "recomputation of the Merkle tree and the server's signature; every change-set's signature against\n"
    "the certificate logged when its credential was issued; every inclusion proof (a change-set is in a\n"
    "tree head, e.g. a release's) and consistency proof (an older head is a prefix of a newer one); every\n"
    "release: its manifest's signature, that the log holds that manifest, that its tree head is signed and\n"
    "matches the log, and that the CSV the server holds hashes to the manifest's content hash; and that\n"
    "the credentials section is exactly what the log issued and revoked. A member the verifier does not\n"
    "check is refused. Prints the CA's fingerprint (compare it with the one you hold) and the tree head of\n"
    "the whole export (keep it to pin the next export).\n\n"
    "--tree-head SIZE:ROOT pins a tree head you hold, e.g. the tree_size and root of a receipt your field\n"
    "office kept (`mnr-client receipts`): the export must hold that log unchanged, i.e. at least SIZE\n"
    "entries whose first SIZE hash to ROOT, so a file cut short or rewritten fails even if the server\n"
    "re-signed it. Repeatable. Exit status: 0 verified, 1 not (the first problem is named), 2 misuse.\n";

int Verify(const std::vector<std::string>& argv) {
  mnr::cli::Parser p("mnr-audit verify FILE [--tree-head SIZE:ROOT]...", "Checks an audit export file offline (see mnr-audit --help).");
  p.Positional("FILE", "the export file")
      .Option("tree-head", "SIZE:ROOT", "a tree head you hold (a receipt's tree_size and root) that the export must contain unchanged",
              false, true);
  mnr::cli::Args a;
  if (auto rc = mnr::cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  mnr::audit::VerifyOptions options;
  for (const auto& text : a.GetAll("tree-head")) {
    auto pin = mnr::audit::ParsePinnedTreeHead(text);
    if (!pin.ok()) {
      std::cerr << kProgram << ": --tree-head: " << pin.status().message() << "\n";
      return mnr::cli::kExitUsage;
    }
    options.pins.push_back(*pin);
  }
  const std::string path = a.positional()[0];
  auto text = mnr::ReadFile(path, kMaxFileBytes);
  if (!text.ok()) return mnr::cli::Fail(kProgram, text.status());
  const auto file = nlohmann::json::parse(*text, nullptr, false);
  if (file.is_discarded() || !file.is_object()) {
    std::cerr << kProgram << ": " << path << ": not a JSON object; not an audit export\n";
    return mnr::cli::kExitFailure;
  }
  auto summary = mnr::audit::VerifyExport(file, options);
  if (!summary.ok()) {
    std::cerr << kProgram << ": " << path << ": FAILED: " << summary.status().message() << "\n";
    return mnr::cli::kExitFailure;
  }
  auto ca = mnr::crypto::InspectCertificate(file.value("ca_certificate", ""));
  std::cout << path << ": verified " << summary->entries << " entries (" << summary->changesets << " change-sets), "
            << summary->tree_heads << " signed tree heads, " << summary->inclusion_proofs << " inclusion proofs, "
            << summary->consistency_proofs << " consistency proofs, " << summary->releases << " releases, "
            << summary->credentials << " credentials\n";
  for (const auto& pin : options.pins) {
    std::cout << "contains, unchanged, the pinned tree head " << pin.size << ":" << pin.root
              << (pin.size == summary->entries ? " (equal)" : " (extended)") << "\n";
  }
  std::cout << "tree head " << summary->entries << ":" << summary->root << "\n";
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
    std::cout << mnr::VersionLine("mnr-audit") << "\n";
    return mnr::cli::kExitOk;
  }
  if (args[0] == "verify") return Verify(std::vector<std::string>(args.begin() + 1, args.end()));
  std::cerr << kProgram << ": unknown command \"" << args[0] << "\" (see mnr-audit --help)\n";
  return mnr::cli::kExitUsage;
}
