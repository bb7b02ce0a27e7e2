#include "client/client_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "mnr/crypto.h"
#include "mnr/envelope.h"
#include "mnr/file_util.h"
#include "mnr/limits.h"
#include "mnr/media_type.h"
#include "mnr/utf8.h"
#include "mnr/wall_clock.h"

namespace mnr::embedded {
std::string_view client_store_v1();
std::string_view client_store_v2();
std::string_view client_store_v3();
std::string_view client_store_v4();
std::string_view client_store_v5();
std::string_view client_store_v6();
std::string_view client_store_v7();
}  // namespace mnr::embedded

namespace mnr::client {
namespace {

#define CS_CONCAT_INNER(a, b) a##b
#define CS_CONCAT(a, b) CS_CONCAT_INNER(a, b)
#define CS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
#define CS_ASSIGN_OR_RETURN(lhs, expr) CS_ASSIGN_OR_RETURN_IMPL(CS_CONCAT(cs_result_, __LINE__), lhs, expr)

constexpr int kLatestVersion = 7;

// The script that takes a store from version `to - 1` to `to`; version 1 is the whole initial DDL.
std::string_view MigrationTo(int to) {
  switch (to) {
    case 1: return embedded::client_store_v1();
    case 2: return embedded::client_store_v2();
    case 3: return embedded::client_store_v3();
    case 4: return embedded::client_store_v4();
    case 5: return embedded::client_store_v5();
    case 6: return embedded::client_store_v6();
    case 7: return embedded::client_store_v7();
    default: return {};
  }
}

// The TLS session kept for resumption: JSON {"credential", "server", "session" (base64 DER)}.
constexpr std::string_view kTlsSessionKey = "tls_session";

// Meta keys that only this file may write: they carry the store's identity and its clocks.
bool IsReservedMetaKey(std::string_view key) {
  return key == "attachment_limit" || key == "device_id" || key == "countries" || key == "credential" || key == "hlc" || key == "round" ||
         key == "next_changeset_seq" || key == "pull_store_id" || key == "pull_cursor" || key == kTlsSessionKey;
}

const char* const kPracticeAttrs[] = {"capability", "kind", "title", "text", "lang"};

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::vector<std::string> SplitComma(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const std::size_t p = s.find(',');
    std::string_view part = s.substr(0, p);
    if (!part.empty()) out.emplace_back(part);
    if (p == std::string_view::npos) break;
    s.remove_prefix(p + 1);
  }
  return out;
}

std::optional<std::uint64_t> ParseU64(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// A lang attribute: a BCP 47 primary language subtag, 2 or 3 lowercase letters.
bool IsValidLang(std::string_view lang) {
  if (lang.size() < 2 || lang.size() > 3) return false;
  return std::all_of(lang.begin(), lang.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

// The smallest string greater than every string that starts with `prefix` ("" if there is none).
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

Result<std::optional<std::string>> MetaGet(Db& db, std::string_view key) {
  CS_ASSIGN_OR_RETURN(Statement st, db.Prepare("SELECT value FROM meta WHERE key = ?"));
  st.Bind(1, key);
  CS_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(st.Text(0));
}

Status MetaSet(Db& db, std::string_view key, std::string_view value) {
  CS_ASSIGN_OR_RETURN(Statement st, db.Prepare("INSERT INTO meta (key, value) VALUES (?, ?) "
                                               "ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
  st.Bind(1, key).Bind(2, value);
  return st.Run();
}

Status MetaDelete(Db& db, std::string_view key) {
  CS_ASSIGN_OR_RETURN(Statement st, db.Prepare("DELETE FROM meta WHERE key = ?"));
  st.Bind(1, key);
  return st.Run();
}

Result<std::uint64_t> MetaGetU64(Db& db, std::string_view key, std::uint64_t fallback) {
  CS_ASSIGN_OR_RETURN(auto v, MetaGet(db, key));
  if (!v) return fallback;
  auto n = ParseU64(*v);
  if (!n) return Status::Corruption("meta " + std::string(key) + " is not a number: \"" + v->substr(0, 40) + "\"");
  return *n;
}

// The clock is read and written inside each write transaction, so two processes editing the same
// store never issue the same timestamp.
Result<HybridClock> LoadClock(Db& db) {
  CS_ASSIGN_OR_RETURN(std::uint64_t last, MetaGetU64(db, "hlc", 0));
  return HybridClock(last);
}

Status SaveClock(Db& db, const HybridClock& clock) { return MetaSet(db, "hlc", std::to_string(clock.last())); }

Result<std::string> FieldVersion(Db& db, std::string_view field) {
  CS_ASSIGN_OR_RETURN(Statement st, db.Prepare("SELECT version FROM field_versions WHERE field = ?"));
  st.Bind(1, field);
  CS_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.Text(0) : std::string();
}

Status SetFieldVersion(Db& db, std::string_view field, std::string_view version) {
  CS_ASSIGN_OR_RETURN(Statement st,
                      db.Prepare("INSERT INTO field_versions (field, version) VALUES (?, ?) "
                                 "ON CONFLICT (field) DO UPDATE SET version = excluded.version"));
  st.Bind(1, field).Bind(2, version);
  return st.Run();
}

Status AppendChange(Db& db, HlcTime hlc, std::string_view author, std::string_view field,
                    const std::optional<std::string>& old_value, const std::optional<std::string>& new_value,
                    std::string_view origin, std::string_view parents) {
  CS_ASSIGN_OR_RETURN(Statement st, db.Prepare("INSERT INTO change_log (hlc, author, field, old_value, new_value, "
                                               "origin, parents, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  st.Bind(1, static_cast<std::int64_t>(hlc))
      .Bind(2, author)
      .Bind(3, field)
      .Bind(4, old_value)
      .Bind(5, new_value)
      .Bind(6, origin)
      .Bind(7, parents)
      .Bind(8, UnixNow());
  return st.Run();
}

// Records a local edit of `field` whose current value the caller has just written: a fresh timestamp,
// the field's new version, and the log row that names the version it replaced as its parent.
Status AppendLocal(Db& db, const std::string& device_id, HybridClock& clock, std::string_view field,
                   const std::optional<std::string>& old_value, const std::optional<std::string>& new_value) {
  const HlcTime hlc = clock.Now();
  CS_ASSIGN_OR_RETURN(std::string parent, FieldVersion(db, field));
  MNR_RETURN_IF_ERROR(SetFieldVersion(db, field, OperationVersion(hlc, device_id)));
  return AppendChange(db, hlc, device_id, field, old_value, new_value, "local", parent);
}

Result<std::optional<std::string>> CurrentAnswer(Db& db, std::string_view country, std::string_view indicator,
                                                 std::string_view round) {
  CS_ASSIGN_OR_RETURN(Statement st, db.Prepare("SELECT answer, note FROM answers WHERE country = ? AND indicator = ? AND round = ?"));
  st.Bind(1, country).Bind(2, indicator).Bind(3, round);
  CS_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<std::string>();
  auto answer = ParseAnswer(st.Text(0));
  if (!answer) return Status::Corruption("stored answer for " + AnswerField(country, indicator, round) + " is \"" + st.Text(0) + "\"");
  return std::optional<std::string>(EncodeAnswer(AnswerValue{*answer, st.Text(1)}));
}

Result<std::optional<std::string>> RecordValue(Db& db, std::string_view field) {
  CS_ASSIGN_OR_RETURN(Statement st, db.Prepare("SELECT value FROM records WHERE field = ?"));
  st.Bind(1, field);
  CS_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<std::string>();
  return st.OptText(0);
}

// Writes the current value of a review or query field (nullopt: cleared) with the edit that set it.
Status WriteRecordRow(Db& db, std::string_view field, std::string_view country, const std::optional<std::string>& value,
                      HlcTime hlc, std::string_view author) {
  CS_ASSIGN_OR_RETURN(Statement st, db.Prepare(
      "INSERT INTO records (field, country, value, hlc, author) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT (field) DO UPDATE SET value = excluded.value, hlc = excluded.hlc, author = excluded.author"));
  st.Bind(1, field).Bind(2, country).Bind(3, value).Bind(4, static_cast<std::int64_t>(hlc)).Bind(5, author);
  return st.Run();
}

// Writes (or, for nullopt, removes) the current value of an answer field of `round`. A carried answer
// waiting there is settled: whoever wrote the field has given the round its own answer.
Status WriteAnswer(Db& db, std::string_view country, std::string_view indicator, std::string_view round,
                   const std::optional<AnswerValue>& value) {
  CS_ASSIGN_OR_RETURN(Statement settle, db.Prepare("DELETE FROM carried_answers WHERE country = ? AND indicator = ? AND round = ?"));
  settle.Bind(1, country).Bind(2, indicator).Bind(3, round);
  MNR_RETURN_IF_ERROR(settle.Run());
  if (!value) {
    CS_ASSIGN_OR_RETURN(Statement st, db.Prepare("DELETE FROM answers WHERE country = ? AND indicator = ? AND round = ?"));
    st.Bind(1, country).Bind(2, indicator).Bind(3, round);
    return st.Run();
  }
  CS_ASSIGN_OR_RETURN(Statement st, db.Prepare("INSERT INTO answers (country, round, indicator, answer, note) VALUES (?, ?, ?, ?, ?) "
                                               "ON CONFLICT (country, round, indicator) DO UPDATE SET "
                                               "answer = excluded.answer, note = excluded.note"));
  st.Bind(1, country).Bind(2, round).Bind(3, indicator).Bind(4, AnswerName(value->answer)).Bind(5, value->note);
  return st.Run();
}

// Practice attributes as field values: a column at its default (0 or '') is an absent field, and
// the tombstone `deleted` is "1" when set.
Result<std::optional<std::string>> PracticeAttrValue(Db& db, std::string_view id, std::string_view attr) {
  CS_ASSIGN_OR_RETURN(Statement st, db.Prepare("SELECT capability, kind, title, text, lang, deleted FROM practices WHERE id = ?"));
  st.Bind(1, id);
  CS_ASSIGN_OR_RETURN(bool row, st.Step());
  std::optional<std::string> none;
  if (!row) return none;
  if (attr == "capability") return st.Int(0) == 0 ? none : std::optional<std::string>(std::to_string(st.Int(0)));
  if (attr == "deleted") return st.Int(5) == 0 ? none : std::optional<std::string>("1");
  int col = attr == "kind" ? 1 : attr == "title" ? 2 : attr == "text" ? 3 : attr == "lang" ? 4 : -1;
  if (col < 0) return Status::InvalidArgument("unknown practice attribute \"" + std::string(attr) + "\"");
  std::string v = st.Text(col);
  return v.empty() ? none : std::optional<std::string>(std::move(v));
}

Status WritePracticeAttr(Db& db, std::string_view id, std::string_view country, std::string_view attr,
                         const std::optional<std::string>& value) {
  CS_ASSIGN_OR_RETURN(Statement ins, db.Prepare("INSERT OR IGNORE INTO practices (id, country) VALUES (?, ?)"));
  ins.Bind(1, id).Bind(2, country);
  MNR_RETURN_IF_ERROR(ins.Run());
  // The column name comes from this fixed list, never from input.
  const char* sql = nullptr;
  if (attr == "capability") sql = "UPDATE practices SET capability = ? WHERE id = ?";
  else if (attr == "kind") sql = "UPDATE practices SET kind = ? WHERE id = ?";
  else if (attr == "title") sql = "UPDATE practices SET title = ? WHERE id = ?";
  else if (attr == "text") sql = "UPDATE practices SET text = ? WHERE id = ?";
  else if (attr == "lang") sql = "UPDATE practices SET lang = ? WHERE id = ?";
  else if (attr == "deleted") sql = "UPDATE practices SET deleted = ? WHERE id = ?";
  else return Status::InvalidArgument("unknown practice attribute \"" + std::string(attr) + "\"");
  CS_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
  if (attr == "capability") {
    std::int64_t cap = 0;
    if (value) {
      auto n = ParseU64(*value);
      cap = n && *n <= 1000 ? static_cast<std::int64_t>(*n) : 0;
    }
    st.Bind(1, cap);
  } else if (attr == "deleted") {
    st.Bind(1, static_cast<std::int64_t>(value && *value == "1" ? 1 : 0));
  } else {
    st.Bind(1, value ? std::string_view(*value) : std::string_view());
  }
  st.Bind(2, id);
  return st.Run();
}

PracticeEntry ReadPractice(const Statement& st) {
  PracticeEntry e;
  e.id = st.Text(0);
  e.country = st.Text(1);
  e.capability = static_cast<int>(st.Int(2));
  e.kind = st.Text(3);
  e.title = st.Text(4);
  e.text = st.Text(5);
  e.lang = st.Text(6);
  return e;
}

constexpr const char* kPracticeColumns = "SELECT id, country, capability, kind, title, text, lang FROM practices ";

Status RemoveStoreFiles(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((path + suffix).c_str());
  return Status::OK();
}

// Runs the scripts from version `from` + 1 to the latest, inside the caller's transaction.
Status ApplyMigrations(Db& db, const std::string& path, int from) {
  for (int v = from + 1; v <= kLatestVersion; ++v) {
    MNR_RETURN_IF_ERROR(db.Exec(MigrationTo(v)).With(path + ": migrating the store to schema version " + std::to_string(v)));
  }
  CS_ASSIGN_OR_RETURN(int now, db.UserVersion());
  if (now != kLatestVersion) return Status::Corruption(path + ": migration left schema version " + std::to_string(now));
  return Status::OK();
}

Status Migrate(Db& db, const std::string& path) {
  CS_ASSIGN_OR_RETURN(int version, db.UserVersion());
  if (version > kLatestVersion) {
    return Status::InvalidArgument(path + " has store schema version " + std::to_string(version) +
                                   ", newer than this mnr-client understands (" + std::to_string(kLatestVersion) +
                                   "); use a newer mnr-client");
  }
  if (version == kLatestVersion) return Status::OK();
  Transaction tx(db);
  MNR_RETURN_IF_ERROR(tx.status().With(path));
  // Another process may have migrated the store while this one waited for the write lock.
  CS_ASSIGN_OR_RETURN(version, db.UserVersion());
  MNR_RETURN_IF_ERROR(ApplyMigrations(db, path, version));
  return tx.Commit().With(path);
}

Result<Identity> LoadIdentity(Db& db, const std::string& path) {
  Identity id;
  CS_ASSIGN_OR_RETURN(auto device, MetaGet(db, "device_id"));
  if (!device || device->empty()) return Status::Corruption(path + " is not an mnr-client store (it has no device id)");
  id.device_id = *device;
  CS_ASSIGN_OR_RETURN(auto name, MetaGet(db, "device_name"));
  id.device_name = name.value_or("");
  CS_ASSIGN_OR_RETURN(auto countries, MetaGet(db, "countries"));
  id.countries = SplitComma(countries.value_or(""));
  CS_ASSIGN_OR_RETURN(auto cred, MetaGet(db, "credential"));
  if (cred) {
    // Checked whole when it was bound (LoadCredential); the TLS context decodes its keys when needed.
    auto c = CredentialFromJson(*cred, path + " (bound credential)", CredentialCheck::kFieldsOnly);
    if (!c.ok()) return c.status();
    id.credential = std::move(c).value();
  }
  return id;
}

std::vector<std::string> Dedupe(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& s : in) {
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return out;
}

// True if a credential with `cred_countries` may write every one of `countries`; a coordinator's
// empty list means every country.
bool Covers(const Credential& c, const std::vector<std::string>& countries) {
  if (c.role != Role::kField && c.countries.empty()) return true;
  return std::all_of(countries.begin(), countries.end(), [&](const std::string& code) {
    return std::find(c.countries.begin(), c.countries.end(), code) != c.countries.end();
  });
}

}  // namespace

Result<std::unique_ptr<ClientStore>> ClientStore::Create(const std::string& path,
                                                         const std::vector<std::string>& countries,
                                                         const std::string& device_name,
                                                         const std::optional<Credential>& credential) {
  std::vector<std::string> scope = Dedupe(countries);
  for (const auto& code : scope) {
    if (!IsValidCountryCode(code)) {
      return Status::InvalidArgument("\"" + code + "\" is not a country code (2 to 8 capital letters and digits, e.g. KE or X01)");
    }
  }
  if (credential) {
    if (!Covers(*credential, scope)) {
      return Status::Refused("credential " + credential->id + " may write " + Join(credential->countries, ", ") +
                             ", which does not cover " + Join(scope, ", "));
    }
    scope = credential->countries;
  } else if (scope.empty()) {
    return Status::InvalidArgument("a store needs at least one country it may write (--country CODE)");
  }
  MNR_RETURN_IF_ERROR(CheckText(device_name, "device name", limits::kNameBytes));
  if (device_name.find_first_of("\r\n") != std::string::npos) {
    return Status::InvalidArgument("device name must be one line");
  }

  // Created here with mode 0600 before SQLite sees it: the store will hold a credential's private key.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    if (err == EEXIST) {
      return Status::AlreadyExists(path + " already exists; open it, or choose another path for a new store");
    }
    return Status::IOError("cannot create " + path + ": " + std::strerror(err));
  }
  ::close(fd);

  auto build = [&]() -> Result<std::unique_ptr<ClientStore>> {
    std::unique_ptr<ClientStore> store(new ClientStore());
    CS_ASSIGN_OR_RETURN(store->db_, Db::Open(path, true));
    Db& db = *store->db_;
    // Schema and identity in one transaction: a crash leaves an empty file, never a half store.
    Transaction tx(db);
    MNR_RETURN_IF_ERROR(tx.status());
    MNR_RETURN_IF_ERROR(ApplyMigrations(db, path, 0));
    MNR_RETURN_IF_ERROR(MetaSet(db, "device_id", crypto::HexEncode(crypto::RandomBytes(8))));
    MNR_RETURN_IF_ERROR(MetaSet(db, "device_name", device_name));
    MNR_RETURN_IF_ERROR(MetaSet(db, "countries", Join(scope, ",")));
    if (credential) MNR_RETURN_IF_ERROR(MetaSet(db, "credential", CredentialToJson(*credential)));
    MNR_RETURN_IF_ERROR(MetaSet(db, "hlc", "0"));
    MNR_RETURN_IF_ERROR(MetaSet(db, "next_changeset_seq", "1"));
    MNR_RETURN_IF_ERROR(MetaSet(db, "created_at", std::to_string(UnixNow())));
    CS_ASSIGN_OR_RETURN(store->schema_, SurveySchema::Active());
    // A new store works on the survey's current round.
    if (!store->schema_->round().empty()) {
      store->round_ = store->schema_->round();
      MNR_RETURN_IF_ERROR(MetaSet(db, "round", store->round_));
    }
    MNR_RETURN_IF_ERROR(tx.Commit());
    CS_ASSIGN_OR_RETURN(store->identity_, LoadIdentity(db, path));
    return store;
  };
  auto r = build();
  if (!r.ok()) RemoveStoreFiles(path);
  return r;
}

Result<std::unique_ptr<ClientStore>> ClientStore::Open(const std::string& path) {
  if (!FileExists(path)) {
    return Status::NotFound("no client store at " + path + " (create one with: mnr-client init --db " + path +
                            " --country CODE)");
  }
  std::unique_ptr<ClientStore> store(new ClientStore());
  CS_ASSIGN_OR_RETURN(store->db_, Db::Open(path, false));
  CS_ASSIGN_OR_RETURN(int version, store->db_->UserVersion());
  if (version == 0) {
    return Status::InvalidArgument(path + " is not an mnr-client store (if an init was interrupted, remove the file "
                                          "and run init again)");
  }
  MNR_RETURN_IF_ERROR(Migrate(*store->db_, path));
  CS_ASSIGN_OR_RETURN(store->identity_, LoadIdentity(*store->db_, path));
  CS_ASSIGN_OR_RETURN(store->schema_, SurveySchema::Active());
  CS_ASSIGN_OR_RETURN(auto round, MetaGet(*store->db_, "round"));
  store->round_ = round.value_or(std::string(kFirstRound));
  return store;
}

Status ClientStore::CheckRound(std::string_view round) const { return schema_->CheckRound(round); }

Status ClientStore::UseRound(std::string_view round) {
  MNR_RETURN_IF_ERROR(CheckRound(round));
  round_ = std::string(round);
  return Status::OK();
}

Result<int> ClientStore::StartRound(std::string_view round, bool carry_forward) {
  MNR_RETURN_IF_ERROR(CheckRound(round));
  CS_ASSIGN_OR_RETURN(auto current, MetaGet(*db_, "round"));
  const std::string from = current.value_or(std::string(kFirstRound));
  if (round <= from) {
    return Status::InvalidArgument("this store already works on round " + from + "; a new round must be later (`mnr-client round` "
                                   "lists them; --round on a command reads or edits an earlier one)");
  }
  Transaction tx(*db_);
  MNR_RETURN_IF_ERROR(tx.status());
  MNR_RETURN_IF_ERROR(MetaSet(*db_, "round", std::string(round)));
  int carried = 0;
  if (carry_forward) {
    // Only where the new round has no answer yet (one pulled from another device stays).
    CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare(
        "INSERT INTO carried_answers (country, round, indicator, answer, note, from_round) "
        "SELECT a.country, ?1, a.indicator, a.answer, a.note, a.round FROM answers a WHERE a.round = ?2 "
        "AND NOT EXISTS (SELECT 1 FROM answers n WHERE n.country = a.country AND n.round = ?1 AND n.indicator = a.indicator)"));
    st.Bind(1, round).Bind(2, from);
    MNR_RETURN_IF_ERROR(st.Run());
    carried = db_->Changes();
  }
  MNR_RETURN_IF_ERROR(tx.Commit());
  round_ = std::string(round);
  return carried;
}

Result<std::vector<CarriedAnswer>> ClientStore::CarriedAnswers(const std::optional<std::string>& country) {
  std::string sql = "SELECT country, indicator, answer, note, from_round FROM carried_answers WHERE round = ?";
  if (country) sql += " AND country = ?";
  sql += " ORDER BY country, indicator";
  CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare(sql));
  st.Bind(1, round_);
  if (country) st.Bind(2, *country);
  std::vector<CarriedAnswer> out;
  for (;;) {
    CS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    auto answer = ParseAnswer(st.Text(2));
    if (!answer) return Status::Corruption("carried answer for " + st.Text(0) + " " + st.Text(1) + " is \"" + st.Text(2) + "\"");
    out.push_back(CarriedAnswer{st.Text(0), st.Text(1), AnswerValue{*answer, st.Text(3)}, st.Text(4)});
  }
  return out;
}

Result<bool> ClientStore::IsCarried(const std::string& country, const std::string& indicator) {
  CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare("SELECT 1 FROM carried_answers WHERE country = ? AND indicator = ? AND round = ?"));
  st.Bind(1, country).Bind(2, indicator).Bind(3, round_);
  return st.Step();
}

Result<std::vector<RoundSummary>> ClientStore::Rounds() {
  std::vector<std::string> rounds = schema_->rounds();
  if (rounds.empty()) rounds.push_back(std::string(kFirstRound));
  CS_ASSIGN_OR_RETURN(auto current, MetaGet(*db_, "round"));
  CS_ASSIGN_OR_RETURN(Statement answered, db_->Prepare("SELECT COUNT(*) FROM answers WHERE round = ?"));
  CS_ASSIGN_OR_RETURN(Statement carried, db_->Prepare("SELECT COUNT(*) FROM carried_answers WHERE round = ?"));
  std::vector<RoundSummary> out;
  for (const auto& r : rounds) {
    RoundSummary s{r, 0, 0, r == current.value_or(std::string(kFirstRound))};
    answered.Reset();
    answered.Bind(1, r);
    CS_ASSIGN_OR_RETURN(bool a, answered.Step());
    if (a) s.answers = answered.Int(0);
    carried.Reset();
    carried.Bind(1, r);
    CS_ASSIGN_OR_RETURN(bool c, carried.Step());
    if (c) s.carried = carried.Int(0);
    out.push_back(s);
  }
  return out;
}

Status ClientStore::CheckWritable(std::string_view country) const {
  if (!IsValidCountryCode(country)) {
    return Status::InvalidArgument("\"" + std::string(country) +
                                   "\" is not a country code (2 to 8 capital letters and digits)");
  }
  const auto& c = identity_.credential;
  if (c && c->role == Role::kAuditor) {
    return Status::Refused("credential " + c->id + " is an auditor's: it may read but not edit");
  }
  if (identity_.countries.empty() && c && c->role == Role::kCoordinator) return Status::OK();
  if (std::find(identity_.countries.begin(), identity_.countries.end(), country) == identity_.countries.end()) {
    return Status::Refused("country " + std::string(country) + " is outside this device's scope (" +
                           Join(identity_.countries, ", ") + ")");
  }
  return Status::OK();
}

Status ClientStore::CheckAnswerEdit(const AnswerEdit& e) const {
  MNR_RETURN_IF_ERROR(CheckWritable(e.country));
  // A store moved on to a round with a newer schema, opened with an older one: the server would refuse
  // the change-set, and it would block every later one in the outbox.
  if (Status r = schema_->CheckRound(round_); !r.ok()) {
    return r.With("this store works on round " + round_ + "; use the survey schema that lists it (MNR_SURVEY_SCHEMA)");
  }
  if (!schema_->FindIndicator(e.indicator)) {
    return Status::InvalidArgument("unknown indicator \"" + e.indicator.substr(0, 80) + "\" (not in survey schema v" +
                                   std::to_string(schema_->version()) + ")");
  }
  if (e.value) MNR_RETURN_IF_ERROR(CheckText(e.value->note, "note", limits::kNoteBytes));
  return Status::OK();
}

Status ClientStore::BindCredential(const Credential& c) {
  if (!Covers(c, identity_.countries)) {
    return Status::Refused("credential " + c.id + " may write " +
                           (c.countries.empty() ? std::string("no country") : Join(c.countries, ", ")) +
                           ", but this store holds " + Join(identity_.countries, ", ") +
                           "; ask for a credential that covers them");
  }
  // Unsynced edits are sealed (or will be) under the bound credential; the server takes them only from
  // that credential or from its renewed successor, so another one would strand them for ever.
  const auto& bound = identity_.credential;
  if (bound && c.id != bound->id && c.renews != bound->id) {
    CS_ASSIGN_OR_RETURN(SyncState state, State());
    if (state.unsynced_edits > 0 || state.outbox_unacked > 0) {
      std::string pending;
      if (state.unsynced_edits > 0) pending = std::to_string(state.unsynced_edits) + " edit(s) not yet sent";
      if (state.outbox_unacked > 0) {
        pending += (pending.empty() ? "" : " and ") + std::to_string(state.outbox_unacked) +
                   " change-set(s) the server has not acknowledged";
      }
      const std::string path = db_->path();
      return Status::Refused(
          "credential " + c.id + " is neither this store's credential " + bound->id + " nor its renewal" +
          (c.renews ? " (it renews " + *c.renews + ")" : std::string()) + ", and the store holds " + pending +
          " made under " + bound->id + ", which the server accepts only from " + bound->id +
          " or its renewal. Send them first with the current credential (mnr-client sync --db " + path +
          ", or mnr-client bundle --db " + path + " --out FILE.mnrb), then bind the new one; if " + bound->id +
          " has expired or was revoked, ask the coordinator to renew it (mnr-server renew " + bound->id +
          ") and bind the file that gives");
    }
  }
  {
    Transaction tx(*db_);
    MNR_RETURN_IF_ERROR(tx.status());
    MNR_RETURN_IF_ERROR(MetaSet(*db_, "credential", CredentialToJson(c)));
    MNR_RETURN_IF_ERROR(MetaSet(*db_, "countries", Join(c.countries, ",")));
    // A session carries the certificate it was made with: never offer it under another credential.
    MNR_RETURN_IF_ERROR(MetaDelete(*db_, kTlsSessionKey));
    MNR_RETURN_IF_ERROR(tx.Commit());
  }
  // Stores are created 0600; this also covers a file that was copied or restored with wider rights.
  for (const char* suffix : {"", "-wal", "-shm"}) ::chmod((db_->path() + suffix).c_str(), 0600);
  identity_.credential = c;
  identity_.countries = c.countries;
  return Status::OK();
}

Status ClientStore::ImportCountries(const std::vector<Country>& rows) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Country& c = rows[i];
    const std::string where = "row " + std::to_string(i + 1) + " (" + c.code.substr(0, 20) + ")";
    if (!IsValidCountryCode(c.code)) {
      return Status::InvalidArgument(where + ": code is not 2 to 8 capital letters and digits");
    }
    MNR_RETURN_IF_ERROR(CheckText(c.name, "name", limits::kNameBytes).With(where));
    if (c.name.empty()) return Status::InvalidArgument(where + ": name is empty");
    if (c.income_group != "high" && c.income_group != "upper_middle" && c.income_group != "lower_middle" &&
        c.income_group != "low") {
      return Status::InvalidArgument(where + ": income_group \"" + c.income_group.substr(0, 40) +
                                     "\" is not one of high, upper_middle, lower_middle, low");
    }
    MNR_RETURN_IF_ERROR(CheckText(c.region, "region", limits::kNameBytes).With(where));
  }
  Transaction tx(*db_);
  MNR_RETURN_IF_ERROR(tx.status());
  for (const Country& c : rows) {
    CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare("INSERT INTO countries (code, name, income_group, region) VALUES (?, ?, ?, ?) "
                                                   "ON CONFLICT (code) DO UPDATE SET name = excluded.name, "
                                                   "income_group = excluded.income_group, region = excluded.region"));
    st.Bind(1, c.code).Bind(2, c.name).Bind(3, c.income_group).Bind(4, c.region);
    MNR_RETURN_IF_ERROR(st.Run());
  }
  return tx.Commit();
}

