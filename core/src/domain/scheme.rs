//! A scheme is data, not code (SPEC §1): its definition is read from
//! `config/schemes/*.toml` or posted by a recruiter in the same shape as JSON.
//! `SchemeDefinition::parse_*` gives either a definition that is whole and
//! consistent, or every problem found.

use std::collections::HashSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::application::DegreeClass;
use super::centres::AssessmentCentre;
use super::ids::{SchemeId, StreamId};
use super::scoring::TestDefinition;
use super::validation::FieldErrors;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemeDefinition {
    pub id: SchemeId,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// When applications open and close (RFC 3339, e.g. "2027-01-31T23:59:00Z").
    pub opens_at: Timestamp,
    pub closes_at: Timestamp,
    /// Organisations that host trainees (trusts, STPs, ...).
    #[serde(default)]
    pub organisations: Vec<Organisation>,
    pub streams: Vec<Stream>,
    /// Assessors see candidates without names.
    #[serde(default)]
    pub name_blind: bool,
    /// Cells below this count are suppressed in HR outputs (0 turns it off).
    #[serde(default = "default_disclosure_threshold")]
    pub disclosure_threshold: u32,
    #[serde(default)]
    pub retention: Retention,
    /// Lowest degree class accepted ("first", "2:1", "2:2", "third", "pass"); masters and
    /// doctorates meet any bar. None: any degree.
    #[serde(default)]
    pub min_degree_class: Option<String>,
    /// The online tests every eligible applicant takes (none: straight to the sift).
    #[serde(default)]
    pub tests: Vec<TestDefinition>,
    /// Assessment centres known when the scheme is defined (more can be posted later).
    #[serde(default)]
    pub assessment_centres: Vec<AssessmentCentre>,
}

fn default_disclosure_threshold() -> u32 {
    5
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    pub id: StreamId,
    pub name: String,
    /// e.g. acute_trust, mental_health_trust, stp, community_trust, national_body.
    #[serde(default)]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stream {
    pub id: StreamId,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Places per host organisation; the stream's places are their sum.
    #[serde(default)]
    pub places: Vec<Places>,
    /// Assessment-centre seats for this stream: how many the sift shortlists.
    #[serde(default)]
    pub ac_seats: u32,
    /// How many the sift puts on the reserve list after the shortlist.
    #[serde(default)]
    pub reserve: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Places {
    pub organisation: StreamId,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Unsuccessful applicants' personal data is erased this many months after closing.
    pub unsuccessful_months: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self { unsuccessful_months: 12 }
    }
}

impl Stream {
    pub fn total_places(&self) -> u32 {
        self.places.iter().map(|p| p.count).sum()
    }
}

impl SchemeDefinition {
    pub fn parse_toml(text: &str) -> Result<Self, FieldErrors> {
        let def: Self = toml::from_str(text).map_err(|e| {
            let mut errors = FieldErrors::new();
            errors.push("(scheme)", e.message().to_owned());
            errors
        })?;
        def.checked()
    }

    pub fn parse_json(value: serde_json::Value) -> Result<Self, FieldErrors> {
        let def: Self = serde_json::from_value(value).map_err(|e| {
            let mut errors = FieldErrors::new();
            errors.push("(body)", e.to_string());
            errors
        })?;
        def.checked()
    }

    pub fn total_places(&self) -> u32 {
        self.streams.iter().map(Stream::total_places).sum()
    }

    pub fn stream(&self, id: &str) -> Option<&Stream> {
        self.streams.iter().find(|s| s.id.as_str() == id)
    }

    pub fn test(&self, id: &str) -> Option<&TestDefinition> {
        self.tests.iter().find(|t| t.id.as_str() == id)
    }

    /// Whether a degree meets the scheme's minimum class.
    pub fn accepts_degree(&self, class: DegreeClass) -> bool {
        let Some(min) = self.min_degree_class.as_deref().and_then(DegreeClass::from_code) else { return true };
        class.meets(min)
    }

    pub fn is_open_at(&self, now: Timestamp) -> bool {
        self.opens_at <= now && now < self.closes_at
    }

