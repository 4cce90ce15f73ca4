//! An application form as the applicant submits it, parsed whole: either an
//! `ApplicationForm` that is valid for its scheme, or every bad field.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::email::Email;
use super::equality::EqualityAnswers;
use super::ids::StreamId;
use super::scheme::SchemeDefinition;
use super::validation::{FieldErrors, ObjectReader, one_of};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DegreeClass {
    First,
    UpperSecond,
    LowerSecond,
    Third,
    Pass,
    Masters,
    Doctorate,
}

impl DegreeClass {
    /// The codes applicants send; "2:1" and "2:2" are what people write.
    pub const CODES: &[(&str, DegreeClass)] = &[
        ("first", DegreeClass::First),
        ("2:1", DegreeClass::UpperSecond),
        ("2:2", DegreeClass::LowerSecond),
        ("third", DegreeClass::Third),
        ("pass", DegreeClass::Pass),
        ("masters", DegreeClass::Masters),
        ("doctorate", DegreeClass::Doctorate),
    ];

    pub fn from_code(code: &str) -> Option<DegreeClass> {
        Self::CODES.iter().find(|(c, _)| *c == code).map(|(_, d)| *d)
    }

    /// Whether this degree meets a minimum class. Postgraduate degrees meet any bar.
    pub fn meets(self, min: DegreeClass) -> bool {
        fn level(d: DegreeClass) -> u8 {
            match d {
                DegreeClass::Doctorate | DegreeClass::Masters => 9,
                DegreeClass::First => 5,
                DegreeClass::UpperSecond => 4,
                DegreeClass::LowerSecond => 3,
                DegreeClass::Third => 2,
                DegreeClass::Pass => 1,
            }
        }
        level(self) >= level(min).min(5)
    }

    pub fn code(self) -> &'static str {
        Self::CODES.iter().find(|(_, d)| *d == self).map(|(c, _)| *c).unwrap_or("first")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DegreeStatus {
    Predicted,
    Awarded,
}

/// Reasonable adjustments an assessment-centre session can provide.
pub const ADJUSTMENTS: &[&str] =
    &["step_free_access", "quiet_room", "extra_time", "screen_reader", "sign_language_interpreter", "other"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Degree {
    pub class: DegreeClass,
    pub status: DegreeStatus,
    pub subject: String,
    pub university: String,
    pub graduation_year: i32,
}

/// What the applicant told us, minus equality monitoring (kept in `equality`,
/// stored apart and never shown to recruiters).
#[derive(Debug, Clone, PartialEq)]
pub struct ApplicationForm {
    pub name: String,
    pub email: Email,
    pub phone: Option<String>,
    pub degree: Degree,
    pub right_to_work_uk: bool,
    pub stream_preferences: Vec<StreamId>,
    pub unavailable_dates: Vec<Date>,
    pub adjustments: Vec<String>,
    pub adjustments_detail: Option<String>,
    /// The organisation the applicant works for now (its id in the scheme, or a name): no
    /// assessor from it may assess them.
    pub current_employer: Option<String>,
    /// Assessment-centre venues in order of preference (matched against a centre's id, name or
    /// venue, ignoring case), at most three.
    pub preferred_venues: Vec<String>,
    /// Assessment-centre dates the applicant would rather attend.
    pub preferred_dates: Vec<Date>,
    pub disability_confident: bool,
    /// `None`: the block was not sent at all ("not asked"/"not answered").
    pub equality: Option<EqualityAnswers>,
    /// The version of the scheme's privacy notice the applicant was shown (None: the client
    /// did not say; the pages always do).
    pub privacy_notice_version: Option<String>,
    /// The regions the applicant can work in (schemes that place by region).
    pub regions: Vec<String>,
}

/// The personal details stored with the application (JSON in `applications.details`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicantDetails {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub degree: Degree,
    pub right_to_work_uk: bool,
    pub stream_preferences: Vec<String>,
    pub unavailable_dates: Vec<Date>,
    pub adjustments: Vec<String>,
    pub adjustments_detail: Option<String>,
    #[serde(default)]
    pub current_employer: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preferred_venues: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preferred_dates: Vec<Date>,
    pub disability_confident: bool,
    /// The regions the applicant can work in (schemes that place by region).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
}

/// Points a centre scores against an applicant's preferences, for the scheduler's second aim
/// (most placed first, then the greatest total): the first-choice venue 3, the second 2, the
/// third 1, plus 2 for a preferred date.
pub fn centre_preference(details: &ApplicantDetails, centre_id: &str, name: &str, venue: &str, date: Date) -> u32 {
    let matches = |p: &String| [centre_id, name, venue].iter().any(|x| x.trim().eq_ignore_ascii_case(p.trim()));
    let venue_points = details.preferred_venues.iter().position(matches).map_or(0, |i| 3u32.saturating_sub(i as u32));
    venue_points + if details.preferred_dates.contains(&date) { 2 } else { 0 }
}

/// Whether a preferred venue names one of the scheme's centres (by id, name or venue). A
/// scheme that lists no centres yet accepts any: its centres are added later.
fn known_venue(scheme: &SchemeDefinition, v: &str) -> bool {
    scheme.assessment_centres.is_empty()
        || scheme.assessment_centres.iter().any(|c| {
            [c.id.as_str(), c.name.as_str(), c.venue.as_str()].iter().any(|x| x.trim().eq_ignore_ascii_case(v))
        })
}

impl ApplicationForm {
    /// `this_year` bounds the graduation year (we take recent and upcoming graduates).
    pub fn parse(body: &Value, scheme: &SchemeDefinition, this_year: i16) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let Some(mut r) = ObjectReader::new("", body, &mut e) else {
            return Err(e);
        };

