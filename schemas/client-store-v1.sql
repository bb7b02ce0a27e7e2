-- mnr-client store, schema version 1 (PRAGMA user_version). Applied in one transaction to a new,
-- empty file; later versions are forward migrations (client-store-v2.sql, ...), never edits of this
-- file, because stores created by released binaries start from exactly this text.

-- Identity and bookkeeping: device_id, device_name, countries (comma list), credential (JSON; secret,
-- which is why the file is created with mode 0600), hlc, next_changeset_seq, pull_store_id,
-- pull_cursor, last_sync_at, last_sync_result, and free keys for the user interface.
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- The country register (reference data; not synced as edits).
CREATE TABLE countries (
  code         TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  income_group TEXT NOT NULL CHECK (income_group IN ('high', 'upper_middle', 'lower_middle', 'low')),
  region       TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

-- Current survey answers; no row = not answered.
CREATE TABLE answers (
  country   TEXT NOT NULL,
  indicator TEXT NOT NULL,
  answer    TEXT NOT NULL CHECK (answer IN ('yes', 'partial', 'no', 'unknown')),
  note      TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (country, indicator)
) WITHOUT ROWID;

-- Good-practice entries. Each attribute is its own synced field; a removal is a tombstone (deleted = 1).
-- Attributes pulled from the server may arrive before the others, hence the defaults.
CREATE TABLE practices (
  id         TEXT PRIMARY KEY,
  country    TEXT NOT NULL,
  capability INTEGER NOT NULL DEFAULT 0,
  kind       TEXT NOT NULL DEFAULT '',
  title      TEXT NOT NULL DEFAULT '',
  text       TEXT NOT NULL DEFAULT '',
  lang       TEXT NOT NULL DEFAULT '',
  deleted    INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX practices_country ON practices (country, capability);

-- The version (OperationVersion) of the edit that produced each field's current local value, local or
-- pulled: the parent of the next local edit of that field.
CREATE TABLE field_versions (
  field   TEXT PRIMARY KEY,
  version TEXT NOT NULL
) WITHOUT ROWID;

-- Every edit, local or pulled, in the order it was applied. Append-only: the triggers below make any
-- UPDATE or DELETE fail, so history cannot be rewritten by a bug or a hand-run statement.
CREATE TABLE change_log (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  hlc        INTEGER NOT NULL,
  author     TEXT NOT NULL,
  field      TEXT NOT NULL,
  old_value  TEXT,
  new_value  TEXT,
  origin     TEXT NOT NULL CHECK (origin IN ('local', 'server')),
  parents    TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
);
CREATE TRIGGER change_log_no_update BEFORE UPDATE ON change_log
BEGIN
  SELECT RAISE(ABORT, 'change_log is append-only');
END;
CREATE TRIGGER change_log_no_delete BEFORE DELETE ON change_log
BEGIN
  SELECT RAISE(ABORT, 'change_log is append-only');
END;

-- Sealed change-sets cut from the local change log, waiting for (or acknowledged by) the server.
-- Local change-log rows with seq > max(last_log_seq) are the unsynced edits.
CREATE TABLE outbox (
  seq           INTEGER PRIMARY KEY,
  id            TEXT NOT NULL UNIQUE,
  sealed        BLOB NOT NULL,
  first_log_seq INTEGER NOT NULL,
  last_log_seq  INTEGER NOT NULL,
  ops           INTEGER NOT NULL,
  created_at    INTEGER NOT NULL,
  acked         INTEGER NOT NULL DEFAULT 0
);

PRAGMA user_version = 1;
