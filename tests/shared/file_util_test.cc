// The one rule for output options (mnr/file_util.h): an existing file is replaced only with --force,
// and a store the command has open — by any name, link or companion file — never, whatever the flag.
#include "mnr/file_util.h"

#include <catch2/catch.hpp>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "mnr/sqlite.h"
#include "tests/support/process.h"

namespace mnr {
namespace {

using mnr::test::TempDir;

}  // namespace

TEST_CASE("file util: an output replaces an existing file only with force and says why otherwise") {
  TempDir tmp;
  const std::string out = tmp / "out.csv";
  CHECK(CheckOutputFile(out, {}).ok());
  REQUIRE(WriteOutputFile(out, "first\n", {}).ok());
  const Status again = WriteOutputFile(out, "second\n", {});
  CHECK(again.code() == Status::Code::kAlreadyExists);
  CHECK(again.message() == out + " exists; use --force to replace it, or choose another --out (nothing was written)");
  CHECK(mnr::test::ReadText(out) == "first\n");
  REQUIRE(WriteOutputFile(out, "second\n", {true, true, {}}).ok());
  CHECK(mnr::test::ReadText(out) == "second\n");
  // A command without --force (credential files) never replaces one.
  const Status never = CheckOutputFile(out, {false, false, {}});
  CHECK(never.message() == out + " exists; it is never overwritten: choose another --out (nothing was written)");
  // Not a directory, and not some other SQLite database, even with force.
  CHECK(CheckOutputFile(tmp.path(), {true, true, {}}).message().find("is a directory") != std::string::npos);
  {
    auto db = Db::Open(tmp / "other.db", true);
    REQUIRE(db.ok());
    REQUIRE((*db)->Exec("CREATE TABLE t (x)").ok());
  }
  const Status sqlite = CheckOutputFile(tmp / "other.db", {true, true, {}});
  CHECK(sqlite.code() == Status::Code::kInvalidArgument);
  CHECK(sqlite.message().find(tmp / "other.db is an SQLite database") == 0);
}

TEST_CASE("file util: the open store is never an output, by any name, link or companion file, whatever the flag") {
  TempDir tmp;
  std::filesystem::create_directory(tmp / "d");
  const std::string store = tmp / "d/s.db";
  auto db = Db::Open(store, true);
  REQUIRE(db.ok());
  REQUIRE((*db)->Exec("PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);").ok());
  REQUIRE(std::filesystem::exists(store + "-wal"));
  std::filesystem::create_symlink(store, tmp / "link.db");
  REQUIRE(::link(store.c_str(), (tmp / "hard.db").c_str()) == 0);
  const OutputRules forced{true, true, {store}};
  for (const std::string& target : {store, tmp / "d/../d/./s.db", tmp / "link.db", tmp / "hard.db", store + "-wal", store + "-shm",
                                    store + "-journal"}) {
    const Status s = CheckOutputFile(target, forced);
    INFO(target);
    CHECK(s.code() == Status::Code::kInvalidArgument);
    CHECK(s.message().find(target + " is ") == 0);
    CHECK(s.message().find("the store " + store + " this command has open; an output never replaces a store, even with --force") !=
          std::string::npos);
    CHECK_FALSE(WriteOutputFile(target, "x", forced).ok());
  }
  CHECK(CheckOutputFile(store + "-wal", forced).message().find("is the wal file of the store") != std::string::npos);
  // The store is untouched.
  auto st = (*db)->Prepare("SELECT x FROM t");
  REQUIRE(st.ok());
  REQUIRE(st->Step().value());
  CHECK(st->Int(0) == 1);
  // Any other file is fine.
  CHECK(CheckOutputFile(tmp / "d/s.csv", forced).ok());

  // An output directory replaced whole may not be or hold the store.
  CHECK(CheckOutputDirectory(tmp / "d", {store}).message().find(tmp / "d holds the store " + store) == 0);
  CHECK_FALSE(CheckOutputDirectory(tmp.path(), {store}).ok());
  CHECK_FALSE(CheckOutputDirectory(store, {store}).ok());
  CHECK(CheckOutputDirectory(tmp / "site", {store}).ok());
}

TEST_CASE("file util: a write that fails at any step leaves the old file whole, no temporary file, and says where") {
  TempDir dir;
  const std::string path = dir / "answers.csv";
  const auto names = [&dir] {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) out.push_back(e.path().filename().string());
    return out;
  };
  const struct {
    WriteStep step;
    const char* says;
  } steps[] = {{WriteStep::kOpen, "cannot create"},
               {WriteStep::kWrite, "cannot write"},
               {WriteStep::kSync, "cannot sync"},
               {WriteStep::kRename, "into place"},
               {WriteStep::kSyncDirectory, "cannot sync its directory"}};
  for (const auto& s : steps) {
    INFO("step " << static_cast<int>(s.step));
    REQUIRE(WriteFileAtomic(path, "old").ok());
    {
      ScopedWriteFault disk_full(s.step, ENOSPC);
      Status written = WriteFileAtomic(path, "new");
      CHECK(written.code() == Status::Code::kIOError);
      CHECK_THAT(written.message(), Catch::StartsWith(path + ": ") && Catch::Contains(s.says) &&
                                        Catch::EndsWith(std::strerror(ENOSPC)));
      // Until the rename the old content stays; after it, readers see the new one, but the caller
      // was told the write is not durable.
      CHECK(ReadFile(path, 100).value() == (s.step == WriteStep::kSyncDirectory ? "new" : "old"));
      CHECK(names() == std::vector<std::string>{"answers.csv"});
      // Only the one write fails.
      CHECK(WriteFileAtomic(path, "after").ok());
      CHECK(ReadFile(path, 100).value() == "after");
    }
  }

  // A file system that does not sync directories is not a failing device.
  {
    ScopedWriteFault no_directory_sync(WriteStep::kSyncDirectory, EINVAL);
    CHECK(WriteFileAtomic(path, "on a file system without directory sync").ok());
  }

  // The nth write from now on, not the next one.
  {
    ScopedWriteFault third(WriteStep::kSync, EIO, 3);
    CHECK(WriteFileAtomic(dir / "a", "1").ok());
    CHECK(WriteFileAtomic(dir / "b", "2").ok());
    CHECK_FALSE(WriteFileAtomic(dir / "c", "3").ok());
    CHECK(WriteFileAtomic(dir / "d", "4").ok());
  }
  CHECK_FALSE(FileExists(dir / "c"));
}

TEST_CASE("file util: a new file is never written over an existing one, and a failed write leaves nothing") {
  TempDir dir;
  const std::string path = dir / "office.mnrcred";
  REQUIRE(WriteNewFileAtomic(path, "first").ok());
  Status again = WriteNewFileAtomic(path, "second");
  CHECK(again.code() == Status::Code::kAlreadyExists);
  CHECK(ReadFile(path, 100).value() == "first");
  {
    ScopedWriteFault failing(WriteStep::kWrite, EIO);
    CHECK(WriteNewFileAtomic(dir / "other.mnrcred", "x").code() == Status::Code::kIOError);
  }
  CHECK_FALSE(FileExists(dir / "other.mnrcred"));
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  CHECK(files == 1);
}

}  // namespace mnr
