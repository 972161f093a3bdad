-- name: claim
-- Up to $5 messages of one stream, within its flow limits (claim_flow, migration 0010).
SELECT mid, mtype, mpayload, mattempts, mpriority, mckey, mrkey, mwait
  FROM __SCHEMA__.claim_flow($1, $2, $3, $4, $5);

-- name: claim_plain
-- Up to $5 messages of a stream that never has flow limits (the engine stream),
-- higher priority first, then oldest. The work due now (messages_now) and the
-- delayed messages now due (messages_delayed, by due time) are read apart, up
-- to $5 of each, so that neither read walks past timers not yet due
-- (migration 0036): the due ones cost a sort of those due, not a walk of those
-- asleep. The best $5 of both are claimed, the others unlocked at the
-- statement's end.
-- The ids are picked once (an ARRAY sub-select is an InitPlan): under `m.id IN
-- (...)` the planner may run the LIMIT sub-select again for each row it updates
-- (a nested-loop semi-join, chosen when the statistics say the queue is empty),
-- and each run skips the rows this statement has just claimed, so one claim took
-- every visible message, not $5.
UPDATE __SCHEMA__.messages m
   SET reserved_by = $3, reserved_until = now() + make_interval(secs => $4),
       attempts = m.attempts + 1
 WHERE m.id = ANY (ARRAY(
       SELECT c.id
         FROM (SELECT id, priority FROM (
                      SELECT id, priority FROM __SCHEMA__.messages
                       WHERE app_id = $1 AND stream = $2 AND visible_at <= created_at
                         AND (reserved_by IS NULL OR reserved_until < now())
                       ORDER BY priority DESC, id
                       LIMIT $5
                         FOR UPDATE SKIP LOCKED) AS ready
               UNION ALL
               SELECT id, priority FROM (
                      SELECT id, priority FROM __SCHEMA__.messages
                       WHERE app_id = $1 AND stream = $2 AND visible_at > created_at
                         AND visible_at <= now()
                         AND (reserved_by IS NULL OR reserved_until < now())
                       -- cast: an order messages_ready cannot give, so that no plan
                       -- walks it past the timers not yet due to find due ones
                       ORDER BY priority::integer DESC, id
                       LIMIT $5
                         FOR UPDATE SKIP LOCKED) AS due) AS c
        ORDER BY c.priority DESC, c.id
        LIMIT $5))
RETURNING m.id AS mid, m.type AS mtype, m.payload AS mpayload, m.attempts AS mattempts,
          m.priority::integer AS mpriority, m.ckey AS mckey, m.rkey AS mrkey,
          NULL::float8 AS mwait;

-- name: next_due
-- Seconds until each of the next $3 distinct times at which unreserved messages
-- of stream $2 become visible, earliest first (future times only). Each time
-- is one probe of messages_delayed (a message not yet visible is a delayed
-- one, migration 0036) for the first time after the last: however many
-- timers sleep, or share a time, it reads about $3 index entries.
WITH RECURSIVE t (v, k) AS (
    (SELECT visible_at, 1 FROM __SCHEMA__.messages
      WHERE app_id = $1 AND stream = $2 AND visible_at > created_at
        AND reserved_by IS NULL AND visible_at > now()
      ORDER BY visible_at
      LIMIT 1)
    UNION ALL
    SELECT (SELECT visible_at FROM __SCHEMA__.messages
             WHERE app_id = $1 AND stream = $2 AND visible_at > created_at
               AND reserved_by IS NULL AND visible_at > t.v
             ORDER BY visible_at
             LIMIT 1), t.k + 1
      FROM t
     WHERE t.v IS NOT NULL AND t.k < $3
)
SELECT extract(epoch FROM (v - now()))::float8 AS due FROM t WHERE v IS NOT NULL ORDER BY v;

-- name: ack
-- Delete message $1 if owner $2 still holds its claim.
DELETE FROM __SCHEMA__.messages WHERE id = $1 AND reserved_by = $2;

-- name: release
-- Give back every claim held by owner $1 (a stopping process).
UPDATE __SCHEMA__.messages SET reserved_by = NULL, reserved_until = NULL
 WHERE reserved_by = $1;

