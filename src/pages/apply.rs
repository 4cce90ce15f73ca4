//! Applying in a browser: a task list of sections, each a page that saves what was typed to
//! the browser's draft (so a closed tab or an error loses nothing) and shows the errors the
//! API's own validation finds in it; "check your answers"; then the API's own submit, with
//! the draft as the idempotency key, so a double click or a resent form makes one application.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use fasttrack_core::scheme::{Phase, SchemeDefinition};
use fasttrack_core::store::web as drafts;
use fasttrack_core::validation::FieldError;
use minijinja::context;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::form::{Errors, Posted};
use super::session::{CSRF_FIELD, Visitor};
use super::{PageError, labels, render};
use crate::http::AppState;
use crate::http::applications;
use crate::http::error::ApiError;

/// A part of the form: its page, its title, and the API fields (path roots) it holds.
pub struct Section {
    pub id: &'static str,
    pub title: &'static str,
    pub fields: &'static [&'static str],
    pub optional: bool,
}

pub const SECTIONS: &[Section] = &[
    Section { id: "details", title: "Your details", fields: &["name", "email", "phone"], optional: false },
    Section {
        id: "degree",
        title: "Your degree",
        fields: &["university", "degree_subject", "degree_class", "degree_status", "graduation_year"],
        optional: false,
    },
    Section { id: "right-to-work", title: "Right to work", fields: &["right_to_work_uk"], optional: false },
    Section {
        id: "streams",
        title: "Streams you want to join",
        fields: &["stream_preferences", "regions"],
        optional: false,
    },
    Section {
        id: "assessment",
        title: "Assessment centre dates and venues",
        fields: &["unavailable_dates", "preferred_dates", "preferred_venues"],
        optional: false,
    },
    Section {
        id: "adjustments",
        title: "Adjustments and Disability Confident",
        fields: &["adjustments", "adjustments_detail", "disability_confident"],
        optional: false,
    },
    Section { id: "employer", title: "Current employer", fields: &["current_employer"], optional: false },
    Section { id: "equality", title: "Equality monitoring", fields: &["equality"], optional: true },
];

fn section(id: &str) -> Option<&'static Section> {
    SECTIONS.iter().find(|s| s.id == id)
}

/// The section an API field path belongs to (`stream_preferences[1]` → streams).
fn section_of(path: &str) -> Option<&'static Section> {
    let root = path.split(['[', '.']).next().unwrap_or(path);
    SECTIONS.iter().find(|s| s.fields.contains(&root))
}

const TEXT_FIELDS: &[&str] = &[
    "name",
    "email",
    "phone",
    "university",
    "degree_subject",
    "graduation_year",
    "adjustments_detail",
    "current_employer",
];
const CHOICE_FIELDS: &[&str] = &["degree_class", "degree_status", "right_to_work_uk", "disability_confident"];

/// The page fields of a section (what its form posts).
fn page_fields(s: &Section, scheme: &SchemeDefinition) -> Vec<String> {
    let mut out = Vec::new();
    for f in s.fields {
        match *f {
            "stream_preferences" => out.extend((1..=scheme.streams.len()).map(|i| format!("stream_{i}"))),
            "regions" if scheme.regions.is_empty() => {}
            "preferred_venues" => out.extend((1..=3).map(|i| format!("venue_{i}"))),
            "unavailable_dates" | "preferred_dates" => {
                out.push((*f).to_owned());
                out.push(format!("{f}_text"));
            }
            "equality" => out.extend(labels::QUESTIONS.iter().map(|q| format!("equality.{}", q.key))),
            f => out.push(f.to_owned()),
        }
    }
    out
}

