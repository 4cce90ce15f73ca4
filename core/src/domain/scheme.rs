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
    /// Assessors see candidates without names, and recruiters' lists show a name only once
    /// the application has reached `names_from`.
    #[serde(default)]
    pub name_blind: bool,
    /// The stage from which a name-blind scheme's recruiters see names (a status; default
    /// `assessed`, when offers are made on the assessment centre's result).
    #[serde(default = "default_names_from")]
    pub names_from: super::status::Status,
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
    /// The trainees' first day, shown on the scheme page and on offers.
    #[serde(default)]
    pub starts_on: Option<jiff::civil::Date>,
    /// The privacy notice applicants read; each application records the version seen.
    #[serde(default)]
    pub privacy_notice: PrivacyNotice,
    /// Where the scheme places trainees, for schemes that place into vacancies as they arrive
    /// (DDaT: the regions of England). Applicants then say which they can work in.
    #[serde(default)]
    pub regions: Vec<Region>,
    /// Candidates rated appointable join a talent pool for this long and are matched to
    /// vacancies posted through the year (SPEC §8). None: places are known at closing.
    #[serde(default)]
    pub talent_pool: Option<TalentPool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub id: StreamId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TalentPool {
    /// How long a candidate stays in the pool unless matched or withdrawn.
    pub months: u32,
    /// How many days before expiry the candidate is told.
    #[serde(default = "default_pool_reminder_days")]
    pub reminder_days: u32,
}

fn default_pool_reminder_days() -> u32 {
    30
}

fn default_names_from() -> super::status::Status {
    super::status::Status::Assessed
}

/// What the scheme tells applicants about their data (UK GDPR articles 13 and 14). A changed
/// notice gets a new version; an application records the version its applicant saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyNotice {
    pub version: String,
    /// Paragraphs of plain text, shown on the scheme page.
    pub text: String,
}

impl Default for PrivacyNotice {
    fn default() -> Self {
        Self { version: "2026-10".into(), text: DEFAULT_PRIVACY_NOTICE.trim().into() }
    }
}

/// The service's own notice, for schemes that do not write their own.
pub const DEFAULT_PRIVACY_NOTICE: &str = "
We use what you tell us to run this recruitment: to check you can apply, to score your tests, to offer you an assessment-centre seat that suits you, and to make offers. Our lawful basis is that this is needed to take steps towards a contract of employment at your request. The people who assess you see only what they need.

The equality monitoring questions are optional. Your answers are kept apart from your application, are never seen by recruiters or assessors, and are used only as counts of groups to check the process is fair (the NHS Workforce Race and Disability Equality Standards). Small counts are never published.

You can download everything we hold about you from your application page, and ask us to delete it at any time. We delete unsuccessful applicants' details a set time after the scheme closes, and withdrawn applicants' details a set time after they withdraw; if you are placed, your record is kept as part of your employment.
";

/// Where a scheme is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Not yet taking applications.
    NotOpen,
    Open,
    Closed,
}

/// What the online tests of a scheme accept at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestWindow {
    /// Before the closing date: tests can be started and answered.
    Open,
    /// After the closing date, within the longest time limit and grace: tests started before
    /// closing can be finished; none can be started.
    FinishingOnly,
    /// Nothing enters scoring any more.
    Closed,
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
    /// Withdrawn applicants' personal data is erased this many months after they withdrew.
    #[serde(default = "default_withdrawn_months")]
    pub withdrawn_months: u32,
}

fn default_withdrawn_months() -> u32 {
    6
}

impl Default for Retention {
    fn default() -> Self {
        Self { unsuccessful_months: 12, withdrawn_months: default_withdrawn_months() }
    }
}

impl SchemeDefinition {
    pub fn region(&self, id: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.id.as_str() == id)
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

    pub fn phase(&self, now: Timestamp) -> Phase {
        if now < self.opens_at {
            Phase::NotOpen
        } else if now < self.closes_at {
            Phase::Open
        } else {
            Phase::Closed
        }
    }

