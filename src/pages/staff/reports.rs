//! The HR pages (SPEC §3 "Metrics for HR", §7): a scheme's profile at a glance, the funnel by
//! any characteristic as a chart and a table, the equality of selection between two stages
//! with the four-fifths flag, WRES indicator 2 and WDES metric 2, CSV under every table and a
//! printable report. Every figure is the API's (its handlers are called), so the page, the
//! chart, the CSV and the JSON agree, and disclosure control is applied once, in the core.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use fasttrack_core::auth::Action;
use fasttrack_core::metrics::STAGES;
use fasttrack_core::reports::{HIDDEN, Shown};
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::super::charts;
use super::super::form::Errors;
use super::super::session::Visitor;
use super::super::{PageError, labels};
use super::{api_json, form_errors, page, require};
use crate::http::AppState;
use crate::http::error::ApiError;

/// A figure of the API's JSON as the core made it: a number, `[c]`, or null (undefined).
fn shown(v: &Value) -> Shown<f64> {
    match v {
        Value::Number(n) => n.as_f64().map_or(Shown::Undefined, Shown::Value),
        Value::String(_) => Shown::Hidden(HIDDEN),
        _ => Shown::Undefined,
    }
}

/// A figure as a table prints it: the number (with `suffix`), `[c]`, or `–`.
fn cell(v: &Value, suffix: &str) -> String {
    match v {
        Value::Number(n) => format!("{n}{suffix}"),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        _ => "–".into(),
    }
}

fn fixed(v: &Value, places: usize) -> String {
    match v {
        Value::Number(n) => format!("{:.*}", places, n.as_f64().unwrap_or_default()),
        other => cell(other, ""),
    }
}

fn stage_name(code: &str) -> String {
    fasttrack_core::Status::parse(code).map_or_else(|| code.to_owned(), |s| labels::stage(s).to_owned())
}

#[derive(Deserialize, Default)]
pub struct Filters {
    by: Option<String>,
    stream: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl Filters {
    fn stream(&self) -> Option<String> {
        self.stream.clone().filter(|s| !s.is_empty())
    }
}

#[derive(Serialize)]
struct Opt {
    value: String,
    text: String,
    selected: bool,
}

fn options(all: impl IntoIterator<Item = (String, String)>, current: &str) -> Vec<Opt> {
    all.into_iter().map(|(value, text)| Opt { selected: value == current, value, text }).collect()
}

fn stream_options(scheme: &fasttrack_core::scheme::SchemeDefinition, current: &str) -> Vec<Opt> {
    options(
        std::iter::once((String::new(), "All streams".to_owned()))
            .chain(scheme.streams.iter().map(|s| (s.id.to_string(), s.name.clone()))),
        current,
    )
}

fn by_options(current: &str) -> Vec<Opt> {
    options(
        fasttrack_core::metrics::Characteristic::names().into_iter().map(|n| (n.to_owned(), labels::characteristic(n))),
        current,
    )
}

fn stage_options(current: &str) -> Vec<Opt> {
    options(STAGES.iter().map(|s| (s.as_str().to_owned(), labels::stage(*s).to_owned())), current)
}

/// "Frozen on 3 February 2027" for the stages a snapshot holds.
fn frozen_note(state: &AppState, at: &Value) -> Option<String> {
    at.as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| format!("frozen on {}", state.clock.local(t).strftime("%-d %B %Y")))
}

async fn scheme_of(
    state: &AppState,
    id: &str,
) -> Result<std::sync::Arc<fasttrack_core::scheme::SchemeDefinition>, PageError> {
    state.schemes.get(&state.db, id).await?.ok_or(PageError::NotFound)
}

fn query<T: serde::de::DeserializeOwned>(pairs: &[(&str, Option<String>)]) -> Result<web::Query<T>, PageError> {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            s.append_pair(k, v);
        }
    }
    web::Query::from_query(&s.finish()).map_err(|_| PageError::NotFound)
}