Result<std::vector<Country>> ClientStore::Countries() {
  CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare("SELECT code, name, income_group, region FROM countries ORDER BY code"));
  std::vector<Country> out;
  for (;;) {
    CS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(Country{st.Text(0), st.Text(1), st.Text(2), st.Text(3)});
  }
  return out;
}

Result<int> ClientStore::ApplyAnswers(const std::vector<AnswerEdit>& edits) { return WriteAnswers(edits, false); }

Result<int> ClientStore::ReaffirmAnswers(const std::vector<AnswerEdit>& edits) { return WriteAnswers(edits, true); }

Result<int> ClientStore::WriteAnswers(const std::vector<AnswerEdit>& edits, bool record_unchanged) {
  for (std::size_t i = 0; i < edits.size(); ++i) {
    Status s = CheckAnswerEdit(edits[i]);
    if (!s.ok()) {
      return edits.size() == 1 ? s
                               : s.With("edit " + std::to_string(i + 1) + " (" + edits[i].country.substr(0, 20) + " " +
                                        edits[i].indicator.substr(0, 80) + ")");
    }
  }
  Transaction tx(*db_);
  MNR_RETURN_IF_ERROR(tx.status());
  CS_ASSIGN_OR_RETURN(HybridClock clock, LoadClock(*db_));
  int changed = 0;
  for (const AnswerEdit& e : edits) {
    CS_ASSIGN_OR_RETURN(auto old_value, CurrentAnswer(*db_, e.country, e.indicator, round_));
    std::optional<std::string> new_value;
    if (e.value) new_value = EncodeAnswer(*e.value);
    // Giving a carried answer again is its confirmation: recorded even when the field (empty in this
    // round) would not otherwise change.
    CS_ASSIGN_OR_RETURN(bool carried, IsCarried(e.country, e.indicator));
    if (old_value == new_value && !record_unchanged && !carried) continue;
    MNR_RETURN_IF_ERROR(WriteAnswer(*db_, e.country, e.indicator, round_, e.value));
    MNR_RETURN_IF_ERROR(
        AppendLocal(*db_, identity_.device_id, clock, AnswerField(e.country, e.indicator, round_), old_value, new_value));
    ++changed;
  }
  if (changed == 0) return 0;  // the transaction rolls back: nothing was written
  MNR_RETURN_IF_ERROR(SaveClock(*db_, clock));
  MNR_RETURN_IF_ERROR(tx.Commit());
  return changed;
}

