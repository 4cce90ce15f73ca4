-- The recruiters' list of applicants (GET /api/v1/schemes/{scheme}/applications): the name
-- kept lowercased for search (blanked by erasure), and the keyset orders it is read in.
ALTER TABLE applications ADD COLUMN search_name TEXT;
UPDATE applications SET search_name = LOWER(CAST(details AS JSON) ->> 'name') WHERE erased_at IS NULL;
CREATE INDEX applications_list ON applications (scheme_id, created_at, id);
CREATE INDEX applications_list_status ON applications (scheme_id, status, created_at, id);
CREATE INDEX application_scores_list ON application_scores (scheme_id, composite, application_id);
