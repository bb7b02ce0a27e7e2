#include "mnr/audit_format.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <limits>
#include <map>
#include <set>

#include "mnr/changeset.h"
#include "mnr/crypto.h"
#include "mnr/hlc.h"
#include "mnr/merkle.h"

namespace mnr::audit {
namespace {

constexpr std::string_view kEntryMagic = "mnr-sync audit entry v1\n";
constexpr std::size_t kSignatureBytes = 64;
constexpr std::size_t kMaxActorBytes = 300;

Result<std::string> HexDecode(std::string_view hex, std::string_view what) {
  if (hex.size() % 2 != 0) return Status::Corruption(std::string(what) + " is not hex");
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, v, 16);
    if (ec != std::errc() || p != hex.data() + 2 * i + 2) return Status::Corruption(std::string(what) + " is not hex");
    out[i] = static_cast<char>(v);
  }
  return out;
}

Result<std::string> Hash32(std::string_view hex, std::string_view what) {
  auto raw = HexDecode(hex, what);
  if (!raw.ok()) return raw.status();
  if (raw->size() != merkle::kHashBytes) return Status::Corruption(std::string(what) + " is not a 32-byte hash");
  return raw;
}

Result<std::int64_t> DaysFromCivil(int y, unsigned m, unsigned d) {
  if (m < 1 || m > 12 || d < 1 || d > 31) return Status::InvalidArgument("not a calendar date");
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// Reads a JSON member of the expected type, or says which one is missing. A number read as an
// integer must be an integer in T's range: nlohmann would convert 2e+85 or -1 anyway, the first with
// undefined behaviour (found by tests/fuzz).
template <class T>
Result<T> Get(const nlohmann::json& j, const char* key, std::string_view where) {
  if (!j.is_object() || !j.contains(key)) return Status::Corruption(std::string(where) + ": no \"" + key + "\"");
  const nlohmann::json& v = j.at(key);
  const auto wrong = [&] { return Status::Corruption(std::string(where) + ": \"" + key + "\" has the wrong type"); };
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return wrong();
      return static_cast<T>(u);
    }
    if (!v.is_number_integer()) return wrong();
    const auto i = v.get<std::int64_t>();
    if constexpr (std::is_unsigned_v<T>) {
      if (i < 0) return wrong();
      if (static_cast<std::uint64_t>(i) > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return wrong();
    } else {
      if (i < static_cast<std::int64_t>(std::numeric_limits<T>::min()) || i > static_cast<std::int64_t>(std::numeric_limits<T>::max())) {
        return wrong();
      }
    }
    return static_cast<T>(i);
  } else {
    try {
      return v.get<T>();
    } catch (const std::exception&) {
      return wrong();
    }
  }
}

std::string Short(std::string_view id) { return std::string(id.substr(0, 16)) + (id.size() > 16 ? "..." : ""); }

// An entry as export files and entry proofs write it: index, kind (and kind_name, if given, its
// name), actor, recorded_at, prev_hash in hex, payload in base64. The index is as written; where it
// must be, and what it links to, are the caller's to check.
Result<Entry> DecodeEntryJson(const nlohmann::json& je, const std::string& where) {
  auto index = Get<std::uint64_t>(je, "index", where);
  auto kind = Get<int>(je, "kind", where);
  auto actor = Get<std::string>(je, "actor", where);
  auto at = Get<std::int64_t>(je, "recorded_at", where);
  auto prev_hex = Get<std::string>(je, "prev_hash", where);
  auto payload_b64 = Get<std::string>(je, "payload", where);
  for (const Status* s : {&index.status(), &kind.status(), &actor.status(), &at.status(), &prev_hex.status(), &payload_b64.status()}) {
    if (!s->ok()) return *s;
  }
  if (je.contains("kind_name") && je["kind_name"] != KindName(*kind)) {
    return Status::Corruption(where + ": its kind_name is not the name of kind " + std::to_string(*kind));
  }
  auto payload = crypto::Base64Decode(*payload_b64);
  if (!payload.ok()) return Status::Corruption(where + ": the payload is not base64");
  auto prev = Hash32(*prev_hex, where + " prev_hash");
  if (!prev.ok()) return prev.status();
  Entry e;
  e.index = *index;
  e.kind = *kind;
  e.actor = std::move(*actor);
  e.recorded_at = *at;
  e.prev_hash = std::move(*prev);
  e.payload = std::move(*payload);
  return e;
}

}  // namespace

std::string KindName(int kind) {
  switch (kind) {
    case kChangeSet: return "change-set";
    case kConflictResolution: return "resolution";
    case kRelease: return "release";
    case kPublish: return "publish";
    case kCredentialIssued: return "credential-issued";
    case kCredentialRevoked: return "credential-revoked";
    case kCountriesChanged: return "countries-changed";
    default: return "kind-" + std::to_string(kind);
  }
}

std::string GenesisHash() { return std::string(merkle::kHashBytes, '\0'); }

std::string EntryBytes(const Entry& e) {
  std::string out(kEntryMagic);
  out += std::to_string(e.index) + "\n" + std::to_string(e.kind) + "\n" + e.actor + "\n" +
         std::to_string(e.recorded_at) + "\n" + crypto::HexEncode(e.prev_hash) + "\n" +
         std::to_string(e.payload.size()) + "\n";
  out += e.payload;
  return out;
}

