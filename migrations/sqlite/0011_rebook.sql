-- The candidate asked to move to another session: they keep their seat until the scheduler
-- finds them another one.
ALTER TABLE bookings ADD COLUMN rebook BIGINT NOT NULL DEFAULT 0;
