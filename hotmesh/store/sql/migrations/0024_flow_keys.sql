-- hotmesh schema v24: keyed limits set through the API. set_topic_limits may
-- give a per-key concurrency or rate limit a key, a mapping expression kept
-- here as its text; every process's engine reads them (at start, and again
-- when told of a change) and resolves the key in the job's context when it
-- sends work to the topic, unless the sending activity gives a key of its own.
-- A manifest's declared limits leave them NULL (its keys are on its activities).
ALTER TABLE __SCHEMA__.flow_limits
    ADD COLUMN IF NOT EXISTS ckey_expr text,
    ADD COLUMN IF NOT EXISTS rkey_expr text;
