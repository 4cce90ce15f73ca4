//! The application state machine of SPEC §3. Every change of state goes
//! through `Status::can_move_to`, so an impossible transition is a bug caught
//! here rather than a row in the database.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Submitted,
    Ineligible,
    TestsInvited,
    TestsCompleted,
    Scored,
    Rejected,
    Shortlisted,
    Reserve,
    AcInvited,
    AcBooked,
    NoShow,
    Assessed,
    Offered,
    Accepted,
    Declined,
    Placed,
    Withdrawn,
}

impl Status {
    pub const ALL: [Status; 17] = [
        Status::Submitted,
        Status::Ineligible,
        Status::TestsInvited,
        Status::TestsCompleted,
        Status::Scored,
        Status::Rejected,
        Status::Shortlisted,
        Status::Reserve,
        Status::AcInvited,
        Status::AcBooked,
        Status::NoShow,
        Status::Assessed,
        Status::Offered,
        Status::Accepted,
        Status::Declined,
        Status::Placed,
        Status::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::Ineligible => "ineligible",
            Status::TestsInvited => "tests_invited",
            Status::TestsCompleted => "tests_completed",
            Status::Scored => "scored",
            Status::Rejected => "rejected",
            Status::Shortlisted => "shortlisted",
            Status::Reserve => "reserve",
            Status::AcInvited => "ac_invited",
            Status::AcBooked => "ac_booked",
            Status::NoShow => "no_show",
            Status::Assessed => "assessed",
            Status::Offered => "offered",
            Status::Accepted => "accepted",
            Status::Declined => "declined",
            Status::Placed => "placed",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Final states: nothing follows them, not even withdrawal.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Ineligible
                | Status::Rejected
                | Status::NoShow
                | Status::Declined
                | Status::Placed
                | Status::Withdrawn
        )
    }

    /// The forward edges of the pipeline diagram (withdrawal is handled apart:
    /// it is allowed from every state that is not final).
    fn successors(self) -> &'static [Status] {
        use Status::*;
        match self {
            Submitted => &[Ineligible, TestsInvited],
            TestsInvited => &[TestsCompleted],
            TestsCompleted => &[Scored],
            Scored => &[Rejected, Shortlisted, Reserve],
            // A reserve candidate can be called up when a place frees, or finally rejected:
            // from the sift's reserve to the shortlist, from the assessment centre's to an
            // offer (the decisions job offers only candidates with a complete AC result).
            Reserve => &[Shortlisted, Offered, Rejected],
            Shortlisted => &[AcInvited],
            AcInvited => &[AcBooked, Declined],
            AcBooked => &[Assessed, NoShow, AcInvited],
            Assessed => &[Offered, Rejected, Reserve],
            Offered => &[Accepted, Declined],
            Accepted => &[Placed, Declined],
            Ineligible | Rejected | NoShow | Declined | Placed | Withdrawn => &[],
        }
    }

    /// What leaving from this state sets off (a withdrawal, or later an erasure of someone
    /// still in a live stage): a seat they held goes to the waiting list, a place they held
    /// passes to the best reserve.
    pub fn on_leaving(self) -> Leaving {
        match self {
            Status::AcInvited | Status::AcBooked => Leaving::FreeSeat,
            Status::Offered | Status::Accepted => Leaving::PassOnPlace,
            _ => Leaving::Nothing,
        }
    }

    pub fn can_move_to(self, to: Status) -> bool {
        if to == Status::Withdrawn {
            return !self.is_final();
        }
        self.successors().contains(&to)
    }
}

/// The follow-up of an application leaving the pipeline (`Status::on_leaving`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaving {
    Nothing,
    /// Cancel their assessment-centre seat and schedule again to offer it on.
    FreeSeat,
    /// Run the decisions again to pass their place to the best reserve.
    PassOnPlace,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaving_frees_a_held_seat_or_passes_on_a_held_place() {
        assert_eq!(Status::AcBooked.on_leaving(), Leaving::FreeSeat);
        assert_eq!(Status::AcInvited.on_leaving(), Leaving::FreeSeat);
        assert_eq!(Status::Accepted.on_leaving(), Leaving::PassOnPlace);
        assert_eq!(Status::Scored.on_leaving(), Leaving::Nothing);
    }

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("nope"), None);
    }

    #[test]
    fn withdrawal_allowed_from_every_non_final_state_only() {
        for s in Status::ALL {
            assert_eq!(s.can_move_to(Status::Withdrawn), !s.is_final(), "{s}");
        }
    }

    #[test]
    fn final_states_have_no_successors() {
        for from in Status::ALL.into_iter().filter(|s| s.is_final()) {
            for to in Status::ALL {
                assert!(!from.can_move_to(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn every_state_is_reachable_from_submitted() {
        let mut seen = vec![Status::Submitted];
        let mut i = 0;
        while i < seen.len() {
            for to in Status::ALL {
                if seen[i].can_move_to(to) && !seen.contains(&to) {
                    seen.push(to);
                }
            }
            i += 1;
        }
        assert_eq!(seen.len(), Status::ALL.len());
    }

    #[test]
    fn pipeline_cannot_skip_stages() {
        assert!(!Status::Submitted.can_move_to(Status::Shortlisted));
        assert!(!Status::Scored.can_move_to(Status::Offered));
        assert!(Status::Offered.can_move_to(Status::Accepted));
    }
}
