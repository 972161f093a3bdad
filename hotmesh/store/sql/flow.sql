-- Flow limits of worker topics (migration 0010): what hotmesh.flow_control runs.

-- name: set_limits
-- Set one stream's limits ($3..$7), declared by $8 ('' for the API, else a version),
-- with the key expressions $9 (concurrency) and $10 (rate) of API-set keyed limits.
INSERT INTO __SCHEMA__.flow_limits (app_id, stream, concurrency, key_concurrency, rate_limit,
                                    rate_period, rate_keyed, source, ckey_expr, rkey_expr)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (app_id, stream) DO UPDATE
   SET concurrency = EXCLUDED.concurrency, key_concurrency = EXCLUDED.key_concurrency,
       rate_limit = EXCLUDED.rate_limit, rate_period = EXCLUDED.rate_period,
       rate_keyed = EXCLUDED.rate_keyed, source = EXCLUDED.source,
       ckey_expr = EXCLUDED.ckey_expr, rkey_expr = EXCLUDED.rkey_expr, updated_at = now();

-- name: clear_limits
-- Remove one stream's limits (its claims are plain again).
DELETE FROM __SCHEMA__.flow_limits WHERE app_id = $1 AND stream = $2;

-- name: clear_manifest_limits
-- Remove the limits an earlier manifest version declared on streams not in $2.
DELETE FROM __SCHEMA__.flow_limits
 WHERE app_id = $1 AND source <> '' AND NOT (stream = ANY($2::text[]));

-- name: list_limits
-- Every limited stream of the app, with how many of its messages run now and wait.
SELECT f.stream, f.concurrency, f.key_concurrency, f.rate_limit, f.rate_period, f.rate_keyed,
       f.source, f.updated_at, f.ckey_expr, f.rkey_expr,
       (SELECT count(*) FROM __SCHEMA__.messages m
         WHERE m.app_id = f.app_id AND m.stream = f.stream
           AND m.reserved_by IS NOT NULL AND m.reserved_until >= now()) AS running,
       (SELECT count(*) FROM __SCHEMA__.messages m
         WHERE m.app_id = f.app_id AND m.stream = f.stream
           AND (m.reserved_by IS NULL OR m.reserved_until < now())) AS waiting
  FROM __SCHEMA__.flow_limits f
 WHERE f.app_id = $1
 ORDER BY f.stream;

-- name: key_exprs
-- Every limited stream of the app, with the key expressions of its API-set
-- keyed limits (NULL when it has none).
SELECT stream, ckey_expr, rkey_expr FROM __SCHEMA__.flow_limits
 WHERE app_id = $1;
