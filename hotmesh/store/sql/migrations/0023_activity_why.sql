-- hotmesh schema v23: "why this branch" (issue 22). Each activity run's row keeps
-- the record of its transitions (which fired, the values their conditions
-- compared), written by the step's own statement; NULL for rows written before.
ALTER TABLE __SCHEMA__.activities ADD COLUMN IF NOT EXISTS why jsonb;
