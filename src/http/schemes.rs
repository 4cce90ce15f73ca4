//! Schemes: the open ones for anyone, and creation for recruiters.

use actix_web::{HttpResponse, web};
use fasttrack_core::auth::Action;
use fasttrack_core::scheme::SchemeDefinition;
use fasttrack_core::store::{self, schemes::CreateError};
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

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
}

impl From<&SchemeDefinition> for SchemeView {
    fn from(d: &SchemeDefinition) -> Self {
        SchemeView {
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
        }
    }
}

/// Schemes open for applications now, soonest closing first.
#[utoipa::path(get, path = "/api/v1/schemes", tag = "schemes",
    responses((status = 200, body = Vec<SchemeView>)))]
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let open = store::schemes::list_open(&state.db, state.clock.now()).await?;
    let views: Vec<SchemeView> = open.iter().map(|s| SchemeView::from(&s.definition)).collect();
    Ok(HttpResponse::Ok().json(views))
}

/// Create a scheme: the same shape as a `config/schemes/*.toml` file, as JSON.
#[utoipa::path(post, path = "/api/v1/schemes", tag = "schemes",
    request_body(content = Object, description = "A scheme definition, as in config/schemes/*.toml"),
    responses((status = 201, body = SchemeView), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(state: web::Data<AppState>, auth: Auth, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    auth.require(Action::CreateScheme)?;
    let value = body::json(payload, state.settings.server.max_body_bytes).await?;
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
        .json(SchemeView::from(&def)))
}
