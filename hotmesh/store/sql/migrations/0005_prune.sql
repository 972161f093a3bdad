-- hotmesh schema v5: pruning. Rows of jobs expired longer than the engine's
-- `retention` ago, and early signals past their expiry, are deleted in
-- batches by every running engine; these indexes find them without a scan.
CREATE INDEX IF NOT EXISTS jobs_expired
    ON __SCHEMA__.jobs (app_id, expired_at) WHERE expired_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS signals_expired
    ON __SCHEMA__.signals (app_id, expires_at) WHERE kind = 'pending';
