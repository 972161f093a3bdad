-- A job's inbox (migration 0019): MemFlow signals and updates, in arrival order.

-- name: message_add
-- Add message ($3 kind, $4 name, $5 args, $6 id or null) to the inbox of job $2
-- of app $1 while the job runs (status > 0). Returns the message's seq and
-- whether it was added now: an id already in the inbox returns that message's
-- seq with added = false. No row: no running job with that id.
WITH job AS (
    SELECT id FROM __SCHEMA__.jobs
     WHERE app_id = $1 AND job_id = $2 AND status > 0 AND expired_at IS NULL
), added AS (
    INSERT INTO __SCHEMA__.job_messages (job, kind, name, args, msg_id)
    SELECT id, $3, $4, $5::jsonb, $6 FROM job
    ON CONFLICT (job, msg_id) WHERE msg_id IS NOT NULL DO NOTHING
    RETURNING seq
)
SELECT seq, true AS added FROM added
UNION ALL
SELECT m.seq, false FROM __SCHEMA__.job_messages m, job
 WHERE m.job = job.id AND m.msg_id = $6 AND NOT EXISTS (SELECT 1 FROM added);

-- name: messages_after
-- The inbox of job $2 of app $1 after seq $3, in arrival order, at most $4.
SELECT m.seq, m.kind, m.name, m.args, m.msg_id
  FROM __SCHEMA__.job_messages m
  JOIN __SCHEMA__.jobs j ON j.id = m.job
 WHERE j.app_id = $1 AND j.job_id = $2 AND m.seq > $3
 ORDER BY m.seq
 LIMIT $4;

-- name: message_find
-- The seq of message id $3 in the inbox of job $2 of app $1, if it is there.
SELECT m.seq
  FROM __SCHEMA__.job_messages m
  JOIN __SCHEMA__.jobs j ON j.id = m.job
 WHERE j.app_id = $1 AND j.job_id = $2 AND m.msg_id = $3;

-- name: cancels_pending
-- Running jobs of app $1 with a cancellation in their inbox (a process that
-- starts learns of cancellations it missed; at most $2).
SELECT DISTINCT j.job_id
  FROM __SCHEMA__.job_messages m
  JOIN __SCHEMA__.jobs j ON j.id = m.job
 WHERE j.app_id = $1 AND j.status > 0 AND m.kind = 'cancel'
 LIMIT $2;
