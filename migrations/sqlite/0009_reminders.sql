-- When a booked session starts (UTC ms), and whether its 48-hour reminder has gone.
ALTER TABLE bookings ADD COLUMN starts_at INTEGER;
ALTER TABLE bookings ADD COLUMN reminded INTEGER NOT NULL DEFAULT 0;
CREATE INDEX bookings_due_reminders ON bookings (reminded, starts_at);
