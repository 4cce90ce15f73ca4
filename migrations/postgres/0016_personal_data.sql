-- Personal data under UK GDPR (SPEC §4).
-- The privacy notice version the applicant saw, and the tombstone mark: once erased, an
-- application keeps its id, scheme, stages and dates and nothing about the person.
ALTER TABLE applications ADD COLUMN privacy_notice_version TEXT;
ALTER TABLE applications ADD COLUMN erased_at BIGINT;

-- The audit log names the request an entry came from.
ALTER TABLE audit_log ADD COLUMN request_id TEXT;
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX application_events_actor ON application_events (actor, id);

-- The audit log is append-only: no statement may change or remove an entry.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Work that exactly one process may do at a time (the daily retention run): whoever holds
-- an unexpired lease does it; `done_on` is the last day it finished.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT,
    expires_at  BIGINT NOT NULL,
    done_on     TEXT
);

-- The audit log read in time order (GET /api/v1/audit).
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX application_events_at ON application_events (at, id);
