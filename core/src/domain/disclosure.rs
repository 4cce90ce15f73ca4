//! Disclosure control for every HR table (SPEC §3): a count of at least 1 and
//! below the threshold is suppressed (primary suppression); then more cells are
//! suppressed (secondary suppression) until no suppressed cell can be worked out
//! from the published cells, row totals and column totals. Zeros are shown.
//!
//! Why the rule works: write the table with its totals as an (R+1)×(C+1) grid.
//! Suppressed cells are edges of a bipartite graph between grid rows and grid
//! columns. A suppressed cell on a cycle of that graph cannot be recovered: add 1
//! and subtract 1 alternately around the cycle and every published number stays
//! true, and every suppressed value stays ≥ 0 (suppressed inner cells are ≥ 1).
//! A suppressed cell that is a *bridge* (on no cycle) is pinned down by the
//! totals. So we suppress, smallest first, until no suppressed cell is a bridge.
//! The grand total stays published unless nothing else can protect a cell.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// Below the threshold.
    Primary,
    /// Hidden so that a primary cell cannot be worked out.
    Secondary,
}

/// A table with its totals and what is hidden. `hidden[r][c]` covers the extended grid:
/// row `rows` is the column totals, column `cols` is the row totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Protected {
    pub rows: usize,
    pub cols: usize,
    /// The extended grid of counts (with totals).
    pub grid: Vec<Vec<u64>>,
    pub hidden: Vec<Vec<Option<Why>>>,
    pub threshold: u64,
}

impl Protected {
    /// The value to publish, or None when hidden.
    pub fn shown(&self, r: usize, c: usize) -> Option<u64> {
        self.hidden[r][c].is_none().then_some(self.grid[r][c])
    }
}

/// Applies primary and secondary suppression. `threshold` 0 turns suppression off.
pub fn protect(table: &[Vec<u64>], threshold: u64) -> Protected {
    protect_with(table, threshold, &[])
}

/// Tables published for each part (a stream) and for the whole (their cell-by-cell sum), all
/// protected together: each is protected as `protect` does, and in addition, for every cell
/// position, the parts' cells and the whole's cell (which is their sum) never have exactly one
/// hidden — that one could be worked out by subtraction — so another is hidden, smallest
/// first, and the tables are protected again, until nothing changes. All parts have the same
/// shape. Returns the parts' tables and the whole's.
pub fn protect_jointly(parts: &[Vec<Vec<u64>>], threshold: u64) -> (Vec<Protected>, Protected) {
    let rows = parts.first().map_or(0, Vec::len);
    let cols = parts.first().and_then(|t| t.first()).map_or(0, Vec::len);
    let mut whole = vec![vec![0u64; cols]; rows];
    for t in parts {
        for (r, row) in t.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                whole[r][c] += v;
            }
        }
    }
    let mut forced: Vec<Vec<(usize, usize)>> = vec![Vec::new(); parts.len() + 1];
    loop {
        let mut out: Vec<Protected> = parts.iter().zip(&forced).map(|(t, f)| protect_with(t, threshold, f)).collect();
        out.push(protect_with(&whole, threshold, &forced[parts.len()]));
        let mut changed = false;
        if threshold > 0 {
            for r in 0..=rows {
                for c in 0..=cols {
                    let hidden: Vec<usize> = (0..out.len()).filter(|&k| out[k].hidden[r][c].is_some()).collect();
                    if hidden.len() != 1 {
                        continue;
                    }
                    let pick = (0..out.len())
                        .filter(|&k| out[k].hidden[r][c].is_none() && out[k].grid[r][c] > 0)
                        .min_by_key(|&k| (out[k].grid[r][c], k));
                    if let Some(k) = pick {
                        forced[k].push((r, c));
                        changed = true;
                    }
                }
            }
        }
        // Longer chains of sums (across tables and along rows and columns) can still pin a
        // hidden count down: find one by linear algebra and hide a neighbour of it.
        if !changed
            && threshold > 0
            && let Some((k, r, c)) = determined(&out)
        {
            let t = &out[k];
            let mut near: Vec<(u64, usize, usize, usize)> = Vec::new();
            for cc in 0..=cols {
                near.push((t.grid[r][cc], k, r, cc));
            }
            for rr in 0..=rows {
                near.push((t.grid[rr][c], k, rr, c));
            }
            for (kk, o) in out.iter().enumerate() {
                near.push((o.grid[r][c], kk, r, c));
            }
            let shown_min = |cands: &mut dyn Iterator<Item = (u64, usize, usize, usize)>| {
                cands.filter(|&(v, kk, rr, cc)| v > 0 && out[kk].hidden[rr][cc].is_none()).min()
            };
            // A neighbour; failing that, the smallest shown count anywhere. With every non-zero
            // count hidden nothing can be determined (only zeros would be known), so this ends.
            let pick = shown_min(&mut near.into_iter()).or_else(|| {
                shown_min(&mut out.iter().enumerate().flat_map(|(kk, o)| {
                    (0..=rows).flat_map(move |rr| (0..=cols).map(move |cc| (o.grid[rr][cc], kk, rr, cc)))
                }))
            });
            if let Some((_, kk, rr, cc)) = pick {
                forced[kk].push((rr, cc));
                changed = true;
            }
        }
        if !changed {
            let whole = out.pop().expect("the whole");
            return (out, whole);
        }
    }
}

