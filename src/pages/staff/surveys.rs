//! Surveys for HR (SPEC §3): the list, a form to define one (questions and their options,
//! groupings, crossings of two groupings, the disclosure threshold), and its tables as the
//! GMTS study printed them, "n (p%)" with row totals, crossed tables nested by their first
//! grouping, `[c]` where disclosure control hides a count, CSV under every table.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use fasttrack_core::auth::Action;
use minijinja::context;
use serde_json::{Value, json};

use super::super::form::{Errors, Posted};
use super::super::session::Visitor;
use super::super::{PageError, when};
use super::{api_json, csrf, form_errors, json_payload, page, require};
use crate::http::AppState;

/// `GET /staff/surveys`.
pub async fn list(state: web::Data<AppState>, v: Visitor, req: HttpRequest) -> Result<HttpResponse, PageError> {
    list_page(&state, &v, &req, StatusCode::OK, Errors::default(), None).await
}

async fn list_page(
    state: &web::Data<AppState>,
    v: &Visitor,
    req: &HttpRequest,
    status: StatusCode,
    errors: Errors,
    form: Option<&Posted>,
) -> Result<HttpResponse, PageError> {
    let auth = require(v, req, Action::ManageSurveys)?;
    let all = api_json(crate::http::surveys::list(state.clone(), auth).await).await?;
    let tz = state.clock.tz();
    let surveys: Vec<Value> = all["surveys"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let at = s["created_at"].as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok()).map(|t| when(t, tz));
            json!({"id": s["id"], "title": s["title"], "responses": s["responses"], "created": at})
        })
        .collect();
    let get = |k: &str, d: &str| form.and_then(|f| f.get(k)).unwrap_or(d).to_owned();
    let values = json!({
        "survey-title": get("survey-title", ""),
        "survey-questions": get("survey-questions", ""),
        "survey-groups": get("survey-groups", ""),
        "survey-crossings": get("survey-crossings", ""),
        "survey-threshold": get("survey-threshold", "5"),
    });
    let ctx = context! { surveys, values, errors };
    Ok(page(v, state, status, "staff_surveys.html", "/staff/surveys", ctx))
}

/// The form as the API's survey definition. Lines: `id | text | option; option` for
/// questions, `id | name | option; option` for groupings, `first × second` for crossings.
fn definition(f: &Posted) -> Value {
    let get = |k: &str| f.get(k).unwrap_or("").to_owned();
    let lines = |k: &str| -> Vec<Vec<String>> {
        get(k)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| l.splitn(3, '|').map(|p| p.trim().to_owned()).collect())
            .collect()
    };
    let options = |s: Option<&String>| -> Vec<String> {
        s.map(|s| s.split(';').map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let part = |p: &[String], i: usize| p.get(i).cloned().unwrap_or_default();
    let questions: Vec<Value> = lines("survey-questions")
        .iter()
        .map(|p| json!({"id": part(p, 0), "text": part(p, 1), "options": options(p.get(2))}))
        .collect();
    let groups: Vec<Value> = lines("survey-groups")
        .iter()
        .map(|p| json!({"id": part(p, 0), "name": part(p, 1), "options": options(p.get(2))}))
        .collect();
    let crossings: Vec<Value> = get("survey-crossings")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| json!(l.split(['×', ',']).map(str::trim).collect::<Vec<_>>()))
        .collect();
    let threshold = get("survey-threshold");
    json!({
        "title": get("survey-title").trim(),
        "questions": questions,
        "groups": groups,
        "crossings": crossings,
        "disclosure_threshold": threshold.trim().parse::<u32>().map_or(Value::String(threshold), Value::from),
    })
}

fn anchor(field: &str) -> String {
    let root = field.split(['[', '.']).next().unwrap_or("");
    match root {
        "questions" => "survey-questions",
        "groups" => "survey-groups",
        "crossings" => "survey-crossings",
        "disclosure_threshold" => "survey-threshold",
        _ => "survey-title",
    }
    .to_owned()
}

/// `POST /staff/surveys`: defines a survey and opens it.
pub async fn create(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = Posted::parse(&body);
    csrf(&v, &posted)?;
    let auth = require(&v, &req, Action::ManageSurveys)?;
    let def = definition(&posted);
    let res = crate::http::surveys::create(state.clone(), auth, json_payload(&req, &def).await).await;
    match api_json(res).await {
        Ok(made) => Ok(v.redirect(&state, &format!("/staff/surveys/{}", made["id"].as_str().unwrap_or_default()))),
        Err(e) => match form_errors(&e, anchor) {
            Some(errors) => list_page(&state, &v, &req, StatusCode::UNPROCESSABLE_ENTITY, errors, Some(&posted)).await,
            None => Err(e.into()),
        },
    }
}

/// `GET /staff/surveys/{survey}`: its tables.
pub async fn show(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let auth = require(&v, &req, Action::ManageSurveys)?;
    let q = web::Query::from_query("").map_err(|_| PageError::NotFound)?;
    let t = api_json(
        crate::http::surveys::tables(state.clone(), auth, web::Path::from(path.to_string()), q, req.clone()).await,
    )
    .await?;
    let tables: Vec<Value> = t["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|table| {
            let rows = table["rows"].as_array().cloned().unwrap_or_default();
            let crossed = rows.iter().any(|r| r["within"].is_string());
            let shaped: Vec<Value> = rows
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let within = r["within"].as_str();
                    let first = within.is_some() && (i == 0 || rows[i - 1]["within"].as_str() != within);
                    let span = rows[i..].iter().take_while(|x| x["within"].as_str() == within).count();
                    json!({"within": within, "span": if first { span } else { 0 }, "group": r["group"],
                           "cells": cells(r), "total": figure(&r["total"])})
                })
                .collect();
            let by: Vec<&str> = table["by"].as_str().unwrap_or("").split(" × ").collect();
            json!({"question": table["question"], "by": table["by"], "by_first": by.first(), "by_second": by.get(1),
                   "crossed": crossed, "options": table["options"], "rows": shaped,
                   "all": {"cells": cells(&table["all"]), "total": figure(&table["all"]["total"])}})
        })
        .collect();
    let ctx = context! {
        id => path.into_inner(), title => t["title"].clone(), tables, rule => t["disclosure"]["rule"].clone(),
    };
    Ok(page(&v, &state, StatusCode::OK, "staff_survey.html", "/staff/surveys", ctx))
}

fn figure(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => "–".into(),
    }
}

/// A row's cells as the study printed them: "n (p%)".
fn cells(row: &Value) -> Vec<String> {
    row["cells"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| match (&c["n"], &c["percent"]) {
            (Value::Number(n), Value::Number(p)) => format!("{n} ({p}%)"),
            (Value::Number(n), Value::Null) => format!("{n} (–)"),
            (n, _) => figure(n),
        })
        .collect()
}

/// `GET /staff/surveys/{survey}/tables.csv`.
pub async fn csv(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let auth = require(&v, &req, Action::ManageSurveys)?;
    let q = web::Query::from_query("format=csv").map_err(|_| PageError::NotFound)?;
    let mut res = crate::http::surveys::tables(state, auth, web::Path::from(path.to_string()), q, req).await?;
    res.headers_mut().insert(
        actix_web::http::header::CONTENT_DISPOSITION,
        actix_web::http::header::HeaderValue::from_str(&format!(
            "attachment; filename=\"survey-{}.csv\"",
            path.as_str()
        ))
        .map_err(|e| crate::http::error::ApiError::Internal(e.into()))?,
    );
    Ok(res)
}
