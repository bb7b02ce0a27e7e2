// The mnr-server admin commands, run as the real binary.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <string>
#include <vector>

#include "mnr/changeset.h"
#include "mnr/credential.h"
#include "mnr/envelope.h"
#include "mnr/field.h"
#include "mnr/file_util.h"
#include "mnr/hlc.h"
#include "tests/support/process.h"

namespace {

using mnr::test::Run;
using mnr::test::RunResult;
using mnr::test::ServerBin;
using mnr::test::TempDir;

RunResult Server(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {ServerBin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv);
}

std::string InitWithCountries(const TempDir& tmp) {
  const std::string data = tmp / "data";
  REQUIRE(Server({"init", "--data", data}).exit_code == 0);
  mnr::test::WriteText(tmp / "countries.csv",
                       "code,name,income_group,region\nQ01,Placeholder Q01,high,europe\nQ02,\"Placeholder, Q02\",low,africa\n");
  auto r = Server({"countries", "import", "--data", data, tmp / "countries.csv"});
  REQUIRE(r.exit_code == 0);
  return data;
}

std::string SealedChangeSet(const mnr::Credential& c, const std::string& device, std::uint64_t seq,
                            const std::string& field, const std::string& answer) {
  mnr::ChangeSet cs;
  cs.schema_version = 1;
  cs.device_id = device;
  cs.credential_id = c.id;
  cs.seq = seq;
  mnr::Operation op;
  op.field = field;
  op.new_value = mnr::EncodeAnswer({*mnr::ParseAnswer(answer), ""});
  op.hlc = mnr::HybridClock::Make(1'760'000'000'000ULL + seq, 0);
  op.author = device;
  cs.created = op.hlc;
  cs.ops.push_back(op);
  auto sealed = mnr::SealChangeSet(mnr::SerializeChangeSet(cs), c.private_key_pem, c.sealing_public_key);
  REQUIRE(sealed.ok());
  return *sealed;
}

}  // namespace

TEST_CASE("mnr-server admin: init refuses an existing directory") {
  TempDir tmp;
  const std::string data = tmp / "data";
  auto first = Server({"init", "--data", data, "--host", "sync.example.org", "--host", "10.0.0.7"});
  REQUIRE(first.exit_code == 0);
  auto second = Server({"init", "--data", data});
  CHECK(second.exit_code == 1);
  CHECK_THAT(second.err, Catch::StartsWith("mnr-server: ") && Catch::Contains("already exists"));
  struct stat sb;
  REQUIRE(::stat((data + "/server.key").c_str(), &sb) == 0);
  CHECK((sb.st_mode & 0777) == 0600);
  CHECK(Server({"init"}).exit_code == 2);
}

