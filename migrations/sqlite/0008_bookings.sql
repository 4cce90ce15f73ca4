-- Assessment-centre seats offered to candidates by the scheduler, and those it could not place.
CREATE TABLE bookings (
    application_id TEXT PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    scheme_id      TEXT NOT NULL,
    centre_id      TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    -- invited, accepted, declined, cancelled
    state          TEXT NOT NULL,
    -- iCalendar UID (stable for the booking) and SEQUENCE (bumped on every change)
    uid            TEXT NOT NULL,
    sequence       INTEGER NOT NULL,
    job_id         TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX bookings_session ON bookings (scheme_id, centre_id, session_id, state);

CREATE TABLE ac_waiting_list (
    application_id TEXT PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
    scheme_id      TEXT NOT NULL,
    reason         TEXT NOT NULL,
    job_id         TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
