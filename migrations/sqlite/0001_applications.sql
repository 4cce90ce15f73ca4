-- fasttrack schema, SQLite. Kept column-for-column equal to ../postgres/0001_applications.sql:
-- the store speaks one SQL dialect to both through sqlx's Any driver, so ids are TEXT
-- (UUIDv7), times are INTEGER milliseconds since the Unix epoch (UTC), flags are INTEGER 0/1
-- and JSON documents are TEXT.

CREATE TABLE schemes (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    definition      TEXT NOT NULL,
    definition_hash TEXT NOT NULL,
    opens_at        INTEGER NOT NULL,
    closes_at       INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE streams (
    scheme_id TEXT NOT NULL REFERENCES schemes (id) ON DELETE CASCADE,
    id        TEXT NOT NULL,
    name      TEXT NOT NULL,
    places    INTEGER NOT NULL,
    position  INTEGER NOT NULL,
    PRIMARY KEY (scheme_id, id)
);

CREATE TABLE applications (
    id                   TEXT PRIMARY KEY,
    scheme_id            TEXT NOT NULL REFERENCES schemes (id),
    -- lower-cased email: one application per person per scheme, decided by the index below
    email_norm           TEXT NOT NULL,
    status               TEXT NOT NULL,
    -- the applicant's personal details as JSON (name, email, degree, …); erasure blanks it
    details              TEXT NOT NULL,
    first_stream         TEXT NOT NULL,
    disability_confident INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    CONSTRAINT applications_scheme_email_key UNIQUE (scheme_id, email_norm)
);
CREATE INDEX applications_scheme_status ON applications (scheme_id, status);

CREATE TABLE application_preferences (
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    rank           INTEGER NOT NULL,
    stream_id      TEXT NOT NULL,
    PRIMARY KEY (application_id, rank)
);

-- The timeline: every state change with time and actor.
CREATE TABLE application_events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    from_status    TEXT,
    to_status      TEXT NOT NULL,
    actor          TEXT NOT NULL,
    note           TEXT,
    at             INTEGER NOT NULL
);
CREATE INDEX application_events_application ON application_events (application_id, id);

-- Equality monitoring, apart from the application. NULL = not answered;
-- 'prefer_not_to_say' is an answer. Never read by recruiter or assessor routes.
CREATE TABLE equality_answers (
    application_id              TEXT PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    scheme_id                   TEXT NOT NULL,
    sex                         TEXT,
    gender_same_as_birth        TEXT,
    age_band                    TEXT,
    ethnicity                   TEXT,
    disability                  TEXT,
    sexual_orientation          TEXT,
    religion                    TEXT,
    socio_economic_background   TEXT,
    school_type                 TEXT,
    free_school_meals           TEXT,
    first_generation_university TEXT,
    created_at                  INTEGER NOT NULL
);

CREATE TABLE tokens (
    id             TEXT PRIMARY KEY,
    token_hash     TEXT NOT NULL UNIQUE,
    role           TEXT NOT NULL,
    name           TEXT NOT NULL,
    application_id TEXT REFERENCES applications (id) ON DELETE CASCADE,
    created_at     INTEGER NOT NULL,
    revoked_at     INTEGER
);

-- Idempotency-Key replays. key_hash = SHA-256 of the key; the applicant token in the
-- stored response is masked with a pad only the holder of the key can recompute.
CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key_hash     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    response     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (scope, key_hash)
);

-- The email outbox: every email is a row first, committed with the change that causes it.
CREATE TABLE notifications (
    id              TEXT PRIMARY KEY,
    application_id  TEXT REFERENCES applications (id) ON DELETE SET NULL,
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    template        TEXT NOT NULL,
    context         TEXT NOT NULL,
    -- application + kind + occasion: the same occasion never makes two emails
    idempotency_key TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER,
    -- when a job for this row was last pushed to the queue (the sweeper re-pushes lost ones)
    enqueued_at     INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    CONSTRAINT notifications_idempotency_key UNIQUE (idempotency_key)
);
CREATE INDEX notifications_due ON notifications (state, next_attempt_at);

-- Who read or changed what on an application (no personal data in `detail`).
CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             INTEGER NOT NULL,
    actor          TEXT NOT NULL,
    action         TEXT NOT NULL,
    application_id TEXT,
    detail         TEXT
);
CREATE INDEX audit_log_application ON audit_log (application_id, id);
