-- Staff accounts (SPEC §2, §7): people who sign in to the staff pages with an emailed
-- one-time link. A staff session is a token (its hash in tokens, with staff_id) that expires;
-- API tokens for programs stay as they are (no staff_id, no expiry).
CREATE TABLE staff (
    id          TEXT PRIMARY KEY,
    -- as given, for the emails; email_norm (trimmed, lower case) finds the account
    email       TEXT NOT NULL,
    email_norm  TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    -- for assessors: scheme:assessor, who they are in that scheme's centres
    assessor_id TEXT,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    -- a disabled account cannot sign in, and its sessions were revoked when it was disabled
    disabled_at INTEGER
);

CREATE TABLE staff_links (
    token_hash TEXT PRIMARY KEY,
    staff_id   TEXT NOT NULL REFERENCES staff (id),
    next_path  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX staff_links_expiry ON staff_links (expires_at);

ALTER TABLE tokens ADD COLUMN staff_id TEXT REFERENCES staff (id);
CREATE INDEX tokens_staff ON tokens (staff_id);
