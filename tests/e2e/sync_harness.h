// A real mnr-server on loopback with a scratch data directory, and helpers to make field stores bound
// to credentials it issued. Shared by the end-to-end sync tests.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace mnr::test {

class SyncHarness {
 public:
  // Initialises a server store with countries Q01 (high), Q02 (upper_middle), Q03 (low) and starts
  // `mnr-server run` on a free loopback port.
  explicit SyncHarness(const std::vector<std::string>& extra_run_args = {});
  ~SyncHarness();

  const TempDir& dir() const { return dir_; }
  const std::string& data() const { return data_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  std::string log() const { return ReadText(dir_ / "server.log"); }
  // The server log once it contains `text`, or as it stands after `timeout`: the server may close a
  // connection before it writes the line that says why.
  std::string LogOnce(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

  RunResult Server(std::vector<std::string> args) const;  // mnr-server ARGS (--data added where needed by caller)
  RunResult Client(std::vector<std::string> args) const;  // mnr-client ARGS
  // Issues a field credential for `countries` and creates a store bound to it; returns the db path.
  std::string NewFieldStore(const std::string& name, const std::vector<std::string>& countries);
  std::string CredentialPath(const std::string& name) const { return dir_ / (name + ".mnrcred"); }
  RunResult Sync(const std::string& db, const std::string& address = "") const;
  void StopServer();
  void StartServer();

 private:
  TempDir dir_;
  std::string data_;
  int port_ = 0;
  std::vector<std::string> run_args_;
  std::unique_ptr<Background> server_;
};

// Steps the end-to-end tests share; each fails the running test when the step fails.

// `r` itself, after requiring that it exited 0 (its output is shown when it did not).
RunResult Ok(const RunResult& r);
// The answers of the store at `db` as `mnr-client export --format csv` prints them.
std::string ExportCsv(const SyncHarness& h, const std::string& db);
// mnr-audit ARGS.
RunResult Audit(std::vector<std::string> args);
// Runs `sql` on the SQLite file at `db_path`, with `params` bound to ?1, ?2, ...: how a test plays
// someone who edits a store behind the product's back.
void Sql(const std::string& db_path, const std::string& sql, const std::vector<std::string>& params = {});
// The first column of the first row `sql` returns from `db_path`, as text.
std::string Scalar(const std::string& db_path, const std::string& sql);
bool Contains(const std::string& haystack, const std::string& needle);

}  // namespace mnr::test
