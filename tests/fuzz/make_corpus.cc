// Writes the small seed corpus of each fuzz target into DIR/<target>/ with the product's own builders
// (EncodeMessage, SealChangeSet, EncodeBundle, CredentialToJson, CsvLine, the audit formats), so
// the fuzzers start from inputs that pass every check and mutate from there. The seeds are committed
// (tests/fuzz/corpus/); run this again only when a format changes:
//   build-fuzz/tests/fuzz/mnr_fuzz_make_corpus tests/fuzz/corpus
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "mnr/audit_format.h"
#include "mnr/changeset.h"
#include "mnr/credential.h"
#include "mnr/crypto.h"
#include "mnr/csv.h"
#include "mnr/envelope.h"
#include "mnr/hlc.h"
#include "mnr/merkle.h"
#include "mnr/messages.h"
#include "tests/fuzz/fuzz_common.h"

namespace {

namespace fs = std::filesystem;
using namespace mnr;

std::string g_dir;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(g_dir + "/" + target);
  std::ofstream(g_dir + "/" + target + "/" + name, std::ios::binary) << bytes;
}

template <class T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) {
    std::cerr << "make_corpus: " << what << ": " << r.status().message() << "\n";
    std::exit(1);
  }
  return std::move(r).value();
}

ChangeSet SampleChangeSet(const std::string& credential_id) {
  ChangeSet cs;
  cs.schema_version = 1;
  cs.device_id = "dev-fuzz";
  cs.credential_id = credential_id;
  cs.seq = 1;
  cs.created = HybridClock::Make(1'760'000'000'000ULL, 0);
  Operation a;
  a.field = "answer/Q01/c11_child_helpline";
  a.new_value = "yes";
  a.hlc = cs.created;
  a.author = "dev-fuzz";
  Operation b = a;
  b.field = "practice/Q01/p1/title";
  b.old_value = "Helpline";
  b.new_value = "Helpline, 24/7";
  b.parents = {OperationVersion(a)};
  cs.ops = {a, b};
  return cs;
}

// cereal{body, signature}: the plaintext a sealed change-set carries (envelope.cc).
std::string SignedPlaintext(const std::string& body, const std::string& signature) {
  std::ostringstream os;
  {
    cereal::PortableBinaryOutputArchive ar(os, cereal::PortableBinaryOutputArchive::Options::LittleEndian());
    std::string b = body, s = signature;
    ar(b, s);
  }
  return os.str();
}

nlohmann::json EntryJson(const audit::Entry& e, const std::string& hash) {
  return {{"index", e.index},
          {"kind", e.kind},
          {"kind_name", audit::KindName(e.kind)},
          {"actor", e.actor},
          {"recorded_at", e.recorded_at},
          {"prev_hash", crypto::HexEncode(e.prev_hash)},
          {"entry_hash", crypto::HexEncode(hash)},
          {"payload", crypto::Base64Encode(e.payload)}};
}

