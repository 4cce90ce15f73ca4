-- Trainee and alumni surveys: questions with ordered answer options, grouping
-- dimensions (e.g. specialism, cohort), and responses stored one answer per row
-- so tables are one GROUP BY.
CREATE TABLE surveys (
    id                   TEXT PRIMARY KEY,
    title                TEXT NOT NULL,
    definition           TEXT NOT NULL,
    disclosure_threshold INTEGER NOT NULL,
    created_by           TEXT NOT NULL,
    created_at           INTEGER NOT NULL
);

CREATE TABLE survey_responses (
    id          TEXT PRIMARY KEY,
    survey_id   TEXT NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE survey_response_groups (
    response_id TEXT NOT NULL REFERENCES survey_responses (id) ON DELETE CASCADE,
    survey_id   TEXT NOT NULL,
    dimension   TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (response_id, dimension)
);

CREATE TABLE survey_answers (
    response_id TEXT NOT NULL REFERENCES survey_responses (id) ON DELETE CASCADE,
    survey_id   TEXT NOT NULL,
    question_id TEXT NOT NULL,
    answer      TEXT NOT NULL,
    PRIMARY KEY (response_id, question_id)
);
CREATE INDEX survey_answers_survey ON survey_answers (survey_id, question_id);
