//! The recruiters' list of a scheme's applicants: search by name, email or reference, filter
//! by stage, stream and flags, sort by submission or composite score, keyset pages; CSV of
//! the whole filtered list. No equality answer is read; names follow the scheme's name-blind
//! rule.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use fasttrack_core::Status;
use fasttrack_core::auth::Action;
use fasttrack_core::store::applicants::{self, Flag, Query, Sort};
use fasttrack_core::validation::FieldErrors;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use super::AppState;
use super::auth::Auth;
use super::error::{ApiError, Problem};

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// A name, email address or reference (any part of a name or address, any case).
    pub q: Option<String>,
    /// Stages, comma-separated (e.g. `shortlisted,reserve`).
    pub status: Option<String>,
    /// The stream ranked first.
    pub stream: Option<String>,
    /// Comma-separated: `disability_confident`, `adjustments`, `dead_email`.
    pub flag: Option<String>,
    /// `submitted` (newest first, the default) or `score` (highest composite first: scored
    /// applications only).
    pub sort: Option<String>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    /// Rows per page, 1–200 (default 50).
    pub limit: Option<i64>,
    /// `csv`: the whole filtered list as CSV (as does `Accept: text/csv`).
    pub format: Option<String>,
    /// Only these references, comma-separated (at most 200): a selection to export.
    pub ids: Option<String>,
}

fn parse(p: &ListParams) -> Result<(Query, i64), ApiError> {
    let mut e = FieldErrors::new();
    let mut statuses = Vec::new();
    for s in p.status.iter().flat_map(|s| s.split(',')).map(str::trim).filter(|s| !s.is_empty()) {
        match Status::parse(s) {
            Some(st) => statuses.push(st),
            None => {
                let all: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
                e.push("status", format!("{s} is not a stage: use {}", all.join(", ")));
            }
        }
    }
    let mut flags = Vec::new();
    for f in p.flag.iter().flat_map(|s| s.split(',')).map(str::trim).filter(|s| !s.is_empty()) {
        match f {
            "disability_confident" => flags.push(Flag::DisabilityConfident),
            "adjustments" => flags.push(Flag::Adjustments),
            "dead_email" => flags.push(Flag::DeadEmail),
            other => {
                e.push("flag", format!("{other} is not a flag: use disability_confident, adjustments, dead_email"))
            }
        }
    }
    let sort = match p.sort.as_deref() {
        None | Some("submitted") => Sort::Submitted,
        Some("score") => Sort::Score,
        Some(_) => {
            e.push("sort", "must be submitted or score");
            Sort::Submitted
        }
    };
    let after = match p.cursor.as_deref() {
        None => None,
        Some(c) => {
            let parsed = applicants::parse_cursor(c);
            if parsed.is_none() {
                e.push("cursor", "is not a cursor this list gave");
            }
            parsed
        }
    };
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        e.push("limit", "must be from 1 to 200");
    }
    if p.q.as_deref().is_some_and(|q| q.len() > 200) {
        e.push("q", "must be at most 200 characters");
    }
    let ids: Vec<String> =
        p.ids.iter().flat_map(|s| s.split(',')).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    if ids.len() > 200 {
        e.push("ids", "must name at most 200 references");
    } else if let Some(bad) = ids.iter().find(|i| i.parse::<fasttrack_core::ApplicationId>().is_err()) {
        e.push("ids", format!("{bad} is not a reference"));
    }
    if p.format.as_deref().is_some_and(|f| f != "csv" && f != "json") {
        e.push("format", "must be csv or json");
    }
    if !e.is_empty() {
        return Err(e.into());
    }
    let query = Query { q: p.q.clone(), statuses, stream: p.stream.clone(), flags, sort: Some(sort), after, ids };
    Ok((query, limit))
}

/// A scheme's applicants (recruiters): search, filters, sort and keyset pages; `format=csv`
/// (or `Accept: text/csv`) for the whole filtered list. No equality data; where the scheme is
/// name-blind, names appear once the application reaches the scheme's `names_from` stage.
#[utoipa::path(get, path = "/api/v1/schemes/{scheme}/applications", tag = "applications",
    params(("scheme" = String, Path), ListParams),
    responses((status = 200, description = "{items: [...], next: cursor or null}, or CSV", body = Object),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ListApplications)?;
    let scheme = state.schemes.get(&state.db, &path).await?.ok_or(ApiError::NotFound("scheme"))?;
    let (mut query, limit) = parse(&params)?;
    let names_from = scheme.name_blind.then_some(scheme.names_from);
    let csv = params.format.as_deref() == Some("csv")
        || req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/csv"));
    let now = state.clock.now();
    fasttrack_core::store::audit::staff_read(
        &state.db,
        &auth.0,
        "list applications",
        None,
        Some(scheme.id.as_str()),
        now,
    )
    .await?;
    if csv {
        let mut w = csv::Writer::from_writer(Vec::new());
        let head = [
            "reference",
            "name",
            "email",
            "status",
            "first stream",
            "submitted",
            "composite score",
            "disability confident",
            "adjustments",
        ];
        w.write_record(head).map_err(|e| ApiError::Internal(e.into()))?;
        loop {
            let page = applicants::list(&state.db, scheme.id.as_str(), names_from, &query, 1000).await?;
            for r in &page {
                let composite = r.composite.map(|c| format!("{c:.3}")).unwrap_or_default();
                w.write_record([
                    r.id.as_str(),
                    r.name.as_deref().unwrap_or(""),
                    r.email.as_deref().unwrap_or(""),
                    r.status.as_str(),
                    r.first_stream.as_str(),
                    r.submitted_at.as_str(),
                    composite.as_str(),
                    if r.disability_confident { "yes" } else { "no" },
                    if r.adjustments { "yes" } else { "no" },
                ])
                .map_err(|e| ApiError::Internal(e.into()))?;
            }
            match page.last() {
                Some(last) if page.len() == 1000 => query.after = applicants::parse_cursor(&last.cursor),
                _ => break,
            }
        }
        let body = w.into_inner().map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}-applicants.csv\"", scheme.id),
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body));
    }
    let mut rows = applicants::list(&state.db, scheme.id.as_str(), names_from, &query, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = if more { rows.last().map(|r| r.cursor.clone()) } else { None };
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(json!({"items": rows, "next": next})))
}
