//! Personal data under UK GDPR (SPEC §4): subject access export, erasure on request, the
//! retention dry run, and the audit log for admins.

use actix_web::{HttpResponse, http::header, web};
use fasttrack_core::auth::Action;
use fasttrack_core::store::{self, audit, personal};
use fasttrack_core::validation::{FieldErrors, ObjectReader};
use fasttrack_workers::retention;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;

use super::applications::{leave, parse_id};
use super::auth::Auth;
use super::error::{ApiError, Problem};
use super::{AppState, body};

/// The workers' context for work a request does itself (an erasure).
fn ctx(state: &AppState) -> fasttrack_workers::Ctx {
    fasttrack_workers::Ctx::new(state.db.clone(), state.queue.clone(), state.clock.clone(), &state.settings)
}

/// Everything held about the applicant, as JSON: the application's form, equality answers,
/// test answers and scores (with the key and norm versions), the sift, the booking, the
/// assessment centre's scores and judgement, the offer, outcomes, every email (kind,
/// subject, state, times), the timeline and the audit entries about them. The applicant (own)
/// or an admin; the read is audited. Each section is described in the `SubjectAccessExport`
/// schema.
#[utoipa::path(get, path = "/api/v1/applications/{id}/export", tag = "personal data",
    params(("id" = String, Path)),
    responses((status = 200, description = "everything held, section by section",
            body = Object, content_type = "application/json",
            headers(("Content-Disposition" = String, description = "attachment; filename=fasttrack-{id}.json"))),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn export(state: web::Data<AppState>, auth: Auth, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    auth.require(Action::ExportData(id))?;
    let mut held = personal::export(&state.db, id).await?.ok_or(ApiError::NotFound("application"))?;
    // Each email's subject, rendered from what it was written with (nothing once erased).
    let subjects = personal::email_subjects_context(&state.db, id).await?;
    let templates = fasttrack_workers::notify::render::Templates::new();
    if let Some(Value::Array(emails)) = held.get_mut("emails") {
        for e in emails.iter_mut() {
            let subject = e["id"].as_str().and_then(|nid| subjects.get(nid)).and_then(|(template, context)| {
                let context = fasttrack_workers::notify::render::with_links(context, "", "", "");
                templates.render(template, &context).ok().map(|r| r.subject)
            });
            e["subject"] = subject.map_or(Value::Null, Value::String);
        }
    }
    let now = state.clock.now();
    held.insert("exported_at".into(), Value::String(now.to_string()));
    audit::record(&state.db, &auth.0, "export personal data", Some(id), now).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"fasttrack-{id}.json\"")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Value::Object(held)))
}