        let name = r.text("name", 200, true, &mut e);
        let email =
            r.text("email", 254, true, &mut e).and_then(|s| Email::parse(&s).map_err(|m| e.push("email", m)).ok());
        if body.get("phone").and_then(Value::as_str).is_some_and(|p| p.trim().is_empty()) {
            e.push("phone", "must not be empty: leave it out if you would rather not give one");
        }
        let phone = r.text("phone", 32, false, &mut e).and_then(|p| {
            let ok = p.chars().all(|c| c.is_ascii_digit() || " +()-".contains(c))
                && p.chars().filter(char::is_ascii_digit).count() >= 7;
            if ok {
                Some(p)
            } else {
                e.push("phone", "must be a phone number: digits, spaces, +, ( ) and -");
                None
            }
        });
        let university = r.text("university", 200, true, &mut e);
        let subject = r.text("degree_subject", 200, true, &mut e);
        let class =
            r.required("degree_class", &mut e).and_then(|v| one_of("degree_class", v, DegreeClass::CODES, &mut e));
        let status = r.required("degree_status", &mut e).and_then(|v| {
            one_of(
                "degree_status",
                v,
                &[("predicted", DegreeStatus::Predicted), ("awarded", DegreeStatus::Awarded)],
                &mut e,
            )
        });
        // Recent and upcoming graduates: within 30 years, or expected within two.
        let year = r.integer("graduation_year", i64::from(this_year) - 30..=i64::from(this_year) + 2, &mut e);
        let right_to_work_uk = r.boolean("right_to_work_uk", true, &mut e);

        let mut stream_preferences: Vec<StreamId> = Vec::new();
        let prefs = r.array("stream_preferences", scheme.streams.len().max(1), &mut e);
        if prefs.is_empty() && !e.iter().any(|x| x.field == "stream_preferences") {
            e.push("stream_preferences", "rank at least one stream");
        }
        for (path, v) in prefs {
            match v.as_str().and_then(|s| scheme.stream(s)) {
                None => {
                    let ids: Vec<&str> = scheme.streams.iter().map(|s| s.id.as_str()).collect();
                    e.push(path, format!("must be one of this scheme's streams: {}", ids.join(", ")));
                }
                Some(s) if stream_preferences.contains(&s.id) => e.push(path, "is ranked twice"),
                Some(s) => stream_preferences.push(s.id.clone()),
            }
        }

        let mut regions: Vec<String> = Vec::new();
        if scheme.regions.is_empty() {
            if r.optional("regions").is_some_and(|v| v.as_array().is_none_or(|a| !a.is_empty())) {
                e.push("regions", "this scheme does not place by region: leave it out");
            }
        } else {
            let chosen = r.array("regions", 64, &mut e);
            if chosen.is_empty() && !e.iter().any(|x| x.field == "regions") {
                e.push("regions", "choose at least one region you can work in");
            }
            for (path, v) in chosen {
                match v.as_str().and_then(|s| scheme.region(s)) {
                    None => {
                        let ids: Vec<&str> = scheme.regions.iter().map(|r| r.id.as_str()).collect();
                        e.push(path, format!("must be one of this scheme's regions: {}", ids.join(", ")));
                    }
                    Some(reg) if regions.iter().any(|x| x == reg.id.as_str()) => e.push(path, "is chosen twice"),
                    Some(reg) => regions.push(reg.id.as_str().to_owned()),
                }
            }
        }