/// Tables that break the same total down by different groupings (one survey question by
/// specialism and by cohort), all protected together. Their rows differ, but their column
/// totals and grand total are the same numbers, so a total hidden in one table and shown in
/// another is known, and with it the hidden cells it was protecting: a shared total hidden in
/// one is hidden in all. Then, as in `protect_jointly`, while a hidden cell still follows from a
/// chain of sums (`determined_linked`), a neighbour of it is hidden too. All tables have the
/// same columns.
pub fn protect_linked(tables: &[Vec<Vec<u64>>], threshold: u64) -> Vec<Protected> {
    protect_linked_with(tables, threshold, &[])
}

/// A further sum some linked tables keep: Σ coefficient × cell (table, row, column) = 0. A
/// cross-tabulation keeps one per row of each one-way table it refines: the crossed rows of
/// that group add up to the group's row.
pub type Link = Vec<((usize, usize, usize), f64)>;

/// `protect_linked`, with further sums between the tables (`links`) that the audit knows.
pub fn protect_linked_with(tables: &[Vec<Vec<u64>>], threshold: u64, links: &[Link]) -> Vec<Protected> {
    let mut forced: Vec<Vec<(usize, usize)>> = vec![Vec::new(); tables.len()];
    loop {
        let out: Vec<Protected> = tables.iter().zip(&forced).map(|(t, f)| protect_with(t, threshold, f)).collect();
        if threshold == 0 || out.is_empty() {
            return out;
        }
        let cols = out[0].cols;
        let mut changed = false;
        for c in 0..=cols {
            if out.iter().any(|p| p.hidden[p.rows][c].is_some()) {
                for (k, p) in out.iter().enumerate() {
                    if p.hidden[p.rows][c].is_none() && p.grid[p.rows][c] > 0 {
                        forced[k].push((p.rows, c));
                        changed = true;
                    }
                }
            }
        }
        if !changed && let Some((k, r, c)) = determined_linked_with(&out, links) {
            let t = &out[k];
            let near = (0..=t.cols).map(|cc| (k, r, cc)).chain((0..=t.rows).map(|rr| (k, rr, c)));
            let everywhere = out
                .iter()
                .enumerate()
                .flat_map(|(kk, o)| (0..=o.rows).flat_map(move |rr| (0..=o.cols).map(move |cc| (kk, rr, cc))));
            let smallest_shown = |cells: &mut dyn Iterator<Item = (usize, usize, usize)>| {
                cells
                    .filter(|&(kk, rr, cc)| out[kk].hidden[rr][cc].is_none() && out[kk].grid[rr][cc] > 0)
                    .min_by_key(|&(kk, rr, cc)| (out[kk].grid[rr][cc], kk, rr, cc))
            };
            // A neighbour; failing that, the smallest shown count anywhere. With every non-zero
            // count hidden nothing can be determined (only zeros would be known), so this ends.
            if let Some((kk, rr, cc)) =
                smallest_shown(&mut near.into_iter()).or_else(|| smallest_shown(&mut everywhere.into_iter()))
            {
                forced[kk].push((rr, cc));
                changed = true;
            }
        }
        if !changed {
            return out;
        }
    }
}