std::string EntryHash(const Entry& e) { return merkle::LeafHash(EntryBytes(e)); }

Status CheckActor(std::string_view actor) {
  if (actor.empty() || actor.size() > kMaxActorBytes) return Status::InvalidArgument("an audit actor must be 1 to 300 bytes");
  for (char c : actor) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return Status::InvalidArgument("an audit actor may not contain control characters");
  }
  return Status::OK();
}

std::string ChangeSetPayload(std::string_view body, std::string_view signature) {
  const auto n = static_cast<std::uint32_t>(body.size());
  std::string out;
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.append(body);
  out.append(signature);
  return out;
}

Result<SignedChangeSet> SplitChangeSetPayload(std::string_view payload) {
  if (payload.size() < 4 + kSignatureBytes) return Status::Corruption("a change-set entry's payload is too short");
  const auto* p = reinterpret_cast<const unsigned char*>(payload.data());
  const std::size_t n = (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) | p[3];
  if (payload.size() != 4 + n + kSignatureBytes) {
    return Status::Corruption("a change-set entry's payload is not body length | body | 64-byte signature");
  }
  return SignedChangeSet{std::string(payload.substr(4, n)), std::string(payload.substr(4 + n))};
}

std::string TreeHeadMessage(std::uint64_t size, std::string_view root_hex, std::int64_t timestamp) {
  return "mnr-sync tree head v1\n" + std::to_string(size) + "\n" + std::string(root_hex) + "\n" + std::to_string(timestamp);
}

std::string ReceiptMessage(const Receipt& r) {
  return "mnr-sync receipt v1\n" + r.changeset_id + "\n" + std::to_string(r.index) + "\n" + std::to_string(r.tree_size) +
         "\n" + r.root + "\n" + std::to_string(r.timestamp);
}

std::string EncodeReceipt(const Receipt& r) {
  nlohmann::json j = {{"changeset_id", r.changeset_id},
                      {"index", r.index},
                      {"tree_size", r.tree_size},
                      {"root", r.root},
                      {"timestamp", r.timestamp},
                      {"tree_head_signature", crypto::Base64Encode(r.tree_head_signature)},
                      {"signature", crypto::Base64Encode(r.signature)}};
  return j.dump();
}

Result<Receipt> DecodeReceipt(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("the receipt is not a JSON object");
  Receipt r;
  const std::string_view where = "receipt";
  auto id = Get<std::string>(j, "changeset_id", where);
  auto index = Get<std::uint64_t>(j, "index", where);
  auto size = Get<std::uint64_t>(j, "tree_size", where);
  auto root = Get<std::string>(j, "root", where);
  auto ts = Get<std::int64_t>(j, "timestamp", where);
  auto ths = Get<std::string>(j, "tree_head_signature", where);
  auto sig = Get<std::string>(j, "signature", where);
  for (const Status* s : {&id.status(), &index.status(), &size.status(), &root.status(), &ts.status(), &ths.status(), &sig.status()}) {
    if (!s->ok()) return *s;
  }
  r.changeset_id = *id;
  r.index = *index;
  r.tree_size = *size;
  r.root = *root;
  r.timestamp = *ts;
  auto ths_raw = crypto::Base64Decode(*ths);
  auto sig_raw = crypto::Base64Decode(*sig);
  if (!ths_raw.ok() || !sig_raw.ok()) return Status::Corruption("a receipt signature is not base64");
  r.tree_head_signature = *ths_raw;
  r.signature = *sig_raw;
  if (r.index >= r.tree_size) return Status::Corruption("the receipt places the change-set outside its own tree head");
  return r;
}

Status VerifyServerCertificate(std::string_view certificate_pem, std::string_view ca_certificate_pem, std::int64_t at) {
  MNR_RETURN_IF_ERROR(crypto::VerifyCertificate(certificate_pem, ca_certificate_pem, at).With("server certificate"));
  auto info = crypto::InspectCertificate(certificate_pem);
  if (!info.ok()) return info.status();
  if (info->common_name != "server") {
    return Status::Refused("the certificate of \"" + info->common_name + "\" is not the server's (common name \"server\")");
  }
  return Status::OK();
}

Status VerifyReceipt(const Receipt& r, std::string_view server_certificate_pem, std::string_view ca_certificate_pem) {
  MNR_RETURN_IF_ERROR(VerifyServerCertificate(server_certificate_pem, ca_certificate_pem, r.timestamp));
  MNR_RETURN_IF_ERROR(crypto::VerifyWithCertificate(server_certificate_pem, TreeHeadMessage(r.tree_size, r.root, r.timestamp),
                                                    r.tree_head_signature)
                          .With("the receipt's tree head signature"));
  return crypto::VerifyWithCertificate(server_certificate_pem, ReceiptMessage(r), r.signature).With("the receipt signature");
}

