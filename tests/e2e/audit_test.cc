// The audit trail end to end, with the real binaries: receipts a field office keeps and verifies,
// replay logged once, `mnr-server audit log|verify|export`, the auditor's remote export, the offline
// verifier `mnr-audit`, and tampering with the server's SQLite file caught by `audit verify`.
#include <catch2/catch.hpp>

#include <filesystem>

#include "mnr/audit_format.h"
#include "mnr/crypto.h"
#include "mnr/sqlite.h"
#include "tests/e2e/raw_peer.h"
#include "tests/e2e/sync_harness.h"

using namespace mnr;
using namespace mnr::test;

namespace {

std::string IssueStore(SyncHarness& h, const std::string& name, const std::string& role) {
  auto r = h.Server({"issue", "--data", h.data(), "--role", role, "--name", name, "--out", h.CredentialPath(name)});
  REQUIRE(r.exit_code == 0);
  const std::string db = h.dir() / (name + ".db");
  REQUIRE(h.Client({"init", "--db", db, "--credentials", h.CredentialPath(name)}).exit_code == 0);
  return db;
}

}  // namespace

TEST_CASE("Each acknowledged change-set leaves a signed receipt the field office can verify later") {
  SyncHarness h;
  const std::string db = h.NewFieldStore("office", {"Q01"});
  REQUIRE(h.Client({"answer", "--db", db, "Q01", "c11_child_helpline", "yes"}).exit_code == 0);
  REQUIRE(h.Sync(db).exit_code == 0);
  REQUIRE(h.Client({"answer", "--db", db, "Q01", "c12_reporting_hotline", "no"}).exit_code == 0);
  REQUIRE(h.Sync(db).exit_code == 0);

  auto list = h.Client({"receipts", "--db", db, "--verify"});
  INFO(list.out << list.err);
  REQUIRE(list.exit_code == 0);
  CHECK(list.out.find("all 2 receipts verify") != std::string::npos);
  // The receipts name the entries the server's log holds the change-sets in.
  auto log = h.Server({"audit", "log", "--data", h.data(), "--format", "json", "--country", "Q01"});
  REQUIRE(log.exit_code == 0);
  const auto records = nlohmann::json::parse(log.out);
  REQUIRE(records.size() == 2);
  for (const auto& r : records) {
    const std::string id = r["changeset_id"];
    CHECK(Scalar(db, "SELECT log_index FROM receipts WHERE changeset_id = '" + id + "'") == std::to_string(r["index"].get<int>()));
  }

  // A receipt whose signature was altered in the store no longer verifies.
  const std::string receipt = Scalar(db, "SELECT receipt FROM receipts ORDER BY outbox_seq LIMIT 1");
  auto j = nlohmann::json::parse(receipt);
  std::string sig = crypto::Base64Decode(j["signature"].get<std::string>()).value();
  sig[10] ^= 0x40;
  j["signature"] = crypto::Base64Encode(sig);
  Sql(db, "UPDATE receipts SET receipt = '" + j.dump() + "' WHERE outbox_seq = 1");
  auto bad = h.Client({"receipts", "--db", db, "--verify"});
  CHECK(bad.exit_code == 1);
  CHECK(bad.out.find("FAILED") != std::string::npos);
  CHECK(bad.err.find("1 of 2 receipts do not verify") != std::string::npos);
}

TEST_CASE("A change-set pushed twice is stored and logged once, and both receipts name its one entry") {
  SyncHarness h;
  h.NewFieldStore("office", {"Q01"});
  auto cred = LoadCredential(h.CredentialPath("office"));
  REQUIRE(cred.ok());
  const std::string sealed =
      SealedAnswer(*cred, *cred, "raw-device", 1, "Q01", "c11_child_helpline", "partial", static_cast<std::uint64_t>(std::time(nullptr)) * 1000);
  std::string first_receipt;
  {
    RawPeer peer(*cred, h.port());
    REQUIRE(peer.Hello("raw-device"));
    auto reply = peer.Push(sealed);
    REQUIRE(reply.type == static_cast<int>(MessageType::kAck));
    auto ack = DecodeMessage<Ack>(reply.payload);
    REQUIRE(ack.ok());
    CHECK_FALSE(ack->duplicate);
    first_receipt = ack->receipt;
  }
  const std::string hash = h.Server({"state", "hash", "--data", h.data()}).out;
  RawPeer peer(*cred, h.port());
  auto welcome = peer.Hello("raw-device");
  REQUIRE(welcome);
  CHECK(welcome->acked_through == 1);
  auto reply = peer.Push(sealed);
  REQUIRE(reply.type == static_cast<int>(MessageType::kAck));
  auto ack = DecodeMessage<Ack>(reply.payload);
  REQUIRE(ack.ok());
  CHECK(ack->duplicate);
  auto a = audit::DecodeReceipt(first_receipt);
  auto b = audit::DecodeReceipt(ack->receipt);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->index == b->index);
  CHECK(audit::VerifyReceipt(*b, welcome->server_certificate, cred->ca_certificate_pem).ok());

  CHECK(h.Server({"state", "hash", "--data", h.data()}).out == hash);
  auto log = h.Server({"audit", "log", "--data", h.data(), "--format", "json", "--device", "raw-device"});
  REQUIRE(log.exit_code == 0);
  CHECK(nlohmann::json::parse(log.out).size() == 1);
  CHECK(h.Server({"audit", "verify", "--data", h.data()}).exit_code == 0);
}

