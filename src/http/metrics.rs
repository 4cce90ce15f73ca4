//! HR statistics: the funnel and the equality of selection between stages, as
//! JSON or (with `Accept: text/csv`) CSV. Aggregates only, disclosure-controlled;
//! for `hr` and `admin`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use fasttrack_core::auth::Action;
use fasttrack_core::metrics::{Characteristic, STAGES};
use fasttrack_core::reports::{self, Equality, Funnel};
use fasttrack_core::scheme::SchemeDefinition;
use fasttrack_core::store::{metrics, schemes};
use fasttrack_core::validation::FieldErrors;
use serde::Deserialize;
use utoipa::IntoParams;

use super::AppState;
use super::auth::Auth;
use super::error::{ApiError, Problem};

#[derive(Deserialize, IntoParams)]
pub struct FunnelQuery {
    /// ethnicity (ONS 2021), ethnic_group (five groups), white_bme, sex, gender_same_as_birth,
    /// age_band, disability, sexual_orientation, religion, socio_economic_background,
    /// school_type, free_school_meals, first_generation_university, degree_class
    pub by: Option<String>,
    /// Only applicants whose first preference is this stream.
    pub stream: Option<String>,
    /// `csv` for CSV (as does `Accept: text/csv`).
    pub format: Option<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct EqualityQuery {
    /// The earlier stage, e.g. shortlisted.
    pub from: Option<String>,
    /// The later stage, e.g. offered.
    pub to: Option<String>,
    /// As for the funnel; default white_bme.
    pub by: Option<String>,
    pub stream: Option<String>,
    /// `csv` for CSV (as does `Accept: text/csv`).
    pub format: Option<String>,
}

fn wants_csv(req: &HttpRequest, format: Option<&str>) -> bool {
    format == Some("csv")
        || req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/csv"))
}

fn characteristic(raw: Option<&str>, default: Option<&str>, e: &mut FieldErrors) -> Option<(Characteristic, String)> {
    let Some(name) = raw.or(default) else {
        e.push("by", format!("is required: one of {}", Characteristic::names().join(", ")));
        return None;
    };
    match Characteristic::parse(name) {
        Some(c) => Some((c, name.to_owned())),
        None => {
            e.push("by", format!("must be one of {}", Characteristic::names().join(", ")));
            None
        }
    }
}

/// Funnel counts of every stream of the scheme, in the scheme's order: reports protect them
/// together (with the scheme's, their sum), so one stream's hidden count cannot be worked out
/// from the others'. Applications count in the stream of their first preference.
async fn stream_counts(
    state: &AppState,
    scheme: &SchemeDefinition,
    by: Characteristic,
) -> Result<Vec<Vec<(String, Option<String>, u64)>>, ApiError> {
    let mut out = Vec::with_capacity(scheme.streams.len());
    for s in &scheme.streams {
        out.push(metrics::published_funnel(&state.db, scheme.id.as_str(), by, Some(s.id.as_str())).await?);
    }
    if out.is_empty() {
        out.push(metrics::published_funnel(&state.db, scheme.id.as_str(), by, None).await?);
    }
    Ok(out)
}

fn stream<'a>(scheme: &SchemeDefinition, raw: Option<&'a str>, e: &mut FieldErrors) -> Option<&'a str> {
    let s = raw?;
    if scheme.stream(s).is_none() {
        e.push("stream", "is not a stream of this scheme");
    }
    Some(s)
}

fn stage(raw: Option<&str>, field: &str, e: &mut FieldErrors) -> Option<usize> {
    let names: Vec<&str> = STAGES.iter().map(|s| s.as_str()).collect();
    match raw.and_then(|r| names.iter().position(|n| *n == r)) {
        Some(i) => Some(i),
        None => {
            e.push(field, format!("must be one of {}", names.join(", ")));
            None
        }
    }
}

async fn load_scheme(state: &AppState, auth: &Auth, id: &str) -> Result<SchemeDefinition, ApiError> {
    auth.require(Action::ReadMetrics)?;
    Ok(schemes::get(&state.db, id).await?.ok_or(ApiError::NotFound("scheme"))?.definition)
}

fn csv_response(name: &str, rows: Vec<Vec<String>>, rule: &str) -> Result<HttpResponse, ApiError> {
    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    for row in &rows {
        w.write_record(row).map_err(|e| ApiError::Internal(e.into()))?;
    }
    w.write_record(["note", rule]).map_err(|e| ApiError::Internal(e.into()))?;
    let mut body = "\u{feff}".as_bytes().to_vec(); // BOM: spreadsheets then read UTF-8
    body.extend(w.into_inner().map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\"")))
        .body(body))
}

fn funnel_csv(f: &Funnel) -> Vec<Vec<String>> {
    let mut rows = vec![std::iter::once(f.by.clone()).chain(f.stages.iter().map(|s| (*s).to_owned())).collect()];
    for r in &f.rows {
        rows.push(std::iter::once(r.category.to_owned()).chain(r.counts.iter().map(|c| c.text())).collect());
    }
    rows.push(std::iter::once("total".to_owned()).chain(f.totals.iter().map(|c| c.text())).collect());
    rows
}

