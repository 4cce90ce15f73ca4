//! Assessment centres of a scheme: recruiters add and list them.

use actix_web::{HttpResponse, web};
use fasttrack_core::auth::Action;
use fasttrack_core::centres::AssessmentCentre;
use fasttrack_core::store::{applications, bookings, centres, jobs, schemes};
use fasttrack_workers::jobs::Job;
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
    let value = body::json(payload, &state.settings.server).await?;
    let centre = AssessmentCentre::parse_json(value)?;
    if let Some(why) = scheme.centre_date_problem(&centre) {
        return Err(ApiError::invalid("date", why));
    }
    centres::add(&state.db, scheme.id.as_str(), &centre, state.clock.now()).await.map_err(|e| match e {
        centres::AddError::Exists(id) => ApiError::Conflict {
            title: "Centre exists",
            detail: format!("an assessment centre {id} already exists for this scheme"),
        },
        centres::AddError::Db(e) => e.into(),
    })?;
    Ok(HttpResponse::Created().json(json!({"scheme": scheme.id, "centre": centre, "seats": centre.seats()})))
}

/// Add a session to a centre: `{"id", "start", "end", "capacity", "exercises", "assessors",
/// "provisions"}` (as in a centre's `sessions`). The scheduler fills it on its next run.
#[utoipa::path(post, path = "/api/v1/schemes/{scheme}/assessment-centres/{centre}/sessions", tag = "assessment centres",
    params(("scheme" = String, Path), ("centre" = String, Path)),
    request_body(content = Object, description = "A session"),
    responses((status = 201, description = "added: the centre"), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn add_session(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageCentres)?;
    let (scheme, centre) = path.into_inner();
    let scheme = schemes::get(&state.db, &scheme).await?.ok_or(ApiError::NotFound("scheme"))?.definition;
    let value = body::json(payload, &state.settings.server).await?;
    if !value.is_object() {
        return Err(ApiError::invalid("(body)", "must be a session object"));
    }
    let c = centres::add_session(&state.db, scheme.id.as_str(), &centre, &value).await.map_err(|e| match e {
        centres::AddSessionError::NoCentre => ApiError::NotFound("assessment centre"),
        centres::AddSessionError::Db(e) => e.into(),
        // The new session's fields, as the request named them.
        centres::AddSessionError::Invalid(fields) => {
            let mut out = fasttrack_core::FieldErrors::new();
            for f in fields.iter() {
                let name = f.field.split_once("].").map_or(f.field.as_str(), |(_, rest)| rest);
                out.push(name, f.message.clone());
            }
            ApiError::Invalid(out)
        }
    })?;
    fasttrack_core::store::audit::record_detail(
        &state.db,
        &auth.0,
        "add assessment session",
        None,
        Some(&format!("{}:{}", scheme.id, c.id)),
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Created().json(json!({"scheme": scheme.id, "centre": c, "seats": c.seats()})))
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

/// Schedule every shortlisted candidate without a seat into a session (a job): most placed,
/// then best preference, never breaking capacity, dates, adjustments or assessor conflicts.
#[utoipa::path(post, path = "/api/v1/schemes/{scheme}/schedule", tag = "assessment centres",
    params(("scheme" = String, Path)),
    responses((status = 202, description = "the job"), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn schedule(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageCentres)?;
    let scheme = schemes::get(&state.db, &path).await?.ok_or(ApiError::NotFound("scheme"))?.definition;
    let actor = format!("{}:{}", auth.0.role.as_str(), auth.0.token_id);
    let id = state.start_job("schedule", scheme.id.as_str(), &actor, |job_id| Job::RunSchedule { job_id }).await?;
    let job = jobs::get(&state.db, &id).await?.ok_or(ApiError::NotFound("job"))?;
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/api/v1/jobs/{id}")))
        .json(super::sift::JobView::from(job)))
}

