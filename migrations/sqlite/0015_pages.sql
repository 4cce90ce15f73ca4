-- Pages for people (SPEC §7). A browser session is a token (its hash in tokens) that
-- expires; sign-in links are one-time and expiring, stored as hashes only.
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;

CREATE TABLE sign_in_links (
    token_hash     TEXT PRIMARY KEY,
    -- no foreign key: links are minted as emails go out, and erasure deletes them by id
    application_id TEXT NOT NULL,
    -- where the link lands once exchanged (a path of the site)
    next_path      TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER
);
CREATE INDEX sign_in_links_application ON sign_in_links (application_id);
CREATE INDEX sign_in_links_expiry ON sign_in_links (expires_at);

-- "Send me a new link" finds applications by address across schemes.
CREATE INDEX applications_email ON applications (email_norm);

-- An applicant's emails (the calendar of their latest invitation, their page).
CREATE INDEX notifications_application ON notifications (application_id, kind);

-- A half-filled application form, keyed to the browser (the hash of a cookie's secret): it
-- survives a closed tab. Once submitted it keeps the application id, so a resubmitted form
-- answers with the same application.
CREATE TABLE application_drafts (
    key_hash       TEXT PRIMARY KEY,
    scheme_id      TEXT NOT NULL,
    -- the answers so far, as the API's JSON body (every field as typed, valid or not)
    answers        TEXT NOT NULL,
    application_id TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);
CREATE INDEX application_drafts_expiry ON application_drafts (expires_at);
