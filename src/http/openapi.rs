//! The OpenAPI document of the whole API, generated from the handlers' annotations.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    admin, applicants, applications, assessment, centres, error, metrics, notifications, offers, ops, personal,
    schemes, sift, surveys, tests, vacancies, webhooks,
};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The subject access export, field by field, from the catalogue of personal data.
struct ExportSchema;

impl Modify for ExportSchema {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.schemas.insert("SubjectAccessExport".into(), personal::export_schema().into());
        let export = doc.paths.paths.get_mut("/api/v1/applications/{id}/export").and_then(|p| p.get.as_mut());
        if let Some(op) = export
            && let Some(utoipa::openapi::RefOr::T(ok)) = op.responses.responses.get_mut("200")
        {
            for content in ok.content.values_mut() {
                content.schema = Some(utoipa::openapi::Ref::from_schema_name("SubjectAccessExport").into());
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "fasttrack", description = "Recruitment pipeline for graduate fast-track schemes. Errors are \
        application/problem+json (RFC 9457) with a field list on 422."),
    paths(
        ops::health, ops::ready, ops::metrics, document,
        schemes::list, schemes::create, schemes::get, schemes::patch, schemes::close,
        applications::apply, applicants::list, applications::get, applications::withdraw,
        tests::list, tests::start, tests::respond, webhooks::test_results,
        sift::run, sift::job, sift::override_dc,
        centres::create, centres::list, centres::add_session, centres::schedule, centres::booking, centres::accept, centres::decline, centres::rebook,
        centres::no_show,
        vacancies::create, vacancies::list, vacancies::get, vacancies::patch,
        assessment::list, assessment::get, assessment::score, assessment::results,
        offers::run, offers::get, offers::accept, offers::decline, offers::record,
        metrics::funnel, metrics::equality, metrics::profile,
        surveys::create, surveys::list, surveys::respond, surveys::tables,
        notifications::list, notifications::retry,
        admin::create_token, admin::list_tokens, admin::revoke_token, admin::workers,
        admin::create_staff, admin::list_staff, admin::disable_staff,
        personal::export, personal::erase, personal::retention_due, personal::audit_log,
    ),
    components(schemas(error::Problem)),
    modifiers(&BearerAuth, &ExportSchema),
)]
pub struct ApiDoc;

/// The methods the document gives a concrete path (`/api/v1/schemes/gmts` → GET, PATCH),
/// matching each `{parameter}` to one segment; empty when no documented path fits.
pub fn methods_of(path: &str) -> Vec<String> {
    static PATHS: std::sync::LazyLock<Vec<(Vec<String>, Vec<String>)>> = std::sync::LazyLock::new(|| {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        doc["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .iter()
                    .map(|(p, ops)| {
                        let segments = p.split('/').map(str::to_owned).collect();
                        let methods =
                            ops.as_object().map(|o| o.keys().map(|m| m.to_uppercase()).collect()).unwrap_or_default();
                        (segments, methods)
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let asked: Vec<&str> = path.split('/').collect();
    let mut out: Vec<String> = PATHS
        .iter()
        .filter(|(segments, _)| {
            segments.len() == asked.len()
                && segments.iter().zip(&asked).all(|(s, a)| (s.starts_with('{') && !a.is_empty()) || s == a)
        })
        .flat_map(|(_, methods)| methods.iter().cloned())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", responses((status = 200, content_type = "application/json")))]
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
