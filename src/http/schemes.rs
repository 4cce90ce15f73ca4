//! Schemes: the open ones for anyone, and creation for recruiters.

use actix_web::{HttpResponse, web};
use fasttrack_core::auth::Action;
use fasttrack_core::scheme::{Phase, SchemeDefinition};
use fasttrack_core::store::{self, schemes::CreateError};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::auth::Auth;
use super::error::{ApiError, Problem};
use super::{AppState, body};

#[derive(Serialize, ToSchema)]
pub struct StreamView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub places: u32,
}

#[derive(Serialize, ToSchema)]
pub struct SchemeView {
    pub id: String,
    pub name: String,
    pub description: String,
    #[schema(value_type = String, format = DateTime)]
    pub opens_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub closes_at: Timestamp,
    pub places: u32,
    pub streams: Vec<StreamView>,
    /// not_open, open or closed.
    #[schema(value_type = String)]
    pub phase: Phase,
    /// The trainees' first day, where the scheme says.
    #[schema(value_type = Option<String>, format = Date)]
    pub starts_on: Option<jiff::civil::Date>,
    /// The privacy notice applicants read: send its `version` as `privacy_notice_version`
    /// when applying.
    #[schema(value_type = Object)]
    pub privacy_notice: fasttrack_core::scheme::PrivacyNotice,
    /// Where a scheme that places into vacancies places (send the ids the applicant can work
    /// in as `regions` when applying); empty for schemes whose places are known at closing.
    pub regions: Vec<RegionView>,
    /// How many months a candidate rated appointable stays in the talent pool, for schemes
    /// that match vacancies as they arrive.
    pub talent_pool_months: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct RegionView {
    pub id: String,
    pub name: String,
}

impl SchemeView {
    pub fn at(d: &SchemeDefinition, now: Timestamp) -> Self {
        SchemeView {
            phase: d.phase(now),
            id: d.id.to_string(),
            name: d.name.clone(),
            description: d.description.trim().to_owned(),
            opens_at: d.opens_at,
            closes_at: d.closes_at,
            places: d.total_places(),
            streams: d
                .streams
                .iter()
                .map(|s| StreamView {
                    id: s.id.to_string(),
                    name: s.name.clone(),
                    description: s.description.clone(),
                    places: s.total_places(),
                })
                .collect(),
            starts_on: d.starts_on,
            privacy_notice: d.privacy_notice.clone(),
            regions: d.regions.iter().map(|r| RegionView { id: r.id.to_string(), name: r.name.clone() }).collect(),
            talent_pool_months: d.talent_pool.as_ref().map(|p| p.months),
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// `all`: every scheme, closed and not yet open too, with its phase (recruiters, admins).
    pub include: Option<String>,
}

/// Schemes open for applications now, soonest closing first; with `include=all` and a staff
/// token, every scheme with its phase.
#[utoipa::path(get, path = "/api/v1/schemes", tag = "schemes", params(ListQuery),
    responses((status = 200, body = Vec<SchemeView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    auth: Option<Auth>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let stored = match query.include.as_deref() {
        None => store::schemes::list_open(&state.db, now).await?,
        Some("all") => {
            auth.ok_or(ApiError::Unauthorized)?.require(Action::ManageScheme)?;
            store::schemes::list_all(&state.db).await?
        }
        Some(other) => return Err(ApiError::BadRequest(format!("include must be all, not {other}"))),
    };
    let views: Vec<SchemeView> = stored.iter().map(|s| SchemeView::at(&s.definition, now)).collect();
    Ok(HttpResponse::Ok().json(views))
}

/// A scheme's whole definition and phase, closed or not (recruiters, admins): every setting,
/// the disclosure threshold included.
#[utoipa::path(get, path = "/api/v1/schemes/{scheme}", tag = "schemes", params(("scheme" = String, Path)),
    responses((status = 200, description = "{\"phase\", \"definition\", \"created_at\", \"updated_at\"}"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(state: web::Data<AppState>, auth: Auth, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageScheme)?;
    let stored = store::schemes::get(&state.db, &path).await?.ok_or(ApiError::NotFound("scheme"))?;
    Ok(HttpResponse::Ok().json(full_view(&stored, state.clock.now())))
}

fn full_view(s: &store::schemes::StoredScheme, now: Timestamp) -> serde_json::Value {
    json!({
        "phase": s.definition.phase(now), "definition": s.definition,
        "created_at": s.created_at.to_string(), "updated_at": s.updated_at.to_string(),
    })
}

/// Change a scheme with a JSON merge patch (RFC 7396) of its definition, while that is safe:
/// what may change once it is open or closed is decided by the core and refused with 409
/// saying why; the result is checked as a whole (422 field by field).
#[utoipa::path(patch, path = "/api/v1/schemes/{scheme}", tag = "schemes", params(("scheme" = String, Path)),
    request_body(content = Object, description = "The fields of the definition to change"),
    responses((status = 200, description = "the changed scheme"), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn patch(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageScheme)?;
    let value = body::json(payload, &state.settings.server).await?;
    let stored = store::schemes::get(&state.db, &path).await?.ok_or(ApiError::NotFound("scheme"))?;
    let new = stored.definition.patched(&value)?;
    change(&state, &auth, &stored.definition, new).await
}

/// Close a scheme now, before its closing date (recruiters, admins). Its tests can then be
/// finished within their own limits, and the sift follows.
#[utoipa::path(post, path = "/api/v1/schemes/{scheme}/close", tag = "schemes", params(("scheme" = String, Path)),
    responses((status = 200, description = "the closed scheme"), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "not open")),
    security(("bearer" = [])))]
pub async fn close(state: web::Data<AppState>, auth: Auth, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageScheme)?;
    let stored = store::schemes::get(&state.db, &path).await?.ok_or(ApiError::NotFound("scheme"))?;
    let now = state.clock.now();
    let phase = stored.definition.phase(now);
    if phase != Phase::Open {
        let detail = match phase {
            Phase::NotOpen => format!("it does not open until {}", stored.definition.opens_at),
            _ => format!("it closed on {}", stored.definition.closes_at),
        };
        return Err(ApiError::Conflict { title: "Scheme not open", detail });
    }
    let mut new = stored.definition.clone();
    new.closes_at = now;
    save(&state, &auth, &stored.definition, &new, "close scheme", now).await
}

async fn change(
    state: &AppState,
    auth: &Auth,
    old: &SchemeDefinition,
    new: SchemeDefinition,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let problems = old.change_problems(&new, now);
    if !problems.is_empty() {
        let detail = problems.iter().map(|(f, why)| format!("{f}: {why}")).collect::<Vec<_>>().join("; ");
        return Err(ApiError::Conflict { title: "Not safe to change now", detail });
    }
    for (i, c) in new.assessment_centres.iter().enumerate() {
        if let Some(why) = new.centre_date_problem(c) {
            return Err(ApiError::invalid(&format!("assessment_centres[{i}].date"), why));
        }
    }
    save(state, auth, old, &new, "change scheme", now).await
}

/// Stores a changed definition (compare-and-set on `old`), drops this process's cached copy,
/// audits the change by scheme id, and answers with the scheme as stored.
async fn save(
    state: &AppState,
    auth: &Auth,
    old: &SchemeDefinition,
    new: &SchemeDefinition,
    action: &str,
    now: Timestamp,
) -> Result<HttpResponse, ApiError> {
    if !store::schemes::update(&state.db, old, new, now).await? {
        return Err(ApiError::Conflict {
            title: "Changed meanwhile",
            detail: "the scheme changed while this was made; try again".into(),
        });
    }
    state.schemes.forget(new.id.as_str());
    store::audit::record_detail(&state.db, &auth.0, action, None, Some(new.id.as_str()), now).await?;
    tracing::info!(scheme = %new.id, action, "scheme saved");
    let stored = store::schemes::get(&state.db, new.id.as_str()).await?.ok_or(ApiError::NotFound("scheme"))?;
    Ok(HttpResponse::Ok().json(full_view(&stored, now)))
}

/// Create a scheme: the same shape as a `config/schemes/*.toml` file, as JSON.
#[utoipa::path(post, path = "/api/v1/schemes", tag = "schemes",
    request_body(content = Object, description = "A scheme definition, as in config/schemes/*.toml"),
    responses((status = 201, body = SchemeView), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(state: web::Data<AppState>, auth: Auth, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    auth.require(Action::CreateScheme)?;
    let value = body::json(payload, &state.settings.server).await?;
    let def = SchemeDefinition::parse_json(value)?;
    if def.closes_at <= state.clock.now() {
        return Err(ApiError::invalid("closes_at", "must be in the future: a new scheme cannot have closed already"));
    }
    store::schemes::create(&state.db, &def, state.clock.now()).await.map_err(|e| match e {
        CreateError::Exists(id) => {
            ApiError::Conflict { title: "Scheme exists", detail: format!("a scheme with id {id} already exists") }
        }
        CreateError::Db(e) => e.into(),
    })?;
    tracing::info!(scheme = %def.id, "scheme created");
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/schemes/{}", def.id)))
        .json(SchemeView::at(&def, state.clock.now())))
}
