-- Aggregates frozen when a stage completes (the sift), so that erasing personal data
-- later does not rewrite published figures. One row per scheme, snapshot, stream, stage,
-- characteristic and raw value ('' = not answered).
CREATE TABLE stage_snapshots (
    scheme_id      TEXT NOT NULL,
    job_id         TEXT NOT NULL,
    stream_id      TEXT NOT NULL,
    stage          TEXT NOT NULL,
    characteristic TEXT NOT NULL,
    value          TEXT NOT NULL,
    n              INTEGER NOT NULL,
    taken_at       INTEGER NOT NULL,
    PRIMARY KEY (scheme_id, job_id, stream_id, stage, characteristic, value)
);

-- Which stages each snapshot covers (every stage up to the one that completed).
CREATE TABLE snapshots (
    scheme_id   TEXT NOT NULL,
    job_id      TEXT NOT NULL,
    last_stage  TEXT NOT NULL,
    taken_at    INTEGER NOT NULL,
    PRIMARY KEY (scheme_id, job_id)
);
