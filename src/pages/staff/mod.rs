//! The staff pages (SPEC §2, §7): recruiters, assessors, HR and admins sign in with an
//! emailed one-time link and work through the same functions as the API. Every page asks
//! the role matrix (`Caller::may`, through `Auth::require`) exactly as its API route does;
//! a page that shows or changes what an API route does calls that route's handler, so the
//! rule, the validation and the audit record are written once.

pub mod admin;
pub mod applicant;
pub mod centres;
pub mod reports;
pub mod scheme;
pub mod sign_in;
pub mod surveys;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use fasttrack_core::Role;
use fasttrack_core::auth::Action;
use minijinja::context;
use serde::Serialize;
use serde_json::Value;

use super::session::Visitor;
use super::{PageError, render};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::ApiError;

/// The staff page routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/staff", web::get().to(home))
        .route("/staff/sign-in", web::get().to(sign_in::form))
        .route("/staff/sign-in", web::post().to(sign_in::send))
        .route("/staff/sign-in/{token}", web::get().to(sign_in::link))
        .route("/staff/sign-in/{token}", web::post().to(sign_in::redeem))
        .route("/staff/sign-out", web::post().to(sign_in::sign_out))
        .route("/staff/schemes/{scheme}", web::get().to(scheme::dashboard))
        .route("/staff/schemes/{scheme}/run/{kind}", web::post().to(scheme::run))
        .route("/staff/jobs/{job}", web::get().to(scheme::job))
        .route("/staff/schemes/{scheme}/applicants", web::get().to(scheme::applicants))
        .route("/staff/schemes/{scheme}/applicants.csv", web::get().to(scheme::applicants_csv))
        .route("/staff/schemes/{scheme}/applicants", web::post().to(scheme::bulk))
        .route("/staff/applications/{id}", web::get().to(applicant::show))
        .route("/staff/applications/{id}/{action}", web::post().to(applicant::act))
        .route("/staff/schemes/{scheme}/centres", web::get().to(centres::list))
        .route("/staff/schemes/{scheme}/centres", web::post().to(centres::add))
        .route("/staff/schemes/{scheme}/centres/sessions", web::post().to(centres::add_session))
        .route("/staff/sessions", web::get().to(centres::sessions))
        .route("/staff/sessions/{session}", web::get().to(centres::session))
        .route("/staff/sessions/{session}/sheets/{id}", web::get().to(centres::sheet))
        .route("/staff/sessions/{session}/sheets/{id}", web::post().to(centres::save_sheet))
        .route("/staff/schemes/{scheme}/report", web::get().to(reports::home))
        .route("/staff/schemes/{scheme}/report/funnel", web::get().to(reports::funnel_page))
        .route("/staff/schemes/{scheme}/report/equality", web::get().to(reports::equality_page))
        .route("/staff/schemes/{scheme}/report/print", web::get().to(reports::print))
        .route("/staff/schemes/{scheme}/report/csv/{what}", web::get().to(reports::csv))
        .route("/staff/surveys", web::get().to(surveys::list))
        .route("/staff/surveys", web::post().to(surveys::create))
        .route("/staff/surveys/{survey}", web::get().to(surveys::show))
        .route("/staff/surveys/{survey}/tables.csv", web::get().to(surveys::csv))
        .route("/staff/admin/staff", web::get().to(admin::staff))
        .route("/staff/admin/staff", web::post().to(admin::create_staff))
        .route("/staff/admin/staff/{id}/disable", web::post().to(admin::disable_staff))
        .route("/staff/admin/tokens", web::get().to(admin::tokens))
        .route("/staff/admin/tokens", web::post().to(admin::create_token))
        .route("/staff/admin/tokens/{id}/revoke", web::post().to(admin::revoke_token))
        .route("/staff/admin/emails", web::get().to(admin::emails))
        .route("/staff/admin/emails/{id}/retry", web::post().to(admin::retry_email));
}

#[derive(Serialize)]
struct MenuItem {
    href: &'static str,
    text: &'static str,
    current: bool,
}

/// The header of a staff page: who is signed in, and the menu their role opens.
#[derive(Serialize)]
struct StaffNav {
    name: String,
    role_text: &'static str,
    menu: Vec<MenuItem>,
}

/// A role in words, as staff read it.
pub(crate) fn role_text(r: Role) -> &'static str {
    match r {
        Role::Applicant => "applicant",
        Role::Recruiter => "recruiter",
        Role::Assessor => "assessor",
        Role::Hr => "HR and equality",
        Role::Admin => "admin",
    }
}

