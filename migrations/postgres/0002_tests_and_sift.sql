-- Online tests, scores, the sift and background jobs (PostgreSQL; see ../sqlite/0002_tests_and_sift.sql).

-- One row per application per test: when it was started, its deadline and what came back.
CREATE TABLE test_attempts (
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    test_id        TEXT NOT NULL,
    started_at     BIGINT,
    -- NULL when the test is untimed
    deadline_at    BIGINT,
    submitted_at   BIGINT,
    -- item id -> answer, as JSON; NULL for results delivered by a provider
    answers        TEXT,
    -- 'api', or the name of the test provider that delivered the result
    source         TEXT,
    -- the provider's raw score (API answers are scored from `answers`)
    provider_raw   BIGINT,
    -- submitted after the deadline (and grace): recorded, not scored
    late           BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (application_id, test_id)
);

-- Every score ever computed, with the key and norm versions that made it; `current` = 1
-- for the one in force. Re-scoring adds rows and moves `current`, it never overwrites.
CREATE TABLE test_scores (
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    test_id        TEXT NOT NULL,
    key_version    BIGINT NOT NULL,
    norm_version   TEXT NOT NULL,
    raw            BIGINT NOT NULL,
    z              DOUBLE PRECISION NOT NULL,
    t              DOUBLE PRECISION NOT NULL,
    sten           BIGINT NOT NULL,
    percentile     DOUBLE PRECISION NOT NULL,
    passed         BIGINT NOT NULL,
    late           BIGINT NOT NULL,
    current        BIGINT NOT NULL,
    scored_at      BIGINT NOT NULL,
    PRIMARY KEY (application_id, test_id, key_version, norm_version)
);

-- The composite in force for each scored application.
CREATE TABLE application_scores (
    application_id TEXT PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    scheme_id      TEXT NOT NULL,
    composite      DOUBLE PRECISION NOT NULL,
    passed         BIGINT NOT NULL,
    scored_at      BIGINT NOT NULL
);
CREATE INDEX application_scores_scheme ON application_scores (scheme_id, composite);

-- External test providers' deliveries: a replayed delivery id changes nothing.
CREATE TABLE webhook_deliveries (
    provider    TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (provider, delivery_id)
);

-- A recruiter's named decision not to apply the Disability Confident guarantee.
CREATE TABLE dc_overrides (
    application_id TEXT PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    decided_by     TEXT NOT NULL,
    reason         TEXT NOT NULL,
    actor          TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

-- The sift's decision for each application, with its rank and reason.
CREATE TABLE sift_results (
    application_id TEXT PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    scheme_id      TEXT NOT NULL,
    job_id         TEXT NOT NULL,
    stream_id      TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    rank           BIGINT,
    guaranteed     BIGINT NOT NULL,
    reason         TEXT NOT NULL,
    decided_at     BIGINT NOT NULL
);

-- Background jobs users start and watch (sift, scheduling, decisions).
CREATE TABLE jobs (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    scheme_id  TEXT NOT NULL,
    state      TEXT NOT NULL,
    progress   BIGINT NOT NULL,
    total      BIGINT NOT NULL,
    result     TEXT,
    error      TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_scheme_kind ON jobs (scheme_id, kind, state);
