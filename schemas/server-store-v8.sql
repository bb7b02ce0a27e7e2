-- mnr-server store, migration 7 -> 8: the recount of the dataset reads each merged answer once.
-- Applied inside one transaction; never edit once released. Only a view changes, and what it gives
-- is the same, row for row.
--
-- The recount of migration 6 joined every answer to each of its country's groups (3 or 4) before
-- counting, reading the country's fields once per group. The groups a country counts in depend only
-- on its income group and region (dataset_country_groups), so the answers are now counted per
-- (round, indicator, income group, region) first, a few hundred rows, and only those are spread over
-- the groups. `mnr-server aggregate --rebuild` and every check against a recount use this view.

DROP VIEW dataset_recount;

CREATE VIEW dataset_recount AS
  WITH per_kind AS (
    SELECT a.round AS round, a.indicator AS indicator, c.income_group AS income, c.region AS region,
           SUM(a.answer = 'yes') AS y, SUM(a.answer = 'partial') AS p,
           SUM(a.answer = 'no') AS n, SUM(a.answer = 'unknown') AS u
    FROM dataset_merged_answers a JOIN countries c ON c.code = a.country
    WHERE a.answer IN ('yes', 'partial', 'no', 'unknown')
    GROUP BY a.round, a.indicator, c.income_group, c.region),
  kind_groups AS (
    SELECT DISTINCT c.income_group AS income, c.region AS region, g.grp AS grp
    FROM countries c JOIN dataset_country_groups g ON g.country = c.code)
  SELECT k.round AS round, k.indicator AS indicator, g.grp AS grp,
         SUM(k.y) AS n_yes, SUM(k.p) AS n_partial, SUM(k.n) AS n_no, SUM(k.u) AS n_unknown
  FROM per_kind k JOIN kind_groups g ON g.income = k.income AND g.region = k.region
  GROUP BY k.round, k.indicator, g.grp;