        let mut unavailable_dates = Vec::new();
        for (path, v) in r.array("unavailable_dates", 366, &mut e) {
            match v.as_str().and_then(|s| s.parse::<Date>().ok()) {
                Some(d) if !unavailable_dates.contains(&d) => unavailable_dates.push(d),
                Some(_) => {}
                None => e.push(path, "must be a date like 2027-03-15"),
            }
        }
        unavailable_dates.sort();

        let mut adjustments = Vec::new();
        for (path, v) in r.array("adjustments", ADJUSTMENTS.len(), &mut e) {
            match v.as_str().filter(|s| ADJUSTMENTS.contains(s)) {
                Some(a) if !adjustments.iter().any(|x| x == a) => adjustments.push(a.to_owned()),
                Some(_) => {}
                None => e.push(path, format!("must be one of: {}", ADJUSTMENTS.join(", "))),
            }
        }
        let adjustments_detail = r.text("adjustments_detail", 2000, false, &mut e);
        let current_employer = r.text("current_employer", 200, false, &mut e);
        let mut preferred_venues: Vec<String> = Vec::new();
        for (path, v) in r.array("preferred_venues", 3, &mut e) {
            match v.as_str().map(str::trim).filter(|s| !s.is_empty() && s.len() <= 200) {
                Some(s) if preferred_venues.iter().any(|x| x.eq_ignore_ascii_case(s)) => {
                    e.push(path, "is listed twice")
                }
                Some(s) if !known_venue(scheme, s) => {
                    let known: Vec<&str> = scheme.assessment_centres.iter().map(|c| c.venue.as_str()).collect();
                    e.push(path, format!("names none of this scheme's centres: choose from {}", known.join(", ")))
                }
                Some(s) => preferred_venues.push(s.to_owned()),
                None => e.push(path, "must be a venue, centre id or centre name (1-200 characters)"),
            }
        }
        let mut preferred_dates = Vec::new();
        for (path, v) in r.array("preferred_dates", 31, &mut e) {
            match v.as_str().and_then(|s| s.parse::<Date>().ok()) {
                Some(d) if unavailable_dates.contains(&d) => e.push(path, "is also listed as unavailable"),
                Some(d) if !preferred_dates.contains(&d) => preferred_dates.push(d),
                Some(_) => {}
                None => e.push(path, "must be a date like 2027-03-15"),
            }
        }
        let disability_confident = r.boolean("disability_confident", false, &mut e).unwrap_or(false);
        let equality = r.optional("equality").and_then(|v| EqualityAnswers::parse("equality", v, &mut e));
        let current = &scheme.privacy_notice.version;
        let privacy_notice_version = r.text("privacy_notice_version", 40, false, &mut e).and_then(|v| {
            if v == *current {
                Some(v)
            } else {
                e.push(
                    "privacy_notice_version",
                    format!("is not this scheme's privacy notice: read version {current}"),
                );
                None
            }
        });
        r.finish_unknown(&mut e);

        let (
            Some(name),
            Some(email),
            Some(university),
            Some(subject),
            Some(class),
            Some(status),
            Some(year),
            Some(rtw),
        ) = (name, email, university, subject, class, status, year, right_to_work_uk)
        else {
            return Err(e);
        };
        e.finish(|| ApplicationForm {
            name,
            email,
            phone,
            degree: Degree { class, status, subject, university, graduation_year: year as i32 },
            right_to_work_uk: rtw,
            stream_preferences,
            unavailable_dates,
            adjustments,
            adjustments_detail,
            current_employer,
            preferred_venues,
            preferred_dates,
            disability_confident,
            equality,
            privacy_notice_version,
            regions,
        })
    }

    /// Whether the applicant may go on to the tests; `Err` says why not, in words they can be told.
    pub fn eligibility(&self, scheme: &SchemeDefinition) -> Result<(), String> {
        if !self.right_to_work_uk {
            return Err("the scheme needs the right to work in the UK".into());
        }
        if !scheme.accepts_degree(self.degree.class) {
            let min = scheme.min_degree_class.as_deref().unwrap_or("any");
            return Err(format!("the scheme needs a {min} degree or above (predicted or awarded)"));
        }
        Ok(())
    }

