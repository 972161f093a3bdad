-- Reads of the web console (`hotmesh dashboard`): counts, charts, listings and
-- one job's rows. Read-only: the console changes state through HotMesh/MemFlow.

-- name: dash_custom_plans
-- Plan the lists' statements for their values (their optional filters are
-- ORs of parameters: a generic plan could use no index).
SET LOCAL plan_cache_mode = force_custom_plan;

-- name: dash_job_estimate
-- The planner's estimate of the jobs table's rows (-1: never analysed).
SELECT reltuples::float8 FROM pg_class WHERE oid = '__SCHEMA__.jobs'::regclass;

-- name: dash_state_counts
-- Jobs per state (scheduled, running, done, error), every app.
SELECT CASE WHEN err IS NOT NULL THEN 'error'
            WHEN status <= 0 THEN 'done'
            WHEN metadata ? 'dly' THEN 'scheduled'
            ELSE 'running' END AS state,
       count(*) AS n
  FROM __SCHEMA__.jobs
 GROUP BY 1;

-- name: dash_state_sample
-- Jobs per state in a sample of $1 percent of the table's pages (a large table).
SELECT CASE WHEN err IS NOT NULL THEN 'error'
            WHEN status <= 0 THEN 'done'
            WHEN metadata ? 'dly' THEN 'scheduled'
            ELSE 'running' END AS state,
       count(*) AS n
  FROM __SCHEMA__.jobs TABLESAMPLE SYSTEM ($1)
 GROUP BY 1;

-- name: dash_per_minute
-- Jobs finished per minute since $1, completed and failed, every app: the
-- tallies the processes that ended them add with each heartbeat (job_minutes,
-- at most one row per app and minute), not a scan of the jobs.
SELECT minute, sum(done)::bigint AS done, sum(failed)::bigint AS failed
  FROM __SCHEMA__.job_minutes
 WHERE minute >= date_trunc('minute', $1::timestamptz)
 GROUP BY minute
 ORDER BY minute;

-- name: dash_backlog
-- Messages waiting per app and stream, with the age in seconds of the oldest.
SELECT app_id, stream, count(*) AS messages,
       count(*) FILTER (WHERE reserved_by IS NOT NULL AND reserved_until > now()) AS claimed,
       extract(epoch FROM now() - min(created_at))::float8 AS oldest_age
  FROM __SCHEMA__.messages
 GROUP BY app_id, stream
 ORDER BY count(*) DESC, app_id, stream
 LIMIT 50;

-- name: dash_processes
-- The process registry: each HotMesh engine with its worker topics, claimed
-- messages and last heartbeat; stale when three beats were missed (it died,
-- or cannot reach the database). Live ones first, at most 100.
SELECT owner, app_id, host, pid, version, engine, topics, held, every,
       started_at, beat_at,
       extract(epoch FROM now() - beat_at)::float8 AS beat_age,
       now() - beat_at > make_interval(secs => every * 3) AS stale
  FROM __SCHEMA__.processes
 ORDER BY stale, app_id, started_at, owner
 LIMIT 100;

-- name: dash_failures
-- The $1 failed jobs created last (index jobs_failed).
SELECT app_id, job_id, topic, err, created_at, updated_at
  FROM __SCHEMA__.jobs
 WHERE err IS NOT NULL
 ORDER BY created_at DESC, id DESC
 LIMIT $1;

-- name: dash_jobs
-- Jobs newest first, after the keyset cursor ($9 created_at, $10 id), filtered
-- by app $1, topic $2, state $3, created in [$4, $5), job id and key LIKE
-- patterns $6 and $7 (prefixes, escaped), data containing $8 (each optional),
-- at most $11.
SELECT id, app_id, job_id, key, topic, version, status, err, parent_job_id,
       created_at, updated_at, expired_at, metadata ? 'dly' AS scheduled
  FROM __SCHEMA__.jobs
 WHERE ($1::text IS NULL OR app_id = $1)
   AND ($2::text IS NULL OR topic = $2)
   AND ($3::text IS NULL
        OR ($3 = 'error' AND err IS NOT NULL)
        OR ($3 = 'done' AND err IS NULL AND status <= 0)
        OR ($3 = 'running' AND err IS NULL AND status > 0 AND NOT metadata ? 'dly')
        OR ($3 = 'scheduled' AND err IS NULL AND status > 0 AND metadata ? 'dly'))
   AND ($4::timestamptz IS NULL OR created_at >= $4)
   AND ($5::timestamptz IS NULL OR created_at < $5)
   AND ($6::text IS NULL OR job_id LIKE $6)
   AND ($7::text IS NULL OR key LIKE $7)
   AND ($8::jsonb IS NULL OR data @> $8)
   AND ($9::timestamptz IS NULL OR (created_at, id) < ($9, $10::bigint))
 ORDER BY created_at DESC, id DESC
 LIMIT $11;

