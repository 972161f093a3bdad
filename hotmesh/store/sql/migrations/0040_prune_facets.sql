-- hotmesh schema v40: pruning a job deletes its job_facets rows in one index
-- lookup (issue 21).
--
-- job_facets references jobs (id) ON DELETE CASCADE, but its key is
-- (app_id, facet, job): nothing let the cascade find a job's rows by `job`,
-- so each deleted job scanned the whole table. With 200,000 facet rows (of
-- kept jobs), one pruning statement of 200 jobs took 7-9 s instead of
-- 9-16 ms (bench/README.md, "Paced pruning"); a scrub paid the same per job.
CREATE INDEX IF NOT EXISTS job_facets_job ON __SCHEMA__.job_facets (job);