/// The first hidden cell (table, row, column) whose value follows from the published cells by
/// the sums that hold: along every row and column of each table (with its totals), and across
/// the tables at every position (the parts add up to the whole, which is the last table).
/// Gaussian elimination over the hidden cells: a cell is determined when its pivot row has no
/// other unknown left.
pub fn determined(tables: &[Protected]) -> Option<(usize, usize, usize)> {
    let (rows, cols) = (tables.first()?.rows, tables.first()?.cols);
    let mut system = Sums::new(tables);
    if tables.len() > 1 {
        let whole = tables.len() - 1;
        for r in 0..=rows {
            for c in 0..=cols {
                let mut t: Vec<_> = (0..whole).map(|k| ((k, r, c), 1.0)).collect();
                t.push(((whole, r, c), -1.0));
                system.add(&t);
            }
        }
    }
    system.first_determined()
}

/// As `determined`, for tables that break the same total down by different groupings (one
/// survey question by specialism and by cohort): their rows differ, but their column totals
/// and grand totals are the same numbers.
pub fn determined_linked(tables: &[Protected]) -> Option<(usize, usize, usize)> {
    determined_linked_with(tables, &[])
}

/// `determined_linked`, knowing the further sums `links` as well.
pub fn determined_linked_with(tables: &[Protected], links: &[Link]) -> Option<(usize, usize, usize)> {
    let first = tables.first()?;
    let mut system = Sums::new(tables);
    for (k, t) in tables.iter().enumerate().skip(1) {
        for c in 0..=first.cols {
            system.add(&[((k, t.rows, c), 1.0), ((0, first.rows, c), -1.0)]);
        }
    }
    for link in links {
        system.add(link);
    }
    system.first_determined()
}

/// Linear equations over the hidden cells of some tables (published cells are constants).
struct Sums {
    index: std::collections::BTreeMap<(usize, usize, usize), usize>,
    cells: Vec<(usize, usize, usize)>,
    eqs: Vec<Vec<f64>>,
}

impl Sums {
    /// The hidden cells as unknowns, and every row and column sum of every table.
    fn new(tables: &[Protected]) -> Self {
        let mut s = Self { index: std::collections::BTreeMap::new(), cells: Vec::new(), eqs: Vec::new() };
        for (k, t) in tables.iter().enumerate() {
            for r in 0..=t.rows {
                for c in 0..=t.cols {
                    if t.hidden[r][c].is_some() {
                        s.index.insert((k, r, c), s.cells.len());
                        s.cells.push((k, r, c));
                    }
                }
            }
        }
        for (k, t) in tables.iter().enumerate() {
            for r in 0..=t.rows {
                let mut terms: Vec<_> = (0..t.cols).map(|c| ((k, r, c), 1.0)).collect();
                terms.push(((k, r, t.cols), -1.0));
                s.add(&terms);
            }
            for c in 0..=t.cols {
                let mut terms: Vec<_> = (0..t.rows).map(|r| ((k, r, c), 1.0)).collect();
                terms.push(((k, t.rows, c), -1.0));
                s.add(&terms);
            }
        }
        s
    }

