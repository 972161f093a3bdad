-- hotmesh schema v36: messages not yet due apart from the work due now (issue 21).
--
-- A message inserted with a delay (a timer, a retry's backoff) has visible_at
-- after its created_at (both now() of the inserting statement plus the delay);
-- a message due at once has them equal. Every message not yet visible is in
-- messages_delayed, ordered by due time, so the engine stream's claim reads
-- the due ones from there and the work due now from messages_now, and neither
-- walks past the sleeping timers; next_due reads the earliest due times from
-- messages_delayed. messages_ready stays for the flow-limited claim and the
-- console. No step changes visible_at or created_at, so a claim's update of
-- reserved_by stays a HOT update.
CREATE INDEX IF NOT EXISTS messages_now
    ON __SCHEMA__.messages (app_id, stream, priority DESC, id)
    WHERE visible_at <= created_at;
CREATE INDEX IF NOT EXISTS messages_delayed
    ON __SCHEMA__.messages (app_id, stream, visible_at)
    WHERE visible_at > created_at;
