//! A scheme for its recruiters: the dashboard (counts per stage and stream, what waits for a
//! person, the stage jobs with their progress), and the list of applicants (search,
//! filters, sort, keyset pages, CSV, bulk actions). The list is the API's list.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use fasttrack_core::Status;
use fasttrack_core::auth::Action;
use fasttrack_core::store::{applicants, jobs, notifications};
use minijinja::context;
use serde::Serialize;
use serde_json::Value;

use super::super::form::{Errors, Posted};
use super::super::session::Visitor;
use super::super::{PageError, labels, when};
use super::{api_json, csrf, form_errors, page, require};
use crate::http::AppState;
use crate::http::applicants::ListParams;
use crate::http::error::ApiError;

/// The stage jobs a recruiter starts from the dashboard: kind, button, what it does.
const JOBS: [(&str, &str, &str); 3] = [
    ("sift", "Run the sift", "Scores every completed application and shortlists by stream, after the closing date."),
    (
        "schedule",
        "Schedule assessment centres",
        "Offers seats to shortlisted candidates, by preference, within capacity and adjustments.",
    ),
    (
        "decisions",
        "Make decisions",
        "Offers places in assessment-centre score order to appointable candidates; reserve and rejections.",
    ),
];

#[derive(Serialize)]
struct StageRow {
    stage: &'static str,
    code: &'static str,
    counts: Vec<i64>,
    total: i64,
}

#[derive(Serialize)]
struct JobRow {
    kind: &'static str,
    button: &'static str,
    about: &'static str,
    last: Option<JobSummary>,
}

#[derive(Serialize)]
struct JobSummary {
    id: String,
    state: String,
    when: String,
}

#[derive(Serialize)]
struct Waiting {
    text: String,
    href: String,
}

/// `GET /staff/schemes/{scheme}`: the dashboard.
pub async fn dashboard(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    require(&v, &req, Action::ListApplications)?;
    dashboard_page(&state, &v, &path, StatusCode::OK, Errors::default()).await
}

async fn dashboard_page(
    state: &AppState,
    v: &Visitor,
    scheme: &str,
    status: StatusCode,
    errors: Errors,
) -> Result<HttpResponse, PageError> {
    let scheme = state.schemes.get(&state.db, scheme).await?.ok_or(PageError::NotFound)?;
    let counts = applicants::counts(&state.db, scheme.id.as_str()).await?;
    let streams: Vec<(String, String)> = scheme.streams.iter().map(|s| (s.id.to_string(), s.name.clone())).collect();
    let n = |stage: &str, stream: Option<&str>| -> i64 {
        counts
            .by_stage_stream
            .iter()
            .filter(|(st, sm, _)| st == stage && stream.is_none_or(|s| s == sm))
            .map(|(_, _, n)| n)
            .sum()
    };
    let stages: Vec<StageRow> = Status::ALL
        .iter()
        .map(|s| StageRow {
            stage: labels::stage(*s),
            code: s.as_str(),
            counts: streams.iter().map(|(id, _)| n(s.as_str(), Some(id))).collect(),
            total: n(s.as_str(), None),
        })
        .filter(|r| r.total > 0)
        .collect();
    let total: i64 = counts.by_stage_stream.iter().map(|(_, _, n)| n).sum();
    let sid = scheme.id.to_string();
    let list = |status: &str| format!("/staff/schemes/{sid}/applicants?status={status}");
    let mut waiting = Vec::new();
    for (stage, what) in [
        ("ac_booked", "booked at an assessment centre, waiting for their score sheets"),
        ("offered", "offered a place and not answered yet"),
        ("ac_invited", "offered an assessment-centre seat and not answered yet"),
    ] {
        let k = n(stage, None);
        if k > 0 {
            waiting.push(Waiting { text: format!("{k} {what}"), href: list(stage) });
        }
    }
    if counts.dead_emails > 0 {
        waiting.push(Waiting {
            text: format!("{} with an email that could not be delivered", counts.dead_emails),
            href: format!("/staff/schemes/{sid}/applicants?flag=dead_email"),
        });
    }
    let latest = jobs::latest_of_each_kind(&state.db, &sid).await?;
    let tz = state.clock.tz();
    let job_rows: Vec<JobRow> = JOBS
        .iter()
        .map(|(kind, button, about)| JobRow {
            kind,
            button,
            about,
            last: latest.iter().find(|j| j.kind == *kind).map(|j| JobSummary {
                id: j.id.clone(),
                state: job_state(&j.state).to_owned(),
                when: when(j.updated_at, tz),
            }),
        })
        .collect();
    let now = state.clock.now();
    let ctx = context! {
        id => sid,
        name => scheme.name.clone(),
        closes => when(scheme.closes_at, tz),
        closed => now >= scheme.closes_at,
        streams => streams.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>(),
        stages,
        total,
        waiting,
        jobs => job_rows,
        errors,
    };
    Ok(page(v, state, status, "staff_scheme.html", "/staff", ctx))
}

