//! Retention rules (SPEC §4): when an application's personal data is due for erasure.
//! Unsuccessful applicants are erased a number of months after the scheme closed, withdrawn
//! ones a number of months after they withdrew; placed trainees are kept (their record is
//! part of their employment), and nothing in a stage that is still running is erased.

use jiff::{Span, Timestamp, tz::TimeZone};

use super::scheme::Retention;
use super::status::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Unsuccessful,
    Withdrawn,
}

impl Rule {
    /// The audit code of an erasure under this rule.
    pub fn code(self) -> &'static str {
        match self {
            Rule::Unsuccessful => "retention:unsuccessful",
            Rule::Withdrawn => "retention:withdrawn",
        }
    }

    /// Why, in words, for the person's email and the dry run ("… because {because}").
    pub fn because(self, months: u32) -> String {
        match self {
            Rule::Unsuccessful => {
                format!(
                    "we keep the details of applicants who were not offered a place for {months} months after applications close"
                )
            }
            Rule::Withdrawn => {
                format!("we keep the details of withdrawn applications for {months} months after they are withdrawn")
            }
        }
    }
}

/// When and under which rule an application's data falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub rule: Rule,
    pub months: u32,
    /// The moment it fell due (or falls due, if in the future).
    pub at: Timestamp,
}

fn months_after(t: Timestamp, months: u32) -> Timestamp {
    t.to_zoned(TimeZone::UTC)
        .checked_add(Span::new().months(i64::from(months)))
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::MAX)
}

/// When this application's data falls due for erasure, if ever under the rules.
pub fn falls_due(
    status: Status,
    closes_at: Timestamp,
    withdrawn_at: Option<Timestamp>,
    rules: &Retention,
) -> Option<Due> {
    match status {
        Status::Withdrawn => {
            let from = withdrawn_at.unwrap_or(closes_at);
            Some(Due {
                rule: Rule::Withdrawn,
                months: rules.withdrawn_months,
                at: months_after(from, rules.withdrawn_months),
            })
        }
        Status::Placed => None,
        s if s.is_final() => Some(Due {
            rule: Rule::Unsuccessful,
            months: rules.unsuccessful_months,
            at: months_after(closes_at, rules.unsuccessful_months),
        }),
        _ => None,
    }
}

/// Whether it is due now.
pub fn due_now(
    status: Status,
    closes_at: Timestamp,
    withdrawn_at: Option<Timestamp>,
    rules: &Retention,
    now: Timestamp,
) -> Option<Due> {
    falls_due(status, closes_at, withdrawn_at, rules).filter(|d| d.at <= now)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const RULES: Retention = Retention { unsuccessful_months: 12, withdrawn_months: 6 };

    #[test]
    fn unsuccessful_applicants_fall_due_twelve_calendar_months_after_closing() {
        let closes = t("2027-01-31T23:59:00Z");
        for s in [Status::Ineligible, Status::Rejected, Status::NoShow, Status::Declined] {
            let due = falls_due(s, closes, None, &RULES).unwrap();
            assert_eq!((due.rule, due.at), (Rule::Unsuccessful, t("2028-01-31T23:59:00Z")), "{s:?}");
            assert!(due_now(s, closes, None, &RULES, t("2028-01-31T23:58:59Z")).is_none());
            assert!(due_now(s, closes, None, &RULES, t("2028-01-31T23:59:00Z")).is_some());
        }
    }

    #[test]
    fn withdrawn_applicants_fall_due_after_their_withdrawal_not_the_closing() {
        let due =
            falls_due(Status::Withdrawn, t("2027-01-31T00:00:00Z"), Some(t("2026-11-30T10:00:00Z")), &RULES).unwrap();
        assert_eq!((due.rule, due.at), (Rule::Withdrawn, t("2027-05-30T10:00:00Z")));
    }

    #[test]
    fn placed_trainees_and_running_stages_are_kept() {
        let closes = t("2027-01-31T00:00:00Z");
        for s in Status::ALL {
            let kept = falls_due(s, closes, None, &RULES).is_none();
            assert_eq!(kept, s == Status::Placed || !s.is_final(), "{s:?}");
        }
    }

    proptest! {
        /// Once due, always due: the rule never un-erases with time, and never falls due
        /// before the scheme closed (or the withdrawal).
        #[test]
        fn due_is_monotonic_in_time(i in 0usize..17, closes in 0i64..4_000_000_000, later in 0i64..400_000_000, months in 0u32..60) {
            let s = Status::ALL[i];
            let closes = Timestamp::from_second(closes).unwrap();
            let rules = Retention { unsuccessful_months: months, withdrawn_months: months };
            if let Some(d) = falls_due(s, closes, Some(closes), &rules) {
                prop_assert!(d.at >= closes);
                let now = d.at.checked_add(jiff::SignedDuration::from_secs(later)).unwrap();
                prop_assert!(due_now(s, closes, Some(closes), &rules, now).is_some());
            }
        }
    }
}