TEST_CASE("The audit trail answers who changed what, verifies, exports, and catches edits of the store file") {
  SyncHarness h;
  const std::string a = h.NewFieldStore("office-a", {"Q01"});
  const std::string b = h.NewFieldStore("office-b", {"Q01"});
  const std::string coordinator = IssueStore(h, "coordinator", "coordinator");
  const std::string auditor = IssueStore(h, "auditor", "auditor");
  REQUIRE(h.Client({"answer", "--db", a, "Q01", "c11_child_helpline", "yes"}).exit_code == 0);
  REQUIRE(h.Client({"answer", "--db", b, "Q01", "c11_child_helpline", "no"}).exit_code == 0);
  REQUIRE(h.Sync(a).exit_code == 0);
  REQUIRE(h.Sync(b).exit_code == 0);
  REQUIRE(h.Client({"answer", "--db", a, "Q01", "c12_reporting_hotline", "partial", "--note", "pilot in two regions"}).exit_code == 0);
  REQUIRE(h.Sync(a).exit_code == 0);
  auto resolved = h.Client({"conflicts", "resolve", "--db", coordinator, "--server", h.address(), "1", "--value", "partial", "--reason",
                            "the ministry confirmed a partial service"});
  INFO(resolved.err);
  REQUIRE(resolved.exit_code == 0);

  // Who, when, from what to what.
  auto json = h.Server({"audit", "log", "--data", h.data(), "--format", "json", "--indicator", "c11_child_helpline"});
  REQUIRE(json.exit_code == 0);
  const auto records = nlohmann::json::parse(json.out);
  REQUIRE(records.size() == 3);
  CHECK(records[0]["name"] == "office-a");
  CHECK(records[0]["new"] == "yes");
  CHECK(records[1]["name"] == "office-b");
  CHECK(records[1]["new"] == "no");
  CHECK(records[2]["kind"] == "resolution");
  CHECK(records[2]["credential"] == LoadCredential(h.CredentialPath("coordinator"))->id);
  CHECK(records[2]["reason"] == "the ministry confirmed a partial service");
  CHECK(records[2]["new"] == "partial");
  auto text = h.Server({"audit", "log", "--data", h.data(), "--country", "Q01", "--since", "2020-01-01"});
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("answer/Q01/c12_reporting_hotline: (none) -> partial; note \"pilot in two regions\"") != std::string::npos);
  CHECK(h.Server({"audit", "log", "--data", h.data(), "--since", "yesterday"}).exit_code == 2);
  auto none = h.Server({"audit", "log", "--data", h.data(), "--since", "2999-01-01"});
  CHECK(none.exit_code == 0);
  CHECK(none.out.empty());
  // The same history reaches a coordinator's machine.
  auto remote = h.Client({"audit", "log", "--db", coordinator, "--server", h.address(), "--indicator", "c11_child_helpline", "--format", "json"});
  REQUIRE(remote.exit_code == 0);
  CHECK(nlohmann::json::parse(remote.out) == records);

  auto verify = h.Server({"audit", "verify", "--data", h.data()});
  INFO(verify.err);
  REQUIRE(verify.exit_code == 0);
  CHECK(verify.out.find("audit trail verified") != std::string::npos);

  // Exports: on the server host and by the auditor from afar; each verifies offline, a changed copy not.
  REQUIRE(h.Server({"audit", "export", "--data", h.data(), "--out", h.dir() / "local.json"}).exit_code == 0);
  auto fetched = h.Client({"audit", "export", "--db", auditor, "--server", h.address(), "--out", h.dir() / "remote.json"});
  INFO(fetched.err);
  REQUIRE(fetched.exit_code == 0);
  for (const char* name : {"local.json", "remote.json"}) {
    auto ok = Audit({"verify", h.dir() / name});
    INFO(name << ": " << ok.err);
    CHECK(ok.exit_code == 0);
    CHECK(ok.out.find("verified") != std::string::npos);
  }
  auto file = nlohmann::json::parse(ReadText(h.dir() / "local.json"));
  CHECK(file["inclusion_proofs"].size() == 3);
  std::string payload = crypto::Base64Decode(file["entries"][6]["payload"].get<std::string>()).value();
  payload[20] ^= 0x01;
  file["entries"][6]["payload"] = crypto::Base64Encode(payload);
  WriteText(h.dir() / "tampered.json", file.dump());
  auto tampered = Audit({"verify", h.dir() / "tampered.json"});
  CHECK(tampered.exit_code == 1);
  CHECK(tampered.err.find("FAILED: entry 6") != std::string::npos);
  CHECK(Audit({"verify", h.dir() / "no-such-file.json"}).exit_code == 1);
  CHECK(Audit({"frobnicate"}).exit_code == 2);

  // Edits of the store file, each on its own copy, each caught and named.
  h.StopServer();
  struct Tamper {
    const char* what;
    std::string sql;
    std::string named;
  };
  const std::vector<Tamper> tampers = {
      {"an answer edited", "UPDATE fields SET value = 'yes' WHERE field = 'answer/Q01/c12_reporting_hotline'",
       "merged value of answer/Q01/c12_reporting_hotline"},
      {"an entry deleted", "DROP TRIGGER audit_entries_no_delete; DELETE FROM audit_entries WHERE idx = 7", "entry 7"},
      {"two entries reordered",
       "DROP TRIGGER audit_entries_no_update; UPDATE audit_entries SET idx = -1 WHERE idx = 6; "
       "UPDATE audit_entries SET idx = 6 WHERE idx = 7; UPDATE audit_entries SET idx = 7 WHERE idx = -1;",
       "entry 6"},
      {"a signature altered", "UPDATE changesets SET signature = zeroblob(64) WHERE rowid = 2", "signature"},
  };
  for (const auto& t : tampers) {
    const std::string copy = h.dir() / "copy";
    std::filesystem::remove_all(copy);
    std::filesystem::copy(h.data(), copy, std::filesystem::copy_options::recursive);
    Sql(copy + "/server.db", t.sql);
    auto r = h.Server({"audit", "verify", "--data", copy});
    INFO(t.what << ": " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("FAILED") != std::string::npos);
    CHECK(r.err.find(t.named) != std::string::npos);
  }
}

