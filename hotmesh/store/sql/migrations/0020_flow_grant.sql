-- hotmesh schema v20: hand-over within flow limits. The statements that insert
-- messages (write_step, create_job, insert_messages) ask flow_grant which of the
-- messages the engine wants inserted already claimed by its own process may be:
-- all of them on a stream without limits, as before; on a limited stream, those
-- its limits surely leave room for, so limited work no longer costs a claim each.
--
-- Gates. Each limited stream has 16 gates, transaction-scoped advisory locks
-- (flow_gate). A claim (claim_flow) takes the stream's flow_limits row and then
-- every gate; a hand-over takes one gate only, so up to 16 hand-overs of a
-- stream run at once and none runs while a claim counts. Holding its gate, a
-- hand-over counts the running claims in a statement of its own, with a fresh
-- snapshot (READ COMMITTED) that sees every claim and hand-over committed
-- before the gate was granted; the gate is held until its statement's
-- transaction commits. What it cannot see are the grants of the (at most 15)
-- other hand-overs holding gates now, so with a topic-wide limit (concurrency,
-- or a rate without key) a hand-over grants one message, and only while the
-- limit leaves room for those 15 too. Per-key limits take the gate of the key
-- (every hand-over of one key passes the same gate), so per-key counts are
-- exact. When room is short or older work waits, the message is simply not
-- granted: it is inserted unclaimed and a claim takes it.
--
-- Nothing to leak: the running count is still the claims themselves
-- (reserved_until in the future), so a killed process's slots come back when
-- its claims expire, and a killed transaction's gates go with it.
--
-- Work that waits goes first: a message is not granted while an older visible
-- message that a claim would take before it (priority, then FIFO) is still
-- unclaimed; under keyed limits only waiting work of the same key counts (so
-- other keys are not held back; the claim keeps the order across keys).

-- The advisory lock key of a stream's gates (schema, app and stream hashed).
CREATE OR REPLACE FUNCTION __SCHEMA__.flow_gate(p_app text, p_stream text)
RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT hashtext('__SCHEMA__.flow/' || p_app || '/' || p_stream)
$$;

-- Take every gate of a stream, in order (claims; waits for hand-overs to commit).
CREATE OR REPLACE FUNCTION __SCHEMA__.flow_close_gates(p_app text, p_stream text)
RETURNS void LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(__SCHEMA__.flow_gate(p_app, p_stream), g)
      FROM generate_series(0, 15) AS g
     ORDER BY g;
$$;

-- claim_flow of migration 0010, now closing the stream's gates after its row lock.
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
         WHERE m.id IN (
               SELECT x.id FROM __SCHEMA__.messages x
                WHERE x.app_id = p_app AND x.stream = p_stream AND x.visible_at <= now()
                  AND (x.reserved_by IS NULL OR x.reserved_until < now())
                ORDER BY x.priority DESC, x.id
                LIMIT p_n
                  FOR UPDATE SKIP LOCKED)
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

-- Which messages of $2 (message_doc: s stream, r reserved_by, i index, ck, rk, p)
-- may be inserted already claimed: their indexes.
CREATE OR REPLACE FUNCTION __SCHEMA__.flow_grant(p_app text, p_doc jsonb)
RETURNS SETOF integer
LANGUAGE plpgsql AS $$
DECLARE
    others  CONSTANT integer := 15;  -- other hand-overs that may hold a gate now
    st      text;
    lim     __SCHEMA__.flow_limits%ROWTYPE;
    t       timestamptz;
    used    integer;
    started integer;
    wide    boolean;
    gate    integer;
    k       integer;
    m       record;
    given   text[];