-- name: insert_messages
-- $2: [{s: stream, t: type, p: priority, j: job id, pl: payload, d: delay, r: reserved_by,
--       ck: concurrency key, rk: rate key, i: index}]; a message asked reserved is
-- inserted reserved only when its stream's flow limits leave room for it
-- (flow_grant, migration 0020); else it waits for a claim, which counts it.
WITH granted AS (
    SELECT i FROM __SCHEMA__.flow_grant($1, $2::jsonb) AS g(i)
)
INSERT INTO __SCHEMA__.messages (app_id, stream, type, priority, job_id, payload, visible_at,
                                 reserved_by, reserved_until, attempts, ckey, rkey)
SELECT $1, x.s, x.t, x.p, x.j, x.pl, now() + make_interval(secs => x.d), g.r,
       CASE WHEN g.r IS NULL THEN NULL ELSE now() + make_interval(secs => $3) END,
       CASE WHEN g.r IS NULL THEN 0 ELSE 1 END, x.ck, x.rk
  FROM jsonb_to_recordset($2::jsonb)
       AS x(s text, t text, p int2, j text, pl jsonb, d float8, r text, ck text, rk text,
            i int),
       LATERAL (SELECT CASE WHEN x.i IN (SELECT i FROM granted) THEN x.r END AS r) g
RETURNING id, payload->>'guid' AS guid, reserved_by;

-- name: delete_expired_job
-- Remove an expired job $2 so its id can start again (create_job retries after it).
DELETE FROM __SCHEMA__.jobs
 WHERE app_id = $1 AND job_id = $2 AND expired_at IS NOT NULL AND expired_at <= now();

-- name: batch_lock_timeout
-- A group commit's batch waits at most $1 (an interval as text) for a row
-- lock, for this transaction only (store/group.py says why).
SELECT set_config('lock_timeout', $1, true);

-- name: notify
-- NOTIFY channel $1 once for each payload of $2.
SELECT pg_notify($1, p) FROM unnest($2::text[]) AS u(p);

-- name: read_job
-- The live job row $2 of app $1 (not expired).
SELECT id, job_id, gid, key, topic, version, status, metadata, data, err
  FROM __SCHEMA__.jobs
 WHERE app_id = $1 AND job_id = $2 AND (expired_at IS NULL OR expired_at > now());

-- name: read_job_any
-- The job row $2 of app $1, expired or not.
SELECT id, job_id, gid, key, topic, version, status, metadata, data, err
  FROM __SCHEMA__.jobs
 WHERE app_id = $1 AND job_id = $2;

-- name: read_activities
-- The activity rows of job pk $1, in the order they started.
SELECT activity_id, dimension, type, leg, done, input, output, hook, error,
       started_at, ended_at, why
  FROM __SCHEMA__.activities WHERE job = $1
 ORDER BY started_at, activity_id, dimension;

-- name: scrub_job
-- Delete job $2 of app $1 (its activity rows go with it).
DELETE FROM __SCHEMA__.jobs WHERE app_id = $1 AND job_id = $2;

-- name: get_version
-- The stored plan document of app $1 version $2.
SELECT plan FROM __SCHEMA__.app_versions WHERE app_id = $1 AND version = $2;

-- name: insert_version
-- Store a plan document; no row back when the version already exists.
INSERT INTO __SCHEMA__.app_versions (app_id, version, plan) VALUES ($1, $2, $3)
ON CONFLICT (app_id, version) DO NOTHING
RETURNING version;

-- name: active_version
-- The active version of app $1.
SELECT active_version FROM __SCHEMA__.apps WHERE app_id = $1;

-- name: activate
-- Make $2 the active version of app $1.
INSERT INTO __SCHEMA__.apps (app_id, active_version) VALUES ($1, $2)
ON CONFLICT (app_id) DO UPDATE SET active_version = EXCLUDED.active_version, updated_at = now();