fn job_state(s: &str) -> &'static str {
    match s {
        "queued" => "Waiting to start",
        "running" => "Running",
        "done" => "Finished",
        _ => "Failed",
    }
}

/// `POST /staff/schemes/{scheme}/run/{kind}`: starts a stage job through its API route and
/// goes to the job's page; a refusal (too early, say) shows on the dashboard.
pub async fn run(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    csrf(&v, &Posted::parse(&body))?;
    let (scheme, kind) = path.into_inner();
    let auth = super::signed_in(&v, &req)?;
    let p = web::Path::from(scheme.clone());
    let res = match kind.as_str() {
        "sift" => crate::http::sift::run(state.clone(), auth, p).await,
        "schedule" => crate::http::centres::schedule(state.clone(), auth, p).await,
        "decisions" => crate::http::offers::run(state.clone(), auth, p).await,
        _ => return Err(PageError::NotFound),
    };
    match api_json(res).await {
        Ok(job) => {
            let id = job["id"].as_str().unwrap_or_default();
            Ok(v.redirect(&state, &format!("/staff/jobs/{id}")))
        }
        Err(ApiError::Forbidden) => Err(PageError::StaffForbidden),
        Err(e) => match form_errors(&e, |_| "main-form".into()) {
            Some(errors) => dashboard_page(&state, &v, &scheme, StatusCode::CONFLICT, errors).await,
            None => Err(e.into()),
        },
    }
}

#[derive(Serialize)]
struct ResultLine {
    label: String,
    value: String,
}

/// A job's result in words: its top-level figures.
fn result_lines(result: &Value) -> Vec<ResultLine> {
    let Some(o) = result.as_object() else { return Vec::new() };
    o.iter()
        .filter_map(|(k, v)| {
            let value = match v {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                Value::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
                Value::Array(a) => a.len().to_string(),
                _ => return None,
            };
            let mut label = k.replace('_', " ");
            if let Some(first) = label.get(..1) {
                label = first.to_uppercase() + &label[1..];
            }
            Some(ResultLine { label, value })
        })
        .collect()
}

/// `GET /staff/jobs/{job}`: a job's progress (a bar that moves while the page is open:
/// `progress.js` polls `?format=json`; without JavaScript, a link checks again) and its
/// result when done.
pub async fn job(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    require(&v, &req, Action::ReadJob)?;
    let j = jobs::get(&state.db, &path).await?.ok_or(PageError::NotFound)?;
    let done = j.state == "done" || j.state == "failed";
    let text = match (j.state.as_str(), j.total) {
        ("queued", _) => "Waiting to start".to_owned(),
        ("running", 0) => "Running".to_owned(),
        ("running", t) => format!("{} of {t} done", j.progress),
        ("done", _) => "Finished".to_owned(),
        _ => "Failed".to_owned(),
    };
    if q.get("format").map(String::as_str) == Some("json") {
        return Ok(HttpResponse::Ok()
            .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({"state": j.state, "progress": j.progress, "total": j.total, "text": text})));
    }
    let name = JOBS.iter().find(|(k, _, _)| *k == j.kind).map_or(j.kind.as_str(), |(_, b, _)| *b);
    let scheme = state.schemes.get(&state.db, &j.scheme_id).await?.map(|s| s.name.clone()).unwrap_or_default();
    let ctx = context! {
        id => j.id.clone(),
        name,
        scheme_id => j.scheme_id.clone(),
        scheme,
        state => j.state.clone(),
        text,
        done,
        progress => j.progress,
        total => j.total,
        lines => j.result.as_ref().map(result_lines).unwrap_or_default(),
        error => j.error.clone(),
        started => when(j.created_at, state.clock.tz()),
    };
    Ok(page(&v, &state, StatusCode::OK, "staff_job.html", "/staff", ctx))
}

