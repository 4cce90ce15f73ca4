//! What becomes of appointees (SPEC §3): the placement (host organisation and
//! start date), in-post checkpoints at 3, 6 and 12 months, and leaving (date and
//! destination). One record per occasion; they feed the retention figures HR reads.

use jiff::civil::Date;
use serde::Serialize;
use serde_json::Value;

use super::scheme::SchemeDefinition;
use super::validation::{FieldErrors, ObjectReader, one_of};

pub const CHECKPOINT_MONTHS: [u32; 3] = [3, 6, 12];

/// Where leavers went, in report order.
pub const DESTINATIONS: &[&str] = &[
    "another_nhs_role",
    "outside_nhs_health_care",
    "outside_nhs",
    "further_study",
    "career_break",
    "other",
    "unknown",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    Placement { organisation: String, start_date: Date },
    Checkpoint { months: u32, in_post: bool },
    Left { date: Date, destination: String },
}

impl Outcome {
    /// The occasion it records: each is recorded once per application.
    pub fn occasion(&self) -> String {
        match self {
            Outcome::Placement { .. } => "placement".into(),
            Outcome::Checkpoint { months, .. } => format!("checkpoint:{months}"),
            Outcome::Left { .. } => "left".into(),
        }
    }

    /// `{"kind": "placement", "organisation", "start_date"}`, `{"kind": "checkpoint",
    /// "months": 3|6|12, "in_post"}` or `{"kind": "left", "date", "destination"}`.
    pub fn parse(value: &Value, scheme: &SchemeDefinition) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let Some(mut r) = ObjectReader::new("", value, &mut e) else { return Err(e) };
        const KINDS: &[(&str, u8)] = &[("placement", 0), ("checkpoint", 1), ("left", 2)];
        let kind = r.required("kind", &mut e).and_then(|v| one_of("kind", v, KINDS, &mut e));
        let date = |r: &mut ObjectReader<'_>, key: &'static str, e: &mut FieldErrors| {
            let s = r.text(key, 10, true, e)?;
            s.parse::<Date>().map_err(|_| e.push(key, "must be a date, YYYY-MM-DD")).ok()
        };
        let out = match kind {
            Some(0) => {
                let orgs: Vec<(&str, &str)> =
                    scheme.organisations.iter().map(|o| (o.id.as_str(), o.id.as_str())).collect();
                let organisation =
                    r.required("organisation", &mut e).and_then(|v| one_of("organisation", v, &orgs, &mut e));
                let start = date(&mut r, "start_date", &mut e);
                organisation.zip(start).map(|(o, d)| Outcome::Placement { organisation: o.to_owned(), start_date: d })
            }
            Some(1) => {
                let months = r.integer("months", 1..=12, &mut e).and_then(|m| {
                    let m = m as u32;
                    if CHECKPOINT_MONTHS.contains(&m) {
                        Some(m)
                    } else {
                        e.push("months", "must be 3, 6 or 12");
                        None
                    }
                });
                let in_post = r.boolean("in_post", true, &mut e);
                months.zip(in_post).map(|(months, in_post)| Outcome::Checkpoint { months, in_post })
            }
            Some(_) => {
                let d = date(&mut r, "date", &mut e);
                let dests: Vec<(&str, &str)> = DESTINATIONS.iter().map(|d| (*d, *d)).collect();
                let destination =
                    r.required("destination", &mut e).and_then(|v| one_of("destination", v, &dests, &mut e));
                d.zip(destination).map(|(date, dest)| Outcome::Left { date, destination: dest.to_owned() })
            }
            None => None,
        };
        r.finish_unknown(&mut e);
        match out {
            Some(o) if e.is_empty() => Ok(o),
            _ => Err(e),
        }
    }
}

/// months → (known, of them in post)
pub type Checkpoints = std::collections::BTreeMap<u32, (u64, u64)>;

/// What is recorded about one placed trainee, for the retention figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trainee {
    pub start: Option<Date>,
    /// When they left, and where to.
    pub left: Option<(Date, String)>,
    /// months → in post
    pub checkpoints: std::collections::BTreeMap<u32, bool>,
}

