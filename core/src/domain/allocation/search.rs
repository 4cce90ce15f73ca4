//! The exact search behind `allocate`: one min-cost max-flow when no session sets a
//! minimum group, branch and bound over such flows when some do.
//!
//! Sessions of one class alike in free seats, bookings and minimum are interchangeable,
//! so they form a *kind*, and a search node only bounds how many of a kind are open:
//! the first `lo` (in id order) are forced, the next ones up to `hi` free, the rest
//! closed. A node's flow relaxes it — free sessions may fall below their minimum — so
//! its value is the best any plan in the node can reach. A forced session's first
//! `need` seats cost H less than every other seat in the preference phase, H larger than
//! all preference costs together (a separate sink arc, so at most one of a class's two
//! arcs is at reduced cost 0 and the balance phase never trades one for the other): the
//! flow fills them whenever some maximum flow can, and some maximum flow
//! can whenever any flow can (the seats a matching can cover form a matroid, so a
//! coverable set extends to a maximum matching); otherwise the node has no plan.
//!
//! Best-first: the node with the best value is taken; if no free session of its flow is
//! below its minimum, that flow is a plan no other node can beat. Otherwise a kind with
//! x new candidates in U used sessions, some below the minimum, splits at
//! k = min(⌊x / need⌋, U − 1) into "at most k open" and "at least k + 1 open". The two
//! cover every plan of the node, neither contains the node's flow (it uses U > k
//! sessions, and fewer than k + 1 of them reach the minimum), and each narrows the kind's
//! range, so the search ends. With balance the flow already spreads candidates evenly,
//! so a minimum only bites when candidates are few for the seats, and then the search
//! is short; past its budget (SEARCH_TIMES the first flow's work) the best node is
//! completed by closing the surplus sessions, which keeps every constraint but is not
//! proven optimal.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use super::flow::Graph;
use super::{Session, Signature};

const SOURCE: usize = 0;
const SINK: usize = 1;

/// How much the search may spend before it settles for a completed plan, in edges the
/// flows look at: this many times the first flow's work, and at least `SEARCH_FLOOR` (a
/// fraction of a second, far more than instances of test size ever need).
const SEARCH_TIMES: usize = 16;
const SEARCH_FLOOR: usize = 50_000_000;

/// The seats a session offers in one search node.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    Free,
    /// Its first `need` seats must be filled.
    Forced(u32),
    Closed,
}

/// What a session is to the search.
#[derive(Clone, Copy)]
enum Role {
    /// No minimum to keep (none set, or those already booked meet it).
    Plain,
    /// Its minimum is larger than its free seats can make up.
    Unusable,
    /// Member `rank` of kind `kind`.
    Kind { kind: usize, rank: usize },
}

struct Kind {
    class: usize,
    /// Positions in the class, in id order.
    members: Vec<usize>,
    /// New candidates a used session needs (≥ 2).
    need: u32,
}

/// Seat levels of a sink arc: (cost, the sessions whose next seat it is), cheapest first.
type Levels = Vec<(i64, Vec<usize>)>;

/// A seat level in the balance phase: (edge, cost, the sessions it seats).
type SeatArc<'s> = (usize, i64, &'s [usize]);

/// For each kind, at least `.0` and at most `.1` of its sessions are open.
type Node = Vec<(usize, usize)>;

/// The optimal flow of one node.
pub(super) struct Relaxed {
    /// New candidates per session, per class, in the class's session order.
    pub(super) counts: Vec<Vec<u32>>,
    /// Candidates on each group → class arc, in `Problem::arcs` order.
    pub(super) used: Vec<usize>,
    /// (placed, total preference, least balance): larger is better.
    value: (u64, u64, Reverse<u64>),
}

pub(super) struct Problem<'a> {
    classes: &'a [Vec<&'a Session>],
    /// Source → group → class; the sink arcs depend on the node.
    base: Graph,
    /// (group, class, edge, preference) per group → class arc.
    arcs: Vec<(usize, usize, usize, u32)>,
    kinds: Vec<Kind>,
    roles: Vec<Vec<Role>>,
    /// The cost a seat saves by being one of a forced session's first `need`.
    forced_bonus: i64,
    groups: usize,
}

fn need(s: &Session) -> u32 {
    let need = s.min_group.saturating_sub(s.booked);
    if need <= 1 { 0 } else { need }
}