/// The list page's query, as the API's: the page's search form uses the API's names.
#[derive(serde::Deserialize, Default, Clone, Serialize)]
pub struct ListForm {
    q: Option<String>,
    status: Option<String>,
    stream: Option<String>,
    flag: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
}

impl ListForm {
    fn params(&self) -> ListParams {
        let blank = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
        ListParams {
            q: blank(&self.q),
            status: blank(&self.status),
            stream: blank(&self.stream),
            flag: blank(&self.flag),
            sort: blank(&self.sort),
            cursor: blank(&self.cursor),
            limit: Some(50),
            ..ListParams::default()
        }
    }

    /// The query string of this search without its cursor (for the CSV and "first page").
    fn query_string(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("q", &self.q),
            ("status", &self.status),
            ("stream", &self.stream),
            ("flag", &self.flag),
            ("sort", &self.sort),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                s.append_pair(k, v);
            }
        }
        s.finish()
    }
}

#[derive(Serialize)]
struct Row {
    id: String,
    name: String,
    email: String,
    stage: &'static str,
    stream: String,
    submitted: String,
    composite: String,
    flags: Vec<&'static str>,
}

#[derive(Serialize)]
struct Opt {
    value: String,
    text: String,
    selected: bool,
}

/// `GET /staff/schemes/{scheme}/applicants`: the list.
pub async fn applicants(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Query<ListForm>,
) -> Result<HttpResponse, PageError> {
    list_page(&state, &v, &req, &path, &form, Errors::default(), None).await
}

async fn list_page(
    state: &web::Data<AppState>,
    v: &Visitor,
    req: &HttpRequest,
    scheme_id: &str,
    form: &ListForm,
    mut errors: Errors,
    notice: Option<String>,
) -> Result<HttpResponse, PageError> {
    let auth = require(v, req, Action::ListApplications)?;
    let scheme = state.schemes.get(&state.db, scheme_id).await?.ok_or(PageError::NotFound)?;
    let res = crate::http::applicants::list(
        state.clone(),
        auth,
        req.clone(),
        web::Path::from(scheme_id.to_owned()),
        web::Query(form.params()),
    )
    .await;
    let (items, next) = match api_json(res).await {
        Ok(page) => (page["items"].as_array().cloned().unwrap_or_default(), page["next"].as_str().map(str::to_owned)),
        Err(e) => match form_errors(&e, |f| if f == "q" { "q".into() } else { format!("filter-{f}") }) {
            Some(found) => {
                errors = found;
                (Vec::new(), None)
            }
            None => return Err(e.into()),
        },
    };
    let tz = state.clock.tz();
    let stream_name = |id: &str| {
        scheme.streams.iter().find(|s| s.id.as_str() == id).map_or_else(|| id.to_owned(), |s| s.name.clone())
    };
    let rows: Vec<Row> = items
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("").to_owned();
            let mut flags = Vec::new();
            if r["disability_confident"].as_bool() == Some(true) {
                flags.push("Disability Confident");
            }
            if r["adjustments"].as_bool() == Some(true) {
                flags.push("Adjustments");
            }
            if r["erased"].as_bool() == Some(true) {
                flags.push("Erased");
            }
            Row {
                id: s("id"),
                name: r["name"].as_str().map_or_else(
                    || if r["erased"].as_bool() == Some(true) { "Erased" } else { "Hidden (name-blind)" }.to_owned(),
                    str::to_owned,
                ),
                email: s("email"),
                stage: Status::parse(&s("status")).map_or("", labels::stage),
                stream: stream_name(&s("first_stream")),
                submitted: s("submitted_at")
                    .parse::<jiff::Timestamp>()
                    .map(|t| t.to_zoned(tz.clone()).strftime("%-d %b %Y %H:%M").to_string())
                    .unwrap_or_default(),
                composite: r["composite"].as_f64().map(|c| format!("{c:.2}")).unwrap_or_default(),
                flags,
            }
        })
        .collect();
    let chosen = |v: &Option<String>| v.clone().unwrap_or_default();
    let opts = |all: Vec<(String, String)>, current: String| -> Vec<Opt> {
        std::iter::once(Opt { value: String::new(), text: "Any".into(), selected: current.is_empty() })
            .chain(all.into_iter().map(|(value, text)| Opt { selected: value == current, value, text }))
            .collect()
    };
    let stage_opts = opts(
        Status::ALL.iter().map(|s| (s.as_str().to_owned(), labels::stage(*s).to_owned())).collect(),
        chosen(&form.status),
    );
    let stream_opts =
        opts(scheme.streams.iter().map(|s| (s.id.to_string(), s.name.clone())).collect(), chosen(&form.stream));
    let flag_opts = opts(
        vec![
            ("disability_confident".into(), "Disability Confident".into()),
            ("adjustments".into(), "Asked for adjustments".into()),
            ("dead_email".into(), "Email not delivered".into()),
        ],
        chosen(&form.flag),
    );
    let sort_opts: Vec<Opt> = [("submitted", "Newest first"), ("score", "Highest composite score")]
        .into_iter()
        .map(|(value, text)| Opt {
            value: value.into(),
            text: text.into(),
            selected: form.sort.as_deref().unwrap_or("submitted") == value,
        })
        .collect();
    let qs = form.query_string();
    let sid = scheme.id.to_string();
    let next_href = next.map(|c| {
        let mut s = form_urlencoded::Serializer::new(qs.clone());
        s.append_pair("cursor", &c);
        format!("/staff/schemes/{sid}/applicants?{}", s.finish())
    });
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let ctx = context! {
        id => sid.clone(),
        name => scheme.name.clone(),
        name_blind => scheme.name_blind,
        names_from => labels::stage(scheme.names_from),
        q => chosen(&form.q),
        stage_opts, stream_opts, flag_opts, sort_opts,
        rows,
        next_href,
        paged => form.cursor.is_some(),
        first_href => format!("/staff/schemes/{sid}/applicants?{qs}"),
        csv_href => format!("/staff/schemes/{sid}/applicants.csv?{qs}"),
        errors,
        notice,
    };
    Ok(page(v, state, status, "staff_applicants.html", "/staff", ctx))
}

