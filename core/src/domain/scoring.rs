//! Online tests and how they are scored (SPEC §3 "Online tests and scoring").
//!
//! A test is an item bank: multiple-choice items with one keyed option, and
//! situational-judgement items with partial-credit keys — ranking items (each
//! option loses one mark per place it is ranked away from its keyed place) and
//! "choose the best N of M" items (one mark per keyed option picked).
//!
//! Raw score → z against the test's norm group → T = 50 + 10z,
//! sten = clamp(round(5.5 + 2z), 1, 10), percentile = 100·Φ(z) (Φ from statrs);
//! composite = weighted mean of z over the scheme's tests; pass = every test's T
//! at or above its cut. Every score names the key and norm versions it used.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use statrs::distribution::{ContinuousCDF, Normal};

use super::ids::StreamId;
use super::validation::FieldErrors;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestDefinition {
    /// e.g. `numerical`, `verbal`, `sjt`.
    pub id: StreamId,
    pub name: String,
    #[serde(default)]
    pub instructions: String,
    /// Minutes from starting the test; answers after it (plus a grace) are kept but not scored.
    #[serde(default)]
    pub time_limit_minutes: Option<u32>,
    /// Weight of this test's z in the composite.
    pub weight: f64,
    /// The lowest T-score that passes (T = 50 + 10z; 40 is one sd below the norm mean).
    pub cut_t: f64,
    /// Bumped whenever a key changes, so every score says which key made it.
    pub key_version: u32,
    pub norm: Norm,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Norm {
    pub mean: f64,
    pub sd: f64,
    /// e.g. "graduates-2025".
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Item {
    /// One keyed option (index into `options`), one mark.
    MultipleChoice { id: String, stem: String, options: Vec<String>, key: usize },
    /// Rank every option, best first. `key` is the keyed order (option indexes, best first).
    /// Each option scores (M − 1) − |its place − its keyed place|, at least 0.
    Ranking { id: String, stem: String, options: Vec<String>, key: Vec<usize> },
    /// Pick exactly `key.len()` options; one mark per keyed option picked.
    BestN { id: String, stem: String, options: Vec<String>, key: Vec<usize> },
}

/// An item as the applicant sees it: no key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemView<'a> {
    pub id: &'a str,
    pub kind: &'static str,
    pub stem: &'a str,
    pub options: &'a [String],
    /// For best-N items: how many to pick.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pick: Option<usize>,
}

impl Item {
    pub fn id(&self) -> &str {
        match self {
            Item::MultipleChoice { id, .. } | Item::Ranking { id, .. } | Item::BestN { id, .. } => id,
        }
    }

    fn options(&self) -> &[String] {
        match self {
            Item::MultipleChoice { options, .. } | Item::Ranking { options, .. } | Item::BestN { options, .. } => {
                options
            }
        }
    }

    pub fn view(&self) -> ItemView<'_> {
        let (kind, stem, pick) = match self {
            Item::MultipleChoice { stem, .. } => ("multiple_choice", stem, None),
            Item::Ranking { stem, .. } => ("ranking", stem, None),
            Item::BestN { stem, key, .. } => ("best_n", stem, Some(key.len())),
        };
        ItemView { id: self.id(), kind, stem, options: self.options(), pick }
    }

    pub fn max_marks(&self) -> u32 {
        match self {
            Item::MultipleChoice { .. } => 1,
            Item::Ranking { options, .. } => {
                let m = options.len() as u32;
                m * m.saturating_sub(1)
            }
            Item::BestN { key, .. } => key.len() as u32,
        }
    }

    /// Marks for a (checked) answer.
    pub fn marks(&self, answer: &Answer) -> u32 {
        match (self, answer) {
            (Item::MultipleChoice { key, .. }, Answer::Choice(c)) => u32::from(c == key),
            (Item::Ranking { key, options, .. }, Answer::Order(order)) => {
                let m = options.len() as i64;
                key.iter()
                    .enumerate()
                    .map(|(keyed_place, option)| {
                        let place = order.iter().position(|o| o == option).map_or(m, |p| p as i64);
                        ((m - 1) - (place - keyed_place as i64).abs()).max(0) as u32
                    })
                    .sum()
            }
            (Item::BestN { key, .. }, Answer::Picks(picks)) => picks.iter().filter(|p| key.contains(p)).count() as u32,
            _ => 0,
        }
    }

    /// Parses an applicant's answer to this item (JSON), checking its shape.
    pub fn parse_answer(&self, path: &str, value: &Value, errors: &mut FieldErrors) -> Option<Answer> {
        let n = self.options().len();
        let indexes = |v: &Value| -> Option<Vec<usize>> {
            v.as_array()?.iter().map(|x| x.as_u64().map(|i| i as usize).filter(|i| *i < n)).collect()
        };
        match self {
            Item::MultipleChoice { .. } => match value.as_u64().map(|i| i as usize).filter(|i| *i < n) {
                Some(c) => Some(Answer::Choice(c)),
                None => {
                    errors.push(path, format!("must be the index of one option, 0 to {}", n - 1));
                    None
                }
            },
            Item::Ranking { .. } => match indexes(value) {
                Some(order) if is_permutation(&order, n) => Some(Answer::Order(order)),
                _ => {
                    errors.push(
                        path,
                        format!(
                            "must rank every option once: a list of the indexes 0 to {} in your order, best first",
                            n - 1
                        ),
                    );
                    None
                }
            },
            Item::BestN { key, .. } => match indexes(value) {
                Some(picks) if picks.len() == key.len() && distinct(&picks) => Some(Answer::Picks(picks)),
                _ => {
                    errors.push(
                        path,
                        format!("must pick exactly {} different options (indexes 0 to {})", key.len(), n - 1),
                    );
                    None
                }
            },
        }
    }
}

