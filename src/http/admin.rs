//! Admin API: staff tokens (the same as `fasttrack admin token create`), and the worker
//! processes with their health.

use actix_web::{HttpResponse, web};
use fasttrack_core::auth::Action;
use fasttrack_core::centres::parse_assessor_key;
use fasttrack_core::validation::{FieldErrors, ObjectReader, one_of};
use fasttrack_core::{Role, store};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Auth;
use super::error::{ApiError, Problem};
use super::{AppState, body};

#[derive(Serialize, ToSchema)]
pub struct TokenCreated {
    pub id: String,
    pub role: String,
    pub name: String,
    /// For assessor tokens: the assessor it stands for, `scheme:assessor id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assessor_id: Option<String>,
    /// The secret, shown once. Only its hash is stored.
    pub token: String,
}

const STAFF_ROLES: &[(&str, Role)] =
    &[("recruiter", Role::Recruiter), ("assessor", Role::Assessor), ("hr", Role::Hr), ("admin", Role::Admin)];

/// Create a staff token: `{"role": "recruiter|assessor|hr|admin", "name": "who it is for"}`;
/// assessor tokens also name the assessor, within a scheme: `"assessor_id":
/// "london-imt-pilot:as-okafor"`.
#[utoipa::path(post, path = "/api/v1/admin/tokens", tag = "admin",
    request_body(content = Object, description = "{\"role\": \"recruiter|assessor|hr|admin\", \"name\": \"…\"}"),
    responses((status = 201, body = TokenCreated), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_token(
    state: web::Data<AppState>,
    auth: Auth,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::CreateToken)?;
    let value = body::json(payload, &state.settings.server).await?;
    let mut e = FieldErrors::new();
    let Some(mut r) = ObjectReader::new("", &value, &mut e) else {
        return Err(e.into());
    };
    let role = r.required("role", &mut e).and_then(|v| one_of("role", v, STAFF_ROLES, &mut e));
    let name = r.text("name", 200, true, &mut e);
    let assessor_id = r.text("assessor_id", 64, false, &mut e);
    r.finish_unknown(&mut e);
    match (role, &assessor_id) {
        (Some(Role::Assessor), None) => e.push("assessor_id", "is required for assessor tokens"),
        (Some(r), Some(_)) if r != Role::Assessor => e.push("assessor_id", "is only for assessor tokens"),
        (_, Some(key)) => match parse_assessor_key(key) {
            None => e.push("assessor_id", "must be scheme:assessor, e.g. london-imt-pilot:as-okafor"),
            Some((scheme, _)) if store::schemes::get(&state.db, scheme).await?.is_none() => {
                e.push("assessor_id", format!("names no known scheme ({scheme})"))
            }
            Some(_) => {}
        },
        _ => {}
    }
    let (Some(role), Some(name), true) = (role, name, e.is_empty()) else {
        return Err(e.into());
    };
    let created = store::tokens::create_staff_token(&state.db, role, &name, assessor_id.as_deref()).await?;
    store::audit::record_detail(
        &state.db,
        &auth.0,
        "create staff token",
        None,
        Some(&created.0.to_string()),
        state.clock.now(),
    )
    .await?;
    tracing::info!(token = %created.0, role = role.as_str(), "staff token created");
    Ok(HttpResponse::Created().json(TokenCreated {
        id: created.0.to_string(),
        role: role.as_str().into(),
        name,
        assessor_id,
        token: created.1,
    }))
}

/// A worker process as its last beat described it.
#[derive(Serialize, ToSchema)]
pub struct WorkerView {
    /// host:pid:start id
    pub id: String,
    pub host: String,
    pub pid: i64,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_at: jiff::Timestamp,
    /// It beat within three sweep intervals: running. A killed or stuck worker stops beating.
    pub alive: bool,
    /// Per lane (`jobs`, `emails`): running, seconds_since_contact (with its queue),
    /// seconds_since_job, restarts, last_error.
    #[schema(value_type = Object)]
    pub lanes: serde_json::Value,
}

/// Every worker process seen in the last day, most recently seen first, with whether it is
/// alive and each lane's health.
#[utoipa::path(get, path = "/api/v1/admin/workers", tag = "admin",
    responses((status = 200, body = Vec<WorkerView>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn workers(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ReadWorkers)?;
    let now = state.clock.now();
    let alive_within = jiff::SignedDuration::from_secs(3 * state.settings.workers.sweep_interval_secs as i64 + 5);
    let rows = store::workers::list(&state.db, now - jiff::SignedDuration::from_hours(24)).await?;
    let views: Vec<WorkerView> = rows
        .into_iter()
        .map(|w| WorkerView {
            alive: now.duration_since(w.last_seen_at) <= alive_within,
            id: w.id,
            host: w.host,
            pid: w.pid,
            started_at: w.started_at,
            last_seen_at: w.last_seen_at,
            lanes: w.health,
        })
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

/// Every staff token (never its secret): who it is for, its role, when made and revoked.
#[utoipa::path(get, path = "/api/v1/admin/tokens", tag = "admin",
    responses((status = 200, description = "staff tokens, newest first", body = Object),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_tokens(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    auth.require(Action::CreateToken)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"tokens": store::tokens::list_staff(&state.db).await?})))
}

