-- Signal keys. A key's row is one of: a waiting hook ('hook'),
-- signals kept until a hook registers ('pending'), or the tombstone of a hook
-- that took its signal ('spent'). 'hook' and 'spent' rows, and 'pending' rows
-- kept for a known job, are bound to that job and deleted with it, so a key
-- whose job has finished refuses late signals instead of keeping them for a
-- later job that reuses the id (issue 20 §5).

-- name: signal_register
-- Register a waiting hook if the key has no row yet.
INSERT INTO __SCHEMA__.signals (app_id, key, job, payload, kind)
VALUES ($1, $2, $3, $4, 'hook')
ON CONFLICT (app_id, key) DO NOTHING
RETURNING key;

-- name: signal_lock
-- The row of a key, locked, with its job's id and whether that job has finished.
SELECT s.kind, s.job, s.payload,
       (s.expires_at IS NOT NULL AND s.expires_at <= now()) AS stale,
       j.job_id AS owner,
       coalesce(j.status <= 0 OR j.expired_at <= now(), false) AS owner_done,
       CASE WHEN s.kind = 'pending' THEN jsonb_array_length(s.payload) ELSE 0 END AS kept,
       CASE WHEN s.kind = 'pending' THEN octet_length(s.payload::text) ELSE 0 END AS kept_bytes
  FROM __SCHEMA__.signals s LEFT JOIN __SCHEMA__.jobs j ON j.id = s.job
 WHERE s.app_id = $1 AND s.key = $2
   FOR UPDATE OF s;

-- name: signal_set
-- Make the key a waiting hook (or a tombstone) of job $4.
UPDATE __SCHEMA__.signals
   SET kind = $3, job = $4, payload = $5, expires_at = NULL, created_at = now()
 WHERE app_id = $1 AND key = $2;

-- name: signal_spend
-- A hook took its signal: the key stays, bound to its job, as a tombstone.
UPDATE __SCHEMA__.signals SET kind = 'spent', payload = NULL, expires_at = NULL
 WHERE app_id = $1 AND key = $2;

-- name: signal_append
-- One more signal kept under a pending key.
UPDATE __SCHEMA__.signals SET payload = payload || $3::jsonb
 WHERE app_id = $1 AND key = $2;

-- name: signal_keep
-- Turn the key's row into a fresh pending list ($3) kept $4 seconds for job $5 (or none).
UPDATE __SCHEMA__.signals
   SET kind = 'pending', job = $5, payload = $3,
       expires_at = now() + make_interval(secs => $4), created_at = now()
 WHERE app_id = $1 AND key = $2;

-- name: signal_pend
-- Keep signals ($3) under a key that has no row yet, $4 seconds, for job $5 (or none).
INSERT INTO __SCHEMA__.signals (app_id, key, job, payload, kind, expires_at)
VALUES ($1, $2, $5, $3, 'pending', now() + make_interval(secs => $4))
ON CONFLICT (app_id, key) DO NOTHING
RETURNING key;

-- name: signal_unregister
-- A timer won the race: the job's hooks under these keys become tombstones.
UPDATE __SCHEMA__.signals SET kind = 'spent', payload = NULL, expires_at = NULL
 WHERE app_id = $1 AND key = ANY($2::text[]) AND kind = 'hook' AND job = $3;

-- name: signal_job
-- The row id of job $2, and whether it has finished (none if it does not exist).
SELECT id, coalesce(status <= 0 OR expired_at <= now(), false) AS done
  FROM __SCHEMA__.jobs WHERE app_id = $1 AND job_id = $2;

-- name: signals_pending
-- Early signals of an app (optionally of job $2, or keys starting with $3), oldest first.
SELECT s.key, jsonb_array_length(s.payload) AS count, octet_length(s.payload::text) AS bytes,
       j.job_id, s.created_at, s.expires_at
  FROM __SCHEMA__.signals s LEFT JOIN __SCHEMA__.jobs j ON j.id = s.job
 WHERE s.app_id = $1 AND s.kind = 'pending'
   AND ($2::text IS NULL OR j.job_id = $2)
   AND ($3::text IS NULL OR starts_with(s.key, $3))
 ORDER BY s.created_at, s.key
 LIMIT $4;
