// File access used by every command that reads user files or writes outputs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mnr/status.h"

namespace mnr {

// Reads a whole file; refuses files larger than `max_bytes` with an error naming the path.
Result<std::string> ReadFile(const std::string& path, std::size_t max_bytes);
// Writes `data` to a temporary file beside `path`, fsyncs it, renames it over `path` and fsyncs the
// directory: readers see the old or the new content, never a mix, even across a crash.
Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode = 0644);
bool FileExists(const std::string& path);

// What an output option (`--out FILE`) may replace. Every command that writes a file a user named
// checks it here, so the rules are the same everywhere:
// - an existing file is replaced only with `force` (the command's --force); never a directory;
// - a file that is one of `stores` (an SQLite store the command has open or is about to open) or its
//   "-wal", "-shm" or "-journal" companion is never written, whatever the flag: the comparison is by
//   device and inode, so another spelling of the path, a symbolic link or a hard link is caught too;
// - an existing SQLite database is never replaced, whatever the flag (no output is a database).
// The error names the file and says why (AlreadyExists or InvalidArgument).
struct OutputRules {
  bool force = false;       // --force was given
  bool has_force = true;    // the command offers --force (the error suggests it only then)
  std::vector<std::string> stores;
};
Status CheckOutputFile(const std::string& path, const OutputRules& rules);
// CheckOutputFile, then WriteFileAtomic.
Status WriteOutputFile(const std::string& path, std::string_view data, const OutputRules& rules, unsigned mode = 0644);
// For an output directory that is replaced whole (`publish --out DIR`): refuses a `path` that is one
// of the `stores` files or a directory holding one of them at any depth.
Status CheckOutputDirectory(const std::string& path, const std::vector<std::string>& stores);

}  // namespace mnr
