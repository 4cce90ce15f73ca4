//! Vacancies of a scheme that places into posts as they arrive (SPEC §8, DDaT): recruiters
//! post them, list them, change their posts or dates, and withdraw them.

use actix_web::{HttpResponse, web};
use fasttrack_core::auth::Action;
use fasttrack_core::store::{audit, vacancies};
use fasttrack_core::vacancies::{NewVacancy, VacancyChange};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use super::auth::Auth;
use super::error::{ApiError, Problem};
use super::{AppState, body};

async fn vacancy_scheme(
    state: &AppState,
    id: &str,
) -> Result<std::sync::Arc<fasttrack_core::scheme::SchemeDefinition>, ApiError> {
    let scheme = state.schemes.get(&state.db, id).await?.ok_or(ApiError::NotFound("scheme"))?;
    if scheme.talent_pool.is_none() {
        return Err(ApiError::Conflict {
            title: "No vacancies",
            detail: "this scheme's places are known at closing; only schemes with a talent pool take vacancies".into(),
        });
    }
    Ok(scheme)
}

/// Post a vacancy: `{"organisation", "role_family", "region", "posts", "start_date",
/// "closes_on"}`. The next matching run fills it from the talent pool.
#[utoipa::path(post, path = "/api/v1/schemes/{scheme}/vacancies", tag = "vacancies", params(("scheme" = String, Path)),
    request_body(content = Object, description = "A vacancy"),
    responses((status = 201, description = "the vacancy"), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageVacancies)?;
    let scheme = vacancy_scheme(&state, &path).await?;
    let value = body::json(payload, &state.settings.server).await?;
    let new = NewVacancy::parse(&value, &scheme, state.clock.today())?;
    let now = state.clock.now();
    let v = vacancies::create(&state.db, scheme.id.as_str(), &new, &audit::actor_of(&auth.0), now).await?;
    audit::record_detail(&state.db, &auth.0, "post vacancy", None, Some(&v.id), now).await?;
    tracing::info!(scheme = %scheme.id, vacancy = %v.id, posts = v.posts, "vacancy posted");
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/schemes/{}/vacancies/{}", scheme.id, v.id)))
        .json(v))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `open` for open vacancies only.
    pub state: Option<String>,
}

/// A scheme's vacancies, soonest closing first, with their posts filled.
#[utoipa::path(get, path = "/api/v1/schemes/{scheme}/vacancies", tag = "vacancies",
    params(("scheme" = String, Path), ListQuery),
    responses((status = 200, description = "{vacancies: [...]}"), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageVacancies)?;
    let scheme = vacancy_scheme(&state, &path).await?;
    let open_only = match q.state.as_deref() {
        None => false,
        Some("open") => true,
        Some(_) => return Err(ApiError::invalid("state", "must be open, or left out for every vacancy")),
    };
    let all = vacancies::list(&state.db, scheme.id.as_str(), open_only).await?;
    Ok(HttpResponse::Ok().json(json!({"vacancies": all})))
}

/// One vacancy.
#[utoipa::path(get, path = "/api/v1/schemes/{scheme}/vacancies/{vacancy}", tag = "vacancies",
    params(("scheme" = String, Path), ("vacancy" = String, Path)),
    responses((status = 200, description = "the vacancy"), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageVacancies)?;
    let (scheme, id) = path.into_inner();
    let scheme = vacancy_scheme(&state, &scheme).await?;
    let v = vacancies::get(&state.db, scheme.id.as_str(), &id).await?.ok_or(ApiError::NotFound("vacancy"))?;
    Ok(HttpResponse::Ok().json(v))
}

/// Change a vacancy: `{"posts"?, "start_date"?, "closes_on"?, "state"?: "withdrawn"}`. Posts
/// cannot go below those already filled; a withdrawn vacancy is matched no more.
#[utoipa::path(patch, path = "/api/v1/schemes/{scheme}/vacancies/{vacancy}", tag = "vacancies",
    params(("scheme" = String, Path), ("vacancy" = String, Path)),
    request_body(content = Object, description = "The fields that change"),
    responses((status = 200, description = "the vacancy"), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn patch(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageVacancies)?;
    let (scheme, id) = path.into_inner();
    let scheme = vacancy_scheme(&state, &scheme).await?;
    let current = vacancies::get(&state.db, scheme.id.as_str(), &id).await?.ok_or(ApiError::NotFound("vacancy"))?;
    let value = body::json(payload, &state.settings.server).await?;
    let change = VacancyChange::parse(&value, (current.start_date, current.closes_on), state.clock.today())?;
    let now = state.clock.now();
    let v = vacancies::change(&state.db, scheme.id.as_str(), &id, &change, now).await.map_err(|e| match e {
        vacancies::ChangeError::NotFound => ApiError::NotFound("vacancy"),
        vacancies::ChangeError::BelowFilled(filled) => ApiError::Conflict {
            title: "Posts already filled",
            detail: format!("{filled} of its posts are filled; a vacancy cannot have fewer posts than that"),
        },
        vacancies::ChangeError::Withdrawn => ApiError::Conflict {
            title: "Vacancy withdrawn",
            detail: "the vacancy is withdrawn; post a new one instead".into(),
        },
        vacancies::ChangeError::Db(e) => e.into(),
    })?;
    let what = if change.withdraw { "withdraw vacancy" } else { "change vacancy" };
    audit::record_detail(&state.db, &auth.0, what, None, Some(&v.id), now).await?;
    Ok(HttpResponse::Ok().json(v))
}
