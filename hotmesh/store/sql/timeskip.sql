-- The statements of the time-skipping test environment (hotmesh.testing):
-- what the database waits for, and moving its timers ahead. They read every
-- app of the schema: the environment owns its database.

-- name: pending
-- busy: messages that can run now or are running (claimed); message_in:
-- seconds until the next timer (a delayed message); start_at: the earliest
-- delayed start; tick_at: the earliest tick of an active schedule (those two
-- are due on the environment's clock, not the database's).
SELECT (SELECT count(*) FROM __SCHEMA__.messages
         WHERE visible_at <= now() OR reserved_by IS NOT NULL)::integer AS busy,
       (SELECT extract(epoch FROM min(visible_at) - now())::float8
          FROM __SCHEMA__.messages
         WHERE visible_at > now() AND reserved_by IS NULL) AS message_in,
       (SELECT min(start_at) FROM __SCHEMA__.delayed_starts) AS start_at,
       (SELECT min(s.next_at) FROM __SCHEMA__.schedules s
          LEFT JOIN __SCHEMA__.apps a ON a.app_id = s.app_id
         WHERE NOT s.paused
           AND (s.version = '' OR s.version = a.active_version)) AS tick_at;

-- name: shift
-- Bring every timer (a message not visible yet) $1 seconds closer; returns
-- the streams that have one, to wake their consumers.
WITH moved AS (
    UPDATE __SCHEMA__.messages
       SET visible_at = visible_at - make_interval(secs => $1)
     WHERE visible_at > now()
 RETURNING app_id, stream)
SELECT DISTINCT app_id, stream FROM moved;