fn distinct(v: &[usize]) -> bool {
    let mut s = v.to_vec();
    s.sort_unstable();
    s.windows(2).all(|w| w[0] != w[1])
}

fn is_permutation(v: &[usize], n: usize) -> bool {
    v.len() == n && distinct(v)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    Choice(usize),
    Order(Vec<usize>),
    Picks(Vec<usize>),
}

impl TestDefinition {
    pub fn max_raw(&self) -> u32 {
        self.items.iter().map(Item::max_marks).sum()
    }

    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id() == id)
    }

    /// Parses a whole set of answers `{item id: answer}`; every item must be answered once.
    /// Unanswered items are allowed (they score 0) when `allow_missing`.
    pub fn parse_answers(&self, value: &Value, errors: &mut FieldErrors) -> Option<BTreeMap<String, Answer>> {
        let Some(map) = value.as_object() else {
            errors.push("answers", "must be an object of item id → answer");
            return None;
        };
        let mut out = BTreeMap::new();
        for (id, v) in map {
            match self.item(id) {
                None => errors.push(format!("answers.{id}"), "is not an item of this test"),
                Some(item) => {
                    if let Some(a) = item.parse_answer(&format!("answers.{id}"), v, errors) {
                        out.insert(id.clone(), a);
                    }
                }
            }
        }
        Some(out)
    }

    /// The raw score of checked answers (unanswered items score 0).
    pub fn raw_score(&self, answers: &BTreeMap<String, Answer>) -> u32 {
        self.items.iter().map(|i| answers.get(i.id()).map_or(0, |a| i.marks(a))).sum()
    }

    /// Checks the bank itself: keys point at options, ranking keys are permutations, norms sane.
    pub fn check(&self, path: &str, errors: &mut FieldErrors) {
        if !(self.norm.sd > 0.0 && self.norm.sd.is_finite() && self.norm.mean.is_finite()) {
            errors.push(format!("{path}.norm.sd"), "must be a positive number");
        }
        if !(self.weight > 0.0 && self.weight.is_finite()) {
            errors.push(format!("{path}.weight"), "must be a positive number");
        }
        if self.items.is_empty() {
            errors.push(format!("{path}.items"), "a test needs at least one item");
        }
        let mut ids = std::collections::HashSet::new();
        for (i, item) in self.items.iter().enumerate() {
            let p = format!("{path}.items[{i}]");
            if !ids.insert(item.id()) {
                errors.push(format!("{p}.id"), "appears twice");
            }
            let n = item.options().len();
            if n < 2 {
                errors.push(format!("{p}.options"), "needs at least two options");
            }
            let ok = match item {
                Item::MultipleChoice { key, .. } => *key < n,
                Item::Ranking { key, .. } => is_permutation(key, n),
                Item::BestN { key, .. } => {
                    !key.is_empty() && key.len() < n && distinct(key) && key.iter().all(|k| *k < n)
                }
            };
            if !ok {
                errors.push(format!("{p}.key"), "does not fit the item's options");
            }
        }
    }
}