Result<ProvedEntry> CheckEntryProof(const nlohmann::json& answer, std::string_view ca_certificate_pem) {
  const std::string where = "the entry proof";
  if (!answer.is_object() || !answer.contains("entry") || !answer["entry"].is_object() || !answer.contains("tree_head") ||
      !answer["tree_head"].is_object()) {
    return Status::Corruption(where + ": it has no entry or no tree head");
  }
  auto entry = DecodeEntryJson(answer["entry"], where);
  if (!entry.ok()) return entry.status();
  const nlohmann::json& jh = answer["tree_head"];
  auto size = Get<std::uint64_t>(jh, "size", where);
  auto root_hex = Get<std::string>(jh, "root", where);
  auto ts = Get<std::int64_t>(jh, "timestamp", where);
  auto sig_b64 = Get<std::string>(jh, "signature", where);
  auto cert = Get<std::string>(answer, "server_certificate", where);
  for (const Status* s : {&size.status(), &root_hex.status(), &ts.status(), &sig_b64.status(), &cert.status()}) {
    if (!s->ok()) return *s;
  }
  ProvedEntry out;
  out.entry = std::move(*entry);
  auto root = Hash32(*root_hex, where + " root");
  if (!root.ok()) return root.status();
  auto sig = crypto::Base64Decode(*sig_b64);
  if (!sig.ok()) return Status::Corruption(where + ": the tree head signature is not base64");
  if (!answer.contains("path") || !answer["path"].is_array()) return Status::Corruption(where + ": no \"path\" array");
  std::vector<std::string> path;
  for (const auto& h : answer["path"]) {
    if (!h.is_string()) return Status::Corruption(where + ": a path element is not a string");
    auto raw = Hash32(h.get<std::string>(), where + " path");
    if (!raw.ok()) return raw.status();
    path.push_back(*raw);
  }
  Status cert_ok = VerifyServerCertificate(*cert, ca_certificate_pem, *ts);
  if (!cert_ok.ok()) return Status::Corruption(where + ": " + cert_ok.message());
  Status head_ok = crypto::VerifyWithCertificate(*cert, TreeHeadMessage(*size, crypto::HexEncode(*root), *ts), *sig);
  if (!head_ok.ok()) return Status::Corruption(where + ": the server's signature of the tree head does not verify (" + head_ok.message() + ")");
  const std::uint64_t index = out.entry.index;
  Status in_log = merkle::VerifyInclusion(EntryHash(out.entry), index, *size, path, *root);
  if (!in_log.ok()) {
    return Status::Corruption(where + ": entry " + std::to_string(index) + " is not in the signed log of " + std::to_string(*size) +
                              " entries (" + in_log.message() + ")");
  }
  out.tree_size = *size;
  out.root = crypto::HexEncode(*root);
  out.head_timestamp = *ts;
  return out;
}

Result<std::int64_t> ParseTime(std::string_view text) {
  const auto bad = [&] {
    return Status::InvalidArgument("\"" + std::string(text.substr(0, 40)) +
                                   "\" is not a time (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or Unix seconds)");
  };
  if (text.empty()) return bad();
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }) && text.size() <= 12) {
    std::int64_t v = 0;
    std::from_chars(text.data(), text.data() + text.size(), v);
    return v;
  }
  int y = 0;
  unsigned mo = 0, d = 0, h = 0, mi = 0, s = 0;
  auto num = [&](std::size_t pos, std::size_t len, auto& out) {
    if (pos + len > text.size()) return false;
    auto [p, ec] = std::from_chars(text.data() + pos, text.data() + pos + len, out);
    return ec == std::errc() && p == text.data() + pos + len;
  };
  if (!num(0, 4, y) || text.size() < 10 || text[4] != '-' || !num(5, 2, mo) || text[7] != '-' || !num(8, 2, d)) return bad();
  std::string_view rest = text.substr(10);
  if (!rest.empty()) {
    if (rest[0] != 'T' && rest[0] != ' ') return bad();
    if (rest.size() < 6 || rest[3] != ':') return bad();
    if (!num(11, 2, h) || !num(14, 2, mi)) return bad();
    rest = rest.substr(6);
    if (!rest.empty() && rest[0] == ':') {
      if (!num(17, 2, s)) return bad();
      rest = rest.substr(3);
    }
    if (rest == "Z") rest = {};
    if (!rest.empty() || h > 23 || mi > 59 || s > 60) return bad();
  }
  auto days = DaysFromCivil(y, mo, d);
  if (!days.ok()) return bad();
  return *days * 86400 + static_cast<std::int64_t>(h) * 3600 + mi * 60 + s;
}

