//! The sift (SPEC §3 "Sift"): after the closing date, in one batch, per stream
//! of first preference.
//!
//! Rule, in order:
//! 1. An applicant who failed any cut score is rejected.
//! 2. Disability Confident: an applicant who opted in, declared a disability and
//!    passed every cut score is shortlisted whatever their rank, unless a
//!    recruiter recorded a named override. They take seats like anyone else; if
//!    they alone exceed the seats, they are all shortlisted still.
//! 3. The other passing applicants are ranked by composite (highest first) and
//!    fill the remaining assessment-centre seats; the next `reserve` go on the
//!    reserve list; the rest are rejected.
//! 4. Ties on composite are broken by a lottery that is fixed in advance and
//!    reproducible: the SHA-256 of "scheme id / application id" (smaller first).
//!    Nobody gains by applying early, and re-running gives the same order.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: String,
    pub stream: String,
    pub composite: f64,
    pub passed: bool,
    /// Disability Confident guarantee applies (opted in, declared, no override).
    pub guaranteed: bool,
}

impl Candidate {
    /// The Disability Confident guarantee applies: the applicant opted in, declared a
    /// disability, and no recruiter recorded a named override. (Meeting the minimum
    /// criteria — the cut scores — is checked by the sift itself.)
    pub fn guaranteed(opted_in: bool, declared_disability: bool, overridden: bool) -> bool {
        opted_in && declared_disability && !overridden
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Seats {
    pub shortlist: u32,
    pub reserve: u32,
}

impl Seats {
    /// What a (possibly resumed) sift still has to give in a stream: its seats and reserve
    /// places less those already taken by an earlier, interrupted run.
    pub fn left(ac_seats: u32, reserve: u32, taken: (u32, u32)) -> Seats {
        Seats { shortlist: ac_seats.saturating_sub(taken.0), reserve: reserve.saturating_sub(taken.1) }
    }
}

/// Reserve call-up: a stream whose shortlist has fewer active candidates than its seats
/// (some declined or withdrew before their centre) calls up its best reserves, in rank order,
/// to fill the gap. `active`: shortlisted or called up and still in the running, per stream;
/// `reserves`: (id, stream) still on the reserve list, best first within each stream.
pub fn reserves_to_call<'a>(
    ac_seats: &BTreeMap<String, u32>,
    active: &BTreeMap<String, u32>,
    reserves: &'a [(String, String)],
) -> Vec<&'a (String, String)> {
    let mut out = Vec::new();
    for (stream, seats) in ac_seats {
        let vacancies = seats.saturating_sub(active.get(stream).copied().unwrap_or(0)) as usize;
        out.extend(reserves.iter().filter(|(_, s)| s == stream).take(vacancies));
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Shortlisted,
    Reserve,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub id: String,
    pub stream: String,
    pub outcome: Outcome,
    /// Place in the stream's ranking of passing applicants (1 = best); None for failures.
    pub rank: Option<u32>,
    /// Shortlisted by the Disability Confident guarantee rather than by rank.
    pub guaranteed: bool,
    /// Why, in words an applicant could be given.
    pub reason: &'static str,
}

const SHORTLISTED: &str = "shortlisted for an assessment centre";

pub fn lottery_key(scheme: &str, application: &str) -> [u8; 32] {
    Sha256::digest(format!("{scheme}/{application}").as_bytes()).into()
}

/// Decides every candidate. Deterministic: the result does not depend on input order.
pub fn sift(scheme: &str, candidates: &[Candidate], seats: &BTreeMap<String, Seats>) -> Vec<Decision> {
    let mut by_stream: BTreeMap<&str, Vec<&Candidate>> = BTreeMap::new();
    for c in candidates {
        by_stream.entry(c.stream.as_str()).or_default().push(c);
    }
    let mut out = Vec::with_capacity(candidates.len());
    for (stream, mut cands) in by_stream {
        let s = seats.get(stream).copied().unwrap_or_default();
        let keyed: BTreeMap<&str, [u8; 32]> =
            cands.iter().map(|c| (c.id.as_str(), lottery_key(scheme, &c.id))).collect();
        cands.sort_by(|a, b| {
            b.composite
                .partial_cmp(&a.composite)
                .unwrap_or(Ordering::Equal)
                .then_with(|| keyed[a.id.as_str()].cmp(&keyed[b.id.as_str()]))
        });
        let guaranteed = cands.iter().filter(|c| c.passed && c.guaranteed).count() as u32;
        let mut open = s.shortlist.saturating_sub(guaranteed);
        let mut reserve = s.reserve;
        let mut rank = 0;
        for c in cands {
            let decision = |outcome, rank, guaranteed, reason| Decision {
                id: c.id.clone(),
                stream: stream.to_owned(),
                outcome,
                rank,
                guaranteed,
                reason,
            };
            if !c.passed {
                out.push(decision(Outcome::Rejected, None, false, "did not reach a cut score"));
                continue;
            }
            rank += 1;
            if c.guaranteed {
                // The same words as any other shortlisting: the timeline is read by recruiters,
                // and the guarantee rests on an equality answer (kept in sift_results only).
                out.push(decision(Outcome::Shortlisted, Some(rank), true, SHORTLISTED));
            } else if open > 0 {
                open -= 1;
                out.push(decision(Outcome::Shortlisted, Some(rank), false, SHORTLISTED));
            } else if reserve > 0 {
                reserve -= 1;
                out.push(decision(
                    Outcome::Reserve,
                    Some(rank),
                    false,
                    "ranked just below the seats: on the reserve list",
                ));
            } else {
                out.push(decision(Outcome::Rejected, Some(rank), false, "ranked below the seats and the reserve list"));
            }
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_short_of_candidates_calls_up_its_best_reserves_only_to_fill_the_gap() {
        let seats: BTreeMap<String, u32> = [("a".into(), 3), ("b".into(), 2)].into();
        let active: BTreeMap<String, u32> = [("a".into(), 1), ("b".into(), 2)].into();
        let reserves: Vec<(String, String)> =
            [("r1", "a"), ("r2", "a"), ("r3", "a"), ("s1", "b")].map(|(i, s)| (i.into(), s.into())).to_vec();
        let called: Vec<&str> = reserves_to_call(&seats, &active, &reserves).iter().map(|(i, _)| i.as_str()).collect();
        assert_eq!(called, ["r1", "r2"], "two gaps in a, none in b");
        assert_eq!(Seats::left(3, 2, (4, 1)), Seats { shortlist: 0, reserve: 1 });
        assert!(Candidate::guaranteed(true, true, false));
        assert!(!Candidate::guaranteed(true, true, true), "a named override removes it");
        assert!(!Candidate::guaranteed(true, false, false));
    }
    use proptest::prelude::*;

    fn cand(id: &str, stream: &str, composite: f64, passed: bool, guaranteed: bool) -> Candidate {
        Candidate { id: id.into(), stream: stream.into(), composite, passed, guaranteed }
    }

    fn seats(shortlist: u32, reserve: u32) -> BTreeMap<String, Seats> {
        [("a".to_owned(), Seats { shortlist, reserve })].into()
    }

    fn outcome(d: &[Decision], id: &str) -> Outcome {
        d.iter().find(|x| x.id == id).unwrap().outcome
    }

    #[test]
    fn ranks_fill_seats_then_reserve_then_reject() {
        let c = [
            cand("1", "a", 1.0, true, false),
            cand("2", "a", 0.5, true, false),
            cand("3", "a", 0.2, true, false),
            cand("4", "a", 2.0, false, false),
        ];
        let d = sift("s", &c, &seats(1, 1));
        assert_eq!(outcome(&d, "1"), Outcome::Shortlisted);
        assert_eq!(outcome(&d, "2"), Outcome::Reserve);
        assert_eq!(outcome(&d, "3"), Outcome::Rejected);
        assert_eq!(outcome(&d, "4"), Outcome::Rejected, "a failed cut score is rejected whatever the composite");
    }

    #[test]
    fn disability_confident_is_shortlisted_whatever_the_rank_and_takes_a_seat() {
        let c = [cand("1", "a", 1.0, true, false), cand("2", "a", 0.9, true, false), cand("dc", "a", -1.0, true, true)];
        let d = sift("s", &c, &seats(2, 5));
        assert_eq!(outcome(&d, "dc"), Outcome::Shortlisted);
        assert!(d.iter().find(|x| x.id == "dc").unwrap().guaranteed);
        assert_eq!(outcome(&d, "1"), Outcome::Shortlisted);
        assert_eq!(outcome(&d, "2"), Outcome::Reserve);
        // but not when the cut scores were missed
        let c = [cand("dc", "a", 3.0, false, true)];
        assert_eq!(outcome(&sift("s", &c, &seats(2, 0)), "dc"), Outcome::Rejected);
    }

    #[test]
    fn ties_are_broken_by_the_fixed_lottery() {
        let c = [cand("x", "a", 0.5, true, false), cand("y", "a", 0.5, true, false)];
        let d = sift("s", &c, &seats(1, 0));
        let winner = if lottery_key("s", "x") < lottery_key("s", "y") { "x" } else { "y" };
        assert_eq!(outcome(&d, winner), Outcome::Shortlisted);
    }

    fn candidates() -> impl Strategy<Value = Vec<Candidate>> {
        proptest::collection::vec((0u8..3, -3.0f64..3.0, any::<bool>(), prop::bool::weighted(0.15)), 0..40).prop_map(
            |v| {
                v.into_iter()
                    .enumerate()
                    .map(|(i, (s, z, p, g))| {
                        cand(&format!("app{i}"), ["a", "b", "c"][s as usize], (z * 4.0).round() / 4.0, p, g)
                    })
                    .collect()
            },
        )
    }

    proptest! {
        #[test]
        fn sift_invariants(cands in candidates(), sl in 0u32..8, rs in 0u32..8, seed in any::<u64>()) {
            let seats: BTreeMap<String, Seats> = ["a", "b", "c"].iter().map(|s| ((*s).to_owned(), Seats { shortlist: sl, reserve: rs })).collect();
            let d = sift("scheme", &cands, &seats);
            prop_assert_eq!(d.len(), cands.len());
            for stream in ["a", "b", "c"] {
                let mine: Vec<&Decision> = d.iter().filter(|x| x.stream == stream).collect();
                let get = |id: &str| cands.iter().find(|c| c.id == id).unwrap();
                let guaranteed = mine.iter().filter(|x| get(&x.id).passed && get(&x.id).guaranteed).count() as u32;
                let by_rank = mine.iter().filter(|x| x.outcome == Outcome::Shortlisted && !x.guaranteed).count() as u32;
                prop_assert!(by_rank <= sl.saturating_sub(guaranteed));
                prop_assert!(mine.iter().filter(|x| x.outcome == Outcome::Reserve).count() as u32 <= rs);
                for x in &mine {
                    let c = get(&x.id);
                    if !c.passed { prop_assert_eq!(x.outcome, Outcome::Rejected); }
                    if c.passed && c.guaranteed { prop_assert_eq!(x.outcome, Outcome::Shortlisted); }
                }
                // Nobody ranked in is below anybody left out.
                for a in mine.iter().filter(|x| x.outcome == Outcome::Shortlisted && !x.guaranteed) {
                    for b in mine.iter().filter(|x| x.outcome != Outcome::Shortlisted && get(&x.id).passed) {
                        prop_assert!(get(&a.id).composite >= get(&b.id).composite);
                    }
                }
                // Seats are not left empty while passing applicants wait.
                let waiting = mine.iter().any(|x| x.outcome != Outcome::Shortlisted && get(&x.id).passed);
                if waiting { prop_assert_eq!(by_rank, sl.saturating_sub(guaranteed)); }
            }
            // The order of the input does not matter.
            let mut shuffled = cands.clone();
            let mut s = seed;
            for i in (1..shuffled.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
            prop_assert_eq!(sift("scheme", &shuffled, &seats), d);
        }
    }
}