    /// One equation: the sum of `coefficient × cell` is known.
    fn add(&mut self, terms: &[((usize, usize, usize), f64)]) {
        let mut row = vec![0.0; self.cells.len()];
        let mut any = false;
        for (cell, coef) in terms {
            if let Some(&i) = self.index.get(cell) {
                row[i] += coef;
                any = true;
            }
        }
        if any {
            self.eqs.push(row);
        }
    }

    /// Reduced row echelon form; the first unknown whose pivot row has no other unknown left.
    fn first_determined(mut self) -> Option<(usize, usize, usize)> {
        const EPS: f64 = 1e-9;
        let n = self.cells.len();
        let eqs = &mut self.eqs;
        let mut pivots = Vec::new();
        let mut row = 0;
        for col in 0..n {
            let Some(best) = (row..eqs.len()).max_by(|&a, &b| eqs[a][col].abs().total_cmp(&eqs[b][col].abs())) else {
                break;
            };
            if eqs[best][col].abs() < EPS {
                continue;
            }
            eqs.swap(row, best);
            let p = eqs[row][col];
            for x in eqs[row].iter_mut() {
                *x /= p;
            }
            let pivot_row = eqs[row].clone();
            for (i, other) in eqs.iter_mut().enumerate() {
                if i != row && other[col].abs() > EPS {
                    let f = other[col];
                    for (x, y) in other.iter_mut().zip(&pivot_row) {
                        *x -= f * y;
                    }
                }
            }
            pivots.push((row, col));
            row += 1;
            if row == eqs.len() {
                break;
            }
        }
        pivots
            .into_iter()
            .find(|&(r, col)| eqs[r].iter().enumerate().all(|(j, x)| j == col || x.abs() < EPS))
            .map(|(_, col)| self.cells[col])
    }
}

/// `protect`, with some cells hidden from the start (positions in the extended grid).
pub fn protect_with(table: &[Vec<u64>], threshold: u64, forced: &[(usize, usize)]) -> Protected {
    let rows = table.len();
    let cols = table.first().map_or(0, Vec::len);
    let mut grid = vec![vec![0u64; cols + 1]; rows + 1];
    for (r, row) in table.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            grid[r][c] = *v;
            grid[r][cols] += v;
            grid[rows][c] += v;
            grid[rows][cols] += v;
        }
    }
    let mut hidden = vec![vec![None; cols + 1]; rows + 1];
    if threshold > 0 {
        for r in 0..=rows {
            for c in 0..=cols {
                let v = grid[r][c];
                if v >= 1 && v < threshold && !(r == rows && c == cols) {
                    hidden[r][c] = Some(Why::Primary);
                }
            }
        }
        for &(r, c) in forced {
            if r <= rows && c <= cols && hidden[r][c].is_none() {
                hidden[r][c] = Some(Why::Secondary);
            }
        }
        while let Some((r, c)) = first_bridge(&hidden, rows, cols) {
            // Another cell in the same grid row or column, non-zero and shown: inner cells before
            // totals (hiding a total spreads suppression to a whole further line), smallest
            // first; then the grand total as a last resort.
            let mut best: Option<(bool, u64, usize, usize)> = None;
            let candidates = (0..=cols).map(|cc| (r, cc)).chain((0..=rows).map(|rr| (rr, c)));
            for (rr, cc) in candidates {
                let v = grid[rr][cc];
                let key = (rr == rows || cc == cols, v, rr, cc);
                if hidden[rr][cc].is_none() && v > 0 && !(rr == rows && cc == cols) && best.is_none_or(|b| key < b) {
                    best = Some(key);
                }
            }
            let pick = best.map(|(_, _, rr, cc)| (rr, cc)).or_else(|| {
                (0..=rows)
                    .flat_map(|rr| (0..=cols).map(move |cc| (rr, cc)))
                    .filter(|&(rr, cc)| hidden[rr][cc].is_none() && grid[rr][cc] > 0)
                    .min_by_key(|&(rr, cc)| (grid[rr][cc], rr, cc))
            });
            match pick {
                Some((rr, cc)) => hidden[rr][cc] = Some(Why::Secondary),
                None => break, // nothing left to hide: the table is too small to protect further
            }
        }
    }
    Protected { rows, cols, grid, hidden, threshold }
}

