//! Starting the sift, the Disability Confident override, and watching jobs.

use actix_web::{HttpResponse, web};
use fasttrack_core::auth::Action;
use fasttrack_core::scheme::TestWindow;
use fasttrack_core::store::{self, applications, audit, jobs};
use fasttrack_core::validation::{FieldErrors, ObjectReader};
use fasttrack_workers::jobs::Job;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::applications::parse_id;
use super::auth::Auth;
use super::error::{ApiError, Problem};
use super::{AppState, body};

#[derive(Serialize, ToSchema)]
pub struct JobView {
    pub id: String,
    pub kind: String,
    pub scheme: String,
    /// queued, running, done or failed
    pub state: String,
    pub progress: i64,
    pub total: i64,
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub href: String,
}

impl From<jobs::JobRecord> for JobView {
    fn from(j: jobs::JobRecord) -> Self {
        JobView {
            href: format!("/api/v1/jobs/{}", j.id),
            id: j.id,
            kind: j.kind,
            scheme: j.scheme_id,
            state: j.state,
            progress: j.progress,
            total: j.total,
            result: j.result,
            error: j.error,
            created_at: j.created_at,
            updated_at: j.updated_at,
        }
    }
}

fn actor(auth: &Auth) -> String {
    format!("{}:{}", auth.0.role.as_str(), auth.0.token_id)
}

/// Run the sift of a scheme (after its closing date). Starts a job and returns it; a sift
/// already queued or running is returned instead of starting another.
#[utoipa::path(post, path = "/api/v1/schemes/{scheme}/sift", tag = "sift", params(("scheme" = String, Path)),
    responses((status = 202, body = JobView), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the scheme has not closed yet")),
    security(("bearer" = [])))]
pub async fn run(state: web::Data<AppState>, auth: Auth, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    auth.require(Action::RunSift)?;
    let scheme = store::schemes::get(&state.db, &path).await?.ok_or(ApiError::NotFound("scheme"))?.definition;
    let now = state.clock.now();
    let grace = jiff::SignedDuration::from_secs(state.settings.tests.grace_secs as i64);
    if now < scheme.closes_at {
        return Err(ApiError::Conflict {
            title: "Scheme still open",
            detail: format!("the sift runs in one batch after the closing date ({})", scheme.closes_at),
        });
    }
    if scheme.test_window(now, grace) != TestWindow::Closed {
        return Err(ApiError::Conflict {
            title: "Tests still finishing",
            detail: format!(
                "tests started before closing can be finished until {}; the sift runs in one batch after that",
                scheme.scoring_closes_at(grace)
            ),
        });
    }
    let id = state.start_job("sift", scheme.id.as_str(), &actor(&auth), |job_id| Job::RunSift { job_id }).await?;
    let job = jobs::get(&state.db, &id).await?.ok_or(ApiError::NotFound("job"))?;
    Ok(HttpResponse::Accepted().insert_header(("Location", format!("/api/v1/jobs/{id}"))).json(JobView::from(job)))
}

/// A background job's state and progress.
#[utoipa::path(get, path = "/api/v1/jobs/{job}", tag = "sift", params(("job" = String, Path)),
    responses((status = 200, body = JobView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn job(state: web::Data<AppState>, auth: Auth, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ReadJob)?;
    let job = jobs::get(&state.db, &path).await?.ok_or(ApiError::NotFound("job"))?;
    Ok(HttpResponse::Ok().json(JobView::from(job)))
}

/// Record, by name and with a reason, that the Disability Confident guarantee does not apply
/// to this application at the sift (audited): `{"decided_by": "…", "reason": "…"}`.
#[utoipa::path(post, path = "/api/v1/applications/{id}/disability-confident-override", tag = "sift",
    params(("id" = String, Path)),
    request_body(content = Object, description = "{\"decided_by\": \"name\", \"reason\": \"why\"}"),
    responses((status = 201, description = "recorded"), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn override_dc(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::OverrideDisabilityConfident)?;
    let id = parse_id(&path)?;
    let value = body::json(payload, &state.settings.server).await?;
    let mut e = FieldErrors::new();
    let Some(mut r) = ObjectReader::new("", &value, &mut e) else { return Err(e.into()) };
    let by = r.text("decided_by", 200, true, &mut e);
    let reason = r.text("reason", 2000, true, &mut e);
    r.finish_unknown(&mut e);
    let (Some(by), Some(reason)) = (by, reason) else { return Err(e.into()) };
    applications::get(&state.db, id).await?.ok_or(ApiError::NotFound("application"))?;
    let now = state.clock.now();
    store::sift::record_override(&state.db, id, &by, &reason, &actor(&auth), now).await?;
    audit::record(&state.db, &auth.0, "disability confident override", Some(id), now).await?;
    Ok(HttpResponse::Created().json(json!({"application_id": id.to_string(), "decided_by": by, "reason": reason})))
}
