-- Worker processes, each beating every sweep: an admin sees every worker, alive or not
-- (a killed one stops beating), with its lanes' health, from any API process.
CREATE TABLE worker_processes (
    id              TEXT PRIMARY KEY,
    host            TEXT NOT NULL,
    pid             BIGINT NOT NULL,
    started_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    -- JSON: per lane, running / seconds since contact and since the last job / restarts / last error.
    health          TEXT NOT NULL
);
CREATE INDEX worker_processes_seen ON worker_processes (last_seen_at);
