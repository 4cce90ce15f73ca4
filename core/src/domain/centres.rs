//! Assessment centres (SPEC §3): dated events at a venue (or virtual) with
//! sessions; each session has a seat capacity, times (Europe/London), the
//! exercises it runs with the competencies each assesses, its assessors (and the
//! organisations they work for) and the provisions it offers.

use std::collections::HashSet;

use jiff::civil::{Date, Time};
use serde::{Deserialize, Serialize};

use super::application::ADJUSTMENTS;
use super::validation::FieldErrors;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentCentre {
    pub id: String,
    pub name: String,
    /// A venue name and address, or "virtual".
    pub venue: String,
    pub date: Date,
    pub sessions: Vec<SessionDef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionDef {
    pub id: String,
    /// Local times in Europe/London.
    pub start: Time,
    pub end: Time,
    pub capacity: u32,
    /// The smallest group the session may run with (a group exercise needs a group): the
    /// scheduler gives it nobody rather than fewer. None: any number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_group: Option<u32>,
    pub exercises: Vec<Exercise>,
    #[serde(default)]
    pub assessors: Vec<Assessor>,
    /// What the session provides: step_free_access, quiet_room, extra_time, …
    #[serde(default)]
    pub provisions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    pub kind: ExerciseKind,
    pub competencies: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExerciseKind {
    Interview,
    GroupExercise,
    Presentation,
    CaseStudy,
}

impl ExerciseKind {
    pub const ALL: [(&'static str, ExerciseKind); 4] = [
        ("interview", ExerciseKind::Interview),
        ("group_exercise", ExerciseKind::GroupExercise),
        ("presentation", ExerciseKind::Presentation),
        ("case_study", ExerciseKind::CaseStudy),
    ];

    pub fn as_str(self) -> &'static str {
        Self::ALL.iter().find(|(_, k)| *k == self).map_or("", |(s, _)| s)
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(code, _)| *code == s).map(|(_, k)| *k)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assessor {
    pub id: String,
    pub name: String,
    pub organisation: String,
}

const KEY_RULE: &str = "must be 1-64 letters, digits, '-' or '_'";

/// Centre and session ids appear in session keys (`scheme:centre:session`) and URLs.
fn is_key(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The key that names one session across the service: `scheme:centre:session`.
pub fn session_key(scheme: &str, centre: &str, session: &str) -> String {
    format!("{scheme}:{centre}:{session}")
}

/// The (scheme, centre, session) a session key names.
pub fn parse_session_key(key: &str) -> Option<(&str, &str, &str)> {
    let mut parts = key.splitn(3, ':');
    let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
    (!a.is_empty() && is_key(b) && is_key(c)).then_some((a, b, c))
}

/// An assessor's identity across the service: `scheme:assessor`, the assessor's id within the
/// scheme's centres (ids are only unique within a scheme). Returns (scheme, assessor).
pub fn parse_assessor_key(key: &str) -> Option<(&str, &str)> {
    let (scheme, assessor) = key.split_once(':')?;
    (crate::domain::ids::SchemeId::parse(scheme).is_ok()
        && !assessor.is_empty()
        && assessor.len() <= 64
        && !assessor.contains(':')
        && !assessor.chars().any(char::is_control))
    .then_some((scheme, assessor))
}

impl AssessmentCentre {
    pub fn parse_json(value: serde_json::Value) -> Result<Self, FieldErrors> {
        let c: Self = serde_json::from_value(value).map_err(|e| {
            let mut f = FieldErrors::new();
            f.push("(body)", e.to_string());
            f
        })?;
        let mut e = FieldErrors::new();
        c.check("", &mut e);
        e.finish(|| c)
    }

    /// When a session starts: its local time on the centre's date, in `tz`.
    pub fn session_starts_at(&self, s: &SessionDef, tz: &jiff::tz::TimeZone) -> Result<jiff::Timestamp, jiff::Error> {
        Ok(self.date.to_datetime(s.start).to_zoned(tz.clone())?.timestamp())
    }

    pub fn session(&self, id: &str) -> Option<&SessionDef> {
        self.sessions.iter().find(|s| s.id == id)
    }

    pub fn seats(&self) -> u32 {
        self.sessions.iter().map(|s| s.capacity).sum()
    }

    /// Rules serde cannot express; `path` prefixes field names (e.g. `assessment_centres[0]`).
    pub fn check(&self, path: &str, e: &mut FieldErrors) {
        let p = |f: &str| if path.is_empty() { f.to_owned() } else { format!("{path}.{f}") };
        if self.name.trim().is_empty() || self.venue.trim().is_empty() {
            e.push(p("name"), "name and venue must not be empty");
        }
        if !is_key(&self.id) {
            e.push(p("id"), KEY_RULE);
        }
        if self.sessions.is_empty() {
            e.push(p("sessions"), "a centre needs at least one session");
        }
        let mut ids = HashSet::new();
        for (i, s) in self.sessions.iter().enumerate() {
            let sp = |f: &str| p(&format!("sessions[{i}].{f}"));
            if !is_key(&s.id) {
                e.push(sp("id"), KEY_RULE);
            } else if !ids.insert(s.id.as_str()) {
                e.push(sp("id"), "must be unique within the centre");
            }
            if s.end <= s.start {
                e.push(sp("end"), "must be after start");
            }
            if s.capacity == 0 {
                e.push(sp("capacity"), "must be at least 1");
            }
            match s.min_group {
                Some(0) => e.push(sp("min_group"), "must be at least 1"),
                Some(m) if m > s.capacity => e.push(sp("min_group"), "must not be more than capacity"),
                _ => {}
            }
            if s.exercises.is_empty() {
                e.push(sp("exercises"), "a session runs at least one exercise");
            }
            for (j, x) in s.exercises.iter().enumerate() {
                if x.competencies.is_empty() {
                    e.push(sp(&format!("exercises[{j}].competencies")), "an exercise assesses at least one competency");
                }
            }
            for (j, pr) in s.provisions.iter().enumerate() {
                if !ADJUSTMENTS.contains(&pr.as_str()) {
                    e.push(sp(&format!("provisions[{j}]")), format!("must be one of: {}", ADJUSTMENTS.join(", ")));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn centre() -> serde_json::Value {
        json!({
            "id": "ac1", "name": "Centre 1", "venue": "Skipton House, London", "date": "2027-03-01",
            "sessions": [{
                "id": "am", "start": "09:00", "end": "13:00", "capacity": 6,
                "exercises": [{"kind": "interview", "competencies": ["communication", "leadership"]}],
                "assessors": [{"id": "as1", "name": "Dr Rao", "organisation": "barts-health"}],
                "provisions": ["step_free_access"]
            }]
        })
    }

    #[test]
    fn a_centre_parses_and_counts_its_seats() {
        let c = AssessmentCentre::parse_json(centre()).unwrap();
        assert_eq!(c.seats(), 6);
        assert_eq!(c.sessions[0].start.hour(), 9);
    }

    #[test]
    fn bad_sessions_are_reported_field_by_field() {
        let mut v = centre();
        v["sessions"][0]["end"] = json!("08:00");
        v["sessions"][0]["capacity"] = json!(0);
        v["sessions"][0]["provisions"] = json!(["jacuzzi"]);
        let e = AssessmentCentre::parse_json(v).unwrap_err();
        let fields: Vec<_> = e.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["sessions[0].end", "sessions[0].capacity", "sessions[0].provisions[0]"]);
    }

    #[test]
    fn a_minimum_group_is_between_one_and_the_capacity() {
        let mut v = centre();
        v["sessions"][0]["min_group"] = json!(4);
        assert_eq!(AssessmentCentre::parse_json(v.clone()).unwrap().sessions[0].min_group, Some(4));
        assert_eq!(AssessmentCentre::parse_json(centre()).unwrap().sessions[0].min_group, None);
        for bad in [0, 7] {
            v["sessions"][0]["min_group"] = json!(bad);
            let e = AssessmentCentre::parse_json(v.clone()).unwrap_err();
            assert_eq!(e.iter().map(|x| x.field.as_str()).collect::<Vec<_>>(), ["sessions[0].min_group"], "{bad}");
        }
    }
}

/// Where a candidate's assessment-centre seat stands. Stored as text with a CHECK in both
/// migration sets (0013), so no other value can be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingState {
    /// Offered, not yet answered.
    Invited,
    Accepted,
    Declined,
    /// Withdrawn by the service (the candidate withdrew).
    Cancelled,
}

impl BookingState {
    pub const ALL: [BookingState; 4] =
        [BookingState::Invited, BookingState::Accepted, BookingState::Declined, BookingState::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            BookingState::Invited => "invited",
            BookingState::Accepted => "accepted",
            BookingState::Declined => "declined",
            BookingState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_str() == s)
    }

    /// The seat is held: offered or accepted.
    pub fn holds_seat(self) -> bool {
        matches!(self, BookingState::Invited | BookingState::Accepted)
    }
}

impl std::fmt::Display for BookingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