BEGIN
    -- streams in one order, and gates in order within each
    FOR st IN SELECT DISTINCT x.s FROM jsonb_to_recordset(p_doc) AS x(s text, r text)
               WHERE x.r IS NOT NULL ORDER BY 1 LOOP
        SELECT * INTO lim FROM __SCHEMA__.flow_limits f
         WHERE f.app_id = p_app AND f.stream = st;
        IF NOT FOUND THEN
            RETURN QUERY SELECT x.i FROM jsonb_to_recordset(p_doc) AS x(s text, r text, i integer)
                          WHERE x.s = st AND x.r IS NOT NULL;
            CONTINUE;
        END IF;
        -- one key kind per gate: a stream keyed by two different keys waits for claims
        CONTINUE WHEN lim.key_concurrency IS NOT NULL AND lim.rate_keyed;
        k := __SCHEMA__.flow_gate(p_app, st);
        wide := lim.concurrency IS NOT NULL
                OR (lim.rate_limit IS NOT NULL AND NOT lim.rate_keyed);
        IF lim.key_concurrency IS NOT NULL OR lim.rate_keyed THEN
            PERFORM pg_advisory_xact_lock(k, q.g)
               FROM (SELECT DISTINCT ((hashtext(coalesce(
                            CASE WHEN lim.rate_keyed THEN x.rk ELSE x.ck END, ''))::bigint
                            % 16) + 16)::integer % 16 AS g
                       FROM jsonb_to_recordset(p_doc) AS x(s text, r text, ck text, rk text)
                      WHERE x.s = st AND x.r IS NOT NULL
                      ORDER BY 1) AS q;
        ELSE
            gate := NULL;
            FOR n IN 0..15 LOOP
                IF pg_try_advisory_xact_lock(k, (n + pg_backend_pid()) % 16) THEN
                    gate := n;
                    EXIT;
                END IF;
            END LOOP;
            IF gate IS NULL THEN
                -- a claim is counting (it takes every gate), or 16 hand-overs
                -- run: wait for one gate (a claim is short)
                PERFORM pg_advisory_xact_lock(k, pg_backend_pid() % 16);
            END IF;
        END IF;
        -- A fresh snapshot, taken after the gate: every committed claim counts.
        t := clock_timestamp();
        SELECT count(*) INTO used FROM __SCHEMA__.messages x
         WHERE x.app_id = p_app AND x.stream = st
           AND x.reserved_by IS NOT NULL AND x.reserved_until >= t;
        IF lim.rate_limit IS NOT NULL THEN
            SELECT count(*) INTO started FROM __SCHEMA__.flow_starts s
             WHERE s.app_id = p_app AND s.stream = st
               AND s.at > t - make_interval(secs => lim.rate_period);
        END IF;
        given := '{}';
        FOR m IN SELECT x.i, x.ck, x.rk, coalesce(x.p, 0) AS p
                   FROM jsonb_to_recordset(p_doc)
                        AS x(s text, r text, i integer, ck text, rk text, p integer)
                  WHERE x.s = st AND x.r IS NOT NULL
                  ORDER BY x.i LOOP
            -- a topic-wide limit: one grant, leaving room for the other gates'
            EXIT WHEN wide AND cardinality(given) >= 1;
            EXIT WHEN lim.concurrency IS NOT NULL AND used + 1 + others > lim.concurrency;
            EXIT WHEN lim.rate_limit IS NOT NULL AND NOT lim.rate_keyed
                      AND started + 1 + others > lim.rate_limit;
            CONTINUE WHEN EXISTS (
                SELECT 1 FROM __SCHEMA__.messages x
                 WHERE x.app_id = p_app AND x.stream = st AND x.visible_at <= t
                   AND (x.reserved_by IS NULL OR x.reserved_until < t)
                   AND x.priority >= m.p
                   AND CASE WHEN lim.key_concurrency IS NOT NULL
                                 THEN x.ckey IS NOT DISTINCT FROM m.ck
                            WHEN lim.rate_keyed
                                 THEN coalesce(x.rkey, '') = coalesce(m.rk, '')
                            ELSE true END);
            IF lim.key_concurrency IS NOT NULL THEN
                CONTINUE WHEN lim.key_concurrency <=
                    (SELECT count(*) FROM __SCHEMA__.messages x
                      WHERE x.app_id = p_app AND x.stream = st
                        AND x.ckey IS NOT DISTINCT FROM m.ck
                        AND x.reserved_by IS NOT NULL AND x.reserved_until >= t)
                    + (SELECT count(*) FROM unnest(given) AS g(c)
                        WHERE g.c IS NOT DISTINCT FROM m.ck);
            END IF;
            IF lim.rate_keyed THEN
                -- flow_starts rows inserted below are seen here (a later statement)
                CONTINUE WHEN lim.rate_limit <=
                    (SELECT count(*) FROM __SCHEMA__.flow_starts s
                      WHERE s.app_id = p_app AND s.stream = st
                        AND s.rkey = coalesce(m.rk, '')
                        AND s.at > t - make_interval(secs => lim.rate_period));
            END IF;
            IF lim.rate_limit IS NOT NULL THEN
                INSERT INTO __SCHEMA__.flow_starts (app_id, stream, rkey, at)
                VALUES (p_app, st,
                        CASE WHEN lim.rate_keyed THEN coalesce(m.rk, '') ELSE '' END, t);
                started := started + 1;
            END IF;
            used := used + 1;
            given := given || m.ck;
            RETURN NEXT m.i;
        END LOOP;
    END LOOP;
END
$$;
