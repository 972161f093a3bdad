-- hotmesh schema v3: the human-in-the-loop queue (spec §6.12). A hook with an
-- `escalation:` block writes a row when it starts waiting; people list, claim and
-- resolve rows, and resolving one resumes the hook.

CREATE TABLE IF NOT EXISTS __SCHEMA__.escalations (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    app_id           text        NOT NULL,
    signal_key       text        NOT NULL,
    topic            text        NOT NULL,
    workflow_id      text        NOT NULL,
    activity_id      text        NOT NULL,
    type             text,
    subtype          text,
    role             text,
    description      text,
    priority         integer     NOT NULL DEFAULT 5,
    status           text        NOT NULL DEFAULT 'pending'
                                 CHECK (status IN ('pending', 'resolved', 'cancelled', 'expired')),
    assigned_to      text,
    assigned_until   timestamptz,
    claimed_at       timestamptz,
    resolved_at      timestamptz,
    metadata         jsonb,
    envelope         jsonb,
    resolver_payload jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX IF NOT EXISTS escalations_open_key
    ON __SCHEMA__.escalations (app_id, topic, signal_key) WHERE status = 'pending';

CREATE INDEX IF NOT EXISTS escalations_available
    ON __SCHEMA__.escalations (app_id, role, priority, created_at) WHERE status = 'pending';

CREATE INDEX IF NOT EXISTS escalations_workflow
    ON __SCHEMA__.escalations (app_id, workflow_id);