/// Revoke a staff token: it stops working at once. Audited.
#[utoipa::path(delete, path = "/api/v1/admin/tokens/{id}", tag = "admin",
    params(("id" = String, Path)),
    responses((status = 204, description = "revoked"), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn revoke_token(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::CreateToken)?;
    let id: fasttrack_core::TokenId = path.parse().map_err(|_| ApiError::NotFound("token"))?;
    if !store::tokens::revoke_staff(&state.db, id, state.clock.now()).await? {
        return Err(ApiError::NotFound("token"));
    }
    store::audit::record_detail(
        &state.db,
        &auth.0,
        "revoke staff token",
        None,
        Some(&id.to_string()),
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A staff account as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct StaffView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub assessor_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub disabled_at: Option<jiff::Timestamp>,
}

impl From<store::staff::StaffAccount> for StaffView {
    fn from(a: store::staff::StaffAccount) -> Self {
        StaffView {
            id: a.id,
            email: a.email,
            name: a.name,
            role: a.role.as_str().into(),
            assessor_id: a.assessor_id,
            created_at: a.created_at,
            disabled_at: a.disabled_at,
        }
    }
}

/// Creates a staff account (the admin page and the API): checked field by field, the
/// assessor's scheme must exist, one account per address. Audited.
pub(crate) async fn new_staff(
    state: &AppState,
    auth: &Auth,
    email: &str,
    name: &str,
    role: &str,
    assessor: &str,
) -> Result<store::staff::StaffAccount, ApiError> {
    auth.require(Action::ManageStaff)?;
    let new = fasttrack_core::staff::check(email, name, role, assessor)?;
    if let Some((scheme, _)) = new.assessor_id.as_deref().and_then(parse_assessor_key)
        && store::schemes::get(&state.db, scheme).await?.is_none()
    {
        return Err(ApiError::invalid("assessor", format!("names no known scheme ({scheme})")));
    }
    let now = state.clock.now();
    let acc =
        store::staff::create(&state.db, &new, &store::audit::actor_of(&auth.0), now).await.map_err(|e| match e {
            store::staff::CreateError::Exists => ApiError::invalid("email", "already has a staff account"),
            store::staff::CreateError::Db(e) => e.into(),
        })?;
    store::audit::record_detail(&state.db, &auth.0, "create staff account", None, Some(&acc.id), now).await?;
    tracing::info!(staff = %acc.id, role = acc.role.as_str(), "staff account created");
    Ok(acc)
}

/// Create a staff account: `{"email", "name", "role": "recruiter|assessor|hr|admin",
/// "assessor": "scheme:assessor"}` (assessor accounts only). The person signs in with a link
/// emailed to them from the staff sign-in page.
#[utoipa::path(post, path = "/api/v1/admin/staff", tag = "admin",
    request_body(content = Object, description = "{\"email\", \"name\", \"role\", \"assessor\"}"),
    responses((status = 201, body = StaffView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_staff(
    state: web::Data<AppState>,
    auth: Auth,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageStaff)?;
    let value = body::json(payload, &state.settings.server).await?;
    let mut e = FieldErrors::new();
    let Some(mut r) = ObjectReader::new("", &value, &mut e) else { return Err(e.into()) };
    let email = r.text("email", 254, true, &mut e).unwrap_or_default();
    let name = r.text("name", 200, true, &mut e).unwrap_or_default();
    let role = r.text("role", 20, true, &mut e).unwrap_or_default();
    let assessor = r.text("assessor", 200, false, &mut e).unwrap_or_default();
    r.finish_unknown(&mut e);
    if !e.is_empty() {
        return Err(e.into());
    }
    let acc = new_staff(&state, &auth, &email, &name, &role, &assessor).await?;
    Ok(HttpResponse::Created().json(StaffView::from(acc)))
}

/// Every staff account, by name.
#[utoipa::path(get, path = "/api/v1/admin/staff", tag = "admin",
    responses((status = 200, body = Vec<StaffView>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_staff(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageStaff)?;
    let all: Vec<StaffView> = store::staff::list(&state.db).await?.into_iter().map(StaffView::from).collect();
    Ok(HttpResponse::Ok().json(all))
}

/// Disable a staff account: it cannot sign in again, and its sessions end at once. Audited.
#[utoipa::path(post, path = "/api/v1/admin/staff/{id}/disable", tag = "admin",
    params(("id" = String, Path)),
    responses((status = 204, description = "disabled"), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn disable_staff(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageStaff)?;
    let now = state.clock.now();
    if path.len() > 64 || !store::staff::disable(&state.db, &path, now).await? {
        return Err(ApiError::NotFound("staff account"));
    }
    store::audit::record_detail(&state.db, &auth.0, "disable staff account", None, Some(&path), now).await?;
    Ok(HttpResponse::NoContent().finish())
}