/// `GET /staff/schemes/{scheme}/applicants.csv`: the filtered list as the API's CSV.
pub async fn applicants_csv(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Query<ListForm>,
) -> Result<HttpResponse, PageError> {
    let auth = require(&v, &req, Action::ListApplications)?;
    let params = ListParams { format: Some("csv".into()), cursor: None, limit: None, ..form.params() };
    Ok(crate::http::applicants::list(state, auth, req, path, web::Query(params)).await?)
}

/// `POST /staff/schemes/{scheme}/applicants`: a bulk action on the selected applicants:
/// `export` (their rows as CSV) or `resend` (every dead email of theirs, again).
pub async fn bulk(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = Posted::parse(&body);
    csrf(&v, &posted)?;
    let auth = require(&v, &req, Action::ListApplications)?;
    let ids = posted.all("id");
    let back = ListForm { q: posted.get("q").map(str::to_owned), ..ListForm::default() };
    if ids.is_empty() {
        let errors = Errors::general("Select at least one applicant", "#select-0");
        return list_page(&state, &v, &req, &path, &back, errors, None).await;
    }
    match posted.get("action") {
        Some("export") => {
            let params = ListParams { format: Some("csv".into()), ids: Some(ids.join(",")), ..ListParams::default() };
            Ok(crate::http::applicants::list(state, auth, req, path, web::Query(params)).await?)
        }
        Some("resend") => {
            let parsed: Vec<fasttrack_core::ApplicationId> = ids.iter().filter_map(|i| i.parse().ok()).collect();
            let dead = notifications::dead_of(&state.db, &parsed).await?;
            let mut queued = 0;
            for id in dead {
                let res =
                    crate::http::notifications::retry(state.clone(), auth_again(&v)?, web::Path::from(id.to_string()));
                if api_json(res.await).await.is_ok() {
                    queued += 1;
                }
            }
            let notice = match queued {
                0 => "None of the selected applicants has an undelivered email.".to_owned(),
                1 => "1 email will be sent again.".to_owned(),
                n => format!("{n} emails will be sent again."),
            };
            list_page(&state, &v, &req, &path, &back, Errors::default(), Some(notice)).await
        }
        _ => Err(PageError::NotFound),
    }
}

fn auth_again(v: &Visitor) -> Result<crate::http::auth::Auth, PageError> {
    v.staff_auth().ok_or(PageError::StaffForbidden)
}