/// The applicant's assessment-centre booking: the session offered, or their place on the
/// waiting list with the reason.
#[utoipa::path(get, path = "/api/v1/applications/{id}/booking", tag = "assessment centres",
    params(("id" = String, Path)),
    responses((status = 200, description = "the booking or the waiting-list place"), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn booking(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = super::applications::parse_id(&path)?;
    auth.require(Action::ReadBooking(id))?;
    let app = applications::get(&state.db, id).await?.ok_or(ApiError::NotFound("application"))?;
    fasttrack_core::store::audit::staff_read(&state.db, &auth.0, "read booking", Some(id), None, state.clock.now())
        .await?;
    if let Some(b) = bookings::get(&state.db, id).await? {
        let centre = centres::list(&state.db, &app.scheme_id).await?.into_iter().find(|c| c.id == b.centre_id);
        let session = centre.as_ref().and_then(|c| c.sessions.iter().find(|s| s.id == b.session_id));
        return Ok(HttpResponse::Ok().json(json!({
            "state": b.state, "centre": b.centre_id, "session": b.session_id, "uid": b.uid, "sequence": b.sequence,
            "rebook_requested": b.rebook,
            "venue": centre.as_ref().map(|c| c.venue.clone()), "date": centre.as_ref().map(|c| c.date.to_string()),
            "start": session.map(|s| s.start.strftime("%H:%M").to_string()),
            "end": session.map(|s| s.end.strftime("%H:%M").to_string()), "time_zone": "Europe/London",
        })));
    }
    Ok(HttpResponse::Ok().json(match bookings::waiting_reason(&state.db, id).await? {
        Some(reason) => json!({"state": "waiting_list", "reason": reason}),
        None => json!({"state": "not_scheduled"}),
    }))
}

async fn answer(state: &AppState, auth: &Auth, raw: &str, accept: bool) -> Result<HttpResponse, ApiError> {
    let id = super::applications::parse_id(raw)?;
    auth.require(Action::AnswerBooking(id))?;
    let app = applications::get(&state.db, id).await?.ok_or(ApiError::NotFound("application"))?;
    match bookings::answer(&state.db, id, accept, state.clock.now()).await? {
        bookings::Answer::Done => {}
        bookings::Answer::NoBooking => {
            return Err(ApiError::Conflict {
                title: "No seat offered",
                detail: "there is no assessment-centre seat to answer yet".into(),
            });
        }
        // A repeated decline answers the same and makes sure the seat is offered on.
        bookings::Answer::NotInvited(s) if !accept && s == "declined" => {}
        bookings::Answer::NotInvited(s) => {
            return Err(ApiError::Conflict { title: "Not awaiting an answer", detail: format!("the booking is {s}") });
        }
    }
    if !accept {
        // The freed seat goes to the next suitable candidate on the waiting list.
        state.start_job("schedule", &app.scheme_id, "system:backfill", |job_id| Job::RunSchedule { job_id }).await?;
    }
    tracing::info!(application = %id, accepted = accept, "booking answered");
    Ok(HttpResponse::Ok().json(json!({"state": if accept { "accepted" } else { "declined" }})))
}

/// Accept the assessment-centre seat offered.
#[utoipa::path(post, path = "/api/v1/applications/{id}/booking/accept", tag = "assessment centres",
    params(("id" = String, Path)),
    responses((status = 200, description = "accepted"), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn accept(state: web::Data<AppState>, auth: Auth, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    answer(&state, &auth, &path, true).await
}

/// Decline the seat offered; it is offered to the next suitable candidate on the waiting list.
#[utoipa::path(post, path = "/api/v1/applications/{id}/booking/decline", tag = "assessment centres",
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

/// Ask for another session. The seat held (offered or accepted) is kept until the scheduler
/// finds a free seat in another session that suits; then the updated invitation comes (same
/// calendar event, SEQUENCE + 1) and the seat left goes to the waiting list.
#[utoipa::path(post, path = "/api/v1/applications/{id}/booking/rebook", tag = "assessment centres",
    params(("id" = String, Path)),
    responses((status = 202, description = "the request is taken; the scheduler is running"), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn rebook(state: web::Data<AppState>, auth: Auth, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = super::applications::parse_id(&path)?;
    auth.require(Action::AnswerBooking(id))?;
    let app = applications::get(&state.db, id).await?.ok_or(ApiError::NotFound("application"))?;
    match bookings::request_rebook(&state.db, id, state.clock.now()).await? {
        bookings::Answer::Done => {}
        bookings::Answer::NoBooking => {
            return Err(ApiError::Conflict {
                title: "No seat to move",
                detail: "there is no assessment-centre seat to move yet".into(),
            });
        }
        bookings::Answer::NotInvited(s) => {
            return Err(ApiError::Conflict { title: "Cannot move this seat", detail: format!("the booking is {s}") });
        }
    }
    state.start_job("schedule", &app.scheme_id, "system:rebook", |job_id| Job::RunSchedule { job_id }).await?;
    tracing::info!(application = %id, "rebooking asked for");
    Ok(HttpResponse::Accepted().json(json!({"state": "rebook_requested"})))
}

/// Record that a candidate with an accepted seat did not attend (ac_booked → no_show).
#[utoipa::path(post, path = "/api/v1/applications/{id}/no-show", tag = "assessment centres",
    params(("id" = String, Path)),
    responses((status = 200, description = "recorded"), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn no_show(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    use fasttrack_core::Status;
    use fasttrack_core::store::applications::TransitionError;
    auth.require(Action::RecordNoShow)?;
    let id = super::applications::parse_id(&path)?;
    let now = state.clock.now();
    if let Some(b) = bookings::get(&state.db, id).await?
        && b.starts_at.is_some_and(|t| t > now)
    {
        return Err(ApiError::Conflict {
            title: "Not started yet",
            detail: "a candidate can miss a session only once it has started".into(),
        });
    }
    let actor = format!("{}:{}", auth.0.role.as_str(), auth.0.token_id);
    match applications::transition(&state.db, id, Status::NoShow, &actor, None, None, now).await {
        Ok(_) | Err(TransitionError::NotAllowed { from: Status::NoShow, .. }) => {}
        Err(TransitionError::NotFound) => return Err(ApiError::NotFound("application")),
        Err(TransitionError::NotAllowed { from, .. }) => {
            return Err(ApiError::Conflict {
                title: "Not booked",
                detail: format!("the application is {from}; only a candidate with an accepted seat can miss it"),
            });
        }
        Err(TransitionError::Db(e)) => return Err(e.into()),
    }
    tracing::info!(application = %id, "no-show recorded");
    fasttrack_core::store::audit::record(&state.db, &auth.0, "record no-show", Some(id), state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(json!({"status": "no_show"})))
}
