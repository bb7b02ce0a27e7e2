#include "mnr/version.h"

#include "mnr/messages.h"
#include "mnr/survey_schema.h"
#include "mnr/version_config.h"

namespace mnr {

std::string_view SoftwareVersion() { return MNR_PROJECT_VERSION; }

std::string VersionLine(std::string_view program, std::string_view store) {
  std::string line = std::string(program) + " " + std::string(SoftwareVersion()) + " (survey schema v" +
                     std::to_string(SurveySchema::Embedded().version()) + ", protocol " +
                     std::to_string(kProtocolVersion) + ", oldest protocol " + std::to_string(kOldestProtocolVersion);
  if (!store.empty()) line += ", " + std::string(store);
  return line + ")";
}

}  // namespace mnr