nlohmann::json HexList(const std::vector<std::string>& raw) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& h : raw) out.push_back(crypto::HexEncode(h));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: mnr_fuzz_make_corpus DIR\n";
    return 2;
  }
  g_dir = argv[1];
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  const std::int64_t year = 365LL * 86400;

  // A CA, the server's certificate and one field credential, as `mnr-server init` and `issue` make them.
  const auto ca_key = Must(crypto::GenerateSigningKey(), "CA key");
  const std::string ca = Must(crypto::CreateCaCertificate(ca_key, "mnr-sync fuzz CA", now - 3600, now + 10 * year), "CA");
  const auto server_key = Must(crypto::GenerateSigningKey(), "server key");
  crypto::CertificateRequest sreq;
  sreq.common_name = "server";
  sreq.dns_names = {"localhost"};
  sreq.not_before = now - 3600;
  sreq.not_after = now + 10 * year;
  sreq.server = true;
  const std::string server_cert = Must(crypto::IssueCertificate(ca, ca_key.private_pem, server_key.public_pem, sreq), "server cert");
  const auto device_key = Must(crypto::GenerateSigningKey(), "device key");
  Credential cred;
  cred.id = "cred-0123456789abcdef";
  cred.role = Role::kField;
  cred.name = "Q01 office";
  cred.countries = {"Q01"};
  cred.server_address = "localhost:7443";
  cred.ca_certificate_pem = ca;
  cred.private_key_pem = device_key.private_pem;
  cred.sealing_public_key = fuzz::SealingKey().public_key;
  cred.expires_at = now + 2 * year;
  crypto::CertificateRequest creq;
  creq.common_name = cred.id;
  creq.not_before = now - 3600;
  creq.not_after = cred.expires_at;
  creq.client = true;
  cred.certificate_pem = Must(crypto::IssueCertificate(ca, ca_key.private_pem, device_key.public_pem, creq), "credential cert");
  const auto cred_info = Must(crypto::InspectCertificate(cred.certificate_pem), "inspect");

  // fuzz_credential
  Write("fuzz_credential", "field.mnrcred", CredentialToJson(cred));
  Credential coordinator = cred;
  coordinator.role = Role::kCoordinator;
  coordinator.countries.clear();
  Write("fuzz_credential", "coordinator.mnrcred", CredentialToJson(coordinator));

  // fuzz_changeset (first byte: the layer) and fuzz_bundle
  const ChangeSet cs = SampleChangeSet(cred.id);
  const std::string body = SerializeChangeSet(cs);
  const std::string signature = Must(crypto::Sign(device_key.private_pem, body), "sign");
  const std::string sealed = Must(SealChangeSet(body, device_key.private_pem, fuzz::SealingKey().public_key), "seal");
  Write("fuzz_changeset", "0-sealed", std::string(1, '\0') + sealed);
  Write("fuzz_changeset", "1-plaintext", std::string(1, '\1') + SignedPlaintext(body, signature));
  Write("fuzz_changeset", "2-compressed", std::string(1, '\2') + crypto::Compress(SignedPlaintext(body, signature)));
  Write("fuzz_changeset", "3-body", std::string(1, '\3') + body);
  Write("fuzz_bundle", "two.mnrb", EncodeBundle({sealed, sealed}));
  Write("fuzz_bundle", "empty.mnrb", EncodeBundle({}));

  // fuzz_frame: a session's frames, one per file and all in one.
  Hello hello;
  hello.schema_version = 1;
  hello.device_id = "dev-fuzz";
  hello.software = "mnr-client 0.1.0";
  hello.device_name = "laptop";
  Welcome welcome;
  welcome.store_id = "0123";
  welcome.credential_id = cred.id;
  welcome.role = "field";
  welcome.countries = {"Q01"};
  welcome.server_certificate = server_cert.substr(0, 64);
  Push push;
  push.sealed = sealed.substr(0, 80);
  Ack ack;
  ack.changeset_id = ChangeSetId(body);
  ack.seq = 1;
  ack.receipt = "{}";
  PullChunk chunk;
  chunk.cursor = 7;
  chunk.fields.push_back(PulledField{"answer/Q01/c11_child_helpline", std::string("yes"), "0000019a@dev", 42});
  Request request;
  request.operation = "release.latest";
  request.arguments = "{\"have\":null}";
  const std::string session = EncodeMessage(hello) + EncodeMessage(welcome) + EncodeMessage(push) + EncodeMessage(ack) +
                              EncodeMessage(Pull{}) + EncodeMessage(chunk) + EncodeMessage(PullEnd{}) + EncodeMessage(request) +
                              EncodeMessage(Response{"{}"}) + EncodeMessage(Refused{}) + EncodeMessage(Bye{});
  Write("fuzz_frame", "hello", EncodeMessage(hello));
  Write("fuzz_frame", "pull-chunk", EncodeMessage(chunk));
  Write("fuzz_frame", "session", session);

  // fuzz_csv: the import formats.
  Write("fuzz_csv", "answers.csv",
        CsvLine({"country", "indicator", "answer", "note"}) + CsvLine({"Q01", "c11_child_helpline", "yes", ""}) +
            CsvLine({"Q01", "c12_reporting_hotline", "partial", "two regions, \"pilot\"\nsecond line"}));
  Write("fuzz_csv", "countries.csv", "\xEF\xBB\xBF" "code,name,income_group,region\r\nQ01,Placeholder Q01,high,europe\r\n\r\n");

  // fuzz_audit_export: a small export that passes VerifyExport: the register, a credential, a
  // change-set, a release, two signed heads, the proofs and the credentials section.
  std::vector<audit::Entry> entries;
  std::vector<std::string> hashes;
  merkle::Tree tree;
  const auto append = [&](int kind, const std::string& actor, const std::string& payload) {
    audit::Entry e;
    e.index = entries.size();
    e.kind = kind;
    e.actor = actor;
    e.recorded_at = now;
    e.prev_hash = hashes.empty() ? audit::GenesisHash() : hashes.back();
    e.payload = payload;
    hashes.push_back(audit::EntryHash(e));
    tree.Append(hashes.back());
    entries.push_back(e);
  };
  const auto head = [&](std::uint64_t size) {
    const std::string root = crypto::HexEncode(tree.Root(size));
    const std::string sig = Must(crypto::Sign(server_key.private_pem, audit::TreeHeadMessage(size, root, now)), "head");
    return nlohmann::json{{"size", size}, {"root", root}, {"timestamp", now}, {"signature", crypto::Base64Encode(sig)}};
  };
  append(audit::kCountriesChanged, "operator:fuzz",
         nlohmann::json::array({{{"code", "Q01"}, {"name", "Placeholder Q01"}, {"income_group", "high"}, {"region", "europe"}}}).dump());
  const nlohmann::json issued = {{"id", cred.id},           {"role", "field"},           {"name", cred.name},
                                 {"countries", cred.countries}, {"certificate", cred.certificate_pem}, {"fingerprint", cred_info.fingerprint},
                                 {"issued_at", now},        {"expires_at", cred.expires_at}};
  append(audit::kCredentialIssued, "operator:fuzz", issued.dump());
  append(audit::kChangeSet, cred.id, audit::ChangeSetPayload(body, signature));
  const nlohmann::json release_head = head(3);
  const std::string csv = "indicator,group\r\n";
  const nlohmann::json manifest = {{"format", "mnr-release-manifest 1"},
                                   {"label", "r1"},
                                   {"content_sha256", crypto::Sha256Hex(csv)},
                                   {"content_bytes", csv.size()},
                                   {"audit_tree_head", release_head},
                                   {"store_id", "0123"}};
  const std::string manifest_text = manifest.dump();
  append(audit::kRelease, "operator:fuzz", manifest_text);
  const nlohmann::json last_head = head(4);
  nlohmann::json file = {{"format", audit::kExportFormat},
                         {"size", 4},
                         {"store_id", "0123"},
                         {"exported_at", now},
                         {"ca_certificate", ca},
                         {"server_certificate", server_cert},
                         {"next", nullptr}};
  file["entries"] = nlohmann::json::array();
  for (std::size_t i = 0; i < entries.size(); ++i) file["entries"].push_back(EntryJson(entries[i], hashes[i]));
  file["tree_heads"] = nlohmann::json::array({release_head, last_head});
  file["credentials"] = nlohmann::json::array({{{"id", cred.id},
                                                {"role", "field"},
                                                {"name", cred.name},
                                                {"countries", cred.countries},
                                                {"fingerprint", cred_info.fingerprint},
                                                {"certificate", cred.certificate_pem},
                                                {"issued_at", now},
                                                {"expires_at", cred.expires_at},
                                                {"revoked_at", nullptr},
                                                {"predecessor", nullptr}}});
  file["releases"] = nlohmann::json::array({{{"label", "r1"},
                                             {"release_id", crypto::Sha256Hex(manifest_text)},
                                             {"manifest", manifest_text},
                                             {"signature", crypto::Base64Encode(Must(crypto::Sign(server_key.private_pem, manifest_text), "manifest"))},
                                             {"tree_size", 3},
                                             {"tree_root", release_head["root"]},
                                             {"csv_sha256", crypto::Sha256Hex(csv)}}});
  file["inclusion_proofs"] = nlohmann::json::array();
  for (std::uint64_t size : {3, 4}) {
    file["inclusion_proofs"].push_back(
        {{"index", 2}, {"tree_size", size}, {"changeset_id", ChangeSetId(body)}, {"path", HexList(Must(tree.InclusionProof(2, size), "proof"))}});
  }
  file["consistency_proofs"] = nlohmann::json::array({{{"from", 3}, {"to", 4}, {"path", HexList(Must(tree.ConsistencyProof(3, 4), "proof"))}}});
  auto check = audit::VerifyExport(file);
  if (!check.ok()) {
    std::cerr << "make_corpus: the seed export does not verify: " << check.status().message() << "\n";
    return 1;
  }
  Write("fuzz_audit_export", "export.json", file.dump());
  audit::Receipt receipt;
  receipt.changeset_id = ChangeSetId(body);
  receipt.index = 2;
  receipt.tree_size = 4;
  receipt.root = last_head["root"];
  receipt.timestamp = now;
  receipt.tree_head_signature = std::string(64, 'h');
  receipt.signature = std::string(64, 's');
  Write("fuzz_audit_export", "receipt.json", audit::EncodeReceipt(receipt));
  Write("fuzz_audit_export", "tree-head.txt", "4:" + last_head["root"].get<std::string>());
  std::cout << "seeds written to " << g_dir << "\n";
  return 0;
}