/// For every stage, how many applicants of each category reached it.
#[utoipa::path(get, path = "/api/v1/schemes/{scheme}/metrics/funnel", tag = "metrics",
    params(("scheme" = String, Path), FunnelQuery),
    responses((status = 200, description = "JSON, or CSV with Accept: text/csv"), (status = 403, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn funnel(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    query: web::Query<FunnelQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let scheme = load_scheme(&state, &auth, &path).await?;
    let mut e = FieldErrors::new();
    let by = characteristic(query.by.as_deref(), None, &mut e);
    let stream = stream(&scheme, query.stream.as_deref(), &mut e);
    let Some((by, by_name)) = by.filter(|_| e.is_empty()) else { return Err(e.into()) };
    let per_stream = stream_counts(&state, &scheme, by).await?;
    let frozen = metrics::frozen_stages(&state.db, scheme.id.as_str()).await?;
    let stages: Vec<&'static str> = STAGES.iter().map(|s| s.as_str()).collect();
    let selected = stream.and_then(|id| scheme.streams.iter().position(|s| s.id.as_str() == id));
    let threshold = u64::from(scheme.disclosure_threshold);
    let report = reports::funnel_of_streams(by, &by_name, &stages, &per_stream, selected, threshold, frozen);
    if wants_csv(&req, query.format.as_deref()) {
        return csv_response(&format!("{}-funnel-{by_name}", scheme.id), funnel_csv(&report), &report.disclosure.rule);
    }
    let frozen_at = if frozen > 0 { metrics::frozen_at(&state.db, scheme.id.as_str()).await? } else { None };
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({"scheme": scheme.id, "stream": stream, "funnel": report, "frozen_at": frozen_at})))
}