    pub fn details(&self) -> ApplicantDetails {
        ApplicantDetails {
            name: self.name.clone(),
            email: self.email.as_str().to_owned(),
            phone: self.phone.clone(),
            degree: self.degree.clone(),
            right_to_work_uk: self.right_to_work_uk,
            stream_preferences: self.stream_preferences.iter().map(|s| s.as_str().to_owned()).collect(),
            unavailable_dates: self.unavailable_dates.clone(),
            adjustments: self.adjustments.clone(),
            adjustments_detail: self.adjustments_detail.clone(),
            current_employer: self.current_employer.clone(),
            preferred_venues: self.preferred_venues.clone(),
            preferred_dates: self.preferred_dates.clone(),
            disability_confident: self.disability_confident,
            regions: self.regions.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scheme() -> SchemeDefinition {
        SchemeDefinition::parse_toml(
            r#"
            id = "demo"
            name = "Demo"
            opens_at = "2026-01-01T00:00:00Z"
            closes_at = "2027-01-01T00:00:00Z"
            [[streams]]
            id = "data"
            name = "Data"
            [[streams]]
            id = "cyber"
            name = "Cyber"
            "#,
        )
        .unwrap()
    }

    fn valid() -> Value {
        json!({
            "name": "Ada Lovelace",
            "email": "ada@example.ac.uk",
            "university": "UCL",
            "degree_subject": "Mathematics",
            "degree_class": "2:1",
            "degree_status": "predicted",
            "graduation_year": 2026,
            "right_to_work_uk": true,
            "stream_preferences": ["cyber", "data"],
            "unavailable_dates": ["2027-03-02", "2027-03-01"],
            "adjustments": ["step_free_access"],
            "equality": {"sex": "female", "ethnicity": "prefer_not_to_say"}
        })
    }

    #[test]
    fn a_valid_form_parses_with_sorted_dates_and_ranked_streams() {
        let f = ApplicationForm::parse(&valid(), &scheme(), 2026).unwrap();
        assert_eq!(f.degree.class, DegreeClass::UpperSecond);
        assert_eq!(f.stream_preferences[0].as_str(), "cyber");
        assert_eq!(f.unavailable_dates[0].to_string(), "2027-03-01");
        assert_eq!(f.equality.unwrap().get("sex"), Some("female"));
        assert!(!f.disability_confident);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let mut body = valid();
        body["email"] = json!("not-an-email");
        body["degree_class"] = json!("2:3");
        body["graduation_year"] = json!(1800);
        body["stream_preferences"] = json!(["cyber", "cyber"]);
        body["unavailable_dates"] = json!(["tomorrow"]);
        body["equality"] = json!({"sex": "robot"});
        body["favourite_colour"] = json!("blue");
        let errors = ApplicationForm::parse(&body, &scheme(), 2026).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "email",
                "degree_class",
                "graduation_year",
                "stream_preferences[1]",
                "unavailable_dates[0]",
                "equality.sex",
                "favourite_colour"
            ]
        );
    }

    #[test]
    fn only_the_schemes_streams_can_be_ranked() {
        let mut body = valid();
        body["stream_preferences"] = json!(["nope"]);
        let errors = ApplicationForm::parse(&body, &scheme(), 2026).unwrap_err();
        assert_eq!(errors.iter().next().unwrap().field, "stream_preferences[0]");
        body["stream_preferences"] = json!(["data", "cyber", "data"]);
        let errors = ApplicationForm::parse(&body, &scheme(), 2026).unwrap_err();
        assert_eq!(errors.iter().next().unwrap().message, "must have at most 2 entries");
    }

    #[test]
    fn missing_required_fields_are_listed() {
        let errors = ApplicationForm::parse(&json!({}), &scheme(), 2026).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "name",
            "email",
            "university",
            "degree_subject",
            "degree_class",
            "degree_status",
            "graduation_year",
            "right_to_work_uk",
            "stream_preferences",
        ] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn eligibility_needs_right_to_work_and_the_minimum_degree() {
        let mut s = scheme();
        s.min_degree_class = Some("2:1".into());
        let mut f = ApplicationForm::parse(&valid(), &s, 2026).unwrap();
        assert!(f.eligibility(&s).is_ok());
        f.degree.class = DegreeClass::LowerSecond;
        assert!(f.eligibility(&s).unwrap_err().contains("2:1"));
        f.degree.class = DegreeClass::Masters;
        assert!(f.eligibility(&s).is_ok());
        f.right_to_work_uk = false;
        assert!(f.eligibility(&s).is_err());
        assert!(DegreeClass::First.meets(DegreeClass::UpperSecond));
        assert!(!DegreeClass::Third.meets(DegreeClass::LowerSecond));
    }

