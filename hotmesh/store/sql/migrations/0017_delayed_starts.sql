-- hotmesh schema v17: delayed starts. A job published with start_at/delay
-- exists at once (status "scheduled": metadata.dly set, semaphore 1) and
-- waits here until start_at. The schedules' firing pass, in any process,
-- takes due rows (FOR UPDATE SKIP LOCKED), deletes them and queues the job's
-- "start" message in the same transaction, so a start is queued exactly once.
CREATE TABLE IF NOT EXISTS __SCHEMA__.delayed_starts (
    app_id   text        NOT NULL,
    job_id   text        NOT NULL,
    gid      text        NOT NULL,
    start_at timestamptz NOT NULL,
    PRIMARY KEY (app_id, job_id)
);

CREATE INDEX IF NOT EXISTS delayed_starts_due
    ON __SCHEMA__.delayed_starts (app_id, start_at);