fn equality_csv(r: &Equality) -> Vec<Vec<String>> {
    let mut rows = vec![
        [
            r.by.as_str(),
            "considered",
            "selected",
            "selection_rate",
            "impact_ratio",
            "below_four_fifths",
            "z",
            "z_p_value",
            "fisher_p_value",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for g in &r.groups {
        rows.push(vec![
            g.group.to_owned(),
            g.considered.text(),
            g.selected.text(),
            g.selection_rate.text(),
            g.impact_ratio.text(),
            g.below_four_fifths.text(),
            g.z.text(),
            g.z_p_value.text(),
            g.fisher_p_value.text(),
        ]);
    }
    for (name, l) in [("WRES indicator 2", &r.wres_indicator_2), ("WDES metric 2", &r.wdes_metric_2)] {
        rows.push(vec![
            name.to_owned(),
            format!("{} vs {}", l.first, l.second),
            l.ratio.text(),
            l.ci95_low.text(),
            l.ci95_high.text(),
            l.reading.clone(),
        ]);
    }
    rows
}

/// Selection from one stage to a later one, per group: rates, impact ratios (four-fifths
/// flag), z and Fisher tests against everyone else, and WRES indicator 2 / WDES metric 2.
#[utoipa::path(get, path = "/api/v1/schemes/{scheme}/metrics/equality", tag = "metrics",
    params(("scheme" = String, Path), EqualityQuery),
    responses((status = 200, description = "JSON, or CSV with Accept: text/csv"), (status = 403, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn equality(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    query: web::Query<EqualityQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let scheme = load_scheme(&state, &auth, &path).await?;
    let mut e = FieldErrors::new();
    let from = stage(query.from.as_deref(), "from", &mut e);
    let to = stage(query.to.as_deref(), "to", &mut e);
    if let (Some(f), Some(t)) = (from, to)
        && t <= f
    {
        e.push("to", "must be a later stage than from");
    }
    let by = characteristic(query.by.as_deref(), Some("white_bme"), &mut e);
    let stream = stream(&scheme, query.stream.as_deref(), &mut e);
    let (Some(from), Some(to), Some((by, by_name))) = (from, to, by) else { return Err(e.into()) };
    if !e.is_empty() {
        return Err(e.into());
    }
    let (from, to) = (STAGES[from].as_str(), STAGES[to].as_str());
    let id = scheme.id.as_str();
    // Every stream's counts: the report is protected together with the other streams' and the
    // scheme's, so no stream's hidden count follows by subtraction.
    let streams: Vec<Option<&str>> = if scheme.streams.is_empty() {
        vec![None]
    } else {
        scheme.streams.iter().map(|s| Some(s.id.as_str())).collect()
    };
    let mut per_stream = Vec::with_capacity(streams.len());
    for s in &streams {
        per_stream.push((
            metrics::selection(&state.db, id, by, from, to, *s).await?,
            metrics::selection(&state.db, id, Characteristic::Question("ethnicity"), from, to, *s).await?,
            metrics::selection(&state.db, id, Characteristic::Question("disability"), from, to, *s).await?,
        ));
    }
    let counts: Vec<reports::SelectionCounts<'_>> = per_stream
        .iter()
        .map(|(raw, eth, dis)| reports::SelectionCounts { by: raw, ethnicity: eth, disability: dis })
        .collect();
    let selected = stream.and_then(|sid| scheme.streams.iter().position(|s| s.id.as_str() == sid));
    let threshold = u64::from(scheme.disclosure_threshold);
    let report = reports::equality_of_streams(by, &by_name, from, to, &counts, selected, threshold);
    if wants_csv(&req, query.format.as_deref()) {
        return csv_response(
            &format!("{id}-equality-{from}-{to}-{by_name}"),
            equality_csv(&report),
            &report.disclosure.rule,
        );
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({"scheme": id, "stream": stream, "equality": report})))
}

#[derive(Deserialize, IntoParams)]
pub struct ProfileQuery {
    pub stream: Option<String>,
    /// `csv` for CSV (as does `Accept: text/csv`).
    pub format: Option<String>,
}

/// The scheme profile at each stage (degree class mix, % BME, % female, % disabled), offer
/// acceptance, the share of AC candidates rated appointable, retention in post at 3, 6 and 12
/// months and where leavers went. Disclosure-controlled; JSON or CSV.
#[utoipa::path(get, path = "/api/v1/schemes/{scheme}/metrics/profile", tag = "metrics",
    params(("scheme" = String, Path), ProfileQuery),
    responses((status = 200, description = "JSON, or CSV with Accept: text/csv"), (status = 403, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn profile(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    query: web::Query<ProfileQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let scheme = load_scheme(&state, &auth, &path).await?;
    let mut e = FieldErrors::new();
    let stream = stream(&scheme, query.stream.as_deref(), &mut e);
    if !e.is_empty() {
        return Err(e.into());
    }
    let threshold = u64::from(scheme.disclosure_threshold);
    let stages: Vec<&'static str> = STAGES.iter().map(|s| s.as_str()).collect();
    let frozen = metrics::frozen_stages(&state.db, scheme.id.as_str()).await?;
    let selected = stream.and_then(|id| scheme.streams.iter().position(|s| s.id.as_str() == id));
    let mut funnels = Vec::new();
    for name in ["degree_class", "white_bme", "sex", "disability"] {
        let by = Characteristic::parse(name).expect("a known characteristic");
        let per_stream = stream_counts(&state, &scheme, by).await?;
        funnels.push(reports::funnel_of_streams(by, name, &stages, &per_stream, selected, threshold, frozen));
    }
    let mut p = reports::profile(&funnels[0], &funnels[1], &funnels[2], &funnels[3], threshold);
    let counts = fasttrack_core::store::outcomes::counts(&state.db, scheme.id.as_str()).await?;
    let empty = Default::default();
    let per_stream: Vec<&reports::OutcomeCounts> =
        scheme.streams.iter().map(|s| counts.get(s.id.as_str()).unwrap_or(&empty)).collect();
    let (ac, retention) = reports::outcome_profile(&per_stream, selected, threshold);
    p.assessment_centre = Some(ac);
    p.retention = Some(retention);
    if wants_csv(&req, query.format.as_deref()) {
        let classes: Vec<&str> =
            p.stages.first().map(|s| s.degree_class.iter().map(|d| d.category).collect()).unwrap_or_default();
        let mut rows = vec![
            ["stage", "applicants"]
                .into_iter()
                .map(str::to_owned)
                .chain(classes.iter().map(|c| format!("degree {c} %")))
                .chain(["BME %", "female %", "disabled %"].map(str::to_owned))
                .collect::<Vec<_>>(),
        ];
        for s in &p.stages {
            rows.push(
                [s.stage.to_owned(), s.applicants.text()]
                    .into_iter()
                    .chain(s.degree_class.iter().map(|d| d.percent.text()))
                    .chain([s.bme_percent.text(), s.female_percent.text(), s.disabled_percent.text()])
                    .collect(),
            );
        }
        rows.push(vec!["offer acceptance %".into(), p.offer_acceptance_percent.text()]);
        if let Some(ac) = &p.assessment_centre {
            rows.push(vec!["assessment centre: assessed".into(), ac.assessed.text()]);
            rows.push(vec!["assessment centre: rated appointable".into(), ac.rated_appointable.text()]);
            rows.push(vec!["assessment centre: rated appointable %".into(), ac.appointable_percent.text()]);
        }
        if let Some(r) = &p.retention {
            rows.push(vec!["placed".into(), r.placed.text()]);
            for c in &r.checkpoints {
                rows.push(vec![format!("in post at {} months: recorded", c.months), c.recorded.text()]);
                rows.push(vec![format!("in post at {} months", c.months), c.in_post.text()]);
                rows.push(vec![format!("in post at {} months %", c.months), c.in_post_percent.text()]);
            }
            rows.push(vec!["leavers".into(), r.leavers.text()]);
            for d in &r.destinations {
                rows.push(vec![format!("leavers to {}", d.destination), d.leavers.text()]);
            }
        }
        return csv_response(&format!("{}-profile", scheme.id), rows, &p.disclosure.rule);
    }
    let frozen_at = if frozen > 0 { metrics::frozen_at(&state.db, scheme.id.as_str()).await? } else { None };
    Ok(HttpResponse::Ok().json(
        serde_json::json!({"scheme": scheme.id, "stream": stream, "profile": p, "frozen_stages": frozen, "frozen_at": frozen_at}),
    ))
}