-- name: write_step
-- $7: [{a: activity, d: dimension, t: type, l: leg, dn: done, i, o, h, e, w: why}]
--     (absent: NULL; a row written without w keeps the why it has)
-- $9: messages as in insert_messages
-- A step from cached state also acks $13 (held by $14) and applies only if the
-- job row is still at version $15, its xmin; step_check raises HM409 otherwise.
-- A step on a locked row passes no messages and no version.
WITH acked AS (
    DELETE FROM __SCHEMA__.messages WHERE id = ANY($13::bigint[]) AND reserved_by = $14
    RETURNING id
), u AS (
    UPDATE __SCHEMA__.jobs
       SET status = status + $2, data = $3, metadata = $4, err = $5, updated_at = now(),
           expired_at = CASE WHEN $6::float8 IS NULL THEN expired_at
                             ELSE now() + make_interval(secs => $6) END
     WHERE id = $1 AND ($15::text IS NULL OR xmin = $15::text::xid)
    RETURNING status, xmin::text AS x
), a AS (
    INSERT INTO __SCHEMA__.activities (job, activity_id, dimension, type, leg, done, input,
                                       output, hook, error, ended_at, why)
    SELECT $1, x.a, x.d, x.t, x.l, x.dn, x.i, x.o, x.h, x.e, CASE WHEN x.dn THEN now() END,
           x.w
      FROM jsonb_to_recordset($7::jsonb)
           AS x(a text, d text, t text, l int2, dn bool, i jsonb, o jsonb, h jsonb, e jsonb,
                w jsonb)
     WHERE EXISTS (SELECT 1 FROM u)
    ON CONFLICT (job, activity_id, dimension) DO UPDATE
       SET leg = EXCLUDED.leg, done = EXCLUDED.done,
           input = coalesce(EXCLUDED.input, activities.input),
           output = EXCLUDED.output, hook = EXCLUDED.hook, error = EXCLUDED.error,
           ended_at = EXCLUDED.ended_at, why = coalesce(EXCLUDED.why, activities.why)
), granted AS (
    SELECT i FROM __SCHEMA__.flow_grant($8, $9::jsonb) AS g(i)
), m AS (
    INSERT INTO __SCHEMA__.messages (app_id, stream, type, priority, job_id, payload,
                                     visible_at, reserved_by, reserved_until, attempts,
                                     ckey, rkey)
    SELECT $8, x.s, x.t, x.p, x.j, x.pl, now() + make_interval(secs => x.d), g.r,
           CASE WHEN g.r IS NULL THEN NULL ELSE now() + make_interval(secs => $10) END,
           CASE WHEN g.r IS NULL THEN 0 ELSE 1 END, x.ck, x.rk
      FROM jsonb_to_recordset($9::jsonb)
           AS x(s text, t text, p int2, j text, pl jsonb, d float8, r text, ck text, rk text,
                i int),
           LATERAL (SELECT CASE WHEN x.i IN (SELECT i FROM granted) THEN x.r END AS r) g
    RETURNING id, payload->>'guid' AS guid, reserved_by
), n AS (
    SELECT count(pg_notify($11, p)) AS c FROM unnest($12::text[]) AS x(p)
)
SELECT __SCHEMA__.step_check((SELECT count(*) FROM acked) = cardinality($13::bigint[])
                            AND EXISTS (SELECT 1 FROM u)) AS ok,
       (SELECT status FROM u) AS status, (SELECT x FROM u) AS x, (SELECT c FROM n) AS notified,
       m.id, m.guid, m.reserved_by
  FROM (SELECT 1) AS one LEFT JOIN m ON true;

