-- MemFlow's client-side search over workflow search fields (job data `_<name>`).
-- $1 app id (namespace), $2 workflow topic, $3 task queue, $4 workflow name,
-- $5 JSONB object the job data must contain, $6 limit.
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
