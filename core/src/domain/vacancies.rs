//! Vacancies of a scheme that places into posts as they arrive (SPEC §8, DDaT): who offers
//! the posts, in which role family and region, how many, when they start and until when
//! they are matched. Checked here, once, for the API and the pages.

use jiff::civil::Date;
use serde_json::Value;

use super::scheme::SchemeDefinition;
use super::validation::{FieldErrors, ObjectReader};

pub const MAX_POSTS: i64 = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVacancy {
    pub organisation: String,
    pub role_family: String,
    pub region: String,
    pub posts: u32,
    pub start_date: Date,
    pub closes_on: Date,
}

/// What a recruiter may change: the number of posts, the dates, or withdraw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VacancyChange {
    pub posts: Option<u32>,
    pub start_date: Option<Date>,
    pub closes_on: Option<Date>,
    pub withdraw: bool,
}

fn date(r: &mut ObjectReader<'_>, key: &'static str, required: bool, e: &mut FieldErrors) -> Option<Date> {
    let raw = r.text(key, 10, required, e)?;
    match raw.parse::<Date>() {
        Ok(d) => Some(d),
        Err(_) => {
            e.push(key, "must be a date like 2027-09-06");
            None
        }
    }
}

impl NewVacancy {
    /// `{"organisation", "role_family", "region", "posts", "start_date", "closes_on"}`.
    pub fn parse(value: &Value, scheme: &SchemeDefinition, today: Date) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let Some(mut r) = ObjectReader::new("", value, &mut e) else { return Err(e) };
        let organisation = r.text("organisation", 200, true, &mut e);
        let family = r.text("role_family", 64, true, &mut e);
        let region = r.text("region", 64, true, &mut e);
        let posts = r.integer("posts", 1..=MAX_POSTS, &mut e);
        let start_date = date(&mut r, "start_date", true, &mut e);
        let closes_on = date(&mut r, "closes_on", true, &mut e);
        r.finish_unknown(&mut e);
        if let Some(f) = &family
            && scheme.stream(f).is_none()
        {
            let ids: Vec<&str> = scheme.streams.iter().map(|s| s.id.as_str()).collect();
            e.push("role_family", format!("must be one of this scheme's role families: {}", ids.join(", ")));
        }
        if let Some(g) = &region
            && scheme.region(g).is_none()
        {
            let ids: Vec<&str> = scheme.regions.iter().map(|r| r.id.as_str()).collect();
            e.push("region", format!("must be one of this scheme's regions: {}", ids.join(", ")));
        }
        check_dates(start_date, closes_on, today, &mut e);
        let (Some(organisation), Some(role_family), Some(region), Some(posts), Some(start_date), Some(closes_on)) =
            (organisation, family, region, posts, start_date, closes_on)
        else {
            return Err(e);
        };
        e.finish(|| NewVacancy { organisation, role_family, region, posts: posts as u32, start_date, closes_on })
    }
}

fn check_dates(start: Option<Date>, closes: Option<Date>, today: Date, e: &mut FieldErrors) {
    if let Some(c) = closes
        && c < today
    {
        e.push("closes_on", "must not be in the past");
    }
    if let (Some(s), Some(c)) = (start, closes)
        && c > s
    {
        e.push("closes_on", "must be on or before the start date");
    }
}

impl VacancyChange {
    /// `{"posts"?, "start_date"?, "closes_on"?, "state"?: "withdrawn"}`; `current` is the
    /// vacancy's (start, closes) so a change to one date is checked against the other.
    pub fn parse(value: &Value, current: (Date, Date), today: Date) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let Some(mut r) = ObjectReader::new("", value, &mut e) else { return Err(e) };
        let posts = r.optional("posts").map(|_| ()).and_then(|_| r.integer("posts", 1..=MAX_POSTS, &mut e));
        let start_date =
            if r.optional("start_date").is_some() { date(&mut r, "start_date", true, &mut e) } else { None };
        let closes_on = if r.optional("closes_on").is_some() { date(&mut r, "closes_on", true, &mut e) } else { None };
        let state = r.text("state", 20, false, &mut e);
        r.finish_unknown(&mut e);
        let withdraw = match state.as_deref() {
            None => false,
            Some("withdrawn") => true,
            Some(_) => {
                e.push("state", "can only be set to withdrawn");
                false
            }
        };
        if start_date.is_some() || closes_on.is_some() {
            check_dates(Some(start_date.unwrap_or(current.0)), Some(closes_on.unwrap_or(current.1)), today, &mut e);
        }
        if posts.is_none() && start_date.is_none() && closes_on.is_none() && !withdraw && e.is_empty() {
            e.push("(body)", "say what changes: posts, start_date, closes_on or state");
        }
        e.finish(|| VacancyChange { posts: posts.map(|p| p as u32), start_date, closes_on, withdraw })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scheme() -> SchemeDefinition {
        SchemeDefinition::parse_toml(include_str!("../../../config/schemes/ddat.toml")).unwrap()
    }

    fn today() -> Date {
        "2027-04-01".parse().unwrap()
    }

    fn fields(r: Result<impl std::fmt::Debug, FieldErrors>) -> Vec<String> {
        r.unwrap_err().iter().map(|f| f.field.clone()).collect()
    }

    #[test]
    fn a_vacancy_names_a_family_and_region_of_the_scheme_and_dates_in_order() {
        let ok = json!({"organisation": "Leeds Teaching Hospitals NHS Trust", "role_family": "data-analyst",
            "region": "north-east-yorkshire", "posts": 3, "start_date": "2027-09-06", "closes_on": "2027-06-30"});
        let v = NewVacancy::parse(&ok, &scheme(), today()).unwrap();
        assert_eq!((v.posts, v.region.as_str()), (3, "north-east-yorkshire"));
        let bad = json!({"organisation": "", "role_family": "astronaut", "region": "wales", "posts": 0,
            "start_date": "2027-06-01", "closes_on": "2027-07-01", "salary": 1});
        assert_eq!(
            fields(NewVacancy::parse(&bad, &scheme(), today())),
            ["organisation", "posts", "salary", "role_family", "region", "closes_on"]
        );
        let past = json!({"organisation": "X", "role_family": "data-analyst", "region": "london", "posts": 1,
            "start_date": "2027-09-06", "closes_on": "2027-03-01"});
        assert_eq!(fields(NewVacancy::parse(&past, &scheme(), today())), ["closes_on"]);
    }

    #[test]
    fn a_change_says_what_changes_and_keeps_the_dates_in_order() {
        let current: (Date, Date) = ("2027-09-06".parse().unwrap(), "2027-06-30".parse().unwrap());
        let c = VacancyChange::parse(&json!({"posts": 5}), current, today()).unwrap();
        assert_eq!(c.posts, Some(5));
        assert!(VacancyChange::parse(&json!({"state": "withdrawn"}), current, today()).unwrap().withdraw);
        assert_eq!(fields(VacancyChange::parse(&json!({}), current, today())), ["(body)"]);
        assert_eq!(fields(VacancyChange::parse(&json!({"state": "open"}), current, today())), ["state"]);
        assert_eq!(fields(VacancyChange::parse(&json!({"closes_on": "2027-10-01"}), current, today())), ["closes_on"]);
    }
}
