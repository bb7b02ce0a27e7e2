// Trust under attack, through the real binaries: figures and releases falsified in the server's
// SQLite file, outputs aimed at a live store, an audit export cut short or edited, credential
// lifetimes extended and the server clock moved back — each refused or caught, and named.
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "mnr/crypto.h"
#include "mnr/sqlite.h"
#include "tests/e2e/sync_harness.h"

using namespace mnr;
using namespace mnr::test;

namespace {

// Two offices answer c11: Q01 yes, Q02 yes.
void TwoYes(SyncHarness& h) {
  const std::string a = h.NewFieldStore("office-q01", {"Q01"});
  const std::string b = h.NewFieldStore("office-q02", {"Q02"});
  REQUIRE(h.Client({"answer", "--db", a, "Q01", "c11_child_helpline", "yes"}).exit_code == 0);
  REQUIRE(h.Client({"answer", "--db", b, "Q02", "c11_child_helpline", "yes"}).exit_code == 0);
  REQUIRE(h.Sync(a).exit_code == 0);
  REQUIRE(h.Sync(b).exit_code == 0);
}

RunResult Release(SyncHarness& h, const std::string& label) {
  return h.Server({"release", "--data", h.data(), "--label", label, "--allow-unapproved", "--allow-open-conflicts"});
}

}  // namespace

TEST_CASE("A count falsified in the store fails audit verify and release until the dataset is rebuilt") {
  SyncHarness h;
  TwoYes(h);
  const std::string db = h.data() + "/server.db";
  REQUIRE(h.Server({"audit", "verify", "--data", h.data()}).exit_code == 0);

  Sql(db, "UPDATE dataset_counts SET n_yes = n_yes + 5 WHERE indicator = 'c11_child_helpline' AND grp = 'all'");
  auto verify = h.Server({"audit", "verify", "--data", h.data()});
  CHECK(verify.exit_code == 1);
  CHECK(verify.err.find("FAILED: the stored dataset of round 2025 differs from a recount at c11_child_helpline/all: stored 7, recount 2 (n_yes)") !=
        std::string::npos);
  auto refused = Release(h, "r1");
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("release \"r1\" not made: the stored dataset of round 2025 differs from a recount at c11_child_helpline/all: stored 7, "
                         "recount 2 (n_yes); run `mnr-server aggregate --rebuild` after investigating") != std::string::npos);
  CHECK(h.Server({"releases", "list", "--data", h.data()}).out.find("r1") == std::string::npos);

  REQUIRE(h.Server({"aggregate", "--data", h.data(), "--rebuild"}).exit_code == 0);
  auto made = Release(h, "r1");
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  auto csv = h.Server({"aggregate", "--data", h.data(), "--release", "r1"});
  REQUIRE(csv.exit_code == 0);
  CHECK(csv.out.find("\r\nc11_child_helpline,all,2,0,0,0,2,") != std::string::npos);
  auto ok = h.Server({"audit", "verify", "--data", h.data()});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("the dataset equals a recount; 1 releases recomputed from the log") != std::string::npos);

  Sql(db, "UPDATE dataset_groups SET n_countries = n_countries + 1 WHERE grp = 'lmic'");
  auto groups = h.Server({"audit", "verify", "--data", h.data()});
  CHECK(groups.exit_code == 1);
  CHECK(groups.err.find("at group lmic: stored 3, recount 2 (n_countries)") != std::string::npos);
}

