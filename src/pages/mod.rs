//! Server-rendered pages (SPEC §7): minijinja templates compiled into the binary, the NHS.UK
//! frontend vendored and served by the app, every page working without JavaScript. Handlers
//! are thin: they read what the API reads and hand plain values to a template.

pub mod account;
pub mod apply;
pub mod assets;
pub mod candidate;
pub mod charts;
pub mod data;
pub mod form;
pub mod labels;
pub mod session;
pub mod staff;

use std::sync::LazyLock;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use fasttrack_core::scheme::{Phase, SchemeDefinition};
use fasttrack_core::store;
use minijinja::{Environment, context};
use serde::Serialize;

use crate::http::AppState;
use crate::http::error::ApiError;

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    macro_rules! templates {
        ($($name:literal),* $(,)?) => { [$(($name, include_str!(concat!("templates/", $name)))),*] };
    }
    for (name, source) in templates![
        "layout.html",
        "macros.html",
        "home.html",
        "scheme.html",
        "not_found.html",
        "problem.html",
        "apply_closed.html",
        "apply_tasks.html",
        "apply_section.html",
        "apply_details.html",
        "apply_degree.html",
        "apply_right_to_work.html",
        "apply_streams.html",
        "apply_assessment.html",
        "apply_adjustments.html",
        "apply_employer.html",
        "apply_equality.html",
        "apply_check.html",
        "submitted.html",
        "sign_in.html",
        "sign_in_sent.html",
        "sign_in_link.html",
        "application.html",
        "withdraw.html",
        "delete.html",
        "deleted.html",
        "tests.html",
        "test_start.html",
        "test.html",
        "booking.html",
        "offer.html",
        "confirm.html",
        "staff_sign_in.html",
        "staff_sign_in_sent.html",
        "staff_sign_in_link.html",
        "staff_home.html",
        "staff_scheme.html",
        "staff_job.html",
        "staff_applicants.html",
        "staff_applicant.html",
        "staff_centres.html",
        "staff_sessions.html",
        "staff_session.html",
        "staff_sheet.html",
        "staff_admin_staff.html",
        "staff_admin_tokens.html",
        "staff_admin_emails.html",
        "report_macros.html",
        "staff_report.html",
        "staff_report_funnel.html",
        "staff_report_equality.html",
        "staff_report_print.html",
        "staff_surveys.html",
        "staff_survey.html",
    ] {
        env.add_template(name, source).expect("page templates compile");
    }
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env
});

/// Headers on every response: no script but our own files, no framing, no sniffing, and no
/// referrer (a sign-in link's secret must not leak to another site through it).
pub fn security_headers() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
}

/// The page routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/schemes/{scheme}", web::get().to(scheme))
        .route("/schemes/{scheme}/apply", web::get().to(apply::tasks))
        .route("/schemes/{scheme}/apply/check", web::get().to(apply::check))
        .route("/schemes/{scheme}/apply/submit", web::post().to(apply::submit))
        .route("/schemes/{scheme}/apply/{section}", web::get().to(apply::section_form))
        .route("/schemes/{scheme}/apply/{section}", web::post().to(apply::section_save))
        .route("/sign-in", web::get().to(account::sign_in_form))
        .route("/sign-in", web::post().to(account::send_link))
        .route("/sign-in/{token}", web::get().to(account::link))
        .route("/sign-in/{token}", web::post().to(account::redeem))
        .route("/sign-out", web::post().to(account::sign_out))
        .route("/applications/{id}", web::get().to(account::application))
        .route("/applications/{id}/submitted", web::get().to(account::submitted))
        .route("/applications/{id}/withdraw", web::get().to(account::withdraw_form))
        .route("/applications/{id}/withdraw", web::post().to(account::withdraw))
        .route("/applications/{id}/your-data.json", web::get().to(data::download))
        .route("/applications/{id}/delete", web::get().to(data::delete_form))
        .route("/applications/{id}/delete", web::post().to(data::delete))
        .route("/applications/{id}/tests", web::get().to(candidate::tests))
        .route("/applications/{id}/tests/{test}", web::get().to(candidate::test))
        .route("/applications/{id}/tests/{test}/start", web::post().to(candidate::start))
        .route("/applications/{id}/tests/{test}", web::post().to(candidate::answer))
        .route("/applications/{id}/booking", web::get().to(candidate::booking))
        .route("/applications/{id}/booking.ics", web::get().to(candidate::calendar))
        .route("/applications/{id}/booking", web::post().to(candidate::answer_booking))
        .route("/applications/{id}/offer", web::get().to(candidate::offer))
        .route("/applications/{id}/offer", web::post().to(candidate::answer_offer))
        .route("/assets/{path:.*}", web::get().to(asset))
        .configure(staff::routes);
}

