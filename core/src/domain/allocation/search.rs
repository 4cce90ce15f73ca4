//! The exact search behind `allocate`: one min-cost max-flow when no session sets a
//! minimum group, branch and bound over such flows when some do.
//!
//! Sessions of one class alike in free seats, bookings and minimum are interchangeable,
//! so they form a *kind*, and a search node only bounds how many of a kind are open:
//! the first `lo` (in id order) are forced, the next ones up to `hi` free, the rest
//! closed. A node's flow relaxes it — free sessions may fall below their minimum — so
//! its value is the best any plan in the node can reach. A forced session's first
//! `need` seats cost H less than every other seat, H larger than all other costs
//! together: the flow fills them whenever some maximum flow can, and some maximum flow
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

        // Balance costs at most the head counts of every seat filled; BIG puts a unit of
        // preference above all of it, and the forced bonus puts a forced seat above both.
        let balance_max: i128 = classes
            .iter()
            .flatten()
            .map(|s| {
                let (cap, booked) = (i128::from(s.capacity), i128::from(s.booked));
                cap * booked + cap * (cap + 1) / 2
            })
            .sum();
        let best = i128::from(groups.iter().flat_map(|(sig, _)| sig.iter().map(|(_, p)| *p)).max().unwrap_or(0));
        let big = balance_max + 1;
        let bonus = if kinds.is_empty() { 0 } else { candidates as i128 * big * best + balance_max + 1 };
        let seat_max = classes.iter().flatten().map(|s| i128::from(s.booked) + i128::from(s.capacity)).max();
        let nodes = (2 + groups.len() + classes.len()) as i128;
        assert!(
            nodes * (bonus + big * best + seat_max.unwrap_or(0)) < i128::from(i64::MAX / 2),
            "preferences and capacities too large for exact integer costs"
        );
        let (big, best) = (big as i64, best as i64);

        let mut base = Graph::new(2 + groups.len() + classes.len());
        let mut arcs = Vec::new();
        for (g, (signature, members)) in groups.iter().enumerate() {
            let size = members.len() as i64;
            base.add(SOURCE, 2 + g, size, 0);
            for &(j, pref) in signature {
                let e = base.add(2 + g, 2 + groups.len() + j, size, big * (best - i64::from(pref)));
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
    /// it took.
    fn relax(&self, node: &Node) -> (Option<Relaxed>, usize) {
        let mut graph = self.base.clone();
        // Per class: (sink edge, the sessions whose next seat it is), cheapest first.
        let mut levels: Vec<Vec<(usize, Vec<usize>)>> = Vec::with_capacity(self.classes.len());
        for (j, class) in self.classes.iter().enumerate() {
            let mut by_cost: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
            for (p, s) in class.iter().enumerate() {
                let forced = match self.open(node, j, p) {
                    Open::Closed => continue,
                    Open::Free => 0,
                    Open::Forced(need) => need,
                };
                for k in 1..=s.capacity {
                    let bonus = if k <= forced { 0 } else { self.forced_bonus };
                    by_cost.entry(bonus + i64::from(s.booked) + i64::from(k)).or_default().push(p);
                }
            }
            let class_node = 2 + self.groups + j;
            levels.push(
                by_cost
                    .into_iter()
                    .map(|(cost, ps)| (graph.add(class_node, SINK, ps.len() as i64, cost), ps))
                    .collect(),
            );
        }
        let work = graph.min_cost_max_flow(SOURCE, SINK);

        // Only the dearest seat level a class uses can be part-used (a cheaper free seat
        // would make a cheaper flow), and a session has one seat per level: the first
        // sessions of that level take it.
        let mut counts: Vec<Vec<u32>> = self.classes.iter().map(|c| vec![0; c.len()]).collect();
        for (j, class_levels) in levels.iter().enumerate() {
            for (e, ps) in class_levels {
                let used = ps.len() - graph.edges[*e].cap as usize;
                for &p in &ps[..used] {
                    counts[j][p] += 1;
                }
            }
        }
        for (kind, k) in self.kinds.iter().enumerate() {
            if k.members[..node[kind].0].iter().any(|&p| counts[k.class][p] < k.need) {
                return (None, work);
            }
        }
        let used: Vec<usize> = self.arcs.iter().map(|&(_, _, e, _)| graph.edges[e ^ 1].cap as usize).collect();
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