/// One test's score with its provenance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TestScore {
    pub raw: u32,
    pub z: f64,
    pub t: f64,
    pub sten: u8,
    pub percentile: f64,
    pub passed: bool,
}

pub fn score(raw: u32, test: &TestDefinition) -> TestScore {
    let z = (f64::from(raw) - test.norm.mean) / test.norm.sd;
    let t = 50.0 + 10.0 * z;
    TestScore { raw, z, t, sten: sten(z), percentile: percentile(z), passed: t >= test.cut_t - 1e-9 }
}

pub fn sten(z: f64) -> u8 {
    (5.5 + 2.0 * z).round().clamp(1.0, 10.0) as u8
}

pub fn percentile(z: f64) -> f64 {
    100.0 * Normal::standard().cdf(z)
}

/// Weighted mean of z: Σ wᵢzᵢ / Σ wᵢ.
pub fn composite(scores: &[(f64, f64)]) -> f64 {
    let (num, den) = scores.iter().fold((0.0, 0.0), |(n, d), (w, z)| (n + w * z, d + w));
    if den > 0.0 { num / den } else { 0.0 }
}

/// One test as it came back, for scoring.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptInput {
    pub test_id: String,
    pub submitted: bool,
    pub late: bool,
    /// Answers given through the API (item id → answer as sent), re-parsed against the bank.
    pub answers: Option<Value>,
    /// A provider's raw score, used as it is.
    pub provider_raw: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoredTest {
    pub test_id: String,
    pub name: String,
    pub key_version: u32,
    pub norm_version: String,
    pub score: TestScore,
}

/// An application's scores: one per test that counts, the composite and the overall pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scorecard {
    pub tests: Vec<ScoredTest>,
    /// Tests not scored: late, or never submitted.
    pub unscored: Vec<String>,
    pub composite: f64,
    /// Every test scored and at or above its cut.
    pub passed: bool,
}

