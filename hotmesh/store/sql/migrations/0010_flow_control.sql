-- hotmesh schema v10: flow control. A worker topic may have limits, one row per
-- (app, stream) in flow_limits, that every process obeys: at most `concurrency`
-- claimed-and-unexpired messages at once, at most `key_concurrency` of them per
-- concurrency key (messages.ckey), at most `rate_limit` claims in any
-- `rate_period` seconds (per rate key, messages.rkey, when `rate_keyed`).
-- The running count is the claims themselves (reserved_until in the future), so
-- a killed process's slots come back when its claims expire: nothing to leak.
-- Claims of a limited stream take its flow_limits row FOR UPDATE, so they run
-- one at a time and each sees the claims committed before it.
ALTER TABLE __SCHEMA__.messages
    ADD COLUMN IF NOT EXISTS ckey text,
    ADD COLUMN IF NOT EXISTS rkey text;

CREATE TABLE IF NOT EXISTS __SCHEMA__.flow_limits (
    app_id          text        NOT NULL,
    stream          text        NOT NULL,
    concurrency     integer     CHECK (concurrency > 0),
    key_concurrency integer     CHECK (key_concurrency > 0),
    rate_limit      integer     CHECK (rate_limit > 0),
    rate_period     float8      CHECK (rate_period > 0),
    rate_keyed      boolean     NOT NULL DEFAULT false,
    -- '' when set with set_topic_limits, else the manifest version that declared it
    source          text        NOT NULL DEFAULT '',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (app_id, stream),
    CHECK ((rate_limit IS NULL) = (rate_period IS NULL))
);

-- Claims of rate-limited streams inside the current window (older rows are
-- deleted by the next claim of the stream).
CREATE TABLE IF NOT EXISTS __SCHEMA__.flow_starts (
    app_id text        NOT NULL,
    stream text        NOT NULL,
    rkey   text        NOT NULL DEFAULT '',
    at     timestamptz NOT NULL
);

CREATE INDEX IF NOT EXISTS flow_starts_window
    ON __SCHEMA__.flow_starts (app_id, stream, at);

-- Claim up to p_n messages of one stream. Without a flow_limits row this is
-- the plain claim (highest priority first, then oldest). With one, the row is
-- locked, the budget is what the limits leave, keyed limits keep FIFO order
-- within each key and skip keys at their limit, and, when the limits held
-- back a visible message, a last row with mid NULL says so and, in mwait, when
-- a slot may free up without anyone being told (a claim expiring, a rate
-- window moving on).
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
    IF NOT FOUND THEN
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
