-- mnr-server store, migration 2 -> 3: the incremental aggregate dataset and releases.
-- Applied in one transaction by ServerStore::Open and Init; never edit once released.
-- Definitions of every count: docs/dataset.md.

-- The groups each registered country belongs to: all, its income group, lmic (every income group but
-- high), and region:<region> when it has a region. server/dataset.cc GroupsOf says the same in C++;
-- the incremental counts follow that function, a rebuild follows these views, and a test checks
-- that both agree.
CREATE VIEW dataset_country_groups AS
  SELECT code AS country, 'all' AS grp FROM countries
  UNION ALL SELECT code, income_group FROM countries
  UNION ALL SELECT code, 'lmic' FROM countries WHERE income_group <> 'high'
  UNION ALL SELECT code, 'region:' || region FROM countries WHERE region <> '';

-- The merged answer of each (country, indicator): the answer word of the winning value
-- ("<answer>" or "<answer>\n<note>"); a cleared answer has no row.
CREATE VIEW dataset_merged_answers AS
  SELECT country,
         substr(field, length(country) + 9) AS indicator,
         CASE WHEN instr(value, char(10)) > 0 THEN substr(value, 1, instr(value, char(10)) - 1) ELSE value END AS answer
  FROM fields
  WHERE substr(field, 1, 7) = 'answer/' AND value IS NOT NULL;

-- The counts recomputed from scratch (mnr-server aggregate --rebuild, and this migration).
CREATE VIEW dataset_recount AS
  SELECT a.indicator AS indicator, g.grp AS grp,
         SUM(a.answer = 'yes') AS n_yes, SUM(a.answer = 'partial') AS n_partial,
         SUM(a.answer = 'no') AS n_no, SUM(a.answer = 'unknown') AS n_unknown
  FROM dataset_merged_answers a JOIN dataset_country_groups g ON g.country = a.country
  WHERE a.answer IN ('yes', 'partial', 'no', 'unknown')
  GROUP BY a.indicator, g.grp;

-- Answer counts per (indicator, group), maintained in the transaction that changes a merged answer or
-- the country register. A row whose counts are all zero is deleted, so the table is a function of
-- the merged state and the register alone.
CREATE TABLE dataset_counts (
  indicator TEXT NOT NULL,
  grp TEXT NOT NULL,
  n_yes INTEGER NOT NULL CHECK (n_yes >= 0),
  n_partial INTEGER NOT NULL CHECK (n_partial >= 0),
  n_no INTEGER NOT NULL CHECK (n_no >= 0),
  n_unknown INTEGER NOT NULL CHECK (n_unknown >= 0),
  PRIMARY KEY (indicator, grp)
) WITHOUT ROWID;

-- Registered countries per group (the denominators of n_not_answered); a group with none has no row.
CREATE TABLE dataset_groups (
  grp TEXT PRIMARY KEY,
  n_countries INTEGER NOT NULL CHECK (n_countries > 0)
) WITHOUT ROWID;

INSERT INTO dataset_counts SELECT indicator, grp, n_yes, n_partial, n_no, n_unknown FROM dataset_recount;
INSERT INTO dataset_groups SELECT grp, COUNT(*) FROM dataset_country_groups GROUP BY grp;

-- Frozen datasets (mnr-server release). csv holds the canonical bytes whose SHA-256 is content_sha256;
-- manifest is the canonical JSON the server key signed; members (the countries behind each count)
-- is for coordinators only and never leaves the server through a field role.
CREATE TABLE releases (
  id INTEGER PRIMARY KEY,
  label TEXT NOT NULL UNIQUE,
  release_id TEXT NOT NULL UNIQUE,       -- SHA-256 of manifest, hex
  content_sha256 TEXT NOT NULL,
  csv TEXT NOT NULL,
  practices TEXT NOT NULL,               -- JSON array of the good-practice entries at release time
  members TEXT NOT NULL,                 -- JSON
  manifest TEXT NOT NULL,
  signature BLOB NOT NULL,               -- Ed25519 by server.key, see docs/dataset.md
  created_at INTEGER NOT NULL
);
CREATE TRIGGER releases_never_change BEFORE UPDATE ON releases
BEGIN
  SELECT RAISE(ABORT, 'a release never changes');
END;
CREATE TRIGGER releases_never_go BEFORE DELETE ON releases
BEGIN
  SELECT RAISE(ABORT, 'a release is never deleted');
END;