TEST_CASE("mnr-server admin: countries import names the bad line and imports nothing") {
  TempDir tmp;
  const std::string data = tmp / "data";
  REQUIRE(Server({"init", "--data", data}).exit_code == 0);
  mnr::test::WriteText(tmp / "bad.csv",
                       "code,name,income_group,region\nQ01,One,high,europe\n\"Q02\",\"Two, Inc\",low,asia\nQ03,Four,middle,asia\n");
  auto r = Server({"countries", "import", "--data", data, tmp / "bad.csv"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("bad.csv:4:") && Catch::Contains("middle"));
  auto list = Server({"countries", "list", "--data", data});
  REQUIRE(list.exit_code == 0);
  CHECK(list.out == "code,name,income_group,region\n");

  mnr::test::WriteText(tmp / "header.csv", "code,name,group\nQ01,One,high\n");
  auto h = Server({"countries", "import", "--data", data, tmp / "header.csv"});
  CHECK(h.exit_code == 1);
  CHECK_THAT(h.err, Catch::Contains("header.csv:1:"));

  mnr::test::WriteText(tmp / "good.csv", "code,name,income_group,region\r\nQ01,One,high,europe\r\nQ02,\"Two, Inc\",low,asia\r\n");
  auto g = Server({"countries", "import", "--data", data, tmp / "good.csv"});
  CHECK(g.exit_code == 0);
  CHECK(Server({"countries", "list", "--data", data}).out ==
        "code,name,income_group,region\nQ01,One,high,europe\nQ02,\"Two, Inc\",low,asia\n");
}

TEST_CASE("mnr-server admin: issue, credentials list and revoke") {
  TempDir tmp;
  const std::string data = InitWithCountries(tmp);
  auto issued = Server({"issue", "--data", data, "--role", "field", "--country", "Q01", "--name", "Q01 laptop",
                        "--out", tmp / "q01.mnrcred", "--days", "10"});
  REQUIRE(issued.exit_code == 0);
  const std::string id = issued.out.substr(0, issued.out.find('\n'));
  CHECK(id.rfind("cred-", 0) == 0);
  auto cred = mnr::LoadCredential(tmp / "q01.mnrcred");
  REQUIRE(cred.ok());
  CHECK(cred->id == id);
  CHECK(cred->countries == std::vector<std::string>{"Q01"});
  CHECK(cred->server_address == "localhost:7443");
  struct stat sb;
  REQUIRE(::stat((tmp / "q01.mnrcred").c_str(), &sb) == 0);
  CHECK((sb.st_mode & 0777) == 0600);

  // Misuse and bad requests.
  CHECK(Server({"issue", "--data", data, "--role", "field", "--name", "x", "--out", tmp / "x.mnrcred"}).exit_code == 2);
  CHECK(Server({"issue", "--data", data, "--role", "boss", "--name", "x", "--out", tmp / "x.mnrcred"}).exit_code == 2);
  auto unknown = Server({"issue", "--data", data, "--role", "field", "--country", "Q99", "--name", "x", "--out", tmp / "x.mnrcred"});
  CHECK(unknown.exit_code == 1);
  CHECK_THAT(unknown.err, Catch::Contains("Q99"));
  CHECK_FALSE(mnr::FileExists(tmp / "x.mnrcred"));
  auto again = Server({"issue", "--data", data, "--role", "field", "--country", "Q01", "--name", "x", "--out", tmp / "q01.mnrcred"});
  CHECK(again.exit_code == 1);

  auto coord = Server({"issue", "--data", data, "--role", "coordinator", "--name", "Alice", "--out", tmp / "alice.mnrcred"});
  REQUIRE(coord.exit_code == 0);

  auto list = Server({"credentials", "list", "--data", data});
  REQUIRE(list.exit_code == 0);
  CHECK_THAT(list.out, Catch::Contains(id) && Catch::Contains("Q01 laptop") && Catch::Contains("active") &&
                           Catch::Contains("coordinator"));

  auto revoked = Server({"revoke", "--data", data, id});
  CHECK(revoked.exit_code == 0);
  list = Server({"credentials", "list", "--data", data});
  std::string line;
  for (std::size_t at = 0; at < list.out.size();) {
    std::size_t nl = list.out.find('\n', at);
    std::string l = list.out.substr(at, nl - at);
    if (l.rfind(id, 0) == 0) line = l;
    at = nl + 1;
  }
  CHECK_THAT(line, Catch::EndsWith("revoked"));
  CHECK(Server({"revoke", "--data", data, "cred-0000000000000000"}).exit_code == 1);
}

TEST_CASE("mnr-server admin: import-bundle applies once, aggregate and state hash report the result") {
  TempDir tmp;
  const std::string data = InitWithCountries(tmp);
  REQUIRE(Server({"issue", "--data", data, "--role", "field", "--country", "Q01", "--name", "a", "--out", tmp / "a.mnrcred"}).exit_code == 0);
  auto cred = mnr::LoadCredential(tmp / "a.mnrcred");
  REQUIRE(cred.ok());
  const std::string field = mnr::AnswerField("Q01", "c00_mnr_reference");
  mnr::test::WriteText(tmp / "a.mnrb", mnr::EncodeBundle({SealedChangeSet(*cred, "dev-a", 1, field, "yes"),
                                                          SealedChangeSet(*cred, "dev-a", 2, field, "partial")}));
  const std::string empty_hash = Server({"state", "hash", "--data", data}).out;

  auto first = Server({"import-bundle", "--data", data, tmp / "a.mnrb"});
  CHECK(first.exit_code == 0);
  CHECK_THAT(first.out, Catch::Contains("2 applied, 0 already present, 0 refused"));
  const std::string hash = Server({"state", "hash", "--data", data}).out;
  CHECK(hash.size() == 65);
  CHECK(hash != empty_hash);
  auto second = Server({"import-bundle", "--data", data, tmp / "a.mnrb"});
  CHECK(second.exit_code == 0);
  CHECK_THAT(second.out, Catch::Contains("0 applied, 2 already present, 0 refused"));
  CHECK(Server({"state", "hash", "--data", data}).out == hash);

  // A change-set for another country is refused with its reason, and the exit status says so.
  mnr::test::WriteText(tmp / "b.mnrb", mnr::EncodeBundle({SealedChangeSet(*cred, "dev-a", 3, mnr::AnswerField("Q02", "c00_mnr_reference"), "no")}));
  auto refused = Server({"import-bundle", "--data", data, tmp / "b.mnrb"});
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.out, Catch::Contains("0 applied, 0 already present, 1 refused"));
  CHECK_THAT(refused.err, Catch::Contains("Q02"));

  auto agg = Server({"aggregate", "--data", data, "--format", "csv"});
  REQUIRE(agg.exit_code == 0);
  // The dataset issue appended columns and groups (docs/dataset.md); the first eight columns stay.
  CHECK_THAT(agg.out, Catch::StartsWith("indicator,group,n_yes,n_partial,n_no,n_unknown,n_responding,pct_yes,"));
  CHECK_THAT(agg.out, Catch::Contains("\r\nc00_mnr_reference,all,0,1,0,0,1,0.0,"));
  CHECK_THAT(agg.out, Catch::Contains("\r\nc00_mnr_reference,high,0,1,0,0,1,0.0,"));
  CHECK_THAT(agg.out, Catch::Contains("\r\nc00_mnr_reference,lmic,0,0,0,0,0,,"));
  CHECK(Server({"aggregate", "--data", data, "--format", "xml"}).exit_code == 2);
  REQUIRE(Server({"aggregate", "--data", data, "--out", tmp / "agg.csv"}).exit_code == 0);
  CHECK(mnr::test::ReadText(tmp / "agg.csv") == agg.out);

  auto conflicts = Server({"conflicts", "list", "--data", data});
  CHECK(conflicts.exit_code == 0);
  CHECK_THAT(conflicts.out, Catch::Contains("no open conflicts"));
}

TEST_CASE("mnr-server admin: every command has --help and misuse exits 2") {
  for (const auto& cmd : std::vector<std::vector<std::string>>{{"init"}, {"countries", "import"}, {"countries", "list"}, {"issue"},
                                                               {"revoke"}, {"credentials", "list"}, {"import-bundle"},
                                                               {"conflicts", "list"}, {"conflicts", "show"}, {"conflicts", "resolve"},
                                                               {"state", "hash"}, {"aggregate"}, {"countries"}, {"conflicts"}}) {
    std::vector<std::string> args = cmd;
    args.push_back("--help");
    auto r = Server(args);
    INFO(cmd[0] << " " << (cmd.size() > 1 ? cmd[1] : ""));
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("usage: mnr-server"));
  }
  CHECK(Server({"--help"}).exit_code == 0);
  CHECK(Server({"frobnicate"}).exit_code == 2);
  CHECK(Server({"conflicts", "show", "--data", "x", "abc"}).exit_code == 2);
  auto missing = Server({"state", "hash", "--data", "/nonexistent/store"});
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Catch::StartsWith("mnr-server: "));
}