/// The profile, as the page shows it.
async fn profile(
    state: &web::Data<AppState>,
    v: &Visitor,
    req: &HttpRequest,
    scheme: &str,
    stream: Option<String>,
) -> Result<Value, PageError> {
    let auth = require(v, req, Action::ReadMetrics)?;
    let q = query(&[("stream", stream)])?;
    let p = api_json(
        crate::http::metrics::profile(state.clone(), auth, web::Path::from(scheme.to_owned()), q, req.clone()).await,
    )
    .await?;
    let frozen = p["frozen_stages"].as_u64().unwrap_or(0) as usize;
    let note = frozen_note(state, &p["frozen_at"]);
    let prof = &p["profile"];
    let stages: Vec<Value> = prof["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, s)| {
            json!({"stage": stage_name(s["stage"].as_str().unwrap_or("")),
                   "frozen": if i < frozen { note.clone() } else { None },
                   "applicants": cell(&s["applicants"], ""), "bme": cell(&s["bme_percent"], "%"),
                   "female": cell(&s["female_percent"], "%"), "disabled": cell(&s["disabled_percent"], "%")})
        })
        .collect();
    let ac = &prof["assessment_centre"];
    let ret = &prof["retention"];
    let checkpoints: Vec<Value> = ret["checkpoints"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            json!({"months": c["months"], "recorded": cell(&c["recorded"], ""), "in_post": cell(&c["in_post"], ""),
                        "percent": cell(&c["in_post_percent"], "%")})
        })
        .collect();
    Ok(json!({
        "stages": stages,
        "offers_made": cell(&prof["offers_made"], ""), "offers_accepted": cell(&prof["offers_accepted"], ""),
        "acceptance": cell(&prof["offer_acceptance_percent"], "%"),
        "assessed": cell(&ac["assessed"], ""), "appointable": cell(&ac["rated_appointable"], ""),
        "appointable_percent": cell(&ac["appointable_percent"], "%"),
        "placed": cell(&ret["placed"], ""), "checkpoints": checkpoints,
        "rule": prof["disclosure"]["rule"],
    }))
}

/// The equality report between two stages, as the page shows it.
async fn equality(
    state: &web::Data<AppState>,
    v: &Visitor,
    req: &HttpRequest,
    scheme: &str,
    f: &Filters,
) -> Result<Result<Value, Errors>, PageError> {
    let auth = require(v, req, Action::ReadMetrics)?;
    let q = query(&[
        ("from", f.from.clone().or(Some("shortlisted".into()))),
        ("to", f.to.clone().or(Some("offered".into()))),
        ("by", f.by.clone().or(Some("white_bme".into()))),
        ("stream", f.stream()),
    ])?;
    let res =
        crate::http::metrics::equality(state.clone(), auth, web::Path::from(scheme.to_owned()), q, req.clone()).await;
    let e = match api_json(res).await {
        Ok(e) => e,
        Err(err) => return form_errors(&err, |f| format!("eq-{f}")).map(Err).ok_or(PageError::Api(err)),
    };
    let eq = &e["equality"];
    let by = eq["by"].as_str().unwrap_or("").to_owned();
    let reference = eq["reference_group"].as_str().map(|g| labels::category(&by, g));
    let groups: Vec<Value> = eq["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            let name = labels::category(&by, g["group"].as_str().unwrap_or(""));
            let below = g["below_four_fifths"] == json!(true);
            let p = g["fisher_p_value"].as_f64();
            let reading = match (g["impact_ratio"].as_f64(), p) {
                (None, _) if g["impact_ratio"].is_string() => "Hidden: too few people to publish.".to_owned(),
                (None, _) => "Not defined: nobody in this group reached the first stage.".to_owned(),
                (Some(r), p) => {
                    let rate = if below {
                        format!("selected at {:.0}% of the highest group's rate, below four-fifths", r * 100.0)
                    } else {
                        format!("selected at {:.0}% of the highest group's rate", r * 100.0)
                    };
                    let chance = match p {
                        Some(p) if p < 0.05 => "; a difference this large is unlikely to be chance (Fisher p < 0.05)",
                        Some(_) => "; a difference this size could be chance (Fisher p ≥ 0.05)",
                        None => "",
                    };
                    let mut t = format!("{rate}{chance}.");
                    t[..1].make_ascii_uppercase();
                    t
                }
            };
            json!({"group": name, "considered": cell(&g["considered"], ""), "selected": cell(&g["selected"], ""),
                   "rate": match &g["selection_rate"] { Value::Number(n) => format!("{:.1}%", n.as_f64().unwrap_or_default() * 100.0), o => cell(o, "") },
                   "ratio": fixed(&g["impact_ratio"], 2), "below": below, "z": fixed(&g["z"], 2),
                   "z_p": fixed(&g["z_p_value"], 3), "fisher_p": fixed(&g["fisher_p_value"], 3), "reading": reading})
        })
        .collect();
    let likelihoods = [("WRES indicator 2", &eq["wres_indicator_2"]), ("WDES metric 2", &eq["wdes_metric_2"])];
    let ratio_rows: Vec<(String, &Value)> = likelihoods
        .iter()
        .map(|(name, l)| {
            let first = labels::category("white_bme", l["first"].as_str().unwrap_or(""));
            let second = labels::category("white_bme", l["second"].as_str().unwrap_or(""));
            (format!("{name}: {first} vs {second}"), *l)
        })
        .collect();
    let marks: Vec<charts::Ratio<'_>> = ratio_rows
        .iter()
        .map(|(label, l)| charts::Ratio {
            label: label.split(':').next().unwrap_or(""),
            ratio: shown(&l["ratio"]),
            low: shown(&l["ci95_low"]),
            high: shown(&l["ci95_high"]),
        })
        .collect();
    let (from, to) = (stage_name(eq["from"].as_str().unwrap_or("")), stage_name(eq["to"].as_str().unwrap_or("")));
    let chart = charts::ratios(
        "likelihood",
        &format!("Relative likelihood of being {} from {}", to.to_lowercase(), from.to_lowercase()),
        &ratio_rows
            .iter()
            .map(|(label, l)| format!("{label}: {}", l["reading"].as_str().unwrap_or("")))
            .collect::<Vec<_>>()
            .join(" "),
        &marks,
    );
    let readings: Vec<Value> = ratio_rows
        .iter()
        .map(|(label, l)| {
            json!({"label": label, "ratio": fixed(&l["ratio"], 2), "low": fixed(&l["ci95_low"], 2),
                                 "high": fixed(&l["ci95_high"], 2), "reading": l["reading"]})
        })
        .collect();
    Ok(Ok(json!({
        "by": labels::characteristic(&by), "from": from, "to": to, "reference": reference, "groups": groups,
        "likelihoods": readings, "chart": chart, "rule": eq["disclosure"]["rule"],
    })))
}

