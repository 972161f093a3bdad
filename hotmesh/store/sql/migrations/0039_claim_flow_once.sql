-- hotmesh schema v39: claim_flow picks the messages of an unlimited stream once (issue 21).
--
-- Its branch for a stream without flow limits (every worker-stream claim)
-- updated `m.id IN (SELECT ... LIMIT p_n FOR UPDATE SKIP LOCKED)`. Under the
-- statistics of a queue that was drained when it was analysed, the planner
-- may run that sub-select as the inner side of a nested-loop semi-join, once
-- per row it updates, so one claim for p_n messages took every visible one:
-- a worker's capacity broken, one process taking a whole burst. The same fix
-- as claim_plain's and the prunes' (`= ANY(ARRAY(...))`, an InitPlan run
-- once). The rest of the function is migration 0020's, unchanged.
CREATE OR REPLACE FUNCTION __SCHEMA__.claim_flow(
    p_app text, p_stream text, p_owner text, p_lease float8, p_n integer)
RETURNS TABLE (mid bigint, mtype text, mpayload jsonb, mattempts integer,
               mpriority integer, mckey text, mrkey text, mwait float8)
LANGUAGE plpgsql AS $$
DECLARE
    lim   __SCHEMA__.flow_limits%ROWTYPE;
    t     timestamptz;
    budget integer := p_n;
    used  integer;
    wait  float8;
    nxt   float8;
BEGIN
    SELECT * INTO lim FROM __SCHEMA__.flow_limits f
     WHERE f.app_id = p_app AND f.stream = p_stream
       FOR UPDATE;
    IF lim.stream IS NOT NULL THEN
        -- every gate: no hand-over of the stream is uncommitted while we count
        PERFORM __SCHEMA__.flow_close_gates(p_app, p_stream);
    END IF;
    IF lim.stream IS NULL THEN
        RETURN QUERY
        UPDATE __SCHEMA__.messages m
           SET reserved_by = p_owner, reserved_until = now() + make_interval(secs => p_lease),
               attempts = m.attempts + 1
         WHERE m.id = ANY(ARRAY(
               SELECT x.id FROM __SCHEMA__.messages x
                WHERE x.app_id = p_app AND x.stream = p_stream AND x.visible_at <= now()
                  AND (x.reserved_by IS NULL OR x.reserved_until < now())
                ORDER BY x.priority DESC, x.id
                LIMIT p_n
                  FOR UPDATE SKIP LOCKED))
        RETURNING m.id, m.type, m.payload, m.attempts, m.priority::integer, m.ckey, m.rkey,
                  NULL::float8;
        RETURN;
    END IF;
    -- Read after the lock: each statement here sees every claim committed
    -- before it (READ COMMITTED), and the time is the time of this claim.
    t := clock_timestamp();
    IF lim.concurrency IS NOT NULL OR lim.key_concurrency IS NOT NULL THEN
        SELECT count(*), extract(epoch FROM min(x.reserved_until) - t)
          INTO used, nxt
          FROM __SCHEMA__.messages x
         WHERE x.app_id = p_app AND x.stream = p_stream
           AND x.reserved_by IS NOT NULL AND x.reserved_until >= t;
        wait := nxt;
        IF lim.concurrency IS NOT NULL THEN
            budget := least(budget, lim.concurrency - used);
        END IF;
    END IF;
    IF lim.rate_limit IS NOT NULL THEN
        DELETE FROM __SCHEMA__.flow_starts s
         WHERE s.app_id = p_app AND s.stream = p_stream
           AND s.at <= t - make_interval(secs => lim.rate_period);
        SELECT count(*), extract(epoch FROM min(s.at) - t) + lim.rate_period
          INTO used, nxt
          FROM __SCHEMA__.flow_starts s
         WHERE s.app_id = p_app AND s.stream = p_stream;
        wait := least(wait, nxt);
        IF NOT lim.rate_keyed THEN
            budget := least(budget, lim.rate_limit - used);
        END IF;
    END IF;
    IF budget > 0 THEN
        RETURN QUERY
        WITH running AS (
            SELECT x.ckey, count(*) AS c FROM __SCHEMA__.messages x
             WHERE lim.key_concurrency IS NOT NULL
               AND x.app_id = p_app AND x.stream = p_stream
               AND x.reserved_by IS NOT NULL AND x.reserved_until >= t
             GROUP BY x.ckey
        ), started AS (
            SELECT s.rkey, count(*) AS c FROM __SCHEMA__.flow_starts s
             WHERE lim.rate_keyed AND s.app_id = p_app AND s.stream = p_stream
             GROUP BY s.rkey
        ), waiting AS (
            SELECT x.id, x.priority, x.ckey, x.rkey,
                   row_number() OVER (PARTITION BY x.ckey ORDER BY x.priority DESC, x.id) AS cn,
                   row_number() OVER (PARTITION BY x.rkey ORDER BY x.priority DESC, x.id) AS rn
              FROM __SCHEMA__.messages x
             WHERE x.app_id = p_app AND x.stream = p_stream AND x.visible_at <= t
               AND (x.reserved_by IS NULL OR x.reserved_until < t)
        ), picked AS (
            SELECT w.id FROM waiting w
              LEFT JOIN running r ON r.ckey IS NOT DISTINCT FROM w.ckey
              LEFT JOIN started s ON s.rkey = coalesce(w.rkey, '')
             WHERE (lim.key_concurrency IS NULL OR w.cn + coalesce(r.c, 0) <= lim.key_concurrency)
               AND (NOT lim.rate_keyed OR w.rn + coalesce(s.c, 0) <= lim.rate_limit)
             ORDER BY w.priority DESC, w.id
             LIMIT budget
        ), claimed AS (
            UPDATE __SCHEMA__.messages m
               SET reserved_by = p_owner, reserved_until = t + make_interval(secs => p_lease),
                   attempts = m.attempts + 1
              FROM picked
             WHERE m.id = picked.id AND (m.reserved_by IS NULL OR m.reserved_until < t)
            RETURNING m.id, m.type, m.payload, m.attempts, m.priority::integer, m.ckey, m.rkey
        ), logged AS (
            INSERT INTO __SCHEMA__.flow_starts (app_id, stream, rkey, at)
            SELECT p_app, p_stream, CASE WHEN lim.rate_keyed THEN coalesce(c.rkey, '') ELSE '' END, t
              FROM claimed c
             WHERE lim.rate_limit IS NOT NULL
        )
        SELECT c.id, c.type, c.payload, c.attempts, c.priority, c.ckey, c.rkey, NULL::float8
          FROM claimed c;
    END IF;
    -- Held back: a visible message is still unclaimed (this statement sees our
    -- own claims). Only then must the caller claim again when a slot frees.
    IF EXISTS (SELECT 1 FROM __SCHEMA__.messages x
                WHERE x.app_id = p_app AND x.stream = p_stream AND x.visible_at <= t
                  AND (x.reserved_by IS NULL OR x.reserved_until < t)) THEN
        RETURN QUERY SELECT NULL::bigint, NULL::text, NULL::jsonb, NULL::integer,
                            NULL::integer, NULL::text, NULL::text, greatest(wait, 0.0);
    END IF;
END
$$;