    /// Whether `new` may replace this definition at `now`, and if not, every reason (field,
    /// why). Before opening anything may change. Once open, what applicants have already met
    /// stays: the opening date, the minimum degree class (screening is done), the streams they
    /// ranked and the tests they take (keys and norms may change with a new version, then
    /// `fasttrack rescore`); the closing date may move but not into the past (to close now,
    /// close the scheme). Once closed, the closing date and the seats the sift used stay too.
    pub fn change_problems(&self, new: &SchemeDefinition, now: Timestamp) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut refuse = |field: &str, why: String| out.push((field.to_owned(), why));
        if new.id != self.id {
            refuse("id", "cannot change; it is the scheme's address".into());
        }
        let phase = self.phase(now);
        if phase == Phase::NotOpen {
            return out;
        }
        let when = if phase == Phase::Open { "once the scheme is open" } else { "once the scheme has closed" };
        if new.opens_at != self.opens_at {
            refuse("opens_at", format!("cannot change {when}"));
        }
        if new.min_degree_class != self.min_degree_class {
            refuse("min_degree_class", format!("cannot change {when}: applicants were screened against it"));
        }
        for (i, s) in self.streams.iter().enumerate() {
            if !new.streams.iter().any(|n| n.id == s.id) {
                refuse(&format!("streams[{i}]"), format!("{} cannot be removed {when}: applicants ranked it", s.id));
            }
        }
        let shape = |d: &SchemeDefinition| -> Vec<(String, Option<u32>, Vec<String>)> {
            d.tests
                .iter()
                .map(|t| (t.id.to_string(), t.time_limit_minutes, t.items.iter().map(|i| i.id().to_owned()).collect()))
                .collect()
        };
        if shape(new) != shape(self) {
            refuse("tests", format!("their ids, items and time limits cannot change {when} (keys and norms can)"));
        }
        match phase {
            Phase::Open if new.closes_at != self.closes_at && new.closes_at <= now => {
                refuse("closes_at", "must not be in the past; to close the scheme now, close it".into());
            }
            Phase::Closed if new.closes_at != self.closes_at => {
                refuse("closes_at", "cannot change once the scheme has closed: the sift is one batch".into());
            }
            Phase::Closed => {
                for (i, s) in self.streams.iter().enumerate() {
                    if let Some(n) = new.streams.iter().find(|n| n.id == s.id)
                        && (n.ac_seats, n.reserve) != (s.ac_seats, s.reserve)
                    {
                        refuse(&format!("streams[{i}].ac_seats"), format!("cannot change {when}: the sift uses them"));
                    }
                }
                if new.streams.len() != self.streams.len() {
                    refuse("streams", format!("cannot be added {when}"));
                }
            }
            _ => {}
        }
        out
    }

    /// This definition with a JSON merge patch (RFC 7396) applied: objects merge key by key,
    /// `null` removes a key, anything else (arrays included) replaces. The result is checked
    /// as a whole, as a new definition would be.
    pub fn patched(&self, patch: &serde_json::Value) -> Result<Self, FieldErrors> {
        fn merge(target: &mut serde_json::Value, patch: &serde_json::Value) {
            match (target, patch) {
                (serde_json::Value::Object(t), serde_json::Value::Object(p)) => {
                    for (k, v) in p {
                        if v.is_null() {
                            t.remove(k);
                        } else {
                            merge(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                        }
                    }
                }
                (t, p) => *t = p.clone(),
            }
        }
        if !patch.is_object() {
            let mut e = FieldErrors::new();
            e.push("(body)", "must be a JSON object of the fields to change");
            return Err(e);
        }
        let mut value = serde_json::to_value(self).map_err(|e| {
            let mut errors = FieldErrors::new();
            errors.push("(body)", e.to_string());
            errors
        })?;
        merge(&mut value, patch);
        Self::parse_json(value)
    }

    /// A centre is held after applications close: one dated before the closing day has no
    /// shortlist to assess.
    pub fn centre_date_problem(&self, c: &AssessmentCentre) -> Option<String> {
        let closing_day = self.closes_at.to_zoned(jiff::tz::TimeZone::UTC).date();
        (c.date < closing_day).then(|| format!("must not be before the closing date ({closing_day})"))
    }

    pub fn is_open_at(&self, now: Timestamp) -> bool {
        self.opens_at <= now && now < self.closes_at
    }

    /// When the last answer can still enter scoring: the closing date, plus the longest
    /// timed test's limit (a test started just before closing may be finished) and the
    /// grace for network delay. The sift waits for it, so it stays one batch.
    pub fn scoring_closes_at(&self, grace: jiff::SignedDuration) -> Timestamp {
        let longest = self.tests.iter().filter_map(|t| t.time_limit_minutes).max().unwrap_or(0);
        self.closes_at
            .saturating_add(jiff::SignedDuration::from_mins(i64::from(longest)))
            .and_then(|t| t.saturating_add(grace))
            .unwrap_or(self.closes_at)
    }

    /// What the online tests accept at `now` (SPEC §3: late submissions are not scored; the
    /// sift after closing is one batch).
    pub fn test_window(&self, now: Timestamp, grace: jiff::SignedDuration) -> TestWindow {
        if now < self.closes_at {
            TestWindow::Open
        } else if now <= self.scoring_closes_at(grace) {
            TestWindow::FinishingOnly
        } else {
            TestWindow::Closed
        }
    }

    /// Whether an answer sent at `now` to a test started with `deadline` (None: untimed) is
    /// late: after its own time limit and grace, or, untimed, after the closing date and grace.
    pub fn answer_is_late(&self, now: Timestamp, deadline: Option<Timestamp>, grace: jiff::SignedDuration) -> bool {
        let limit = deadline.unwrap_or(self.closes_at);
        limit.saturating_add(grace).is_ok_and(|l| now > l)
    }

    /// Rules serde cannot express: unique ids, places at known organisations, dates in order.
    fn checked(self) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        if self.name.trim().is_empty() {
            errors.push("name", "must not be empty");
        } else if self.name.chars().any(char::is_control) || super::validation::has_invisible(&self.name) {
            errors.push("name", "must be one line of visible text (no line breaks, control or formatting characters)");
        }
        for (i, c) in self.assessment_centres.iter().enumerate() {
            if let Some(why) = self.centre_date_problem(c) {
                errors.push(format!("assessment_centres[{i}].date"), why);
            }
        }
        if self.closes_at <= self.opens_at {
            errors.push("closes_at", "must be after opens_at");
        }
        let version = &self.privacy_notice.version;
        if version.trim().is_empty()
            || version.len() > 40
            || version.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            errors.push("privacy_notice.version", "must be a short label without spaces, such as 2026-10");
        }
        if self.privacy_notice.text.trim().is_empty() {
            errors.push("privacy_notice.text", "must not be empty");
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
        let mut regions = HashSet::new();
        for (i, r) in self.regions.iter().enumerate() {
            if !regions.insert(r.id.as_str()) {
                errors.push(format!("regions[{i}].id"), format!("{} appears twice", r.id));
            }
            if r.name.trim().is_empty() {
                errors.push(format!("regions[{i}].name"), "must not be empty");
            }
        }
        if let Some(pool) = &self.talent_pool {
            if !(1..=36).contains(&pool.months) {
                errors.push("talent_pool.months", "must be from 1 to 36");
            }
            if pool.reminder_days >= pool.months * 28 {
                errors.push("talent_pool.reminder_days", "must be shorter than the time in the pool");
            }
            if self.regions.is_empty() {
                errors.push("regions", "a scheme with a talent pool places by region: name at least one");
            }
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
    fn tests_can_be_finished_after_closing_only_within_the_longest_limit_and_grace() {
        let mut def = SchemeDefinition::parse_toml(MINIMAL).unwrap();
        let timed: TestDefinition = serde_json::from_value(serde_json::json!({
            "id": "n", "name": "Numerical", "weight": 1.0, "cut_t": 40.0, "key_version": 1,
            "time_limit_minutes": 20, "norm": {"mean": 1.0, "sd": 1.0, "version": "v"},
            "items": [{"kind": "multiple_choice", "id": "q", "stem": "?", "options": ["a", "b"], "key": 0}]
        }))
        .unwrap();
        def.tests.push(timed);
        let grace = jiff::SignedDuration::from_secs(30);
        let at = |s: &str| -> Timestamp { s.parse().unwrap() };
        assert_eq!(def.test_window(at("2026-12-31T23:59:59Z"), grace), TestWindow::Open);
        assert_eq!(def.test_window(at("2027-01-01T00:00:00Z"), grace), TestWindow::FinishingOnly);
        assert_eq!(def.test_window(at("2027-01-01T00:20:30Z"), grace), TestWindow::FinishingOnly);
        assert_eq!(def.test_window(at("2027-01-01T00:20:31Z"), grace), TestWindow::Closed);
        assert_eq!(def.scoring_closes_at(grace), at("2027-01-01T00:20:30Z"));
        // A timed answer is late after its own deadline; an untimed one after closing.
        let deadline = Some(at("2027-01-01T00:10:00Z"));
        assert!(!def.answer_is_late(at("2027-01-01T00:10:30Z"), deadline, grace));
        assert!(def.answer_is_late(at("2027-01-01T00:10:31Z"), deadline, grace));
        assert!(!def.answer_is_late(at("2027-01-01T00:00:30Z"), None, grace));
        assert!(def.answer_is_late(at("2027-01-01T00:00:31Z"), None, grace));
    }

    #[test]
    fn what_may_change_depends_on_where_the_scheme_is() {
        let def = SchemeDefinition::parse_toml(MINIMAL).unwrap();
        let at = |s: &str| -> Timestamp { s.parse().unwrap() };
        let fields = |new: &SchemeDefinition, now: &str| -> Vec<String> {
            def.change_problems(new, at(now)).into_iter().map(|(f, _)| f).collect()
        };
        let mut later = def.clone();
        later.opens_at = at("2026-02-01T00:00:00Z");
        later.min_degree_class = Some("2:1".into());
        assert!(fields(&later, "2025-12-01T00:00:00Z").is_empty(), "anything before opening");
        assert_eq!(fields(&later, "2026-06-01T00:00:00Z"), ["opens_at", "min_degree_class"]);

        let mut renamed = def.clone();
        renamed.name = "Demo scheme 2027".into();
        renamed.closes_at = at("2027-02-01T00:00:00Z");
        assert!(fields(&renamed, "2026-06-01T00:00:00Z").is_empty(), "open: the name and closing date may move");
        assert_eq!(fields(&renamed, "2027-01-15T00:00:00Z"), ["closes_at"], "closed: the closing date stays");

        let mut early = def.clone();
        early.closes_at = at("2026-05-01T00:00:00Z");
        assert_eq!(fields(&early, "2026-06-01T00:00:00Z"), ["closes_at"], "not into the past");

        let mut no_streams = def.clone();
        no_streams.streams[0].id = StreamId::parse("other").unwrap();
        assert_eq!(fields(&no_streams, "2026-06-01T00:00:00Z"), ["streams[0]"]);
        let mut seats = def.clone();
        seats.streams[0].ac_seats = 40;
        assert!(fields(&seats, "2026-06-01T00:00:00Z").is_empty());
        assert_eq!(fields(&seats, "2027-01-02T00:00:00Z"), ["streams[0].ac_seats"]);
    }

    #[test]
    fn a_merge_patch_changes_only_what_it_names_and_is_checked_whole() {
        let def = SchemeDefinition::parse_toml(MINIMAL).unwrap();
        let p = def.patched(&serde_json::json!({"name": "Renamed", "disclosure_threshold": 10})).unwrap();
        assert_eq!((p.name.as_str(), p.disclosure_threshold, &p.streams), ("Renamed", 10, &def.streams));
        let e = def.patched(&serde_json::json!({"closes_at": "2025-01-01T00:00:00Z"})).unwrap_err();
        assert_eq!(e.iter().map(|x| x.field.as_str()).collect::<Vec<_>>(), ["closes_at"]);
        assert!(def.patched(&serde_json::json!(["name"])).is_err());
    }

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
