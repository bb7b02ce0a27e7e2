-- mnr-client store: migration from schema version 1 to 2, applied in one transaction with the
-- version bump, so a store is either wholly v1 or wholly v2.

-- Per-field history (mnr-client log --indicator, and the pull's "does this field have unacknowledged
-- local edits" check) without scanning the whole change log.
CREATE INDEX change_log_field ON change_log (field, seq);

-- One row per sync attempt that reached a result, so a field office can see when it last got
-- through and what happened before (meta keeps only the latest).
CREATE TABLE sync_history (
  id     INTEGER PRIMARY KEY AUTOINCREMENT,
  at     INTEGER NOT NULL,
  result TEXT NOT NULL
);

PRAGMA user_version = 2;
