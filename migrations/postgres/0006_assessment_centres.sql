-- Assessment centres of a scheme: from its file (loaded with it) or posted by recruiters.
CREATE TABLE assessment_centres (
    scheme_id  TEXT NOT NULL REFERENCES schemes (id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    date       TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scheme_id, id)
);