Status ClientStore::WriteRecord(const std::string& field, const std::string& country, const std::string& value) {
  MNR_RETURN_IF_ERROR(CheckWritable(country));
  Transaction tx(*db_);
  MNR_RETURN_IF_ERROR(tx.status());
  CS_ASSIGN_OR_RETURN(HybridClock clock, LoadClock(*db_));
  CS_ASSIGN_OR_RETURN(auto old_value, RecordValue(*db_, field));
  MNR_RETURN_IF_ERROR(AppendLocal(*db_, identity_.device_id, clock, field, old_value, value));
  MNR_RETURN_IF_ERROR(WriteRecordRow(*db_, field, country, value, clock.last(), identity_.device_id));
  MNR_RETURN_IF_ERROR(SaveClock(*db_, clock));
  return tx.Commit();
}

Status ClientStore::Submit(const std::string& country) {
  return WriteRecord(ReviewField(country, "submitted"), country, std::string(kSubmittedValue));
}

Status ClientStore::Reply(const std::string& query_id, const std::string& text) {
  if (!IsValidQueryId(query_id)) {
    return Status::InvalidArgument("\"" + query_id.substr(0, 40) + "\" is not a query id (they look like q12; see `mnr-client status`)");
  }
  if (text.empty()) return Status::InvalidArgument("a reply needs --text");
  MNR_RETURN_IF_ERROR(CheckText(text, "reply", limits::kNoteBytes));
  CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare("SELECT country FROM records WHERE field LIKE 'query/%/' || ? || '/question'"));
  st.Bind(1, query_id);
  CS_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) {
    return Status::NotFound("no query " + query_id + " in this store (queries arrive with `sync` or a return bundle; "
                            "`mnr-client status` lists them)");
  }
  const std::string country = st.Text(0);
  return WriteRecord(QueryField(country, query_id, "reply"), country, text);
}

