-- mnr-server store, migration 1 -> 2: the audit log (issue: audit trail and access control).
-- Applied in one transaction by ServerStore::Open and Init; never edit once released.
-- Formats: docs/protocol.md, "Audit log and receipts"; code: server/audit_log.cc.

-- The append-only, hash-linked log. entry_hash = SHA-256(0x00 || entry bytes) is both the link the
-- next entry's prev_hash names and the entry's leaf in the RFC 6962 Merkle tree. changeset_id is set
-- for change-set entries (kind 1) so that a change-set offered again finds the entry that logged it.
CREATE TABLE audit_entries (
  idx INTEGER PRIMARY KEY,             -- 0-based, no gaps
  kind INTEGER NOT NULL,               -- 1 change-set, 2 resolution, 3 release, 4 publish,
                                       -- 5 credential issued, 6 credential revoked, 7 countries changed
  actor TEXT NOT NULL,                 -- credential id, or operator:<user> on the server host
  payload BLOB NOT NULL,
  entry_hash BLOB NOT NULL,            -- 32 bytes
  prev_hash BLOB NOT NULL,             -- 32 bytes; zeros for entry 0
  recorded_at INTEGER NOT NULL,        -- Unix seconds
  changeset_id TEXT UNIQUE
);
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN
  SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN
  SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- The roots of the perfect subtrees that make up the current tree (one per set bit of its size), so
-- the tree head costs O(log n) to compute. Derived from audit_entries; `audit verify` checks every
-- signed head against a recomputation from the entries.
CREATE TABLE audit_frontier (
  height INTEGER PRIMARY KEY,          -- the subtree covers 2^height entries
  hash BLOB NOT NULL
);

-- Signed tree heads, at most one per size: Ed25519 by server.key over
-- "mnr-sync tree head v1\n<size>\n<root hex>\n<timestamp>".
CREATE TABLE audit_tree_heads (
  size INTEGER PRIMARY KEY,
  root TEXT NOT NULL,                  -- hex
  timestamp INTEGER NOT NULL,          -- Unix seconds
  signature BLOB NOT NULL
);
CREATE TRIGGER audit_tree_heads_no_update BEFORE UPDATE ON audit_tree_heads
BEGIN
  SELECT RAISE(ABORT, 'signed tree heads never change');
END;
CREATE TRIGGER audit_tree_heads_no_delete BEFORE DELETE ON audit_tree_heads
BEGIN
  SELECT RAISE(ABORT, 'signed tree heads never change');
END;

-- A credential made by `mnr-server renew` names the one it replaces; the devices of the old one may
-- go on under the new one.
ALTER TABLE credentials ADD COLUMN predecessor TEXT REFERENCES credentials (id);
CREATE INDEX credentials_by_predecessor ON credentials (predecessor);
