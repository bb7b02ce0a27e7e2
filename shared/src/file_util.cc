#include "mnr/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>

namespace mnr {

struct WriteFault {
  WriteStep step;
  int error;
  std::atomic<int> calls_left;
};

namespace {

Status PosixError(const std::string& context, int err) { return Status::IOError(context + ": " + std::strerror(err)); }

// The files SQLite keeps beside a database.
constexpr const char* kStoreCompanions[] = {"", "-wal", "-shm", "-journal"};

struct FileId {
  dev_t dev;
  ino_t ino;
  bool operator==(const FileId&) const = default;
};

std::optional<FileId> IdOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

// The path made absolute and free of "." and ".." (following the links that exist), for comparing
// spellings of files that do not exist yet.
std::string Normal(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
  return ec ? path : p.string();
}

bool IsSqliteDatabase(const std::string& path) {
  static constexpr char kMagic[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f', 'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  char head[sizeof kMagic];
  const ssize_t n = ::read(fd, head, sizeof head);
  ::close(fd);
  return n == static_cast<ssize_t>(sizeof head) && std::memcmp(head, kMagic, sizeof head) == 0;
}

}  // namespace

Result<std::string> ReadFile(const std::string& path, std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return PosixError(path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return PosixError(path, e);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(path + ": is a directory");
  }
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return PosixError(path, e);
    }
    if (n == 0) break;
    if (data.size() + static_cast<std::size_t>(n) > max_bytes) {
      ::close(fd);
      return Status::InvalidArgument(path + ": larger than the limit of " + std::to_string(max_bytes) + " bytes");
    }
    data.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return data;
}

namespace {

std::atomic<WriteFault*> injected_fault{nullptr};
std::atomic<std::uint64_t> temporary_counter{0};

// The step at which this call of WriteAtomic is to fail, if a test asked for it.
std::optional<WriteStep> TakeFault(int& error) {
  WriteFault* f = injected_fault.load(std::memory_order_acquire);
  if (f == nullptr || f->calls_left.fetch_sub(1, std::memory_order_acq_rel) != 1) return std::nullopt;
  error = f->error;
  return f->step;
}

// One writer for WriteFileAtomic and WriteNewFileAtomic. The temporary file's name is unique per
// process and call, so that two threads writing the same path never share it.
Status WriteAtomic(const std::string& path, std::string_view data, unsigned mode, bool replace) {
  int fault_error = 0;
  const std::optional<WriteStep> fault = TakeFault(fault_error);
  // Runs `call` unless the test's fault is at `step`; either way, leaves errno to report.
  const auto step = [&](WriteStep at, auto&& call) {
    if (fault == at) {
      errno = fault_error;
      return false;
    }
    return call();
  };
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" +
                          std::to_string(temporary_counter.fetch_add(1, std::memory_order_relaxed));
  int fd = -1;
  if (!step(WriteStep::kOpen, [&] { return (fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(mode))) >= 0; })) {
    return PosixError(path + ": cannot create " + tmp, errno);
  }
  const auto fail = [&](const std::string& what, int err) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    return PosixError(path + ": " + what, err);
  };
  // Sets the mode the umask may have narrowed. A file system without permissions (a FAT USB stick,
  // where bundles travel) refuses it, and the file is written all the same.
  (void)::fchmod(fd, static_cast<mode_t>(mode));
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = -1;
    if (!step(WriteStep::kWrite, [&] { return (n = ::write(fd, data.data() + off, data.size() - off)) >= 0; })) {
      if (errno == EINTR) continue;
      return fail("cannot write " + tmp, errno);
    }
    off += static_cast<std::size_t>(n);
  }
  if (!step(WriteStep::kSync, [&] { return ::fsync(fd) == 0; })) return fail("cannot sync " + tmp, errno);
  const int closing = fd;
  fd = -1;
  if (::close(closing) != 0) return fail("cannot close " + tmp, errno);
  if (replace) {
    if (!step(WriteStep::kRename, [&] { return ::rename(tmp.c_str(), path.c_str()) == 0; })) {
      return fail("cannot rename " + tmp + " into place", errno);
    }
  } else if (!step(WriteStep::kRename, [&] { return ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0; })) {
    const int err = errno;
    if (err == EEXIST) {
      ::unlink(tmp.c_str());
      return Status::AlreadyExists(path + ": already exists");
    }
    if (err != EINVAL && err != ENOSYS) return fail("cannot rename " + tmp + " into place", err);
    // File systems without RENAME_NOREPLACE: check, then rename; the window is tiny and local.
    if (FileExists(path)) {
      ::unlink(tmp.c_str());
      return Status::AlreadyExists(path + ": already exists");
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("cannot rename " + tmp + " into place", errno);
  }
  // The rename is durable only once the directory is: a failing device here is reported, although
  // the new content is already what readers see. As in SQLite, a directory that cannot be opened, or
  // a file system that does not sync directories (EINVAL, ENOTSUP), is not an error.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Status::OK();
  const bool synced = step(WriteStep::kSyncDirectory, [&] { return ::fsync(dfd) == 0; });
  const int err = errno;
  ::close(dfd);
  if (!synced && err != EINVAL && err != ENOTSUP && err != ENOSYS) return PosixError(path + ": cannot sync its directory " + dir, err);
  return Status::OK();
}

}  // namespace

Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode) {
  return WriteAtomic(path, data, mode, true);
}