Result<ReviewBook> ClientStore::Reviews() {
  ReviewBook book;
  CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare(
      "SELECT v.field, v.version, r.value, r.field IS NOT NULL FROM field_versions v LEFT JOIN records r ON r.field = v.field"));
  for (;;) {
    CS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    auto version = SplitVersion(st.Text(1));
    if (!version) continue;
    std::optional<std::string> value = st.OptText(2);
    // Answers and practices count by time and author only; their values live in their own tables.
    if (st.Int(3) == 0) value = std::string();
    book.Add(st.Text(0), value, version->first, version->second, version->first);
  }
  return book;
}

Result<std::vector<std::string>> ClientStore::Unanswered(const std::string& country) {
  std::set<std::string> answered;
  CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare("SELECT indicator FROM answers WHERE country = ? AND round = ?"));
  st.Bind(1, country).Bind(2, round_);
  for (;;) {
    CS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    answered.insert(st.Text(0));
  }
  std::vector<std::string> out;
  for (const auto& ind : schema_->indicators()) {
    if (!answered.count(ind.id)) out.push_back(ind.id);
  }
  return out;
}

Result<std::vector<AnswerRow>> ClientStore::Answers(const std::optional<std::string>& country) {
  std::string sql = "SELECT country, indicator, answer, note FROM answers WHERE round = ?";
  if (country) sql += " AND country = ?";
  CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare(sql));
  st.Bind(1, round_);
  if (country) st.Bind(2, *country);
  CS_ASSIGN_OR_RETURN(Statement ver, db_->Prepare("SELECT version FROM field_versions WHERE field = ?"));
  std::vector<AnswerRow> out;
  for (;;) {
    CS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    AnswerRow a;
    a.country = st.Text(0);
    a.indicator = st.Text(1);
    auto answer = ParseAnswer(st.Text(2));
    if (!answer) return Status::Corruption("stored answer for " + a.country + " " + a.indicator + " is \"" + st.Text(2) + "\"");
    a.value = AnswerValue{*answer, st.Text(3)};
    ver.Reset();
    ver.Bind(1, AnswerField(a.country, a.indicator, round_));
    CS_ASSIGN_OR_RETURN(bool has_version, ver.Step());
    if (has_version) a.version = ver.Text(0);
    out.push_back(std::move(a));
  }
  // Questionnaire order within a country; indicators unknown to this schema (pulled from a newer
  // one) go last.
  std::map<std::string_view, std::size_t> order;
  for (const auto& ind : schema_->indicators()) order.emplace(ind.id, order.size());
  auto rank = [&](const std::string& id) {
    auto it = order.find(id);
    return it == order.end() ? order.size() : it->second;
  };
  std::sort(out.begin(), out.end(), [&](const AnswerRow& x, const AnswerRow& y) {
    if (x.country != y.country) return x.country < y.country;
    const auto rx = rank(x.indicator), ry = rank(y.indicator);
    if (rx != ry) return rx < ry;
    return x.indicator < y.indicator;
  });
  return out;
}