/// Scores an application's attempts against the scheme's current tests. A late or missing
/// test is not scored, and without it the applicant cannot pass.
pub fn score_attempts(tests: &[TestDefinition], attempts: &[AttemptInput]) -> Scorecard {
    let mut scored = Vec::new();
    let mut unscored = Vec::new();
    for test in tests {
        let attempt = attempts.iter().find(|a| a.test_id == test.id.as_str());
        let raw = match attempt {
            Some(a) if a.submitted && !a.late => match (a.provider_raw, &a.answers) {
                (Some(raw), _) => Some(raw.min(test.max_raw())),
                (None, Some(answers)) => {
                    // Answers were checked on the way in; an answer that no longer fits a changed
                    // item scores 0 rather than failing the whole scoring.
                    let mut ignored = FieldErrors::new();
                    let parsed = test.parse_answers(answers, &mut ignored).unwrap_or_default();
                    Some(test.raw_score(&parsed))
                }
                (None, None) => Some(0),
            },
            _ => None,
        };
        match raw {
            Some(raw) => scored.push(ScoredTest {
                test_id: test.id.to_string(),
                name: test.name.clone(),
                key_version: test.key_version,
                norm_version: test.norm.version.clone(),
                score: score(raw, test),
            }),
            None => unscored.push(test.id.to_string()),
        }
    }
    let weights: Vec<(f64, f64)> = scored
        .iter()
        .map(|s| (tests.iter().find(|t| t.id.as_str() == s.test_id).map_or(1.0, |t| t.weight), s.score.z))
        .collect();
    Scorecard {
        composite: composite(&weights),
        passed: unscored.is_empty() && scored.iter().all(|s| s.score.passed),
        tests: scored,
        unscored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn a_late_test_is_not_scored_and_fails_the_application() {
        let t = bank();
        let on_time = AttemptInput {
            test_id: "t".into(),
            submitted: true,
            late: false,
            answers: Some(json!({"mc": 2})),
            provider_raw: None,
        };
        let card = score_attempts(std::slice::from_ref(&t), std::slice::from_ref(&on_time));
        assert_eq!(card.tests[0].score.raw, 1);
        assert_eq!(card.tests[0].key_version, 1);
        let late = AttemptInput { late: true, ..on_time };
        let card = score_attempts(&[t], &[late]);
        assert!(card.tests.is_empty() && !card.passed);
        assert_eq!(card.unscored, ["t"]);
    }

    fn opts(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("option {i}")).collect()
    }

    fn bank() -> TestDefinition {
        TestDefinition {
            id: StreamId::parse("t").unwrap(),
            name: "T".into(),
            instructions: String::new(),
            time_limit_minutes: Some(20),
            weight: 1.0,
            cut_t: 40.0,
            key_version: 1,
            norm: Norm { mean: 10.0, sd: 4.0, version: "n1".into() },
            items: vec![
                Item::MultipleChoice { id: "mc".into(), stem: "?".into(), options: opts(4), key: 2 },
                Item::Ranking { id: "rk".into(), stem: "?".into(), options: opts(4), key: vec![2, 0, 3, 1] },
                Item::BestN { id: "bn".into(), stem: "?".into(), options: opts(5), key: vec![1, 4] },
            ],
        }
    }

    #[test]
    fn marks_follow_the_keys() {
        let b = bank();
        let [mc, rk, bn] = [&b.items[0], &b.items[1], &b.items[2]];
        assert_eq!(mc.marks(&Answer::Choice(2)), 1);
        assert_eq!(mc.marks(&Answer::Choice(1)), 0);
        // A perfect ranking earns (M-1) per option: 4 × 3 = 12.
        assert_eq!(rk.max_marks(), 12);
        assert_eq!(rk.marks(&Answer::Order(vec![2, 0, 3, 1])), 12);
        // Swap the first two: options 2 and 0 are each one place away: 12 − 2 = 10.
        assert_eq!(rk.marks(&Answer::Order(vec![0, 2, 3, 1])), 10);
        // Fully reversed [1,3,0,2]: option 2 keyed 0 placed 3 → 0; 0: keyed 1 placed 2 → 2;
        // 3: keyed 2 placed 1 → 2; 1: keyed 3 placed 0 → 0. Total 4.
        assert_eq!(rk.marks(&Answer::Order(vec![1, 3, 0, 2])), 4);
        assert_eq!(bn.marks(&Answer::Picks(vec![4, 0])), 1);
        assert_eq!(bn.marks(&Answer::Picks(vec![1, 4])), 2);
        assert_eq!(b.max_raw(), 1 + 12 + 2);
    }

    #[test]
    fn norms_give_t_sten_and_percentile() {
        let b = bank();
        let s = score(10, &b);
        assert_eq!((s.z, s.t, s.sten), (0.0, 50.0, 6)); // round(5.5) = 6 (half away from zero)
        assert!((s.percentile - 50.0).abs() < 1e-9);
        let s = score(6, &b); // z = −1
        assert!((s.t - 40.0).abs() < 1e-9 && s.passed, "exactly at the cut passes");
        assert_eq!(s.sten, 4); // round(3.5) = 4
        assert!((s.percentile - 15.865_525_393_145_7).abs() < 1e-6); // Φ(−1)
        let s = score(5, &b);
        assert!(!s.passed);
        assert_eq!(sten(-9.0), 1);
        assert_eq!(sten(9.0), 10);
    }

    #[test]
    fn composite_is_the_weighted_mean_of_z() {
        assert!((composite(&[(2.0, 1.0), (1.0, -0.5)]) - 0.5).abs() < 1e-12);
        assert_eq!(composite(&[]), 0.0);
    }

    #[test]
    fn answers_are_checked_field_by_field() {
        let b = bank();
        let mut e = FieldErrors::new();
        let parsed = b.parse_answers(&json!({"mc": 9, "rk": [0, 0, 1, 2], "bn": [1], "zz": 1}), &mut e).unwrap();
        assert!(parsed.is_empty());
        let fields: Vec<_> = e.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["answers.bn", "answers.mc", "answers.rk", "answers.zz"]);
    }

    #[test]
    fn a_bank_with_a_bad_key_is_refused() {
        let mut b = bank();
        b.items.push(Item::Ranking { id: "r2".into(), stem: "?".into(), options: opts(3), key: vec![0, 0, 1] });
        let mut e = FieldErrors::new();
        b.check("tests[0]", &mut e);
        assert_eq!(e.iter().next().unwrap().field, "tests[0].items[3].key");
    }

    fn permutation(n: usize) -> impl Strategy<Value = Vec<usize>> {
        Just((0..n).collect::<Vec<_>>()).prop_shuffle()
    }

    proptest! {
        #[test]
        fn sten_is_always_1_to_10(z in -1e6f64..1e6) {
            let s = sten(z);
            prop_assert!((1..=10).contains(&s));
        }

        #[test]
        fn percentile_and_t_rise_with_raw_score(a in 0u32..200, b in 0u32..200) {
            let t = bank();
            let (sa, sb) = (score(a, &t), score(b, &t));
            if a <= b {
                prop_assert!(sa.percentile <= sb.percentile && sa.t <= sb.t && sa.sten <= sb.sten);
            }
            prop_assert!((0.0..=100.0).contains(&sa.percentile));
        }

        #[test]
        fn ranking_credit_is_never_above_full_marks_and_full_only_for_the_key(
            key in (2usize..7).prop_flat_map(permutation),
            seed in any::<u64>(),
        ) {
            let n = key.len();
            let mut order = key.clone();
            // a deterministic shuffle from the seed
            let mut s = seed;
            for i in (1..n).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                order.swap(i, (s >> 33) as usize % (i + 1));
            }
            let item = Item::Ranking { id: "r".into(), stem: "?".into(), options: opts(n), key: key.clone() };
            let m = item.marks(&Answer::Order(order.clone()));
            prop_assert!(m <= item.max_marks());
            prop_assert_eq!(m == item.max_marks(), order == key);
        }

        #[test]
        fn best_n_credit_is_never_above_full_marks(picks in proptest::collection::btree_set(0usize..6, 2)) {
            let item = Item::BestN { id: "b".into(), stem: "?".into(), options: opts(6), key: vec![1, 3] };
            let picks: Vec<usize> = picks.into_iter().collect();
            prop_assert!(item.marks(&Answer::Picks(picks)) <= item.max_marks());
        }

        #[test]
        fn composite_lies_between_the_lowest_and_highest_z(zs in proptest::collection::vec((0.1f64..5.0, -4.0f64..4.0), 1..6)) {
            let c = composite(&zs);
            let lo = zs.iter().map(|x| x.1).fold(f64::INFINITY, f64::min);
            let hi = zs.iter().map(|x| x.1).fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(c >= lo - 1e-9 && c <= hi + 1e-9);
        }
    }
}
