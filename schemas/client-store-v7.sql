-- mnr-client store, migration 6 -> 7: attachments (shared/include/mnr/attachment.h). The attachment
-- fields themselves live in `records`, like review and query fields; these tables hold the files.
-- Applied inside one transaction; never edit once released.

-- A file this store holds, whole or arriving: its bytes are the rows of blob_chunks, one per chunk of
-- limits::kBlobChunkBytes, so a download cut mid-way keeps what came and a 2G office never holds a
-- file twice in memory. `uploaded` = 1 once the server said it holds the file whole; `refusal` is the
-- server's last reason for not taking it (empty: none), shown by `attachments list`.
CREATE TABLE blobs (
  hash       TEXT PRIMARY KEY,
  size       INTEGER NOT NULL CHECK (size > 0),
  media_type TEXT NOT NULL,
  file_name  TEXT NOT NULL DEFAULT '',
  whole      INTEGER NOT NULL DEFAULT 0,
  uploaded   INTEGER NOT NULL DEFAULT 0,
  refusal    TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE TABLE blob_chunks (
  hash   TEXT NOT NULL REFERENCES blobs (hash),
  offset INTEGER NOT NULL,
  data   BLOB NOT NULL,
  PRIMARY KEY (hash, offset)
) WITHOUT ROWID;
PRAGMA user_version = 7;