    #[test]
    fn a_body_that_is_not_an_object_is_one_error() {
        let errors = ApplicationForm::parse(&json!([1]), &scheme(), 2026).unwrap_err();
        assert_eq!(errors.iter().count(), 1);
    }

    #[test]
    fn centre_preferences_score_venue_rank_and_date() {
        let mut v = valid();
        v["preferred_venues"] = json!(["Leeds", "ac-2"]);
        v["preferred_dates"] = json!(["2027-03-03"]);
        let d = ApplicationForm::parse(&v, &scheme(), 2026).unwrap().details();
        let day = |s: &str| s.parse::<Date>().unwrap();
        assert_eq!(centre_preference(&d, "ac-1", "Centre 1", "leeds", day("2027-03-01")), 3);
        assert_eq!(centre_preference(&d, "ac-2", "Centre 2", "London", day("2027-03-03")), 4);
        assert_eq!(centre_preference(&d, "ac-3", "Centre 3", "Bristol", day("2027-03-04")), 0);

        v["preferred_venues"] = json!(["a", "A", "", "b"]);
        v["preferred_dates"] = json!([v["unavailable_dates"][0].clone(), "soon"]);
        let e = ApplicationForm::parse(&v, &scheme(), 2026).unwrap_err();
        let fields: Vec<_> = e.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["preferred_venues", "preferred_dates[0]", "preferred_dates[1]"]);
    }

    fn by_region() -> SchemeDefinition {
        SchemeDefinition::parse_toml(
            r#"
            id = "ddat-demo"
            name = "Demo"
            opens_at = "2026-01-01T00:00:00Z"
            closes_at = "2027-01-01T00:00:00Z"
            [talent_pool]
            months = 12
            [[regions]]
            id = "london"
            name = "London"
            [[regions]]
            id = "north-west"
            name = "North West"
            [[streams]]
            id = "data"
            name = "Data"
            "#,
        )
        .unwrap()
    }

    #[test]
    fn a_scheme_that_places_by_region_asks_which_regions_and_checks_each() {
        let s = by_region();
        let mut body = valid();
        body["stream_preferences"] = json!(["data"]);
        let fields = |b: &Value| -> Vec<(String, String)> {
            ApplicationForm::parse(b, &s, 2026)
                .unwrap_err()
                .iter()
                .map(|e| (e.field.clone(), e.message.clone()))
                .collect()
        };
        assert_eq!(fields(&body), [("regions".to_owned(), "choose at least one region you can work in".to_owned())]);
        body["regions"] = json!(["london", "mars", "london"]);
        let f = fields(&body);
        assert_eq!(f[0].0, "regions[1]");
        assert!(f[0].1.starts_with("must be one of this scheme's regions: london, north-west"), "{f:?}");
        assert_eq!(f[1], ("regions[2]".to_owned(), "is chosen twice".to_owned()));
        body["regions"] = json!(["north-west", "london"]);
        let form = ApplicationForm::parse(&body, &s, 2026).unwrap();
        assert_eq!(form.details().regions, ["north-west", "london"]);
        // A scheme with places known at closing has no regions to choose.
        let mut other = valid();
        other["regions"] = json!(["london"]);
        let e = ApplicationForm::parse(&other, &scheme(), 2026).unwrap_err();
        assert_eq!(e.iter().next().unwrap().field, "regions");
    }

    #[test]
    fn a_talent_pool_needs_regions_and_a_sensible_length() {
        let bad = SchemeDefinition::parse_toml(
            r#"
            id = "x"
            name = "X"
            opens_at = "2026-01-01T00:00:00Z"
            closes_at = "2027-01-01T00:00:00Z"
            [talent_pool]
            months = 40
            [[streams]]
            id = "data"
            name = "Data"
            "#,
        )
        .unwrap_err();
        let fields: Vec<&str> = bad.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["talent_pool.months", "regions"]);
    }
}
