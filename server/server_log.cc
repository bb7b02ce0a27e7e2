#include "server/server_log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "mnr/wall_clock.h"

namespace mnr::server {
namespace {

// Atomic: SIGHUP sets it on the io_context thread while the store workers may be writing lines.
std::atomic<LogLevel> g_log_level{LogLevel::kInfo};

// systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it connected; stderr is the journal
// only if it is still that stream (a shell redirect in between makes it a file again).
bool StderrIsTheJournal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (!stream) return false;
  unsigned long long device = 0, inode = 0;
  if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == device && static_cast<unsigned long long>(st.st_ino) == inode;
}

std::string LogUtcStamp() {
  const std::time_t t = static_cast<std::time_t>(UnixNow());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  if (name == "error") return LogLevel::kError;
  if (name == "warning") return LogLevel::kWarning;
  if (name == "info") return LogLevel::kInfo;
  if (name == "debug") return LogLevel::kDebug;
  return std::nullopt;
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError: return "error";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kInfo: return "info";
    case LogLevel::kDebug: return "debug";
  }
  return "info";
}

void SetLogLevel(LogLevel level) { g_log_level = level; }
LogLevel CurrentLogLevel() { return g_log_level; }

void WriteLogLine(LogLevel level, std::string_view text) {
  if (level > g_log_level) return;
  static const bool journal = StderrIsTheJournal();
  std::string line;
  line.reserve(text.size() + 40);
  if (journal) {
    line += '<';
    line += static_cast<char>('0' + static_cast<int>(level));
    line += '>';
  } else {
    line += LogUtcStamp();
    line += ' ';
    if (level != LogLevel::kInfo) {
      line += LogLevelName(level);
      line += ": ";
    }
  }
  for (char c : text) line += (c == '\n' || c == '\r') ? ' ' : c;
  line += '\n';
  // One write per line, so lines from a crash or a concurrent admin command never interleave mid-line.
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace mnr::server
