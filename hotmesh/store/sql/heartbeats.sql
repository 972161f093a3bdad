-- MemFlow activity heartbeats (migration 0026): the details of an activity's
-- last heartbeat, read by its next attempt.

-- name: heartbeat_write
-- Record details $4 of attempt $5 of activity $3 (its marker) of workflow job
-- $2 of app $1 while the job runs; an older attempt (an abandoned one still
-- beating) does not overwrite a newer one's. Returns `running` (false: the
-- workflow ended, or there is no such job) and `cancel` (the workflow has a
-- cancellation in its inbox): what the activity learns at its heartbeat.
WITH job AS (
    SELECT id FROM __SCHEMA__.jobs
     WHERE app_id = $1 AND job_id = $2 AND status > 0 AND expired_at IS NULL
), beat AS (
    INSERT INTO __SCHEMA__.activity_heartbeats AS h (job, marker, attempt, details)
    SELECT id, $3, $5, $4::jsonb FROM job
    ON CONFLICT (job, marker) DO UPDATE
       SET attempt = EXCLUDED.attempt, details = EXCLUDED.details, beat_at = now()
     WHERE h.attempt <= EXCLUDED.attempt
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM job) AS running,
       EXISTS (SELECT 1 FROM __SCHEMA__.job_messages m, job
                WHERE m.job = job.id AND m.kind = 'cancel') AS cancel;

-- name: heartbeat_read
-- The last heartbeat (attempt, details) of activity $3 of workflow job $2 of app $1.
SELECT h.attempt, h.details
  FROM __SCHEMA__.activity_heartbeats h
  JOIN __SCHEMA__.jobs j ON j.id = h.job
 WHERE j.app_id = $1 AND j.job_id = $2 AND h.marker = $3;

