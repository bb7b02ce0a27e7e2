// ClientStore: the field office's local SQLite store (WAL). It holds the country register, survey
// answers, good-practice entries, an append-only change log of every edit, and the outbox of sealed
// change-sets waiting for the server. Every edit is one transaction that updates the current value
// and appends to the change log, so a crash at any point leaves either the whole edit or none of it.
// One ClientStore per process; not thread-safe. Several processes may open the same file (SQLite
// locking with a busy timeout serializes them).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/attachment.h"
#include "mnr/changeset.h"
#include "mnr/credential.h"
#include "mnr/field.h"
#include "mnr/messages.h"
#include "mnr/review.h"
#include "mnr/sqlite.h"
#include "mnr/status.h"
#include "mnr/survey_schema.h"

namespace mnr::client {

struct Country {
  std::string code;
  std::string name;
  std::string income_group;  // high|upper_middle|lower_middle|low
  std::string region;
};

struct Identity {
  std::string device_id;                 // random, fixed at init; names this store's edits
  std::string device_name;
  std::vector<std::string> countries;    // the countries this store may write
  std::optional<Credential> credential;  // bound by init --credentials; needed to sync or bundle
};

struct AnswerRow {
  std::string country;
  std::string indicator;
  AnswerValue value;
  std::string version;  // OperationVersion of the edit that set it
};

// An answer carried forward from an earlier round (`round start --carry-forward`), not yet confirmed.
struct CarriedAnswer {
  std::string country;
  std::string indicator;
  AnswerValue value;
  std::string from_round;
};

struct RoundSummary {
  std::string round;
  std::int64_t answers = 0;  // recorded answers of the store's countries in that round
  std::int64_t carried = 0;  // carried answers waiting for confirmation
  bool current = false;      // the round the store works on
};

// An answer edit as given by a user (CLI, CSV row, questionnaire); nullopt value = clear.
struct AnswerEdit {
  std::string country;
  std::string indicator;
  std::optional<AnswerValue> value;
};

struct PracticeEntry {
  std::string id;  // random hex, fixed at creation
  std::string country;
  int capability = 0;
  std::string kind;   // good_practice|challenge|lesson_learned
  std::string title;
  std::string text;
  std::string lang;   // BCP 47 primary tag: en, fr, es, ar, ...
};

// An attachment: a live attachment field (mnr/attachment.h) and what this store knows of its file.
struct AttachmentRow {
  std::string field;
  std::string country;
  std::string target;     // "indicator" or "practice"
  std::string target_id;  // the indicator id or the practice entry id
  std::string hash;
  AttachmentValue value;
  std::string author;       // the device (or coordinator) whose edit set it
  std::uint64_t held = 0;   // bytes of the file this store holds (value.size: whole)
  bool uploaded = false;    // the server said it holds the file whole
  std::string refusal;      // the server's last reason for refusing the file, if it did
  std::string file_name;    // the name it was attached from, on the device that attached it
};

struct LogEntry {
  std::int64_t seq = 0;
  HlcTime hlc = 0;
  std::string author;  // device id, or another device's / a coordinator's for pulled changes
  std::string field;
  std::optional<std::string> old_value;
  std::optional<std::string> new_value;
  std::string origin;  // "local" | "server"
};

struct SyncState {
  std::int64_t unsynced_edits = 0;     // local change-log rows not yet cut into a change-set
  std::int64_t outbox_unacked = 0;     // sealed change-sets the server has not acknowledged
  std::optional<std::int64_t> last_sync_at;  // Unix seconds of the last completed sync
  std::string last_sync_result;        // human sentence
};

struct OutboxEntry {
  std::uint64_t seq = 0;
  std::string id;      // change-set id (content address)
  std::string sealed;  // envelope.h
  std::int64_t ops = 0;
};

class ClientStore {
 public:
  // Creates a new store at `path` (refuses an existing file). `countries` is the write scope; with a
  // credential, the scope is the credential's.
  static Result<std::unique_ptr<ClientStore>> Create(const std::string& path,
                                                     const std::vector<std::string>& countries,
                                                     const std::string& device_name,
                                                     const std::optional<Credential>& credential);
  // Opens an existing store, migrating its schema forward if it is older (never backward).
  static Result<std::unique_ptr<ClientStore>> Open(const std::string& path);

  const Identity& identity() const { return identity_; }
  const SurveySchema& schema() const { return *schema_; }
  Db& db() { return *db_; }

