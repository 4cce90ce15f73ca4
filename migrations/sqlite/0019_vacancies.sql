-- DDaT vacancies (SPEC §8): posts organisations offer through the year, matched from the
-- scheme's talent pool. `filled` counts posts given to a candidate; it can never pass
-- `posts`, so a post cannot be filled twice.
CREATE TABLE vacancies (
    id           TEXT PRIMARY KEY,
    scheme_id    TEXT NOT NULL,
    organisation TEXT NOT NULL,
    role_family  TEXT NOT NULL,
    region       TEXT NOT NULL,
    posts        INTEGER NOT NULL,
    filled       INTEGER NOT NULL DEFAULT 0,
    start_date   TEXT NOT NULL,
    closes_on    TEXT NOT NULL,
    -- open or withdrawn
    state        TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    CONSTRAINT vacancies_filled CHECK (filled >= 0 AND filled <= posts),
    CONSTRAINT vacancies_state CHECK (state IN ('open', 'withdrawn'))
);
CREATE INDEX vacancies_scheme ON vacancies (scheme_id, state, closes_on);
