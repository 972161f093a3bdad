-- Searches over job data (MemFlow's workflow search fields, stored as `_<name>`).

-- name: search_jobs
-- Live jobs of app $1 on topic $2 whose data contains the JSONB object $5
-- (and, when given, task queue $3 and workflow name $4), oldest first, at most $6.
SELECT job_id
  FROM __SCHEMA__.jobs
 WHERE app_id = $1
   AND topic = $2
   AND (expired_at IS NULL OR expired_at > now())
   AND ($3::text IS NULL OR data->>'taskQueue' = $3)
   AND ($4::text IS NULL OR data->>'workflowName' = $4)
   AND data @> $5::jsonb
 ORDER BY created_at, id
 LIMIT $6;

-- name: list_workflows
-- MemFlow workflows (jobs of app $1 on topic $2), newest first, with their
-- outcome: running, completed, failed, cancelled (the workflow let a
-- cancellation end it), terminated (interrupted, code 410) or timed_out
-- (ended by its execution or run timeout, code 408). Filters when
-- given: workflow name $3, task queue $4, outcome $5, created at or after $6
-- and before $7, search fields containing the JSONB object $8; after the
-- keyset cursor ($9 created_at, $10 id); at most $11.
SELECT w.*
  FROM (SELECT j.id, j.job_id, j.data->>'workflowName' AS workflow_name,
               j.data->>'taskQueue' AS task_queue, j.created_at, j.updated_at,
               CASE WHEN j.status > 0 THEN 'running'
                    WHEN j.err IS NULL THEN 'completed'
                    WHEN j.data->'error'->>'type' = 'CancelledError' THEN 'cancelled'
                    WHEN j.err ~ '"code": ?410[,}]' THEN 'terminated'
                    WHEN j.err ~ '"code": ?408[,}]' THEN 'timed_out'
                    ELSE 'failed' END AS status
          FROM __SCHEMA__.jobs j
         WHERE j.app_id = $1
           AND j.topic = $2
           AND ($3::text IS NULL OR j.data->>'workflowName' = $3)
           AND ($4::text IS NULL OR j.data->>'taskQueue' = $4)
           AND ($6::timestamptz IS NULL OR j.created_at >= $6)
           AND ($7::timestamptz IS NULL OR j.created_at < $7)
           AND ($8::jsonb IS NULL OR j.data @> $8::jsonb)
           AND ($9::timestamptz IS NULL OR (j.created_at, j.id) < ($9, $10))) w
 WHERE ($5::text IS NULL OR w.status = $5)
 ORDER BY w.created_at DESC, w.id DESC
 LIMIT $11;

-- name: job_work
-- The work messages of jobs $2 (ids) of app $1 waiting or running now: their
-- job, metadata (``try``: attempts before this one, ``lastFailure``) and when
-- they become visible. No index has job_id first (a queue's inserts stay
-- cheap): this scans the app's queued messages, fine for an operator's call.
SELECT job_id, payload->'metadata' AS metadata, visible_at,
       reserved_by IS NOT NULL AS claimed
  FROM __SCHEMA__.messages
 WHERE app_id = $1 AND type = 'worker' AND job_id = ANY($2::text[])
 ORDER BY id;