    /// Rules serde cannot express: unique ids, places at known organisations, dates in order.
    fn checked(self) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        if self.name.trim().is_empty() {
            errors.push("name", "must not be empty");
        }
        if self.closes_at <= self.opens_at {
            errors.push("closes_at", "must be after opens_at");
        }
        if self.streams.is_empty() {
            errors.push("streams", "a scheme needs at least one stream");
        }
        let mut orgs = HashSet::new();
        for (i, o) in self.organisations.iter().enumerate() {
            if !orgs.insert(o.id.as_str()) {
                errors.push(format!("organisations[{i}].id"), format!("{} appears twice", o.id));
            }
        }
        let mut streams = HashSet::new();
        for (i, s) in self.streams.iter().enumerate() {
            if !streams.insert(s.id.as_str()) {
                errors.push(format!("streams[{i}].id"), format!("{} appears twice", s.id));
            }
            if s.name.trim().is_empty() {
                errors.push(format!("streams[{i}].name"), "must not be empty");
            }
            let mut seen = HashSet::new();
            for (j, p) in s.places.iter().enumerate() {
                if !orgs.contains(p.organisation.as_str()) {
                    errors.push(
                        format!("streams[{i}].places[{j}].organisation"),
                        format!("{} is not one of the scheme's organisations", p.organisation),
                    );
                }
                if !seen.insert(p.organisation.as_str()) {
                    errors.push(
                        format!("streams[{i}].places[{j}].organisation"),
                        format!("{} appears twice in this stream", p.organisation),
                    );
                }
            }
        }
        if let Some(min) = &self.min_degree_class
            && DegreeClass::from_code(min).is_none()
        {
            errors.push("min_degree_class", "must be one of: first, 2:1, 2:2, third, pass, masters, doctorate");
        }
        let mut tests = HashSet::new();
        for (i, t) in self.tests.iter().enumerate() {
            if !tests.insert(t.id.as_str()) {
                errors.push(format!("tests[{i}].id"), format!("{} appears twice", t.id));
            }
            t.check(&format!("tests[{i}]"), &mut errors);
        }
        let mut centres = HashSet::new();
        for (i, c) in self.assessment_centres.iter().enumerate() {
            if !centres.insert(c.id.as_str()) {
                errors.push(format!("assessment_centres[{i}].id"), format!("{} appears twice", c.id));
            }
            c.check(&format!("assessment_centres[{i}]"), &mut errors);
        }
        errors.finish(|| self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        id = "demo"
        name = "Demo scheme"
        opens_at = "2026-01-01T00:00:00Z"
        closes_at = "2027-01-01T00:00:00Z"
        [[organisations]]
        id = "trust-a"
        name = "Trust A"
        [[streams]]
        id = "data"
        name = "Data"
        places = [{ organisation = "trust-a", count = 3 }]
    "#;

    #[test]
    fn parses_a_minimal_scheme_with_defaults() {
        let s = SchemeDefinition::parse_toml(MINIMAL).unwrap();
        assert_eq!(s.total_places(), 3);
        assert_eq!(s.disclosure_threshold, 5);
        assert_eq!(s.retention.unsuccessful_months, 12);
        assert!(s.is_open_at("2026-06-01T00:00:00Z".parse().unwrap()));
        assert!(!s.is_open_at("2027-01-01T00:00:00Z".parse().unwrap()));
    }

    #[test]
    fn reports_every_inconsistency() {
        let bad = MINIMAL
            .replace("closes_at = \"2027-01-01T00:00:00Z\"", "closes_at = \"2025-01-01T00:00:00Z\"")
            .replace("organisation = \"trust-a\"", "organisation = \"trust-b\"");
        let errors = SchemeDefinition::parse_toml(&bad).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["closes_at", "streams[0].places[0].organisation"]);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let errors = SchemeDefinition::parse_toml(&format!("{MINIMAL}\nplcaes = 3")).unwrap_err();
        assert!(errors.to_string().contains("plcaes"), "{errors}");
    }

    #[test]
    fn shipped_schemes_parse() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/schemes");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).unwrap();
                SchemeDefinition::parse_toml(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                n += 1;
            }
        }
        assert!(n >= 2, "expected the London pilot and GMTS scheme files");
    }
}