/// Keeps what the section's form posted, exactly as typed (an unticked box clears).
fn save(answers: &mut Map<String, Value>, s: &Section, posted: &Posted, scheme: &SchemeDefinition) {
    for f in page_fields(s, scheme) {
        if f == "adjustments" || f == "unavailable_dates" || f == "preferred_dates" || f == "regions" {
            answers.insert(f.clone(), json!(posted.all(&f)));
        } else {
            match posted.get(&f) {
                Some(v) => answers.insert(f, json!(v)),
                None => answers.remove(&f),
            };
        }
    }
    let mut saved: Vec<Value> = answers.get("_saved").and_then(Value::as_array).cloned().unwrap_or_default();
    if !saved.iter().any(|v| v == s.id) {
        saved.push(json!(s.id));
    }
    answers.insert("_saved".into(), Value::Array(saved));
}

fn saved(answers: &Map<String, Value>, section: &str) -> bool {
    answers.get("_saved").and_then(Value::as_array).is_some_and(|a| a.iter().any(|v| v == section))
}

fn text<'a>(a: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    a.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

fn list(a: &Map<String, Value>, key: &str) -> Vec<String> {
    a.get(key)
        .and_then(Value::as_array)
        .map(|v| v.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// "15/03/2027" or "2027-03-15" as the API's date; anything else as typed (the API says
/// what is wrong with it).
fn iso_date(s: &str) -> String {
    let parts: Vec<&str> = s.split(['/', '.', ' ']).filter(|p| !p.is_empty()).collect();
    if let [d, m, y] = parts[..]
        && let (Ok(d), Ok(m), Ok(y)) = (d.parse::<i8>(), m.parse::<i8>(), y.parse::<i16>())
        && let Ok(date) = jiff::civil::Date::new(y, m, d)
    {
        return date.to_string();
    }
    s.to_owned()
}

/// The API's apply body from a draft, and where each field path shows on the pages (its
/// section and HTML id).
pub fn to_body(a: &Map<String, Value>, scheme: &SchemeDefinition) -> (Value, impl Fn(&str) -> (String, String)) {
    let mut body = Map::new();
    for f in TEXT_FIELDS {
        if let Some(v) = text(a, f) {
            let v = if *f == "graduation_year" {
                v.parse::<i64>().map_or_else(|_| json!(v), |n| json!(n))
            } else {
                json!(v)
            };
            body.insert((*f).to_owned(), v);
        }
    }
    for f in CHOICE_FIELDS {
        match (text(a, f), *f) {
            (Some("yes"), "right_to_work_uk" | "disability_confident") => body.insert((*f).to_owned(), json!(true)),
            (Some("no"), "right_to_work_uk" | "disability_confident") => body.insert((*f).to_owned(), json!(false)),
            (Some(v), _) => body.insert((*f).to_owned(), json!(v)),
            (None, _) => None,
        };
    }
    let mut stream_ids = Vec::new();
    let streams: Vec<Value> = (1..=scheme.streams.len())
        .filter_map(|i| text(a, &format!("stream_{i}")).map(|v| (i, v)))
        .map(|(i, v)| {
            stream_ids.push(format!("stream_{i}"));
            json!(v)
        })
        .collect();
    body.insert("stream_preferences".into(), Value::Array(streams));
    let mut venue_ids = Vec::new();
    let venues: Vec<Value> = (1..=3)
        .filter_map(|i| text(a, &format!("venue_{i}")).map(|v| (i, v)))
        .map(|(i, v)| {
            venue_ids.push(format!("venue_{i}"));
            json!(v)
        })
        .collect();
    if !venues.is_empty() {
        body.insert("preferred_venues".into(), Value::Array(venues));
    }
    for f in ["unavailable_dates", "preferred_dates"] {
        let mut dates: Vec<String> = list(a, f);
        if let Some(t) = text(a, &format!("{f}_text")) {
            dates.extend(t.lines().map(str::trim).filter(|l| !l.is_empty()).map(iso_date));
        }
        if !dates.is_empty() {
            body.insert(f.into(), json!(dates));
        }
    }
    let adjustments = list(a, "adjustments");
    if !adjustments.is_empty() {
        body.insert("adjustments".into(), json!(adjustments));
    }
    if !scheme.regions.is_empty() {
        body.insert("regions".into(), json!(list(a, "regions")));
    }
    let equality: Map<String, Value> = labels::QUESTIONS
        .iter()
        .filter_map(|q| text(a, &format!("equality.{}", q.key)).map(|v| (q.key.to_owned(), json!(v))))
        .collect();
    if !equality.is_empty() {
        body.insert("equality".into(), Value::Object(equality));
    }
    let anchor = move |path: &str| -> (String, String) {
        let section = section_of(path).map_or("details", |s| s.id).to_owned();
        let index = path.split_once('[').and_then(|(_, r)| r.trim_end_matches(']').parse::<usize>().ok());
        let id = match (path.split('[').next().unwrap_or(path), index) {
            ("stream_preferences", Some(i)) => stream_ids.get(i).cloned().unwrap_or_else(|| "stream_1".into()),
            ("stream_preferences", None) => "stream_1".into(),
            ("preferred_venues", Some(i)) => venue_ids.get(i).cloned().unwrap_or_else(|| "venue_1".into()),
            ("preferred_venues", None) => "venue_1".into(),
            ("regions", _) => "regions".into(),
            (root, _) => root.replace('.', "-"),
        };
        (section, id)
    };
    (Value::Object(body), anchor)
}

#[derive(Serialize)]
struct Opt {
    value: String,
    text: String,
}

#[derive(Serialize)]
struct TaskRow {
    id: &'static str,
    title: &'static str,
    status: &'static str,
    optional: bool,
}

/// What every apply page shows of the scheme.
fn scheme_ctx(s: &SchemeDefinition) -> minijinja::Value {
    let mut dates: Vec<jiff::civil::Date> = s.assessment_centres.iter().map(|c| c.date).collect();
    dates.sort();
    dates.dedup();
    let mut venues: Vec<&str> = s.assessment_centres.iter().map(|c| c.venue.as_str()).collect();
    venues.sort_unstable();
    venues.dedup();
    context! {
        id => s.id.to_string(),
        name => s.name.clone(),
        streams => s.streams.iter().map(|st| Opt { value: st.id.to_string(), text: st.name.clone() }).collect::<Vec<_>>(),
        dates => dates.iter().map(|d| Opt { value: d.to_string(), text: d.strftime("%A %-d %B %Y").to_string() }).collect::<Vec<_>>(),
        venues => venues,
        regions => s.regions.iter().map(|r| Opt { value: r.id.to_string(), text: r.name.clone() }).collect::<Vec<_>>(),
        privacy_version => s.privacy_notice.version.clone(),
    }
}

async fn open_scheme(state: &AppState, scheme: &str) -> Result<SchemeDefinition, PageError> {
    let stored = state.schemes.get(&state.db, scheme).await?.ok_or(PageError::NotFound)?;
    Ok(stored.as_ref().clone())
}

fn not_open(v: &Visitor, state: &AppState, s: &SchemeDefinition) -> HttpResponse {
    let phase = match s.phase(state.clock.now()) {
        Phase::NotOpen => "not_open",
        Phase::Open => "open",
        Phase::Closed => "closed",
    };
    render(v, state, StatusCode::CONFLICT, "apply_closed.html", context! { scheme => scheme_ctx(s), phase })
}

async fn load_draft(state: &AppState, v: &Visitor, scheme: &str) -> Result<drafts::Draft, PageError> {
    let now = state.clock.now();
    Ok(drafts::draft(&state.db, &v.draft_key(scheme), now).await?.unwrap_or(drafts::Draft {
        scheme_id: scheme.to_owned(),
        answers: Map::new(),
        application_id: None,
    }))
}

/// What the API's validation says of a draft, field by field.
fn field_errors(a: &Map<String, Value>, scheme: &SchemeDefinition, this_year: i16) -> Vec<FieldError> {
    let (body, _) = to_body(a, scheme);
    match fasttrack_core::application::ApplicationForm::parse(&body, scheme, this_year) {
        Ok(_) => Vec::new(),
        Err(e) => e.into_vec(),
    }
}

fn in_section(e: &FieldError, section: &str) -> bool {
    section_of(&e.field).is_some_and(|x| x.id == section)
}

/// The API's errors for a draft, restricted to one section (None: all).
fn errors_in(
    a: &Map<String, Value>,
    scheme: &SchemeDefinition,
    this_year: i16,
    only: Option<&str>,
    href_page: bool,
) -> Errors {
    let (_, anchor) = to_body(a, scheme);
    let kept: Vec<FieldError> =
        field_errors(a, scheme, this_year).into_iter().filter(|e| only.is_none_or(|s| in_section(e, s))).collect();
    let base = format!("/schemes/{}/apply/", scheme.id);
    Errors::from_fields(&kept, |path| {
        let (section, id) = anchor(path);
        if href_page { format!("{base}{section}#{id}") } else { id }
    })
    .with_hrefs(href_page)
}

impl Errors {
    /// On the check page the summary links to the section pages (their ids are full links).
    fn with_hrefs(mut self, full: bool) -> Self {
        if full {
            for item in &mut self.summary {
                item.href = item.href.trim_start_matches('#').to_owned();
            }
        }
        self
    }
}

fn this_year(state: &AppState) -> i16 {
    state.clock.local(state.clock.now()).year()
}

/// `GET /schemes/{scheme}/apply`: the task list.
pub async fn tasks(state: web::Data<AppState>, v: Visitor, path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let scheme = open_scheme(&state, &path).await?;
    if scheme.phase(state.clock.now()) != Phase::Open {
        return Ok(not_open(&v, &state, &scheme));
    }
    let draft = load_draft(&state, &v, &scheme.id.to_string()).await?;
    if let Some(id) = draft.application_id {
        return Ok(v.redirect(&state, &format!("/applications/{id}")));
    }
    let all = field_errors(&draft.answers, &scheme, this_year(&state));
    let tasks: Vec<TaskRow> = SECTIONS
        .iter()
        .map(|s| {
            let has_errors = all.iter().any(|e| in_section(e, s.id));
            let status = match (saved(&draft.answers, s.id), has_errors) {
                (true, false) => "completed",
                (true, true) => "incomplete",
                (false, _) => "not_started",
            };
            TaskRow { id: s.id, title: s.title, status, optional: s.optional }
        })
        .collect();
    let done = tasks.iter().filter(|t| t.status == "completed").count();
    let ready = tasks.iter().all(|t| t.status == "completed" || t.optional);
    Ok(render(
        &v,
        &state,
        StatusCode::OK,
        "apply_tasks.html",
        context! { scheme => scheme_ctx(&scheme), tasks, done, ready },
    ))
}

#[derive(serde::Deserialize)]
pub struct ReturnTo {
    #[serde(rename = "return")]
    back: Option<String>,
}

/// A section's form as it stands: what was typed, what is wrong with it, where it returns to.
struct Filled<'a> {
    section: &'a Section,
    answers: &'a Map<String, Value>,
    errors: Errors,
    back_to_check: bool,
}

fn section_page(
    v: &Visitor,
    state: &AppState,
    status: StatusCode,
    scheme: &SchemeDefinition,
    f: Filled<'_>,
) -> HttpResponse {
    let Filled { section: s, answers, errors, back_to_check } = f;
    let template = format!("apply_{}.html", s.id.replace('-', "_"));
    render(
        v,
        state,
        status,
        &template,
        context! {
            scheme => scheme_ctx(scheme),
            section => context! { id => s.id, title => s.title },
            v => answers,
            errors,
            back_to_check,
            choices => (1..=scheme.streams.len()).collect::<Vec<_>>(),
            degree_classes => labels::DEGREE_CLASSES.iter().map(|(c, t)| Opt { value: (*c).into(), text: (*t).into() }).collect::<Vec<_>>(),
            adjustments => labels::ADJUSTMENTS.iter().map(|(c, t)| Opt { value: (*c).into(), text: (*t).into() }).collect::<Vec<_>>(),
            questions => labels::QUESTIONS.iter().map(|q| context! {
                key => q.key, title => q.title, hint => q.hint,
                options => q.options.iter().map(|(c, t)| Opt { value: (*c).into(), text: (*t).into() }).collect::<Vec<_>>(),
            }).collect::<Vec<_>>(),
        },
    )
}

/// `GET /schemes/{scheme}/apply/{section}`.
pub async fn section_form(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<(String, String)>,
    q: web::Query<ReturnTo>,
) -> Result<HttpResponse, PageError> {
    let (scheme_id, section_id) = path.into_inner();
    let scheme = open_scheme(&state, &scheme_id).await?;
    let s = section(&section_id).ok_or(PageError::NotFound)?;
    if scheme.phase(state.clock.now()) != Phase::Open {
        return Ok(not_open(&v, &state, &scheme));
    }
    let draft = load_draft(&state, &v, &scheme_id).await?;
    if let Some(id) = draft.application_id {
        return Ok(v.redirect(&state, &format!("/applications/{id}")));
    }
    let back = q.back.as_deref() == Some("check");
    let filled = Filled { section: s, answers: &draft.answers, errors: Errors::default(), back_to_check: back };
    Ok(section_page(&v, &state, StatusCode::OK, &scheme, filled))
}

/// `POST /schemes/{scheme}/apply/{section}`: saves what was typed, then shows the section's
/// errors or goes on.
pub async fn section_save(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (scheme_id, section_id) = path.into_inner();
    let scheme = open_scheme(&state, &scheme_id).await?;
    let s = section(&section_id).ok_or(PageError::NotFound)?;
    let posted = Posted::parse(&body);
    if !v.csrf_ok(posted.get(CSRF_FIELD)) {
        return Err(PageError::Csrf);
    }
    if scheme.phase(state.clock.now()) != Phase::Open {
        return Ok(not_open(&v, &state, &scheme));
    }
    let mut draft = load_draft(&state, &v, &scheme_id).await?;
    if let Some(id) = draft.application_id {
        return Ok(v.redirect(&state, &format!("/applications/{id}")));
    }
    save(&mut draft.answers, s, &posted, &scheme);
    let now = state.clock.now();
    drafts::save_draft(
        &state.db,
        &v.draft_key(&scheme_id),
        &scheme_id,
        &draft.answers,
        now,
        state.settings.pages.draft_ttl(),
    )
    .await?;
    let errors = errors_in(&draft.answers, &scheme, this_year(&state), Some(s.id), false);
    let back = posted.get("return") == Some("check");
    if !errors.is_empty() {
        let filled = Filled { section: s, answers: &draft.answers, errors, back_to_check: back };
        return Ok(section_page(&v, &state, StatusCode::UNPROCESSABLE_ENTITY, &scheme, filled));
    }
    let base = format!("/schemes/{scheme_id}/apply");
    let next = if back {
        format!("{base}/check")
    } else {
        match SECTIONS.iter().position(|x| x.id == s.id).and_then(|i| SECTIONS.get(i + 1)) {
            Some(n) => format!("{base}/{}", n.id),
            None => format!("{base}/check"),
        }
    };
    Ok(v.redirect(&state, &next))
}

fn answer_rows(a: &Map<String, Value>, scheme: &SchemeDefinition) -> Vec<minijinja::Value> {
    let words = |code: Option<&str>, table: &[(&str, &str)]| -> String {
        code.map(|c| table.iter().find(|(k, _)| *k == c).map_or(c.to_owned(), |(_, t)| (*t).to_owned()))
            .unwrap_or_default()
    };
    let yes_no = |k: &str| match text(a, k) {
        Some("yes") => "Yes".to_owned(),
        Some("no") => "No".to_owned(),
        _ => String::new(),
    };
    let date_words = |f: &str| -> Vec<String> {
        let mut d: Vec<String> = list(a, f);
        if let Some(t) = text(a, &format!("{f}_text")) {
            d.extend(t.lines().map(str::trim).filter(|l| !l.is_empty()).map(iso_date));
        }
        d.iter()
            .map(|s| s.parse::<jiff::civil::Date>().map_or(s.clone(), |x| x.strftime("%-d %B %Y").to_string()))
            .collect()
    };
    let one = |s: &str| vec![s.to_owned()];
    let streams: Vec<String> = (1..=scheme.streams.len())
        .filter_map(|i| text(a, &format!("stream_{i}")))
        .map(|id| scheme.stream(id).map_or(id.to_owned(), |s| s.name.clone()))
        .enumerate()
        .map(|(i, n)| format!("{}. {n}", i + 1))
        .collect();
    let venues: Vec<String> = (1..=3).filter_map(|i| text(a, &format!("venue_{i}"))).map(str::to_owned).collect();
    let adjustments: Vec<String> = list(a, "adjustments").iter().map(|c| words(Some(c), labels::ADJUSTMENTS)).collect();
    let mut rows: Vec<(&str, &str, Vec<String>)> = vec![
        ("details", "Full name", one(text(a, "name").unwrap_or(""))),
        ("details", "Email address", one(text(a, "email").unwrap_or(""))),
        ("details", "Phone number", one(text(a, "phone").unwrap_or("Not given"))),
        ("degree", "University", one(text(a, "university").unwrap_or(""))),
        ("degree", "Degree subject", one(text(a, "degree_subject").unwrap_or(""))),
        ("degree", "Degree class", one(&words(text(a, "degree_class"), labels::DEGREE_CLASSES))),
        (
            "degree",
            "Awarded or predicted",
            one(&words(text(a, "degree_status"), &[("awarded", "Awarded"), ("predicted", "Predicted")])),
        ),
        ("degree", "Year you graduate", one(text(a, "graduation_year").unwrap_or(""))),
        ("right-to-work", "Right to work in the UK", one(&yes_no("right_to_work_uk"))),
        (
            "streams",
            if scheme.regions.is_empty() { "Streams, best first" } else { "Role families, best first" },
            streams,
        ),
        (
            "streams",
            "Regions you can work in",
            list(a, "regions").iter().map(|r| scheme.region(r).map_or(r.clone(), |x| x.name.clone())).collect(),
        ),
        ("assessment", "Dates you cannot attend", date_words("unavailable_dates")),
        ("assessment", "Dates you would prefer", date_words("preferred_dates")),
        ("assessment", "Venues you would prefer, best first", venues),
        ("adjustments", "Adjustments", adjustments),
        ("adjustments", "More about your adjustments", one(text(a, "adjustments_detail").unwrap_or(""))),
        ("adjustments", "Disability Confident", one(&yes_no("disability_confident"))),
        ("employer", "Current employer", one(text(a, "current_employer").unwrap_or("None"))),
    ];
    if scheme.regions.is_empty() {
        rows.retain(|(_, key, _)| *key != "Regions you can work in");
    }
    let answered = labels::QUESTIONS.iter().filter(|q| text(a, &format!("equality.{}", q.key)).is_some()).count();
    let base = format!("/schemes/{}/apply", scheme.id);
    rows.into_iter()
        .map(|(section, key, value)| {
            let value: Vec<String> = value.into_iter().filter(|v| !v.is_empty()).collect();
            context! { key, value, href => format!("{base}/{section}?return=check"), section }
        })
        .chain(std::iter::once(context! {
            key => "Equality monitoring",
            value => vec![if answered == 0 { "Not answered".to_owned() } else { format!("{answered} of {} questions answered", labels::QUESTIONS.len()) }],
            href => format!("{base}/equality?return=check"),
            section => "equality",
        }))
        .collect()
}

fn check_page(
    v: &Visitor,
    state: &AppState,
    status: StatusCode,
    scheme: &SchemeDefinition,
    a: &Map<String, Value>,
    errors: Errors,
) -> HttpResponse {
    let rows = answer_rows(a, scheme);
    render(v, state, status, "apply_check.html", context! { scheme => scheme_ctx(scheme), rows, errors })
}

/// `GET /schemes/{scheme}/apply/check`.
pub async fn check(state: web::Data<AppState>, v: Visitor, path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let scheme = open_scheme(&state, &path).await?;
    if scheme.phase(state.clock.now()) != Phase::Open {
        return Ok(not_open(&v, &state, &scheme));
    }
    let draft = load_draft(&state, &v, &path).await?;
    if let Some(id) = draft.application_id {
        return Ok(v.redirect(&state, &format!("/applications/{id}")));
    }
    let errors = errors_in(&draft.answers, &scheme, this_year(&state), None, true);
    Ok(check_page(&v, &state, StatusCode::OK, &scheme, &draft.answers, errors))
}

/// `POST /schemes/{scheme}/apply/submit`: the API's own submit, keyed by the draft.
pub async fn submit(
    state: web::Data<AppState>,
    mut v: Visitor,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let scheme_id = path.into_inner();
    let scheme = open_scheme(&state, &scheme_id).await?;
    let posted = Posted::parse(&body);
    if !v.csrf_ok(posted.get(CSRF_FIELD)) {
        return Err(PageError::Csrf);
    }
    let key = v.draft_key(&scheme_id);
    let draft = load_draft(&state, &v, &scheme_id).await?;
    let id = match draft.application_id {
        // Sent again after it went in (a double click, a reload): the same application.
        Some(id) => id,
        None => {
            if draft.answers.is_empty() {
                return Ok(v.redirect(&state, &format!("/schemes/{scheme_id}/apply")));
            }
            let (mut body, _) = to_body(&draft.answers, &scheme);
            // The notice the check page showed: if the scheme has changed it since, the API
            // refuses and the applicant is asked to read it again.
            if let Some(seen) = posted.get("privacy_notice_version") {
                body["privacy_notice_version"] = Value::String(seen.to_owned());
            }
            match applications::submit(&state, &scheme_id, &body, Some(key.clone())).await {
                Ok(applied) => {
                    let id = applied.id().ok_or_else(|| ApiError::Internal(anyhow::anyhow!("apply answered no id")))?;
                    drafts::draft_submitted(&state.db, &key, id, state.clock.now()).await?;
                    id
                }
                Err(ApiError::Invalid(invalid)) => {
                    let mut errors = errors_in(&draft.answers, &scheme, this_year(&state), None, true);
                    if invalid.iter().any(|e| e.field == "privacy_notice_version") {
                        errors = Errors::general(
                            format!(
                                "The privacy notice has changed since you opened this page. Read version {} before you send your application",
                                scheme.privacy_notice.version
                            ),
                            &format!("/schemes/{scheme_id}#privacy"),
                        );
                    }
                    return Ok(check_page(
                        &v,
                        &state,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        &scheme,
                        &draft.answers,
                        errors,
                    ));
                }
                Err(ApiError::Conflict { detail, .. }) => {
                    let mut sentence = detail;
                    if let Some(f) = sentence.get_mut(0..1) {
                        f.make_ascii_uppercase();
                    }
                    let errors = Errors::general(sentence, &format!("/schemes/{scheme_id}/apply/details#email"));
                    return Ok(check_page(&v, &state, StatusCode::CONFLICT, &scheme, &draft.answers, errors));
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    let cookie = v.sign_in(&state, id).await?;
    super::account::with_cookie(v.redirect(&state, &format!("/applications/{id}/submitted")), &cookie)
}
