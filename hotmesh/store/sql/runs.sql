-- Workflow runs (MemFlow's ``client.reset``): the run a reset replaces keeps
-- its row under another id, in the same transaction that starts the new run
-- under the workflow's id.

-- name: archive_run
-- Give the finished job $2 of app $1, generation $3, the id $4: the workflow's
-- id is then free for a new run. No row back when that job is not there, still
-- runs, or is another generation (a concurrent reset took it).
UPDATE __SCHEMA__.jobs SET job_id = $4
 WHERE app_id = $1 AND job_id = $2 AND gid = $3 AND status <= 0
RETURNING id;
