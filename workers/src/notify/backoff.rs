//! When a failed email is tried again: exponential backoff with a ceiling.

use std::time::Duration;

/// Delay after failed attempt number `attempt` (1-based): `base × 2^(attempt-1)`, at most `max`.
pub fn delay(attempt: u32, base: Duration, max: Duration) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    base.checked_mul(factor).unwrap_or(max).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

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