-- name: create_job
-- A new job in one statement: its row, activity rows, messages (reserved for us when
-- flow limits allow) and NOTIFYs; no row back when a live job has this id.
WITH j AS (
    INSERT INTO __SCHEMA__.jobs (app_id, job_id, gid, key, topic, version, status, metadata,
                                 data, err, parent_job_id, expired_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
            CASE WHEN $12::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => $12) END)
    ON CONFLICT (app_id, job_id) DO NOTHING
    RETURNING id, xmin::text AS x
), a AS (
    INSERT INTO __SCHEMA__.activities (job, activity_id, dimension, type, leg, done, input,
                                       output, hook, error, ended_at, why)
    SELECT j.id, x.a, x.d, x.t, x.l, x.dn, x.i, x.o, x.h, x.e, CASE WHEN x.dn THEN now() END,
           x.w
      FROM j, jsonb_to_recordset($13::jsonb)
           AS x(a text, d text, t text, l int2, dn bool, i jsonb, o jsonb, h jsonb, e jsonb,
                w jsonb)
), granted AS (
    -- only for a job inserted now (a duplicate's messages are not inserted):
    -- the argument depends on j, so the function runs once per inserted row
    SELECT g.i
      FROM j, LATERAL __SCHEMA__.flow_grant(
                  $1, CASE WHEN j.id IS NULL THEN '[]'::jsonb ELSE $14::jsonb END) AS g(i)
), m AS (
    INSERT INTO __SCHEMA__.messages (app_id, stream, type, priority, job_id, payload,
                                     visible_at, reserved_by, reserved_until, attempts,
                                     ckey, rkey)
    SELECT $1, x.s, x.t, x.p, x.j, x.pl, now() + make_interval(secs => x.d), g.r,
           CASE WHEN g.r IS NULL THEN NULL ELSE now() + make_interval(secs => $15) END,
           CASE WHEN g.r IS NULL THEN 0 ELSE 1 END, x.ck, x.rk
      FROM j, jsonb_to_recordset($14::jsonb)
           AS x(s text, t text, p int2, j text, pl jsonb, d float8, r text, ck text, rk text,
                i int),
           LATERAL (SELECT CASE WHEN x.i IN (SELECT i FROM granted) THEN x.r END AS r) g
    RETURNING id, payload->>'guid' AS guid, reserved_by
), n AS (
    SELECT count(pg_notify($16, p)) AS c FROM j, unnest($17::text[]) AS x(p)
)
SELECT (SELECT id FROM j) AS job_pk, (SELECT x FROM j) AS x, (SELECT c FROM n) AS notified,
       m.id, m.guid, m.reserved_by
  FROM (SELECT 1) AS one LEFT JOIN m ON true;

-- name: list_apps
-- Every deployed version of every app, marking the active one.
SELECT v.app_id, v.version, v.deployed_at, coalesce(a.active_version = v.version, false) AS active
  FROM __SCHEMA__.app_versions v LEFT JOIN __SCHEMA__.apps a ON a.app_id = v.app_id
 ORDER BY v.app_id, v.deployed_at, v.version;

-- name: list_jobs
-- scheduled: a delayed start still waiting for its time (metadata.dly).
SELECT app_id, job_id, topic, version, status, err, parent_job_id, created_at, updated_at,
       expired_at, metadata ? 'dly' AS scheduled
  FROM __SCHEMA__.jobs
 WHERE ($1::text IS NULL OR app_id = $1)
   AND ($2::text IS NULL
        OR ($2 = 'error' AND err IS NOT NULL)
        OR ($2 = 'done' AND err IS NULL AND status <= 0)
        OR ($2 = 'running' AND err IS NULL AND status > 0 AND NOT metadata ? 'dly')
        OR ($2 = 'scheduled' AND err IS NULL AND status > 0 AND metadata ? 'dly'))
 ORDER BY created_at DESC, id DESC
 LIMIT $3;

-- name: job_apps
-- The apps that have a job with id $1 (live or expired).
SELECT app_id FROM __SCHEMA__.jobs WHERE job_id = $1 ORDER BY app_id;

-- name: job_summary
-- A job's columns without its data (timestamps, parent, status, error).
SELECT app_id, job_id, topic, version, status, err, parent_job_id, created_at, updated_at,
       expired_at, metadata ? 'dly' AS scheduled
  FROM __SCHEMA__.jobs
 WHERE app_id = $1 AND job_id = $2;

-- name: child_jobs
-- The jobs whose parent is job $2, oldest first.
SELECT app_id, job_id, topic, version, status, err, parent_job_id, created_at, updated_at,
       expired_at
  FROM __SCHEMA__.jobs
 WHERE app_id = $1 AND parent_job_id = $2
 ORDER BY created_at, id;

-- name: schema_summary
-- Counts for `hotmesh db status`: schema version, apps, jobs by state, messages.
SELECT (SELECT max(version) FROM __SCHEMA__.migrations) AS schema_version,
       (SELECT count(*) FROM __SCHEMA__.apps) AS apps,
       (SELECT count(*) FROM __SCHEMA__.app_versions) AS versions,
       (SELECT count(*) FILTER (WHERE err IS NULL AND status > 0) FROM __SCHEMA__.jobs) AS running,
       (SELECT count(*) FILTER (WHERE err IS NULL AND status <= 0) FROM __SCHEMA__.jobs) AS done,
       (SELECT count(*) FILTER (WHERE err IS NOT NULL) FROM __SCHEMA__.jobs) AS failed,
       (SELECT count(*) FROM __SCHEMA__.messages) AS messages,
       (SELECT coalesce(sum(jsonb_array_length(payload)), 0) FROM __SCHEMA__.signals
         WHERE kind = 'pending') AS early_signals;

-- name: lock_job
-- Lock the live job row $2 (FOR UPDATE) and read it with its activity rows.
SELECT j.id, j.job_id, j.gid, j.key, j.topic, j.version, j.status, j.metadata, j.data, j.err,
       (SELECT coalesce(jsonb_agg(jsonb_build_array(a.activity_id, a.dimension, a.type, a.leg,
                                                    a.done, a.input, a.output, a.hook,
                                                    a.error)), '[]'::jsonb)
          FROM __SCHEMA__.activities a WHERE a.job = j.id) AS acts
  FROM __SCHEMA__.jobs j
 WHERE j.app_id = $1 AND j.job_id = $2 AND (j.expired_at IS NULL OR j.expired_at > now())
   FOR UPDATE OF j;

-- name: facets_insert
-- Index job $2/$3 under each facet of $4 (signal-all targets).
INSERT INTO __SCHEMA__.job_facets (app_id, facet, job, job_id)
SELECT $1, f, $2, $3 FROM unnest($4::text[]) AS u(f)
ON CONFLICT DO NOTHING;

-- name: facet_jobs
-- Running jobs indexed under facet $2, oldest first.
SELECT f.job_id FROM __SCHEMA__.job_facets f JOIN __SCHEMA__.jobs j ON j.id = f.job
 WHERE f.app_id = $1 AND f.facet = $2 AND j.status > 0
 ORDER BY j.id;

-- name: facet_scrub
-- Drop facet $2 of app $1 from the index.
DELETE FROM __SCHEMA__.job_facets WHERE app_id = $1 AND facet = $2;

-- name: active_children
-- Running child jobs of job $2 (for a descending interrupt).
SELECT job_id FROM __SCHEMA__.jobs
 WHERE app_id = $1 AND parent_job_id = $2 AND status > 0
   AND (expired_at IS NULL OR expired_at > now())
 ORDER BY id;

-- name: escalation_open
-- Open (or refresh) the pending escalation of a hook waiting on signal key $2.
INSERT INTO __SCHEMA__.escalations (app_id, signal_key, topic, workflow_id, activity_id, type,
                                    subtype, role, description, priority, metadata, envelope)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, 5), $11, $12)