  // OK if this store may write `country`: a valid code inside the scope (an auditor may write none; a
  // coordinator credential without countries may write all). The error names the scope.
  Status CheckWritable(std::string_view country) const;
  // Every check ApplyAnswers makes on one edit (scope, indicator in the schema, note size and UTF-8),
  // without writing; lets an importer report each bad row before applying any.
  Status CheckAnswerEdit(const AnswerEdit& e) const;

  // Binds the store to a credential (a store created with --country, or a rebind); its scope must
  // cover the store's countries. While the store holds unsynced edits (State()), a store already
  // bound takes only its own credential or the one that renews it (Credential::renews): anything else
  // is Refused with what to do, since the server would refuse those edits from it for ever.
  Status BindCredential(const Credential& c);

  // Replaces or adds register rows (whole file in one transaction; validated first).
  Status ImportCountries(const std::vector<Country>& rows);
  Result<std::vector<Country>> Countries();

  // Survey rounds. Every answer read or written belongs to the store's round: the one it works on
  // (meta "round"; the first round for a store made before rounds, the schema's current round for a
  // new one), unless UseRound chose another for this process (`--round` on a command).
  const std::string& round() const { return round_; }
  // OK if `round` is the first round or one the schema lists.
  Status CheckRound(std::string_view round) const;
  Status UseRound(std::string_view round);
  // Moves the store on to `round`, later than the one it works on, in one transaction. With
  // `carry_forward`, each answer of the former round becomes a carried answer of the new one where
  // that has none: a prefill that is not an edit (never sent) until someone confirms it by recording
  // an answer (the same or another). Returns how many were carried.
  Result<int> StartRound(std::string_view round, bool carry_forward);
  // The carried answers of the store's round not confirmed yet, by country and indicator.
  Result<std::vector<CarriedAnswer>> CarriedAnswers(const std::optional<std::string>& country = std::nullopt);
  Result<bool> IsCarried(const std::string& country, const std::string& indicator);
  // Every round of the schema (the first round alone if it lists none), oldest first.
  Result<std::vector<RoundSummary>> Rounds();

  // Validates every edit (country in scope, indicator in schema, note size and UTF-8) before writing
  // any; then applies all in one transaction. An edit equal to the current value writes nothing.
  // Returns the number of fields that changed.
  Result<int> ApplyAnswers(const std::vector<AnswerEdit>& edits);
  // Like ApplyAnswers, but an edit equal to the current value is recorded too, as a new version with
  // the same value: a person answering again asserts the answer now, and that assertion must win
  // over older concurrent edits made on other devices (mnr-client answer). Returns the edits recorded.
  Result<int> ReaffirmAnswers(const std::vector<AnswerEdit>& edits);
  // The recorded answers of the store's round (carried answers are not among them).
  Result<std::vector<AnswerRow>> Answers(const std::optional<std::string>& country = std::nullopt);

  // Good-practice entries; each attribute is its own field, a removal is a tombstone.
  Result<std::string> AddPractice(const PracticeEntry& e);  // returns the new id
  Status EditPractice(const std::string& id, const std::map<std::string, std::string>& attrs);
  Status RemovePractice(const std::string& id);
  Result<std::vector<PracticeEntry>> Practices(const std::optional<std::string>& country = std::nullopt);
  Result<std::optional<PracticeEntry>> FindPractice(const std::string& id);

  // The review loop (mnr/review.h). Submit records "submitted" for `country` as a new version even
  // if it was submitted before (handing in again is an assertion in time, like answering again);
  // it travels in the next change-set. Reply answers a coordinator's query this store has pulled
  // (NotFound otherwise). Both check the scope like an answer does.
  Status Submit(const std::string& country);
  Status Reply(const std::string& query_id, const std::string& text);
  // The review of every country this store holds fields of, derived from its current fields the
  // same way the server derives it.
  Result<ReviewBook> Reviews();
  // The indicators of `country` without an answer, in questionnaire order.
  Result<std::vector<std::string>> Unanswered(const std::string& country);