impl<'a> Problem<'a> {
    pub(super) fn new(classes: &'a [Vec<&'a Session>], groups: &[(Signature, Vec<usize>)], candidates: usize) -> Self {
        let mut kinds: BTreeMap<(usize, u32, u32, u32), Vec<usize>> = BTreeMap::new();
        let mut roles: Vec<Vec<Role>> = Vec::new();
        for (j, class) in classes.iter().enumerate() {
            roles.push(class.iter().map(|s| if need(s) > s.capacity { Role::Unusable } else { Role::Plain }).collect());
            for (p, s) in class.iter().enumerate() {
                if need(s) > 0 && need(s) <= s.capacity {
                    kinds.entry((j, s.capacity, s.booked, need(s))).or_default().push(p);
                }
            }
        }
        let kinds: Vec<Kind> = kinds
            .into_iter()
            .enumerate()
            .map(|(kind, ((class, _, _, need), members))| {
                for (rank, &p) in members.iter().enumerate() {
                    roles[class][p] = Role::Kind { kind, rank };
                }
                Kind { class, members, need }
            })
            .collect();

        // The preference phase's costs: a unit of preference per candidate and class, and the
        // forced bonus above all of them together (balance is the second phase's, alone).
        let best = i128::from(groups.iter().flat_map(|(sig, _)| sig.iter().map(|(_, p)| *p)).max().unwrap_or(0));
        let bonus = if kinds.is_empty() { 0 } else { candidates as i128 * best + 1 };
        let seat_max = classes.iter().flatten().map(|s| i128::from(s.booked) + i128::from(s.capacity)).max();
        let nodes = (3 + groups.len() + classes.len()) as i128;
        assert!(
            nodes * (bonus + best + seat_max.unwrap_or(0)) < i128::from(i64::MAX / 2),
            "preferences and capacities too large for exact integer costs"
        );
        let best = best as i64;

        let mut base = Graph::new(2 + groups.len() + classes.len());
        let mut arcs = Vec::new();
        for (g, (signature, members)) in groups.iter().enumerate() {
            let size = members.len() as i64;
            base.add(SOURCE, 2 + g, size, 0);
            for &(j, pref) in signature {
                let e = base.add(2 + g, 2 + groups.len() + j, size, best - i64::from(pref));
                arcs.push((g, j, e, pref));
            }
        }
        Self { classes, base, arcs, kinds, roles, forced_bonus: bonus as i64, groups: groups.len() }
    }

    /// (group, class) of each group → class arc, in the order of `Relaxed::used`.
    pub(super) fn arcs(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.arcs.iter().map(|&(g, j, _, _)| (g, j))
    }

    fn open(&self, node: &Node, j: usize, p: usize) -> Open {
        match self.roles[j][p] {
            Role::Plain => Open::Free,
            Role::Unusable => Open::Closed,
            Role::Kind { kind, rank } => {
                let (lo, hi) = node[kind];
                if rank < lo {
                    Open::Forced(self.kinds[kind].need)
                } else if rank < hi {
                    Open::Free
                } else {
                    Open::Closed
                }
            }
        }
    }

    /// The node's optimal flow, or None if it cannot fill its forced sessions; and the work
    /// it took. Two phases, exact by the argument in the module docs: the most placed and
    /// forced seats, then the best preference, in one flow with a single arc per class for
    /// its forced seats and one for its other seats; then the least balance over the flows
    /// that share that optimum, i.e. over the arcs at reduced cost 0.
    fn relax(&self, node: &Node) -> (Option<Relaxed>, usize) {
        let mut graph = self.base.clone();
        // Per class, its sink arcs: (edge, seat levels as (cost, the sessions whose next seat
        // it is), cheapest first). The forced seats' arc, if any, comes first.
        let mut sinks: Vec<Vec<(usize, Levels)>> = Vec::with_capacity(self.classes.len());
        for (j, class) in self.classes.iter().enumerate() {
            let (mut forced_levels, mut other_levels) = (BTreeMap::new(), BTreeMap::new());
            for (p, s) in class.iter().enumerate() {
                let forced = match self.open(node, j, p) {
                    Open::Closed => continue,
                    Open::Free => 0,
                    Open::Forced(need) => need,
                };
                for k in 1..=s.capacity {
                    let levels = if k <= forced { &mut forced_levels } else { &mut other_levels };
                    levels.entry(i64::from(s.booked) + i64::from(k)).or_insert_with(Vec::new).push(p);
                }
            }
            let class_node = 2 + self.groups + j;
            let mut arcs = Vec::new();
            for (levels, cost) in [(forced_levels, 0), (other_levels, self.forced_bonus)] {
                let seats: usize = levels.values().map(Vec::len).sum();
                if seats > 0 {
                    arcs.push((graph.add(class_node, SINK, seats as i64, cost), levels.into_iter().collect()));
                }
            }
            sinks.push(arcs);
        }
        let (mut work, potential) = graph.min_cost_max_flow(SOURCE, SINK);
        let reduced = |e: usize| graph.edges[e].cost + potential[graph.from(e)] - potential[graph.edges[e].to];

        // The balance phase: the arcs at reduced cost 0 keep their flow and may change it
        // either way; the others keep it. A free sink arc hands its flow back to its class
        // (from a super source) and offers its seats one level at a time, at the head count
        // each makes; routing it all again at least cost is the balance optimum.
        let n = 3 + self.groups + self.classes.len();
        let top = n - 1;
        let mut second = Graph::new(n);
        let mut moved = vec![None; graph.edges.len()];
        for e in (0..self.base.edges.len()).step_by(2) {
            if reduced(e) == 0 {
                let (u, v) = (graph.from(e), graph.edges[e].to);
                moved[e] = Some(second.add_used(u, v, graph.edges[e].cap, graph.flow(e), 0));
            }
        }
        let mut counts: Vec<Vec<u32>> = self.classes.iter().map(|c| vec![0; c.len()]).collect();
        // Per class with a free sink arc: its level edges in the second graph, each with the
        // sessions it seats, cheapest first, carrying the first phase's flow on the cheapest.
        let mut levels_used: Vec<(usize, Vec<SeatArc>)> = Vec::new();
        for (j, arcs) in sinks.iter().enumerate() {
            let class_node = 2 + self.groups + j;
            let mut edges = Vec::new();
            for (e, levels) in arcs {
                let mut flow = graph.flow(*e);
                if reduced(*e) == 0 {
                    for (cost, ps) in levels {
                        let seats = ps.len() as i64;
                        let on = flow.min(seats);
                        flow -= on;
                        edges.push((second.add_used(class_node, SINK, seats - on, on, *cost), *cost, ps.as_slice()));
                    }
                } else if flow > 0 {
                    // Reduced cost < 0: full, every level taken (> 0: empty).
                    debug_assert_eq!(graph.edges[*e].cap, 0);
                    for (_, ps) in levels {
                        for &p in ps {
                            counts[j][p] += 1;
                        }
                    }
                }
            }
            if !edges.is_empty() {
                levels_used.push((j, edges));
            }
        }

        // Potentials for the second graph: a node's is minus the cheapest free seat it can reach
        // over arcs of cost 0 (found by searching back from the seats, cheapest first), so every
        // arc but the seats a class holds and could give to a cheaper one has reduced cost ≥ 0.
        // Those seats it hands back to its class, from a super source, to be routed again.
        let free_seat = |e: usize, cost: i64| (second.edges[e].cap > 0).then_some(cost);
        let mut offers: Vec<(i64, usize)> = levels_used
            .iter()
            .filter_map(|(j, edges)| {
                edges.iter().find_map(|&(e, c, _)| free_seat(e, c)).map(|c| (c, 2 + self.groups + j))
            })
            .collect();
        offers.sort_unstable();
        let none = i64::from(self.classes.iter().flatten().map(|s| s.booked + s.capacity).max().unwrap_or(0)) + 1;
        let mut potential = vec![-none; n];
        let mut labelled = vec![false; n];
        labelled[SINK] = true;
        for (cost, v) in offers {
            if labelled[v] {
                continue;
            }
            (labelled[v], potential[v]) = (true, -cost);
            let mut stack = vec![v];
            while let Some(w) = stack.pop() {
                for &e in second.adj(w) {
                    let u = second.edges[e].to;
                    if !labelled[u] && second.edges[e ^ 1].cap > 0 {
                        (labelled[u], potential[u]) = (true, -cost);
                        stack.push(u);
                    }
                }
            }
        }
        for (j, edges) in &levels_used {
            let class_node = 2 + self.groups + j;
            let mut back = 0;
            for &(e, cost, _) in edges {
                if cost > -potential[class_node] {
                    back += second.flow(e);
                    second.edges[e].cap += second.flow(e);
                    second.edges[e ^ 1].cap = 0;
                }
            }
            if back > 0 {
                second.add(top, class_node, back, 0);
            }
        }
        potential[top] = potential.iter().copied().max().unwrap_or(0);
        potential[SINK] = 0;
        let (more, _) = second.min_cost_max_flow_from(top, SINK, potential);
        work += more;

        // Only the dearest seat level a class uses can be part-used (a cheaper free seat
        // would make a cheaper flow), and a session has one seat per level: the first
        // sessions of that level take it.
        for (j, edges) in &levels_used {
            for &(e, _, ps) in edges {
                for &p in &ps[..second.flow(e) as usize] {
                    counts[*j][p] += 1;
                }
            }
        }
        for (kind, k) in self.kinds.iter().enumerate() {
            if k.members[..node[kind].0].iter().any(|&p| counts[k.class][p] < k.need) {
                return (None, work);
            }
        }
        let used: Vec<usize> = self
            .arcs
            .iter()
            .map(|&(_, _, e, _)| match moved[e] {
                Some(m) => second.flow(m) as usize,
                None => graph.flow(e) as usize,
            })
            .collect();
        let placed = counts.iter().flatten().map(|&n| u64::from(n)).sum();
        let preference = self.arcs.iter().zip(&used).map(|(&(_, _, _, pref), &n)| u64::from(pref) * n as u64).sum();
        let balance = self
            .classes
            .iter()
            .flatten()
            .zip(counts.iter().flatten())
            .map(|(s, &n)| u64::from(n) * u64::from(s.booked) + u64::from(n) * (u64::from(n) + 1) / 2)
            .sum();
        (Some(Relaxed { counts, used, value: (placed, preference, Reverse(balance)) }), work)
    }

    /// Every kind whose flow leaves a free session below its minimum, with where to split it.
    fn violations(&self, node: &Node, r: &Relaxed) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (kind, k) in self.kinds.iter().enumerate() {
            let counts: Vec<u32> = k.members.iter().map(|&p| r.counts[k.class][p]).collect();
            let (lo, hi) = node[kind];
            if counts[lo..hi].iter().any(|&n| n > 0 && n < k.need) {
                let x: u32 = counts.iter().sum();
                let used = counts.iter().filter(|&&n| n > 0).count();
                out.push((kind, ((x / k.need) as usize).min(used - 1)));
            }
        }
        out
    }

    /// The best plan, and whether it is proven so. `budget`: the work the search may do
    /// (None: the default).
    pub(super) fn solve(&self, budget: Option<usize>) -> (Relaxed, bool) {
        let root: Node = self.kinds.iter().map(|k| (0, k.members.len())).collect();
        let (first, mut spent) = self.relax(&root);
        let first = first.expect("nothing is forced at the root");
        let budget = budget.unwrap_or((spent * SEARCH_TIMES).max(SEARCH_FLOOR));
        let mut heap = BinaryHeap::from([(first.value, Reverse(0usize))]);
        let mut nodes = vec![Some((root, first))];
        while let Some((_, Reverse(i))) = heap.pop() {
            let (node, relaxed) = nodes[i].take().expect("each node is taken once");
            let Some(&(kind, k)) = self.violations(&node, &relaxed).first() else {
                return (relaxed, true);
            };
            if spent > budget {
                return (self.complete(node, relaxed), false);
            }
            let mut closed = node.clone();
            closed[kind].1 = k;
            let mut forced = node;
            forced[kind].0 = k + 1;
            for child in [closed, forced] {
                let (r, work) = self.relax(&child);
                spent += work;
                if let Some(r) = r {
                    heap.push((r.value, Reverse(nodes.len())));
                    nodes.push(Some((child, r)));
                }
            }
        }
        unreachable!("closing every session with a minimum leaves a plan")
    }

    /// A plan from a node: close the surplus sessions of every kind below its minimum
    /// until none is (the forced sessions stay fillable: their candidates still can).
    fn complete(&self, mut node: Node, mut relaxed: Relaxed) -> Relaxed {
        loop {
            let cuts = self.violations(&node, &relaxed);
            if cuts.is_empty() {
                return relaxed;
            }
            for (kind, k) in cuts {
                node[kind].1 = k;
            }
            relaxed = self.relax(&node).0.expect("closing sessions keeps the forced ones fillable");
        }
    }
}
