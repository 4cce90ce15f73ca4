-- Booking and offer states are enums in the code (BookingState, OfferState); the database
-- refuses any other value. SQLite has no ALTER TABLE … ADD CONSTRAINT, so triggers do what
-- PostgreSQL's CHECK constraints do.
CREATE TRIGGER bookings_state_check_insert BEFORE INSERT ON bookings
WHEN NEW.state NOT IN ('invited', 'accepted', 'declined', 'cancelled')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: bookings_state_check'); END;
CREATE TRIGGER bookings_state_check_update BEFORE UPDATE OF state ON bookings
WHEN NEW.state NOT IN ('invited', 'accepted', 'declined', 'cancelled')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: bookings_state_check'); END;
CREATE TRIGGER offers_state_check_insert BEFORE INSERT ON offers
WHEN NEW.state NOT IN ('offered', 'accepted', 'declined')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: offers_state_check'); END;
CREATE TRIGGER offers_state_check_update BEFORE UPDATE OF state ON offers
WHEN NEW.state NOT IN ('offered', 'accepted', 'declined')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: offers_state_check'); END;