Status WriteNewFileAtomic(const std::string& path, std::string_view data, unsigned mode) {
  return WriteAtomic(path, data, mode, false);
}

ScopedWriteFault::ScopedWriteFault(WriteStep step, int error, int nth) : fault_(new WriteFault{step, error, nth}) {
  injected_fault.store(fault_.get(), std::memory_order_release);
}

ScopedWriteFault::~ScopedWriteFault() { injected_fault.store(nullptr, std::memory_order_release); }

bool FileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

Status CheckOutputFile(const std::string& path, const OutputRules& rules) {
  if (path.empty()) return Status::InvalidArgument("the output file name is empty");
  const auto target = IdOf(path);
  const std::string normal = Normal(path);
  for (const auto& store : rules.stores) {
    for (const char* suffix : kStoreCompanions) {
      const std::string file = store + suffix;
      const auto id = IdOf(file);
      if ((target && id && *target == *id) || normal == Normal(file)) {
        return Status::InvalidArgument(path + " is " + (*suffix ? "the " + std::string(suffix + 1) + " file of " : std::string()) +
                                       "the store " + store + " this command has open; an output never replaces a store, even "
                                       "with --force: choose another --out (nothing was written)");
      }
    }
  }
  if (!target) return Status::OK();
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument(path + " is a directory; --out names a file (nothing was written)");
  }
  if (IsSqliteDatabase(path)) {
    return Status::InvalidArgument(path + " is an SQLite database (a store?); an output never replaces one, even with --force: "
                                          "choose another --out (nothing was written)");
  }
  if (!rules.force) {
    return Status::AlreadyExists(path + " exists; " +
                                 (rules.has_force ? std::string("use --force to replace it, or choose another --out")
                                                  : std::string("it is never overwritten: choose another --out")) +
                                 " (nothing was written)");
  }
  return Status::OK();
}

Status WriteOutputFile(const std::string& path, std::string_view data, const OutputRules& rules, unsigned mode) {
  MNR_RETURN_IF_ERROR(CheckOutputFile(path, rules));
  return WriteFileAtomic(path, data, mode);
}

Status CheckOutputDirectory(const std::string& path, const std::vector<std::string>& stores) {
  const auto target = IdOf(path);
  const std::string normal = Normal(path);
  for (const auto& store : stores) {
    for (const char* suffix : kStoreCompanions) {
      const std::string file = store + suffix;
      if (!IdOf(file) && suffix != std::string_view()) continue;
      std::error_code ec;
      for (std::filesystem::path p = std::filesystem::absolute(file, ec);; p = p.parent_path()) {
        const auto id = IdOf(p.string());
        if ((target && id && *target == *id) || normal == Normal(p.string())) {
          return Status::InvalidArgument(path + (p == std::filesystem::absolute(file, ec) ? " is" : " holds") + " the store " + store +
                                         "; writing the output there would replace it: choose another --out (nothing was written)");
        }
        if (p == p.parent_path() || p.empty()) break;
      }
    }
  }
  return Status::OK();
}

}  // namespace mnr
