//! Assigning shortlisted candidates to assessment-centre sessions (SPEC §3,
//! "Assessment centres") — the pure optimisation, not yet wired to an endpoint.
//!
//! Hard constraints: never over a session's capacity; never on a date the
//! candidate cannot attend; an adjustment only where the session provides it;
//! no assessor with a conflict (same organisation as the candidate's employer,
//! or a declared conflict). Within those: as many candidates placed as possible,
//! then the greatest total preference.
//!
//! Solved exactly as a min-cost max-flow: source → candidate group → session
//! class (cost = best preference − preference) → sink (capacity). Sessions that
//! no candidate can tell apart (same date, provisions, preference key, and the
//! same assessors *that anyone has a conflict with*) form one class; candidates
//! who suit the same classes with the same preferences form one group. Both are
//! interchangeable within themselves, so the flow on the small graph is optimal
//! for the whole problem. Successive shortest paths with Dijkstra on reduced costs
//! give a maximum flow of minimum cost, i.e. most placed, then best preference.
//! Deterministic: nodes are ordered by id and ties go to the lower index.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

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
        && !c.exclude.contains(&s.id)
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

    /// Min-cost max-flow by the primal-dual method: Dijkstra on reduced costs finds the
    /// next shortest distance, then a blocking flow (Dinic) pushes everything that travels
    /// at that distance at once. All original costs are ≥ 0. The number of rounds is the
    /// number of distinct path costs, which is small (preferences are small integers).
    fn min_cost_max_flow(&mut self, s: usize, t: usize) {
        let n = self.adj.len();
        let mut potential = vec![0i64; n];
        loop {
            let mut dist = vec![i64::MAX; n];
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
                        heap.push(Reverse((nd, edge.to)));
                    }
                }
            }
            if dist[t] == i64::MAX {
                return;
            }
            for v in 0..n {
                // Unreached nodes keep their reduced costs non-negative by moving as far as t.
                potential[v] += dist[v].min(dist[t]);
            }
            self.blocking_flows(s, t, &potential);
        }
    }

    /// Dinic's algorithm restricted to admissible edges (reduced cost 0, capacity left).
    fn blocking_flows(&mut self, s: usize, t: usize, potential: &[i64]) {
        let n = self.adj.len();
        let admissible = |g: &Graph, u: usize, e: usize| {
            g.edges[e].cap > 0 && g.edges[e].cost + potential[u] - potential[g.edges[e].to] == 0
        };
        loop {
            let mut level = vec![usize::MAX; n];
            level[s] = 0;
            let mut queue = std::collections::VecDeque::from([s]);
            while let Some(u) = queue.pop_front() {
                for &e in &self.adj[u] {
                    let v = self.edges[e].to;
                    if level[v] == usize::MAX && admissible(self, u, e) {
                        level[v] = level[u] + 1;
                        queue.push_back(v);
                    }
                }
            }
            if level[t] == usize::MAX {
                return;
            }
            let mut next = vec![0usize; n];
            // Iterative DFS with current-arc pointers.
            loop {
                let mut path: Vec<usize> = Vec::new();
                let mut u = s;
                let found = loop {
                    if u == t {
                        break true;
                    }
                    let mut advanced = false;
                    while next[u] < self.adj[u].len() {
                        let e = self.adj[u][next[u]];
                        let v = self.edges[e].to;
                        if level[v] == level[u] + 1 && admissible(self, u, e) {
                            path.push(e);
                            u = v;
                            advanced = true;
                            break;
                        }
                        next[u] += 1;
                    }
                    if !advanced {
                        if u == s {
                            break false;
                        }
                        // Dead end: retreat and skip the edge that led here.
                        level[u] = usize::MAX;
                        let e = path.pop().expect("not at the source");
                        u = self.edges[e ^ 1].to;
                        next[u] += 1;
                    }
                };
                if !found {
                    break;
                }
                let push = path.iter().map(|&e| self.edges[e].cap).min().unwrap_or(0);
                for &e in &path {
                    self.edges[e].cap -= push;
                    self.edges[e ^ 1].cap += push;
                }
            }
        }
    }
}

/// What makes two sessions alike for every candidate: date, preference key, provisions, only
/// those assessor organisations and ids that some candidate has a conflict with, and the
/// session's own id if some candidate excludes it.
type ClassKey = (Date, String, Vec<String>, Vec<String>, Vec<String>, Option<String>);

/// The classes a candidate suits, each with the candidate's preference for it.
type Signature = Vec<(usize, u32)>;

pub fn allocate(candidates: &[Candidate], sessions: &[Session]) -> Plan {
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
    let best = i64::from(groups.iter().flat_map(|(sig, _)| sig.iter().map(|(_, p)| *p)).max().unwrap_or(0));

    let (source, sink) = (0, 1);
    let group_node = |g: usize| 2 + g;
    let class_node = |j: usize| 2 + groups.len() + j;
    let mut graph = Graph::new(2 + groups.len() + classes.len());
    let mut flows: Vec<(usize, usize, usize, i64)> = Vec::new(); // (group, class, edge, capacity)
    for (g, (signature, members)) in groups.iter().enumerate() {
        let size = members.len() as i64;
        graph.add(source, group_node(g), size, 0);
        for &(j, pref) in signature {
            let e = graph.add(group_node(g), class_node(j), size, best - i64::from(pref));
            flows.push((g, j, e, size));
        }
    }
    for (j, class) in classes.iter().enumerate() {
        let cap: u32 = class.iter().map(|s| s.capacity).sum();
        graph.add(class_node(j), sink, i64::from(cap), 0);
    }
    graph.min_cost_max_flow(source, sink);

    // Members of a group go, in id order, to its classes in class order as the flow says;
    // each class's candidates then fill its sessions in id order.
    let mut per_class: Vec<Vec<usize>> = vec![Vec::new(); classes.len()];
    let mut next_member = vec![0usize; groups.len()];
    for (g, j, e, size) in &flows {
        let used = (size - graph.edges[*e].cap) as usize;
        let members = &groups[*g].1;
        per_class[*j].extend_from_slice(&members[next_member[*g]..next_member[*g] + used]);
        next_member[*g] += used;
    }
    let mut placed = vec![false; cands.len()];
    let mut assigned = Vec::new();
    let mut total = 0u64;
    for (j, members) in per_class.iter_mut().enumerate() {
        members.sort_unstable();
        let mut seats = classes[j].iter().flat_map(|s| std::iter::repeat_n(s.id.as_str(), s.capacity as usize));
        for &i in members.iter() {
            let session = seats.next().expect("the flow never exceeds a class's capacity");
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
            exclude: Vec::new(),
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
        let candidate =
            (proptest::collection::vec(1i8..4, 0..2), any::<bool>(), 0usize..4, 0u32..4, 0u32..4, 0usize..6);
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
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
