//! HR reports built from counts (pure): the funnel and the equality of selection
//! between two stages, with disclosure control applied before anything is
//! published. A hidden value is "[c]" (as the ONS marks confidential cells),
//! and anything computed from a hidden value is hidden too. A rate that does
//! not exist (0 out of 0) is no secret: it is `null` in JSON and "–" in text.

use std::collections::BTreeMap;

use serde::Serialize;

use super::disclosure::protect;
use super::equality::PREFER_NOT_TO_SAY;
use super::metrics::{Characteristic, NOT_ANSWERED};
use super::stats::{self, RelativeLikelihood};

pub const HIDDEN: &str = "[c]";
/// How text and CSV show a figure that is not defined.
pub const UNDEFINED: &str = "–";

/// A published number, `[c]` (suppressed), or undefined (a rate of 0 out of 0, a test of an
/// empty group): `null` in JSON. Suppressed and undefined are kept apart, as a reader acts on
/// them differently.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Shown<T> {
    Value(T),
    Hidden(&'static str),
    Undefined,
}

impl<T> Shown<T> {
    /// What disclosure control lets out: None is hidden.
    pub fn from_option(v: Option<T>) -> Self {
        v.map_or(Shown::Hidden(HIDDEN), Shown::Value)
    }

    fn from(v: Option<T>) -> Self {
        Self::from_option(v)
    }

    /// A figure computed from published values: None is undefined.
    pub fn defined(v: Option<T>) -> Self {
        v.map_or(Shown::Undefined, Shown::Value)
    }

    /// Both values, or hidden when either is (before undefined: nothing hidden shows through).
    pub fn zip<U>(self, other: Shown<U>) -> Shown<(T, U)> {
        match (self, other) {
            (Shown::Value(a), Shown::Value(b)) => Shown::Value((a, b)),
            (Shown::Hidden(h), _) | (_, Shown::Hidden(h)) => Shown::Hidden(h),
            _ => Shown::Undefined,
        }
    }

    /// A figure computed from this one: hidden stays hidden, and None from `f` is undefined.
    pub fn and_then<U>(self, f: impl FnOnce(T) -> Option<U>) -> Shown<U> {
        match self {
            Shown::Value(v) => Shown::defined(f(v)),
            Shown::Hidden(h) => Shown::Hidden(h),
            Shown::Undefined => Shown::Undefined,
        }
    }
}

impl<T: std::fmt::Display> Shown<T> {
    pub fn text(&self) -> String {
        match self {
            Shown::Value(v) => v.to_string(),
            Shown::Hidden(h) => (*h).to_owned(),
            Shown::Undefined => UNDEFINED.to_owned(),
        }
    }
}

/// How the figures were protected, stated in every report.
#[derive(Debug, Clone, Serialize)]
pub struct Disclosure {
    pub threshold: u64,
    pub rule: String,
}