Status ClientStore::CheckPracticeAttr(const std::string& attr, const std::string& value) const {
  if (attr == "capability") {
    auto n = ParseU64(value);
    if (!n || *n > 1000 || !schema_->FindCapability(static_cast<int>(*n))) {
      return Status::InvalidArgument("capability \"" + value.substr(0, 20) + "\" is not a capability number (1 to " +
                                     std::to_string(schema_->capabilities().size()) + ")");
    }
  } else if (attr == "kind") {
    if (!IsValidPracticeKind(value)) {
      return Status::InvalidArgument("kind \"" + value.substr(0, 40) +
                                     "\" is not one of good_practice, challenge, lesson_learned");
    }
  } else if (attr == "title") {
    MNR_RETURN_IF_ERROR(CheckText(value, "title", limits::kPracticeTitleBytes));
    if (value.empty()) return Status::InvalidArgument("title is empty");
  } else if (attr == "text") {
    MNR_RETURN_IF_ERROR(CheckText(value, "text", limits::kPracticeTextBytes));
    if (value.empty()) return Status::InvalidArgument("text is empty");
  } else if (attr == "lang") {
    if (!IsValidLang(value)) {
      return Status::InvalidArgument("lang \"" + value.substr(0, 20) +
                                     "\" is not a language code (2 or 3 lowercase letters: en, fr, ar, ...)");
    }
  } else {
    return Status::InvalidArgument("\"" + attr.substr(0, 40) +
                                   "\" is not an attribute of a practice entry (capability, kind, title, text, lang)");
  }
  return Status::OK();
}

Result<std::string> ClientStore::AddPractice(const PracticeEntry& e) {
  MNR_RETURN_IF_ERROR(CheckWritable(e.country));
  const std::string lang = e.lang.empty() ? "en" : e.lang;
  const std::map<std::string, std::string> attrs = {{"capability", std::to_string(e.capability)},
                                                    {"kind", e.kind},
                                                    {"title", e.title},
                                                    {"text", e.text},
                                                    {"lang", lang}};
  for (const auto& [attr, value] : attrs) MNR_RETURN_IF_ERROR(CheckPracticeAttr(attr, value));
  const std::string id = crypto::HexEncode(crypto::RandomBytes(8));
  Transaction tx(*db_);
  MNR_RETURN_IF_ERROR(tx.status());
  CS_ASSIGN_OR_RETURN(HybridClock clock, LoadClock(*db_));
  for (const char* attr : kPracticeAttrs) {
    const std::string& value = attrs.at(attr);
    MNR_RETURN_IF_ERROR(WritePracticeAttr(*db_, id, e.country, attr, value));
    MNR_RETURN_IF_ERROR(
        AppendLocal(*db_, identity_.device_id, clock, PracticeField(e.country, id, attr), std::nullopt, value));
  }
  MNR_RETURN_IF_ERROR(SaveClock(*db_, clock));
  MNR_RETURN_IF_ERROR(tx.Commit());
  return id;
}

Status ClientStore::EditPractice(const std::string& id, const std::map<std::string, std::string>& attrs) {
  CS_ASSIGN_OR_RETURN(auto found, FindPractice(id));
  if (!found) return Status::NotFound("no practice entry " + id.substr(0, 40) + " (see mnr-client practice list)");
  MNR_RETURN_IF_ERROR(CheckWritable(found->country));
  for (const auto& [attr, value] : attrs) MNR_RETURN_IF_ERROR(CheckPracticeAttr(attr, value));
  Transaction tx(*db_);
  MNR_RETURN_IF_ERROR(tx.status());
  CS_ASSIGN_OR_RETURN(HybridClock clock, LoadClock(*db_));
  bool changed = false;
  for (const auto& [attr, value] : attrs) {
    CS_ASSIGN_OR_RETURN(auto old_value, PracticeAttrValue(*db_, id, attr));
    // Capability "07" and "7" are the same value; compare the canonical form.
    const std::string canonical = attr == "capability" ? std::to_string(*ParseU64(value)) : value;
    if (old_value == canonical) continue;
    MNR_RETURN_IF_ERROR(WritePracticeAttr(*db_, id, found->country, attr, canonical));
    MNR_RETURN_IF_ERROR(AppendLocal(*db_, identity_.device_id, clock, PracticeField(found->country, id, attr),
                                    old_value, canonical));
    changed = true;
  }
  if (!changed) return Status::OK();
  MNR_RETURN_IF_ERROR(SaveClock(*db_, clock));
  return tx.Commit();
}

Status ClientStore::RemovePractice(const std::string& id) {
  CS_ASSIGN_OR_RETURN(auto found, FindPractice(id));
  if (!found) return Status::NotFound("no practice entry " + id.substr(0, 40) + " (see mnr-client practice list)");
  MNR_RETURN_IF_ERROR(CheckWritable(found->country));
  Transaction tx(*db_);
  MNR_RETURN_IF_ERROR(tx.status());
  CS_ASSIGN_OR_RETURN(HybridClock clock, LoadClock(*db_));
  MNR_RETURN_IF_ERROR(WritePracticeAttr(*db_, id, found->country, "deleted", "1"));
  MNR_RETURN_IF_ERROR(AppendLocal(*db_, identity_.device_id, clock, PracticeField(found->country, id, "deleted"),
                                  std::nullopt, std::string("1")));
  MNR_RETURN_IF_ERROR(SaveClock(*db_, clock));
  return tx.Commit();
}

Result<std::vector<PracticeEntry>> ClientStore::Practices(const std::optional<std::string>& country) {
  std::string sql = std::string(kPracticeColumns) + "WHERE deleted = 0";
  if (country) sql += " AND country = ?";
  sql += " ORDER BY country, capability, title, id";
  CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare(sql));
  if (country) st.Bind(1, *country);
  std::vector<PracticeEntry> out;
  for (;;) {
    CS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadPractice(st));
  }
  return out;
}

Result<std::optional<PracticeEntry>> ClientStore::FindPractice(const std::string& id) {
  CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare(std::string(kPracticeColumns) + "WHERE id = ? AND deleted = 0"));
  st.Bind(1, id);
  CS_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<PracticeEntry>();
  return std::optional<PracticeEntry>(ReadPractice(st));
}

Result<std::vector<LogEntry>> ClientStore::Log(const std::optional<std::string>& field_prefix, std::size_t limit) {
  std::string sql = "SELECT seq, hlc, author, field, old_value, new_value, origin FROM change_log";
  const bool filter = field_prefix && !field_prefix->empty();
  const std::string end = filter ? PrefixEnd(*field_prefix) : std::string();
  if (filter) sql += end.empty() ? " WHERE field >= ?" : " WHERE field >= ? AND field < ?";
  sql += " ORDER BY seq DESC";
  if (limit > 0) sql += " LIMIT " + std::to_string(limit);
  CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare(sql));
  if (filter) {
    st.Bind(1, *field_prefix);
    if (!end.empty()) st.Bind(2, end);
  }
  std::vector<LogEntry> out;
  for (;;) {
    CS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    LogEntry e;
    e.seq = st.Int(0);
    e.hlc = static_cast<HlcTime>(st.Int(1));
    e.author = st.Text(2);
    e.field = st.Text(3);
    e.old_value = st.OptText(4);
    e.new_value = st.OptText(5);
    e.origin = st.Text(6);
    out.push_back(std::move(e));
  }
  return out;
}

Result<SyncState> ClientStore::State() {
  SyncState s;
  CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare(
      "SELECT (SELECT COUNT(*) FROM change_log WHERE origin = 'local' AND "
      "        seq > (SELECT COALESCE(MAX(last_log_seq), 0) FROM outbox)), "
      "       (SELECT COUNT(*) FROM outbox WHERE acked = 0)"));
  CS_ASSIGN_OR_RETURN(bool row, st.Step());
  if (row) {
    s.unsynced_edits = st.Int(0);
    s.outbox_unacked = st.Int(1);
  }
  CS_ASSIGN_OR_RETURN(auto at, MetaGet(*db_, "last_sync_at"));
  if (at) {
    if (auto n = ParseU64(*at)) s.last_sync_at = static_cast<std::int64_t>(*n);
  }
  CS_ASSIGN_OR_RETURN(auto result, MetaGet(*db_, "last_sync_result"));
  s.last_sync_result = result.value_or("");
  return s;
}

