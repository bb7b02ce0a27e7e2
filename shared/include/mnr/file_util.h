// File access used by every command that reads user files or writes outputs.
#pragma once

#include <string>
#include <string_view>

#include "mnr/status.h"

namespace mnr {

// Reads a whole file; refuses files larger than `max_bytes` with an error naming the path.
Result<std::string> ReadFile(const std::string& path, std::size_t max_bytes);
// Writes `data` to a temporary file beside `path`, fsyncs it, renames it over `path` and fsyncs the
// directory: readers see the old or the new content, never a mix, even across a crash.
Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode = 0644);
bool FileExists(const std::string& path);

}  // namespace mnr