ON CONFLICT (app_id, topic, signal_key) WHERE status = 'pending' DO UPDATE
   SET workflow_id = EXCLUDED.workflow_id, activity_id = EXCLUDED.activity_id,
       type = EXCLUDED.type, subtype = EXCLUDED.subtype, role = EXCLUDED.role,
       description = EXCLUDED.description, priority = EXCLUDED.priority,
       metadata = EXCLUDED.metadata, envelope = EXCLUDED.envelope, updated_at = now();

-- name: escalation_close
-- Close the pending escalation of topic $2 and key $3 with status $4.
UPDATE __SCHEMA__.escalations SET status = $4, updated_at = now()
 WHERE app_id = $1 AND topic = $2 AND signal_key = $3 AND status = 'pending';

-- name: escalation_cancel_job
-- Cancel every pending escalation of job $2.
UPDATE __SCHEMA__.escalations SET status = 'cancelled', updated_at = now()
 WHERE app_id = $1 AND workflow_id = $2 AND status = 'pending';

-- name: escalation_list
-- Escalations of app $1 by status $2 and role $3 (either optional), most urgent first.
SELECT * FROM __SCHEMA__.escalations
 WHERE app_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR role = $3)
 ORDER BY priority, created_at
 LIMIT $4;

-- name: escalation_get
-- One escalation row by id.
SELECT * FROM __SCHEMA__.escalations WHERE app_id = $1 AND id = $2;

