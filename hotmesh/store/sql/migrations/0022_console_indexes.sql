-- hotmesh schema v22: indexes for the web console's lists (issue 22), each on
-- columns a step never changes (created_at, app_id, topic, job_id, key), so a
-- step's update of its job row stays a HOT update; the failed-jobs index only
-- changes when a job fails. Job data has no index: a data filter reads jobs
-- newest first until it has a page.
CREATE INDEX IF NOT EXISTS jobs_created
    ON __SCHEMA__.jobs (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_app_created
    ON __SCHEMA__.jobs (app_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_topic_created
    ON __SCHEMA__.jobs (topic, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_job_id
    ON __SCHEMA__.jobs (job_id text_pattern_ops);
CREATE INDEX IF NOT EXISTS jobs_key
    ON __SCHEMA__.jobs (key text_pattern_ops);
CREATE INDEX IF NOT EXISTS jobs_failed
    ON __SCHEMA__.jobs (created_at DESC, id DESC) WHERE err IS NOT NULL;