fn nav(v: &Visitor, current: &str) -> Option<StaffNav> {
    let s = v.staff.as_ref()?;
    let may = |a: Action| s.caller.may(a).is_ok();
    let mut items: Vec<(&'static str, &'static str)> = Vec::new();
    if may(Action::ListApplications) || may(Action::ReadMetrics) || may(Action::CreateToken) {
        items.push(("/staff", "Schemes"));
    }
    if s.caller.role == Role::Assessor || may(Action::ManageCentres) {
        items.push(("/staff/sessions", "Assessment sessions"));
    }
    if may(Action::ManageSurveys) {
        items.push(("/staff/surveys", "Surveys"));
    }
    if may(Action::CreateToken) {
        items.extend([
            ("/staff/admin/staff", "Staff accounts"),
            ("/staff/admin/tokens", "API tokens"),
            ("/staff/admin/emails", "Failed emails"),
        ]);
    }
    Some(StaffNav {
        name: s.account.name.clone(),
        role_text: role_text(s.caller.role),
        menu: items.into_iter().map(|(href, text)| MenuItem { href, text, current: href == current }).collect(),
    })
}

/// A staff page: the page context gains the header (`staff`); `current` is its menu item.
pub(crate) fn page(
    v: &Visitor,
    state: &AppState,
    status: StatusCode,
    template: &str,
    current: &str,
    ctx: minijinja::Value,
) -> HttpResponse {
    render(v, state, status, template, context! { staff => nav(v, current), ..ctx })
}

/// The member of staff on this page, if the role matrix lets them do `action`: otherwise
/// the sign-in page (nobody signed in) or "you cannot see this page" (another role).
pub(crate) fn require(v: &Visitor, req: &HttpRequest, action: Action) -> Result<Auth, PageError> {
    let auth = v.staff_auth().ok_or_else(|| PageError::StaffSignIn(req.path().to_owned()))?;
    auth.require(action).map_err(|_| PageError::StaffForbidden)?;
    Ok(auth)
}

/// Any member of staff signed in (the page then asks the matrix for what it shows).
pub(crate) fn signed_in(v: &Visitor, req: &HttpRequest) -> Result<Auth, PageError> {
    v.staff_auth().ok_or_else(|| PageError::StaffSignIn(req.path().to_owned()))
}

/// Checks a staff form's CSRF token.
pub(crate) fn csrf(v: &Visitor, posted: &super::form::Posted) -> Result<(), PageError> {
    if v.csrf_ok(posted.get(super::session::CSRF_FIELD)) { Ok(()) } else { Err(PageError::Csrf) }
}

/// What an API handler answered, as JSON (a page shows the API's own view of a thing).
pub(crate) async fn api_json(res: Result<HttpResponse, ApiError>) -> Result<Value, ApiError> {
    let body = actix_web::body::to_bytes(res?.into_body())
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("reading an API answer: {e}")))?;
    Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A JSON body for an API handler that reads one, as the page's form becomes.
pub(crate) async fn json_payload(req: &HttpRequest, body: &Value) -> web::Payload {
    let mut p = actix_web::dev::Payload::from(web::Bytes::from(body.to_string()));
    match web::Payload::from_request(req, &mut p).await {
        Ok(p) => p,
        Err(_) => unreachable!("taking a payload cannot fail"),
    }
}

/// An API error as the NHS error summary of a form: field errors link to their fields
/// (`anchor` maps an API field path to the page's id), anything else is one line.
pub(crate) fn form_errors(e: &ApiError, anchor: impl Fn(&str) -> String) -> Option<super::form::Errors> {
    match e {
        ApiError::Invalid(fields) => Some(super::form::Errors::from_fields(fields.iter(), anchor)),
        ApiError::Conflict { detail, .. } => Some(super::form::Errors::general(detail.clone(), "#main-form")),
        ApiError::BadRequest(m) => Some(super::form::Errors::general(m.clone(), "#main-form")),
        _ => None,
    }
}

/// The status of a page showing an API refusal as a form's errors: the API's own (409 for a
/// conflict, 422 for invalid fields).
pub(crate) fn refusal(e: &ApiError) -> StatusCode {
    actix_web::ResponseError::status_code(e)
}

#[derive(Serialize)]
struct SchemeRow {
    id: String,
    name: String,
    closes: String,
    phase: &'static str,
}

/// `GET /staff`: the schemes (recruiters, HR, admins); an assessor goes to their sessions.
pub async fn home(state: web::Data<AppState>, v: Visitor, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let auth = signed_in(&v, &req)?;
    if auth.0.role == Role::Assessor {
        return Ok(v.redirect(&state, "/staff/sessions"));
    }
    let now = state.clock.now();
    let schemes: Vec<SchemeRow> = fasttrack_core::store::schemes::list_all(&state.db)
        .await?
        .iter()
        .map(|s| {
            let d = &s.definition;
            SchemeRow {
                id: d.id.to_string(),
                name: d.name.clone(),
                closes: super::when(d.closes_at, state.clock.tz()),
                phase: match d.phase(now) {
                    fasttrack_core::scheme::Phase::NotOpen => "Not open yet",
                    fasttrack_core::scheme::Phase::Open => "Open",
                    fasttrack_core::scheme::Phase::Closed => "Closed",
                },
            }
        })
        .collect();
    let can_run = auth.0.may(Action::ListApplications).is_ok();
    let can_report = auth.0.may(Action::ReadMetrics).is_ok();
    Ok(page(&v, &state, StatusCode::OK, "staff_home.html", "/staff", context! { schemes, can_run, can_report }))
}
