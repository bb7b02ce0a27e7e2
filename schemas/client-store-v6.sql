-- mnr-client store, migration 5 -> 6: survey rounds. An answer belongs to a round (shared/include/
-- mnr/field.h: a key without a round segment belongs to the first round, 2025), so the current answers
-- are kept per (country, round, indicator); every answer recorded before this version is of 2025.
-- meta "round" (absent = 2025) is the round the office works on (`mnr-client round start`).

CREATE TABLE answers_by_round (
  country   TEXT NOT NULL,
  round     TEXT NOT NULL,
  indicator TEXT NOT NULL,
  answer    TEXT NOT NULL CHECK (answer IN ('yes', 'partial', 'no', 'unknown')),
  note      TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (country, round, indicator)
) WITHOUT ROWID;
INSERT INTO answers_by_round SELECT country, '2025', indicator, answer, note FROM answers;
DROP TABLE answers;
ALTER TABLE answers_by_round RENAME TO answers;

-- Answers carried forward from an earlier round (`round start --carry-forward`): a prefill the office
-- has not confirmed yet. Not an edit, so not in the change log and never sent: the server counts an
-- answer of the new round only once someone has given it. Recording the answer (or pulling one from
-- another device) removes the row.
CREATE TABLE carried_answers (
  country    TEXT NOT NULL,
  round      TEXT NOT NULL,
  indicator  TEXT NOT NULL,
  answer     TEXT NOT NULL CHECK (answer IN ('yes', 'partial', 'no', 'unknown')),
  note       TEXT NOT NULL DEFAULT '',
  from_round TEXT NOT NULL,
  PRIMARY KEY (country, round, indicator)
) WITHOUT ROWID;

PRAGMA user_version = 6;
