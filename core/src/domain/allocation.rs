//! Assigning shortlisted candidates to assessment-centre sessions (SPEC §3,
//! "Assessment centres") — the pure optimisation behind the schedule worker.
//!
//! Hard constraints: never over a session's capacity; never on a date the
//! candidate cannot attend; an adjustment only where the session provides it;
//! no assessor with a conflict (same organisation as the candidate's employer,
//! or a declared conflict); and a session with a minimum group size gets either
//! nobody new or enough to reach it, counting those already booked. Within those,
//! in this order: as many candidates placed as possible, then the greatest total
//! preference, then the most balanced sessions — the least Σ (1 + 2 + … + n) over
//! sessions, n a session's head count (booked and new), i.e. the least Σ n². Head
//! counts rather than fill ratios: what an uneven plan breaks is a group exercise
//! (a group of one), a head count is what assessors see, and it keeps every cost an
//! exact integer. Sessions of unequal capacity therefore even out their head counts
//! until the smaller ones are full.
//!
//! Solved exactly as a min-cost max-flow in two phases. Graph: source → candidate group
//! → session class (cost best preference − preference) → sink. Sessions that no
//! candidate can tell apart (same date, provisions, preference key, and the same assessors
//! *that anyone has a conflict with*) form one class; candidates who suit the same classes
//! with the same preferences form one group. Both are interchangeable within themselves,
//! so the flow on the small graph is optimal for the whole problem.
//!
//! Phase one, most placed then best preference: one sink arc per class at cost 0 (the
//! fast flow, a few rounds). Its final potentials π leave every residual arc at reduced
//! cost ≥ 0. For any flow f of the same value, f − f* is a circulation, so
//! cost(f) − cost(f*) = Σ_arcs rc(e)·(f(e) − f*(e)); an arc with rc > 0 has f*(e) = 0 (its
//! reverse would be negative) and one with rc < 0 is full, so every term is ≥ 0 and the
//! flows that place as many with as good a preference are exactly those that agree with
//! f* on every arc with rc ≠ 0. Phase two minimises balance over that face: the arcs at
//! rc = 0 may change either way (so candidates can still move between classes of equal
//! preference, through any chain of groups), the others are fixed. A class's sink arc, if
//! free, becomes one arc per seat level: the k-th new seat of a session costs the head
//! count it makes, booked + k; costs rising seat by seat (convex) make a min-cost flow
//! fill each session's seats in order, so the flow's cost is the class's balance and
//! seats of one cost in one class are one arc. Phase two starts from phase one's flow
//! (on each class's cheapest seats) with potentials that make every arc non-negative
//! except the seats a class holds at a dearer level than a free seat it can reach over
//! zero-cost arcs; only those are handed back and routed again, so when phase one's loads
//! are already balanced (e.g. every seat taken) phase two is one search of the graph.
//!
//! A minimum makes a session semi-continuous (0, or the minimum up to capacity),
//! which no single flow expresses; it is solved by branch and bound over flows, in
//! `search`. Deterministic: nodes are ordered by id and ties go to the lower index.

mod flow;
mod search;

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub date: Date,
    /// What candidates' preferences refer to (e.g. the venue).
    pub preference_key: String,
    /// Seats still free.
    pub capacity: u32,
    /// Seats already taken: they count towards the minimum and the balance.
    pub booked: u32,
    /// The smallest group the session may run with, counting `booked` (0 or 1: none).
    pub min_group: u32,
    pub provisions: Vec<String>,
    /// (assessor id, organisation)
    pub assessors: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: String,
    pub unavailable: Vec<Date>,
    pub adjustments: Vec<String>,
    pub employer: Option<String>,
    /// Assessor ids with a declared conflict.
    pub conflicts: Vec<String>,
    /// Sessions the candidate must not be given (the one they ask to move out of).
    pub exclude: Vec<String>,
    /// Preference per session `preference_key` (higher is better; missing = 0).
    pub preferences: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unplaced {
    /// No session the candidate could attend exists at all.
    NoSuitableSession,
    /// Suitable sessions exist but their seats went to others in an optimal plan, or
    /// too few could go to them to make up a session's minimum group.
    SessionsFull,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// (candidate id, session id), sorted by candidate.
    pub assigned: Vec<(String, String)>,
    /// Candidates left for the waiting list, with the reason.
    pub waiting: Vec<(String, Unplaced)>,
    pub total_preference: u64,
    /// False only when minimum group sizes made the search too large to finish: the
    /// plan then keeps every constraint but may not be the best one.
    pub proven_optimal: bool,
}

