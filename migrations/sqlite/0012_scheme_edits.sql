-- When a recruiter last changed the scheme through the API (PATCH, close). A scheme file
-- loaded at start-up updates its scheme only while this is NULL, so a restart never undoes
-- a recruiter's change.
ALTER TABLE schemes ADD COLUMN edited_at BIGINT;
