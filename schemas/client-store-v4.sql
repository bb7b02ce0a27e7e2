-- mnr-client store, migration 3 -> 4: the latest dataset release, readable offline (aggregate issue).
-- Applied inside one transaction; never edit once released.
PRAGMA user_version = 4;
