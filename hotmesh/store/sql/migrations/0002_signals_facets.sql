-- hotmesh schema v2: webhook registrations and early signals share one keyed row,
-- trigger index facets (signal subtype: all), and lookups of child jobs.

ALTER TABLE __SCHEMA__.signals
    ADD COLUMN IF NOT EXISTS kind       text NOT NULL DEFAULT 'hook',
    ADD COLUMN IF NOT EXISTS expires_at timestamptz;

CREATE TABLE IF NOT EXISTS __SCHEMA__.job_facets (
    app_id text   NOT NULL,
    facet  text   NOT NULL,
    job    bigint NOT NULL REFERENCES __SCHEMA__.jobs (id) ON DELETE CASCADE,
    job_id text   NOT NULL,
    PRIMARY KEY (app_id, facet, job)
);

CREATE INDEX IF NOT EXISTS jobs_parent
    ON __SCHEMA__.jobs (app_id, parent_job_id) WHERE parent_job_id IS NOT NULL;

CREATE INDEX IF NOT EXISTS signals_job ON __SCHEMA__.signals (job);
