-- hotmesh schema v5: pruning. Rows of jobs expired longer than the engine's
-- `retention` ago, and early signals past their expiry, are deleted in
-- batches by every running engine. Expired jobs are found in id order (the
-- primary key): an index on jobs.expired_at would cost every job's completion
-- its HOT update. Pending signals are few; their expiry is indexed.
CREATE INDEX IF NOT EXISTS signals_expired
    ON __SCHEMA__.signals (app_id, expires_at) WHERE kind = 'pending';
