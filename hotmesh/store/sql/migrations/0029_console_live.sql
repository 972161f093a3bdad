-- hotmesh schema v29: what the web console shows live (issue 22).
--
-- processes: one row per running HotMesh (engine and its workers), upserted by
-- the process itself every `heartbeat` seconds (not per job) and deleted when it
-- stops; a crashed process's row stops beating (the console shows it stale)
-- and is deleted by the other processes' beats an hour later.
CREATE TABLE IF NOT EXISTS __SCHEMA__.processes (
    owner      text        PRIMARY KEY,
    app_id     text        NOT NULL,
    host       text        NOT NULL,
    pid        integer     NOT NULL,
    version    text        NOT NULL,
    engine     boolean     NOT NULL,
    topics     text[]      NOT NULL,
    held       integer     NOT NULL DEFAULT 0,
    every      float8      NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    beat_at    timestamptz NOT NULL DEFAULT now()
);

-- job_minutes: jobs finished per app and minute (completed, failed), counted in
-- memory by the process that committed each job's end and added here by its
-- beat, so the console's chart reads at most 60 rows per app instead of every
-- job of the last hours (the jobs' updated_at has no index: a step's update of
-- its job row stays a HOT update). Rows older than a day are deleted by beats.
CREATE TABLE IF NOT EXISTS __SCHEMA__.job_minutes (
    app_id text        NOT NULL,
    minute timestamptz NOT NULL,
    done   bigint      NOT NULL DEFAULT 0,
    failed bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, app_id)
);

-- reruns: a job started by "run again" (HotMesh.rerun) and the job it re-ran,
-- written in the transaction that creates the new job; deleted with it.
CREATE TABLE IF NOT EXISTS __SCHEMA__.reruns (
    app_id     text        NOT NULL,
    job_id     text        NOT NULL,
    rerun_of   text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (app_id, job_id),
    FOREIGN KEY (app_id, job_id) REFERENCES __SCHEMA__.jobs (app_id, job_id)
        ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS reruns_of ON __SCHEMA__.reruns (app_id, rerun_of);