impl Disclosure {
    pub fn new(threshold: u64) -> Self {
        let rule = if threshold == 0 {
            "disclosure control is OFF (threshold 0): for internal analysis only, not for publication".to_owned()
        } else {
            format!(
                "counts from 1 to {} are shown as [c]; further cells are hidden where a [c] could otherwise be worked \
                 out from the totals; rates and tests that use a hidden count are hidden too; zeros are shown; a rate \
                 of 0 out of 0 is undefined (null in JSON, – in CSV)",
                threshold - 1
            )
        };
        Self { threshold, rule }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FunnelRow {
    pub category: &'static str,
    /// One count per stage, in `stages` order.
    pub counts: Vec<Shown<u64>>,
    /// Each count as a share of everyone at the stage, in percent to one decimal: what a
    /// chart draws and a table prints (hidden where the count or the total is; undefined at a
    /// stage nobody reached).
    pub percents: Vec<Shown<f64>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Funnel {
    pub by: String,
    pub stages: Vec<&'static str>,
    pub rows: Vec<FunnelRow>,
    /// Everyone who reached each stage.
    pub totals: Vec<Shown<u64>>,
    /// How many leading stages come from the latest snapshot (frozen when the sift ran, so
    /// erasure does not rewrite what was published); the rest are counted live.
    pub frozen_stages: usize,
    pub disclosure: Disclosure,
}

/// `counts`: (stage, raw value, n) as the SQL gives them.
/// `frozen`: how many leading stages come from a snapshot. Those columns are protected on
/// their own, so what was published for them never changes as later, live stages move.
pub fn funnel(
    by: Characteristic,
    by_name: &str,
    stages: &[&'static str],
    counts: &[(String, Option<String>, u64)],
    threshold: u64,
    frozen: usize,
) -> Funnel {
    funnel_of_streams(by, by_name, stages, &[counts.to_vec()], None, threshold, frozen)
}

/// The funnel of one stream (`selected`, an index into `per_stream`) or of the whole scheme
/// (None), protected together with every other stream's and the scheme's (see
/// `disclosure::protect_jointly`), so no stream's hidden count follows from the others.
pub fn funnel_of_streams(
    by: Characteristic,
    by_name: &str,
    stages: &[&'static str],
    per_stream: &[Vec<(String, Option<String>, u64)>],
    selected: Option<usize>,
    threshold: u64,
    frozen: usize,
) -> Funnel {
    let categories = by.categories();
    let tables: Vec<Vec<Vec<u64>>> = per_stream
        .iter()
        .map(|counts| {
            let mut table = vec![vec![0u64; stages.len()]; categories.len()];
            for (stage, raw, n) in counts {
                let (Some(s), Some(c)) = (
                    stages.iter().position(|x| x == stage),
                    categories.iter().position(|c| *c == by.category(raw.as_deref())),
                ) else {
                    continue;
                };
                table[c][s] += n;
            }
            table
        })
        .collect();
    let split = frozen.min(stages.len());
    let part = |cols: std::ops::Range<usize>| {
        let subs: Vec<Vec<Vec<u64>>> =
            tables.iter().map(|t| t.iter().map(|row| row[cols.clone()].to_vec()).collect()).collect();
        let (mut streams, whole) = crate::domain::disclosure::protect_jointly(&subs, threshold);
        match selected {
            Some(i) if i < streams.len() => streams.swap_remove(i),
            _ => whole,
        }
    };
    let (early, late) = (part(0..split), part(split..stages.len()));
    let shown = |r: usize, c: usize| if c < split { early.shown(r, c) } else { late.shown(r, c - split) };
    let totals: Vec<Shown<u64>> = (0..stages.len()).map(|c| Shown::from(shown(categories.len(), c))).collect();
    Funnel {
        by: by_name.to_owned(),
        stages: stages.to_vec(),
        rows: categories
            .iter()
            .enumerate()
            .map(|(r, cat)| {
                let counts: Vec<Shown<u64>> = (0..stages.len()).map(|c| Shown::from(shown(r, c))).collect();
                let percents =
                    counts.iter().zip(&totals).map(|(n, t)| n.zip(*t).and_then(|(n, t)| share(n, t))).collect();
                FunnelRow { category: cat, counts, percents }
            })
            .collect(),
        totals,
        frozen_stages: split,
        disclosure: Disclosure::new(threshold),
    }
}

/// `n` of `total` in percent, to one decimal (None of nobody).
fn share(n: u64, total: u64) -> Option<f64> {
    (total > 0).then(|| (n as f64 * 1000.0 / total as f64).round() / 10.0)
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupRate {
    pub group: &'static str,
    /// Reached `from`.
    pub considered: Shown<u64>,
    /// Reached `to` as well.
    pub selected: Shown<u64>,
    pub selection_rate: Shown<f64>,
    /// This group's rate / the highest rate of any stated group.
    pub impact_ratio: Shown<f64>,
    /// Impact ratio below 0.8 (the four-fifths rule of thumb).
    pub below_four_fifths: Shown<bool>,
    /// Two-proportion z-test of this group against everyone else.
    pub z: Shown<f64>,
    pub z_p_value: Shown<f64>,
    /// Two-sided Fisher's exact test of this group against everyone else.
    pub fisher_p_value: Shown<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Likelihood {
    pub first: &'static str,
    pub second: &'static str,
    pub ratio: Shown<f64>,
    pub ci95_low: Shown<f64>,
    pub ci95_high: Shown<f64>,
    pub reading: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Equality {
    pub by: String,
    pub from: String,
    pub to: String,
    pub groups: Vec<GroupRate>,
    /// The group with the highest selection rate (the impact ratios' reference).
    pub reference_group: Option<&'static str>,
    /// WRES indicator 2: White vs BME, for this pair of stages (shortlisted → offered is the NHS definition).
    pub wres_indicator_2: Likelihood,
    /// WDES metric 2: non-disabled vs disabled, for this pair of stages.
    pub wdes_metric_2: Likelihood,
    pub disclosure: Disclosure,
}

/// Per-category (considered, selected) from raw values.
fn fold(by: Characteristic, raw: &BTreeMap<Option<String>, (u64, u64)>) -> Vec<(&'static str, u64, u64)> {
    let cats = by.categories();
    let mut out: Vec<(&'static str, u64, u64)> = cats.iter().map(|c| (*c, 0, 0)).collect();
    for (value, (n_from, n_to)) in raw {
        let cat = by.category(value.as_deref());
        if let Some(slot) = out.iter_mut().find(|(c, _, _)| *c == cat) {
            slot.1 += n_from;
            slot.2 += n_to;
        }
    }
    out
}

/// The 2×2 of selected / not selected for two groups, which is protected before anything is
/// computed from it.
fn two_by_two(first: (&'static str, u64, u64), second: (&'static str, u64, u64)) -> Vec<Vec<u64>> {
    vec![vec![first.2, first.1.saturating_sub(first.2)], vec![second.2, second.1.saturating_sub(second.2)]]
}

fn likelihood(
    first: (&'static str, u64, u64),
    second: (&'static str, u64, u64),
    outcome: &str,
    p: &crate::domain::disclosure::Protected,
) -> Likelihood {
    let all_shown = (0..2).all(|r| (0..2).all(|c| p.shown(r, c).is_some()));
    let rl: Option<RelativeLikelihood> =
        if all_shown { stats::relative_likelihood(first.2, first.1, second.2, second.1) } else { None };
    let reading = match (&rl, all_shown) {
        (Some(rl), _) => stats::reading(rl, first.0, second.0, outcome),
        (None, true) => "not defined: a group is empty or had no one selected".to_owned(),
        (None, false) => "hidden: too few people in a group to publish".to_owned(),
    };
    let shown = |v: Option<f64>| if all_shown { Shown::defined(v) } else { Shown::Hidden(HIDDEN) };
    Likelihood {
        first: first.0,
        second: second.0,
        ratio: shown(rl.map(|r| r.ratio)),
        ci95_low: shown(rl.map(|r| r.ci_low)),
        ci95_high: shown(rl.map(|r| r.ci_high)),
        reading,
    }
}

/// Counts as the SQL gives them: raw value → (reached from, reached to).
pub type Counts = BTreeMap<Option<String>, (u64, u64)>;

/// The counts an equality report needs: by the chosen characteristic, and by ethnicity and
/// disability for WRES and WDES.
#[derive(Clone, Copy)]
pub struct SelectionCounts<'a> {
    pub by: &'a Counts,
    pub ethnicity: &'a Counts,
    pub disability: &'a Counts,
}

pub fn equality(
    by: Characteristic,
    by_name: &str,
    from: &str,
    to: &str,
    counts: SelectionCounts<'_>,
    threshold: u64,
) -> Equality {
    equality_of_streams(by, by_name, from, to, &[counts], None, threshold)
}

/// (category, considered, selected) for every category.
type Groups = Vec<(&'static str, u64, u64)>;

/// Per-category (considered, selected) of each stream, and summed over streams (or the
/// selected stream's).
fn groups_of<'a>(
    by: Characteristic,
    per_stream: &[SelectionCounts<'a>],
    selected: Option<usize>,
    pick: impl Fn(&SelectionCounts<'a>) -> &'a Counts,
) -> (Vec<Groups>, Groups) {
    let each: Vec<Vec<(&'static str, u64, u64)>> = per_stream.iter().map(|c| fold(by, pick(c))).collect();
    let chosen = match selected {
        Some(i) if i < each.len() => each[i].clone(),
        _ => {
            let mut sum: Vec<(&'static str, u64, u64)> = by.categories().iter().map(|c| (*c, 0, 0)).collect();
            for g in &each {
                for (slot, (_, n, x)) in sum.iter_mut().zip(g) {
                    slot.1 += n;
                    slot.2 += x;
                }
            }
            sum
        }
    };
    (each, chosen)
}

/// Jointly protects one table per stream (see `disclosure::protect_jointly`) and returns the
/// selected stream's, or the scheme's.
fn joint(tables: &[Vec<Vec<u64>>], selected: Option<usize>, threshold: u64) -> crate::domain::disclosure::Protected {
    let (mut streams, whole) = crate::domain::disclosure::protect_jointly(tables, threshold);
    match selected {
        Some(i) if i < streams.len() => streams.swap_remove(i),
        _ => whole,
    }
}

/// The equality report of one stream (`selected`) or of the scheme (None), every table
/// protected together with the other streams' and the scheme's, so that no stream's hidden
/// count follows by subtraction.
pub fn equality_of_streams(
    by: Characteristic,
    by_name: &str,
    from: &str,
    to: &str,
    per_stream: &[SelectionCounts<'_>],
    selected: Option<usize>,
    threshold: u64,
) -> Equality {
    let (each, groups) = groups_of(by, per_stream, selected, |c| c.by);
    // Selected can only exceed considered if counts came from different sources; never wrap.
    let table = |g: &[(&'static str, u64, u64)]| -> Vec<Vec<u64>> {
        g.iter().map(|(_, n, x)| vec![*x, n.saturating_sub(*x)]).collect()
    };
    let tables: Vec<Vec<Vec<u64>>> = each.iter().map(|g| table(g)).collect();
    let p = joint(&tables, selected, threshold);
    let rows = groups.len();
    let (all_n, all_x) = groups.iter().fold((0, 0), |(n, x), g| (n + g.1, x + g.2));
    // A group's figures need its own cells; tests against "everyone else" also use the column
    // totals, so they need those shown too (or a hidden total could be worked back).
    let shown = |r: usize| p.shown(r, 0).is_some() && p.shown(r, 1).is_some();
    let totals_shown = p.shown(groups.len(), 0).is_some() && p.shown(groups.len(), 1).is_some();
    let stated = |c: &str| c != PREFER_NOT_TO_SAY && c != NOT_ANSWERED;
    let rates: Vec<Shown<f64>> = groups
        .iter()
        .enumerate()
        .map(|(r, (_, n, x))| if shown(r) { Shown::defined(stats::rate(*x, *n)) } else { Shown::Hidden(HIDDEN) })
        .collect();
    // The highest rate, rates compared in integers (x₁·n₂ against x₂·n₁); on a tie, the
    // category first in alphabetical order.
    let by_rate = |a: &(&'static str, u64, u64), b: &(&'static str, u64, u64)| {
        (u128::from(a.2) * u128::from(b.1)).cmp(&(u128::from(b.2) * u128::from(a.1))).then_with(|| b.0.cmp(a.0))
    };
    let reference = groups
        .iter()
        .zip(&rates)
        .filter(|((c, _, _), rate)| stated(c) && matches!(rate, Shown::Value(_)))
        .map(|(g, _)| *g)
        .max_by(by_rate);
    // With no reference, a ratio is hidden if a stated group's hidden rate might have been it.
    let reference_hidden =
        groups.iter().zip(&rates).any(|((c, _, _), rate)| stated(c) && matches!(rate, Shown::Hidden(_)));
    let out_groups = groups
        .iter()
        .enumerate()
        .map(|(r, (cat, n, x))| {
            let visible = shown(r);
            let rate = rates[r];
            let (ratio, below) = match (rate, reference) {
                (Shown::Value(_), Some((_, best_n, best_x))) => (
                    Shown::defined(stats::impact_ratio(*x, *n, best_x, best_n)),
                    Shown::defined(stats::below_four_fifths(*x, *n, best_x, best_n)),
                ),
                (Shown::Hidden(h), _) => (Shown::Hidden(h), Shown::Hidden(h)),
                (Shown::Value(_), None) if reference_hidden => (Shown::Hidden(HIDDEN), Shown::Hidden(HIDDEN)),
                _ => (Shown::Undefined, Shown::Undefined),
            };
            let (rest_n, rest_x) = (all_n.saturating_sub(*n), all_x.saturating_sub(*x));
            let testable = visible && totals_shown;
            let test = |v: Option<f64>| if testable { Shown::defined(v) } else { Shown::Hidden(HIDDEN) };
            let z = stats::two_proportion_z(*x, *n, rest_x, rest_n);
            let fisher = (*n > 0 && rest_n > 0)
                .then(|| stats::fisher_exact(*x, n.saturating_sub(*x), rest_x, rest_n.saturating_sub(rest_x)));
            GroupRate {
                group: cat,
                considered: Shown::from(p.shown(r, 2)),
                selected: Shown::from(p.shown(r, 0)),
                selection_rate: rate,
                impact_ratio: ratio,
                below_four_fifths: below,
                z: test(z.map(|t| t.z)),
                z_p_value: test(z.map(|t| t.p_value)),
                fisher_p_value: test(fisher),
            }
        })
        .collect();
    let _ = rows;
    let outcome = format!("{to} (from {from})");
    let get = |v: &[(&'static str, u64, u64)], c: &str| v.iter().find(|g| g.0 == c).copied().unwrap_or(("", 0, 0));
    let (eth_each, eth) = groups_of(Characteristic::WhiteBme, per_stream, selected, |c| c.ethnicity);
    let wres = |g: &[(&'static str, u64, u64)]| two_by_two(get(g, "white"), get(g, "bme"));
    let wres_p = joint(&eth_each.iter().map(|g| wres(g)).collect::<Vec<_>>(), selected, threshold);
    let (dis_each, dis) = groups_of(Characteristic::Question("disability"), per_stream, selected, |c| c.disability);
    let wdes = |g: &[(&'static str, u64, u64)]| two_by_two(get(g, "no"), get(g, "yes"));
    let wdes_p = joint(&dis_each.iter().map(|g| wdes(g)).collect::<Vec<_>>(), selected, threshold);
    let (yes, no) = (get(&dis, "yes"), get(&dis, "no"));
    Equality {
        by: by_name.to_owned(),
        from: from.to_owned(),
        to: to.to_owned(),
        groups: out_groups,
        reference_group: reference.map(|r| r.0),
        wres_indicator_2: likelihood(
            ("White", get(&eth, "white").1, get(&eth, "white").2),
            ("BME", get(&eth, "bme").1, get(&eth, "bme").2),
            &outcome,
            &wres_p,
        ),
        wdes_metric_2: likelihood(("Non-disabled", no.1, no.2), ("Disabled", yes.1, yes.2), &outcome, &wdes_p),
        disclosure: Disclosure::new(threshold),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, u64, u64)]) -> BTreeMap<Option<String>, (u64, u64)> {
        pairs.iter().map(|(v, n, x)| (Some((*v).to_owned()), (*n, *x))).collect()
    }

    #[test]
    fn equality_figures_match_a_hand_calculation() {
        let by = Characteristic::Question("sex");
        let data = raw(&[("female", 100, 40), ("male", 100, 20)]);
        let eth = raw(&[("white_british", 100, 40), ("asian_indian", 100, 20)]);
        let dis = raw(&[("no", 150, 45), ("yes", 50, 15)]);
        let e = equality(
            by,
            "sex",
            "shortlisted",
            "offered",
            SelectionCounts { by: &data, ethnicity: &eth, disability: &dis },
            5,
        );
        let f = &e.groups[0];
        assert_eq!(f.group, "female");
        assert_eq!(f.selection_rate, Shown::Value(0.4));
        assert_eq!(f.impact_ratio, Shown::Value(1.0));
        let m = &e.groups[1];
        assert_eq!(m.impact_ratio, Shown::Value(0.5));
        assert_eq!(m.below_four_fifths, Shown::Value(true));
        assert_eq!(e.reference_group, Some("female"));
        // male vs rest (= female): pooled p = 0.3, z = (0.2 − 0.4)/√(0.3·0.7·0.02) = −3.0861
        let Shown::Value(z) = m.z else { panic!() };
        assert!((z + 3.086_067).abs() < 1e-5, "{z}");
        let Shown::Value(rr) = e.wres_indicator_2.ratio else { panic!() };
        assert!((rr - 2.0).abs() < 1e-12);
        assert!(e.wres_indicator_2.reading.starts_with("White applicants were 2.00 times as likely"));
        let Shown::Value(rr) = e.wdes_metric_2.ratio else { panic!() };
        assert!((rr - 1.0).abs() < 1e-12, "0.3 vs 0.3");
    }

    #[test]
    fn a_rate_exactly_four_fifths_of_the_best_is_not_flagged() {
        // 6/9 against 15/18 is exactly 0.8; in floating point 0.6667 / 0.8333 gives 0.7999999999999999.
        let by = Characteristic::Question("sex");
        let data = raw(&[("female", 18, 15), ("male", 9, 6)]);
        let empty = raw(&[]);
        let e = equality(by, "sex", "a", "b", SelectionCounts { by: &data, ethnicity: &empty, disability: &empty }, 0);
        let m = e.groups.iter().find(|g| g.group == "male").unwrap();
        assert_eq!(m.below_four_fifths, Shown::Value(false));
        assert_eq!(m.impact_ratio, Shown::Value(0.8));
        // One fewer selected is below.
        let data = raw(&[("female", 18, 15), ("male", 9, 5)]);
        let e = equality(by, "sex", "a", "b", SelectionCounts { by: &data, ethnicity: &empty, disability: &empty }, 0);
        assert_eq!(e.groups.iter().find(|g| g.group == "male").unwrap().below_four_fifths, Shown::Value(true));
    }

    #[test]
    fn a_rate_of_no_one_considered_is_undefined_not_suppressed() {
        let by = Characteristic::Question("sex");
        let data = raw(&[("female", 20, 10)]);
        let empty = raw(&[]);
        let e = equality(by, "sex", "a", "b", SelectionCounts { by: &data, ethnicity: &empty, disability: &empty }, 5);
        let m = e.groups.iter().find(|g| g.group == "male").unwrap();
        assert_eq!(m.considered, Shown::Value(0));
        for v in [&m.selection_rate, &m.impact_ratio, &m.z, &m.z_p_value, &m.fisher_p_value] {
            assert!(serde_json::to_value(v).unwrap().is_null() && v.text() == "–", "{m:?}");
        }
        assert!(serde_json::to_value(m.below_four_fifths).unwrap().is_null(), "{m:?}");
        // Nobody in either WRES group: the ratio is undefined, not hidden.
        assert!(serde_json::to_value(e.wres_indicator_2.ratio).unwrap().is_null(), "{:?}", e.wres_indicator_2);
    }

    #[test]
    fn small_groups_and_everything_computed_from_them_are_hidden() {
        let by = Characteristic::Question("sex");
        let data = raw(&[("female", 30, 12), ("male", 30, 3), ("prefer_not_to_say", 10, 5)]);
        let empty = raw(&[]);
        let e = equality(by, "sex", "a", "b", SelectionCounts { by: &data, ethnicity: &empty, disability: &empty }, 5);
        let m = e.groups.iter().find(|g| g.group == "male").unwrap();
        assert_eq!(m.selected, Shown::Hidden(HIDDEN));
        assert_eq!(m.selection_rate, Shown::Hidden(HIDDEN));
        assert_eq!(m.fisher_p_value, Shown::Hidden(HIDDEN));
        // No ethnicity counts at all: WRES is 0 of 0, undefined rather than hidden.
        assert_eq!(e.wres_indicator_2.ratio, Shown::Undefined);
        let off =
            equality(by, "sex", "a", "b", SelectionCounts { by: &data, ethnicity: &empty, disability: &empty }, 0);
        assert!(off.disclosure.rule.contains("OFF"));
        assert!(matches!(off.groups.iter().find(|g| g.group == "male").unwrap().selected, Shown::Value(3)));
    }

    #[test]
    fn a_stream_small_group_cannot_be_recovered_from_the_scheme_and_the_other_streams() {
        // Stream A selected 3 men: hidden. Were B's 10 and the scheme's 13 both shown, A's 3
        // would follow; protected together, one of them is hidden too.
        let by = Characteristic::Question("sex");
        let a = raw(&[("female", 20, 10), ("male", 20, 3)]);
        let b = raw(&[("female", 20, 10), ("male", 20, 10)]);
        let empty = raw(&[]);
        let parts = [
            SelectionCounts { by: &a, ethnicity: &empty, disability: &empty },
            SelectionCounts { by: &b, ethnicity: &empty, disability: &empty },
        ];
        let men = |sel: Option<usize>| {
            let e = equality_of_streams(by, "sex", "a", "b", &parts, sel, 5);
            e.groups.iter().find(|g| g.group == "male").unwrap().selected
        };
        assert_eq!(men(Some(0)), Shown::Hidden(HIDDEN));
        assert!(men(Some(1)) == Shown::Hidden(HIDDEN) || men(None) == Shown::Hidden(HIDDEN));
        // Alone, B's figures would all be shown.
        let alone = equality(by, "sex", "a", "b", parts[1], 5);
        assert!(alone.groups.iter().all(|g| matches!(g.selected, Shown::Value(_))));
    }

    #[test]
    fn funnel_counts_by_category_and_stage() {
        let by = Characteristic::WhiteBme;
        let counts = vec![
            ("submitted".to_owned(), Some("white_british".to_owned()), 20),
            ("submitted".to_owned(), Some("white_irish".to_owned()), 5),
            ("submitted".to_owned(), Some("black_african".to_owned()), 30),
            ("submitted".to_owned(), None, 9),
            ("shortlisted".to_owned(), Some("white_british".to_owned()), 10),
            ("shortlisted".to_owned(), Some("black_african".to_owned()), 12),
        ];
        let f = funnel(by, "white_bme", &["submitted", "shortlisted"], &counts, 5, 0);
        let white = f.rows.iter().find(|r| r.category == "white").unwrap();
        assert_eq!(white.counts, [Shown::Value(25), Shown::Value(10)]);
        let na = f.rows.iter().find(|r| r.category == NOT_ANSWERED).unwrap();
        assert_eq!(na.counts[0], Shown::Value(9));
        assert_eq!(f.totals[0], Shown::Value(64));
        // Shares of the stage, to one decimal: 25 of 64 is 39.0625% → 39.1; 10 of 22 → 45.5.
        assert_eq!(white.percents, [Shown::Value(39.1), Shown::Value(45.5)]);
        let bme = f.rows.iter().find(|r| r.category == "bme").unwrap();
        assert_eq!(bme.percents, [Shown::Value(46.9), Shown::Value(54.5)]);
        // A hidden count hides its share; a stage nobody reached has none.
        let few = vec![
            ("submitted".to_owned(), Some("white_british".to_owned()), 3),
            ("submitted".to_owned(), Some("black_african".to_owned()), 30),
        ];
        let f = funnel(by, "white_bme", &["submitted", "shortlisted"], &few, 5, 0);
        let white = f.rows.iter().find(|r| r.category == "white").unwrap();
        assert!(matches!(white.percents[0], Shown::Hidden(_)));
        assert_eq!(white.percents[1], Shown::Undefined);
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Share {
    pub category: &'static str,
    pub n: Shown<u64>,
    /// Of everyone at the stage, rounded half up.
    pub percent: Shown<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageProfile {
    pub stage: &'static str,
    pub applicants: Shown<u64>,
    pub degree_class: Vec<Share>,
    /// BME as a share of those who stated White or BME.
    pub bme_percent: Shown<u64>,
    /// Female as a share of those who answered female or male.
    pub female_percent: Shown<u64>,
    /// Disabled as a share of those who answered yes or no.
    pub disabled_percent: Shown<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub stages: Vec<StageProfile>,
    pub offers_made: Shown<u64>,
    pub offers_accepted: Shown<u64>,
    pub offer_acceptance_percent: Shown<u64>,
    /// Share of assessment-centre candidates their panel rated appointable.
    pub assessment_centre: Option<AcProfile>,
    /// Placed trainees still in post at each checkpoint, and where leavers went.
    pub retention: Option<RetentionFigures>,
    pub disclosure: Disclosure,
}

fn count(f: &Funnel, category: &str, stage: usize) -> Shown<u64> {
    f.rows.iter().find(|r| r.category == category).map_or(Shown::Hidden(HIDDEN), |r| r.counts[stage])
}

fn share_of(f: &Funnel, part: &str, other: &str, stage: usize) -> Shown<u64> {
    count(f, part, stage).zip(count(f, other, stage)).and_then(|(a, b)| percent_of(a, a + b))
}

fn percent_of(x: u64, n: u64) -> Option<u64> {
    stats::percent_half_up(x, n)
}

/// The scheme profile at each stage, from funnels already through disclosure control (so a
/// share is shown only when every count it uses is shown).
pub fn profile(degree: &Funnel, white_bme: &Funnel, sex: &Funnel, disability: &Funnel, threshold: u64) -> Profile {
    let stages = degree.stages.clone();
    let profiles = stages
        .iter()
        .enumerate()
        .map(|(i, stage)| StageProfile {
            stage,
            applicants: degree.totals[i],
            degree_class: degree
                .rows
                .iter()
                .map(|r| Share {
                    category: r.category,
                    n: r.counts[i],
                    percent: r.counts[i].zip(degree.totals[i]).and_then(|(n, t)| percent_of(n, t)),
                })
                .collect(),
            bme_percent: share_of(white_bme, "bme", "white", i),
            female_percent: share_of(sex, "female", "male", i),
            disabled_percent: share_of(disability, "yes", "no", i),
        })
        .collect();
    let at =
        |name: &str| stages.iter().position(|s| *s == name).map(|i| degree.totals[i]).unwrap_or(Shown::Hidden(HIDDEN));
    let (made, accepted) = (at("offered"), at("accepted"));
    let rate = made.zip(accepted).and_then(|(m, a)| percent_of(a, m));
    Profile {
        stages: profiles,
        offers_made: made,
        offers_accepted: accepted,
        offer_acceptance_percent: rate,
        assessment_centre: None,
        retention: None,
        disclosure: Disclosure::new(threshold),
    }
}

/// What the outcome figures are computed from (counts only, from set-based SQL).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OutcomeCounts {
    /// Candidates with a complete AC result, and of them rated appointable by their panel.
    pub assessed: u64,
    pub appointable: u64,
    pub placed: u64,
    /// months → (checkpoints recorded, of them in post)
    pub checkpoints: BTreeMap<u32, (u64, u64)>,
    /// destination → leavers
    pub destinations: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AcProfile {
    pub assessed: Shown<u64>,
    pub rated_appointable: Shown<u64>,
    /// Of those assessed, rounded half up.
    pub appointable_percent: Shown<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckpointFigures {
    pub months: u32,
    /// Placed trainees whose checkpoint is recorded.
    pub recorded: Shown<u64>,
    pub in_post: Shown<u64>,
    /// In post as a share of those recorded, rounded half up.
    pub in_post_percent: Shown<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DestinationFigures {
    pub destination: &'static str,
    pub leavers: Shown<u64>,
    pub percent: Shown<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetentionFigures {
    pub placed: Shown<u64>,
    pub checkpoints: Vec<CheckpointFigures>,
    pub leavers: Shown<u64>,
    pub destinations: Vec<DestinationFigures>,
}

/// A percentage of counts through disclosure control (None is hidden); of 0 it is undefined.
fn pct(part: Option<u64>, whole: Option<u64>) -> Shown<u64> {
    Shown::from(part).zip(Shown::from(whole)).and_then(|(p, w)| percent_of(p, w))
}

/// One table of streams × categories, protected as a whole, read for one stream (its row)
/// or for the scheme (the column totals): publishing both can never reveal a hidden count by
/// subtraction. `cell(counts)` gives a stream's row.
struct StreamTable {
    p: crate::domain::disclosure::Protected,
    row: usize,
}

impl StreamTable {
    fn new(
        per_stream: &[&OutcomeCounts],
        selected: Option<usize>,
        threshold: u64,
        cells: impl Fn(&OutcomeCounts) -> Vec<u64>,
    ) -> Self {
        let table: Vec<Vec<u64>> = per_stream.iter().map(|c| cells(c)).collect();
        let p = protect(&table, threshold);
        let row = selected.unwrap_or(per_stream.len());
        Self { p, row }
    }

    fn get(&self, col: usize) -> Option<u64> {
        self.p.shown(self.row, col)
    }

    fn total(&self) -> Option<u64> {
        // The grand total (the scheme's view) is a count like any other: below the threshold it
        // is hidden too (then every cell and margin is below it as well).
        let v = self.p.shown(self.row, self.p.cols)?;
        let small = self.row == self.p.rows && v >= 1 && v < self.p.threshold;
        (!small).then_some(v)
    }
}

/// The AC and retention parts of the profile. Each table is streams × categories with its
/// totals, through disclosure control as a whole, and read for `selected` (an index into
/// `per_stream`) or for the whole scheme: the appointable split [appointable, not yet]; each
/// checkpoint's [in post, not in post]; the leavers' destinations; the number placed.
pub fn outcome_profile(
    per_stream: &[&OutcomeCounts],
    selected: Option<usize>,
    threshold: u64,
) -> (AcProfile, RetentionFigures) {
    let ac = StreamTable::new(per_stream, selected, threshold, |c| {
        vec![c.appointable, c.assessed.saturating_sub(c.appointable)]
    });
    let ac_profile = AcProfile {
        assessed: Shown::from(ac.total()),
        rated_appointable: Shown::from(ac.get(0)),
        appointable_percent: pct(ac.get(0), ac.total()),
    };
    let checkpoints = crate::domain::outcomes::CHECKPOINT_MONTHS
        .iter()
        .map(|m| {
            let t = StreamTable::new(per_stream, selected, threshold, |c| {
                let (recorded, in_post) = c.checkpoints.get(m).copied().unwrap_or_default();
                vec![in_post, recorded.saturating_sub(in_post)]
            });
            CheckpointFigures {
                months: *m,
                recorded: Shown::from(t.total()),
                in_post: Shown::from(t.get(0)),
                in_post_percent: pct(t.get(0), t.total()),
            }
        })
        .collect();
    let dests = crate::domain::outcomes::DESTINATIONS;
    let d = StreamTable::new(per_stream, selected, threshold, |c| {
        dests.iter().map(|d| c.destinations.get(*d).copied().unwrap_or(0)).collect()
    });
    let placed = StreamTable::new(per_stream, selected, threshold, |c| vec![c.placed]);
    let retention = RetentionFigures {
        placed: Shown::from(placed.get(0)),
        checkpoints,
        leavers: Shown::from(d.total()),
        destinations: dests
            .iter()
            .enumerate()
            .map(|(i, dest)| DestinationFigures {
                destination: dest,
                leavers: Shown::from(d.get(i)),
                percent: pct(d.get(i), d.total()),
            })
            .collect(),
    };
    (ac_profile, retention)
}

#[cfg(test)]
mod profile_tests {
    use super::*;

    fn f(by: Characteristic, name: &str, counts: &[(&str, Option<&str>, u64)]) -> Funnel {
        let c: Vec<(String, Option<String>, u64)> =
            counts.iter().map(|(s, v, n)| ((*s).to_owned(), v.map(str::to_owned), *n)).collect();
        funnel(by, name, &["submitted", "shortlisted", "offered", "accepted"], &c, 0, 0)
    }

    #[test]
    fn shares_at_each_stage() {
        let degree = f(
            Characteristic::DegreeClass,
            "degree_class",
            &[
                ("submitted", Some("first"), 30),
                ("submitted", Some("2:1"), 70),
                ("offered", Some("first"), 8),
                ("accepted", Some("first"), 6),
            ],
        );
        let eth = f(
            Characteristic::WhiteBme,
            "white_bme",
            &[
                ("submitted", Some("white_british"), 60),
                ("submitted", Some("asian_indian"), 30),
                ("submitted", None, 10),
            ],
        );
        let sex = f(
            Characteristic::Question("sex"),
            "sex",
            &[("submitted", Some("female"), 55), ("submitted", Some("male"), 45)],
        );
        let dis = f(
            Characteristic::Question("disability"),
            "disability",
            &[("submitted", Some("yes"), 7), ("submitted", Some("no"), 93)],
        );
        let p = profile(&degree, &eth, &sex, &dis, 0);
        let s = &p.stages[0];
        assert_eq!(s.applicants, Shown::Value(100));
        assert!(matches!(s.degree_class[0].percent, Shown::Value(30)));
        assert!(matches!(s.bme_percent, Shown::Value(33))); // 30 / 90, not answered left out
        assert!(matches!(s.female_percent, Shown::Value(55)));
        assert!(matches!(s.disabled_percent, Shown::Value(7)));
        assert!(matches!(p.offer_acceptance_percent, Shown::Value(75))); // 6 of 8
    }

    #[test]
    fn outcome_figures_hide_small_cells_and_what_would_reveal_them() {
        let c = OutcomeCounts {
            assessed: 80,
            appointable: 71,
            placed: 20,
            checkpoints: BTreeMap::from([(3, (20, 15)), (6, (20, 18))]),
            destinations: BTreeMap::from([("outside_nhs".to_owned(), 3), ("another_nhs_role".to_owned(), 4)]),
        };
        let (ac, ret) = outcome_profile(&[&c], None, 5);
        assert!(matches!(
            (ac.assessed, ac.rated_appointable, ac.appointable_percent),
            (
                Shown::Value(80),
                Shown::Value(71),
                Shown::Value(89) // 71 / 80 = 88.75
            )
        ));
        assert!(matches!(ret.placed, Shown::Value(20)));
        let three = &ret.checkpoints[0];
        assert!(matches!(
            (three.recorded, three.in_post, three.in_post_percent),
            (Shown::Value(20), Shown::Value(15), Shown::Value(75))
        ));
        // 6 months: 2 not in post is hidden, so 18 in post is too (20 - 18 would give it away).
        let six = &ret.checkpoints[1];
        assert!(matches!(
            (six.recorded, six.in_post, six.in_post_percent),
            (Shown::Value(20), Shown::Hidden(_), Shown::Hidden(_))
        ));
        assert!(matches!(ret.checkpoints[2].recorded, Shown::Value(0)));
        assert!(matches!(ret.leavers, Shown::Value(7)));
        for d in &ret.destinations {
            match d.destination {
                "outside_nhs" | "another_nhs_role" => assert!(matches!(d.leavers, Shown::Hidden(_)), "{d:?}"),
                _ => assert!(matches!(d.leavers, Shown::Value(0)), "{d:?}"),
            }
        }
        let tiny = OutcomeCounts { assessed: 4, appointable: 3, ..Default::default() };
        let (ac_tiny, _) = outcome_profile(&[&tiny], None, 5);
        assert!(matches!(ac_tiny.assessed, Shown::Hidden(_)), "a small scheme total is hidden too");
        let (_, open) = outcome_profile(&[&c], None, 0);
        assert!(matches!(open.destinations[2].leavers, Shown::Value(3)));
    }

    fn undefined<T: Serialize + std::fmt::Display>(s: &Shown<T>) -> bool {
        serde_json::to_value(s).unwrap().is_null() && s.text() == "–"
    }

    #[test]
    fn a_percentage_of_nothing_is_undefined_not_suppressed() {
        // Nobody assessed, recorded at a checkpoint or left: 0 of 0 is not a secret.
        let c = OutcomeCounts { placed: 20, ..Default::default() };
        let (ac, ret) = outcome_profile(&[&c], None, 5);
        assert!(undefined(&ac.appointable_percent), "{:?}", ac.appointable_percent);
        for cp in &ret.checkpoints {
            assert_eq!(cp.recorded, Shown::Value(0));
            assert!(undefined(&cp.in_post_percent), "{cp:?}");
        }
        assert_eq!(ret.leavers, Shown::Value(0));
        for d in &ret.destinations {
            assert_eq!(d.leavers, Shown::Value(0));
            assert!(undefined(&d.percent), "{d:?}");
        }
        // Nobody offered, and no one at the later stages.
        let degree = f(Characteristic::DegreeClass, "degree_class", &[("submitted", Some("first"), 30)]);
        let eth = f(Characteristic::WhiteBme, "white_bme", &[("submitted", Some("white_british"), 30)]);
        let sex = f(Characteristic::Question("sex"), "sex", &[("submitted", Some("female"), 30)]);
        let dis = f(Characteristic::Question("disability"), "disability", &[("submitted", Some("no"), 30)]);
        let p = profile(&degree, &eth, &sex, &dis, 5);
        assert!(undefined(&p.offer_acceptance_percent));
        let later = &p.stages[1];
        assert!(
            undefined(&later.bme_percent) && undefined(&later.female_percent) && undefined(&later.disabled_percent)
        );
        assert!(later.degree_class.iter().all(|d| undefined(&d.percent)), "{later:?}");
        assert_eq!(p.stages[0].bme_percent, Shown::Value(0));
    }

    #[test]
    fn a_suppressed_percentage_stays_suppressed() {
        let c = OutcomeCounts { placed: 20, checkpoints: BTreeMap::from([(6, (20, 18))]), ..Default::default() };
        let (_, ret) = outcome_profile(&[&c], None, 5);
        let six = &ret.checkpoints[1];
        assert_eq!(six.in_post_percent, Shown::Hidden(HIDDEN));
        assert_eq!(six.in_post_percent.text(), "[c]");
        assert_eq!(serde_json::to_value(six.in_post_percent).unwrap(), "[c]");
    }

    #[test]
    fn a_stream_hidden_figure_cannot_be_worked_out_from_the_scheme_one() {
        // Stream B has 3 placed: hidden. Were stream A's 19 and the scheme's 22 both shown,
        // 22 - 19 would give B away; protected together, A's is hidden as well.
        let a = OutcomeCounts { placed: 19, ..Default::default() };
        let b = OutcomeCounts { placed: 3, ..Default::default() };
        let streams = [&a, &b];
        let (_, scheme) = outcome_profile(&streams, None, 5);
        let (_, first) = outcome_profile(&streams, Some(0), 5);
        let (_, second) = outcome_profile(&streams, Some(1), 5);
        assert!(matches!(second.placed, Shown::Hidden(_)));
        assert!(
            matches!(scheme.placed, Shown::Hidden(_)) || matches!(first.placed, Shown::Hidden(_)),
            "{:?} {:?}",
            scheme.placed,
            first.placed
        );
        let c = OutcomeCounts { placed: 12, ..Default::default() };
        let (_, wide) = outcome_profile(&[&a, &b, &c], None, 5);
        assert!(matches!(wide.placed, Shown::Value(34)), "{:?}", wide.placed);
    }
}
