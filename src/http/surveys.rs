//! Trainee and alumni surveys: define, enter responses, read the tables
//! ("n (p%)" per group and option, with row totals), JSON or CSV. hr and admin.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use fasttrack_core::auth::Action;
use fasttrack_core::store::surveys;
use fasttrack_core::survey::{self, SurveyDefinition};
use fasttrack_core::validation::FieldErrors;
use serde_json::{Value, json};

use super::auth::Auth;
use super::error::{ApiError, Problem};
use super::{AppState, body};

/// Define a survey: `{"title", "questions": [{"id", "text", "options": [ordered]}],
/// "groups": [{"id", "name", "options"}], "crossings": [["specialism", "cohort"]],
/// "disclosure_threshold": 5}`.
#[utoipa::path(post, path = "/api/v1/surveys", tag = "surveys",
    request_body(content = Object, description = "A survey definition"),
    responses((status = 201, description = "created: {id, href}"), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(state: web::Data<AppState>, auth: Auth, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageSurveys)?;
    let value = body::json(payload, &state.settings.server).await?;
    let def = SurveyDefinition::parse_json(value)?;
    let id = uuid::Uuid::now_v7().to_string();
    let actor = format!("{}:{}", auth.0.role.as_str(), auth.0.token_id);
    surveys::create(&state.db, &id, &def, &actor, state.clock.now()).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/surveys/{id}")))
        .json(json!({"id": id, "href": format!("/api/v1/surveys/{id}/tables")})))
}

/// Enter one response, or an array of them (all or none): `{"groups": {…}, "answers": {…}}`.
#[utoipa::path(post, path = "/api/v1/surveys/{survey}/responses", tag = "surveys", params(("survey" = String, Path)),
    request_body(content = Object, description = "A response or an array of responses"),
    responses((status = 201, description = "stored: {stored}"), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn respond(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageSurveys)?;
    let def = surveys::get(&state.db, &path).await?.ok_or(ApiError::NotFound("survey"))?;
    let value =
        body::json_up_to(payload, &state.settings.server, state.settings.server.max_body_bytes.max(1 << 20)).await?;
    let items: Vec<(String, &Value)> = match &value {
        Value::Array(a) => a.iter().enumerate().map(|(i, v)| (format!("[{i}]"), v)).collect(),
        v => vec![(String::new(), v)],
    };
    let mut e = FieldErrors::new();
    let parsed: Vec<_> = items.iter().filter_map(|(p, v)| def.parse_response(p, v, &mut e)).collect();
    if !e.is_empty() || parsed.len() != items.len() {
        return Err(e.into());
    }
    surveys::add_responses(&state.db, &path, &parsed, state.clock.now()).await?;
    Ok(HttpResponse::Created().json(json!({"stored": parsed.len()})))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct TablesQuery {
    /// `csv` for CSV (as does `Accept: text/csv`).
    pub format: Option<String>,
}

/// Every survey, newest first, with its number of responses.
#[utoipa::path(get, path = "/api/v1/surveys", tag = "surveys",
    responses((status = 200, description = "the surveys"), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageSurveys)?;
    Ok(HttpResponse::Ok().json(json!({"surveys": surveys::list(&state.db).await?})))
}

/// The survey's tables: per question and grouping, "n (p%)" per group and option with row
/// totals, then each crossing of two groupings the survey names (rows nested by the first),
/// all of a question protected together. `Accept: text/csv` or `format=csv` for CSV.
#[utoipa::path(get, path = "/api/v1/surveys/{survey}/tables", tag = "surveys", params(("survey" = String, Path), TablesQuery),
    responses((status = 200, description = "JSON, or CSV with Accept: text/csv"), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn tables(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    q: web::Query<TablesQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageSurveys)?;
    let def = surveys::get(&state.db, &path).await?.ok_or(ApiError::NotFound("survey"))?;
    let counts = surveys::counts(&state.db, &path).await?;
    let mut crossed = Vec::with_capacity(def.crossings.len());
    for pair in &def.crossings {
        crossed.push(surveys::crossed_counts(&state.db, &path, &pair[0], &pair[1]).await?);
    }
    let tables = survey::tables_crossed(&def, &counts, &crossed);
    let disclosure = survey::disclosure(&def);
    let csv = q.format.as_deref() == Some("csv")
        || req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/csv"));
    if csv {
        let mut w = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
        let mut put = |row: Vec<String>| w.write_record(&row).map_err(|e| ApiError::Internal(e.into()));
        for t in &tables {
            put(vec![t.question.clone(), format!("by {}", t.by)])?;
            put(std::iter::once(t.by.clone()).chain(t.options.iter().cloned()).chain(["Total".to_owned()]).collect())?;
            for r in t.rows.iter().chain(std::iter::once(&t.all)) {
                let group = match &r.within {
                    Some(w) => format!("{w}: {}", r.group),
                    None => r.group.clone(),
                };
                put(std::iter::once(group).chain(r.cells.iter().map(|c| c.text())).chain([r.total.text()]).collect())?;
            }
            put(Vec::new())?;
        }
        put(vec!["note".into(), disclosure.rule.clone()])?;
        let mut out = "\u{feff}".as_bytes().to_vec();
        out.extend(w.into_inner().map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?);
        return Ok(HttpResponse::Ok().content_type("text/csv; charset=utf-8").body(out));
    }
    Ok(HttpResponse::Ok()
        .json(json!({"survey": path.as_str(), "title": def.title, "tables": tables, "disclosure": disclosure})))
}