  // Attachments. Attach checks the scope, the target (an indicator of the schema, or a practice entry
  // of the same country) and the file (SniffMediaType; at most the server's limit as last heard, 20
  // MiB before any sync), then stores its bytes and records the attachment field in one transaction.
  // Attaching a file already attached there only changes the title (or nothing). `target` is
  // "indicator" or "practice".
  Result<AttachmentRow> Attach(const std::string& country, const std::string& target, const std::string& target_id,
                               std::string_view bytes, const std::string& file_name, const std::string& title);
  // Removes the attachment `ref` names (FindAttachment): a tombstone, merged like any removal. The file
  // stays in the store while another live attachment names it.
  Status RemoveAttachment(const std::string& ref);
  // The live attachments, of one country or all, by country, target and title.
  Result<std::vector<AttachmentRow>> Attachments(const std::optional<std::string>& country = std::nullopt);
  // The attachment `ref` names: its field key, or a prefix of at least 8 hex digits of its file's hash
  // (an error if the prefix names files attached at several places: give the field).
  Result<AttachmentRow> FindAttachment(const std::string& ref);
  // The whole file, checked against its hash; NotFound while it is not whole here.
  Result<std::string> ReadAttachmentFile(const std::string& hash);
  // Bytes of the chunk at `offset` of a file held whole.
  Result<std::string> FileChunk(const std::string& hash, std::uint64_t offset);
  // Keeps one chunk of a file pulled from the server (`size`, `media_type`: from its attachment
  // field); the file is marked whole once every chunk is there and its bytes hash to its name (if they
  // do not, its chunks are dropped and Corruption returned). Returns the bytes held from the start.
  Result<std::uint64_t> StoreFileChunk(const std::string& hash, std::uint64_t size, const std::string& media_type,
                                       std::uint64_t offset, std::string_view bytes);
  // What the server said of a file: it holds it whole (`refusal` empty), or why it will not take it.
  Status NoteFileOnServer(const std::string& hash, bool uploaded, const std::string& refusal);
  // The largest attachment the server takes, as its last Welcome said (20 MiB before any sync).
  Status SetAttachmentLimit(std::uint64_t bytes);
  Result<std::uint64_t> AttachmentLimit();

  // Change log, newest first; `field_prefix` filters ("answer/Q01/c11_child_helpline"); limit 0 = all.
  Result<std::vector<LogEntry>> Log(const std::optional<std::string>& field_prefix, std::size_t limit);
  Result<SyncState> State();

  // A small key/value area for resumable UI state (questionnaire position) and sync bookkeeping.
  Result<std::optional<std::string>> GetMeta(const std::string& key);
  Status SetMeta(const std::string& key, const std::string& value);

  // --- sync (client/sync_client.cc, bundle) ---
  // Cuts every unsynced local edit into change-sets of at most limits::kOpsPerChangeSet operations,
  // signs and seals each with the bound credential, and appends them to the outbox, all in one
  // transaction. Returns how many were cut. Requires a credential.
  Result<int> CutChangeSets();
  Result<std::vector<OutboxEntry>> Outbox(bool unacked_only);
  // The server holds every change-set with seq <= `through`.
  Status MarkAckedThrough(std::uint64_t through);
  // Pull bookkeeping: the server store id and cursor last applied.
  Result<std::pair<std::string, std::uint64_t>> PullCursor();
  // Applies one chunk of the server's merged state and moves the cursor, in one transaction. A field
  // with a local edit not yet acknowledged keeps the local value (it will be merged on the server).
  // Pulled changes are appended to the change log with origin "server".
  Status ApplyPulled(const std::vector<PulledField>& fields, const std::string& store_id,
                     std::uint64_t cursor);
  Status RecordSync(const std::string& result_sentence);
  // TLS session resumption (docs/protocol.md, "Session resumption"): the session the last connection
  // to `server` (HOST:PORT) under the bound credential gave, for the next connection to offer; none if
  // the one kept was made under another credential or with another server. A secret like the
  // credential's key: it stays in the store (reserved meta key "tls_session"), never in a log.
  Result<std::optional<std::string>> KeptTlsSession(const std::string& server);
  // Keeps `session` (Connection::KeptSession) for the next connection to `server`, replacing the one
  // kept; "" drops it. Binding a credential drops it too.
  Status KeepTlsSession(const std::string& server, const std::string& session);

 private:
  ClientStore() = default;
  Status CheckPracticeAttr(const std::string& attr, const std::string& value) const;
  Result<int> WriteAnswers(const std::vector<AnswerEdit>& edits, bool record_unchanged);
  Status WriteRecord(const std::string& field, const std::string& country, const std::string& value);
  std::unique_ptr<Db> db_;
  Identity identity_;
  const SurveySchema* schema_ = nullptr;
  std::string round_ = std::string(kFirstRound);
};

}  // namespace mnr::client
