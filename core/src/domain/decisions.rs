//! Offers after the assessment centres (SPEC §3): per stream, in AC-score order,
//! up to the places available, and only to appointable candidates. Appointable
//! candidates beyond the places go to reserve; the others are rejected.
//!
//! Places: a stream's `places` list (organisation, count), in the scheme file's
//! order, is read as an ordered list of single places; the best-ranked candidate
//! takes the first free place, the next the next, and so on. A place held by an
//! offer that stands (offered or accepted) is not free; a declined offer frees its
//! place, which the next run gives to the best-ranked candidate on reserve.
//!
//! Rank (the documented tie rule): AC score, higher first; then the online-test
//! composite, higher first; then the sift's lottery key (SHA-256 of scheme and
//! application id), lower first. Scores compare after rounding to 1e-9, so equal
//! means computed in a different order still tie.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::Serialize;

use super::scheme::Stream;
use super::sift::lottery_key;

#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: String,
    pub stream: String,
    pub ac_score: f64,
    pub appointable: bool,
    pub composite: f64,
    /// Already on reserve from an earlier run (only an offer changes anything for them).
    pub on_reserve: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Offer { organisation: String },
    Reserve,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub id: String,
    pub stream: String,
    pub outcome: Outcome,
    /// 1-based rank among the stream's appointable candidates of this run (None: rejected).
    pub rank: Option<u32>,
}

fn rounded(x: f64) -> i64 {
    (x * 1e9).round() as i64
}

/// The order offers are made in (best first).
pub fn compare(scheme: &str, a: &Candidate, b: &Candidate) -> Ordering {
    rounded(b.ac_score)
        .cmp(&rounded(a.ac_score))
        .then(rounded(b.composite).cmp(&rounded(a.composite)))
        .then_with(|| lottery_key(scheme, &a.id).cmp(&lottery_key(scheme, &b.id)))
}

/// The free places of a stream, in order: its places minus those `held` (organisation ids).
pub fn free_places(stream: &Stream, held: &[&str]) -> Vec<String> {
    let mut held: BTreeMap<&str, usize> = held.iter().fold(BTreeMap::new(), |mut m, o| {
        *m.entry(*o).or_default() += 1;
        m
    });
    let mut free = Vec::new();
    for p in &stream.places {
        for _ in 0..p.count {
            match held.get_mut(p.organisation.as_str()) {
                Some(n) if *n > 0 => *n -= 1,
                _ => free.push(p.organisation.to_string()),
            }
        }
    }
    free
}

