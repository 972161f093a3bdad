-- Statements of the schedules (migration 0009). $1 is always the app id.
-- A schedule's "version" is '' when made through the API and the manifest
-- version that declared it otherwise; such rows count only while that
-- version is the app's active one.

-- name: insert
-- A new schedule; no row when the id is taken.
INSERT INTO __SCHEMA__.schedules (app_id, version, id, topic, data, options, paused, base,
                                  handled_to, next_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (app_id, version, id) DO NOTHING
RETURNING id;

-- name: replace_version
-- The schedules a manifest version declares, deployed with it ($3: the rows).
-- A redeploy of the same version keeps the firing state of unchanged rows.
INSERT INTO __SCHEMA__.schedules (app_id, version, id, topic, data, options, paused, base,
                                  handled_to, next_at)
SELECT $1, $2, x.id, x.topic, x.data, x.options, x.paused, x.base, x.handled_to, x.next_at
  FROM jsonb_to_recordset($3::jsonb)
       AS x(id text, topic text, data jsonb, options jsonb, paused boolean,
            base timestamptz, handled_to timestamptz, next_at timestamptz)
ON CONFLICT (app_id, version, id) DO NOTHING;

-- name: restart_version
-- A version becomes active: its schedules count ticks from now ($3) on, so
-- the time it sat inactive is not caught up ($4: id -> next fire time).
UPDATE __SCHEMA__.schedules s
   SET handled_to = $3, next_at = (x.value #>> '{}')::timestamptz, buffered_at = NULL,
       updated_at = now()
  FROM jsonb_each($4::jsonb) AS x
 WHERE s.app_id = $1 AND s.version = $2 AND s.id = x.key;

-- name: version_rows
-- The schedules of app $1 version $2.
SELECT id, topic, data, options, base FROM __SCHEMA__.schedules
 WHERE app_id = $1 AND version = $2;

-- name: due
-- Schedules with a tick to fire at $2 (or a buffered tick), locked for this
-- pass; another process's pass skips them. running: the last job still runs.
SELECT s.version, s.id, s.topic, s.data, s.options, s.base, s.handled_to, s.buffered_at,
       s.last_job_id,
       EXISTS (SELECT 1 FROM __SCHEMA__.jobs j
                WHERE j.app_id = s.app_id AND j.job_id = s.last_job_id
                  AND j.status > 0 AND j.err IS NULL) AS running
  FROM __SCHEMA__.schedules s
 WHERE s.app_id = $1 AND NOT s.paused
   AND (s.next_at <= $2 OR s.buffered_at IS NOT NULL)
   AND (s.version = '' OR s.version = (SELECT active_version FROM __SCHEMA__.apps
                                        WHERE app_id = $1))
 ORDER BY s.next_at NULLS LAST
 LIMIT $3
   FOR UPDATE OF s SKIP LOCKED;

-- name: advance
-- Record how far a schedule has fired: handled up to, next due, buffered, last job.
UPDATE __SCHEMA__.schedules
   SET handled_to = $4, next_at = $5, buffered_at = $6,
       last_job_id = coalesce($7, last_job_id), updated_at = now()
 WHERE app_id = $1 AND version = $2 AND id = $3;

-- name: record_runs
-- $4: [{t: scheduled_at, o: outcome, j: job id, f: fired_at}]; only the
-- latest 50 ticks of the schedule are kept.
WITH ins AS (
    INSERT INTO __SCHEMA__.schedule_runs (app_id, version, schedule_id, scheduled_at,
                                          outcome, job_id, fired_at)
    SELECT $1, $2, $3, x.t, x.o, x.j, x.f
      FROM jsonb_to_recordset($4::jsonb) AS x(t timestamptz, o text, j text, f timestamptz)
    ON CONFLICT DO NOTHING
    RETURNING 1
)
DELETE FROM __SCHEMA__.schedule_runs r
 WHERE r.app_id = $1 AND r.version = $2 AND r.schedule_id = $3
   AND r.scheduled_at < (SELECT scheduled_at FROM __SCHEMA__.schedule_runs
                          WHERE app_id = $1 AND version = $2 AND schedule_id = $3
                          ORDER BY scheduled_at DESC OFFSET 49 LIMIT 1);

-- name: next_due
-- When the earliest active schedule fires next (NULL: none).
SELECT min(s.next_at) FROM __SCHEMA__.schedules s
 WHERE s.app_id = $1 AND NOT s.paused
   AND (s.version = '' OR s.version = (SELECT active_version FROM __SCHEMA__.apps
                                        WHERE app_id = $1));

-- name: list
-- Every API schedule and those of the active version ($2: true = all versions).
SELECT s.version, s.id, s.topic, s.data, s.options, s.paused, s.base, s.handled_to, s.next_at,
       s.buffered_at, s.last_job_id, s.created_at, s.updated_at
  FROM __SCHEMA__.schedules s
 WHERE s.app_id = $1
   AND ($2 OR s.version = '' OR s.version = (SELECT active_version FROM __SCHEMA__.apps
                                             WHERE app_id = $1))
 ORDER BY s.id, s.version;

-- name: get
-- One schedule: the API's, else the active version's.
SELECT s.version, s.id, s.topic, s.data, s.options, s.paused, s.base, s.handled_to, s.next_at,
       s.buffered_at, s.last_job_id, s.created_at, s.updated_at
  FROM __SCHEMA__.schedules s
 WHERE s.app_id = $1 AND s.id = $2
   AND (s.version = '' OR s.version = (SELECT active_version FROM __SCHEMA__.apps
                                        WHERE app_id = $1))
 ORDER BY s.version
 LIMIT 1
   FOR UPDATE;

-- name: runs
-- The newest $4 runs of schedule $3, newest first.
SELECT scheduled_at, outcome, job_id, fired_at FROM __SCHEMA__.schedule_runs
 WHERE app_id = $1 AND version = $2 AND schedule_id = $3
 ORDER BY scheduled_at DESC
 LIMIT $4;

-- name: update
-- Rewrite a schedule (topic, data, options, paused) and where it fires next.
UPDATE __SCHEMA__.schedules
   SET topic = $4, data = $5, options = $6, paused = $7, base = $8, handled_to = $9,
       next_at = $10, updated_at = now()
 WHERE app_id = $1 AND version = $2 AND id = $3;

-- name: set_last
-- Record the last job a schedule started (a manual trigger).
UPDATE __SCHEMA__.schedules SET last_job_id = $4, updated_at = now()
 WHERE app_id = $1 AND version = $2 AND id = $3;

-- name: delete
-- Delete a schedule and its runs.
WITH runs AS (
    DELETE FROM __SCHEMA__.schedule_runs WHERE app_id = $1 AND version = $2 AND schedule_id = $3
)
DELETE FROM __SCHEMA__.schedules WHERE app_id = $1 AND version = $2 AND id = $3
RETURNING id;

-- name: delay_insert
-- A job that starts later ($3, its generation $4) at $5 (migration 0017). A
-- leftover row of an earlier job with the same id is replaced.
INSERT INTO __SCHEMA__.delayed_starts (app_id, job_id, gid, start_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (app_id, job_id) DO UPDATE SET gid = EXCLUDED.gid, start_at = EXCLUDED.start_at;

-- name: delay_take
-- Delayed starts due at $2, taken (deleted) by this pass; another pass skips
-- the rows this one holds.
DELETE FROM __SCHEMA__.delayed_starts d
 USING (SELECT job_id FROM __SCHEMA__.delayed_starts
         WHERE app_id = $1 AND start_at <= $2
         ORDER BY start_at
         LIMIT $3
           FOR UPDATE SKIP LOCKED) due
 WHERE d.app_id = $1 AND d.job_id = due.job_id
RETURNING d.job_id, d.gid, d.start_at;

-- name: delay_next
-- When the earliest delayed start of the app is due (NULL: none).
SELECT min(start_at) FROM __SCHEMA__.delayed_starts WHERE app_id = $1;
