-- hotmesh schema v4: optimistic steps. A process that wrote a job's last step
-- keeps that state and writes the next step in one statement, guarded by the
-- job row's xmin instead of a lock-and-read round trip; step_check aborts the
-- statement (SQLSTATE HM409) when the state was stale or a message's lease
-- was lost, and the engine falls back to the locking path.
CREATE OR REPLACE FUNCTION __SCHEMA__.step_check(ok boolean) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT ok THEN
        RAISE EXCEPTION 'stale job state' USING ERRCODE = 'HM409';
    END IF;
    RETURN true;
END
$$;
