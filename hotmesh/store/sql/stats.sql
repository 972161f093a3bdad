-- Figures for OpenTelemetry's observable gauges and `hotmesh stats` (issue 18):
-- read at most every few seconds per process, never per scrape.

-- name: stats_backlog
-- Messages of app $1 ready to claim now, per stream ("engine", "w:<topic>"):
-- how many, and the age in seconds of the oldest (visible since).
SELECT stream, count(*)::bigint AS ready,
       extract(epoch FROM now() - min(visible_at))::float8 AS oldest
  FROM __SCHEMA__.messages
 WHERE app_id = $1 AND visible_at <= now()
   AND (reserved_by IS NULL OR reserved_until < now())
 GROUP BY stream
 ORDER BY stream;

-- name: stats_jobs
-- Live jobs of app $1 per status, as `hotmesh jobs --status` names them:
-- scheduled (a delayed start waiting), running, done, error.
SELECT CASE WHEN err IS NOT NULL THEN 'error'
            WHEN status <= 0 THEN 'done'
            WHEN metadata ? 'dly' THEN 'scheduled'
            ELSE 'running' END AS status,
       count(*)::bigint AS jobs
  FROM __SCHEMA__.jobs
 WHERE app_id = $1 AND (expired_at IS NULL OR expired_at > now())
 GROUP BY 1
 ORDER BY 1;

-- name: stats_throughput
-- Jobs of app $1 started and ended in the last $2 seconds.
SELECT count(*) FILTER (WHERE created_at > now() - make_interval(secs => $2))::bigint
           AS started,
       count(*) FILTER (WHERE status <= 0
                          AND updated_at > now() - make_interval(secs => $2))::bigint
           AS ended,
       count(*) FILTER (WHERE err IS NOT NULL
                          AND updated_at > now() - make_interval(secs => $2))::bigint
           AS failed
  FROM __SCHEMA__.jobs
 WHERE app_id = $1
   AND (created_at > now() - make_interval(secs => $2)
        OR updated_at > now() - make_interval(secs => $2));
