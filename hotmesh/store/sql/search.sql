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
