//! Server-rendered pages (SPEC §7): minijinja templates compiled into the binary, the NHS.UK
//! frontend vendored and served by the app, every page working without JavaScript. Handlers
//! are thin: they read what the API reads and hand plain values to a template.

pub mod assets;

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use fasttrack_core::scheme::{Phase, SchemeDefinition};
use fasttrack_core::store;
use minijinja::{Environment, context};
use serde::Serialize;

use crate::http::AppState;
use crate::http::error::ApiError;

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("layout.html", include_str!("templates/layout.html")),
        ("home.html", include_str!("templates/home.html")),
        ("scheme.html", include_str!("templates/scheme.html")),
        ("not_found.html", include_str!("templates/not_found.html")),
    ] {
        env.add_template(name, source).expect("page templates compile");
    }
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env
});

/// The page routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/schemes/{scheme}", web::get().to(scheme))
        .route("/assets/{path:.*}", web::get().to(asset));
}

fn render(status: actix_web::http::StatusCode, name: &str, ctx: minijinja::Value) -> HttpResponse {
    let ctx = context! { css => assets::CSS, js => assets::JS, ..ctx };
    match TEMPLATES.get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => HttpResponse::build(status).content_type("text/html; charset=utf-8").body(html),
        Err(e) => {
            tracing::error!(template = name, error = %e, "page failed to render");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Sorry, something went wrong.")
        }
    }
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
    Ok(render(actix_web::http::StatusCode::OK, "home.html", context! { schemes }))
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
        name: d.name.clone(),
        phase: match d.phase(now) {
            Phase::NotOpen => "not_open",
            Phase::Open => "open",
            Phase::Closed => "closed",
        },
        opens: when(d.opens_at, tz),
        closes: when(d.closes_at, tz),
        description: d.description.split("\n\n").map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect(),
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
    }
}

/// `/schemes/{scheme}`: what the scheme is, its places, dates and stages.
pub async fn scheme(state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let Some(stored) = store::schemes::get(&state.db, &path).await? else {
        return Ok(not_found());
    };
    let s = scheme_page(&stored.definition, state.clock.now(), state.clock.tz());
    Ok(render(actix_web::http::StatusCode::OK, "scheme.html", context! { s }))
}

fn not_found() -> HttpResponse {
    render(actix_web::http::StatusCode::NOT_FOUND, "not_found.html", context! {})
}

/// `/assets/…`: the vendored frontend. Versioned files are cached for a year; icons a day.
pub async fn asset(req: HttpRequest) -> HttpResponse {
    match assets::find(req.path()) {
        Some((bytes, kind)) => {
            let cache = if req.path().contains("10.6.1") {
                "public, max-age=31536000, immutable"
            } else {
                "public, max-age=86400"
            };
            HttpResponse::Ok().content_type(kind).insert_header((header::CACHE_CONTROL, cache)).body(bytes)
        }
        None => not_found(),
    }
}