-- name: dash_jobs_scan
-- A data filter: the newest $12 jobs after the keyset cursor ($9, $10) that
-- pass the other filters (as dash_jobs), and of them those whose data contains
-- $8, at most $11, newest first; then one more row, edge = true, for the
-- oldest job read, with `scanned`, how many were read. Job data has no index
-- (a step's update of its row stays HOT), so the containment test reads each
-- row: bounding the rows read bounds the page's time, where "read until a page
-- is found" read the whole table when matches were rare.
WITH scanned AS MATERIALIZED (
    SELECT id, app_id, job_id, key, topic, version, status, err, parent_job_id,
           created_at, updated_at, expired_at, metadata ? 'dly' AS scheduled,
           data @> $8::jsonb AS hit
      FROM __SCHEMA__.jobs
     WHERE ($1::text IS NULL OR app_id = $1)
       AND ($2::text IS NULL OR topic = $2)
       AND ($3::text IS NULL
            OR ($3 = 'error' AND err IS NOT NULL)
            OR ($3 = 'done' AND err IS NULL AND status <= 0)
            OR ($3 = 'running' AND err IS NULL AND status > 0 AND NOT metadata ? 'dly')
            OR ($3 = 'scheduled' AND err IS NULL AND status > 0 AND metadata ? 'dly'))
       AND ($4::timestamptz IS NULL OR created_at >= $4)
       AND ($5::timestamptz IS NULL OR created_at < $5)
       AND ($6::text IS NULL OR job_id LIKE $6)
       AND ($7::text IS NULL OR key LIKE $7)
       AND ($9::timestamptz IS NULL OR (created_at, id) < ($9, $10::bigint))
     ORDER BY created_at DESC, id DESC
     LIMIT $12
)
(SELECT s.*, false AS edge, 0::bigint AS scanned
   FROM scanned s WHERE hit
  ORDER BY created_at DESC, id DESC
  LIMIT $11)
UNION ALL
(SELECT s.*, true AS edge, (SELECT count(*) FROM scanned) AS scanned
   FROM scanned s
  ORDER BY created_at, id
  LIMIT 1);

-- name: dash_workflow_topics
-- The topics MemFlow workflows start on: graph topics matching LIKE pattern $1
-- (the namespace, then MemFlow's start suffix).
SELECT DISTINCT g->>'subscribes' AS topic
  FROM __SCHEMA__.app_versions v, jsonb_array_elements(v.plan->'graphs') g
 WHERE g->>'subscribes' LIKE $1;

-- name: dash_workflows
-- MemFlow workflows (jobs on topics $7 whose data names a workflow) newest
-- first, after the keyset cursor ($4, $5), by workflow name $1, task queue $2,
-- state $3, at most $6.
SELECT id, app_id, job_id, topic, status, err, created_at, updated_at,
       metadata ? 'dly' AS scheduled,
       data->>'workflowName' AS workflow_name, data->>'taskQueue' AS task_queue
  FROM __SCHEMA__.jobs
 WHERE topic = ANY($7::text[])
   AND data ? 'workflowName' AND data ? 'workflowId'
   AND ($1::text IS NULL OR data->>'workflowName' = $1)
   AND ($2::text IS NULL OR data->>'taskQueue' = $2)
   AND ($3::text IS NULL
        OR ($3 = 'error' AND err IS NOT NULL)
        OR ($3 = 'done' AND err IS NULL AND status <= 0)
        OR ($3 = 'running' AND err IS NULL AND status > 0 AND NOT metadata ? 'dly')
        OR ($3 = 'scheduled' AND err IS NULL AND status > 0 AND metadata ? 'dly'))
   AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::bigint))
 ORDER BY created_at DESC, id DESC
 LIMIT $6;

