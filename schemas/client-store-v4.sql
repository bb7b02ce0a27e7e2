-- mnr-client store, migration 3 -> 4: the latest dataset release, readable offline (aggregate issue).
-- Applied inside one transaction; never edit once released.

-- Dataset releases received on sync (the server's "release.latest"), each checked before it is kept:
-- the CSV hashes to the manifest's content hash and the manifest's signature verifies against the
-- server certificate, which chains to the credential's CA. The highest seq is the latest.
CREATE TABLE releases (
  seq                INTEGER PRIMARY KEY AUTOINCREMENT,
  label              TEXT NOT NULL UNIQUE,
  release_id         TEXT NOT NULL UNIQUE,  -- SHA-256 of manifest, hex
  content_sha256     TEXT NOT NULL,
  csv                TEXT NOT NULL,         -- the canonical dataset CSV (docs/dataset.md)
  manifest           TEXT NOT NULL,         -- the signed JSON text
  signature          BLOB NOT NULL,         -- Ed25519 over manifest
  server_certificate TEXT NOT NULL,
  received_at        INTEGER NOT NULL
);

-- The income group and region of this store's countries as the server's register had them at the last
-- release received, so `mnr-client dataset` can compare a country with its group offline.
CREATE TABLE release_scope (
  code         TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  income_group TEXT NOT NULL,
  region       TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

PRAGMA user_version = 4;