/// A page for a visitor: the CSRF token of their forms and whether they are signed in go to
/// every template; the browser cookie is set where it is new; pages are never cached.
pub fn render(
    v: &session::Visitor,
    state: &AppState,
    status: StatusCode,
    name: &str,
    ctx: minijinja::Value,
) -> HttpResponse {
    let ctx = context! { csrf => v.csrf(), signed_in => v.session.is_some(), ..ctx };
    match html(name, ctx) {
        Ok(body) => {
            let mut res = HttpResponse::build(status);
            v.finish(state, &mut res);
            res.content_type("text/html; charset=utf-8").body(body)
        }
        Err(e) => failed(name, e),
    }
}

/// A page that is the same for everyone (no forms): cacheable like any public page.
fn render_plain(status: StatusCode, name: &str, ctx: minijinja::Value) -> HttpResponse {
    match html(name, ctx) {
        Ok(body) => HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body),
        Err(e) => failed(name, e),
    }
}

fn html(name: &str, ctx: minijinja::Value) -> Result<String, minijinja::Error> {
    let ctx = context! { css => assets::CSS, js => assets::JS, countdown => assets::COUNTDOWN, progress_js => assets::PROGRESS, print_css => assets::PRINT, ..ctx };
    TEMPLATES.get_template(name).and_then(|t| t.render(ctx))
}

fn failed(name: &str, e: minijinja::Error) -> HttpResponse {
    tracing::error!(template = name, error = %e, "page failed to render");
    HttpResponse::InternalServerError().content_type("text/plain; charset=utf-8").body("Sorry, something went wrong.")
}

