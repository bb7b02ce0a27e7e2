#include "server/return_bundle.h"

#include <algorithm>
#include <ctime>
#include <iostream>
#include <map>
#include <set>

#include "mnr/cli.h"
#include "mnr/crypto.h"
#include "mnr/field.h"
#include "mnr/file_util.h"
#include "mnr/limits.h"
#include "mnr/wall_clock.h"
#include "server/attachments.h"
#include "server/audit_log.h"
#include "server/cli_common.h"
#include "server/merged_state.h"
#include "server/pull.h"
#include "server/register.h"
#include "server/release.h"
#include "server/remote_ops.h"

namespace mnr::server {
namespace {

// The file layout and the signed statement (docs/protocol.md, "Return bundles (.mnrr)"); client/
// return_bundle.cc reads them.
constexpr std::string_view kReturnMagic = "MNRRTN01";
constexpr std::string_view kFormat = "mnr-sync return bundle v1";
constexpr std::string_view kSignedPrefix = "mnr-sync return bundle v1\n";

void PutU16(std::string& out, std::size_t v) {
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

void PutU32(std::string& out, std::size_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

bool HasCountry(const std::vector<std::string>& countries, const std::string& c) {
  return std::find(countries.begin(), countries.end(), c) != countries.end();
}

// Credential id -> the base64 X25519 return key stored at issue (NULL before server store v4).
Result<std::map<std::string, std::string>> ReturnKeys(Db& db) {
  auto st = db.Prepare("SELECT id, return_key FROM credentials WHERE return_key IS NOT NULL");
  if (!st.ok()) return st.status();
  std::map<std::string, std::string> out;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out[st->Text(0)] = st->Text(1);
  }
  return out;
}

struct Recipient {
  std::string credential_id;
  std::string return_key;  // raw 32 bytes
};

Result<std::vector<Recipient>> Recipients(ServerStore& store, const std::string& country, std::int64_t now) {
  auto creds = Credentials(store.db());
  if (!creds.ok()) return creds.status();
  auto keys = ReturnKeys(store.db());
  if (!keys.ok()) return keys.status();
  std::vector<Recipient> out;
  std::vector<std::string> without_key;
  for (const auto& c : *creds) {
    if (c.role != Role::kField || !HasCountry(c.countries, country)) continue;
    if (!CheckCredentialUsable(c, now).ok()) continue;
    auto k = keys->find(c.id);
    if (k == keys->end()) {
      without_key.push_back(c.id);
      continue;
    }
    auto raw = crypto::Base64Decode(k->second);
    if (!raw.ok() || raw->size() != 32) return Status::Corruption("credential " + c.id + " has an unreadable return key");
    out.push_back({c.id, *raw});
  }
  if (out.empty()) {
    if (!without_key.empty()) {
      std::string ids;
      for (const auto& id : without_key) ids += (ids.empty() ? "" : ", ") + id;
      return Status::InvalidArgument("no field credential of " + country + " can receive a return bundle: " + ids +
                                     " were issued before return bundles existed; renew the credential to receive return "
                                     "bundles (mnr-server renew --data DIR ID --out FILE.mnrcred)");
    }
    return Status::InvalidArgument("no usable field credential covers " + country +
                                   " (none issued, or all revoked or expired); issue one with mnr-server issue --role field "
                                   "--country " + country);
  }
  return out;
}

// Receipts for every change-set stored from a device whose credential (now, or when it signed, for a
// device never seen since) covers `country`.
Result<nlohmann::json> Receipts(ServerStore& store, const std::string& country) {
  auto creds = Credentials(store.db());
  if (!creds.ok()) return creds.status();
  std::map<std::string, std::vector<std::string>> countries_of;
  for (const auto& c : *creds) {
    if (c.role == Role::kField) countries_of[c.id] = c.countries;
  }
  auto st = store.db().Prepare(
      "SELECT cs.id, cs.device_id, cs.seq, COALESCE(d.credential_id, cs.credential_id) FROM changesets cs "
      "LEFT JOIN devices d ON d.device_id = cs.device_id ORDER BY cs.device_id, cs.seq");
  if (!st.ok()) return st.status();
  struct Row {
    std::string id, device;
    std::int64_t seq;
  };
  std::vector<Row> rows;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto it = countries_of.find(st->Text(3));
    if (it == countries_of.end() || !HasCountry(it->second, country)) continue;
    rows.push_back({st->Text(0), st->Text(1), st->Int(2)});
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rows) {
    auto receipt = MakeReceipt(store.db(), store.HeadSigner(), r.id);
    if (!receipt.ok()) return receipt.status().With("receipt for change-set " + r.id);
    out.push_back({{"changeset_id", r.id}, {"device_id", r.device}, {"seq", r.seq}, {"receipt", *receipt}});
  }
  return out;
}

Result<std::uint64_t> StateSeq(Db& db) {
  auto st = db.Prepare("SELECT value FROM meta WHERE key = 'state_seq'");
  if (!st.ok()) return st.status();
  auto row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::uint64_t{0};
  try {
    return static_cast<std::uint64_t>(std::stoull(st->Text(0)));
  } catch (const std::exception&) {
    return Status::Corruption("the store's state_seq is not a number");
  }
}

int Fail(const Status& s) { return cli::Fail(kProgram, s); }

}  // namespace

Result<nlohmann::json> ConflictForOffices(ServerStore& store, const Conflict& c, const PeopleNames& names) {
  nlohmann::json j = ConflictToJson(c, names);
  if (c.resolved && c.resolution_version && !j.contains("resolution_value")) {
    auto st = store.db().Prepare("SELECT value FROM ops WHERE field = ? AND version = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, c.field).Bind(2, *c.resolution_version);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (*row) j["resolution_value"] = st->IsNull(0) ? nlohmann::json(nullptr) : nlohmann::json(st->Text(0));
  }
  return j;
}

bool ConflictInCountries(const Conflict& c, const std::vector<std::string>& countries) {
  auto key = ParseField(c.field);
  return key.ok() && HasCountry(countries, key->country);
}

Result<ReturnBundle> MakeReturnBundle(ServerStore& store, const ReturnBundleOptions& o) {
  if (!IsValidCountryCode(o.country)) {
    return Status::InvalidArgument("\"" + o.country.substr(0, 20) + "\" is not a country code (2 to 8 capital letters and digits)");
  }
  auto registered = Countries(store.db());
  if (!registered.ok()) return registered.status();
  if (std::none_of(registered->begin(), registered->end(), [&](const Country& c) { return c.code == o.country; })) {
    return Status::InvalidArgument("country " + o.country + " is not in the register (see mnr-server countries list)");
  }
  auto recipients = Recipients(store, o.country, o.now);
  if (!recipients.ok()) return recipients.status();
  auto key = ReadFile(store.paths().server_key(), kKeyFileBytes);
  if (!key.ok()) return key.status();
  auto cert = ReadFile(store.paths().server_cert(), kKeyFileBytes);
  if (!cert.ok()) return cert.status();

  // One write transaction: a consistent view of fields, cursor, receipts and conflicts, and the tree
  // head the receipts name is stored with it.
  Transaction tx(store.db());
  MNR_RETURN_IF_ERROR(tx.status());
  ReturnBundle out;
  auto cursor = StateSeq(store.db());
  if (!cursor.ok()) return cursor.status();
  nlohmann::json fields = nlohmann::json::array();
  for (std::uint64_t from = 0;;) {
    auto batch = PullSince(store.db(), {o.country}, from, limits::kPullChunkFields);
    if (!batch.ok()) return batch.status();
    for (const auto& f : batch->fields) {
      fields.push_back({{"field", f.field},
                        {"value", f.value ? nlohmann::json(*f.value) : nlohmann::json(nullptr)},
                        {"version", f.version},
                        {"hlc", f.hlc}});
    }
    if (!batch->more || batch->next_cursor <= from) break;
    from = batch->next_cursor;
  }
  auto receipts = Receipts(store, o.country);
  if (!receipts.ok()) return receipts.status();
  auto all = Conflicts(store.db(), false);
  if (!all.ok()) return all.status();
  auto names = LoadPeopleNames(store);
  if (!names.ok()) return names.status();
  nlohmann::json conflicts = nlohmann::json::array();
  for (const auto& c : *all) {
    if (!ConflictInCountries(c, {o.country})) continue;
    auto j = ConflictForOffices(store, c, *names);
    if (!j.ok()) return j.status();
    conflicts.push_back(std::move(*j));
  }
  // The release exactly as release.latest gives it to an office of this country.
  CredentialRecord office;
  office.role = Role::kField;
  office.countries = {o.country};
  const nlohmann::json no_arguments = nlohmann::json::object();
  auto release = ReleaseLatestOperation(RemoteCall{store, office, no_arguments});
  if (!release.ok()) return release.status().With("the latest release");
  if (release->contains("release") && (*release)["release"].is_object()) {
    out.release = (*release)["release"].value("label", "");
  }
  // The files of the country's live attachments that the server holds whole, each once.
  nlohmann::json files = nlohmann::json::array();
  if (o.with_attachments) {
    auto refs = AllAttachmentRefs(store.db());
    if (!refs.ok()) return refs.status();
    const BlobDirectory blobs(store.paths().dir);
    std::set<std::string> seen;
    for (const AttachmentRef& r : *refs) {
      auto field = ParseField(r.field);
      if (!field.ok() || r.country != o.country || !seen.insert(field->hash).second) continue;
      const std::string& hash = field->hash;
      auto held = HeldMediaType(store.db(), hash);
      if (!held.ok()) return held.status();
      if (!held->has_value()) continue;
      auto bytes = blobs.Read(hash, 0, r.value.size);
      if (!bytes.ok()) return bytes.status();
      if (crypto::Sha256Hex(*bytes) != hash) return Status::Corruption(blobs.PathOf(hash) + ": the file no longer matches its hash");
      files.push_back({{"hash", hash}, {"size", r.value.size}, {"media_type", **held}, {"data", crypto::Base64Encode(*bytes)}});
    }
  }
  out.files = files.size();
  out.fields = fields.size();
  out.receipts = receipts->size();
  out.conflicts = conflicts.size();
  if (!o.allow_empty && out.fields == 0 && out.receipts == 0 && out.conflicts == 0 && out.release.empty()) {
    return Status::InvalidArgument("nothing to send to " + o.country +
                                   ": no answers, receipts, conflicts or release yet; use --allow-empty to write an empty bundle");
  }

  nlohmann::json payload = {{"format", kFormat},
                                  {"country", o.country},
                                  {"store_id", store.store_id()},
                                  {"created_at", o.now},
                                  {"server_certificate", *cert},
                                  {"cursor", *cursor},
                                  {"fields", fields},
                                  {"receipts", *receipts},
                                  {"conflicts", conflicts},
                                  {"release", *release}};
  if (o.with_attachments) payload["files"] = std::move(files);
  std::string text;
  try {
    text = payload.dump();
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("the return bundle's content cannot be written as JSON: ") + e.what());
  }
  auto signature = crypto::Sign(*key, std::string(kSignedPrefix) + text);
  if (!signature.ok()) return signature.status().With("signing the return bundle");
  MNR_RETURN_IF_ERROR(tx.Commit());

  std::string inner;
  PutU32(inner, text.size());
  inner += text;
  inner += *signature;
  const std::string compressed = crypto::Compress(inner);

  std::string& file = out.bytes;
  file += kReturnMagic;
  PutU16(file, o.country.size());
  file += o.country;
  PutU32(file, recipients->size());
  for (const auto& r : *recipients) {
    auto sealed = crypto::Seal(compressed, r.return_key);
    if (!sealed.ok()) return sealed.status().With("sealing the return bundle to " + r.credential_id);
    PutU16(file, r.credential_id.size());
    file += r.credential_id;
    PutU32(file, sealed->size());
    file += *sealed;
    out.recipients.push_back(r.credential_id);
  }
  file += crypto::Sha256(file);
  return out;
}

int ReturnBundleCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-server bundle --data DIR --country CODE --out FILE.mnrr [--with-attachments] [--force] [--allow-empty]",
                "Writes a return bundle for the field offices of one country, for a USB stick: receipts for the\n"
                "change-sets the server stored from them, the country's merged state (answers, practices, review and\n"
                "queries), its conflicts and their resolutions, and the latest dataset release. It is signed with the\n"
                "server key and sealed to each usable field credential of the country; an office applies it with\n"
                "`mnr-client import-bundle --db PATH FILE.mnrr`.");
  p.Option("data", "DIR", "the server store directory", true)
      .Option("country", "CODE", "the country whose offices receive it", true)
      .Option("out", "FILE.mnrr", "the file to write", true)
      .Flag("force", "overwrite FILE if it exists")
      .Flag("allow-empty", "write the bundle even when there is nothing to send")
      .Flag("with-attachments", "also carry the files of the country's attachments (so an office that is never online can "
            "open what other devices attached)");
  cli::Args a;
  if (auto rc = cli::ParseOrExit(p, argv, kProgram, a)) return *rc;
  const std::string out = *a.Get("out");
  const OutputRules rules{a.Has("force"), true, {ServerPaths{*a.Get("data")}.db()}};
  if (Status s = CheckOutputFile(out, rules); !s.ok()) return Fail(s);
  auto store = ServerStore::Open(*a.Get("data"));
  if (!store.ok()) return Fail(store.status());
  ReturnBundleOptions o;
  o.country = *a.Get("country");
  o.now = UnixNow();
  o.allow_empty = a.Has("allow-empty");
  o.with_attachments = a.Has("with-attachments");
  auto bundle = MakeReturnBundle(**store, o);
  if (!bundle.ok()) return Fail(bundle.status());
  if (Status s = WriteOutputFile(out, bundle->bytes, rules, 0600); !s.ok()) return Fail(s);
  std::cout << "wrote return bundle for " << o.country << " to " << out << ": " << bundle->fields << " field(s), "
            << bundle->receipts << " receipt(s), " << bundle->conflicts << " conflict(s), " << bundle->files << " file(s), "
            << (bundle->release.empty() ? std::string("no release") : "release " + bundle->release) << "; sealed to "
            << bundle->recipients.size() << " credential(s); apply it with: mnr-client import-bundle --db PATH " << out << "\n";
  return cli::kExitOk;
}

}  // namespace mnr::server
