#include "tests/e2e/sync_harness.h"

#include <stdexcept>
#include <thread>

#include <catch2/catch.hpp>

#include "mnr/sqlite.h"

namespace mnr::test {

SyncHarness::SyncHarness(const std::vector<std::string>& extra_run_args) : run_args_(extra_run_args) {
  data_ = dir_ / "server";
  port_ = FreePort();
  auto init = Run({ServerBin(), "init", "--data", data_, "--address", address()});
  if (init.exit_code != 0) throw std::runtime_error("mnr-server init: " + init.err);
  WriteText(dir_ / "countries.csv",
            "code,name,income_group,region\nQ01,Placeholder Q01,high,europe_central_asia\n"
            "Q02,Placeholder Q02,upper_middle,americas\nQ03,Placeholder Q03,low,africa\n");
  auto imp = Run({ServerBin(), "countries", "import", "--data", data_, dir_ / "countries.csv"});
  if (imp.exit_code != 0) throw std::runtime_error("mnr-server countries import: " + imp.err);
  StartServer();
}

SyncHarness::~SyncHarness() { StopServer(); }

void SyncHarness::StartServer() {
  std::vector<std::string> argv = {ServerBin(), "run", "--data", data_, "--listen", address()};
  argv.insert(argv.end(), run_args_.begin(), run_args_.end());
  server_ = std::make_unique<Background>(argv, dir_ / "server.log");
  if (!WaitForPort(port_, std::chrono::seconds(10))) throw std::runtime_error("server did not listen: " + log());
}

void SyncHarness::StopServer() { server_.reset(); }

std::string SyncHarness::LogOnce(const std::string& text, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string text_now = log();
  while (!Contains(text_now, text) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    text_now = log();
  }
  return text_now;
}

RunResult SyncHarness::Server(std::vector<std::string> args) const {
  args.insert(args.begin(), ServerBin());
  return Run(args);
}

RunResult SyncHarness::Client(std::vector<std::string> args) const {
  args.insert(args.begin(), ClientBin());
  return Run(args);
}

std::string SyncHarness::NewFieldStore(const std::string& name, const std::vector<std::string>& countries) {
  std::vector<std::string> issue = {"issue", "--data", data_, "--role", "field", "--name", name, "--out", CredentialPath(name)};
  for (const auto& c : countries) {
    issue.push_back("--country");
    issue.push_back(c);
  }
  auto r = Server(issue);
  if (r.exit_code != 0) throw std::runtime_error("mnr-server issue: " + r.err);
  const std::string db = dir_ / (name + ".db");
  auto init = Client({"init", "--db", db, "--credentials", CredentialPath(name)});
  if (init.exit_code != 0) throw std::runtime_error("mnr-client init: " + init.err);
  return db;
}

RunResult SyncHarness::Sync(const std::string& db, const std::string& address_override) const {
  return Client({"sync", "--db", db, "--server", address_override.empty() ? address() : address_override, "--retries", "0"});
}

RunResult Ok(const RunResult& r) {
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  return r;
}

std::string ExportCsv(const SyncHarness& h, const std::string& db) {
  return Ok(h.Client({"export", "--db", db, "--format", "csv"})).out;
}

RunResult Audit(std::vector<std::string> args) {
  args.insert(args.begin(), MNR_AUDIT_BIN);
  return Run(args);
}

void Sql(const std::string& db_path, const std::string& sql, const std::vector<std::string>& params) {
  auto db = Db::Open(db_path, false);
  REQUIRE(db.ok());
  if (params.empty()) {
    Status s = (*db)->Exec(sql);
    INFO(sql << ": " << s.message());
    REQUIRE(s.ok());
    return;
  }
  auto st = (*db)->Prepare(sql);
  REQUIRE(st.ok());
  for (std::size_t i = 0; i < params.size(); ++i) st->Bind(static_cast<int>(i + 1), params[i]);
  Status s = st->Run();
  INFO(sql << ": " << s.message());
  REQUIRE(s.ok());
}

std::string Scalar(const std::string& db_path, const std::string& sql) {
  auto db = Db::Open(db_path, false);
  REQUIRE(db.ok());
  auto st = (*db)->Prepare(sql);
  INFO(sql);
  REQUIRE(st.ok());
  auto row = st->Step();
  REQUIRE(row.ok());
  REQUIRE(*row);
  return st->Text(0);
}

bool Contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

}  // namespace mnr::test