std::string FormatTime(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string FormatHistoryRecord(const nlohmann::json& r) {
  const auto str = [&](const char* k) { return r.contains(k) && r[k].is_string() ? r[k].get<std::string>() : std::string(); };
  std::string who = str("credential");
  if (!str("name").empty()) who += " (" + str("name") + ")";
  if (!str("carried_by").empty()) who += " carried by " + str("carried_by");
  std::string line = "#" + std::to_string(r.value("index", std::uint64_t{0})) + "  " + FormatTime(r.value("recorded_at", std::int64_t{0})) +
                     "  " + str("kind") + "  " + who;
  if (r.contains("field")) {
    if (!str("device").empty()) line += "  device " + str("device");
    if (r.contains("hlc")) line += "  at " + HybridClock::Format(r["hlc"].get<HlcTime>());
    line += "  " + str("field") + ": " + str("old") + " -> " + str("new");
    if (!str("changeset_id").empty()) line += "  change-set " + Short(str("changeset_id"));
    if (!str("reason").empty()) line += "  reason: " + str("reason");
  } else if (!str("summary").empty()) {
    line += "  " + str("summary");
  }
  return line;
}

Result<PinnedTreeHead> ParsePinnedTreeHead(std::string_view text) {
  const auto bad = [&] {
    return Status::InvalidArgument("\"" + std::string(text.substr(0, 100)) +
                                   "\" is not a tree head SIZE:ROOT (a receipt's tree_size and root: a number, a colon, 64 hex digits)");
  };
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return bad();
  PinnedTreeHead pin;
  auto [p, ec] = std::from_chars(text.data(), text.data() + colon, pin.size);
  if (ec != std::errc() || p != text.data() + colon) return bad();
  std::string root(text.substr(colon + 1));
  for (char& c : root) c = static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
  if (root.size() != 2 * merkle::kHashBytes || !HexDecode(root, "root").ok()) return bad();
  pin.root = std::move(root);
  return pin;
}

namespace {

// Refuses an object member the verifier does not check, so nothing in an export goes unverified.
Status OnlyMembers(const nlohmann::json& j, std::initializer_list<std::string_view> known, const std::string& where) {
  if (!j.is_object()) return Status::Corruption(where + ": not a JSON object");
  for (const auto& item : j.items()) {
    if (std::find(known.begin(), known.end(), item.key()) == known.end()) {
      return Status::Corruption(where + ": member \"" + item.key().substr(0, 40) +
                                "\" is not one this verifier checks (added to the file, or from a newer version)");
    }
  }
  return Status::OK();
}

// A credential as the log issued (and maybe revoked) it.
struct LoggedCredential {
  nlohmann::json issued;  // the payload of its credential-issued entry
  std::uint64_t issued_entry = 0;
  std::string certificate;
  std::int64_t not_after = 0;
  std::optional<std::uint64_t> revoked_entry;
  std::int64_t revoked_at = 0;        // the entry's recorded_at
  nlohmann::json revoked_payload_at;  // the payload's revoked_at, as logged
  bool renewed = false;
  std::string predecessor;
};

// The credentials section against the log: exactly the credentials issued, each as logged.
Status CheckCredentialsSection(const nlohmann::json& list, const std::map<std::string, LoggedCredential>& creds, ExportSummary& sum) {
  if (!list.is_array()) return Status::Corruption("credentials: not an array");
  std::set<std::string> seen;
  for (const auto& jc : list) {
    MNR_RETURN_IF_ERROR(OnlyMembers(jc,
                                    {"id", "role", "name", "countries", "fingerprint", "certificate", "issued_at", "expires_at",
                                     "revoked_at", "predecessor"},
                                    "credentials"));
    auto id = Get<std::string>(jc, "id", "credentials");
    if (!id.ok()) return id.status();
    const std::string where = "credentials: credential " + *id;
    auto it = creds.find(*id);
    if (it == creds.end()) return Status::Corruption(where + ": no entry of the log issued it");
    if (!seen.insert(*id).second) return Status::Corruption(where + ": listed twice");
    const LoggedCredential& c = it->second;
    const std::string by = " differs from entry " + std::to_string(c.issued_entry) + " that issued it";
    for (const char* key : {"role", "name", "countries", "fingerprint", "certificate"}) {
      if (!jc.contains(key)) return Status::Corruption(where + ": no \"" + key + "\"");
      if (jc[key] != c.issued.value(key, nlohmann::json())) return Status::Corruption(where + ": its " + key + by);
    }
    for (const char* key : {"issued_at", "expires_at"}) {
      if (!jc.contains(key)) continue;
      const nlohmann::json logged = c.issued.value(key, nlohmann::json());
      // The register may end a credential earlier than issued (stricter), never later.
      const bool earlier = std::string_view(key) == "expires_at" && jc[key].is_number_integer() && logged.is_number_integer() &&
                           jc[key].get<std::int64_t>() < logged.get<std::int64_t>();
      if (jc[key] != logged && !earlier) {
        std::string detail;
        if (jc[key].is_number_integer() && logged.is_number_integer()) {
          detail = " (" + FormatTime(jc[key].get<std::int64_t>()) + " here, " + FormatTime(logged.get<std::int64_t>()) + " logged)";
        }
        return Status::Corruption(where + ": its " + key + detail + by);
      }
    }
    if (jc.contains("predecessor")) {
      const nlohmann::json logged = c.issued.contains("predecessor") ? c.issued["predecessor"] : nlohmann::json(nullptr);
      if (jc["predecessor"] != logged) return Status::Corruption(where + ": its predecessor" + by);
    }
    if (jc.contains("revoked_at")) {
      if (jc["revoked_at"].is_null() != !c.revoked_entry) {
        return Status::Corruption(where + ": it says " + (jc["revoked_at"].is_null() ? "not revoked" : "revoked") + ", the log says otherwise");
      }
      if (c.revoked_entry && jc["revoked_at"] != c.revoked_payload_at) {
        return Status::Corruption(where + ": its revocation time differs from entry " + std::to_string(*c.revoked_entry) + " that revoked it");
      }
    }
    ++sum.credentials;
  }
  for (const auto& [id, c] : creds) {
    if (!seen.count(id)) return Status::Corruption("credentials: credential " + id + ", issued in entry " + std::to_string(c.issued_entry) + ", is missing");
  }
  return Status::OK();
}

Result<ExportSummary> CheckExport(const nlohmann::json& file, const VerifyOptions& options) {
  ExportSummary sum;
  MNR_RETURN_IF_ERROR(OnlyMembers(file,
                                  {"format", "size", "store_id", "exported_at", "ca_certificate", "server_certificate", "credentials",
                                   "entries", "tree_heads", "releases", "inclusion_proofs", "consistency_proofs", "next"},
                                  "export"));
  auto format = Get<std::string>(file, "format", "export");
  if (!format.ok()) return format.status();
  if (*format != kExportFormat) return Status::Corruption("export: format \"" + *format + "\" is not \"" + std::string(kExportFormat) + "\"");
  auto ca = Get<std::string>(file, "ca_certificate", "export");
  if (!ca.ok()) return ca.status();
  auto server_cert = Get<std::string>(file, "server_certificate", "export");
  if (!server_cert.ok()) return server_cert.status();
  if (!file.contains("entries") || !file["entries"].is_array()) return Status::Corruption("export: no \"entries\" array");
  if (file.contains("next") && !file["next"].is_null()) return Status::Corruption("export: it is one page of a longer export (\"next\" is set)");

  std::map<std::string, LoggedCredential> creds;
  // True if `later` is `earlier` or replaces it through logged renewals.
  const auto succeeds = [&creds](std::string later, const std::string& earlier) {
    for (std::size_t hops = 0; hops <= creds.size(); ++hops) {
      if (later == earlier) return true;
      auto it = creds.find(later);
      if (it == creds.end() || it->second.predecessor.empty()) return false;
      later = it->second.predecessor;
    }
    return false;
  };
  std::map<std::string, std::uint64_t> changeset_entries;
  std::map<std::string, std::uint64_t> release_entries;  // logged manifest -> entry
  merkle::Tree tree;
  std::string prev = GenesisHash();

  for (const auto& je : file["entries"]) {
    const std::uint64_t i = tree.size();
    const std::string where = "entry " + std::to_string(i);
    MNR_RETURN_IF_ERROR(OnlyMembers(je, {"index", "kind", "kind_name", "actor", "recorded_at", "prev_hash", "entry_hash", "payload"}, where));
    auto decoded = DecodeEntryJson(je, where);
    if (!decoded.ok()) return decoded.status();
    auto hash_hex = Get<std::string>(je, "entry_hash", where);
    if (!hash_hex.ok()) return hash_hex.status();
    Entry e = std::move(*decoded);
    if (e.index != i) {
      return Status::Corruption(where + ": it says it is entry " + std::to_string(e.index) +
                                " (an entry was removed, inserted or moved)");
    }
    if (e.prev_hash != prev) return Status::Corruption(where + ": it does not link to entry " + std::to_string(i ? i - 1 : 0) + " (prev_hash differs)");
    const std::string hash = EntryHash(e);
    if (crypto::HexEncode(hash) != *hash_hex) return Status::Corruption(where + " (" + KindName(e.kind) + "): its content does not match its hash");
    prev = hash;
    tree.Append(hash);

    if (e.kind == kChangeSet) {
      auto signed_cs = SplitChangeSetPayload(e.payload);
      if (!signed_cs.ok()) return signed_cs.status().With(where);
      auto cs = ParseChangeSet(signed_cs->body);
      if (!cs.ok()) return cs.status().With(where + ": the change-set does not parse");
      const std::string id = ChangeSetId(signed_cs->body);
      const std::string what = where + " (change-set " + Short(id) + ")";
      auto c = creds.find(cs->credential_id);
      if (c == creds.end()) return Status::Corruption(what + ": signed by credential " + cs->credential_id + ", which no earlier entry issued");
      Status sig = crypto::VerifyWithCertificate(c->second.certificate, signed_cs->body, signed_cs->signature);
      if (!sig.ok()) return Status::Corruption(what + ": the signature does not verify against credential " + cs->credential_id + " (" + sig.message() + ")");
      // The actor delivered it: the signer, or (after a renewal) a successor carrying what the device
      // sealed under its old credential. The deliverer must have been usable then.
      const bool carried = e.actor != cs->credential_id;
      if (carried && !succeeds(e.actor, cs->credential_id)) {
        return Status::Corruption(what + ": delivered by " + e.actor + ", which does not succeed its signer " + cs->credential_id);
      }
      const auto& deliverer = creds.at(e.actor);
      if (carried && (deliverer.revoked_entry || e.recorded_at >= deliverer.not_after)) {
        return Status::Corruption(what + ": delivered by credential " + e.actor + " when it was revoked or expired");
      }
      const bool renewal = c->second.renewed &&
                           (carried || static_cast<std::int64_t>(HybridClock::Millis(cs->created) / 1000) <= c->second.revoked_at);
      if (c->second.revoked_entry && !renewal) {
        return Status::Corruption(what + ": signed by credential " + cs->credential_id + ", which entry " +
                                  std::to_string(*c->second.revoked_entry) + " revoked before");
      }
      if (e.recorded_at >= c->second.not_after && !renewal) {
        return Status::Corruption(what + ": accepted after credential " + cs->credential_id + " expired");
      }
      if (!changeset_entries.emplace(id, i).second) return Status::Corruption(what + ": the same change-set is logged twice");
      ++sum.changesets;
    } else if (e.kind == kCredentialIssued || e.kind == kCredentialRevoked || e.kind == kConflictResolution ||
               e.kind == kCountriesChanged || e.kind == kRelease || e.kind == kPublish) {
      const auto j = nlohmann::json::parse(e.payload, nullptr, false);
      if (j.is_discarded()) return Status::Corruption(where + " (" + KindName(e.kind) + "): the payload is not JSON");
      if (e.kind == kCredentialIssued) {
        auto id = Get<std::string>(j, "id", where);
        auto cert = Get<std::string>(j, "certificate", where);
        auto fp = Get<std::string>(j, "fingerprint", where);
        for (const Status* s : {&id.status(), &cert.status(), &fp.status()}) {
          if (!s->ok()) return *s;
        }
        auto info = crypto::InspectCertificate(*cert);
        if (!info.ok()) return info.status().With(where);
        if (info->fingerprint != *fp || info->common_name != *id) {
          return Status::Corruption(where + ": the certificate of credential " + *id + " is not the one its fingerprint names");
        }
        Status chain = crypto::VerifyCertificate(*cert, *ca, info->not_before + 1);
        if (!chain.ok()) return Status::Corruption(where + ": credential " + *id + ": " + chain.message());
        if (creds.count(*id)) return Status::Corruption(where + ": credential " + *id + " is issued twice");
        LoggedCredential c;
        c.issued = j;
        c.issued_entry = i;
        c.certificate = *cert;
        c.not_after = info->not_after;
        c.predecessor = j.contains("predecessor") && j["predecessor"].is_string() ? j["predecessor"].get<std::string>() : "";
        creds[*id] = std::move(c);
      } else if (e.kind == kCredentialRevoked) {
        auto id = Get<std::string>(j, "id", where);
        if (!id.ok()) return id.status();
        auto c = creds.find(*id);
        if (c == creds.end()) return Status::Corruption(where + ": revokes credential " + *id + ", which no earlier entry issued");
        if (!c->second.revoked_entry) {
          c->second.revoked_entry = i;
          c->second.revoked_at = e.recorded_at;
          c->second.revoked_payload_at = j.value("revoked_at", nlohmann::json());
          c->second.renewed = j.contains("successor") && j["successor"].is_string();
        }
      } else if (e.kind == kRelease) {
        if (!release_entries.emplace(e.payload, i).second) return Status::Corruption(where + ": the same release manifest is logged twice");
      }
    }
  }
  sum.entries = tree.size();
  sum.root = crypto::HexEncode(tree.Root(tree.size()));
  if (file.contains("size")) {
    auto size = Get<std::uint64_t>(file, "size", "export");
    if (!size.ok()) return size.status();
    if (*size > tree.size()) {
      return Status::Corruption("entry " + std::to_string(tree.size()) + ": missing; the export says it holds " + std::to_string(*size) +
                                " entries but has " + std::to_string(tree.size()) + " (it was cut short)");
    }
    if (*size < tree.size()) {
      return Status::Corruption("entry " + std::to_string(*size) + ": the export says it holds " + std::to_string(*size) +
                                " entries but has more");
    }
  }
  for (const auto& pin : options.pins) {
    const std::string where = "pinned tree head " + std::to_string(pin.size) + ":" + pin.root.substr(0, 16) + "...";
    if (pin.size > tree.size()) {
      return Status::Corruption("entry " + std::to_string(tree.size()) + ": missing; the " + where + " covers " + std::to_string(pin.size) +
                                " entries but the export holds only " + std::to_string(tree.size()) + " (it was cut short)");
    }
    const std::string root = crypto::HexEncode(tree.Root(pin.size));
    if (root != pin.root) {
      return Status::Corruption(where + ": the export's first " + std::to_string(pin.size) + " entries hash to " + root.substr(0, 16) +
                                "..., not to the pinned root: an entry at or before entry " +
                                std::to_string(pin.size == 0 ? 0 : pin.size - 1) +
                                " was changed, removed or inserted since that head was signed");
    }
    ++sum.pinned;
  }

  std::map<std::uint64_t, std::string> heads;  // size -> raw root
  std::int64_t last_time = INT64_MIN;
  std::uint64_t last_size = 0;
  const auto check_head = [&](std::uint64_t size, const std::string& root, std::int64_t ts, const std::string& raw_sig,
                              const std::string& where) -> Status {
    if (size > tree.size()) {
      return Status::Corruption(where + ": the log has only " + std::to_string(tree.size()) + " entries (entries it covered were removed)");
    }
    if (crypto::HexEncode(tree.Root(size)) != root) {
      return Status::Corruption(where + ": its root does not match the entries (an entry it covers was changed, removed or reordered)");
    }
    Status cert_ok = VerifyServerCertificate(*server_cert, *ca, ts);
    if (!cert_ok.ok()) return Status::Corruption(where + ": " + cert_ok.message());
    Status s = crypto::VerifyWithCertificate(*server_cert, TreeHeadMessage(size, root, ts), raw_sig);
    if (!s.ok()) return Status::Corruption(where + ": the server's signature does not verify (" + s.message() + ")");
    return Status::OK();
  };
  if (file.contains("tree_heads")) {
    for (const auto& jh : file["tree_heads"]) {
      auto size = Get<std::uint64_t>(jh, "size", "tree head");
      if (!size.ok()) return size.status();
      const std::string where = "tree head of size " + std::to_string(*size);
      MNR_RETURN_IF_ERROR(OnlyMembers(jh, {"size", "root", "timestamp", "signature"}, where));
      auto root = Get<std::string>(jh, "root", where);
      auto ts = Get<std::int64_t>(jh, "timestamp", where);
      auto sig = Get<std::string>(jh, "signature", where);
      for (const Status* s : {&root.status(), &ts.status(), &sig.status()}) {
        if (!s->ok()) return *s;
      }
      if (!heads.empty() && (*size <= last_size || *ts < last_time)) {
        return Status::Corruption(where + ": tree heads are not in order of size and time");
      }
      auto raw_sig = crypto::Base64Decode(*sig);
      if (!raw_sig.ok()) return Status::Corruption(where + ": the signature is not base64");
      MNR_RETURN_IF_ERROR(check_head(*size, *root, *ts, *raw_sig, where));
      auto raw_root = Hash32(*root, where);
      if (!raw_root.ok()) return raw_root.status();
      heads[*size] = *raw_root;
      last_size = *size;
      last_time = *ts;
      ++sum.tree_heads;
    }
  }
  if (options.require_covering_head && tree.size() > 0 && (heads.empty() || heads.rbegin()->first != tree.size())) {
    return Status::Corruption("no signed tree head covers all " + std::to_string(tree.size()) + " entries (entry " +
                              std::to_string(heads.empty() ? 0 : heads.rbegin()->first) + " onwards is not signed)");
  }

  const auto decode_path = [](const nlohmann::json& j, const std::string& where) -> Result<std::vector<std::string>> {
    if (!j.contains("path") || !j["path"].is_array()) return Status::Corruption(where + ": no \"path\" array");
    std::vector<std::string> out;
    for (const auto& h : j["path"]) {
      if (!h.is_string()) return Status::Corruption(where + ": a path element is not a string");
      auto raw = Hash32(h.get<std::string>(), where + " path");
      if (!raw.ok()) return raw.status();
      out.push_back(*raw);
    }
    return out;
  };
  if (file.contains("inclusion_proofs")) {
    for (const auto& jp : file["inclusion_proofs"]) {
      auto index = Get<std::uint64_t>(jp, "index", "inclusion proof");
      auto size = Get<std::uint64_t>(jp, "tree_size", "inclusion proof");
      if (!index.ok()) return index.status();
      if (!size.ok()) return size.status();
      const std::string where = "inclusion proof of entry " + std::to_string(*index) + " in the tree of size " + std::to_string(*size);
      MNR_RETURN_IF_ERROR(OnlyMembers(jp, {"index", "tree_size", "changeset_id", "path"}, where));
      auto head = heads.find(*size);
      if (head == heads.end()) return Status::Corruption(where + ": no signed tree head of that size");
      if (*index >= tree.size()) return Status::Corruption(where + ": no such entry");
      if (jp.contains("changeset_id")) {
        auto it = changeset_entries.find(jp["changeset_id"].get<std::string>());
        if (it == changeset_entries.end() || it->second != *index) return Status::Corruption(where + ": the entry is not the change-set it names");
      }
      auto path = decode_path(jp, where);
      if (!path.ok()) return path.status();
      Status s = merkle::VerifyInclusion(tree.leaf(*index), *index, *size, *path, head->second);
      if (!s.ok()) return Status::Corruption(where + ": " + s.message());
      ++sum.inclusion_proofs;
    }
  }
  if (file.contains("consistency_proofs")) {
    for (const auto& jp : file["consistency_proofs"]) {
      auto from = Get<std::uint64_t>(jp, "from", "consistency proof");
      auto to = Get<std::uint64_t>(jp, "to", "consistency proof");
      if (!from.ok()) return from.status();
      if (!to.ok()) return to.status();
      const std::string where = "consistency proof from size " + std::to_string(*from) + " to " + std::to_string(*to);
      MNR_RETURN_IF_ERROR(OnlyMembers(jp, {"from", "to", "path"}, where));
      auto a = heads.find(*from), b = heads.find(*to);
      if (a == heads.end() || b == heads.end()) return Status::Corruption(where + ": no signed tree head of each size");
      auto path = decode_path(jp, where);
      if (!path.ok()) return path.status();
      Status s = merkle::VerifyConsistency(*from, *to, a->second, b->second, *path);
      if (!s.ok()) return Status::Corruption(where + ": " + s.message());
      ++sum.consistency_proofs;
    }
  }
  std::set<std::string> exported_releases;
  if (file.contains("releases")) {
    for (const auto& jr : file["releases"]) {
      auto label = Get<std::string>(jr, "label", "release");
      if (!label.ok()) return label.status();
      const std::string where = "release \"" + *label + "\"";
      MNR_RETURN_IF_ERROR(
          OnlyMembers(jr, {"label", "release_id", "manifest", "signature", "tree_size", "tree_root", "csv_sha256"}, where));
      auto manifest = Get<std::string>(jr, "manifest", where);
      auto sig = Get<std::string>(jr, "signature", where);
      auto release_id = Get<std::string>(jr, "release_id", where);
      for (const Status* s : {&manifest.status(), &sig.status(), &release_id.status()}) {
        if (!s->ok()) return *s;
      }
      auto raw_sig = crypto::Base64Decode(*sig);
      if (!raw_sig.ok()) return Status::Corruption(where + ": the signature is not base64");
      Status s = crypto::VerifyWithCertificate(*server_cert, *manifest, *raw_sig);
      if (!s.ok()) return Status::Corruption(where + ": the manifest's signature does not verify (" + s.message() + ")");
      if (crypto::Sha256Hex(*manifest) != *release_id) return Status::Corruption(where + ": its release id is not the manifest's hash");
      const auto m = nlohmann::json::parse(*manifest, nullptr, false);
      if (!m.is_object()) return Status::Corruption(where + ": the manifest is not a JSON object");
      if (m.value("label", std::string()) != *label) return Status::Corruption(where + ": the manifest names another label");
      auto logged = release_entries.find(*manifest);
      if (logged == release_entries.end()) {
        return Status::Corruption(where + ": no release entry of the log holds its manifest (replaced after the release was made, "
                                          "or made after the exported log)");
      }
      if (!exported_releases.insert(*manifest).second) return Status::Corruption(where + ": listed twice");
      // The tree head the release was computed at, as its manifest (signed) states it.
      const std::string hw = where + ": its audit tree head";
      if (!m.contains("audit_tree_head")) return Status::Corruption(where + ": the manifest names no audit tree head");
      const auto& jh = m["audit_tree_head"];
      auto hsize = Get<std::uint64_t>(jh, "size", hw);
      auto hroot = Get<std::string>(jh, "root", hw);
      auto hts = Get<std::int64_t>(jh, "timestamp", hw);
      auto hsig = Get<std::string>(jh, "signature", hw);
      for (const Status* st : {&hsize.status(), &hroot.status(), &hts.status(), &hsig.status()}) {
        if (!st->ok()) return *st;
      }
      auto raw_hsig = crypto::Base64Decode(*hsig);
      if (!raw_hsig.ok()) return Status::Corruption(hw + ": the signature is not base64");
      MNR_RETURN_IF_ERROR(check_head(*hsize, *hroot, *hts, *raw_hsig, hw + " (size " + std::to_string(*hsize) + ")"));
      if (logged->second < *hsize) {
        return Status::Corruption("entry " + std::to_string(logged->second) + " (" + where + "): logged before the tree head its manifest names");
      }
      if ((jr.contains("tree_size") && jr["tree_size"] != *hsize) || (jr.contains("tree_root") && jr["tree_root"] != *hroot)) {
        return Status::Corruption(where + ": its tree_size or tree_root is not the tree head its manifest names");
      }
      if (jr.contains("csv_sha256")) {
        const std::string held = jr["csv_sha256"].get<std::string>(), stated = m.value("content_sha256", std::string());
        if (held != stated) {
          return Status::Corruption(where + ": the CSV the server holds hashes to " + held.substr(0, 16) + "..., not to the content hash " +
                                    stated.substr(0, 16) + "... its signed manifest states (the stored dataset was rewritten)");
        }
      }
      if (file.contains("store_id") && m.contains("store_id") && m["store_id"] != file["store_id"]) {
        return Status::Corruption(where + ": its manifest names another store than the export's store_id");
      }
      ++sum.releases;
    }
  }
  for (const auto& [manifest, idx] : release_entries) {
    if (exported_releases.count(manifest)) continue;
    const auto m = nlohmann::json::parse(manifest, nullptr, false);
    const std::string label = m.is_object() ? m.value("label", std::string()) : std::string();
    return Status::Corruption("entry " + std::to_string(idx) + " (release \"" + label + "\"): logged, but missing from the export's releases");
  }
  if (file.contains("credentials")) MNR_RETURN_IF_ERROR(CheckCredentialsSection(file["credentials"], creds, sum));
  return sum;
}

}  // namespace

Result<ExportSummary> VerifyExport(const nlohmann::json& file, const VerifyOptions& options) {
  try {
    return CheckExport(file, options);
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("export: a member has the wrong type (") + e.what() + ")");
  }
}

Result<ExportSummary> VerifyExport(const nlohmann::json& file, bool require_covering_head) {
  VerifyOptions o;
  o.require_covering_head = require_covering_head;
  return VerifyExport(file, o);
}

}  // namespace mnr::audit
