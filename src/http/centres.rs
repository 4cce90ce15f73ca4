//! Assessment centres of a scheme: recruiters add and list them.

use actix_web::{HttpResponse, web};
use fasttrack_core::auth::Action;
use fasttrack_core::centres::AssessmentCentre;
use fasttrack_core::store::{centres, schemes};
use jiff::Timestamp;
use serde_json::json;

use super::auth::Auth;
use super::error::{ApiError, Problem};
use super::{AppState, body};

/// Add an assessment centre: `{"id", "name", "venue", "date", "sessions": [{"id", "start", "end",
/// "capacity", "exercises": [{"kind", "competencies"}], "assessors": [{"id", "name",
/// "organisation"}], "provisions"}]}` (times are Europe/London).
#[utoipa::path(post, path = "/api/v1/schemes/{scheme}/assessment-centres", tag = "assessment centres",
    params(("scheme" = String, Path)),
    request_body(content = Object, description = "An assessment centre with its sessions"),
    responses((status = 201, description = "created"), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageCentres)?;
    let scheme = schemes::get(&state.db, &path).await?.ok_or(ApiError::NotFound("scheme"))?.definition;
    let value = body::json(payload, state.settings.server.max_body_bytes).await?;
    let centre = AssessmentCentre::parse_json(value)?;
    centres::add(&state.db, scheme.id.as_str(), &centre, Timestamp::now()).await.map_err(|e| match e {
        centres::AddError::Exists(id) => ApiError::Conflict {
            title: "Centre exists",
            detail: format!("an assessment centre {id} already exists for this scheme"),
        },
        centres::AddError::Db(e) => e.into(),
    })?;
    Ok(HttpResponse::Created().json(json!({"scheme": scheme.id, "centre": centre, "seats": centre.seats()})))
}

/// The scheme's assessment centres with their sessions, by date.
#[utoipa::path(get, path = "/api/v1/schemes/{scheme}/assessment-centres", tag = "assessment centres",
    params(("scheme" = String, Path)),
    responses((status = 200, description = "the centres"), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(state: web::Data<AppState>, auth: Auth, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageCentres)?;
    let scheme = schemes::get(&state.db, &path).await?.ok_or(ApiError::NotFound("scheme"))?.definition;
    let list = centres::list(&state.db, scheme.id.as_str()).await?;
    let seats: u32 = list.iter().map(AssessmentCentre::seats).sum();
    Ok(HttpResponse::Ok().json(json!({"scheme": scheme.id, "seats": seats, "centres": list})))
}
