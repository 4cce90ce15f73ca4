-- At most one queued or running job of a kind per scheme: decided by the index, not by
-- reading first (two recruiters pressing "sift" at once start one run).
CREATE UNIQUE INDEX jobs_one_active ON jobs (scheme_id, kind) WHERE state IN ('queued', 'running');
