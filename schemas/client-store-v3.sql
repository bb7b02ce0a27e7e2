-- mnr-client store, migration 2 -> 3: signed receipts from the server (audit trail issue).
-- Applied inside one transaction; never edit once released.

-- The server certificates that signed receipts, as received in Welcome (checked against the
-- credential's CA when receipts are verified, not trusted on arrival).
CREATE TABLE server_certificates (
  fingerprint     TEXT PRIMARY KEY,    -- SHA-256 of the certificate's DER, hex
  certificate_pem TEXT NOT NULL,
  first_seen      INTEGER NOT NULL
) WITHOUT ROWID;

-- One receipt per change-set the server acknowledged, exactly as received (Ack.receipt, JSON), so
-- the field office can later prove that the server logged its submission. The first receipt of a
-- change-set is kept; a later duplicate Ack names the same log entry.
CREATE TABLE receipts (
  changeset_id       TEXT PRIMARY KEY,
  outbox_seq         INTEGER NOT NULL,
  log_index          INTEGER NOT NULL,
  tree_size          INTEGER NOT NULL,
  signed_at          INTEGER NOT NULL,   -- the tree head's timestamp, Unix seconds
  receipt            TEXT NOT NULL,
  server_fingerprint TEXT NOT NULL REFERENCES server_certificates (fingerprint),
  received_at        INTEGER NOT NULL
) WITHOUT ROWID;

PRAGMA user_version = 3;