Result<std::optional<std::string>> ClientStore::GetMeta(const std::string& key) { return MetaGet(*db_, key); }

Status ClientStore::SetMeta(const std::string& key, const std::string& value) {
  if (IsReservedMetaKey(key)) {
    return Status::InvalidArgument("meta key \"" + key + "\" is managed by the store and cannot be set directly");
  }
  if (key.empty()) return Status::InvalidArgument("meta key is empty");
  return MetaSet(*db_, key, value);
}

Result<int> ClientStore::CutChangeSets() {
  if (!identity_.credential) {
    return Status::InvalidArgument("this store is not bound to a credential; bind one with: mnr-client init --db " +
                                   db_->path() + " --credentials FILE.mnrcred");
  }
  const Credential& cred = *identity_.credential;
  Transaction tx(*db_);
  MNR_RETURN_IF_ERROR(tx.status());
  CS_ASSIGN_OR_RETURN(HybridClock clock, LoadClock(*db_));
  CS_ASSIGN_OR_RETURN(std::uint64_t next_seq, MetaGetU64(*db_, "next_changeset_seq", 1));

  // The edits not yet in a change-set are read one at a time and cut as they come, so that memory
  // holds one change-set, not every pending edit (100,000 after a bulk import).
  std::int64_t after = 0;  // the last edit already in a change-set
  {
    CS_ASSIGN_OR_RETURN(Statement cut_through, db_->Prepare("SELECT COALESCE(MAX(last_log_seq), 0) FROM outbox"));
    CS_ASSIGN_OR_RETURN(bool has_row, cut_through.Step());
    if (has_row) after = cut_through.Int(0);
  }
  CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare(
      "SELECT seq, hlc, author, field, old_value, new_value, parents FROM change_log WHERE origin = 'local' AND seq > ? ORDER BY seq"));
  st.Bind(1, after);
  struct Row {
    std::int64_t seq;
    Operation op;
  };
  std::optional<Row> next;  // the next edit to place, read ahead
  const auto read_next = [&st, &next]() -> Status {
    CS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) {
      next.reset();
      return Status::OK();
    }
    Row r;
    r.seq = st.Int(0);
    r.op.hlc = static_cast<HlcTime>(st.Int(1));
    r.op.author = st.Text(2);
    r.op.field = st.Text(3);
    r.op.old_value = st.OptText(4);
    r.op.new_value = st.OptText(5);
    if (std::string parents = st.Text(6); !parents.empty()) r.op.parents.push_back(std::move(parents));
    next = std::move(r);
    return Status::OK();
  };
  MNR_RETURN_IF_ERROR(read_next());
  if (!next) return 0;

  // Every op is kept, even several of one field: the server keeps each for the field's history.
  // A change-set closes at the op limit, or before its serialized size could pass the byte limit
  // (practice texts are large); the estimate over-counts the per-op framing.
  constexpr std::size_t kBudget = limits::kChangeSetBytes - 64 * 1024;
  auto op_bytes = [](const Operation& op) {
    std::size_t n = 64 + op.field.size() + op.author.size() + op.old_value.value_or("").size() +
                    op.new_value.value_or("").size();
    for (const auto& p : op.parents) n += p.size() + 8;
    return n;
  };
  int cut = 0;
  while (next) {
    ChangeSet cs;
    cs.schema_version = static_cast<std::uint32_t>(schema_->version());
    cs.device_id = identity_.device_id;
    cs.credential_id = cred.id;
    cs.seq = next_seq;
    const std::int64_t first = next->seq;
    std::int64_t last = first;
    std::size_t bytes = 0;
    while (next && cs.ops.size() < limits::kOpsPerChangeSet) {
      const std::size_t n = op_bytes(next->op);
      if (!cs.ops.empty() && bytes + n > kBudget) break;
      bytes += n;
      last = next->seq;
      cs.ops.push_back(std::move(next->op));
      MNR_RETURN_IF_ERROR(read_next());
    }
    cs.created = clock.Now();
    const std::string body = SerializeChangeSet(cs);
    if (body.size() > limits::kChangeSetBytes) {
      return Status::InvalidArgument("change-set " + std::to_string(cs.seq) + " would be " + std::to_string(body.size()) +
                                     " bytes, over the limit of " + std::to_string(limits::kChangeSetBytes));
    }
    CS_ASSIGN_OR_RETURN(std::string sealed, SealChangeSet(body, cred.private_key_pem, cred.sealing_public_key));
    CS_ASSIGN_OR_RETURN(Statement ins, db_->Cached(
        "INSERT INTO outbox (seq, id, sealed, first_log_seq, last_log_seq, ops, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"));
    ins.Bind(1, static_cast<std::int64_t>(cs.seq))
        .Bind(2, ChangeSetId(body))
        .BindBlob(3, sealed)
        .Bind(4, first)
        .Bind(5, last)
        .Bind(6, static_cast<std::int64_t>(cs.ops.size()))
        .Bind(7, UnixNow());
    MNR_RETURN_IF_ERROR(ins.Run());
    ++next_seq;
    ++cut;
  }
  MNR_RETURN_IF_ERROR(MetaSet(*db_, "next_changeset_seq", std::to_string(next_seq)));
  MNR_RETURN_IF_ERROR(SaveClock(*db_, clock));
  MNR_RETURN_IF_ERROR(tx.Commit());
  return cut;
}

Result<std::vector<OutboxEntry>> ClientStore::Outbox(bool unacked_only) {
  std::string sql = "SELECT seq, id, sealed, ops FROM outbox";
  if (unacked_only) sql += " WHERE acked = 0";
  sql += " ORDER BY seq";
  CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare(sql));
  std::vector<OutboxEntry> out;
  for (;;) {
    CS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    OutboxEntry e;
    e.seq = static_cast<std::uint64_t>(st.Int(0));
    e.id = st.Text(1);
    e.sealed = st.Blob(2);
    e.ops = st.Int(3);
    out.push_back(std::move(e));
  }
  return out;
}

Status ClientStore::MarkAckedThrough(std::uint64_t through) {
  const std::int64_t bound =
      through > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<std::int64_t>(through);
  CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare("UPDATE outbox SET acked = 1 WHERE seq <= ? AND acked = 0"));
  st.Bind(1, bound);
  return st.Run();
}

Result<std::pair<std::string, std::uint64_t>> ClientStore::PullCursor() {
  CS_ASSIGN_OR_RETURN(auto store_id, MetaGet(*db_, "pull_store_id"));
  CS_ASSIGN_OR_RETURN(std::uint64_t cursor, MetaGetU64(*db_, "pull_cursor", 0));
  return std::make_pair(store_id.value_or(""), cursor);
}

Status ClientStore::ApplyPulled(const std::vector<PulledField>& fields, const std::string& store_id,
                                std::uint64_t cursor) {
  Transaction tx(*db_);
  MNR_RETURN_IF_ERROR(tx.status());
  CS_ASSIGN_OR_RETURN(HybridClock clock, LoadClock(*db_));

  // Fields with local edits the server has not acknowledged keep their local value: the server will
  // merge those edits, and a later pull brings the merged result.
  std::set<std::string, std::less<>> pending;
  {
    CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare(
        "SELECT DISTINCT field FROM change_log WHERE origin = 'local' AND "
        "seq > (SELECT COALESCE(MAX(last_log_seq), 0) FROM outbox WHERE acked = 1)"));
    for (;;) {
      CS_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      pending.insert(st.Text(0));
    }
  }

  for (const PulledField& f : fields) {
    clock.Observe(f.hlc);
    if (pending.count(f.field)) continue;
    auto key = ParseField(f.field);
    if (!key.ok()) return Status::Corruption("pulled " + key.status().message());
    CS_ASSIGN_OR_RETURN(std::string current_version, FieldVersion(*db_, f.field));
    if (current_version == f.version) continue;

    std::optional<std::string> old_value;
    if (key->kind == FieldKey::Kind::kAnswer) {
      std::optional<AnswerValue> value;
      if (f.value) {
        auto decoded = DecodeAnswer(*f.value);
        if (!decoded.ok()) return Status::Corruption("pulled field " + f.field + ": " + decoded.status().message());
        value = std::move(decoded).value();
      }
      CS_ASSIGN_OR_RETURN(old_value, CurrentAnswer(*db_, key->country, key->indicator, key->round));
      MNR_RETURN_IF_ERROR(WriteAnswer(*db_, key->country, key->indicator, key->round, value));
    } else if (key->kind == FieldKey::Kind::kPractice) {
      CS_ASSIGN_OR_RETURN(old_value, PracticeAttrValue(*db_, key->practice_id, key->attr));
      MNR_RETURN_IF_ERROR(WritePracticeAttr(*db_, key->practice_id, key->country, key->attr, f.value));
    }
    const std::size_t at = f.version.find('@');
    const std::string author = at == std::string::npos ? f.version : f.version.substr(at + 1);
    if (key->kind == FieldKey::Kind::kReview || key->kind == FieldKey::Kind::kQuery ||
        key->kind == FieldKey::Kind::kAttachment) {
      CS_ASSIGN_OR_RETURN(old_value, RecordValue(*db_, f.field));
      MNR_RETURN_IF_ERROR(WriteRecordRow(*db_, f.field, key->country, f.value, f.hlc, author));
    }
    MNR_RETURN_IF_ERROR(SetFieldVersion(*db_, f.field, f.version));
    // Another device wrote what this store already had: the version moves, the history gains nothing.
    if (old_value == f.value) continue;
    MNR_RETURN_IF_ERROR(AppendChange(*db_, f.hlc, author, f.field, old_value, f.value, "server", current_version));
  }
  MNR_RETURN_IF_ERROR(MetaSet(*db_, "pull_store_id", store_id));
  MNR_RETURN_IF_ERROR(MetaSet(*db_, "pull_cursor", std::to_string(cursor)));
  MNR_RETURN_IF_ERROR(SaveClock(*db_, clock));
  return tx.Commit();
}