-- name: escalation_by_key
-- The newest escalation row for signal key $2.
SELECT * FROM __SCHEMA__.escalations
 WHERE app_id = $1 AND signal_key = $2
 ORDER BY created_at DESC LIMIT 1;

-- name: escalation_claim
-- Assign pending escalation $2 to $3 for $4 seconds, if free, ours, or expired.
UPDATE __SCHEMA__.escalations
   SET assigned_to = $3, assigned_until = now() + make_interval(secs => $4),
       claimed_at = now(), updated_at = now()
 WHERE app_id = $1 AND id = $2 AND status = 'pending'
   AND (assigned_to IS NULL OR assigned_to = $3 OR assigned_until < now())
RETURNING id;

-- name: escalation_release
-- Unassign pending escalation $2.
UPDATE __SCHEMA__.escalations
   SET assigned_to = NULL, assigned_until = NULL, updated_at = now()
 WHERE app_id = $1 AND id = $2 AND status = 'pending'
RETURNING id;

-- name: escalation_resolve
-- Resolve pending escalation $2 with payload $3; returns its topic and key.
UPDATE __SCHEMA__.escalations
   SET status = 'resolved', resolved_at = now(), resolver_payload = $3, updated_at = now()
 WHERE app_id = $1 AND id = $2 AND status = 'pending'
RETURNING topic, signal_key;

-- name: extend_leases
-- Extend owner $2's claims on messages $1 by $3 seconds (the heartbeat). A row locked
-- by a transaction (its answer being written, its ack) is skipped: the heartbeat
-- never waits for it, so it lasts one round trip (waiting, a cut connection lost it
-- and the claims lapsed); the next beat extends it if that transaction rolled back.
UPDATE __SCHEMA__.messages SET reserved_until = now() + make_interval(secs => $3)
 WHERE id IN (SELECT id FROM __SCHEMA__.messages
               WHERE id = ANY($1::bigint[]) AND reserved_by = $2
                 FOR UPDATE SKIP LOCKED)
   AND reserved_by = $2;

