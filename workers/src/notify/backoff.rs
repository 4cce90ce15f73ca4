//! When a failed email is tried again: exponential backoff with a ceiling.

use std::time::Duration;

/// Delay after failed attempt number `attempt` (1-based): `base × 2^(attempt-1)`, at most `max`.
pub fn delay(attempt: u32, base: Duration, max: Duration) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    base.checked_mul(factor).unwrap_or(max).min(max)
}

/// How long a job must wait to run at `at` or later, in the whole seconds the queues schedule
/// in: rounded up, so a retry never fires before its row is due (and finds nothing to do).
pub fn wait_until(now: jiff::Timestamp, at: jiff::Timestamp) -> Duration {
    let ms = now.duration_until(at).as_millis().max(0) as u64;
    Duration::from_secs(ms.div_ceil(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_rounds_up_to_whole_seconds_so_a_retry_is_never_early() {
        let now: jiff::Timestamp = "2027-01-01T09:00:00Z".parse().unwrap();
        let at = |ms: i64| now + jiff::SignedDuration::from_millis(ms);
        assert_eq!(wait_until(now, at(4_001)), Duration::from_secs(5));
        assert_eq!(wait_until(now, at(5_000)), Duration::from_secs(5));
        assert_eq!(wait_until(now, at(1)), Duration::from_secs(1));
        assert_eq!(wait_until(now, at(-300)), Duration::ZERO, "already due");
    }

    #[test]
    fn doubles_from_the_base_until_the_ceiling() {
        let s = Duration::from_secs;
        let d: Vec<_> = (1..=6).map(|a| delay(a, s(5), s(60))).collect();
        assert_eq!(d, [s(5), s(10), s(20), s(40), s(60), s(60)]);
    }

    #[test]
    fn never_overflows() {
        assert_eq!(delay(u32::MAX, Duration::from_secs(5), Duration::from_secs(3600)), Duration::from_secs(3600));
    }
}
