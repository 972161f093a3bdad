-- hotmesh schema v19: a job's inbox (MemFlow signals and updates for handlers,
-- issue 19). Each message gets a sequence number when it is added: the arrival
-- order the workflow applies them in. A message belongs to one job row (its
-- pk), so a later job reusing the id starts with an empty inbox, and pruning
-- the job deletes its messages (ON DELETE CASCADE). An update's id is unique
-- per job: a caller retrying with the same id adds nothing.
CREATE TABLE IF NOT EXISTS __SCHEMA__.job_messages (
    job        bigint      NOT NULL REFERENCES __SCHEMA__.jobs (id) ON DELETE CASCADE,
    seq        bigserial,
    kind       text        NOT NULL,
    name       text        NOT NULL,
    args       jsonb       NOT NULL DEFAULT '[]'::jsonb,
    msg_id     text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, seq)
);

CREATE UNIQUE INDEX IF NOT EXISTS job_messages_id
    ON __SCHEMA__.job_messages (job, msg_id) WHERE msg_id IS NOT NULL;
