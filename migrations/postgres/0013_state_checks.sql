-- Booking and offer states are enums in the code (BookingState, OfferState); the database
-- refuses any other value. SQLite has no ALTER TABLE … ADD CONSTRAINT, so its migration
-- does the same with triggers.
ALTER TABLE bookings ADD CONSTRAINT bookings_state_check
    CHECK (state IN ('invited', 'accepted', 'declined', 'cancelled'));
ALTER TABLE offers ADD CONSTRAINT offers_state_check
    CHECK (state IN ('offered', 'accepted', 'declined'));