-- name: renew_claims
-- Extend claims that `owner` ($2) still holds; their ids (a lapsed claim may be another's).
UPDATE __SCHEMA__.messages SET reserved_until = now() + make_interval(secs => $3)
 WHERE id = ANY($1::bigint[]) AND reserved_by = $2
RETURNING id;

-- name: release_stream
-- Give back owner $3's claims on one stream $2.
UPDATE __SCHEMA__.messages SET reserved_by = NULL, reserved_until = NULL
 WHERE app_id = $1 AND stream = $2 AND reserved_by = $3;

-- name: ack_and_lock_many
-- Ack messages $3 (held by $4) and lock their job $2 with its activity rows, in one
-- statement (a group commit); no row when none of the claims was still held.
WITH acked AS (
    DELETE FROM __SCHEMA__.messages WHERE id = ANY($3::bigint[]) AND reserved_by = $4
    RETURNING id
)
SELECT j.id, j.job_id, j.gid, j.key, j.topic, j.version, j.status, j.metadata, j.data, j.err,
       (SELECT coalesce(jsonb_agg(jsonb_build_array(a.activity_id, a.dimension, a.type, a.leg,
                                                    a.done, a.input, a.output, a.hook,
                                                    a.error)), '[]'::jsonb)
          FROM __SCHEMA__.activities a WHERE a.job = j.id) AS acts,
       (SELECT array_agg(id) FROM acked) AS acked
  FROM __SCHEMA__.jobs j
 WHERE j.app_id = $1 AND j.job_id = $2 AND EXISTS (SELECT 1 FROM acked)
   FOR UPDATE OF j;

-- name: prune_jobs
-- Rows of jobs expired more than $2 seconds ago (activities, registrations and
-- facets go with them: ON DELETE CASCADE); at most $3 per call, oldest first.
-- A job expires after it was created, so only jobs created more than $2 seconds
-- ago can qualify: the scan walks jobs_app_created over those alone, not over
-- every job kept inside the retention window (expired_at has no index: one
-- would cost every job's completion its HOT update).
-- The ids are picked once, as in claim_plain: under `id IN (...)` one call
-- could delete every expired job, not $3.
DELETE FROM __SCHEMA__.jobs
 WHERE id = ANY (ARRAY(SELECT id FROM __SCHEMA__.jobs
               WHERE app_id = $1 AND created_at < now() - make_interval(secs => $2)
                 AND expired_at IS NOT NULL
                 AND expired_at < now() - make_interval(secs => $2)
               ORDER BY created_at, id
               LIMIT $3
                 FOR UPDATE SKIP LOCKED));

-- name: prune_signals
-- Early signals that no hook took before they expired; at most $2 per call
-- (keys picked once, as in claim_plain).
DELETE FROM __SCHEMA__.signals
 WHERE app_id = $1
   AND key = ANY (ARRAY(SELECT key FROM __SCHEMA__.signals
                WHERE app_id = $1 AND kind = 'pending' AND expires_at < now()
                LIMIT $2
                  FOR UPDATE SKIP LOCKED));

-- name: dedupe_take
-- Take dedupe key $2 for job $3 for $4 seconds unless a live row holds it; the
-- holder's job id either way (a concurrent taker waits for our commit).
WITH took AS (
    INSERT INTO __SCHEMA__.dedupe (app_id, key, job_id, expires_at)
    VALUES ($1, $2, $3, now() + make_interval(secs => $4))
    ON CONFLICT (app_id, key) DO UPDATE
       SET job_id = EXCLUDED.job_id, expires_at = EXCLUDED.expires_at
     WHERE dedupe.expires_at <= now()
    RETURNING job_id
)
SELECT job_id FROM took;

-- name: dedupe_holder
-- The job id holding a live dedupe key.
SELECT job_id FROM __SCHEMA__.dedupe WHERE app_id = $1 AND key = $2;

-- name: dedupe_prune
-- Up to 100 expired dedupe rows of the app (picked once, as in claim_plain).
DELETE FROM __SCHEMA__.dedupe
 WHERE ctid = ANY (ARRAY(SELECT ctid FROM __SCHEMA__.dedupe
                 WHERE app_id = $1 AND expires_at < now()
                 LIMIT 100
                   FOR UPDATE SKIP LOCKED));

-- name: ack_waiting
-- A worker callback returned None ("I will answer later through hm.add"): ack its
-- message ($1, if $2 still holds it) and mark the open activity row ($5 in
-- dimension $6 of job $4 of app $3, worker topic $7) as waiting for that answer;
-- true when acked.
WITH acked AS (
    DELETE FROM __SCHEMA__.messages WHERE id = $1 AND reserved_by = $2 RETURNING id
), marked AS (
    UPDATE __SCHEMA__.activities a
       SET output = jsonb_set(coalesce(a.output, '{}'::jsonb), ARRAY['metadata'],
                              coalesce(a.output->'metadata', '{}'::jsonb)
                              || jsonb_build_object('waiting', 'answer',
                                                    'topic', $7::text))
      FROM __SCHEMA__.jobs j
     WHERE EXISTS (SELECT 1 FROM acked)
       AND j.app_id = $3 AND j.job_id = $4 AND a.job = j.id
       AND a.activity_id = $5 AND a.dimension = $6 AND NOT a.done
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM acked) AS acked;

-- name: rerun_link
-- Job $2 of app $1 re-runs job $3 ("run again"): written with the new job.
INSERT INTO __SCHEMA__.reruns (app_id, job_id, rerun_of) VALUES ($1, $2, $3);
