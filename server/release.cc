#include "server/release.h"

#include <algorithm>
#include <set>

#include "mnr/crypto.h"
#include "mnr/field.h"
#include "mnr/file_util.h"
#include "mnr/utf8.h"
#include "server/aggregate.h"
#include "server/audit_log.h"
#include "server/dataset.h"
#include "server/register.h"

namespace mnr::server {
namespace {

constexpr std::size_t kLabelBytes = 100;
constexpr const char* kReleaseColumns =
    "id, label, release_id, content_sha256, csv, practices, members, manifest, signature, created_at";

Release ReadRelease(const Statement& st) {
  Release r;
  r.id = st.Int(0);
  r.label = st.Text(1);
  r.release_id = st.Text(2);
  r.content_sha256 = st.Text(3);
  r.csv = st.Text(4);
  r.practices = st.Text(5);
  r.members = st.Text(6);
  r.manifest = st.Text(7);
  r.signature = st.Blob(8);
  r.created_at = st.Int(9);
  return r;
}

// The file of a listed attachment still holds the bytes the manifest states.
Status CheckListedFile(const BlobDirectory& blobs, const nlohmann::json& entry, const std::string& what) {
  const std::string field = entry.value("field", std::string());
  const std::string sha = entry.value("sha256", std::string());
  if (!IsValidBlobHash(sha) || !entry.contains("size") || !entry["size"].is_number_unsigned()) {
    return Status::Corruption(what + ": the manifest lists attachment " + field + " without a valid sha256 and size");
  }
  Status s = blobs.Verify(sha, entry["size"].get<std::uint64_t>());
  if (!s.ok()) return Status::Corruption(what + ": attachment " + field + ": " + s.message());
  return Status::OK();
}

}  // namespace

nlohmann::json ReleaseAttachmentsOf(const std::vector<AttachmentRef>& refs, const std::vector<Country>& countries,
                                    const SurveySchema& schema, const nlohmann::json& practices) {
  std::set<std::string> registered;
  for (const auto& c : countries) registered.insert(c.code);
  std::set<std::pair<std::string, std::string>> entries;  // (country, practice id) the release lists
  for (const auto& e : practices) entries.emplace(e.value("country", std::string()), e.value("id", std::string()));
  std::vector<std::pair<std::string, nlohmann::json>> out;
  for (const AttachmentRef& r : refs) {
    auto key = ParseField(r.field);
    if (!key.ok() || key->kind != FieldKey::Kind::kAttachment || !registered.count(key->country)) continue;
    nlohmann::json e = {{"field", r.field},      {"country", key->country},           {"sha256", key->hash},
                        {"size", r.value.size}, {"media_type", r.value.media_type}, {"title", r.value.title}};
    if (key->target == "indicator") {
      if (schema.FindIndicator(key->indicator) == nullptr) continue;
      e["indicator"] = key->indicator;
    } else {
      if (!entries.count({key->country, key->practice_id})) continue;
      e["practice"] = key->practice_id;
    }
    out.emplace_back(r.field, std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  nlohmann::json list = nlohmann::json::array();
  for (auto& [field, e] : out) list.push_back(std::move(e));
  return list;
}

nlohmann::json ManifestAttachments(const nlohmann::json& manifest) {
  if (manifest.is_object() && manifest.contains("attachments") && manifest["attachments"].is_array()) return manifest["attachments"];
  return nlohmann::json::array();
}

Status CheckReleaseLabel(std::string_view label) {
  if (label.empty()) return Status::InvalidArgument("a release needs a --label");
  MNR_RETURN_IF_ERROR(CheckText(label, "release label", kLabelBytes));
  if (std::any_of(label.begin(), label.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return Status::InvalidArgument("release label contains a control character (tab, newline, ...)");
  }
  return Status::OK();
}

Result<Release> CreateRelease(ServerStore& store, const std::string& label, const std::string& actor, std::int64_t now,
                              const nlohmann::json& provisional, int min_group, std::string_view round_asked) {
  MNR_RETURN_IF_ERROR(CheckReleaseLabel(label));
  if (min_group < 1) return Status::InvalidArgument("the smallest group shown must be at least 1 country");
  auto resolved = ChooseRound(store.schema(), round_asked.empty() ? std::nullopt : std::optional<std::string>(round_asked));
  if (!resolved.ok()) return resolved.status();
  const std::string round = *resolved;
  Db& db = store.db();
  auto key = ReadFile(store.paths().server_key(), kKeyFileBytes);
  if (!key.ok()) return key.status().With("reading the server key that signs releases");

  Transaction tx(db);
  MNR_RETURN_IF_ERROR(tx.status());
  {
    auto st = db.Prepare("SELECT created_at, content_sha256 FROM releases WHERE label = ?");
    if (!st.ok()) return st.status();
    st->Bind(1, label);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (*row) {
      return Status::AlreadyExists("release \"" + label + "\" already exists (content " + st->Text(1).substr(0, 16) +
                                   "...); releases never change: choose another --label");
    }
  }
  // The figures that are signed must be the ones the merged answers give, not whatever the
  // maintained tables were edited to say.
  MNR_RETURN_IF_ERROR(CheckDatasetAgainstRecount(db).With("release \"" + label + "\" not made"));
  auto dataset = LoadDataset(db, store.schema(), round);
  if (!dataset.ok()) return dataset.status();
  const std::string csv = DatasetCsv(*dataset);
  auto practices = PracticeEntries(db, store.schema());
  if (!practices.ok()) return practices.status();
  auto members = DatasetMembers(db, store.schema(), round);
  if (!members.ok()) return members.status();
  auto store_version = db.UserVersion();
  if (!store_version.ok()) return store_version.status();
  // The evidence files: listed with their hashes when held whole (and checked now, so a manifest never
  // vouches for a damaged file), else named as pending.
  nlohmann::json attachments = nlohmann::json::array(), pending = nlohmann::json::array();
  {
    auto refs = AllAttachmentRefs(db);
    if (!refs.ok()) return refs.status();
    auto countries = Countries(store.db());
    if (!countries.ok()) return countries.status();
    const BlobDirectory blobs(store.paths().dir);
    for (auto& e : ReleaseAttachmentsOf(*refs, *countries, store.schema(), *practices)) {
      auto held = HeldMediaType(db, e["sha256"].get<std::string>());
      if (!held.ok()) return held.status();
      if (!held->has_value()) {
        pending.push_back(e["field"]);
        continue;
      }
      if (Status bad = CheckListedFile(blobs, e, "release \"" + label + "\" not made"); !bad.ok()) {
        return Status::Corruption(bad.message() + " (run `mnr-server audit verify`)");
      }
      attachments.push_back(std::move(e));
    }
  }
  auto head = CurrentTreeHead(store.db(), store.HeadSigner());
  if (!head.ok()) return head.status().With("signing the audit log's tree head for the release");

  Release r;
  r.label = label;
  r.csv = csv;
  r.content_sha256 = crypto::Sha256Hex(csv);
  r.practices = practices->dump();
  r.members = members->dump();
  r.created_at = now;
  nlohmann::json manifest = {
      {"format", "mnr-release-manifest 1"},
      {"label", label},
      {"content_sha256", r.content_sha256},
      {"content_bytes", csv.size()},
      {"dataset_format", kDatasetFormat},
      {"practices_sha256", crypto::Sha256Hex(r.practices)},
      {"audit_tree_head",
       {{"size", head->size}, {"root", head->root}, {"timestamp", head->timestamp}, {"signature", crypto::Base64Encode(head->signature)}}},
      {"store_id", store.store_id()},
      {"store_schema_version", *store_version},
      {"survey_schema_version", store.schema().version()},
      {"software", std::string("mnr-server ") + MNR_VERSION},
      {"created_at", now}};
  if (!provisional.is_null()) manifest["provisional"] = provisional;
  manifest["round"] = round;
  manifest["attachments"] = std::move(attachments);
  manifest["attachments_pending"] = std::move(pending);
  manifest["small_groups"] = {{"min_countries", min_group}};
  manifest["public_csv_sha256"] = {{"en", crypto::Sha256Hex(DatasetLabelledCsv(*dataset, store.schema(), "en", min_group))},
                                   {"fr", crypto::Sha256Hex(DatasetLabelledCsv(*dataset, store.schema(), "fr", min_group))}};
  r.manifest = manifest.dump();  // keys sorted, no spaces: one text for one manifest
  r.release_id = crypto::Sha256Hex(r.manifest);
  auto sig = crypto::Sign(*key, r.manifest);
  if (!sig.ok()) return sig.status().With("signing the release manifest");
  r.signature = *sig;

  auto ins = db.Prepare(
      "INSERT INTO releases (label, release_id, content_sha256, csv, practices, members, manifest, signature, created_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins.ok()) return ins.status();
  ins->Bind(1, r.label).Bind(2, r.release_id).Bind(3, r.content_sha256).Bind(4, r.csv).Bind(5, r.practices);
  ins->Bind(6, r.members).Bind(7, r.manifest).BindBlob(8, r.signature).Bind(9, now);
  MNR_RETURN_IF_ERROR(ins->Run());
  r.id = db.LastInsertRowId();
  auto entry = AppendAuditEntry(db, AuditKind::kRelease, actor, r.manifest);
  if (!entry.ok()) return entry.status().With("logging the release");
  MNR_RETURN_IF_ERROR(tx.Commit());
  return r;
}

std::string ReleaseRound(const Release& r) {
  const auto m = nlohmann::json::parse(r.manifest, nullptr, false);
  if (m.is_object() && m.contains("round") && m["round"].is_string()) return m["round"].get<std::string>();
  return std::string(kFirstRound);
}

Result<std::optional<Release>> LatestReleaseOfRound(Db& db, std::string_view round, std::int64_t before_id) {
  auto all = ListReleases(db);
  if (!all.ok()) return all.status();
  std::optional<Release> found;
  for (auto& r : *all) {
    if (r.id < before_id && ReleaseRound(r) == round) found = std::move(r);
  }
  return found;
}

Result<std::vector<Release>> ListReleases(Db& db) {
  auto st = db.Prepare(std::string("SELECT ") + kReleaseColumns + " FROM releases ORDER BY id");
  if (!st.ok()) return st.status();
  std::vector<Release> out;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(ReadRelease(*st));
  }
  return out;
}

Result<Release> FindRelease(Db& db, const std::optional<std::string>& label) {
  auto st = db.Prepare(std::string("SELECT ") + kReleaseColumns + " FROM releases " +
                       (label ? "WHERE label = ?" : "ORDER BY id DESC LIMIT 1"));
  if (!st.ok()) return st.status();
  if (label) st->Bind(1, *label);
  auto row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    if (!label) return Status::NotFound("there is no release yet; make one with `mnr-server release --data DIR --label TEXT`");
    return Status::NotFound("no release \"" + *label + "\" (see `mnr-server releases list`)");
  }
  return ReadRelease(*st);
}

Status VerifyRelease(const Release& r, std::string_view server_certificate_pem) {
  const std::string what = "release \"" + r.label + "\"";
  nlohmann::json m = nlohmann::json::parse(r.manifest, nullptr, false);
  if (m.is_discarded() || !m.is_object()) return Status::Corruption(what + ": the manifest is not JSON");
  if (m.value("label", std::string()) != r.label) return Status::Corruption(what + ": the manifest names another label");
  const std::string stated = m.value("content_sha256", std::string()), actual = crypto::Sha256Hex(r.csv);
  if (actual != stated) {
    return Status::Corruption(what + ": the dataset does not hash to the content hash the manifest states (the CSV hashes to " +
                              actual.substr(0, 16) + "..., the signed manifest states " + stated.substr(0, 16) + "...)");
  }
  if (r.content_sha256 != stated) {
    return Status::Corruption(what + ": the stored content hash " + r.content_sha256.substr(0, 16) +
                              "... is not the one the signed manifest states (" + stated.substr(0, 16) + "...)");
  }
  if (crypto::Sha256Hex(r.manifest) != r.release_id) return Status::Corruption(what + ": the release id is not the manifest's hash");
  Status s = crypto::VerifyWithCertificate(server_certificate_pem, r.manifest, r.signature);
  if (!s.ok()) return Status::Corruption(what + ": the manifest's signature does not verify (" + s.message() + ")");
  return Status::OK();
}

Status CheckStoredRelease(ServerStore& store, const Release& r) {
  auto cert = ReadFile(store.paths().server_cert(), kKeyFileBytes);
  if (!cert.ok()) return cert.status().With("checking release \"" + r.label + "\"");
  MNR_RETURN_IF_ERROR(VerifyRelease(r, *cert));
  const std::string what = "release \"" + r.label + "\"";
  const auto m = nlohmann::json::parse(r.manifest, nullptr, false);
  if (!m.contains("content_bytes") || !m["content_bytes"].is_number_unsigned() || m["content_bytes"].get<std::uint64_t>() != r.csv.size()) {
    return Status::Corruption(what + ": the stored CSV is not the size the signed manifest states");
  }
  if (m.value("practices_sha256", std::string()) != crypto::Sha256Hex(r.practices)) {
    return Status::Corruption(what + ": the stored good-practice entries do not hash to what the signed manifest states");
  }
  const BlobDirectory blobs(store.paths().dir);
  for (const auto& e : ManifestAttachments(m)) MNR_RETURN_IF_ERROR(CheckListedFile(blobs, e, what));
  auto st = store.db().Prepare("SELECT idx FROM audit_entries WHERE kind = ? AND payload = ? ORDER BY idx LIMIT 1");
  if (!st.ok()) return st.status();
  st->Bind(1, std::int64_t{static_cast<int>(AuditKind::kRelease)}).BindBlob(2, r.manifest);
  auto row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return Status::Corruption(what + ": no release entry of the audit log holds this manifest (the manifest was replaced after "
                                     "the release was made; run `mnr-server audit verify`)");
  }
  return Status::OK();
}

Result<nlohmann::json> ReleaseLatestOperation(const RemoteCall& call) {
  const auto& args = call.arguments;
  std::string have;
  if (args.contains("have") && !args["have"].is_null()) {
    if (!args["have"].is_string()) return Status::InvalidArgument("argument \"have\" must be a release id (hex) or null");
    have = args["have"].get<std::string>();
  }
  auto latest = FindRelease(call.store.db(), std::nullopt);
  if (!latest.ok()) {
    if (latest.status().code() == Status::Code::kNotFound) return nlohmann::json{{"release", nullptr}};
    return latest.status();
  }
  if (!have.empty() && have == latest->release_id) return nlohmann::json{{"unchanged", true}};
  auto cert = ReadFile(call.store.paths().server_cert(), kKeyFileBytes);
  if (!cert.ok()) return cert.status();
  nlohmann::json scope = nlohmann::json::array();
  auto countries = Countries(call.store.db());
  if (!countries.ok()) return countries.status();
  for (const auto& c : *countries) {
    if (std::find(call.caller.countries.begin(), call.caller.countries.end(), c.code) == call.caller.countries.end()) continue;
    scope.push_back({{"code", c.code}, {"name", c.name}, {"income_group", c.income_group}, {"region", c.region}});
  }
  return nlohmann::json{{"release",
                         {{"label", latest->label},
                          {"release_id", latest->release_id},
                          {"content_sha256", latest->content_sha256},
                          {"csv", latest->csv},
                          {"manifest", latest->manifest},
                          {"signature", crypto::Base64Encode(latest->signature)},
                          {"server_certificate", *cert}}},
                        {"scope", scope}};
}

}  // namespace mnr::server
