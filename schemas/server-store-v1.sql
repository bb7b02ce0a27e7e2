-- The reconciliation server's store, version 1 (PRAGMA user_version = 1). Embedded into mnr-server and
-- run once by `mnr-server init`. Later versions migrate forward from this one; never edit it in place.

-- store_id, server_address, sealing_public_key (base64), hlc (the server's hybrid clock), state_seq
-- (the last number given to a change of the merged state; pull cursors count in it).
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE countries (
  code TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  income_group TEXT NOT NULL CHECK (income_group IN ('high', 'upper_middle', 'lower_middle', 'low')),
  region TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE credentials (
  id TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('field', 'coordinator', 'auditor')),
  name TEXT NOT NULL,
  countries TEXT NOT NULL,             -- comma-separated country codes
  certificate_pem TEXT NOT NULL,
  fingerprint TEXT NOT NULL UNIQUE,    -- SHA-256 of the certificate's DER, hex
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
) WITHOUT ROWID;

-- A device id belongs to the first credential that signed a change-set for it.
CREATE TABLE devices (
  device_id TEXT PRIMARY KEY,
  credential_id TEXT NOT NULL REFERENCES credentials (id)
) WITHOUT ROWID;

-- Every accepted change-set exactly as received (canonical body and its signature), for audit.
CREATE TABLE changesets (
  id TEXT PRIMARY KEY,                 -- SHA-256 of body
  device_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  credential_id TEXT NOT NULL REFERENCES credentials (id),
  body BLOB NOT NULL,
  signature BLOB NOT NULL,
  received_at INTEGER NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('network', 'bundle')),
  UNIQUE (device_id, seq)
);

-- A coordinator's resolution of a conflict: who and why. Its operation is in ops.
CREATE TABLE resolutions (
  id INTEGER PRIMARY KEY,
  field TEXT NOT NULL,
  version TEXT NOT NULL,
  resolved_by TEXT NOT NULL,
  reason TEXT NOT NULL,
  conflict_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (field, version)
);

-- Every operation ever accepted; the merged state is a function of this table alone.
CREATE TABLE ops (
  field TEXT NOT NULL,
  version TEXT NOT NULL,
  value TEXT,
  old_value TEXT,
  hlc INTEGER NOT NULL,
  author TEXT NOT NULL,
  parents TEXT NOT NULL,               -- JSON array of versions
  changeset_id TEXT REFERENCES changesets (id),
  resolution_id INTEGER REFERENCES resolutions (id),
  PRIMARY KEY (field, version),
  CHECK ((changeset_id IS NULL) <> (resolution_id IS NULL))
) WITHOUT ROWID;
CREATE INDEX ops_by_changeset ON ops (changeset_id);

-- The merged winner of each field; state_seq orders changes for pull cursors.
CREATE TABLE fields (
  field TEXT PRIMARY KEY,
  country TEXT NOT NULL,
  value TEXT,
  version TEXT NOT NULL,
  hlc INTEGER NOT NULL,
  state_seq INTEGER NOT NULL UNIQUE
) WITHOUT ROWID;
CREATE INDEX fields_by_country ON fields (country, state_seq);

-- Derived from ops: one row per (field, candidate set). candidate_key = sorted versions joined by LF.
CREATE TABLE conflicts (
  id INTEGER PRIMARY KEY,
  field TEXT NOT NULL,
  candidate_key TEXT NOT NULL,
  candidates TEXT NOT NULL,            -- JSON array, oldest first
  status TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
  opened_seq INTEGER NOT NULL,
  resolved_by TEXT,
  reason TEXT,
  resolution_version TEXT,
  resolved_at INTEGER,
  UNIQUE (field, candidate_key)
);
CREATE INDEX conflicts_by_status ON conflicts (status, id);
