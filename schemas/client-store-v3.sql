-- mnr-client store, migration 2 -> 3: signed receipts from the server (audit trail issue).
-- Applied inside one transaction; never edit once released.
PRAGMA user_version = 3;