/// The first hidden cell that lies on no cycle of hidden cells (grid rows and grid columns as
/// the two sides of a bipartite graph).
fn first_bridge(hidden: &[Vec<Option<Why>>], rows: usize, cols: usize) -> Option<(usize, usize)> {
    for r in 0..=rows {
        for c in 0..=cols {
            if hidden[r][c].is_some() && !on_cycle(hidden, rows, cols, r, c) {
                return Some((r, c));
            }
        }
    }
    None
}

/// Whether grid row `r` and grid column `c` are still connected through other hidden cells.
pub fn on_cycle(hidden: &[Vec<Option<Why>>], rows: usize, cols: usize, r: usize, c: usize) -> bool {
    path_avoiding(hidden, rows, cols, r, c).is_some()
}

/// A path of hidden cells from grid row `r` to grid column `c` that does not use cell (r, c):
/// the cells in order, alternating column step and row step.
pub fn path_avoiding(
    hidden: &[Vec<Option<Why>>],
    rows: usize,
    cols: usize,
    r: usize,
    c: usize,
) -> Option<Vec<(usize, usize)>> {
    // Nodes: rows 0..=rows, then columns as rows+1+c.
    let n = rows + cols + 2;
    let col_node = |cc: usize| rows + 1 + cc;
    let mut prev: Vec<Option<(usize, (usize, usize))>> = vec![None; n];
    let mut seen = vec![false; n];
    let mut queue = std::collections::VecDeque::from([r]);
    seen[r] = true;
    while let Some(node) = queue.pop_front() {
        if node == col_node(c) {
            let mut cells = Vec::new();
            let mut at = node;
            while let Some((from, cell)) = prev[at] {
                cells.push(cell);
                at = from;
            }
            cells.reverse();
            return Some(cells);
        }
        let edges: Vec<(usize, (usize, usize))> = if node <= rows {
            (0..=cols)
                .filter(|&cc| hidden[node][cc].is_some() && (node, cc) != (r, c))
                .map(|cc| (col_node(cc), (node, cc)))
                .collect()
        } else {
            let cc = node - rows - 1;
            (0..=rows).filter(|&rr| hidden[rr][cc].is_some() && (rr, cc) != (r, c)).map(|rr| (rr, (rr, cc))).collect()
        };
        for (next, cell) in edges {
            if !seen[next] {
                seen[next] = true;
                prev[next] = Some((node, cell));
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn small_cells_are_hidden_and_zeros_shown() {
        let p = protect(&[vec![10, 3, 0], vec![12, 9, 7]], 5);
        assert_eq!(p.hidden[0][1], Some(Why::Primary));
        assert_eq!(p.shown(0, 2), Some(0));
        // The 3 is alone in its row and column: more must be hidden.
        let hidden: usize = p.hidden.iter().flatten().filter(|h| h.is_some()).count();
        assert!(hidden >= 4, "{p:?}");
    }

    #[test]
    fn threshold_zero_shows_everything() {
        let p = protect(&[vec![1, 2], vec![3, 4]], 0);
        assert!(p.hidden.iter().flatten().all(Option::is_none));
        assert_eq!(p.grid[2][2], 10);
    }

    /// An independent check: for every hidden cell, build a second table that agrees with
    /// everything published but differs in that cell.
    fn alternative_exists(p: &Protected, r: usize, c: usize) -> bool {
        let Some(path) = path_avoiding(&p.hidden, p.rows, p.cols, r, c) else { return false };
        // Cycle: (r, c) then the path from grid row r ... back to grid column c. Signs alternate
        // +1, −1, … where totals count with the opposite sign to inner cells of their line.
        let mut g: Vec<Vec<i64>> = p.grid.iter().map(|row| row.iter().map(|v| *v as i64).collect()).collect();
        let cycle: Vec<(usize, usize)> = std::iter::once((r, c)).chain(path).collect();
        for (i, (rr, cc)) in cycle.iter().enumerate() {
            // In the signed grid (totals negated once per total row/column), every line sums to 0;
            // moving ±1 around the cycle keeps that. Convert back to counts.
            let sign = if i % 2 == 0 { 1 } else { -1 };
            let total_flips = usize::from(*rr == p.rows) + usize::from(*cc == p.cols);
            let s = if total_flips % 2 == 1 { -sign } else { sign };
            g[*rr][*cc] += s;
        }
        // Every line still adds up, nothing negative, and every published cell is unchanged.
        let rows_ok = (0..=p.rows).all(|rr| (0..p.cols).map(|cc| g[rr][cc]).sum::<i64>() == g[rr][p.cols]);
        let cols_ok = (0..=p.cols).all(|cc| (0..p.rows).map(|rr| g[rr][cc]).sum::<i64>() == g[p.rows][cc]);
        let nonneg = g.iter().flatten().all(|v| *v >= 0);
        let published = (0..=p.rows)
            .all(|rr| (0..=p.cols).all(|cc| p.hidden[rr][cc].is_some() || g[rr][cc] == p.grid[rr][cc] as i64));
        rows_ok && cols_ok && nonneg && published && g[r][c] != p.grid[r][c] as i64
    }

    #[test]
    fn determined_finds_a_value_pinned_down_by_a_chain_of_sums() {
        // One table, one row [3, 9 | 12], and only the 3 hidden: 12 - 9 gives it.
        let mut p = protect(&[vec![3, 9]], 0);
        p.hidden[0][0] = Some(Why::Primary);
        p.threshold = 5;
        assert_eq!(determined(&[p]), Some((0, 0, 0)));
    }

    #[test]
    fn two_streams_whose_every_hidden_cell_could_be_solved_are_protected() {
        // A review found these two streams (and their sum) fully solvable with per-position
        // checks alone.
        let parts = vec![vec![vec![14, 10], vec![0, 9]], vec![vec![0, 2], vec![1, 0]]];
        let (out, whole) = protect_jointly(&parts, 5);
        let mut all = out;
        all.push(whole);
        assert_eq!(determined(&all), None);
    }

    #[test]
    fn tables_sharing_their_totals_hide_the_same_totals() {
        // One question by specialism and by cohort (36 respondents). Apart, one table shows the
        // Agree total 17 and the other the Neither total 15, both with 36: Disagree = 4, and
        // with Finance's shown 0 that is HR's 4 who disagree.
        let by_specialism = vec![vec![7, 11, 0], vec![10, 4, 4]];
        let by_cohort = vec![vec![4, 6, 0], vec![13, 9, 4]];
        let apart = [protect(&by_specialism, 5), protect(&by_cohort, 5)];
        assert!(determined_linked(&apart).is_some());
        let linked = protect_linked(&[by_specialism, by_cohort], 5);
        assert_eq!(determined_linked(&linked), None, "{linked:?}");
        assert_eq!(linked[0].hidden[2], linked[1].hidden[2], "the shared totals are hidden alike");
        assert!(linked[0].hidden[1][2].is_some() && linked[1].hidden[1][2].is_some());
    }

    /// Within one table: every small count is hidden, and every hidden cell has another
    /// completion (it cannot be recovered from that table's totals).
    fn each_table_is_protected(p: &Protected, threshold: u64) -> Result<(), proptest::test_runner::TestCaseError> {
        for r in 0..=p.rows {
            for c in 0..=p.cols {
                let v = p.grid[r][c];
                if v >= 1 && v < threshold && !(r == p.rows && c == p.cols) {
                    prop_assert!(p.hidden[r][c].is_some(), "small cell shown at {r},{c}");
                }
                if p.hidden[r][c].is_some() {
                    prop_assert!(alternative_exists(p, r, c), "cell {r},{c} can be recovered: {p:?}");
                }
            }
        }
        Ok(())
    }

    proptest! {
        /// Streams and the scheme together: every table is still protected on its own, and no
        /// cell position has exactly one hidden value among the parts and the whole.
        #[test]
        fn joint_tables_leave_nothing_to_subtract(
            parts in (1usize..4, 2usize..4, 2usize..4).prop_flat_map(|(k, r, c)| proptest::collection::vec(
                proptest::collection::vec(proptest::collection::vec(prop_oneof![Just(0u64), 1u64..5, 5u64..30], c), r), k)),
            threshold in 3u64..8,
        ) {
            let (out, whole) = protect_jointly(&parts, threshold);
            let mut all = out.clone();
            all.push(whole);
            for p in &all {
                each_table_is_protected(p, threshold)?;
            }
            for r in 0..=all[0].rows {
                for c in 0..=all[0].cols {
                    let hidden = all.iter().filter(|p| p.hidden[r][c].is_some()).count();
                    prop_assert!(hidden != 1, "one hidden value at {r},{c} would follow by subtraction");
                }
            }
            prop_assert_eq!(determined(&all), None, "a hidden value follows from a chain of sums");
        }

        /// One question by two groupings (made from the same respondents, so the totals agree):
        /// each table is still protected on its own, the shared totals are hidden alike, and no
        /// hidden value follows from any chain of sums.
        #[test]
        fn linked_tables_leave_nothing_to_work_out(
            cube in (2usize..4, 2usize..4, 2usize..4).prop_flat_map(|(a, b, c)| proptest::collection::vec(
                proptest::collection::vec(proptest::collection::vec(prop_oneof![Just(0u64), 1u64..4, 3u64..12], c), b), a)),
            threshold in 3u64..8,
        ) {
            let (a, b, c) = (cube.len(), cube[0].len(), cube[0][0].len());
            let first: Vec<Vec<u64>> = (0..a).map(|i| (0..c).map(|k| (0..b).map(|j| cube[i][j][k]).sum()).collect()).collect();
            let second: Vec<Vec<u64>> = (0..b).map(|j| (0..c).map(|k| (0..a).map(|i| cube[i][j][k]).sum()).collect()).collect();
            let out = protect_linked(&[first, second], threshold);
            for p in &out {
                each_table_is_protected(p, threshold)?;
            }
            prop_assert_eq!(&out[0].hidden[out[0].rows], &out[1].hidden[out[1].rows]);
            prop_assert_eq!(determined_linked(&out), None, "a hidden value follows from a chain of sums");
        }

        #[test]
        fn no_hidden_cell_can_be_worked_out_from_the_margins(
            table in (2usize..6, 2usize..6).prop_flat_map(|(r, c)| proptest::collection::vec(proptest::collection::vec(prop_oneof![Just(0u64), 1u64..5, 5u64..40], c), r)),
            threshold in 3u64..8,
        ) {
            let p = protect(&table, threshold);
            for r in 0..=p.rows {
                for c in 0..=p.cols {
                    let v = p.grid[r][c];
                    if v >= 1 && v < threshold && !(r == p.rows && c == p.cols) {
                        prop_assert!(p.hidden[r][c].is_some(), "small cell shown at {r},{c}");
                    }
                    if v == 0 {
                        prop_assert!(p.hidden[r][c].is_none(), "zero hidden at {r},{c}");
                    }
                    if p.hidden[r][c].is_some() {
                        prop_assert!(alternative_exists(&p, r, c), "cell {r},{c} can be recovered: {p:?}");
                    }
                }
            }
        }
    }
}
