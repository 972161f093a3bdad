-- hotmesh schema v1: apps, versions, jobs, one row per activity state, stream messages, signals.
-- The placeholder __SCHEMA__ is replaced by the validated, quoted schema name.

CREATE TABLE IF NOT EXISTS __SCHEMA__.app_versions (
    app_id      text        NOT NULL,
    version     text        NOT NULL,
    plan        jsonb       NOT NULL,
    deployed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (app_id, version)
);

CREATE TABLE IF NOT EXISTS __SCHEMA__.apps (
    app_id         text        PRIMARY KEY,
    active_version text,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS __SCHEMA__.jobs (
    id          bigserial   PRIMARY KEY,
    app_id      text        NOT NULL,
    job_id      text        NOT NULL,
    gid         text        NOT NULL,
    key         text        NOT NULL DEFAULT '',
    topic       text        NOT NULL,
    version     text        NOT NULL,
    status      bigint      NOT NULL,
    metadata    jsonb       NOT NULL,
    data        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    err         text,
    parent_job_id text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    expired_at  timestamptz,
    UNIQUE (app_id, job_id)
);

CREATE TABLE IF NOT EXISTS __SCHEMA__.activities (
    job         bigint      NOT NULL REFERENCES __SCHEMA__.jobs (id) ON DELETE CASCADE,
    activity_id text        NOT NULL,
    dimension   text        NOT NULL,
    type        text        NOT NULL,
    leg         smallint    NOT NULL DEFAULT 1,
    done        boolean     NOT NULL DEFAULT false,
    input       jsonb,
    output      jsonb,
    hook        jsonb,
    error       jsonb,
    started_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz,
    PRIMARY KEY (job, activity_id, dimension)
);

CREATE TABLE IF NOT EXISTS __SCHEMA__.messages (
    id             bigserial   PRIMARY KEY,
    app_id         text        NOT NULL,
    stream         text        NOT NULL,
    type           text        NOT NULL,
    priority       smallint    NOT NULL DEFAULT 0,
    job_id         text,
    payload        jsonb       NOT NULL,
    visible_at     timestamptz NOT NULL DEFAULT now(),
    reserved_by    text,
    reserved_until timestamptz,
    attempts       integer     NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS messages_ready
    ON __SCHEMA__.messages (app_id, stream, priority DESC, id);

CREATE TABLE IF NOT EXISTS __SCHEMA__.signals (
    app_id     text        NOT NULL,
    key        text        NOT NULL,
    job        bigint      REFERENCES __SCHEMA__.jobs (id) ON DELETE CASCADE,
    payload    jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (app_id, key)
);
