// The server's log: one line per event on stderr, filtered by a process-wide level. Under systemd,
// when stderr is the journal's stream (JOURNAL_STREAM names stderr's device and inode), each line starts
// with the sd-daemon priority prefix ("<3>" error, "<4>" warning, "<6>" info, "<7>" debug) and carries
// no time stamp, since the journal adds its own; otherwise it starts with a UTC time stamp and, for
// errors, warnings and debug lines, the level's name. Survey content (answers, practice text) is
// never logged at info level or above: lines carry ids, counts and the server's own sentences.
// Set the level before the server starts. Lines come from the io_context thread and, for warnings,
// from the store workers (server/store_workers.h); each line is one write, so lines do not interleave.
#pragma once

#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace mnr::server {

// The numbers are syslog's priorities, which the journal prefixes use.
enum class LogLevel { kError = 3, kWarning = 4, kInfo = 6, kDebug = 7 };

// "error", "warning", "info" or "debug"; nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view name);
std::string_view LogLevelName(LogLevel level);

// Lines less severe than `level` are dropped from now on. The default is info.
void SetLogLevel(LogLevel level);
LogLevel CurrentLogLevel();

// Writes `text` as one line at `level` (nothing if the level filters it out). Newlines inside `text`
// become spaces, so one event is always one journal entry.
void WriteLogLine(LogLevel level, std::string_view text);

// Builds one line with << and writes it when the full expression ends:
//   LogLine(LogLevel::kInfo) << "sync peer=" << peer;
// A filtered-out level formats nothing.
class LogLine {
 public:
  explicit LogLine(LogLevel level) : level_(level), enabled_(level <= CurrentLogLevel()) {}
  ~LogLine() {
    if (enabled_) WriteLogLine(level_, text_.str());
  }
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  template <class T>
  LogLine& operator<<(const T& value) {
    if (enabled_) text_ << value;
    return *this;
  }

 private:
  LogLevel level_;
  bool enabled_;
  std::ostringstream text_;
};

}  // namespace mnr::server
