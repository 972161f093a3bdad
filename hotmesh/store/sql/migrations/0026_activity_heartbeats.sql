-- hotmesh schema v26: the last heartbeat of each MemFlow activity (issue 19).
-- An activity calls heartbeat(details); the details are written here (at most
-- once per throttle interval), so the next attempt, in any process (the first
-- one's worker may have been killed), starts from them. A row belongs to the
-- workflow's job row (its pk) and is keyed by the activity's marker (its place
-- in the workflow's history): pruning the job deletes it (ON DELETE CASCADE).
CREATE TABLE IF NOT EXISTS __SCHEMA__.activity_heartbeats (
    job        bigint      NOT NULL REFERENCES __SCHEMA__.jobs (id) ON DELETE CASCADE,
    marker     text        NOT NULL,
    attempt    integer     NOT NULL,
    details    jsonb       NOT NULL,
    beat_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, marker)
);
