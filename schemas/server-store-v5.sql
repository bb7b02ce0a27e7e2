-- mnr-server store, migration 4 -> 5: what intake keeps so that its cost per change-set does not grow
-- with history. Applied in one transaction by ServerStore::Open and Init; never edit once released.
-- Both columns are derived (from changesets and from ops); nothing here is new information.

-- The device's highest seq n such that change-sets 1..n are all stored (what an Ack reports),
-- advanced at intake instead of scanning every change-set the device ever sent.
ALTER TABLE devices ADD COLUMN acked_through INTEGER NOT NULL DEFAULT 0;
UPDATE devices SET acked_through = (
  SELECT MIN(s) FROM (SELECT 0 AS s UNION ALL SELECT seq FROM changesets c WHERE c.device_id = devices.device_id)
  WHERE NOT EXISTS (SELECT 1 FROM changesets n WHERE n.device_id = devices.device_id AND n.seq = s + 1));

-- The merge's summary of a field's history (server/merge.h, MergeSummary): a JSON array of the
-- versions no other edit descends from, kept only while every edit of the field names parents older
-- than itself and the field has no conflict; NULL = not known, and the next edit merges the whole
-- history (which writes it again).
ALTER TABLE fields ADD COLUMN heads TEXT;