TEST_CASE("No output option replaces the store it works on, whatever the flag, nor an existing file without --force") {
  SyncHarness h;
  TwoYes(h);
  const std::string office = h.dir() / "office-q01.db";
  const std::string server_db = h.data() + "/server.db";
  const std::string before = h.Client({"export", "--db", office}).out;
  REQUIRE(before.find("Q01,c11_child_helpline,yes") != std::string::npos);

  // The client store, under its own name, a link, or its WAL file.
  std::filesystem::create_symlink(office, h.dir() / "alias.db");
  for (const std::string& target : {office, h.dir() / "alias.db", office + "-wal"}) {
    for (const bool force : {false, true}) {
      std::vector<std::string> args = {"export", "--db", office, "--out", target};
      if (force) args.push_back("--force");
      auto r = h.Client(args);
      INFO(target << (force ? " --force" : "") << ": " << r.err);
      CHECK(r.exit_code == 1);
      CHECK(r.err.find(target + " is ") != std::string::npos);
      CHECK(r.err.find("the store " + office + " this command has open; an output never replaces a store, even with --force") !=
            std::string::npos);
    }
  }
  auto bundle = h.Client({"bundle", "--db", office, "--out", office, "--force"});
  CHECK(bundle.exit_code == 1);
  CHECK(bundle.err.find("an output never replaces a store") != std::string::npos);
  const std::string auditor = h.dir() / "auditor.db";
  REQUIRE(h.Server({"issue", "--data", h.data(), "--role", "auditor", "--name", "auditor", "--out", h.dir() / "auditor.mnrcred"}).exit_code == 0);
  REQUIRE(h.Client({"init", "--db", auditor, "--credentials", h.dir() / "auditor.mnrcred"}).exit_code == 0);
  auto remote_export = h.Client({"audit", "export", "--db", auditor, "--out", auditor, "--force"});
  CHECK(remote_export.exit_code == 1);
  CHECK(remote_export.err.find("an output never replaces a store") != std::string::npos);
  CHECK(h.Client({"export", "--db", office}).out == before);

  // An existing file: only with --force.
  const std::string csv = h.dir() / "answers.csv";
  REQUIRE(h.Client({"export", "--db", office, "--out", csv}).exit_code == 0);
  WriteText(csv, "keep me\n");
  auto exists = h.Client({"export", "--db", office, "--out", csv});
  CHECK(exists.exit_code == 1);
  CHECK(exists.err.find(csv + " exists; use --force to replace it") != std::string::npos);
  CHECK(ReadText(csv) == "keep me\n");
  REQUIRE(h.Client({"export", "--db", office, "--out", csv, "--force"}).exit_code == 0);
  CHECK(ReadText(csv) == before);

  // The server store: aggregate, audit export, credential files, the report directory.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"aggregate", "--data", h.data(), "--out", server_db},
        std::vector<std::string>{"aggregate", "--data", h.data(), "--out", server_db, "--force"},
        std::vector<std::string>{"aggregate", "--data", h.data(), "--out", server_db + "-shm", "--force"},
        std::vector<std::string>{"audit", "export", "--data", h.data(), "--out", server_db, "--force"},
        std::vector<std::string>{"issue", "--data", h.data(), "--role", "auditor", "--name", "x", "--out", server_db},
        std::vector<std::string>{"publish", "--data", h.data(), "--out", h.data()}}) {
    auto r = h.Server(args);
    INFO(args[0] << " " << args.back() << ": " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("store") != std::string::npos);
    CHECK(r.err.find("choose another --out (nothing was written)") != std::string::npos);
  }
  const std::string agg = h.dir() / "agg.csv";
  REQUIRE(h.Server({"aggregate", "--data", h.data(), "--out", agg}).exit_code == 0);
  CHECK(h.Server({"aggregate", "--data", h.data(), "--out", agg}).exit_code == 1);
  CHECK(h.Server({"aggregate", "--data", h.data(), "--out", agg, "--force"}).exit_code == 0);

  // Both stores are whole: the server verifies and still serves a sync.
  auto verify = h.Server({"audit", "verify", "--data", h.data()});
  INFO(verify.err);
  CHECK(verify.exit_code == 0);
  REQUIRE(h.Client({"answer", "--db", office, "Q01", "c12_reporting_hotline", "no"}).exit_code == 0);
  CHECK(h.Sync(office).exit_code == 0);
}