/// The funnel, as the page shows it: a chart and the same figures as a table.
async fn funnel(
    state: &web::Data<AppState>,
    v: &Visitor,
    req: &HttpRequest,
    scheme: &str,
    by: &str,
    stream: Option<String>,
) -> Result<Result<Value, Errors>, PageError> {
    let auth = require(v, req, Action::ReadMetrics)?;
    let q = query(&[("by", Some(by.to_owned())), ("stream", stream)])?;
    let res =
        crate::http::metrics::funnel(state.clone(), auth, web::Path::from(scheme.to_owned()), q, req.clone()).await;
    let f = match api_json(res).await {
        Ok(f) => f,
        Err(err) => return form_errors(&err, |f| format!("funnel-{f}")).map(Err).ok_or(PageError::Api(err)),
    };
    let fun = &f["funnel"];
    let frozen = fun["frozen_stages"].as_u64().unwrap_or(0) as usize;
    let note = frozen_note(state, &f["frozen_at"]);
    let stages: Vec<String> =
        fun["stages"].as_array().into_iter().flatten().map(|s| stage_name(s.as_str().unwrap_or(""))).collect();
    let heads: Vec<Value> = stages
        .iter()
        .enumerate()
        .map(|(i, s)| json!({"name": s, "frozen": if i < frozen { note.clone() } else { None }}))
        .collect();
    let rows_json = fun["rows"].as_array().cloned().unwrap_or_default();
    let labelled: Vec<(String, Vec<Shown<f64>>)> = rows_json
        .iter()
        .map(|r| {
            (
                labels::category(by, r["category"].as_str().unwrap_or("")),
                r["percents"].as_array().into_iter().flatten().map(shown).collect(),
            )
        })
        .collect();
    let series: Vec<charts::Series<'_>> =
        labelled.iter().map(|(label, values)| charts::Series { label, values }).collect();
    let title = format!("{}: each group's share of everyone at each stage", labels::characteristic(by));
    let desc = format!(
        "Horizontal bars, one per group within each of {} stages; each bar is the group's percentage of everyone who reached the stage. The table below gives the same figures. Shares hidden by disclosure control have no bar.",
        stages.len()
    );
    let chart = charts::shares("funnel-chart", &title, &desc, &stages, &series);
    let rows: Vec<Value> = rows_json
        .iter()
        .zip(&labelled)
        .map(|(r, (label, _))| {
            let cells: Vec<String> = r["counts"]
                .as_array()
                .into_iter()
                .flatten()
                .zip(r["percents"].as_array().into_iter().flatten())
                .map(|(n, p)| match (n, p) {
                    (Value::Number(_), Value::Number(_)) => format!("{} ({}%)", cell(n, ""), fixed(p, 1)),
                    _ => cell(n, ""),
                })
                .collect();
            json!({"group": label, "cells": cells})
        })
        .collect();
    let totals: Vec<String> = fun["totals"].as_array().into_iter().flatten().map(|t| cell(t, "")).collect();
    Ok(Ok(json!({"by": labels::characteristic(by), "heads": heads, "rows": rows, "totals": totals, "chart": chart,
                 "rule": fun["disclosure"]["rule"], "frozen_note": note.filter(|_| frozen > 0)})))
}