/// Retention counts from the trainees' records: (placed, months → (known, in post),
/// destination → leavers). At each checkpoint a trainee counts as in post or not when the
/// checkpoint is recorded; without a record, one who left before that many months from their
/// start counts as not in post (they cannot be); anyone else is not yet known.
pub fn retention(trainees: &[Trainee]) -> (u64, Checkpoints, std::collections::BTreeMap<String, u64>) {
    let mut placed = 0;
    let mut checkpoints: std::collections::BTreeMap<u32, (u64, u64)> =
        CHECKPOINT_MONTHS.iter().map(|m| (*m, (0, 0))).collect();
    let mut destinations = std::collections::BTreeMap::new();
    for t in trainees {
        if let Some((_, d)) = &t.left {
            *destinations.entry(d.clone()).or_insert(0) += 1;
        }
        let Some(start) = t.start else { continue };
        placed += 1;
        for m in CHECKPOINT_MONTHS {
            let e = checkpoints.entry(m).or_default();
            match t.checkpoints.get(&m) {
                Some(true) => {
                    e.0 += 1;
                    e.1 += 1;
                }
                Some(false) => e.0 += 1,
                None => {
                    let due = start.checked_add(jiff::Span::new().months(i64::from(m))).ok();
                    if t.left.as_ref().zip(due).is_some_and(|((left, _), due)| *left < due) {
                        e.0 += 1;
                    }
                }
            }
        }
    }
    (placed, checkpoints, destinations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scheme() -> SchemeDefinition {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/schemes/london-imt-pilot.toml"))
                .unwrap();
        SchemeDefinition::parse_toml(&text).unwrap()
    }

    #[test]
    fn each_kind_parses_with_its_occasion() {
        let s = scheme();
        let p = Outcome::parse(&json!({"kind": "placement", "organisation": "slam", "start_date": "2027-09-06"}), &s)
            .unwrap();
        assert_eq!(p.occasion(), "placement");
        let c = Outcome::parse(&json!({"kind": "checkpoint", "months": 6, "in_post": true}), &s).unwrap();
        assert_eq!(c, Outcome::Checkpoint { months: 6, in_post: true });
        assert_eq!(c.occasion(), "checkpoint:6");
        let l =
            Outcome::parse(&json!({"kind": "left", "date": "2028-02-01", "destination": "outside_nhs"}), &s).unwrap();
        assert_eq!(l.occasion(), "left");
    }

    #[test]
    fn bad_outcomes_are_reported_field_by_field() {
        let s = scheme();
        let fields = |v: Value| Outcome::parse(&v, &s).unwrap_err().iter().map(|x| x.field.clone()).collect::<Vec<_>>();
        assert_eq!(
            fields(json!({"kind": "placement", "organisation": "acme", "start_date": "soon"})),
            ["organisation", "start_date"]
        );
        assert_eq!(fields(json!({"kind": "checkpoint", "months": 4})), ["months", "in_post"]);
        assert_eq!(
            fields(json!({"kind": "left", "date": "2028-02-01", "destination": "moon", "why": 1})),
            ["destination", "why"]
        );
        assert_eq!(fields(json!({"kind": "promotion"})), ["kind"]);
    }

    #[test]
    fn retention_counts_records_and_leavers_before_a_checkpoint() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let t = |start: &str, left: Option<&str>, cps: &[(u32, bool)]| Trainee {
            start: Some(d(start)),
            left: left.map(|l| (d(l), "outside_nhs".to_owned())),
            checkpoints: cps.iter().copied().collect(),
        };
        let trainees = [
            t("2027-09-06", None, &[(3, true), (6, true)]),
            t("2027-09-06", None, &[(3, true)]),
            // Left after 4 months: in post at 3 (recorded), not at 6 or 12 (not recorded).
            t("2027-09-06", Some("2028-01-10"), &[(3, true)]),
            // Left on the day the 3-month checkpoint falls: not before it, so not counted there.
            t("2027-09-06", Some("2027-12-06"), &[]),
        ];
        let (placed, cps, dest) = retention(&trainees);
        assert_eq!(placed, 4);
        assert_eq!(cps[&3], (3, 3));
        assert_eq!(cps[&6], (3, 1));
        assert_eq!(cps[&12], (2, 0));
        assert_eq!(dest["outside_nhs"], 2);
    }
}
