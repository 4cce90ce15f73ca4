//! Statistics for fairness reporting (SPEC §3 "Metrics for HR"). Pure functions
//! of counts; distributions from statrs.
//!
//! - Selection rate: selected / considered.
//! - Impact ratio: a group's rate / the highest group's rate; below 0.8 is
//!   flagged (the "four-fifths rule", US EEOC Uniform Guidelines §1607.4D, used
//!   in UK practice as a screen, not a test). The flag is decided in integers,
//!   5·x·n_best < 4·x_best·n, so a ratio of exactly 4/5 is never flagged by a
//!   rounding error (6/9 against 15/18 is 0.7999999999999999 in floating point).
//! - Two-proportion z-test (pooled): z = (p₁ − p₂) / √(p̂(1 − p̂)(1/n₁ + 1/n₂)),
//!   p̂ = (x₁ + x₂)/(n₁ + n₂); two-sided p = 2Φ(−|z|) = erfc(|z|/√2), from the
//!   lower tail directly: 2(1 − Φ(|z|)) loses the digits of a small p to
//!   cancellation (and shows p = 9.7e-17 as 0). Equals Pearson's χ² without
//!   continuity correction (R: `prop.test(..., correct = FALSE)`).
//! - Fisher's exact test, two-sided: the sum of the hypergeometric probabilities
//!   of all 2×2 tables with the same margins that are no more likely than the one
//!   observed (R's `fisher.test` convention, relative tolerance 1e-7).
//! - Relative likelihood (risk ratio) with a 95% confidence interval by the log
//!   method (Katz et al. 1978): RR = (x₁/n₁)/(x₂/n₂),
//!   CI = exp(ln RR ± 1.96 √(1/x₁ − 1/n₁ + 1/x₂ − 1/n₂)). This is how NHS
//!   England's WRES indicator 2 ("relative likelihood of White applicants being
//!   appointed from shortlisting compared to BME applicants") and WDES metric 2
//!   (non-disabled vs disabled) are read: 1 is equal treatment, above 1 favours
//!   the first group.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};
use statrs::function::factorial::ln_factorial;

/// x / n, or None when n is 0.
pub fn rate(x: u64, n: u64) -> Option<f64> {
    (n > 0).then(|| x as f64 / n as f64)
}

/// (x/n) / (x_best/n_best), from the exact product of counts (one rounding); None when
/// either rate is undefined or the best rate is 0.
pub fn impact_ratio(x: u64, n: u64, x_best: u64, n_best: u64) -> Option<f64> {
    (n > 0 && n_best > 0 && x_best > 0)
        .then(|| (u128::from(x) * u128::from(n_best)) as f64 / (u128::from(n) * u128::from(x_best)) as f64)
}