/// BME applicants' impact ratio at every step of the funnel (and the NHS definition,
/// shortlisted → offered), so the weakest step stands out.
async fn bme_steps(
    state: &web::Data<AppState>,
    v: &Visitor,
    req: &HttpRequest,
    scheme: &str,
    stream: Option<String>,
) -> Result<Vec<Value>, PageError> {
    let mut pairs: Vec<(&str, &str)> = STAGES.windows(2).map(|w| (w[0].as_str(), w[1].as_str())).collect();
    pairs.insert(0, ("shortlisted", "offered"));
    let mut out = Vec::new();
    for (from, to) in pairs {
        let f = Filters {
            by: Some("white_bme".into()),
            stream: stream.clone(),
            from: Some(from.into()),
            to: Some(to.into()),
        };
        let Ok(e) = equality(state, v, req, scheme, &f).await? else { continue };
        let bme = e["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|g| g["group"].as_str().is_some_and(|n| n.contains("BME")))
            .cloned();
        let Some(bme) = bme else { continue };
        out.push(json!({"from": stage_name(from), "to": stage_name(to), "from_code": from, "to_code": to,
                        "rate": bme["rate"], "ratio": bme["ratio"], "below": bme["below"], "nhs": out.is_empty()}));
    }
    Ok(out)
}

/// `GET /staff/schemes/{scheme}/report`: the scheme at a glance.
pub async fn home(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
    f: web::Query<Filters>,
) -> Result<HttpResponse, PageError> {
    require(&v, &req, Action::ReadMetrics)?;
    let scheme = scheme_of(&state, &path).await?;
    let prof = profile(&state, &v, &req, &path, f.stream()).await?;
    let steps = bme_steps(&state, &v, &req, &path, f.stream()).await?;
    let stream_qs = f.stream().map(|s| format!("&stream={s}")).unwrap_or_default();
    let ctx = context! {
        id => scheme.id.to_string(), name => scheme.name.clone(), profile => prof, steps, stream_qs,
        streams => stream_options(&scheme, &f.stream().unwrap_or_default()),
    };
    Ok(page(&v, &state, StatusCode::OK, "staff_report.html", "/staff", ctx))
}

/// `GET /staff/schemes/{scheme}/report/funnel`.
pub async fn funnel_page(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
    f: web::Query<Filters>,
) -> Result<HttpResponse, PageError> {
    require(&v, &req, Action::ReadMetrics)?;
    let scheme = scheme_of(&state, &path).await?;
    let by = f.by.clone().filter(|b| !b.is_empty()).unwrap_or_else(|| "ethnic_group".into());
    let (report, errors, status) = match funnel(&state, &v, &req, &path, &by, f.stream()).await? {
        Ok(r) => (Some(r), Errors::default(), StatusCode::OK),
        Err(e) => (None, e, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let mut csv = form_urlencoded::Serializer::new(String::new());
    csv.append_pair("by", &by);
    if let Some(s) = f.stream() {
        csv.append_pair("stream", &s);
    }
    let ctx = context! {
        id => scheme.id.to_string(), name => scheme.name.clone(), report, errors,
        by_opts => by_options(&by), streams => stream_options(&scheme, &f.stream().unwrap_or_default()),
        csv_href => format!("/staff/schemes/{}/report/csv/funnel?{}", scheme.id, csv.finish()),
    };
    Ok(page(&v, &state, status, "staff_report_funnel.html", "/staff", ctx))
}

/// `GET /staff/schemes/{scheme}/report/equality`.
pub async fn equality_page(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
    f: web::Query<Filters>,
) -> Result<HttpResponse, PageError> {
    require(&v, &req, Action::ReadMetrics)?;
    let scheme = scheme_of(&state, &path).await?;
    let (report, errors, status) = match equality(&state, &v, &req, &path, &f).await? {
        Ok(r) => (Some(r), Errors::default(), StatusCode::OK),
        Err(e) => (None, e, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let (from, to, by) = (
        f.from.clone().unwrap_or_else(|| "shortlisted".into()),
        f.to.clone().unwrap_or_else(|| "offered".into()),
        f.by.clone().unwrap_or_else(|| "white_bme".into()),
    );
    let mut csv = form_urlencoded::Serializer::new(String::new());
    csv.append_pair("from", &from).append_pair("to", &to).append_pair("by", &by);
    if let Some(s) = f.stream() {
        csv.append_pair("stream", &s);
    }
    let ctx = context! {
        id => scheme.id.to_string(), name => scheme.name.clone(), report, errors,
        from_opts => stage_options(&from), to_opts => stage_options(&to), by_opts => by_options(&by),
        streams => stream_options(&scheme, &f.stream().unwrap_or_default()),
        csv_href => format!("/staff/schemes/{}/report/csv/equality?{}", scheme.id, csv.finish()),
    };
    Ok(page(&v, &state, status, "staff_report_equality.html", "/staff", ctx))
}

/// `GET /staff/schemes/{scheme}/report/csv/{what}`: the API's CSV of a table.
pub async fn csv(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    f: web::Query<Filters>,
) -> Result<HttpResponse, PageError> {
    let auth = require(&v, &req, Action::ReadMetrics)?;
    let (scheme, what) = path.into_inner();
    let p = web::Path::from(scheme);
    let csv = Some("csv".to_owned());
    let res = match what.as_str() {
        "funnel" => {
            let q = query(&[("by", f.by.clone()), ("stream", f.stream()), ("format", csv)])?;
            crate::http::metrics::funnel(state, auth, p, q, req).await
        }
        "equality" => {
            let q = query(&[
                ("from", f.from.clone()),
                ("to", f.to.clone()),
                ("by", f.by.clone()),
                ("stream", f.stream()),
                ("format", csv),
            ])?;
            crate::http::metrics::equality(state, auth, p, q, req).await
        }
        "profile" => {
            let q = query(&[("stream", f.stream()), ("format", csv)])?;
            crate::http::metrics::profile(state, auth, p, q, req).await
        }
        _ => return Err(PageError::NotFound),
    };
    match res {
        Ok(r) => Ok(r),
        Err(ApiError::Forbidden) => Err(PageError::StaffForbidden),
        Err(e) => Err(e.into()),
    }
}

/// `GET /staff/schemes/{scheme}/report/print`: the whole report on one page, for a board
/// paper (the print stylesheet drops the menus and forms).
pub async fn print(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
    f: web::Query<Filters>,
) -> Result<HttpResponse, PageError> {
    require(&v, &req, Action::ReadMetrics)?;
    let scheme = scheme_of(&state, &path).await?;
    let prof = profile(&state, &v, &req, &path, f.stream()).await?;
    let steps = bme_steps(&state, &v, &req, &path, f.stream()).await?;
    let mut funnels = Vec::new();
    for by in ["white_bme", "sex", "disability"] {
        if let Ok(r) = funnel(&state, &v, &req, &path, by, f.stream()).await? {
            funnels.push(r);
        }
    }
    let eq = equality(&state, &v, &req, &path, &Filters { stream: f.stream(), ..Filters::default() }).await?.ok();
    let stream_name = f.stream().and_then(|s| scheme.stream(&s).map(|x| x.name.clone()));
    let ctx = context! {
        id => scheme.id.to_string(), name => scheme.name.clone(), profile => prof, steps, funnels, equality => eq,
        stream_name, printed => state.clock.local(state.clock.now()).strftime("%-d %B %Y").to_string(),
    };
    Ok(page(&v, &state, StatusCode::OK, "staff_report_print.html", "/staff", ctx))
}
