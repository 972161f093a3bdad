-- The process registry (`processes`) and the finished-jobs tally (`job_minutes`):
-- written by each running HotMesh every `heartbeat` seconds, read by the console.

-- name: presence_beat
-- One beat of process $1 (app $2, host $3, pid $4, hotmesh $5, runs the engine
-- stream $6, worker topics $7, claimed messages $8, beating every $9 seconds):
-- upsert its row, and add the jobs it finished per minute (minutes $10 in
-- ascending order, so two beats lock shared rows in one order; completed
-- $11, failed $12).
WITH tally AS (
    INSERT INTO __SCHEMA__.job_minutes AS m (app_id, minute, done, failed)
    SELECT $2, t.minute, t.done, t.failed
      FROM unnest($10::timestamptz[], $11::bigint[], $12::bigint[]) AS t(minute, done, failed)
    ON CONFLICT (minute, app_id) DO UPDATE
       SET done = m.done + EXCLUDED.done, failed = m.failed + EXCLUDED.failed
)
INSERT INTO __SCHEMA__.processes AS p
       (owner, app_id, host, pid, version, engine, topics, held, every)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (owner) DO UPDATE
   SET engine = EXCLUDED.engine, topics = EXCLUDED.topics, held = EXCLUDED.held,
       every = EXCLUDED.every, beat_at = now();

-- name: presence_prune
-- Rows of processes silent for an hour (they crashed) and tallies older than a
-- day: both tables stay small. Run now and then by each process, not each beat.
WITH silent AS (
    DELETE FROM __SCHEMA__.processes WHERE beat_at < now() - interval '1 hour'
)
DELETE FROM __SCHEMA__.job_minutes WHERE minute < now() - interval '1 day';

-- name: presence_gone
-- Process $1 stopped: its row goes.
DELETE FROM __SCHEMA__.processes WHERE owner = $1;