/// Whether x/n is below four-fifths of x_best/n_best: 5·x·n_best < 4·x_best·n, in integers
/// (u128). None when the impact ratio is undefined.
pub fn below_four_fifths(x: u64, n: u64, x_best: u64, n_best: u64) -> Option<bool> {
    (n > 0 && n_best > 0 && x_best > 0).then(|| {
        let (a, b) = (u128::from(x) * u128::from(n_best), u128::from(x_best) * u128::from(n));
        // 5a < 4b, i.e. 4(b − a) > a, i.e. b − a > ⌊a/4⌋: the same test without 5a overflowing
        // when the counts are near u64::MAX.
        a < b && b - a > a / 4
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ZTest {
    pub z: f64,
    pub p_value: f64,
}

/// Pooled two-proportion z-test of x₁/n₁ against x₂/n₂; None when undefined (an empty
/// group, or everyone or no one selected overall).
pub fn two_proportion_z(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<ZTest> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let pooled = (x1 + x2) as f64 / (n1 + n2) as f64;
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    if se == 0.0 {
        return None;
    }
    let z = (x1 as f64 / n1 as f64 - x2 as f64 / n2 as f64) / se;
    let p = 2.0 * Normal::standard().cdf(-z.abs());
    Some(ZTest { z, p_value: p.clamp(0.0, 1.0) })
}

/// Two-sided Fisher's exact p for the table [[a, b], [c, d]].
pub fn fisher_exact(a: u64, b: u64, c: u64, d: u64) -> f64 {
    let (r1, r2, c1) = (a + b, c + d, a + c);
    let n = r1 + r2;
    let ln_p = |x: u64| -> f64 {
        // P(X = x) for the top-left cell, hypergeometric with the observed margins.
        ln_factorial(r1) + ln_factorial(r2) + ln_factorial(c1) + ln_factorial(n - c1)
            - ln_factorial(n)
            - ln_factorial(x)
            - ln_factorial(r1 - x)
            - ln_factorial(c1 - x)
            - ln_factorial(r2 + x - c1)
    };
    let lo = c1.saturating_sub(r2);
    let hi = r1.min(c1);
    let observed = ln_p(a);
    let mut p = 0.0;
    for x in lo..=hi {
        let lp = ln_p(x);
        if lp <= observed + 1e-7_f64.ln_1p() {
            p += lp.exp();
        }
    }
    p.min(1.0)
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RelativeLikelihood {
    pub ratio: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// (x₁/n₁)/(x₂/n₂) with its 95% CI; None when either rate is 0 or undefined.
pub fn relative_likelihood(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<RelativeLikelihood> {
    if x1 == 0 || x2 == 0 || n1 == 0 || n2 == 0 {
        return None;
    }
    let ratio = (x1 as f64 / n1 as f64) / (x2 as f64 / n2 as f64);
    let se = (1.0 / x1 as f64 - 1.0 / n1 as f64 + 1.0 / x2 as f64 - 1.0 / n2 as f64).sqrt();
    let z = Normal::standard().inverse_cdf(0.975);
    Some(RelativeLikelihood { ratio, ci_low: (ratio.ln() - z * se).exp(), ci_high: (ratio.ln() + z * se).exp() })
}

/// A plain-words reading of a relative likelihood, as NHS England's WRES reports word it.
pub fn reading(rl: &RelativeLikelihood, first: &str, second: &str, outcome: &str) -> String {
    let significant = rl.ci_low > 1.0 || rl.ci_high < 1.0;
    let strength = if significant {
        ""
    } else {
        " This difference is not statistically significant (the 95% interval includes 1)."
    };
    if (rl.ratio - 1.0).abs() < 0.005 {
        format!("{first} and {second} applicants were equally likely to be {outcome}.{strength}")
    } else if rl.ratio > 1.0 {
        format!(
            "{first} applicants were {:.2} times as likely as {second} applicants to be {outcome}.{strength}",
            rl.ratio
        )
    } else {
        format!(
            "{first} applicants were {:.2} times as likely as {second} applicants to be {outcome} ({second} applicants {:.2} times as likely as {first}).{strength}",
            rl.ratio,
            1.0 / rl.ratio
        )
    }
}

/// Round half up to a whole number, from exact counts (no floating-point drift): 2.5 → 3.
pub fn percent_half_up(x: u64, n: u64) -> Option<u64> {
    (n > 0).then(|| (200 * x + n) / (2 * n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn two_proportion_z_matches_prop_test() {
        // R: prop.test(c(30, 45), c(100, 100), correct = FALSE) -> X-squared = 4.8, p-value = 0.02846
        let t = two_proportion_z(30, 100, 45, 100).unwrap();
        assert!(close(t.z * t.z, 4.8, 1e-9), "{t:?}");
        assert!(close(t.p_value, 0.028_459_736, 1e-6), "{t:?}");
        assert!(two_proportion_z(0, 10, 0, 10).is_none());
        assert!(two_proportion_z(1, 0, 0, 10).is_none());
    }

    #[test]
    fn exactly_four_fifths_is_not_below_four_fifths() {
        assert_eq!(below_four_fifths(6, 9, 15, 18), Some(false));
        assert_eq!(impact_ratio(6, 9, 15, 18), Some(0.8));
        assert_eq!(below_four_fifths(5, 9, 15, 18), Some(true));
        assert_eq!(below_four_fifths(u64::MAX - 1, u64::MAX, u64::MAX, u64::MAX), Some(false));
        assert_eq!(below_four_fifths(u64::MAX / 2, u64::MAX, u64::MAX, u64::MAX), Some(true));
        assert_eq!(below_four_fifths(3, 0, 15, 18), None);
        assert_eq!(below_four_fifths(3, 9, 0, 18), None);
    }

    #[test]
    fn z_test_p_keeps_its_relative_precision_in_the_tail() {
        // Expected p = erfc(|z| / √2), from Python's math.erfc with z computed the same way.
        for ((x1, n1, x2, n2), want) in [
            ((55, 100, 30, 100), 0.000_348_901_388_265_046_13),
            ((60, 100, 20, 100), 7.764_036_537_930_722e-9),
            ((40, 50, 10, 50), 1.973_175_290_075_387_5e-9),
            ((90, 100, 10, 100), 1.122_429_717_298_292_8e-29),
        ] {
            let t = two_proportion_z(x1, n1, x2, n2).unwrap();
            let rel = (t.p_value - want).abs() / want;
            assert!(rel < 1e-9, "{x1}/{n1} vs {x2}/{n2}: p = {:e}, want {want:e} (relative error {rel:e})", t.p_value);
        }
    }

    #[test]
    fn fisher_matches_r() {
        // R: fisher.test(matrix(c(3, 1, 1, 3), 2))$p.value = 0.4857143 (Fisher's tea-tasting table)
        assert!(close(fisher_exact(3, 1, 1, 3), 0.485_714_3, 1e-6));
        // R: fisher.test(matrix(c(1, 11, 9, 3), 2))$p.value = 0.002759456
        assert!(close(fisher_exact(1, 9, 11, 3), 0.002_759_456, 1e-8));
        // R: fisher.test(matrix(c(10, 10, 10, 10), 2))$p.value = 1
        assert!(close(fisher_exact(10, 10, 10, 10), 1.0, 1e-12));
    }

    #[test]
    fn relative_likelihood_uses_the_log_method() {
        // RR = 0.4 / 0.2 = 2; se = sqrt(1/40 - 1/100 + 1/20 - 1/100) = sqrt(0.055);
        // CI = 2 exp(±1.959964 × 0.2345208) = (1.26302, 3.16701).
        let rl = relative_likelihood(40, 100, 20, 100).unwrap();
        assert!(close(rl.ratio, 2.0, 1e-12));
        assert!(close(rl.ci_low, 1.263_02, 1e-4) && close(rl.ci_high, 3.167_01, 1e-4), "{rl:?}");
        assert!(relative_likelihood(0, 10, 5, 10).is_none());
        assert!(reading(&rl, "White", "BME", "appointed").starts_with("White applicants were 2.00 times as likely"));
    }

    #[test]
    fn percentages_round_half_up_from_counts() {
        assert_eq!(percent_half_up(1, 8), Some(13)); // 12.5 → 13
        assert_eq!(percent_half_up(1, 3), Some(33));
        assert_eq!(percent_half_up(2, 3), Some(67));
        assert_eq!(percent_half_up(0, 0), None);
    }

    proptest! {
        #[test]
        fn the_four_fifths_flag_is_five_x_n_best_below_four_x_best_n(
            x in 0u64..1000, n in 1u64..1000, xb in 1u64..1000, nb in 1u64..1000,
        ) {
            prop_assert_eq!(below_four_fifths(x, n, xb, nb), Some(5 * x * nb < 4 * xb * n));
        }

        #[test]
        fn fisher_p_is_a_probability_and_symmetric(a in 0u64..15, b in 0u64..15, c in 0u64..15, d in 0u64..15) {
            let p = fisher_exact(a, b, c, d);
            prop_assert!((0.0..=1.0 + 1e-12).contains(&p));
            prop_assert!(close(p, fisher_exact(d, c, b, a), 1e-9));
            prop_assert!(close(p, fisher_exact(a, c, b, d), 1e-9));
        }

        #[test]
        fn z_test_p_is_a_probability(x1 in 0u64..50, n1 in 1u64..50, x2 in 0u64..50, n2 in 1u64..50) {
            if let Some(t) = two_proportion_z(x1.min(n1), n1, x2.min(n2), n2) {
                prop_assert!((0.0..=1.0).contains(&t.p_value));
            }
        }

        #[test]
        fn the_ci_contains_the_ratio(x1 in 1u64..60, n1 in 60u64..120, x2 in 1u64..60, n2 in 60u64..120) {
            let rl = relative_likelihood(x1, n1, x2, n2).unwrap();
            prop_assert!(rl.ci_low <= rl.ratio && rl.ratio <= rl.ci_high);
        }
    }
}