Result<std::optional<std::string>> ClientStore::KeptTlsSession(const std::string& server) {
  CS_ASSIGN_OR_RETURN(auto kept, MetaGet(*db_, kTlsSessionKey));
  const auto& cred = identity_.credential;
  if (!kept || !cred) return std::optional<std::string>();
  const auto record = nlohmann::json::parse(*kept, nullptr, false);
  // Anything unexpected is only a session not offered: the handshake is then a full one.
  if (!record.is_object() || record.value("credential", "") != cred->id || record.value("server", "") != server) {
    return std::optional<std::string>();
  }
  auto session = crypto::Base64Decode(record.value("session", ""));
  if (!session.ok() || session->empty()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(session).value());
}

Status ClientStore::KeepTlsSession(const std::string& server, const std::string& session) {
  const auto& cred = identity_.credential;
  if (session.empty() || !cred) return MetaDelete(*db_, kTlsSessionKey);
  const nlohmann::json record = {{"credential", cred->id}, {"server", server}, {"session", crypto::Base64Encode(session)}};
  return MetaSet(*db_, kTlsSessionKey, record.dump());
}

Status ClientStore::RecordSync(const std::string& result_sentence) {
  const std::int64_t now = UnixNow();
  Transaction tx(*db_);
  MNR_RETURN_IF_ERROR(tx.status());
  MNR_RETURN_IF_ERROR(MetaSet(*db_, "last_sync_at", std::to_string(now)));
  MNR_RETURN_IF_ERROR(MetaSet(*db_, "last_sync_result", result_sentence));
  CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare("INSERT INTO sync_history (at, result) VALUES (?, ?)"));
  st.Bind(1, now).Bind(2, result_sentence);
  MNR_RETURN_IF_ERROR(st.Run());
  return tx.Commit();
}

namespace {

constexpr std::uint64_t kDefaultAttachmentLimit = 20ull << 20;
constexpr const char* kAttachmentRows =
    "SELECT r.field, r.country, r.value, r.author, COALESCE(b.whole, 0), COALESCE(b.uploaded, 0), COALESCE(b.refusal, ''), "
    "COALESCE(b.file_name, '') FROM records r LEFT JOIN blobs b ON b.hash = substr(r.field, -64) "
    "WHERE r.field >= 'attachment/' AND r.field < 'attachment0' AND r.value IS NOT NULL ";

// Bytes of `hash` held from the start, chunk after chunk.
Result<std::uint64_t> HeldBytes(Db& db, const std::string& hash, std::uint64_t size) {
  CS_ASSIGN_OR_RETURN(Statement st, db.Prepare("SELECT offset, length(data) FROM blob_chunks WHERE hash = ? ORDER BY offset"));
  st.Bind(1, hash);
  std::uint64_t held = 0;
  for (;;) {
    CS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row || static_cast<std::uint64_t>(st.Int(0)) != held) break;
    held += static_cast<std::uint64_t>(st.Int(1));
  }
  return std::min(held, size);
}

Result<AttachmentRow> ReadAttachmentRow(Db& db, Statement& st) {
  AttachmentRow a;
  a.field = st.Text(0);
  a.country = st.Text(1);
  auto key = ParseField(a.field);
  if (!key.ok()) return Status::Corruption("stored " + key.status().message());
  a.target = key->target;
  a.target_id = key->target == "practice" ? key->practice_id : key->indicator;
  a.hash = key->hash;
  auto value = DecodeAttachment(st.Text(2));
  if (!value.ok()) return value.status().With("stored field " + a.field);
  a.value = std::move(value).value();
  a.author = st.Text(3);
  a.uploaded = st.Int(5) != 0;
  a.refusal = st.Text(6);
  a.file_name = st.Text(7);
  if (st.Int(4) != 0) {
    a.held = a.value.size;
  } else {
    CS_ASSIGN_OR_RETURN(a.held, HeldBytes(db, a.hash, a.value.size));
  }
  return a;
}

Status WriteChunkRow(Db& db, const std::string& hash, std::uint64_t offset, std::string_view bytes) {
  CS_ASSIGN_OR_RETURN(Statement st, db.Prepare("INSERT OR REPLACE INTO blob_chunks (hash, offset, data) VALUES (?, ?, ?)"));
  st.Bind(1, hash).Bind(2, static_cast<std::int64_t>(offset)).BindBlob(3, bytes);
  return st.Run();
}

}  // namespace

Status ClientStore::SetAttachmentLimit(std::uint64_t bytes) {
  CS_ASSIGN_OR_RETURN(std::uint64_t known, MetaGetU64(*db_, "attachment_limit", 0));
  if (known == bytes) return Status::OK();
  return MetaSet(*db_, "attachment_limit", std::to_string(bytes));
}

Result<std::uint64_t> ClientStore::AttachmentLimit() { return MetaGetU64(*db_, "attachment_limit", kDefaultAttachmentLimit); }

Result<AttachmentRow> ClientStore::Attach(const std::string& country, const std::string& target, const std::string& target_id,
                                          std::string_view bytes, const std::string& file_name, const std::string& title) {
  MNR_RETURN_IF_ERROR(CheckWritable(country));
  if (target == "indicator") {
    if (schema_->FindIndicator(target_id) == nullptr) {
      return Status::NotFound("no indicator '" + target_id.substr(0, 80) + "' in the survey (`mnr-client indicators` lists them)");
    }
  } else if (target == "practice") {
    CS_ASSIGN_OR_RETURN(auto entry, FindPractice(target_id));
    if (!entry || entry->country != country) {
      return Status::NotFound("no practice entry " + target_id.substr(0, 40) + " of " + country + " (see mnr-client practice list)");
    }
  } else {
    return Status::InvalidArgument("an attachment belongs to an indicator or a practice entry");
  }
  if (bytes.empty()) return Status::InvalidArgument(file_name + " is empty");
  CS_ASSIGN_OR_RETURN(std::uint64_t limit, AttachmentLimit());
  if (bytes.size() > limit) {
    return Status::InvalidArgument(file_name + " is " + std::to_string(bytes.size() >> 20) + " MiB; the server takes attachments of at most " +
                                   std::to_string(limit >> 20) + " MiB");
  }
  CS_ASSIGN_OR_RETURN(MediaType type, SniffMediaType(bytes, file_name));
  const std::string shown = title.empty() ? std::filesystem::path(file_name).filename().string() : title;
  MNR_RETURN_IF_ERROR(CheckText(shown, "attachment title", limits::kAttachmentTitleBytes));
  if (shown.empty() || shown.find_first_of("\r\n") != std::string::npos) {
    return Status::InvalidArgument("an attachment title is one line, not empty");
  }
  const std::string hash = crypto::Sha256Hex(bytes);
  const std::string field = AttachmentField(country, target, target_id, hash);
  const std::string value = EncodeAttachment({bytes.size(), type.mime, shown});

  Transaction tx(*db_);
  MNR_RETURN_IF_ERROR(tx.status());
  CS_ASSIGN_OR_RETURN(Statement whole, db_->Prepare("SELECT whole FROM blobs WHERE hash = ?"));
  whole.Bind(1, hash);
  CS_ASSIGN_OR_RETURN(bool known, whole.Step());
  if (!known || whole.Int(0) == 0) {
    CS_ASSIGN_OR_RETURN(Statement drop, db_->Prepare("DELETE FROM blob_chunks WHERE hash = ?"));
    drop.Bind(1, hash);
    MNR_RETURN_IF_ERROR(drop.Run());
    CS_ASSIGN_OR_RETURN(Statement ins, db_->Prepare(
        "INSERT INTO blobs (hash, size, media_type, file_name, whole) VALUES (?, ?, ?, ?, 1) "
        "ON CONFLICT (hash) DO UPDATE SET whole = 1, file_name = excluded.file_name"));
    ins.Bind(1, hash).Bind(2, static_cast<std::int64_t>(bytes.size())).Bind(3, type.mime).Bind(4, std::filesystem::path(file_name).filename().string());
    MNR_RETURN_IF_ERROR(ins.Run());
    for (std::uint64_t offset = 0; offset < bytes.size(); offset += limits::kBlobChunkBytes) {
      MNR_RETURN_IF_ERROR(WriteChunkRow(*db_, hash, offset, bytes.substr(offset, limits::kBlobChunkBytes)));
    }
  }
  CS_ASSIGN_OR_RETURN(HybridClock clock, LoadClock(*db_));
  CS_ASSIGN_OR_RETURN(auto old_value, RecordValue(*db_, field));
  if (old_value != value) {
    MNR_RETURN_IF_ERROR(AppendLocal(*db_, identity_.device_id, clock, field, old_value, value));
    MNR_RETURN_IF_ERROR(WriteRecordRow(*db_, field, country, value, clock.last(), identity_.device_id));
    MNR_RETURN_IF_ERROR(SaveClock(*db_, clock));
  }
  MNR_RETURN_IF_ERROR(tx.Commit());
  return FindAttachment(field);
}

