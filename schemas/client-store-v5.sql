-- mnr-client store, migration 4 -> 5: the review loop (submission, coordinator queries and replies)
-- and the conflicts the server reports on this office's countries.
-- Applied inside one transaction; never edit once released.

-- Review and query fields (shared/include/mnr/field.h: review/<C>/<ATTR>, query/<C>/<QID>/<ATTR>):
-- the current value of each, local or pulled, with the version and author of the edit that set it.
-- Their versions also live in field_versions, like every other field.
CREATE TABLE records (
  field   TEXT PRIMARY KEY,
  country TEXT NOT NULL,
  value   TEXT,
  hlc     INTEGER NOT NULL,
  author  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX records_country ON records (country, field);

-- Conflicts on this office's countries as the server last reported them (sync or return bundle):
-- `body` is the server's JSON view (server/remote_ops.h ConflictToJson). `reported_status` is the
-- status `sync` last told the user about, so each change is said once.
CREATE TABLE conflicts (
  id              INTEGER PRIMARY KEY,
  field           TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
  body            TEXT NOT NULL,
  updated_at      INTEGER NOT NULL,
  reported_status TEXT NOT NULL DEFAULT ''
);
CREATE INDEX conflicts_field ON conflicts (field);
PRAGMA user_version = 5;