TEST_CASE("An auditor proves an entry is in the signed log from their own machine, and an entry edited on the server fails") {
  SyncHarness h;
  const std::string field = h.NewFieldStore("q01", {"Q01"});
  const std::string auditor = IssueStore(h, "auditor", "auditor");
  REQUIRE(h.Client({"answer", "--db", field, "Q01", "c11_child_helpline", "yes", "--note", "ligne 116 111"}).exit_code == 0);
  REQUIRE(h.Sync(field).exit_code == 0);
  // The change-set's entry, from the log as the auditor reads it.
  const std::string changeset_index = Scalar(h.data() + "/server.db", "SELECT idx FROM audit_entries WHERE kind = 1");

  auto proof = h.Client({"audit", "proof", "--db", auditor, "--server", h.address(), "#" + changeset_index, "--format", "json"});
  INFO(proof.err);
  REQUIRE(proof.exit_code == 0);
  const auto j = nlohmann::json::parse(proof.out);
  CHECK(j["proved"] == true);
  CHECK(j["kind"] == "change-set");
  CHECK(std::to_string(j["index"].get<std::uint64_t>()) == changeset_index);
  const std::string entries = Scalar(h.data() + "/server.db", "SELECT COUNT(*) FROM audit_entries");
  CHECK(std::to_string(j["tree_size"].get<std::uint64_t>()) == entries);
  CHECK(j["entry_hash"] == Scalar(h.data() + "/server.db", "SELECT lower(hex(entry_hash)) FROM audit_entries WHERE idx = " + changeset_index));
  auto text = h.Client({"audit", "proof", "--db", auditor, "--server", h.address(), changeset_index});
  CHECK(text.out.find("entry #" + changeset_index + " (change-set) by ") == 0);
  CHECK(text.out.find("it is in the log of " + entries + " entries whose head the server signed at ") != std::string::npos);

  // Bad requests: not a number, past the end of the log.
  auto word = h.Client({"audit", "proof", "--db", auditor, "--server", h.address(), "last"});
  CHECK(word.exit_code == 2);
  CHECK(word.err.find("INDEX must be an entry number, not \"last\"") != std::string::npos);
  auto past = h.Client({"audit", "proof", "--db", auditor, "--server", h.address(), "100000"});
  CHECK(past.exit_code != 0);
  CHECK(past.err.find("the audit log has no entry #100000; it holds " + entries) != std::string::npos);
  // A field credential may not ask.
  auto field_asks = h.Client({"audit", "proof", "--db", field, "--server", h.address(), changeset_index});
  CHECK(field_asks.exit_code != 0);
  CHECK(field_asks.err.find("field credentials may not call audit.proof") != std::string::npos);

  // Someone with the server's disk alters the entry behind the log's back: the server still
  // sends a path from the stored hashes, but the entry's own bytes no longer lead to the signed root.
  h.StopServer();
  Sql(h.data() + "/server.db", "DROP TRIGGER audit_entries_no_update; UPDATE audit_entries SET payload = payload || X'00' "
      "WHERE idx = " + changeset_index);
  h.StartServer();
  auto forged = h.Client({"audit", "proof", "--db", auditor, "--server", h.address(), changeset_index});
  CHECK(forged.exit_code == 1);
  CHECK(forged.err.find("NOT PROVED: the entry proof: entry " + changeset_index + " is not in the signed log") != std::string::npos);
}