/// A date as people read it in the scheme's time zone: "31 January 2027 at 11:59pm".
fn when(t: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> String {
    let z = t.to_zoned(tz.clone());
    let time = match (z.hour(), z.minute()) {
        (0, 0) => "midnight".to_owned(),
        (12, 0) => "midday".to_owned(),
        (h, m) => format!("{}:{m:02}{}", if h % 12 == 0 { 12 } else { h % 12 }, if h < 12 { "am" } else { "pm" }),
    };
    format!("{} at {time}", z.strftime("%-d %B %Y"))
}

#[derive(Serialize)]
struct SchemeCard {
    id: String,
    name: String,
    summary: String,
    places: u32,
    closes: String,
}

/// `/`: the schemes open for applications.
pub async fn home(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let tz = state.clock.tz().clone();
    let schemes: Vec<SchemeCard> = store::schemes::list_open(&state.db, now)
        .await?
        .iter()
        .map(|s| {
            let d = &s.definition;
            SchemeCard {
                id: d.id.to_string(),
                name: d.name.clone(),
                summary: d.description.trim().split("\n\n").next().unwrap_or("").trim().to_owned(),
                places: d.total_places(),
                closes: when(d.closes_at, &tz),
            }
        })
        .collect();
    Ok(render_plain(StatusCode::OK, "home.html", context! { schemes, csrf => "", signed_in => false }))
}

#[derive(Serialize)]
struct StreamRow {
    name: String,
    description: String,
    places: u32,
}

#[derive(Serialize)]
struct TestRow {
    name: String,
    minutes: Option<u32>,
}

#[derive(Serialize)]
struct SchemePage {
    id: String,
    name: String,
    phase: &'static str,
    opens: String,
    closes: String,
    description: Vec<String>,
    places: u32,
    streams: Vec<StreamRow>,
    tests: Vec<TestRow>,
    /// Where and when the assessment centres known so far are, in words.
    centres: String,
    starts_on: Option<String>,
    privacy_version: String,
    privacy: Vec<String>,
}

/// An applicant's application, its details and its scheme, for their pages. An erased
/// application is not found: nothing of the person is left to show.
pub(crate) struct Mine {
    pub app: store::applications::ApplicationRecord,
    pub details: fasttrack_core::application::ApplicantDetails,
    pub scheme: std::sync::Arc<SchemeDefinition>,
}

pub(crate) async fn mine(state: &crate::http::AppState, id: fasttrack_core::ApplicationId) -> Result<Mine, PageError> {
    let mut app = store::applications::get(&state.db, id).await?.ok_or(PageError::NotFound)?;
    let details = app.details.take().ok_or(PageError::NotFound)?;
    let scheme = state.schemes.get(&state.db, &app.scheme_id).await?.ok_or(PageError::NotFound)?;
    Ok(Mine { app, details, scheme })
}

/// Text written with blank lines between paragraphs, as paragraphs.
pub(crate) fn paragraphs(text: &str) -> Vec<String> {
    text.split("\n\n").map(|p| p.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|p| !p.is_empty()).collect()
}

fn scheme_page(d: &SchemeDefinition, now: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> SchemePage {
    let mut venues: Vec<&str> = d.assessment_centres.iter().map(|c| c.venue.as_str()).collect();
    venues.sort_unstable();
    venues.dedup();
    let dates: Vec<jiff::civil::Date> = d.assessment_centres.iter().map(|c| c.date).collect();
    let centres = match (dates.iter().min(), dates.iter().max()) {
        (Some(a), Some(b)) if a == b => format!("at {} on {}", venues.join("; "), a.strftime("%-d %B %Y")),
        (Some(a), Some(b)) => {
            format!("at {}; from {} to {}", venues.join("; "), a.strftime("%-d %B"), b.strftime("%-d %B %Y"))
        }
        _ => String::new(),
    };
    SchemePage {
        id: d.id.to_string(),
        name: d.name.clone(),
        phase: match d.phase(now) {
            Phase::NotOpen => "not_open",
            Phase::Open => "open",
            Phase::Closed => "closed",
        },
        opens: when(d.opens_at, tz),
        closes: when(d.closes_at, tz),
        description: paragraphs(&d.description),
        places: d.total_places(),
        streams: d
            .streams
            .iter()
            .map(|s| StreamRow {
                name: s.name.clone(),
                description: s.description.trim().to_owned(),
                places: s.total_places(),
            })
            .collect(),
        tests: d.tests.iter().map(|t| TestRow { name: t.name.clone(), minutes: t.time_limit_minutes }).collect(),
        centres,
        starts_on: d.starts_on.map(|s| s.strftime("%-d %B %Y").to_string()),
        privacy_version: d.privacy_notice.version.clone(),
        privacy: paragraphs(&d.privacy_notice.text),
    }
}

/// `/schemes/{scheme}`: what the scheme is, its places, dates and stages.
pub async fn scheme(state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let Some(stored) = store::schemes::get(&state.db, &path).await? else {
        return Ok(not_found());
    };
    let s = scheme_page(&stored.definition, state.clock.now(), state.clock.tz());
    Ok(render_plain(StatusCode::OK, "scheme.html", context! { s, csrf => "", signed_in => false }))
}

/// The NHS "Page not found" page (also for paths no route knows, outside the API).
pub(crate) fn not_found() -> HttpResponse {
    render_plain(StatusCode::NOT_FOUND, "not_found.html", context! { csrf => "", signed_in => false })
}

/// What goes wrong on a page, shown as a page (never as problem+json).
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("not found")]
    NotFound,
    /// A form without this browser's CSRF token: sent from another site, or an old tab.
    #[error("the form has expired")]
    Csrf,
    /// A staff page with nobody signed in: the staff sign-in page, then back to this path.
    #[error("sign in")]
    StaffSignIn(String),
    /// A staff page the signed-in role may not see (the role matrix said no).
    #[error("forbidden")]
    StaffForbidden,
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<sqlx::Error> for PageError {
    fn from(e: sqlx::Error) -> Self {
        PageError::Api(e.into())
    }
}

impl actix_web::ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::Csrf | PageError::StaffForbidden => StatusCode::FORBIDDEN,
            PageError::StaffSignIn(_) => StatusCode::SEE_OTHER,
            PageError::Api(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, body) = match self {
            PageError::NotFound | PageError::Api(ApiError::NotFound(_)) => return not_found(),
            PageError::StaffSignIn(next) => {
                let next = form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>();
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, format!("/staff/sign-in?next={next}")))
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .finish();
            }
            PageError::StaffForbidden => (
                "You do not have access to this page",
                "Your role does not include this page. Ask an admin if you need it.",
            ),
            PageError::Csrf => (
                "This form has expired",
                "We could not accept the form you sent. Go back, reload the page and try again. Nothing you saved before has been lost.",
            ),
            PageError::Api(ApiError::Unavailable(_)) => (
                "Sorry, the service is busy",
                "Please try again in a few minutes. Nothing you saved before has been lost.",
            ),
            PageError::Api(ApiError::Unauthorized | ApiError::Forbidden) => {
                ("You cannot see this page", "Sign in with the link we emailed you to see your application.")
            }
            PageError::Api(e) => {
                if let ApiError::Internal(cause) = e {
                    tracing::error!(error = format!("{cause:#}"), "page failed");
                }
                (
                    "Sorry, there is a problem with the service",
                    "Please try again later. Nothing you saved before has been lost.",
                )
            }
        };
        let mut res = render_plain(
            self.status_code(),
            "problem.html",
            context! {
                title, body, csrf => "", signed_in => false, staff_page => matches!(self, PageError::StaffForbidden),
            },
        );
        res.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
        res
    }
}

/// `/assets/…`: the vendored frontend. Versioned files are cached for a year; icons a day.
pub async fn asset(req: HttpRequest) -> HttpResponse {
    match assets::find(req.path()) {
        Some((bytes, kind)) => {
            let cache = if req.path().contains("10.6.1")
                || req.path() == assets::COUNTDOWN
                || req.path() == assets::PROGRESS
                || req.path() == assets::PRINT
            {
                "public, max-age=31536000, immutable"
            } else {
                "public, max-age=86400"
            };
            HttpResponse::Ok().content_type(kind).insert_header((header::CACHE_CONTROL, cache)).body(bytes)
        }
        None => not_found(),
    }
}
