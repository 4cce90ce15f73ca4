//! After the assessment centres: the decisions job, candidates' answers to offers,
//! and the outcomes recorded for those appointed.

use actix_web::{HttpResponse, web};
use fasttrack_core::auth::Action;
use fasttrack_core::outcomes::Outcome;
use fasttrack_core::store::{applications, decisions, jobs, outcomes, schemes};
use fasttrack_workers::jobs::Job;
use serde_json::json;

use super::applications::parse_id;
use super::auth::Auth;
use super::error::{ApiError, Problem};
use super::{AppState, body};

fn actor(auth: &Auth) -> String {
    format!("{}:{}", auth.0.role.as_str(), auth.0.token_id)
}

/// Decide offers (a job): per stream and organisation, in AC-score order, up to the places
/// available, only to candidates rated appointable; other appointable candidates go to
/// reserve, the rest are rejected; each outcome is emailed. Candidates whose scoresheet is not
/// complete are left for a later run.
#[utoipa::path(post, path = "/api/v1/schemes/{scheme}/decisions", tag = "offers and outcomes",
    params(("scheme" = String, Path)),
    responses((status = 202, description = "the job"), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn run(state: web::Data<AppState>, auth: Auth, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    auth.require(Action::RunDecisions)?;
    let scheme = schemes::get(&state.db, &path).await?.ok_or(ApiError::NotFound("scheme"))?.definition;
    let id =
        state.start_job("decisions", scheme.id.as_str(), &actor(&auth), |job_id| Job::RunDecisions { job_id }).await?;
    let job = jobs::get(&state.db, &id).await?.ok_or(ApiError::NotFound("job"))?;
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/api/v1/jobs/{id}")))
        .json(super::sift::JobView::from(job)))
}

/// The place offered to the applicant: stream, host organisation and state (offered,
/// accepted, declined), or `not_offered`.
#[utoipa::path(get, path = "/api/v1/applications/{id}/offer", tag = "offers and outcomes",
    params(("id" = String, Path)),
    responses((status = 200, description = "the offer, or not_offered"), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(state: web::Data<AppState>, auth: Auth, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    auth.require(Action::ReadBooking(id))?;
    fasttrack_core::store::audit::staff_read(&state.db, &auth.0, "read offer", Some(id), None, state.clock.now())
        .await?;
    let Some(offer) = decisions::get(&state.db, id).await? else {
        return Ok(HttpResponse::Ok().json(json!({"state": "not_offered"})));
    };
    let scheme = schemes::get(&state.db, &offer.scheme_id).await?.map(|s| s.definition);
    let org_name = scheme
        .as_ref()
        .and_then(|s| s.organisations.iter().find(|o| o.id.as_str() == offer.organisation_id).map(|o| o.name.clone()));
    let starts_on = scheme.as_ref().and_then(|s| s.starts_on).map(|d| d.to_string());
    Ok(HttpResponse::Ok().json(json!({
        "state": offer.state, "stream": offer.stream_id, "organisation": offer.organisation_id,
        "organisation_name": org_name, "starts_on": starts_on,
    })))
}

async fn answer(state: &AppState, auth: &Auth, raw: &str, accept: bool) -> Result<HttpResponse, ApiError> {
    let id = parse_id(raw)?;
    auth.require(Action::AnswerOffer(id))?;
    let app = applications::get(&state.db, id).await?.ok_or(ApiError::NotFound("application"))?;
    match decisions::answer(&state.db, id, accept, state.clock.now()).await? {
        decisions::Answer::Done => {}
        decisions::Answer::NoOffer => {
            return Err(ApiError::Conflict { title: "No offer", detail: "no place has been offered".into() });
        }
        // A repeated decline (the first answer may have been lost on the way back, after the
        // commit) answers the same and makes sure the place is passed on.
        decisions::Answer::Not(s) if !accept && s == "declined" => {}
        decisions::Answer::Not(s) => {
            return Err(ApiError::Conflict { title: "Not awaiting this answer", detail: format!("the offer is {s}") });
        }
    }
    if !accept {
        // The place passes to the best candidate on the stream's reserve list.
        state.start_job("decisions", &app.scheme_id, "system:pass-on", |job_id| Job::RunDecisions { job_id }).await?;
    }
    tracing::info!(application = %id, accepted = accept, "offer answered");
    Ok(HttpResponse::Ok().json(json!({"state": if accept { "accepted" } else { "declined" }})))
}

/// Accept the place offered.
#[utoipa::path(post, path = "/api/v1/applications/{id}/offer/accept", tag = "offers and outcomes",
    params(("id" = String, Path)),
    responses((status = 200, description = "accepted"), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn accept(state: web::Data<AppState>, auth: Auth, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    answer(&state, &auth, &path, true).await
}

/// Decline the place offered (or one accepted earlier); it passes to the next candidate on
/// the reserve list.
#[utoipa::path(post, path = "/api/v1/applications/{id}/offer/decline", tag = "offers and outcomes",
    params(("id" = String, Path)),
    responses((status = 200, description = "declined"), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn decline(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    answer(&state, &auth, &path, false).await
}

/// Record an outcome: `{"kind": "placement", "organisation", "start_date"}` (after an
/// accepted offer; the application becomes placed), `{"kind": "checkpoint", "months": 3|6|12,
/// "in_post": true|false}` or `{"kind": "left", "date", "destination"}`. Each once.
#[utoipa::path(post, path = "/api/v1/applications/{id}/outcomes", tag = "offers and outcomes",
    params(("id" = String, Path)),
    request_body(content = Object, description = "A placement, checkpoint or leaving"),
    responses((status = 201, description = "recorded; every outcome of the application"), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn record(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::RecordOutcome)?;
    let id = parse_id(&path)?;
    let app = applications::get(&state.db, id).await?.ok_or(ApiError::NotFound("application"))?;
    let scheme = schemes::get(&state.db, &app.scheme_id).await?.ok_or(ApiError::NotFound("scheme"))?.definition;
    let value = body::json(payload, &state.settings.server).await?;
    let outcome = Outcome::parse(&value, &scheme)?;
    outcomes::record(&state.db, id, &outcome, &actor(&auth), state.clock.now(), state.clock.today()).await.map_err(
        |e| match e {
            outcomes::RecordError::Exists(occasion) => {
                ApiError::Conflict { title: "Already recorded", detail: format!("{occasion} is already recorded") }
            }
            outcomes::RecordError::WrongStatus(status, needs) => ApiError::Conflict {
                title: "Not at this stage",
                detail: format!("the application is {status}; this record needs it to be {needs}"),
            },
            outcomes::RecordError::NotFound => ApiError::NotFound("application"),
            outcomes::RecordError::Inconsistent(why) => {
                ApiError::Conflict { title: "Contradicts the record", detail: why }
            }
            outcomes::RecordError::Db(e) => e.into(),
        },
    )?;
    tracing::info!(application = %id, occasion = outcome.occasion(), "outcome recorded");
    fasttrack_core::store::audit::record(&state.db, &auth.0, "record outcome", Some(id), state.clock.now()).await?;
    Ok(HttpResponse::Created().json(json!({"outcomes": outcomes::list(&state.db, id).await?})))
}
