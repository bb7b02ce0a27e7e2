// `mnr-client import-bundle`: applies a return bundle (.mnrr, docs/protocol.md "Return bundles
// (.mnrr)") written by `mnr-server bundle` for an office that is never online. Everything in it is
// opened and checked first — the copy sealed to this store's credential, the server certificate
// against the credential's CA, the server's signature, the receipts and the release — and only then
// applied, in the order an online sync applies the same things: receipts and acknowledgements, the
// merged state, the conflicts, the release. Each step is idempotent, so importing a bundle again (or
// after an interruption) changes nothing more.
#include <algorithm>
#include <ctime>
#include <iostream>
#include <map>
#include <set>

#include "client/client_store.h"
#include "client/commands.h"
#include "client/field_conflicts.h"
#include "client/receipts.h"
#include "client/release_sync.h"
#include "mnr/audit_format.h"
#include "mnr/cli.h"
#include "mnr/crypto.h"
#include "mnr/i18n.h"
#include "mnr/describe.h"
#include "mnr/field.h"
#include "mnr/file_util.h"
#include "mnr/limits.h"
#include "mnr/wall_clock.h"
#include "client/json_fields.h"

namespace mnr::client {
namespace {

constexpr const char* kImportBundleProgram = "mnr-client import-bundle";
constexpr std::string_view kReturnMagic = "MNRRTN01";
constexpr std::string_view kChangeSetBundleMagic = "MNRBNDL1";
constexpr std::string_view kFormat = "mnr-sync return bundle v1";
constexpr std::string_view kSignedPrefix = "mnr-sync return bundle v1\n";
constexpr std::size_t kFileBytes = std::size_t{1} << 30;
constexpr std::size_t kPayloadBytes = std::size_t{512} << 20;
constexpr std::size_t kSignatureBytes = 64;
constexpr std::size_t kChecksumBytes = 32;
// Meta keys: when the last applied return bundle was written, and its id (SHA-256 of its payload).
constexpr const char* kMetaCreatedAt = "return_bundle_created_at";
constexpr const char* kMetaId = "return_bundle_id";

// The clear part of the file and this store's sealed copy.
struct Container {
  std::string country;
  std::vector<std::pair<std::string, std::string>> copies;  // credential id, sealed payload
};

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool Take(std::size_t n, std::string_view& out) {
    if (bytes_.size() - pos_ < n) return false;
    out = bytes_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool Number(std::size_t width, std::size_t& out) {
    std::string_view b;
    if (!Take(width, b)) return false;
    out = 0;
    for (char c : b) out = (out << 8) | static_cast<unsigned char>(c);
    return true;
  }
  bool done() const { return pos_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

Result<Container> ParseContainer(std::string_view bytes, const std::string& file) {
  if (bytes.substr(0, kChangeSetBundleMagic.size()) == kChangeSetBundleMagic) {
    return Status::InvalidArgument(
        tr("{1} is a bundle of change-sets for the server (apply it with mnr-server import-bundle), not a return bundle", file));
  }
  if (bytes.substr(0, kReturnMagic.size()) != kReturnMagic) {
    return Status::InvalidArgument(tr("{1} is not a return bundle (it does not start with \"MNRRTN01\")", file));
  }
  if (bytes.size() < kReturnMagic.size() + kChecksumBytes ||
      crypto::Sha256(bytes.substr(0, bytes.size() - kChecksumBytes)) != bytes.substr(bytes.size() - kChecksumBytes)) {
    return Status::Corruption(tr("{1} is damaged or was changed (its checksum does not match); copy it again from the server", file));
  }
  Reader r(bytes.substr(kReturnMagic.size(), bytes.size() - kReturnMagic.size() - kChecksumBytes));
  Container c;
  std::size_t n = 0, count = 0;
  std::string_view v;
  const Status truncated = Status::Corruption(tr("{1} is truncated or malformed", file));
  if (!r.Number(2, n) || !r.Take(n, v)) return truncated;
  c.country = std::string(v);
  if (!r.Number(4, count) || count > 100000) return truncated;
  for (std::size_t i = 0; i < count; ++i) {
    std::string_view id, sealed;
    if (!r.Number(2, n) || !r.Take(n, id) || !r.Number(4, n) || !r.Take(n, sealed)) return truncated;
    c.copies.emplace_back(std::string(id), std::string(sealed));
  }
  if (!r.done()) return truncated;
  return c;
}

// The signed payload of this store's copy, after the signature and certificate are checked.
struct Opened {
  std::string id;  // SHA-256 (hex) of the payload text
  nlohmann::json payload;
  std::string server_certificate;
};

Result<Opened> OpenCopy(const Credential& cred, const std::string& sealed, const std::string& file) {
  auto key = crypto::DeriveReturnKey(cred.private_key_pem);
  if (!key.ok()) return key.status().With(tr("this store's credential"));
  auto compressed = crypto::Unseal(sealed, key->private_key);
  if (!compressed.ok()) return Status::Corruption(tr("{1}: this store's copy does not open: {2}", file, compressed.status().message()));
  auto inner = crypto::Decompress(*compressed, kPayloadBytes);
  if (!inner.ok()) return inner.status().With(file);
  Reader r(*inner);
  std::size_t n = 0;
  std::string_view text, signature;
  if (!r.Number(4, n) || !r.Take(n, text) || !r.Take(kSignatureBytes, signature) || !r.done()) {
    return Status::Corruption(tr("{1}: the payload is malformed", file));
  }
  Opened o;
  o.payload = nlohmann::json::parse(text, nullptr, false);
  if (o.payload.is_discarded() || !o.payload.is_object()) return Status::Corruption(tr("{1}: the payload is not JSON", file));
  if (!o.payload.contains("created_at") || !o.payload["created_at"].is_number_integer()) {
    return Status::Corruption(tr("{1}: the payload has no creation time", file));
  }
  // The signature first: nothing else in the payload is read before it verifies.
  o.server_certificate = StringField(o.payload, "server_certificate");
  const auto created_at = o.payload["created_at"].get<std::int64_t>();
  Status cert = audit::VerifyServerCertificate(o.server_certificate, cred.ca_certificate_pem, created_at);
  if (!cert.ok()) return Status::Corruption(tr("{1}: not from this credential's server: {2}", file, cert.message()));
  Status sig = crypto::VerifyWithCertificate(o.server_certificate, std::string(kSignedPrefix) + std::string(text), signature);
  if (!sig.ok()) return Status::Corruption(tr("{1}: the server's signature does not verify ({2})", file, sig.message()));
  if (StringField(o.payload, "format") != kFormat) {
    return Status::InvalidArgument(tr("{1}: unknown return bundle format \"{2}\" (this mnr-client reads \"{3}\"; upgrade it)", file,
                                      TerminalText(StringField(o.payload, "format"), 40), kFormat));
  }
  o.id = crypto::Sha256Hex(text);
  return o;
}

std::string FormatUtc(std::int64_t t) { return audit::FormatTime(t); }

// The hybrid clock of a version "<16 hex digits>@<author>"; 0 if it has none.
HlcTime VersionHlc(const std::string& version) {
  if (version.size() < 17 || version[16] != '@') return 0;
  try {
    return static_cast<HlcTime>(std::stoull(version.substr(0, 16), nullptr, 16));
  } catch (const std::exception&) {
    return 0;
  }
}

Result<std::vector<PulledField>> ReadFields(const nlohmann::json& payload, const std::string& country) {
  if (!payload.contains("fields") || !payload["fields"].is_array()) return Status::Corruption(tr("the bundle has no field list"));
  std::vector<PulledField> out;
  for (const auto& f : payload["fields"]) {
    if (!f.is_object() || !f.contains("field") || !f["field"].is_string() || !f.contains("version") || !f["version"].is_string() ||
        !f.contains("hlc") || !f["hlc"].is_number_unsigned() || !f.contains("value") || !(f["value"].is_string() || f["value"].is_null())) {
      return Status::Corruption(tr("the bundle holds a malformed field"));
    }
    PulledField p;
    p.field = f["field"].get<std::string>();
    auto key = ParseField(p.field);
    if (!key.ok()) return Status::Corruption(tr("the bundle holds {1}", key.status().message()));
    if (key->country != country) return Status::Corruption(tr("the bundle for {1} holds a field of {2}", country, key->country));
    if (f["value"].is_string()) p.value = f["value"].get<std::string>();
    p.version = f["version"].get<std::string>();
    p.hlc = f["hlc"].get<HlcTime>();
    out.push_back(std::move(p));
  }
  return out;
}

// Leaves out fields whose merged value is older than the one this store holds (it synced online
// after the bundle was written): the winner of a field only ever moves to a later clock.
Result<std::vector<PulledField>> NewerThanHeld(ClientStore& store, std::vector<PulledField> fields) {
  auto st = store.db().Prepare("SELECT version FROM field_versions WHERE field = ?");
  if (!st.ok()) return st.status();
  std::vector<PulledField> out;
  for (auto& f : fields) {
    st->Reset();
    st->Bind(1, f.field);
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (*row && VersionHlc(st->Text(0)) > f.hlc) continue;
    out.push_back(std::move(f));
  }
  return out;
}

struct ReceiptToKeep {
  std::uint64_t outbox_seq;
  Ack ack;
};

}  // namespace

int ImportBundleCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client import-bundle --db PATH FILE.mnrr",
                tr("Applies a return bundle written by `mnr-server bundle --country C` for an office that is not online:\n"
                   "the server's receipts for this device's change-sets, the merged state of the country (answers,\n"
                   "practices, review and queries), its conflicts and their resolutions, and the latest dataset release.\n"
                   "Afterwards `status`, `receipts --verify` and `dataset` show what an online sync would have shown.\n"
                   "The bundle must be sealed to this store's credential and signed by its server; a bundle older than\n"
                   "the last one applied is refused, and importing the same bundle again changes nothing."));
  p.Option("db", "PATH", "the client store (bound to a field credential)", true).Positional("FILE.mnrr", "the return bundle");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kImportBundleProgram, args)) return *code;
  const std::string file = args.positional()[0];
  const auto fail = [](const Status& s) { return cli::Fail(kImportBundleProgram, s); };

  auto opened_store = ClientStore::Open(*args.Get("db"));
  if (!opened_store.ok()) return fail(opened_store.status());
  ClientStore& store = **opened_store;
  const Identity& id = store.identity();
  if (!id.credential) {
    return fail(Status::InvalidArgument(
        tr("{1} is not bound to a credential; run `mnr-client init --db {1} --credentials FILE.mnrcred` first", *args.Get("db"))));
  }
  const Credential& cred = *id.credential;
  auto bytes = ReadFile(file, kFileBytes);
  if (!bytes.ok()) return fail(bytes.status());
  auto container = ParseContainer(*bytes, file);
  if (!container.ok()) return fail(container.status());
  const std::string& country = container->country;
  if (std::find(id.countries.begin(), id.countries.end(), country) == id.countries.end()) {
    std::string mine;
    for (const auto& c : id.countries) mine += (mine.empty() ? "" : ", ") + c;
    return fail(Status::InvalidArgument(
        mine.empty() ? tr("{1} is the return bundle of {2}; this store writes no country; nothing was changed", file,
                          TerminalText(country, 20))
                     : tr("{1} is the return bundle of {2}; this store writes {3}; nothing was changed", file,
                          TerminalText(country, 20), mine)));
  }
  auto copy = std::find_if(container->copies.begin(), container->copies.end(), [&](const auto& c) { return c.first == cred.id; });
  if (copy == container->copies.end()) {
    std::string ids;
    for (const auto& c : container->copies) ids += (ids.empty() ? "" : ", ") + TerminalText(c.first, 40);
    return fail(Status::InvalidArgument(tr("{1} is not sealed to this store's credential {2} (it is for {3}); if the credential "
                                           "was renewed since, ask for a new one: mnr-server bundle --country {4}",
                                           file, cred.id, ids, country)));
  }
  auto opened = OpenCopy(cred, copy->second, file);
  if (!opened.ok()) return fail(opened.status());
  const nlohmann::json& payload = opened->payload;
  if (StringField(payload, "country") != country) return fail(Status::Corruption(tr("{1}: the signed country differs from the file's", file)));
  const auto created_at = payload["created_at"].get<std::int64_t>();
  const std::string store_id = StringField(payload, "store_id");
  if (store_id.empty() || !payload.contains("cursor") || !payload["cursor"].is_number_unsigned()) {
    return fail(Status::Corruption(tr("{1}: the bundle names no server store or cursor", file)));
  }
  const auto cursor = payload["cursor"].get<std::uint64_t>();

  // Stale or already applied.
  auto last_id = store.GetMeta(kMetaId);
  auto last_at = store.GetMeta(kMetaCreatedAt);
  if (!last_id.ok()) return fail(last_id.status());
  if (!last_at.ok()) return fail(last_at.status());
  if (*last_id && **last_id == opened->id) {
    std::cout << tr("{1} was already imported; nothing changed", file) << "\n";
    return cli::kExitOk;
  }
  if (*last_at) {
    std::int64_t applied_at = 0;
    try {
      applied_at = std::stoll(**last_at);
    } catch (const std::exception&) {
    }
    if (created_at < applied_at) {
      return fail(Status::InvalidArgument(tr("{1} was written {2}, before the return bundle already applied (written {3}); it is "
                                             "stale and was not applied",
                                             file, FormatUtc(created_at), FormatUtc(applied_at))));
    }
  }

  // Check everything before writing anything.
  auto fields = ReadFields(payload, country);
  if (!fields.ok()) return fail(fields.status().With(file));
  auto outbox = store.Outbox(false);
  if (!outbox.ok()) return fail(outbox.status());
  std::map<std::string, std::uint64_t> seq_of;
  for (const auto& e : *outbox) seq_of[e.id] = e.seq;
  std::vector<ReceiptToKeep> receipts;
  if (!payload.contains("receipts") || !payload["receipts"].is_array()) return fail(Status::Corruption(tr("{1}: no receipt list", file)));
  for (const auto& r : payload["receipts"]) {
    if (!r.is_object() || !r.contains("changeset_id") || !r["changeset_id"].is_string() || !r.contains("receipt") || !r["receipt"].is_string()) {
      return fail(Status::Corruption(tr("{1}: a malformed receipt", file)));
    }
    auto seq = seq_of.find(r["changeset_id"].get<std::string>());
    if (seq == seq_of.end()) continue;  // another device's change-set
    Ack ack;
    ack.changeset_id = seq->first;
    ack.seq = seq->second;
    ack.duplicate = true;
    ack.receipt = r["receipt"].get<std::string>();
    auto decoded = audit::DecodeReceipt(ack.receipt);
    if (!decoded.ok()) return fail(Status::Corruption(tr("{1}: the receipt for change-set {2} is unreadable", file, ack.changeset_id)));
    if (decoded->changeset_id != ack.changeset_id) return fail(Status::Corruption(tr("{1}: a receipt names another change-set", file)));
    Status v = audit::VerifyReceipt(*decoded, opened->server_certificate, cred.ca_certificate_pem);
    if (!v.ok()) return fail(Status::Corruption(tr("{1}: the receipt for change-set {2} does not verify: {3}", file, ack.changeset_id, v.message())));
    receipts.push_back({seq->second, std::move(ack)});
  }
  // Files (`mnr-server bundle --with-attachments`): each must hash to its name and be named by an
  // attachment field of the country in this bundle.
  struct CarriedFile {
    std::string hash, media_type, bytes;
  };
  std::vector<CarriedFile> files;
  if (payload.contains("files")) {
    if (!payload["files"].is_array()) return fail(Status::Corruption(tr("{1}: a malformed file list", file)));
    std::set<std::string> named;
    for (const auto& f : *fields) {
      auto key = ParseField(f.field);
      if (key.ok() && key->kind == FieldKey::Kind::kAttachment && f.value) named.insert(key->hash);
    }
    for (const auto& f : payload["files"]) {
      if (!f.is_object() || !f.contains("hash") || !f["hash"].is_string() || !f.contains("data") || !f["data"].is_string() ||
          !f.contains("media_type") || !f["media_type"].is_string()) {
        return fail(Status::Corruption(tr("{1}: a malformed file entry", file)));
      }
      CarriedFile c{f["hash"].get<std::string>(), f["media_type"].get<std::string>(), {}};
      auto decoded = crypto::Base64Decode(f["data"].get<std::string>());
      if (!decoded.ok() || decoded->empty() || crypto::Sha256Hex(*decoded) != c.hash || !named.count(c.hash)) {
        return fail(Status::Corruption(tr("{1}: file {2} does not match its hash or no attachment names it", file, c.hash.substr(0, 12))));
      }
      c.bytes = std::move(decoded).value();
      files.push_back(std::move(c));
    }
  }
  const nlohmann::json conflicts = payload.contains("conflicts") ? payload["conflicts"] : nlohmann::json();
  if (Status s = CheckConflicts(conflicts); !s.ok()) return fail(s.With(file));
  for (const auto& c : conflicts) {
    auto key = ParseField(c["field"].get<std::string>());
    if (!key.ok() || key->country != country) return fail(Status::Corruption(tr("{1}: a conflict of another country", file)));
  }
  const auto now = UnixNow();
  std::optional<ReceivedRelease> release;
  bool release_new = false;
  if (payload.contains("release") && payload["release"].is_object()) {
    auto checked = CheckReleaseResult(store, payload["release"], now);
    if (!checked.ok()) return fail(checked.status().With(file));
    release = std::move(*checked);
    if (release) {
      auto held = FindStoredRelease(store, release->release.label);
      if (!held.ok()) return fail(held.status());
      release_new = !*held;
    }
  }

  // Apply, in the order of an online sync: acknowledgements first, so that the merged state replaces
  // the edits the server now holds.
  std::set<std::uint64_t> covered;
  for (const auto& r : receipts) {
    if (Status s = SaveReceipt(store, opened->server_certificate, r.outbox_seq, r.ack); !s.ok()) return fail(s);
    covered.insert(r.outbox_seq);
  }
  auto unacked = store.Outbox(true);
  if (!unacked.ok()) return fail(unacked.status());
  std::set<std::uint64_t> pending;
  for (const auto& u : *unacked) pending.insert(u.seq);
  std::uint64_t through = 0;
  std::size_t newly_acked = 0;
  for (const auto& e : *outbox) {  // in seq order; what the server holds is contiguous
    if (pending.count(e.seq)) {
      if (!covered.count(e.seq)) break;
      ++newly_acked;
    }
    through = e.seq;
  }
  if (newly_acked > 0) {
    if (Status s = store.MarkAckedThrough(through); !s.ok()) return fail(s);
  }

  auto held_cursor = store.PullCursor();
  if (!held_cursor.ok()) return fail(held_cursor.status());
  // The bundle's cursor covers this country only: it becomes the store's pull cursor only when the
  // store writes this country alone, and never moves it back.
  std::pair<std::string, std::uint64_t> record = *held_cursor;
  if (id.countries.size() == 1 && (held_cursor->first != store_id || held_cursor->second < cursor)) record = {store_id, cursor};
  auto newer = NewerThanHeld(store, std::move(*fields));
  if (!newer.ok()) return fail(newer.status());
  if (Status s = store.ApplyPulled(*newer, record.first, record.second); !s.ok()) return fail(s);
  if (Status s = StoreConflicts(store, conflicts); !s.ok()) return fail(s);
  for (const CarriedFile& f : files) {
    for (std::uint64_t offset = 0; offset < f.bytes.size(); offset += limits::kBlobChunkBytes) {
      auto held = store.StoreFileChunk(f.hash, f.bytes.size(), f.media_type, offset,
                                       std::string_view(f.bytes).substr(offset, limits::kBlobChunkBytes));
      if (!held.ok()) return fail(held.status());
    }
  }
  if (release) {
    auto kept = KeepRelease(store, *release, now);
    if (!kept.ok()) return fail(kept.status());
  }
  if (Status s = store.SetMeta(kMetaCreatedAt, std::to_string(created_at)); !s.ok()) return fail(s);
  if (Status s = store.SetMeta(kMetaId, opened->id); !s.ok()) return fail(s);
  // Stored in English (the sync result is data), shown in the user's language.
  const auto summary_in = [&](bool translate) {
    return tr_if(translate, "imported return bundle of {1} written {2}: {3} change-set(s) acknowledged, {4} receipt(s), {5} field(s)",
                 {country, FormatUtc(created_at), std::to_string(newly_acked), std::to_string(receipts.size()),
                  std::to_string(newer->size())}) +
           (release && release_new ? tr_if(translate, ", received dataset release {1}", {release->release.label}) : "") +
           (files.empty() ? "" : tr_if(translate, ", {1} attachment file(s)", {std::to_string(files.size())}));
  };
  if (Status s = store.RecordSync(summary_in(false)); !s.ok()) return fail(s);
  std::cout << summary_in(true) << "\n";
  auto news = PendingConflictNews(store);
  if (!news.ok()) return fail(news.status());
  for (const auto& n : *news) std::cout << n.line << "\n";
  if (Status s = MarkConflictsReported(store, *news); !s.ok()) return fail(s);
  return cli::kExitOk;
}

}  // namespace mnr::client
