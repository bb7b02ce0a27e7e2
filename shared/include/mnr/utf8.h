// Text validation shared by every input path (CLI, CSV, wire).
#pragma once

#include <string_view>

#include "mnr/status.h"

namespace mnr {

// True if `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// OK if `s` is valid UTF-8 with no NUL and at most `max_bytes` bytes; otherwise an InvalidArgument
// that names `what` ("note", "title").
Status CheckText(std::string_view s, std::string_view what, std::size_t max_bytes);

}  // namespace mnr
