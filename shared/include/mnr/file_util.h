// File access used by every command that reads user files or writes outputs. A file the product
// writes whole (outputs, releases, credentials, keys) goes through WriteFileAtomic or
// WriteNewFileAtomic, which is where tests inject faults.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/status.h"

namespace mnr {

// Reads a whole file; refuses files larger than `max_bytes` with an error naming the path.
Result<std::string> ReadFile(const std::string& path, std::size_t max_bytes);
// Writes `data` to a temporary file beside `path`, fsyncs it, renames it over `path` and fsyncs the
// directory: readers see the old or the new content, never a mix, even across a crash. On an error
// before the rename, `path` is as it was and the temporary file is removed; on an error syncing the
// directory after it, readers already see the new content, which a crash may still undo.
Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode = 0644);
// WriteFileAtomic that never replaces an existing file, not even one a concurrent writer creates
// meanwhile (RENAME_NOREPLACE): AlreadyExists, and nothing written, if `path` exists.
Status WriteNewFileAtomic(const std::string& path, std::string_view data, unsigned mode = 0600);

// The steps of an atomic write, where a test can make one fail.
struct WriteFault;
enum class WriteStep { kOpen, kWrite, kSync, kRename, kSyncDirectory };
// For tests: while it lives, the `nth` atomic write from now on (1: the next one), on any thread,
// fails at `step` with `error` (an errno value such as ENOSPC or EIO), as a full disk or a failing
// device would; the writes before and after it are untouched. One at a time.
class ScopedWriteFault {
 public:
  ScopedWriteFault(WriteStep step, int error, int nth = 1);
  ~ScopedWriteFault();
  ScopedWriteFault(const ScopedWriteFault&) = delete;
  ScopedWriteFault& operator=(const ScopedWriteFault&) = delete;

 private:
  std::unique_ptr<WriteFault> fault_;
};
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
