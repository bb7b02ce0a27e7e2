-- mnr-server store, migration 6 -> 7: attachments (shared/include/mnr/attachment.h).
-- Applied inside one transaction; never edit once released.

-- The files the server holds whole, each in DIR/blobs/<first two hex digits>/<hash>, written to a
-- temporary name, fsynced and renamed before its row is committed. A row without its file, or a file
-- whose bytes no longer hash to its name, is what `audit verify` reports. Chunks of a file still
-- arriving live in DIR/blobs/partial/<hash>/ and have no row. The device and credential are the first
-- to have sent the file whole: the per-device quota counts what each device brought.
CREATE TABLE blobs (
  hash          TEXT PRIMARY KEY,
  size          INTEGER NOT NULL CHECK (size > 0),
  media_type    TEXT NOT NULL,
  device_id     TEXT NOT NULL,
  credential_id TEXT NOT NULL,
  stored_at     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX blobs_by_device ON blobs (device_id);