TEST_CASE("A release whose stored CSV was rewritten together with its hash is refused by aggregate, audit verify and mnr-audit") {
  SyncHarness h;
  TwoYes(h);
  REQUIRE(Release(h, "r1").exit_code == 0);
  const std::string db = h.data() + "/server.db";
  h.StopServer();

  const std::string csv = Scalar(db, "SELECT csv FROM releases WHERE label = 'r1'");
  const std::string from = "\r\nc11_child_helpline,all,2,0,0,0,2,100.0,1,3,100,", to = "\r\nc11_child_helpline,all,3,0,0,0,3,100.0,0,3,100,";
  const auto at = csv.find(from);
  REQUIRE(at != std::string::npos);
  std::string forged = csv;
  forged.replace(at, from.size(), to);
  Sql(db, "DROP TRIGGER releases_never_change");
  Sql(db, "UPDATE releases SET csv = ?1, content_sha256 = ?2 WHERE label = 'r1'", {forged, crypto::Sha256Hex(forged)});

  auto printed = h.Server({"aggregate", "--data", h.data(), "--release", "r1"});
  CHECK(printed.exit_code == 1);
  CHECK(printed.out.empty());
  CHECK(printed.err.find("release \"r1\": the dataset does not hash to the content hash the manifest states") != std::string::npos);
  CHECK(h.Server({"releases", "show", "--data", h.data(), "r1"}).exit_code == 1);
  auto published = h.Server({"publish", "--data", h.data(), "--release", "r1", "--out", h.dir() / "site"});
  CHECK(published.exit_code == 1);
  CHECK_FALSE(std::filesystem::exists(h.dir() / "site"));
  auto verify = h.Server({"audit", "verify", "--data", h.data()});
  CHECK(verify.exit_code == 1);
  CHECK(verify.err.find("release \"r1\"") != std::string::npos);

  REQUIRE(h.Server({"audit", "export", "--data", h.data(), "--out", h.dir() / "export.json"}).exit_code == 0);
  auto offline = Audit({"verify", h.dir() / "export.json"});
  CHECK(offline.exit_code == 1);
  CHECK(offline.err.find("FAILED: release \"r1\": the CSV the server holds hashes to " + crypto::Sha256Hex(forged).substr(0, 16)) !=
        std::string::npos);
}