-- name: dash_job
-- Job $1 (of app $2 when given) with its data, newest first (an id may exist in several apps).
SELECT id, app_id, job_id, key, topic, version, status, metadata, data, err,
       parent_job_id, created_at, updated_at, expired_at, metadata ? 'dly' AS scheduled
  FROM __SCHEMA__.jobs
 WHERE job_id = $1 AND ($2::text IS NULL OR app_id = $2)
 ORDER BY created_at DESC, id DESC
 LIMIT 10;

-- name: dash_activities
-- The activity rows of job pk $1, in the order they started.
SELECT activity_id, dimension, type, leg, done, input, output, hook, error,
       started_at, ended_at, why
  FROM __SCHEMA__.activities
 WHERE job = $1
 ORDER BY started_at, length(dimension), dimension, activity_id
 LIMIT 2000;

-- name: dash_child_tree
-- The descendants of job $2 of app $1, at most 8 levels and 500 jobs.
WITH RECURSIVE tree AS (
    SELECT app_id, job_id, parent_job_id, topic, status, err, created_at, 1 AS depth
      FROM __SCHEMA__.jobs
     WHERE app_id = $1 AND parent_job_id = $2
    UNION ALL
    SELECT j.app_id, j.job_id, j.parent_job_id, j.topic, j.status, j.err, j.created_at,
           tree.depth + 1
      FROM __SCHEMA__.jobs j
      JOIN tree ON j.app_id = tree.app_id AND j.parent_job_id = tree.job_id
     WHERE tree.depth < 8
)
SELECT app_id, job_id, parent_job_id, topic, status, err, created_at, depth
  FROM tree
 ORDER BY depth, created_at
 LIMIT 500;

-- name: dash_open_hooks
-- The signal keys job pk $1 waits on.
SELECT key, created_at
  FROM __SCHEMA__.signals
 WHERE job = $1 AND kind = 'hook'
 ORDER BY created_at, key;

-- name: dash_reruns
-- "Run again" links of job $2 of app $1: the job it re-ran (way 'of'), and the
-- newest 20 jobs that re-ran it (way 'by').
(SELECT 'of' AS way, rerun_of AS job_id, created_at
   FROM __SCHEMA__.reruns WHERE app_id = $1 AND job_id = $2)
UNION ALL
(SELECT 'by', job_id, created_at
   FROM __SCHEMA__.reruns WHERE app_id = $1 AND rerun_of = $2
  ORDER BY created_at DESC
  LIMIT 20);

-- name: dash_job_escalations
-- The escalations of job $2 of app $1, newest first.
SELECT id, topic, signal_key, activity_id, role, description, priority, status,
       assigned_to, assigned_until, created_at
  FROM __SCHEMA__.escalations
 WHERE app_id = $1 AND workflow_id = $2
 ORDER BY created_at DESC
 LIMIT 50;

-- name: dash_escalations
-- Escalations of every app by status $1 (NULL: any), most urgent first, at most $2.
SELECT id, app_id, topic, signal_key, workflow_id, activity_id, role, description,
       priority, status, assigned_to, assigned_until, created_at, updated_at
  FROM __SCHEMA__.escalations
 WHERE ($1::text IS NULL OR status = $1)
 ORDER BY (status <> 'pending'), priority, created_at
 LIMIT $2;

-- name: dash_versions
-- Every version of app $1 with its plan document, newest deployment first.
SELECT v.version, v.plan, v.deployed_at, coalesce(a.active_version = v.version, false) AS active
  FROM __SCHEMA__.app_versions v LEFT JOIN __SCHEMA__.apps a ON a.app_id = v.app_id
 WHERE v.app_id = $1
 ORDER BY v.deployed_at DESC, v.version DESC;

-- name: dash_activity_stats
-- Per activity of app $1 version $2 over its newest $3 jobs: runs, errors, and
-- the p50/p95 duration in milliseconds of the finished runs.
WITH recent AS (
    SELECT id FROM __SCHEMA__.jobs
     WHERE app_id = $1 AND version = $2
     ORDER BY created_at DESC, id DESC
     LIMIT $3
)
SELECT a.activity_id, count(*) AS runs,
       count(*) FILTER (WHERE a.error IS NOT NULL) AS errors,
       percentile_cont(0.5) WITHIN GROUP
           (ORDER BY extract(epoch FROM a.ended_at - a.started_at) * 1000) AS p50,
       percentile_cont(0.95) WITHIN GROUP
           (ORDER BY extract(epoch FROM a.ended_at - a.started_at) * 1000) AS p95
  FROM __SCHEMA__.activities a JOIN recent ON a.job = recent.id
 GROUP BY a.activity_id;
