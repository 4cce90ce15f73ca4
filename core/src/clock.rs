//! The service's clock: what time it is and in which time zone people read it.
//!
//! Everything that asks "what time is it?" asks a `Clock` passed in (the API's
//! state, the workers' state), never the system directly, so a test can move
//! time — close a scheme, reach an assessment centre's day, come to a
//! checkpoint — without waiting for it. A production clock is the system clock;
//! a test clock is the system clock plus an offset the test moves forward, so
//! leases, back-offs and timeouts still pass as they would.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};

#[derive(Clone, Debug)]
pub struct Clock {
    /// Milliseconds added to the system time; `None` for the system clock, which cannot move.
    offset_ms: Option<Arc<AtomicI64>>,
    tz: TimeZone,
}

impl Clock {
    /// The system clock, read in `tz`.
    pub fn system(tz: TimeZone) -> Self {
        Self { offset_ms: None, tz }
    }

    /// A clock that starts at the system time and can be moved forward (tests).
    pub fn movable(tz: TimeZone) -> Self {
        Self { offset_ms: Some(Arc::new(AtomicI64::new(0))), tz }
    }

    pub fn now(&self) -> Timestamp {
        let now = Timestamp::now();
        match &self.offset_ms {
            None => now,
            Some(off) => now.saturating_add(SignedDuration::from_millis(off.load(Ordering::Relaxed))).unwrap_or(now),
        }
    }

    /// Moves a movable clock forward (or back) by `by`. Every holder of a clone sees it.
    ///
    /// # Panics
    /// On the system clock: production time is not ours to move.
    pub fn advance(&self, by: SignedDuration) {
        let off = self.offset_ms.as_ref().expect("the system clock cannot be moved");
        off.fetch_add(by.as_millis() as i64, Ordering::Relaxed);
    }

    /// Moves a movable clock so that it reads `to` now.
    pub fn set(&self, to: Timestamp) {
        let off = self.offset_ms.as_ref().expect("the system clock cannot be moved");
        off.store(Timestamp::now().duration_until(to).as_millis() as i64, Ordering::Relaxed);
    }

    /// The time zone dates and times are shown in and local times are read in.
    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }

    /// `t` as a local time.
    pub fn local(&self, t: Timestamp) -> Zoned {
        t.to_zoned(self.tz.clone())
    }

    /// The instant of a local date and time (an assessment-centre session's start, say).
    pub fn instant(&self, date: jiff::civil::Date, time: jiff::civil::Time) -> Result<Timestamp, jiff::Error> {
        Ok(date.to_datetime(time).to_zoned(self.tz.clone())?.timestamp())
    }

    /// Today's date where the service is.
    pub fn today(&self) -> jiff::civil::Date {
        self.local(self.now()).date()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_movable_clock_moves_for_every_clone() {
        let clock = Clock::movable(TimeZone::UTC);
        let other = clock.clone();
        let before = other.now();
        clock.advance(SignedDuration::from_hours(24 * 30));
        let after = other.now();
        assert!(after.duration_since(before) >= SignedDuration::from_hours(24 * 30));
        assert!(after.duration_since(before) < SignedDuration::from_hours(24 * 30 + 1));
    }

    #[test]
    fn set_reads_the_given_time() {
        let clock = Clock::movable(TimeZone::UTC);
        let to: Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
        clock.set(to);
        assert!(clock.now().duration_since(to).abs() < SignedDuration::from_secs(5));
    }

    #[test]
    #[should_panic(expected = "cannot be moved")]
    fn the_system_clock_cannot_be_moved() {
        Clock::system(TimeZone::UTC).advance(SignedDuration::from_secs(1));
    }

    #[test]
    fn local_times_follow_summer_time() {
        let clock = Clock::system(TimeZone::get("Europe/London").unwrap());
        let summer = clock.instant(jiff::civil::date(2027, 7, 1), jiff::civil::time(9, 0, 0, 0)).unwrap();
        assert_eq!(summer.to_string(), "2027-07-01T08:00:00Z");
        let winter = clock.instant(jiff::civil::date(2027, 1, 5), jiff::civil::time(9, 0, 0, 0)).unwrap();
        assert_eq!(winter.to_string(), "2027-01-05T09:00:00Z");
    }
}
