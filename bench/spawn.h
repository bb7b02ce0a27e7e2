// Runs the real binaries as child processes and times each whole, process start included, with the
// child's peak memory (getrusage via wait4, or sampled from /proc when asked). Output goes to files
// under a scratch directory so that a full pipe never stalls a child.
#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

namespace mnr::bench {

struct Exit {
  int code = -1;  // -1: killed by a signal or the timeout
  double seconds = 0;
  // ru_maxrss: the kernel also counts the spawning process's resident set at exec, so this is never
  // below the bench's own (the suite records /bin/true's figure beside it as that floor).
  long max_rss_kib = 0;
  // The child's own peak resident set (VmHWM of its image, sampled every 2 ms while it runs), when
  // Wait was asked to watch its memory; 0 otherwise. Unlike max_rss_kib it has no floor from the
  // bench, and it may miss a peak reached in the child's last 2 ms.
  long peak_rss_kib = 0;
  std::string out, err;
  bool ok() const { return code == 0; }
};

struct Child {
  pid_t pid = -1;
  std::chrono::steady_clock::time_point start;
  std::string out_path, err_path;
};

// Starts argv (argv[0] is a path) with stdin from /dev/null; output into files under `scratch`.
Child Spawn(const std::vector<std::string>& argv, const std::string& scratch);
// Waits for the child; kills it (SIGKILL) if it outlives `timeout`. With `watch_memory`, samples its
// peak memory meanwhile (Exit::peak_rss_kib).
Exit Wait(Child& child, std::chrono::seconds timeout, bool watch_memory = false);
// Spawn and Wait.
Exit Exec(const std::vector<std::string>& argv, const std::string& scratch,
          std::chrono::seconds timeout = std::chrono::seconds(900), bool watch_memory = false);

// Peak resident memory of a running process (VmHWM in /proc/PID/status), in KiB; 0 if unknown.
long PeakRssKib(pid_t pid);

}  // namespace mnr::bench
