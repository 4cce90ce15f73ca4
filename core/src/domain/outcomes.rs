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
}
