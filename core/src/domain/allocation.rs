//! Assigning shortlisted candidates to assessment-centre sessions (SPEC §3,
//! "Assessment centres") — the pure optimisation, not yet wired to an endpoint.
//!
//! Hard constraints: never over a session's capacity; never on a date the
//! candidate cannot attend; an adjustment only where the session provides it;
//! no assessor with a conflict (same organisation as the candidate's employer,
//! or a declared conflict). Within those: as many candidates placed as possible,
//! then the greatest total preference.
//!
//! Solved exactly as a min-cost max-flow: source → candidate (1) → session class
//! (1, cost = best preference − preference) → sink (capacity). Sessions with the
//! same date, provisions, assessors and preference key form one class, so the
//! graph stays small. Successive shortest paths with Dijkstra on reduced costs
//! give a maximum flow of minimum cost, i.e. most placed, then best preference.
//! Deterministic: nodes are ordered by id and ties go to the lower index.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use jiff::civil::Date;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub date: Date,
    /// What candidates' preferences refer to (e.g. the venue).
    pub preference_key: String,
    pub capacity: u32,
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
    /// Preference per session `preference_key` (higher is better; missing = 0).
    pub preferences: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unplaced {
    /// No session the candidate could attend exists at all.
    NoSuitableSession,
    /// Suitable sessions exist but their seats went to others in an optimal plan.
    SessionsFull,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// (candidate id, session id), sorted by candidate.
    pub assigned: Vec<(String, String)>,
    /// Candidates left for the waiting list, with the reason.
    pub waiting: Vec<(String, Unplaced)>,
    pub total_preference: u64,
}

/// Whether the candidate may sit this session.
pub fn suitable(c: &Candidate, s: &Session) -> bool {
    !c.unavailable.contains(&s.date)
        && c.adjustments.iter().all(|a| s.provisions.contains(a))
        && !s
            .assessors
            .iter()
            .any(|(who, org)| c.conflicts.contains(who) || c.employer.as_deref() == Some(org.as_str()))
}

struct Edge {
    to: usize,
    cap: i64,
    cost: i64,
}

struct Graph {
    edges: Vec<Edge>,
    adj: Vec<Vec<usize>>,
}

impl Graph {
    fn new(n: usize) -> Self {
        Self { edges: Vec::new(), adj: vec![Vec::new(); n] }
    }
    fn add(&mut self, from: usize, to: usize, cap: i64, cost: i64) -> usize {
        self.adj[from].push(self.edges.len());
        self.edges.push(Edge { to, cap, cost });
        self.adj[to].push(self.edges.len());
        self.edges.push(Edge { to: from, cap: 0, cost: -cost });
        self.edges.len() - 2
    }

    /// Successive shortest paths with potentials; all original costs are ≥ 0.
    fn min_cost_max_flow(&mut self, s: usize, t: usize) {
        let n = self.adj.len();
        let mut potential = vec![0i64; n];
        loop {
            let mut dist = vec![i64::MAX; n];
            let mut prev: Vec<Option<usize>> = vec![None; n];
            dist[s] = 0;
            let mut heap = BinaryHeap::new();
            heap.push(Reverse((0i64, s)));
            while let Some(Reverse((d, u))) = heap.pop() {
                if d > dist[u] {
                    continue;
                }
                for &e in &self.adj[u] {
                    let edge = &self.edges[e];
                    if edge.cap <= 0 {
                        continue;
                    }
                    let nd = d + edge.cost + potential[u] - potential[edge.to];
                    if nd < dist[edge.to] {
                        dist[edge.to] = nd;
                        prev[edge.to] = Some(e);
                        heap.push(Reverse((nd, edge.to)));
                    }
                }
            }
            if dist[t] == i64::MAX {
                return;
            }
            for v in 0..n {
                if dist[v] < i64::MAX {
                    potential[v] += dist[v];
                }
            }
            // Bottleneck along the path.
            let mut push = i64::MAX;
            let mut v = t;
            while let Some(e) = prev[v] {
                push = push.min(self.edges[e].cap);
                v = self.edges[e ^ 1].to;
            }
            let mut v = t;
            while let Some(e) = prev[v] {
                self.edges[e].cap -= push;
                self.edges[e ^ 1].cap += push;
                v = self.edges[e ^ 1].to;
            }
        }
    }
}

