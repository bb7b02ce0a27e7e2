// Test support: run the real binaries as processes, with a timeout, and scratch directories that
// clean up after themselves. Used by every end-to-end test.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace mnr::test {

struct RunResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  int signal = 0;
  std::string out;
  std::string err;
};

// Runs argv[0] with arguments, feeding `input` on stdin; kills it after `timeout`.
RunResult Run(const std::vector<std::string>& argv, const std::string& input = "",
              std::chrono::seconds timeout = std::chrono::seconds(60),
              const std::vector<std::string>& extra_env = {});

// A process left running in the background (a server); killed (SIGTERM, then SIGKILL) on destruction.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const std::string& log_path);
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  int pid() const { return pid_; }
  void Kill(int sig);
  // Waits for exit; returns the exit status as Run does.
  int Wait(std::chrono::seconds timeout);

 private:
  int pid_ = -1;
};

// A fresh directory under TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ClientBin();
std::string ServerBin();
std::string SourceDir();
std::string ReadText(const std::string& path);
void WriteText(const std::string& path, const std::string& text);
// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();
// Waits until something accepts connections on 127.0.0.1:port.
bool WaitForPort(int port, std::chrono::milliseconds timeout);

}  // namespace mnr::test
