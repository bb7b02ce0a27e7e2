// `--version` of the three binaries, as a coordinator reads it to tell whether a field office's
// mnr-client and the server can talk: the release, the survey schema and the protocols.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "mnr/messages.h"
#include "mnr/survey_schema.h"
#include "mnr/version.h"
#include "tests/support/process.h"

namespace {

// Spelled out from the constants rather than through mnr::VersionLine, so a change to either shows.
std::string ExpectedVersionLineStart(const std::string& program) {
  return program + " " + MNR_VERSION + " (survey schema v" + std::to_string(mnr::SurveySchema::Embedded().version()) +
         ", protocol " + std::to_string(mnr::kProtocolVersion) + ", oldest protocol " +
         std::to_string(mnr::kOldestProtocolVersion);
}

}  // namespace

TEST_CASE("every binary's --version names the release with its survey schema and protocol versions", "[e2e][version]") {
  CHECK(std::string(mnr::SoftwareVersion()) == MNR_VERSION);

  auto client = mnr::test::Run({mnr::test::ClientBin(), "--version"});
  CHECK(client.exit_code == 0);
  CHECK(client.out == ExpectedVersionLineStart("mnr-client") + ")\n");

  auto audit = mnr::test::Run({MNR_AUDIT_BIN, "--version"});
  CHECK(audit.exit_code == 0);
  CHECK(audit.out == ExpectedVersionLineStart("mnr-audit") + ")\n");

  // The server adds the format of the store it writes (ServerStoreVersion, not linked here).
  auto server = mnr::test::Run({mnr::test::ServerBin(), "--version"});
  CHECK(server.exit_code == 0);
  CHECK_THAT(server.out, Catch::StartsWith(ExpectedVersionLineStart("mnr-server") + ", server store v"));
  CHECK_THAT(server.out, Catch::EndsWith(")\n"));
  const std::string store = server.out.substr(server.out.rfind(" v") + 2);
  CHECK(std::stoi(store) >= 1);
}
