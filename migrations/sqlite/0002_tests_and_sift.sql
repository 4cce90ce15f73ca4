-- Online tests, scores, the sift and background jobs (SQLite; see ../postgres/0002_tests_and_sift.sql).

-- One row per application per test: when it was started, its deadline and what came back.
CREATE TABLE test_attempts (
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    test_id        TEXT NOT NULL,
    started_at     INTEGER,
    -- NULL when the test is untimed
    deadline_at    INTEGER,
    submitted_at   INTEGER,
    -- item id -> answer, as JSON; NULL for results delivered by a provider
    answers        TEXT,
    -- 'api', or the name of the test provider that delivered the result
    source         TEXT,
    -- the provider's raw score (API answers are scored from `answers`)
    provider_raw   INTEGER,
    -- submitted after the deadline (and grace): recorded, not scored
    late           INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (application_id, test_id)
);

-- Every score ever computed, with the key and norm versions that made it; `current` = 1
-- for the one in force. Re-scoring adds rows and moves `current`, it never overwrites.
CREATE TABLE test_scores (
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    test_id        TEXT NOT NULL,
    key_version    INTEGER NOT NULL,
    norm_version   TEXT NOT NULL,
    raw            INTEGER NOT NULL,
    z              REAL NOT NULL,
    t              REAL NOT NULL,
    sten           INTEGER NOT NULL,
    percentile     REAL NOT NULL,
    passed         INTEGER NOT NULL,
    late           INTEGER NOT NULL,
    current        INTEGER NOT NULL,
    scored_at      INTEGER NOT NULL,
    PRIMARY KEY (application_id, test_id, key_version, norm_version)
);

-- The composite in force for each scored application.
CREATE TABLE application_scores (
    application_id TEXT PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    scheme_id      TEXT NOT NULL,
    composite      REAL NOT NULL,
    passed         INTEGER NOT NULL,
    scored_at      INTEGER NOT NULL
);
CREATE INDEX application_scores_scheme ON application_scores (scheme_id, composite);

-- External test providers' deliveries: a replayed delivery id changes nothing.
CREATE TABLE webhook_deliveries (
    provider    TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (provider, delivery_id)
);

-- A recruiter's named decision not to apply the Disability Confident guarantee.
CREATE TABLE dc_overrides (
    application_id TEXT PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    decided_by     TEXT NOT NULL,
    reason         TEXT NOT NULL,
    actor          TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);

-- The sift's decision for each application, with its rank and reason.
CREATE TABLE sift_results (
    application_id TEXT PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    scheme_id      TEXT NOT NULL,
    job_id         TEXT NOT NULL,
    stream_id      TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    rank           INTEGER,
    guaranteed     INTEGER NOT NULL,
    reason         TEXT NOT NULL,
    decided_at     INTEGER NOT NULL
);

-- Background jobs users start and watch (sift, scheduling, decisions).
CREATE TABLE jobs (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    scheme_id  TEXT NOT NULL,
    state      TEXT NOT NULL,
    progress   INTEGER NOT NULL,
    total      INTEGER NOT NULL,
    result     TEXT,
    error      TEXT,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX jobs_scheme_kind ON jobs (scheme_id, kind, state);
