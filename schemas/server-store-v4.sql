-- mnr-server store, migration 3 -> 4: what the coordinator's overview needs about devices.
-- Applied in one transaction by ServerStore::Open and Init; never edit once released.

-- The name a device's owner gave it at `mnr-client init --name` (sent in Hello; empty for a device
-- that only ever sent bundles) and when it last completed a session with the server.
ALTER TABLE devices ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN last_seen_at INTEGER;

-- The X25519 public key (base64 of the raw 32 bytes) that return bundles for this credential's
-- offices are sealed to (docs/protocol.md, "Return bundles"). It is derived from the credential's own
-- private key at issue, so the credential file needs nothing new; NULL for a credential issued
-- before this version (renew it to receive return bundles).
ALTER TABLE credentials ADD COLUMN return_key TEXT;