/// Decides every candidate; returns only changes (a candidate on reserve who gets no offer
/// is left out). `held`: (stream, organisation) of every offer that stands. Deterministic
/// and independent of the input order.
pub fn decide(scheme: &str, streams: &[Stream], held: &[(String, String)], candidates: &[Candidate]) -> Vec<Decision> {
    let mut by_stream: BTreeMap<&str, Vec<&Candidate>> = BTreeMap::new();
    for c in candidates {
        by_stream.entry(c.stream.as_str()).or_default().push(c);
    }
    let mut out = Vec::new();
    for (stream_id, mut cands) in by_stream {
        cands.sort_by(|a, b| compare(scheme, a, b));
        let held_here: Vec<&str> = held.iter().filter(|(s, _)| s == stream_id).map(|(_, o)| o.as_str()).collect();
        let mut free = streams
            .iter()
            .find(|s| s.id.as_str() == stream_id)
            .map(|s| free_places(s, &held_here))
            .unwrap_or_default()
            .into_iter();
        let mut rank = 0;
        for c in cands {
            if !c.appointable {
                if !c.on_reserve {
                    out.push(Decision {
                        id: c.id.clone(),
                        stream: c.stream.clone(),
                        outcome: Outcome::Rejected,
                        rank: None,
                    });
                }
                continue;
            }
            rank += 1;
            let outcome = match free.next() {
                Some(organisation) => Outcome::Offer { organisation },
                None if c.on_reserve => continue,
                None => Outcome::Reserve,
            };
            out.push(Decision { id: c.id.clone(), stream: c.stream.clone(), outcome, rank: Some(rank) });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::scheme::Places;
    use proptest::prelude::*;

    fn stream(id: &str, places: &[(&str, u32)]) -> Stream {
        Stream {
            id: crate::domain::ids::StreamId::parse(id).unwrap(),
            name: id.into(),
            description: String::new(),
            places: places
                .iter()
                .map(|(o, n)| Places { organisation: crate::domain::ids::StreamId::parse(o).unwrap(), count: *n })
                .collect(),
            ac_seats: 0,
            reserve: 0,
        }
    }

    fn cand(id: &str, stream: &str, score: f64, appointable: bool) -> Candidate {
        Candidate {
            id: id.into(),
            stream: stream.into(),
            ac_score: score,
            appointable,
            composite: 0.0,
            on_reserve: false,
        }
    }

    #[test]
    fn offers_go_in_score_order_to_appointable_candidates_and_fill_organisations_in_order() {
        let streams = [stream("acute", &[("barts", 2), ("guys", 1)])];
        let cands = [
            cand("a", "acute", 3.5, true),
            cand("b", "acute", 3.9, false),
            cand("c", "acute", 3.2, true),
            cand("d", "acute", 3.6, true),
            cand("e", "acute", 2.1, true),
        ];
        let out = decide("s", &streams, &[], &cands);
        let get = |id: &str| out.iter().find(|d| d.id == id).unwrap();
        assert_eq!(get("d").outcome, Outcome::Offer { organisation: "barts".into() });
        assert_eq!(get("a").outcome, Outcome::Offer { organisation: "barts".into() });
        assert_eq!(get("c").outcome, Outcome::Offer { organisation: "guys".into() });
        assert_eq!((get("e").outcome.clone(), get("e").rank), (Outcome::Reserve, Some(4)));
        assert_eq!(get("b").outcome, Outcome::Rejected, "a high score without an appointable judgement");
    }

    #[test]
    fn a_declined_place_goes_to_the_best_reserve_only() {
        let streams = [stream("acute", &[("barts", 1), ("guys", 1)])];
        // The barts offer stands; the guys one was declined (not held).
        let held = [("acute".to_owned(), "barts".to_owned())];
        let mut r1 = cand("r1", "acute", 3.0, true);
        let mut r2 = cand("r2", "acute", 3.4, true);
        r1.on_reserve = true;
        r2.on_reserve = true;
        let out = decide("s", &streams, &held, &[r1, r2]);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!((out[0].id.as_str(), &out[0].outcome), ("r2", &Outcome::Offer { organisation: "guys".into() }));
    }

    #[test]
    fn ties_go_to_the_composite_then_the_lottery() {
        let streams = [stream("x", &[("o", 1)])];
        let mut a = cand("a", "x", 3.0, true);
        let mut b = cand("b", "x", 3.0, true);
        a.composite = 0.5;
        b.composite = 0.7;
        let out = decide("s", &streams, &[], &[a.clone(), b.clone()]);
        assert!(matches!(out.iter().find(|d| d.id == "b").unwrap().outcome, Outcome::Offer { .. }));
        b.composite = 0.5;
        let winner = if lottery_key("s", "a") < lottery_key("s", "b") { "a" } else { "b" };
        let out = decide("s", &streams, &[], &[a, b]);
        assert!(matches!(out.iter().find(|d| d.id == winner).unwrap().outcome, Outcome::Offer { .. }));
    }

    proptest! {
        /// Never more offers than free places per organisation; only appointable candidates
        /// are offered; nobody on reserve outranks anyone offered; the input order does not matter.
        #[test]
        fn offers_respect_places_judgement_and_rank(
            raw in proptest::collection::vec((0u8..2, 4u8..=16, any::<bool>(), any::<bool>()), 0..40),
            held_barts in 0u32..3,
            seed in any::<u64>(),
        ) {
            let streams = [stream("s0", &[("barts", 2), ("guys", 3)]), stream("s1", &[("slam", 1)])];
            let cands: Vec<Candidate> = raw.iter().enumerate().map(|(i, (s, q, ok, res))| Candidate {
                id: format!("c{i}"), stream: format!("s{s}"), ac_score: f64::from(*q) / 4.0,
                appointable: *ok, composite: 0.0, on_reserve: *res && *ok,
            }).collect();
            let held: Vec<(String, String)> = (0..held_barts).map(|_| ("s0".into(), "barts".into())).collect();
            let out = decide("sch", &streams, &held, &cands);
            let offers = |org: &str| out.iter().filter(|d| d.outcome == Outcome::Offer { organisation: org.into() }).count();
            prop_assert!(offers("barts") as u32 + held_barts.min(2) <= 2);
            prop_assert!(offers("guys") <= 3 && offers("slam") <= 1);
            let find = |id: &str| cands.iter().find(|c| c.id == id).unwrap();
            for d in &out {
                if matches!(d.outcome, Outcome::Offer { .. }) {
                    prop_assert!(find(&d.id).appointable);
                }
            }
            for o in out.iter().filter(|d| matches!(d.outcome, Outcome::Offer { .. })) {
                for r in out.iter().filter(|d| d.outcome == Outcome::Reserve && d.stream == o.stream) {
                    prop_assert!(compare("sch", find(&o.id), find(&r.id)) == Ordering::Less);
                }
            }
            let mut shuffled = cands.clone();
            let n = shuffled.len();
            if n > 1 { shuffled.rotate_left((seed % n as u64) as usize); }
            let mut again = decide("sch", &streams, &held, &shuffled);
            let mut first = out.clone();
            first.sort_by(|a, b| a.id.cmp(&b.id));
            again.sort_by(|a, b| a.id.cmp(&b.id));
            prop_assert_eq!(first, again);
        }
    }
}

/// Where a place offered stands: the application's own status while it is offered,
/// accepted or declined. Stored as text with a CHECK in both migration sets (0013).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferState {
    Offered,
    Accepted,
    Declined,
}

impl OfferState {
    pub const ALL: [OfferState; 3] = [OfferState::Offered, OfferState::Accepted, OfferState::Declined];

    pub fn as_str(self) -> &'static str {
        self.status().as_str()
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// The application status that goes with it.
    pub fn status(self) -> super::status::Status {
        match self {
            OfferState::Offered => super::status::Status::Offered,
            OfferState::Accepted => super::status::Status::Accepted,
            OfferState::Declined => super::status::Status::Declined,
        }
    }
}

impl std::fmt::Display for OfferState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
