-- hotmesh schema v9: schedules. One row per schedule: what to start (topic,
-- data), when (options: cron or every, zone, policies), and how far it has
-- fired (handled_to: every tick at or before it is handled; next_at: when the
-- next tick fires, NULL once none is left). Every engine fires due rows,
-- locking them FOR UPDATE SKIP LOCKED, so one process handles a tick; the
-- tick's job id (schedule id + scheduled time) keeps it to one job even so.
-- version is '' for schedules made through the API and the manifest version
-- for schedules a manifest declares (those fire while that version is active).
CREATE TABLE IF NOT EXISTS __SCHEMA__.schedules (
    app_id      text        NOT NULL,
    version     text        NOT NULL DEFAULT '',
    id          text        NOT NULL,
    topic       text        NOT NULL,
    data        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    options     jsonb       NOT NULL,
    paused      boolean     NOT NULL DEFAULT false,
    base        timestamptz NOT NULL,
    handled_to  timestamptz NOT NULL,
    next_at     timestamptz,
    buffered_at timestamptz,
    last_job_id text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (app_id, version, id)
);

CREATE INDEX IF NOT EXISTS schedules_due
    ON __SCHEMA__.schedules (app_id, next_at) WHERE NOT paused;

-- The recent ticks of each schedule: started, skipped (overlap) or missed
-- (catchup), kept to the latest few per schedule.
CREATE TABLE IF NOT EXISTS __SCHEMA__.schedule_runs (
    app_id       text        NOT NULL,
    version      text        NOT NULL,
    schedule_id  text        NOT NULL,
    scheduled_at timestamptz NOT NULL,
    outcome      text        NOT NULL,
    job_id       text,
    fired_at     timestamptz NOT NULL,
    PRIMARY KEY (app_id, version, schedule_id, scheduled_at, outcome)
);