/// Date, preference key, provisions, assessors: what makes sessions alike for every candidate.
type ClassKey = (Date, String, Vec<String>, Vec<(String, String)>);

/// Sessions that are the same for every candidate share a key.
fn class_key(s: &Session) -> ClassKey {
    let mut p = s.provisions.clone();
    p.sort();
    let mut a = s.assessors.clone();
    a.sort();
    (s.date, s.preference_key.clone(), p, a)
}

pub fn allocate(candidates: &[Candidate], sessions: &[Session]) -> Plan {
    let mut cands: Vec<&Candidate> = candidates.iter().collect();
    cands.sort_by(|a, b| a.id.cmp(&b.id));
    let mut sess: Vec<&Session> = sessions.iter().collect();
    sess.sort_by(|a, b| a.id.cmp(&b.id));
    // Classes of identical sessions, in a fixed order.
    let mut classes: BTreeMap<ClassKey, Vec<&Session>> = BTreeMap::new();
    for s in &sess {
        classes.entry(class_key(s)).or_default().push(s);
    }
    let classes: Vec<Vec<&Session>> = classes.into_values().collect();
    let best = cands.iter().flat_map(|c| c.preferences.values()).copied().max().unwrap_or(0) as i64;

    let (source, sink) = (0, 1);
    let cand_node = |i: usize| 2 + i;
    let class_node = |j: usize| 2 + cands.len() + j;
    let mut g = Graph::new(2 + cands.len() + classes.len());
    let mut pair_edges: Vec<(usize, usize, usize)> = Vec::new(); // (candidate, class, edge)
    for (i, c) in cands.iter().enumerate() {
        g.add(source, cand_node(i), 1, 0);
        for (j, class) in classes.iter().enumerate() {
            let rep = class[0];
            if suitable(c, rep) {
                let pref = i64::from(c.preferences.get(&rep.preference_key).copied().unwrap_or(0));
                let e = g.add(cand_node(i), class_node(j), 1, best - pref);
                pair_edges.push((i, j, e));
            }
        }
    }
    for (j, class) in classes.iter().enumerate() {
        let cap: u32 = class.iter().map(|s| s.capacity).sum();
        g.add(class_node(j), sink, i64::from(cap), 0);
    }
    g.min_cost_max_flow(source, sink);

    // Spread each class's candidates over its sessions in id order, filling each in turn.
    let mut per_class: Vec<Vec<usize>> = vec![Vec::new(); classes.len()];
    let mut placed = vec![false; cands.len()];
    for (i, j, e) in &pair_edges {
        if g.edges[*e].cap == 0 {
            per_class[*j].push(*i);
            placed[*i] = true;
        }
    }
    let mut assigned = Vec::new();
    let mut total = 0u64;
    for (j, members) in per_class.iter().enumerate() {
        let mut seats = classes[j].iter().flat_map(|s| std::iter::repeat_n(s.id.as_str(), s.capacity as usize));
        for &i in members {
            let session = seats.next().expect("the flow never exceeds a class's capacity");
            assigned.push((cands[i].id.clone(), session.to_owned()));
            total += u64::from(cands[i].preferences.get(&classes[j][0].preference_key).copied().unwrap_or(0));
        }
    }
    assigned.sort();
    let waiting = cands
        .iter()
        .enumerate()
        .filter(|(i, _)| !placed[*i])
        .map(|(_, c)| {
            let why =
                if sess.iter().any(|s| suitable(c, s)) { Unplaced::SessionsFull } else { Unplaced::NoSuitableSession };
            (c.id.clone(), why)
        })
        .collect();
    Plan { assigned, waiting, total_preference: total }
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
            preferences: prefs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        }
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

    /// Brute force: the best (placed, preference) over every assignment of small instances.
    fn brute(cands: &[Candidate], sessions: &[Session]) -> (usize, u64) {
        fn go(
            i: usize,
            cands: &[Candidate],
            sessions: &[Session],
            left: &mut Vec<u32>,
            placed: usize,
            pref: u64,
            best: &mut (usize, u64),
        ) {
            if i == cands.len() {
                if (placed, pref) > *best {
                    *best = (placed, pref);
                }
                return;
            }
            go(i + 1, cands, sessions, left, placed, pref, best);
            for (j, s) in sessions.iter().enumerate() {
                if left[j] > 0 && suitable(&cands[i], s) {
                    left[j] -= 1;
                    let p = u64::from(cands[i].preferences.get(&s.preference_key).copied().unwrap_or(0));
                    go(i + 1, cands, sessions, left, placed + 1, pref + p, best);
                    left[j] += 1;
                }
            }
        }
        let mut best = (0, 0);
        go(0, cands, sessions, &mut sessions.iter().map(|s| s.capacity).collect(), 0, 0, &mut best);
        best
    }

    fn instance() -> impl Strategy<Value = (Vec<Candidate>, Vec<Session>)> {
        let session_strategy =
            (1i8..4, 0usize..2, 0u32..3, any::<bool>(), 0usize..3).prop_map(|(day, venue, cap, step_free, org)| {
                (day, ["v0", "v1"][venue], cap, step_free, ["o0", "o1", "o2"][org])
            });
        let candidate = (proptest::collection::vec(1i8..4, 0..2), any::<bool>(), 0usize..4, 0u32..4, 0u32..4);
        (proptest::collection::vec(session_strategy, 1..4), proptest::collection::vec(candidate, 0..6)).prop_map(
            |(ss, cs)| {
                let sessions = ss
                    .into_iter()
                    .enumerate()
                    .map(|(i, (day, venue, cap, sf, org))| {
                        let prov: &[&str] = if sf { &["step_free_access"] } else { &[] };
                        session(&format!("s{i}"), day, venue, cap, prov, &[(&format!("a{i}"), org)])
                    })
                    .collect();
                let candidates = cs
                    .into_iter()
                    .enumerate()
                    .map(|(i, (un, needs_sf, employer, p0, p1))| {
                        let adj: &[&str] = if needs_sf { &["step_free_access"] } else { &[] };
                        let emp = ["o0", "o1", "o2", "nhs-x"][employer];
                        cand(&format!("c{i}"), &un, adj, Some(emp), &[("v0", p0), ("v1", p1)])
                    })
                    .collect();
                (candidates, sessions)
            },
        )
    }

    proptest! {
        #[test]
        fn the_plan_is_feasible_and_optimal((cands, sessions) in instance()) {
            let plan = allocate(&cands, &sessions);
            // Feasible: every assignment suits, no session over capacity, nobody twice.
            let mut used: BTreeMap<&str, u32> = BTreeMap::new();
            for (c, s) in &plan.assigned {
                let cand = cands.iter().find(|x| &x.id == c).unwrap();
                let sess = sessions.iter().find(|x| &x.id == s).unwrap();
                prop_assert!(suitable(cand, sess), "{c} cannot sit {s}");
                *used.entry(s.as_str()).or_default() += 1;
            }
            for s in &sessions {
                prop_assert!(used.get(s.id.as_str()).copied().unwrap_or(0) <= s.capacity);
            }
            prop_assert_eq!(plan.assigned.len() + plan.waiting.len(), cands.len());
            // Optimal: as many placed as possible, then the best total preference.
            prop_assert_eq!((plan.assigned.len(), plan.total_preference), brute(&cands, &sessions));
            // Deterministic regardless of input order.
            let mut rev_c = cands.clone();
            rev_c.reverse();
            let mut rev_s = sessions.clone();
            rev_s.reverse();
            prop_assert_eq!(allocate(&rev_c, &rev_s), plan);
        }
    }
}
