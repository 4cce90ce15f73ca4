//! The outbox as admins see it: failed (dead) emails, and re-sending one.

use actix_web::{HttpResponse, web};
use fasttrack_core::NotificationId;
use fasttrack_core::auth::Action;
use fasttrack_core::store::notifications::{self, Retry};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::Auth;
use super::error::{ApiError, Problem};

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// pending, sending, sent or dead (default dead)
    pub state: Option<String>,
    /// at most this many, newest first (default 100, at most 1000)
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct NotificationView {
    pub id: String,
    pub application_id: Option<String>,
    pub kind: String,
    pub recipient: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<Timestamp>,
}

/// Emails by state; `state=dead` lists those that failed every attempt.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(ListQuery),
    responses((status = 200, body = Vec<NotificationView>), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ListDeadNotifications)?;
    let wanted = query.state.as_deref().unwrap_or("dead");
    if !notifications::STATES.contains(&wanted) {
        return Err(ApiError::invalid("state", format!("must be one of: {}", notifications::STATES.join(", "))));
    }
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be from 1 to 1000"));
    }
    let rows = notifications::list(&state.db, wanted, limit).await?;
    let views: Vec<NotificationView> = rows
        .into_iter()
        .map(|n| NotificationView {
            id: n.id.to_string(),
            application_id: n.application_id,
            kind: n.kind,
            recipient: n.recipient,
            state: n.state,
            attempts: n.attempts,
            last_error: n.last_error,
            created_at: n.created_at,
            updated_at: n.updated_at,
            sent_at: n.sent_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

/// Send a dead email again, with a fresh set of attempts.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/retry", tag = "notifications",
    params(("id" = String, Path)),
    responses((status = 202, description = "queued again"), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the email is not dead")),
    security(("bearer" = [])))]
pub async fn retry(state: web::Data<AppState>, auth: Auth, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    auth.require(Action::RetryNotification)?;
    let id: NotificationId = path.parse().map_err(|_| ApiError::NotFound("notification"))?;
    match notifications::retry(&state.db, id, state.clock.now()).await? {
        Retry::Queued => {
            fasttrack_core::store::audit::record_detail(
                &state.db,
                &auth.0,
                "re-send email",
                None,
                Some(&id.to_string()),
                state.clock.now(),
            )
            .await?;
            state.enqueue_emails(&[id]);
            Ok(HttpResponse::Accepted().json(serde_json::json!({"id": id.to_string(), "state": "pending"})))
        }
        Retry::NotFound => Err(ApiError::NotFound("notification")),
        Retry::NotDead(s) => Err(ApiError::Conflict {
            title: "Not dead",
            detail: format!("only dead emails can be re-sent; this one is {s}"),
        }),
    }
}