Status ClientStore::RemoveAttachment(const std::string& ref) {
  CS_ASSIGN_OR_RETURN(AttachmentRow a, FindAttachment(ref));
  MNR_RETURN_IF_ERROR(CheckWritable(a.country));
  Transaction tx(*db_);
  MNR_RETURN_IF_ERROR(tx.status());
  CS_ASSIGN_OR_RETURN(HybridClock clock, LoadClock(*db_));
  CS_ASSIGN_OR_RETURN(auto old_value, RecordValue(*db_, a.field));
  MNR_RETURN_IF_ERROR(AppendLocal(*db_, identity_.device_id, clock, a.field, old_value, std::nullopt));
  MNR_RETURN_IF_ERROR(WriteRecordRow(*db_, a.field, a.country, std::nullopt, clock.last(), identity_.device_id));
  MNR_RETURN_IF_ERROR(SaveClock(*db_, clock));
  return tx.Commit();
}

Result<std::vector<AttachmentRow>> ClientStore::Attachments(const std::optional<std::string>& country) {
  CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare(std::string(kAttachmentRows) + (country ? "AND r.country = ? " : "") + "ORDER BY r.field"));
  if (country) st.Bind(1, *country);
  std::vector<AttachmentRow> out;
  for (;;) {
    CS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    CS_ASSIGN_OR_RETURN(AttachmentRow a, ReadAttachmentRow(*db_, st));
    out.push_back(std::move(a));
  }
  return out;
}

Result<AttachmentRow> ClientStore::FindAttachment(const std::string& ref) {
  const bool by_field = ref.rfind("attachment/", 0) == 0;
  if (!by_field && (ref.size() < 8 || ref.size() > 64 ||
                    ref.find_first_not_of("0123456789abcdef") != std::string::npos)) {
    return Status::InvalidArgument("\"" + ref.substr(0, 80) + "\" names no attachment: give at least 8 hex digits of its hash, "
                                   "or its field (`mnr-client attachments list`)");
  }
  CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare(std::string(kAttachmentRows) +
                                                 (by_field ? "AND r.field = ?" : "AND substr(r.field, -64, ?) = ?") + " ORDER BY r.field"));
  if (by_field) {
    st.Bind(1, ref);
  } else {
    st.Bind(1, static_cast<std::int64_t>(ref.size())).Bind(2, ref);
  }
  std::vector<AttachmentRow> found;
  for (;;) {
    CS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    CS_ASSIGN_OR_RETURN(AttachmentRow a, ReadAttachmentRow(*db_, st));
    found.push_back(std::move(a));
  }
  if (found.empty()) return Status::NotFound("no attachment " + ref.substr(0, 80) + " in this store (`mnr-client attachments list`)");
  if (found.size() > 1) {
    std::string fields;
    for (const auto& a : found) fields += "\n  " + a.field;
    return Status::InvalidArgument("file " + ref + " is attached at " + std::to_string(found.size()) + " places; name one:" + fields);
  }
  return found.front();
}

Result<std::string> ClientStore::ReadAttachmentFile(const std::string& hash) {
  CS_ASSIGN_OR_RETURN(Statement meta, db_->Prepare("SELECT size, whole FROM blobs WHERE hash = ?"));
  meta.Bind(1, hash);
  CS_ASSIGN_OR_RETURN(bool row, meta.Step());
  if (!row || meta.Int(1) == 0) {
    return Status::NotFound("the file " + hash.substr(0, 12) + "… is not in this store yet; `mnr-client sync --with-attachments` brings it");
  }
  const auto size = static_cast<std::uint64_t>(meta.Int(0));
  CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare("SELECT data FROM blob_chunks WHERE hash = ? ORDER BY offset"));
  st.Bind(1, hash);
  std::string bytes;
  bytes.reserve(size);
  for (;;) {
    CS_ASSIGN_OR_RETURN(bool more, st.Step());
    if (!more) break;
    bytes += st.Blob(0);
  }
  if (bytes.size() != size || crypto::Sha256Hex(bytes) != hash) {
    return Status::Corruption("the stored file " + hash.substr(0, 12) + "… no longer matches its hash");
  }
  return bytes;
}

Result<std::string> ClientStore::FileChunk(const std::string& hash, std::uint64_t offset) {
  CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare("SELECT data FROM blob_chunks WHERE hash = ? AND offset = ?"));
  st.Bind(1, hash).Bind(2, static_cast<std::int64_t>(offset));
  CS_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound("no chunk at byte " + std::to_string(offset) + " of file " + hash.substr(0, 12) + "…");
  return st.Blob(0);
}

Result<std::uint64_t> ClientStore::StoreFileChunk(const std::string& hash, std::uint64_t size, const std::string& media_type,
                                                  std::uint64_t offset, std::string_view bytes) {
  BlobChunk shape{hash, size, offset, std::string(bytes), "-", "-", {}};
  MNR_RETURN_IF_ERROR(CheckBlobChunkShape(shape));
  Transaction tx(*db_);
  MNR_RETURN_IF_ERROR(tx.status());
  CS_ASSIGN_OR_RETURN(Statement meta, db_->Prepare(
      "INSERT INTO blobs (hash, size, media_type, whole, uploaded) VALUES (?, ?, ?, 0, 1) ON CONFLICT (hash) DO NOTHING"));
  meta.Bind(1, hash).Bind(2, static_cast<std::int64_t>(size)).Bind(3, media_type);
  MNR_RETURN_IF_ERROR(meta.Run());
  CS_ASSIGN_OR_RETURN(Statement whole, db_->Prepare("SELECT whole, size FROM blobs WHERE hash = ?"));
  whole.Bind(1, hash);
  CS_ASSIGN_OR_RETURN(bool row, whole.Step());
  if (row && whole.Int(0) != 0) return size;  // attached or pulled before
  if (row && static_cast<std::uint64_t>(whole.Int(1)) != size) {
    return Status::Corruption("file " + hash.substr(0, 12) + "… arrives as " + std::to_string(size) + " bytes, but this store expects " +
                              std::to_string(whole.Int(1)));
  }
  MNR_RETURN_IF_ERROR(WriteChunkRow(*db_, hash, offset, bytes));
  CS_ASSIGN_OR_RETURN(std::uint64_t held, HeldBytes(*db_, hash, size));
  if (held == size) {
    CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare("SELECT data FROM blob_chunks WHERE hash = ? ORDER BY offset"));
    st.Bind(1, hash);
    crypto::Sha256Stream digest;
    for (;;) {
      CS_ASSIGN_OR_RETURN(bool more, st.Step());
      if (!more) break;
      digest.Update(st.Blob(0));
    }
    if (digest.FinishHex() != hash) {
      CS_ASSIGN_OR_RETURN(Statement drop, db_->Prepare("DELETE FROM blob_chunks WHERE hash = ?"));
      drop.Bind(1, hash);
      MNR_RETURN_IF_ERROR(drop.Run());
      MNR_RETURN_IF_ERROR(tx.Commit());
      return Status::Corruption("the file " + hash.substr(0, 12) + "… received does not hash to its name; it was dropped");
    }
    CS_ASSIGN_OR_RETURN(Statement mark, db_->Prepare("UPDATE blobs SET whole = 1, uploaded = 1 WHERE hash = ?"));
    mark.Bind(1, hash);
    MNR_RETURN_IF_ERROR(mark.Run());
  }
  MNR_RETURN_IF_ERROR(tx.Commit());
  return held;
}

Status ClientStore::NoteFileOnServer(const std::string& hash, bool uploaded, const std::string& refusal) {
  CS_ASSIGN_OR_RETURN(Statement st, db_->Prepare("UPDATE blobs SET uploaded = ?, refusal = ? WHERE hash = ?"));
  st.Bind(1, std::int64_t{uploaded ? 1 : 0}).Bind(2, refusal).Bind(3, hash);
  return st.Run();
}

}  // namespace mnr::client