/// Erase the applicant's personal data (the applicant, or an admin on their request): `{"confirm":
/// true}`. An application in a running stage is withdrawn first, its seat or place passed on.
/// What is left is a tombstone (ids, scheme, stages, dates), so published figures and the
/// audit log stay true. The person is emailed before their address goes. Erasing again
/// answers the same.
#[utoipa::path(post, path = "/api/v1/applications/{id}/erasure", tag = "personal data",
    params(("id" = String, Path)),
    request_body(content = Object, description = "{\"confirm\": true}"),
    responses((status = 200, description = "erased", body = Object, content_type = "application/json"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn erase(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    auth.require(Action::EraseData(id))?;
    let value = body::json(payload, &state.settings.server).await?;
    let mut e = FieldErrors::new();
    let Some(mut r) = ObjectReader::new("", &value, &mut e) else { return Err(e.into()) };
    let confirm = r.boolean("confirm", true, &mut e);
    r.finish_unknown(&mut e);
    if confirm == Some(false) {
        e.push("confirm", "must be true: erasure cannot be undone");
    }
    if !e.is_empty() {
        return Err(e.into());
    }
    Ok(HttpResponse::Ok().json(erase_confirmed(&state, &auth, id).await?))
}

/// The erasure itself, once confirmed (the API and the pages): withdraws a live application,
/// erases, and answers the tombstone's id, status and erasure time.
pub async fn erase_confirmed(
    state: &AppState,
    auth: &Auth,
    id: fasttrack_core::ApplicationId,
) -> Result<Value, ApiError> {
    auth.require(Action::EraseData(id))?;
    let app = store::applications::get(&state.db, id).await?.ok_or(ApiError::NotFound("application"))?;
    if app.erased_at.is_none() && !app.status.is_final() {
        leave(state, auth, &app, false).await?;
    }
    let because = match auth.0.role {
        fasttrack_core::Role::Applicant => "you asked us to",
        _ => "you asked us to, and our data protection team acted on your request",
    };
    let actor = audit::actor_of(&auth.0);
    match retention::erase_one(&ctx(state), id, &actor, "request", because, auth.0.request_id.as_deref())
        .await
        .map_err(ApiError::Internal)?
    {
        personal::Erasure::NotFound => return Err(ApiError::NotFound("application")),
        personal::Erasure::Live(s) => {
            return Err(ApiError::Conflict {
                title: "Cannot erase yet",
                detail: format!("the application is {s}; it must be withdrawn first"),
            });
        }
        personal::Erasure::AlreadyErased | personal::Erasure::Erased { .. } => {}
    }
    let app = store::applications::get(&state.db, id).await?.ok_or(ApiError::NotFound("application"))?;
    Ok(json!({"id": id.to_string(), "status": app.status.as_str(), "erased_at": app.erased_at.map(|t| t.to_string())}))
}

/// What the retention rules would erase now, and why (admins): a dry run; the daily run
/// itself happens in the workers.
#[utoipa::path(get, path = "/api/v1/admin/retention", tag = "personal data",
    responses((status = 200, description = "applications due for erasure", body = Object, content_type = "application/json"),
        (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn retention_due(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ManageRetention)?;
    let due = retention::due(&ctx(&state), usize::MAX).await.map_err(ApiError::Internal)?;
    let last_run = store::leases::done_on(&state.db, retention::LEASE).await?;
    let items: Vec<&retention::DueItem> = due.iter().map(|(i, _)| i).collect();
    Ok(HttpResponse::Ok().json(json!({"count": items.len(), "due": items, "last_run_on": last_run})))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only entries about this application.
    pub application: Option<String>,
    /// Only entries by this actor (`role:token id`, `system:…`, `job:…`).
    pub actor: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    pub since: Option<String>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    /// At most this many entries (1–500, default 100).
    pub limit: Option<i64>,
}

/// The audit log (admins): every read of an application by staff, every change by anyone
/// (people and jobs, the status changes of the timelines included), oldest first, with a
/// cursor for the next page. Append-only: nothing in the service updates or deletes it.
#[utoipa::path(get, path = "/api/v1/audit", tag = "personal data", params(AuditQuery),
    responses((status = 200, description = "{entries: [...], next: cursor or null}", body = Object, content_type = "application/json"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn audit_log(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ReadAudit)?;
    let q = query.into_inner();
    let mut e = FieldErrors::new();
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        e.push("limit", "must be from 1 to 500");
    }
    let since = match q.since.as_deref().map(str::parse::<jiff::Timestamp>) {
        Some(Ok(t)) => Some(t),
        Some(Err(_)) => {
            e.push("since", "must be a time like 2027-01-31T09:00:00Z");
            None
        }
        None => None,
    };
    let after = match q.cursor.as_deref().map(audit::parse_cursor) {
        Some(Some(c)) => Some(c),
        Some(None) => {
            e.push("cursor", "is not a cursor this endpoint gave");
            None
        }
        None => None,
    };
    if !e.is_empty() {
        return Err(e.into());
    }
    let filter = audit::Filter { application: q.application, actor: q.actor, since, after };
    let entries = audit::read(&state.db, &filter, limit + 1).await?;
    let more = entries.len() as i64 > limit;
    let entries: Vec<audit::Entry> = entries.into_iter().take(limit as usize).collect();
    let next = if more { entries.last().map(|e| e.cursor.clone()) } else { None };
    Ok(HttpResponse::Ok().json(json!({"entries": entries, "next": next})))
}

/// The export's sections and fields, from the catalogue the export itself reads (so the
/// document cannot drift from what is sent).
pub fn export_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let mut top = ObjectBuilder::new()
        .description(Some("Everything held about an applicant (GET /api/v1/applications/{id}/export)."))
        .property(
            "exported_at",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::DateTime))),
        );
    for held in personal::CATALOGUE {
        let Some(section) = held.section else { continue };
        let mut row = ObjectBuilder::new().description(Some(held.about));
        for (name, kind, about) in held.columns {
            let t = match kind {
                personal::Kind::Text | personal::Kind::Time => Type::String,
                personal::Kind::Int => Type::Integer,
                personal::Kind::Real => Type::Number,
                personal::Kind::Flag => Type::Boolean,
                personal::Kind::Json => Type::Object,
            };
            row = row.property(*name, ObjectBuilder::new().schema_type(t).description(Some(*about)));
        }
        if section == "emails" {
            row = row.property(
                "subject",
                ObjectBuilder::new().schema_type(Type::String).description(Some("The subject line it was sent with.")),
            );
        }
        top = if held.one_row {
            top.property(section, row)
        } else {
            top.property(section, ArrayBuilder::new().items(row).description(Some(held.about)))
        };
    }
    top.build().into()
}
