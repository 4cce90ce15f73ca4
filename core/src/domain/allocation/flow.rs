//! The min-cost max-flow under the allocation: primal-dual, Dijkstra on reduced costs then a
//! blocking flow at that distance.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

#[derive(Clone)]
pub(super) struct Edge {
    pub(super) to: usize,
    pub(super) cap: i64,
    pub(super) cost: i64,
}

#[derive(Clone)]
pub(super) struct Graph {
    pub(super) edges: Vec<Edge>,
    adj: Vec<Vec<usize>>,
}

impl Graph {
    pub(super) fn new(n: usize) -> Self {
        Self { edges: Vec::new(), adj: vec![Vec::new(); n] }
    }
    pub(super) fn add(&mut self, from: usize, to: usize, cap: i64, cost: i64) -> usize {
        self.adj[from].push(self.edges.len());
        self.edges.push(Edge { to, cap, cost });
        self.adj[to].push(self.edges.len());
        self.edges.push(Edge { to: from, cap: 0, cost: -cost });
        self.edges.len() - 2
    }

    /// An arc already carrying `flow`, with `left` more to spare: a residual arc both ways.
    pub(super) fn add_used(&mut self, from: usize, to: usize, left: i64, flow: i64, cost: i64) -> usize {
        let e = self.add(from, to, left, cost);
        self.edges[e + 1].cap = flow;
        e
    }

    /// The edges at a node, leaving it (forward or residual).
    pub(super) fn adj(&self, u: usize) -> &[usize] {
        &self.adj[u]
    }

    /// The node an edge leaves.
    pub(super) fn from(&self, e: usize) -> usize {
        self.edges[e ^ 1].to
    }

    /// The flow on a forward edge.
    pub(super) fn flow(&self, e: usize) -> i64 {
        self.edges[e ^ 1].cap
    }

    /// Min-cost max-flow by the primal-dual method: Dijkstra on reduced costs finds the
    /// next shortest distance, then a blocking flow (Dinic) pushes everything that travels
    /// at that distance at once. All original costs are ≥ 0. The number of rounds is the
    /// number of distinct path costs, which is small (preferences and seat levels are small
    /// integers). Returns the work done, in edges looked at, and the final potentials: every
    /// edge with capacity left has a reduced cost `cost + p[from] - p[to]` ≥ 0 under them
    /// (the optimality certificate the allocation's balance phase relies on).
    pub(super) fn min_cost_max_flow(&mut self, s: usize, t: usize) -> (usize, Vec<i64>) {
        let potential = vec![0i64; self.adj.len()];
        self.min_cost_max_flow_from(s, t, potential)
    }

    /// The same from a flow already in the graph, given potentials under which every edge
    /// with capacity left has a reduced cost ≥ 0 (then the flow is the cheapest of its value).
    pub(super) fn min_cost_max_flow_from(&mut self, s: usize, t: usize, mut potential: Vec<i64>) -> (usize, Vec<i64>) {
        let n = self.adj.len();
        debug_assert!(
            (0..self.edges.len()).all(|e| self.edges[e].cap <= 0
                || self.edges[e].cost + potential[self.from(e)] >= potential[self.edges[e].to]),
            "potentials must leave no edge with capacity at a negative reduced cost"
        );
        let mut work = 0;
        loop {
            let mut dist = vec![i64::MAX; n];
            dist[s] = 0;
            let mut heap = BinaryHeap::new();
            heap.push(Reverse((0i64, s)));
            while let Some(Reverse((d, u))) = heap.pop() {
                if d > dist[u] {
                    continue;
                }
                if u == t {
                    // Nodes still queued are at least as far as t: the potentials below move
                    // them by dist[t] whatever their final distance, so they need not settle.
                    break;
                }
                work += self.adj[u].len();
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
                return (work, potential);
            }
            for v in 0..n {
                // Unreached nodes keep their reduced costs non-negative by moving as far as t.
                potential[v] += dist[v].min(dist[t]);
            }
            work += self.blocking_flows(s, t, &potential);
        }
    }

    /// Dinic's algorithm restricted to admissible edges (reduced cost 0, capacity left).
    fn blocking_flows(&mut self, s: usize, t: usize, potential: &[i64]) -> usize {
        let n = self.adj.len();
        // The potentials hold for the whole round, so which edges have reduced cost 0 does
        // too (only their capacities change): the searches below look at those alone.
        let zero: Vec<Vec<usize>> = (0..n)
            .map(|u| {
                let at_zero = |&&e: &&usize| self.edges[e].cost + potential[u] - potential[self.edges[e].to] == 0;
                self.adj[u].iter().filter(at_zero).copied().collect()
            })
            .collect();
        let admissible = |g: &Graph, e: usize| g.edges[e].cap > 0;
        let mut work = self.edges.len();
        loop {
            let mut level = vec![usize::MAX; n];
            level[s] = 0;
            let mut queue = VecDeque::from([s]);
            while let Some(u) = queue.pop_front() {
                work += zero[u].len();
                for &e in &zero[u] {
                    let v = self.edges[e].to;
                    if level[v] == usize::MAX && admissible(self, e) {
                        level[v] = level[u] + 1;
                        queue.push_back(v);
                    }
                }
            }
            if level[t] == usize::MAX {
                return work;
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
                    while next[u] < zero[u].len() {
                        let e = zero[u][next[u]];
                        let v = self.edges[e].to;
                        if level[v] == level[u] + 1 && admissible(self, e) {
                            path.push(e);
                            u = v;
                            advanced = true;
                            break;
                        }
                        next[u] += 1;
                        work += 1;
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
