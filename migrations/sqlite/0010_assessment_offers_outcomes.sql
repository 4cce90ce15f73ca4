-- Assessor tokens name the assessor they belong to (the id in the centres' definitions),
-- so an assessor sees and scores only the sessions they sit on.
ALTER TABLE tokens ADD COLUMN assessor_id TEXT;

-- A job asked for again while it runs (a seat or an offer declined meanwhile) runs once more
-- when it finishes, so the request is not lost.
ALTER TABLE jobs ADD COLUMN rerun BIGINT NOT NULL DEFAULT 0;

-- One assessor's 1-4 score of one candidate on one competency of one exercise.
CREATE TABLE ac_scores (
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    exercise       TEXT NOT NULL,
    competency     TEXT NOT NULL,
    assessor_id    TEXT NOT NULL,
    score          BIGINT NOT NULL,
    recorded_at    BIGINT NOT NULL,
    PRIMARY KEY (application_id, exercise, competency, assessor_id)
);

-- One assessor's overall judgement of one candidate.
CREATE TABLE ac_judgements (
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    assessor_id    TEXT NOT NULL,
    appointable    BIGINT NOT NULL,
    recorded_at    BIGINT NOT NULL,
    PRIMARY KEY (application_id, assessor_id)
);

-- The combined result, written when a candidate's scoresheet is complete (they are assessed).
CREATE TABLE ac_results (
    application_id TEXT PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    scheme_id      TEXT NOT NULL,
    stream_id      TEXT NOT NULL,
    score          REAL NOT NULL,
    appointable    BIGINT NOT NULL,
    computed_at    BIGINT NOT NULL
);
CREATE INDEX ac_results_scheme ON ac_results (scheme_id, stream_id);

-- Places offered by the decisions job: offered, accepted, declined.
CREATE TABLE offers (
    application_id  TEXT PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    scheme_id       TEXT NOT NULL,
    stream_id       TEXT NOT NULL,
    organisation_id TEXT NOT NULL,
    state           TEXT NOT NULL,
    job_id          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX offers_scheme ON offers (scheme_id, stream_id, state);

-- What became of those appointed: placement, in-post checkpoints (3, 6, 12 months) and
-- leaving. One row per occasion ('placement', 'checkpoint:3', 'left', ...).
CREATE TABLE outcomes (
    application_id  TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    scheme_id       TEXT NOT NULL,
    occasion        TEXT NOT NULL,
    organisation_id TEXT,
    start_date      TEXT,
    months          BIGINT,
    in_post         BIGINT,
    left_on         TEXT,
    destination     TEXT,
    recorded_by     TEXT NOT NULL,
    recorded_at     BIGINT NOT NULL,
    PRIMARY KEY (application_id, occasion)
);
CREATE INDEX outcomes_scheme ON outcomes (scheme_id, occasion);