TEST_CASE("mnr-audit verify --tree-head: an export cut short or edited fails against the head a field office's receipt carries") {
  SyncHarness h;
  const std::string office = h.NewFieldStore("office", {"Q01"});
  REQUIRE(h.Server({"issue", "--data", h.data(), "--role", "auditor", "--name", "auditor", "--out", h.dir() / "auditor.mnrcred"}).exit_code == 0);
  REQUIRE(h.Client({"answer", "--db", office, "Q01", "c11_child_helpline", "yes"}).exit_code == 0);
  REQUIRE(h.Sync(office).exit_code == 0);
  REQUIRE(h.Client({"answer", "--db", office, "Q01", "c12_reporting_hotline", "no"}).exit_code == 0);
  REQUIRE(h.Sync(office).exit_code == 0);
  REQUIRE(Release(h, "r1").exit_code == 0);
  REQUIRE(h.Client({"answer", "--db", office, "Q01", "c13_education_programme", "partial"}).exit_code == 0);
  REQUIRE(h.Sync(office).exit_code == 0);
  // What the office holds: the tree size and root of its first and last receipts.
  const auto first = nlohmann::json::parse(Scalar(office, "SELECT receipt FROM receipts ORDER BY outbox_seq LIMIT 1"));
  const auto last = nlohmann::json::parse(Scalar(office, "SELECT receipt FROM receipts ORDER BY outbox_seq DESC LIMIT 1"));
  const std::uint64_t k = first["tree_size"].get<std::uint64_t>();
  const std::string pin_first = std::to_string(k) + ":" + first["root"].get<std::string>();
  const std::string pin_last = std::to_string(last["tree_size"].get<std::uint64_t>()) + ":" + last["root"].get<std::string>();
  REQUIRE(h.Server({"audit", "export", "--data", h.data(), "--out", h.dir() / "full.json"}).exit_code == 0);

  auto ok = Audit({"verify", h.dir() / "full.json", "--tree-head", pin_first, "--tree-head", pin_last});
  INFO(ok.err);
  REQUIRE(ok.exit_code == 0);
  CHECK(ok.out.find("contains, unchanged, the pinned tree head " + pin_first + " (extended)") != std::string::npos);
  INFO(ok.out);
  CHECK(ok.out.find("1 releases, 2 credentials") != std::string::npos);
  std::smatch own;
  REQUIRE(std::regex_search(ok.out, own, std::regex("\ntree head ([0-9]+:[0-9a-f]{64})\n")));
  auto equal = Audit({"verify", h.dir() / "full.json", "--tree-head", own[1]});
  CHECK(equal.exit_code == 0);
  CHECK(equal.out.find(std::string(own[1]) + " (equal)") != std::string::npos);

  // Cut after the first receipt's head: later entries, heads, proofs and releases gone.
  const auto full = nlohmann::json::parse(ReadText(h.dir() / "full.json"));
  nlohmann::json cut = full;
  cut["entries"] = nlohmann::json::array();
  for (std::uint64_t i = 0; i < k; ++i) cut["entries"].push_back(full["entries"][i]);
  cut["tree_heads"] = nlohmann::json::array();
  for (const auto& head : full["tree_heads"]) {
    if (head["size"].get<std::uint64_t>() <= k) cut["tree_heads"].push_back(head);
  }
  cut["inclusion_proofs"] = nlohmann::json::array();
  cut["consistency_proofs"] = nlohmann::json::array();
  cut["releases"] = nlohmann::json::array();
  WriteText(h.dir() / "cut.json", cut.dump());
  auto said = Audit({"verify", h.dir() / "cut.json"});
  CHECK(said.exit_code == 1);
  CHECK(said.err.find("FAILED: entry " + std::to_string(k) + ": missing; the export says it holds " +
                      std::to_string(full["entries"].size()) + " entries") != std::string::npos);
  cut["size"] = k;
  WriteText(h.dir() / "cut.json", cut.dump());
  auto pinned = Audit({"verify", h.dir() / "cut.json", "--tree-head", pin_last});
  CHECK(pinned.exit_code == 1);
  CHECK(pinned.err.find("FAILED: entry " + std::to_string(k) + ": missing; the pinned tree head " + pin_last.substr(0, pin_last.find(':'))) !=
        std::string::npos);

  // The credentials section edited: a lifetime extended.
  nlohmann::json edited = full;
  edited["credentials"][0]["expires_at"] = edited["credentials"][0]["expires_at"].get<std::int64_t>() + 365 * 86400;
  WriteText(h.dir() / "edited.json", edited.dump());
  auto creds = Audit({"verify", h.dir() / "edited.json"});
  CHECK(creds.exit_code == 1);
  CHECK(creds.err.find("FAILED: credentials: credential " + edited["credentials"][0]["id"].get<std::string>() + ": its expires_at") !=
        std::string::npos);

  CHECK(Audit({"verify", h.dir() / "full.json", "--tree-head", "12"}).exit_code == 2);
  CHECK(Audit({"verify", h.dir() / "full.json", "--tree-head", "12:zz"}).exit_code == 2);
}

TEST_CASE("audit verify catches a credential lifetime extended in the store and a server clock moved back") {
  SyncHarness h;
  TwoYes(h);
  h.StopServer();
  const auto copy = [&](const std::string& name) {
    const std::string dir = h.dir() / name;
    std::filesystem::copy(h.data(), dir, std::filesystem::copy_options::recursive);
    return dir;
  };
  const std::string lifetime = copy("lifetime"), clock = copy("clock");
  const std::string id = Scalar(lifetime + "/server.db", "SELECT id FROM credentials WHERE name = 'office-q01'");
  Sql(lifetime + "/server.db", "UPDATE credentials SET expires_at = expires_at + 365 * 86400 WHERE id = '" + id + "'");
  auto extended = h.Server({"audit", "verify", "--data", lifetime});
  CHECK(extended.exit_code == 1);
  CHECK(extended.err.find("credential " + id) != std::string::npos);
  CHECK(extended.err.find("expires_at") != std::string::npos);

  Sql(clock + "/server.db", "UPDATE meta SET value = '1' WHERE key = 'hlc'");
  auto backwards = h.Server({"audit", "verify", "--data", clock});
  CHECK(backwards.exit_code == 1);
  CHECK(backwards.err.find("the server clock (meta hlc 1970-01-01T00:00:00.000Z+1) is behind the newest edit it holds") !=
        std::string::npos);
  CHECK(backwards.err.find("moved backwards") != std::string::npos);
  CHECK(h.Server({"audit", "verify", "--data", h.data()}).exit_code == 0);
}
