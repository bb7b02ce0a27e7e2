#include "bench/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

extern char** environ;

namespace mnr::bench {

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Child Spawn(const std::vector<std::string>& argv, const std::string& scratch) {
  static std::atomic<int> counter{0};
  const int n = counter++;
  Child c;
  c.out_path = scratch + "/spawn-" + std::to_string(n) + ".out";
  c.err_path = scratch + "/spawn-" + std::to_string(n) + ".err";
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, c.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, c.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  // The bench ignores SIGPIPE (its relay writes to sockets that close); the children get the default.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  c.start = std::chrono::steady_clock::now();
  if (posix_spawn(&c.pid, args[0], &fa, &attr, args.data(), environ) != 0) c.pid = -1;
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  return c;
}

Exit Wait(Child& c, std::chrono::seconds timeout, bool watch_memory) {
  Exit e;
  if (c.pid < 0) {
    e.err = "cannot start the process";
    return e;
  }
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  long peak = 0;
  std::thread watchdog([&] {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const std::chrono::steady_clock::duration every =
        watch_memory ? std::chrono::steady_clock::duration(std::chrono::milliseconds(2)) : deadline - std::chrono::steady_clock::now();
    std::unique_lock l(mu);
    for (;;) {
      if (watch_memory) peak = std::max(peak, PeakRssKib(c.pid));
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        ::kill(c.pid, SIGKILL);
        return;
      }
      if (cv.wait_for(l, std::min(every, deadline - now), [&] { return done; })) return;
    }
  });
  int status = 0;
  rusage ru{};
  pid_t r;
  do {
    r = ::wait4(c.pid, &status, 0, &ru);
  } while (r < 0 && errno == EINTR);
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - c.start).count();
  {
    std::lock_guard l(mu);
    done = true;
  }
  cv.notify_all();
  watchdog.join();
  e.code = (r == c.pid && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  if (r != c.pid) e.err = "wait4 failed: " + std::string(std::strerror(errno)) + "\n";
  if (r == c.pid && WIFSIGNALED(status)) e.err = "killed by signal " + std::to_string(WTERMSIG(status)) + "\n";
  e.max_rss_kib = ru.ru_maxrss;
  e.peak_rss_kib = peak;
  e.out = Slurp(c.out_path);
  e.err += Slurp(c.err_path);
  std::remove(c.out_path.c_str());
  std::remove(c.err_path.c_str());
  return e;
}

Exit Exec(const std::vector<std::string>& argv, const std::string& scratch, std::chrono::seconds timeout, bool watch_memory) {
  Child c = Spawn(argv, scratch);
  return Wait(c, timeout, watch_memory);
}

long PeakRssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

}  // namespace mnr::bench