/// Whether the candidate may sit this session.
pub fn suitable(c: &Candidate, s: &Session) -> bool {
    !c.unavailable.contains(&s.date)
        && !c.exclude.contains(&s.id)
        && c.adjustments.iter().all(|a| s.provisions.contains(a))
        && !s
            .assessors
            .iter()
            .any(|(who, org)| c.conflicts.contains(who) || c.employer.as_deref() == Some(org.as_str()))
}

/// What makes two sessions alike for every candidate: date, preference key, provisions, only
/// those assessor organisations and ids that some candidate has a conflict with, and the
/// session's own id if some candidate excludes it.
type ClassKey = (Date, String, Vec<String>, Vec<String>, Vec<String>, Option<String>);

/// The classes a candidate suits, each with the candidate's preference for it.
type Signature = Vec<(usize, u32)>;

pub fn allocate(candidates: &[Candidate], sessions: &[Session]) -> Plan {
    plan_within(candidates, sessions, None)
}

/// `allocate` with the search for minimum group sizes held to `budget` (None: the default).
fn plan_within(candidates: &[Candidate], sessions: &[Session], budget: Option<usize>) -> Plan {
    let mut cands: Vec<&Candidate> = candidates.iter().collect();
    cands.sort_by(|a, b| a.id.cmp(&b.id));
    let mut sess: Vec<&Session> = sessions.iter().collect();
    sess.sort_by(|a, b| a.id.cmp(&b.id));

    // Classes of sessions no candidate can tell apart, in a fixed order.
    let employers: BTreeSet<&str> = cands.iter().filter_map(|c| c.employer.as_deref()).collect();
    let conflicted: BTreeSet<&str> = cands.iter().flat_map(|c| c.conflicts.iter().map(String::as_str)).collect();
    let excluded: BTreeSet<&str> = cands.iter().flat_map(|c| c.exclude.iter().map(String::as_str)).collect();
    let mut classes: BTreeMap<ClassKey, Vec<&Session>> = BTreeMap::new();
    for s in &sess {
        let mut provisions = s.provisions.clone();
        provisions.sort();
        provisions.dedup();
        let orgs: BTreeSet<String> =
            s.assessors.iter().filter(|(_, o)| employers.contains(o.as_str())).map(|(_, o)| o.clone()).collect();
        let ids: BTreeSet<String> =
            s.assessors.iter().filter(|(a, _)| conflicted.contains(a.as_str())).map(|(a, _)| a.clone()).collect();
        let own = excluded.contains(s.id.as_str()).then(|| s.id.clone());
        let key =
            (s.date, s.preference_key.clone(), provisions, orgs.into_iter().collect(), ids.into_iter().collect(), own);
        classes.entry(key).or_default().push(s);
    }
    let classes: Vec<Vec<&Session>> = classes.into_values().collect();

    // Groups of candidates who suit the same classes with the same preferences.
    let mut groups: BTreeMap<Signature, Vec<usize>> = BTreeMap::new();
    for (i, c) in cands.iter().enumerate() {
        let signature: Signature = classes
            .iter()
            .enumerate()
            .filter(|(_, class)| suitable(c, class[0]))
            .map(|(j, class)| (j, c.preferences.get(&class[0].preference_key).copied().unwrap_or(0)))
            .collect();
        groups.entry(signature).or_default().push(i);
    }
    let groups: Vec<(Signature, Vec<usize>)> = groups.into_iter().collect();

    let problem = search::Problem::new(&classes, &groups, cands.len());
    let (best, proven_optimal) = problem.solve(budget);

    // Members of a group go, in id order, to its classes in class order as the flow says;
    // each class's candidates then fill its sessions in id order, as many as the flow gave each.
    let mut per_class: Vec<Vec<usize>> = vec![Vec::new(); classes.len()];
    let mut next_member = vec![0usize; groups.len()];
    for ((g, j), &used) in problem.arcs().zip(&best.used) {
        let members = &groups[g].1;
        per_class[j].extend_from_slice(&members[next_member[g]..next_member[g] + used]);
        next_member[g] += used;
    }
    let mut placed = vec![false; cands.len()];
    let mut assigned = Vec::new();
    let mut total = 0u64;
    for (j, members) in per_class.iter_mut().enumerate() {
        members.sort_unstable();
        let mut seats =
            classes[j].iter().zip(&best.counts[j]).flat_map(|(s, &n)| std::iter::repeat_n(s.id.as_str(), n as usize));
        for &i in members.iter() {
            let session = seats.next().expect("the flow gives a class's sessions all its candidates");
            assigned.push((cands[i].id.clone(), session.to_owned()));
            placed[i] = true;
            total += u64::from(cands[i].preferences.get(&classes[j][0].preference_key).copied().unwrap_or(0));
        }
    }
    assigned.sort();
    let mut waiting = Vec::new();
    for (signature, members) in &groups {
        let why = if signature.is_empty() { Unplaced::NoSuitableSession } else { Unplaced::SessionsFull };
        waiting.extend(members.iter().filter(|i| !placed[**i]).map(|i| (cands[*i].id.clone(), why)));
    }
    waiting.sort_by(|a, b| a.0.cmp(&b.0));
    Plan { assigned, waiting, total_preference: total, proven_optimal }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(day: i8) -> Date {
        Date::new(2027, 3, day).unwrap()
    }

    fn session(id: &str, day: i8, venue: &str, cap: u32, provisions: &[&str], assessors: &[(&str, &str)]) -> Session {
        Session {
            id: id.into(),
            date: d(day),
            preference_key: venue.into(),
            capacity: cap,
            booked: 0,
            min_group: 0,
            provisions: provisions.iter().map(|p| (*p).into()).collect(),
            assessors: assessors.iter().map(|(a, o)| ((*a).into(), (*o).into())).collect(),
        }
    }

    fn cand(
        id: &str,
        unavailable: &[i8],
        adjustments: &[&str],
        employer: Option<&str>,
        prefs: &[(&str, u32)],
    ) -> Candidate {
        Candidate {
            id: id.into(),
            unavailable: unavailable.iter().map(|x| d(*x)).collect(),
            adjustments: adjustments.iter().map(|a| (*a).into()).collect(),
            employer: employer.map(Into::into),
            conflicts: Vec::new(),
            exclude: Vec::new(),
            preferences: prefs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        }
    }

    /// Head counts of the used sessions, by session id.
    fn sizes(plan: &Plan) -> BTreeMap<String, u32> {
        let mut sizes = BTreeMap::new();
        for (_, s) in &plan.assigned {
            *sizes.entry(s.clone()).or_default() += 1;
        }
        sizes
    }

    fn equal(n: usize) -> Vec<Candidate> {
        (0..n).map(|i| cand(&format!("c{i:02}"), &[], &[], None, &[])).collect()
    }

    #[test]
    fn constraints_hold_and_preferences_are_honoured() {
        let sessions = [
            session("s1", 1, "leeds", 1, &["step_free_access"], &[("a1", "barts")]),
            session("s2", 2, "london", 1, &[], &[("a2", "slam")]),
        ];
        let cands = [
            cand("c1", &[], &["step_free_access"], None, &[("london", 3)]), // only s1 provides the access
            cand("c2", &[1], &[], None, &[("leeds", 3)]),                   // cannot attend day 1
            cand("c3", &[], &[], Some("slam"), &[]),                        // conflicts with s2's assessor
        ];
        let plan = allocate(&cands, &sessions);
        assert_eq!(plan.assigned, [("c1".to_owned(), "s1".to_owned()), ("c2".to_owned(), "s2".to_owned())]);
        assert_eq!(plan.waiting, [("c3".to_owned(), Unplaced::SessionsFull)]);
    }

    #[test]
    fn more_placed_beats_better_preferences() {
        // c1 would prefer s1, but only s1 suits c2: the optimum places both.
        let sessions = [session("s1", 1, "a", 1, &["quiet_room"], &[]), session("s2", 2, "b", 1, &[], &[])];
        let cands = [cand("c1", &[], &[], None, &[("a", 5)]), cand("c2", &[2], &["quiet_room"], None, &[])];
        let plan = allocate(&cands, &sessions);
        assert_eq!(plan.assigned.len(), 2);
        assert!(plan.assigned.contains(&("c2".to_owned(), "s1".to_owned())));
    }

    #[test]
    fn spare_seats_are_shared_out_evenly() {
        // The issue: 61 candidates into seven 10-seat sessions came out 10,10,10,10,10,10,1.
        let sessions: Vec<Session> = (0..7).map(|i| session(&format!("s{i}"), 1, "leeds", 10, &[], &[])).collect();
        let plan = allocate(&equal(61), &sessions);
        assert_eq!(plan.assigned.len(), 61);
        let sizes = sizes(&plan);
        let (min, max) = (sizes.values().min().copied(), sizes.values().max().copied());
        assert_eq!((sizes.len(), min, max), (7, Some(8), Some(9)), "{sizes:?}");
    }

    #[test]
    fn sessions_candidates_can_tell_apart_are_balanced_too() {
        let sessions: Vec<Session> = (1..4).map(|i| session(&format!("s{i}"), i, "leeds", 10, &[], &[])).collect();
        let plan = allocate(&equal(12), &sessions);
        assert_eq!(sizes(&plan).into_values().collect::<Vec<_>>(), [4, 4, 4]);
    }

    #[test]
    fn preference_comes_before_balance_and_bookings_count_towards_it() {
        let sessions = [session("s1", 1, "a", 10, &[], &[]), session("s2", 1, "b", 10, &[], &[])];
        let cands: Vec<Candidate> = (0..5).map(|i| cand(&format!("c{i}"), &[], &[], None, &[("a", 1)])).collect();
        assert_eq!(sizes(&allocate(&cands, &sessions)), BTreeMap::from([("s1".to_owned(), 5)]));

        // s1 already seats 6: the four newcomers even it out by going to s2.
        let mut sessions = [session("s1", 1, "a", 4, &[], &[]), session("s2", 1, "a", 10, &[], &[])];
        sessions[0].booked = 6;
        assert_eq!(sizes(&allocate(&equal(4), &sessions)), BTreeMap::from([("s2".to_owned(), 4)]));
    }

    #[test]
    fn a_session_runs_with_its_minimum_group_or_not_at_all() {
        // Twelve candidates, seven sessions of at least five: two sessions of six, not 2,2,2,2,2,1,1.
        let mut sessions: Vec<Session> = (0..7).map(|i| session(&format!("s{i}"), 1, "leeds", 10, &[], &[])).collect();
        for s in &mut sessions {
            s.min_group = 5;
        }
        let plan = allocate(&equal(12), &sessions);
        assert!(plan.proven_optimal);
        assert_eq!(sizes(&plan).into_values().collect::<Vec<_>>(), [6, 6]);

        // Two candidates cannot make up a group of three: they wait.
        sessions.truncate(1);
        sessions[0].min_group = 3;
        let plan = allocate(&equal(2), &sessions);
        assert!(plan.assigned.is_empty());
        assert_eq!(plan.waiting.iter().map(|(_, why)| *why).collect::<Vec<_>>(), [Unplaced::SessionsFull; 2]);

        // Those already booked count: with two seated, one newcomer still waits, two are placed.
        sessions[0].min_group = 4;
        sessions[0].booked = 2;
        assert!(allocate(&equal(1), &sessions).assigned.is_empty());
        assert_eq!(allocate(&equal(2), &sessions).assigned.len(), 2);
    }

    #[test]
    fn a_minimum_can_send_candidates_elsewhere() {
        // All three fit s1 (a group of three at least) or s2 (one seat): the minimum holds, three placed.
        let mut sessions = [session("s1", 1, "a", 3, &[], &[]), session("s2", 2, "a", 1, &[], &[])];
        sessions[0].min_group = 3;
        let plan = allocate(&equal(3), &sessions);
        assert_eq!(sizes(&plan), BTreeMap::from([("s1".to_owned(), 3)]));
        // Only two suit s1: it cannot run, so one is placed (in s2), one waits.
        let mut cands = equal(3);
        cands[2].unavailable.push(d(1));
        let plan = allocate(&cands, &sessions);
        assert_eq!(plan.assigned.len(), 1);
        assert_eq!(sizes(&plan), BTreeMap::from([("s2".to_owned(), 1)]));
    }

    /// What a plan achieves, larger is better: (placed, total preference, least balance).
    type Value = (usize, u64, std::cmp::Reverse<u64>);

    /// Balance: Σ 1 + 2 + … + n over sessions, n the head count (booked and new).
    fn balance(sessions: &[Session], new: &[u32]) -> u64 {
        sessions.iter().zip(new).map(|(s, &n)| (1..=u64::from(n)).map(|k| u64::from(s.booked) + k).sum::<u64>()).sum()
    }

    /// A session given anyone reaches its minimum, counting those booked.
    fn keeps_minimum(s: &Session, new: u32) -> bool {
        new == 0 || s.booked + new >= s.min_group
    }

    /// Brute force: the best value over every assignment of small instances.
    fn brute(cands: &[Candidate], sessions: &[Session]) -> Value {
        fn go(i: usize, cands: &[Candidate], sessions: &[Session], new: &mut Vec<u32>, pref: u64, best: &mut Value) {
            if i == cands.len() {
                if sessions.iter().zip(new.iter()).all(|(s, &n)| keeps_minimum(s, n)) {
                    let placed = new.iter().sum::<u32>() as usize;
                    let value = (placed, pref, std::cmp::Reverse(balance(sessions, new)));
                    *best = value.max(*best);
                }
                return;
            }
            go(i + 1, cands, sessions, new, pref, best);
            for (j, s) in sessions.iter().enumerate() {
                if new[j] < s.capacity && suitable(&cands[i], s) {
                    new[j] += 1;
                    let p = u64::from(cands[i].preferences.get(&s.preference_key).copied().unwrap_or(0));
                    go(i + 1, cands, sessions, new, pref + p, best);
                    new[j] -= 1;
                }
            }
        }
        let mut best = (0, 0, std::cmp::Reverse(u64::MAX));
        go(0, cands, sessions, &mut vec![0; sessions.len()], 0, &mut best);
        best
    }

    fn instance() -> impl Strategy<Value = (Vec<Candidate>, Vec<Session>)> {
        let session_strategy = (1i8..4, 0usize..2, 0u32..4, any::<bool>(), 0usize..3, 0u32..2, 0u32..4).prop_map(
            |(day, venue, cap, step_free, org, booked, min)| {
                (day, ["v0", "v1"][venue], cap, step_free, ["o0", "o1", "o2"][org], booked, min)
            },
        );
        let candidate =
            (proptest::collection::vec(1i8..4, 0..2), any::<bool>(), 0usize..4, 0u32..4, 0u32..4, 0usize..6);
        (proptest::collection::vec(session_strategy, 1..4), proptest::collection::vec(candidate, 0..7)).prop_map(
            |(ss, cs)| {
                let sessions = ss
                    .into_iter()
                    .enumerate()
                    .map(|(i, (day, venue, cap, sf, org, booked, min))| {
                        let prov: &[&str] = if sf { &["step_free_access"] } else { &[] };
                        let mut s = session(&format!("s{i}"), day, venue, cap, prov, &[(&format!("a{i}"), org)]);
                        (s.booked, s.min_group) = (booked, min);
                        s
                    })
                    .collect();
                let candidates = cs
                    .into_iter()
                    .enumerate()
                    .map(|(i, (un, needs_sf, employer, p0, p1, conflict))| {
                        let adj: &[&str] = if needs_sf { &["step_free_access"] } else { &[] };
                        let emp = ["o0", "o1", "o2", "nhs-x"][employer];
                        let mut c = cand(&format!("c{i}"), &un, adj, Some(emp), &[("v0", p0), ("v1", p1)]);
                        if conflict < 3 {
                            c.conflicts.push(format!("a{conflict}"));
                        } else if conflict == 3 {
                            c.exclude.push("s0".into());
                        }
                        c
                    })
                    .collect();
                (candidates, sessions)
            },
        )
    }

    /// The plan keeps every hard constraint; returns its value.
    fn check(plan: &Plan, cands: &[Candidate], sessions: &[Session]) -> Result<Value, TestCaseError> {
        let mut new = vec![0u32; sessions.len()];
        for (c, s) in &plan.assigned {
            let cand = cands.iter().find(|x| &x.id == c).unwrap();
            let j = sessions.iter().position(|x| &x.id == s).unwrap();
            prop_assert!(suitable(cand, &sessions[j]), "{c} cannot sit {s}");
            new[j] += 1;
        }
        for (s, &n) in sessions.iter().zip(&new) {
            prop_assert!(n <= s.capacity, "{} over capacity", s.id);
            prop_assert!(keeps_minimum(s, n), "{} below its minimum with {n}", s.id);
        }
        prop_assert_eq!(plan.assigned.len() + plan.waiting.len(), cands.len());
        Ok((plan.assigned.len(), plan.total_preference, std::cmp::Reverse(balance(sessions, &new))))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn the_plan_is_feasible_and_optimal((cands, sessions) in instance()) {
            let plan = allocate(&cands, &sessions);
            // Optimal: most placed, then the best total preference, then the most balanced.
            prop_assert!(plan.proven_optimal);
            prop_assert_eq!(check(&plan, &cands, &sessions)?, brute(&cands, &sessions));
            // Deterministic regardless of input order.
            let mut rev_c = cands.clone();
            rev_c.reverse();
            let mut rev_s = sessions.clone();
            rev_s.reverse();
            prop_assert_eq!(allocate(&rev_c, &rev_s), plan);
            // A search cut short still keeps every constraint.
            let hurried = plan_within(&cands, &sessions, Some(0));
            prop_assert!(check(&hurried, &cands, &sessions)? <= brute(&cands, &sessions));
        }
    }
}
