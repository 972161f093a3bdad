-- hotmesh schema v16: dedupe keys. pub(..., dedupe_key=k, dedupe_window=w) takes
-- the row for k in the transaction that creates the job; a second pub within the
-- window finds the row and returns the first job's id instead of starting one.
-- An expired row is taken over by the next pub with its key, and deleted in
-- small batches by later dedupe pubs of the app.
CREATE TABLE IF NOT EXISTS __SCHEMA__.dedupe (
    app_id     text        NOT NULL,
    key        text        NOT NULL,
    job_id     text        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (app_id, key)
);

CREATE INDEX IF NOT EXISTS dedupe_expired ON __SCHEMA__.dedupe (app_id, expires_at);
