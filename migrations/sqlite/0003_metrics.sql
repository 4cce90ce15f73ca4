-- Degree class as a column, so HR reports can group by it in SQL (it is also in `details`).
ALTER TABLE applications ADD COLUMN degree_class TEXT;
CREATE INDEX application_events_status ON application_events (to_status, application_id);
