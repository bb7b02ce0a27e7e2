// What a binary of mnr-sync says about itself on `--version`: the release, and the versions of the
// formats it speaks, so a coordinator can tell from one line whether a field office's mnr-client and the
// server can talk (protocol), read the same survey (schema) and open a given store. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace mnr {

// The release of mnr-sync these binaries belong to, from project(VERSION) in CMakeLists.txt ("0.1.0").
std::string_view SoftwareVersion();

// The one line `PROGRAM --version` prints, without a newline:
//   "mnr-client 0.1.0 (survey schema v1, protocol 2, oldest protocol 1)"
// The schema is the one compiled in (SurveySchema::Embedded), the protocols are kProtocolVersion and
// kOldestProtocolVersion of mnr/messages.h. `store`, when not empty, is appended inside the
// parentheses, e.g. "server store v5".
std::string VersionLine(std::string_view program, std::string_view store = {});

}  // namespace mnr
