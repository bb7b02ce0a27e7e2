-- mnr-server store, migration 5 -> 6: survey rounds. An answer key names its round
-- ("answer/<COUNTRY>/<INDICATOR>/<ROUND>"; a key without the segment belongs to the first round, 2025:
-- shared/include/mnr/field.h), and the dataset's answer counts are kept per round, so that a store can
-- hold several rounds and release each. Applied in one transaction by ServerStore::Open and Init;
-- never edit once released. Nothing here is new information: the counts move to round 2025, where
-- every answer recorded before this version belongs.

DROP VIEW dataset_recount;
DROP VIEW dataset_merged_answers;

-- The merged answer of each (country, round, indicator): the answer word of the winning value
-- ("<answer>" or "<answer>\n<note>"); a cleared answer has no row.
CREATE VIEW dataset_merged_answers AS
  SELECT country,
         CASE WHEN instr(rest, '/') > 0 THEN substr(rest, 1, instr(rest, '/') - 1) ELSE rest END AS indicator,
         CASE WHEN instr(rest, '/') > 0 THEN substr(rest, instr(rest, '/') + 1) ELSE '2025' END AS round,
         answer
  FROM (SELECT country, substr(field, length(country) + 9) AS rest,
               CASE WHEN instr(value, char(10)) > 0 THEN substr(value, 1, instr(value, char(10)) - 1) ELSE value END AS answer
        FROM fields
        WHERE substr(field, 1, 7) = 'answer/' AND value IS NOT NULL);

-- The counts recomputed from scratch (mnr-server aggregate --rebuild).
CREATE VIEW dataset_recount AS
  SELECT a.round AS round, a.indicator AS indicator, g.grp AS grp,
         SUM(a.answer = 'yes') AS n_yes, SUM(a.answer = 'partial') AS n_partial,
         SUM(a.answer = 'no') AS n_no, SUM(a.answer = 'unknown') AS n_unknown
  FROM dataset_merged_answers a JOIN dataset_country_groups g ON g.country = a.country
  WHERE a.answer IN ('yes', 'partial', 'no', 'unknown')
  GROUP BY a.round, a.indicator, g.grp;

-- Answer counts per (round, indicator, group); otherwise as in migration 3.
CREATE TABLE dataset_counts_by_round (
  round TEXT NOT NULL,
  indicator TEXT NOT NULL,
  grp TEXT NOT NULL,
  n_yes INTEGER NOT NULL CHECK (n_yes >= 0),
  n_partial INTEGER NOT NULL CHECK (n_partial >= 0),
  n_no INTEGER NOT NULL CHECK (n_no >= 0),
  n_unknown INTEGER NOT NULL CHECK (n_unknown >= 0),
  PRIMARY KEY (round, indicator, grp)
) WITHOUT ROWID;
INSERT INTO dataset_counts_by_round SELECT '2025', indicator, grp, n_yes, n_partial, n_no, n_unknown FROM dataset_counts;
DROP TABLE dataset_counts;
ALTER TABLE dataset_counts_by_round RENAME TO dataset_counts;
