//! Assessment centres for recruiters (centres and sessions with seats filled, panels and
//! provisions; adding a centre) and for assessors (my sessions; a score sheet per candidate,
//! saved in parts). Every read and write is the API's.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use fasttrack_core::auth::Action;
use fasttrack_core::store::{applications, assessment, centres};
use minijinja::context;
use serde::Serialize;
use serde_json::{Value, json};

use super::super::form::{Errors, Posted};
use super::super::session::Visitor;
use super::super::{PageError, labels};
use super::{api_json, csrf, form_errors, json_payload, page, refusal, require};
use crate::http::AppState;
use crate::http::error::ApiError;

#[derive(Serialize)]
struct SessionRow {
    key: String,
    id: String,
    time: String,
    filled: usize,
    capacity: u32,
    panel: String,
    provisions: String,
}

#[derive(Serialize)]
struct CentreRow {
    name: String,
    venue: String,
    date: String,
    sessions: Vec<SessionRow>,
}

/// `GET /staff/schemes/{scheme}/centres`.
pub async fn list(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    require(&v, &req, Action::ManageCentres)?;
    list_page(&state, &v, &path, StatusCode::OK, Errors::default(), None, None).await
}

async fn list_page(
    state: &AppState,
    v: &Visitor,
    scheme_id: &str,
    status: StatusCode,
    errors: Errors,
    form: Option<&Posted>,
    notice: Option<String>,
) -> Result<HttpResponse, PageError> {
    let scheme = state.schemes.get(&state.db, scheme_id).await?.ok_or(PageError::NotFound)?;
    let list = centres::list(&state.db, scheme.id.as_str()).await?;
    let seated = assessment::seated(&state.db, scheme.id.as_str(), None).await?;
    let rows: Vec<CentreRow> = list
        .iter()
        .map(|c| CentreRow {
            name: c.name.clone(),
            venue: c.venue.clone(),
            date: c.date.strftime("%A %-d %B %Y").to_string(),
            sessions: c
                .sessions
                .iter()
                .map(|s| SessionRow {
                    key: fasttrack_core::centres::session_key(scheme.id.as_str(), &c.id, &s.id),
                    id: s.id.clone(),
                    time: format!("{}–{}", s.start.strftime("%H:%M"), s.end.strftime("%H:%M")),
                    filled: seated.iter().filter(|x| x.centre_id == c.id && x.session_id == s.id).count(),
                    capacity: s.capacity,
                    panel: s.assessors.iter().map(|a| a.name.clone()).collect::<Vec<_>>().join(", "),
                    provisions: s.provisions.iter().map(|p| p.replace('_', " ")).collect::<Vec<_>>().join(", "),
                })
                .collect(),
        })
        .collect();
    // The new centre's form starts from the last session's design (exercises, panel, provisions).
    let template = list.last().and_then(|c| c.sessions.last());
    let exercises = template.map_or_else(String::new, |s| {
        s.exercises
            .iter()
            .map(|x| format!("{}: {}", x.kind.as_str(), x.competencies.join(", ")))
            .collect::<Vec<_>>()
            .join("\n")
    });
    let panel = template.map_or_else(String::new, |s| {
        s.assessors.iter().map(|a| format!("{}, {}, {}", a.id, a.name, a.organisation)).collect::<Vec<_>>().join("\n")
    });
    let provisions = template.map_or_else(String::new, |s| s.provisions.join(", "));
    let mut values = serde_json::Map::new();
    let blank_session = [
        ("new-session-id", "pm".to_owned()),
        ("new-session-start", "13:30".to_owned()),
        ("new-session-end", "17:00".to_owned()),
        ("new-session-capacity", "10".to_owned()),
        ("new-session-exercises", exercises.clone()),
        ("new-session-panel", panel.clone()),
        ("new-session-provisions", provisions.clone()),
    ];
    for (k, d) in blank_session.into_iter().chain([
        ("centre-id", String::new()),
        ("centre-name", String::new()),
        ("centre-venue", String::new()),
        ("centre-date", String::new()),
        ("session-id", "am".to_owned()),
        ("session-start", "09:00".to_owned()),
        ("session-end", "12:30".to_owned()),
        ("session-capacity", "10".to_owned()),
        ("session-exercises", exercises),
        ("session-panel", panel),
        ("session-provisions", provisions),
    ]) {
        let value = form.and_then(|f| f.get(k)).map_or(d, str::to_owned);
        values.insert(k.to_owned(), Value::String(value));
    }
    let chosen = form.and_then(|f| f.get("new-centre")).unwrap_or("");
    let centre_opts: Vec<Value> = list
        .iter()
        .map(|c| json!({"value": c.id, "text": format!("{}, {}", c.name, c.date.strftime("%-d %B %Y")), "selected": c.id == chosen}))
        .collect();
    let ctx = context! {
        id => scheme.id.to_string(), name => scheme.name.clone(), centres => rows, values, errors, notice, centre_opts,
    };
    Ok(page(v, state, status, "staff_centres.html", "/staff", ctx))
}

/// A session of the form as the API's JSON (fields `{prefix}-id`, `-start` …): exercises as
/// `kind: competency, …` lines, the panel as `id, name, organisation` lines, provisions
/// comma-separated.
fn session_json(f: &Posted, prefix: &str) -> Value {
    let get = |k: &str| f.get(&format!("{prefix}-{k}")).unwrap_or("").trim().to_owned();
    let exercises: Vec<Value> = get("exercises")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (kind, comps) = l.split_once(':').unwrap_or((l, ""));
            let comps: Vec<&str> = comps.split(',').map(str::trim).filter(|c| !c.is_empty()).collect();
            json!({"kind": kind.trim(), "competencies": comps})
        })
        .collect();
    let assessors: Vec<Value> = get("panel")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let p: Vec<&str> = l.splitn(3, ',').map(str::trim).collect();
            json!({"id": p.first(), "name": p.get(1).unwrap_or(&""), "organisation": p.get(2).unwrap_or(&"")})
        })
        .collect();
    let provisions: Vec<String> =
        get("provisions").split(',').map(|p| p.trim().replace(' ', "_")).filter(|p| !p.is_empty()).collect();
    let time = |t: String| if t.len() == 5 { format!("{t}:00") } else { t };
    json!({
        "id": get("id"), "start": time(get("start")), "end": time(get("end")),
        "capacity": get("capacity").parse::<u32>().map_or(Value::String(get("capacity")), Value::from),
        "exercises": exercises, "assessors": assessors, "provisions": provisions,
    })
}

/// The add-a-centre form as the API's JSON: the centre and its first session.
fn centre_json(f: &Posted) -> Value {
    let get = |k: &str| f.get(k).unwrap_or("").trim().to_owned();
    json!({
        "id": get("centre-id"), "name": get("centre-name"), "venue": get("centre-venue"), "date": get("centre-date"),
        "sessions": [session_json(f, "session")],
    })
}

/// `POST /staff/schemes/{scheme}/centres/sessions`: adds a session to a centre.
pub async fn add_session(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = Posted::parse(&body);
    csrf(&v, &posted)?;
    let auth = require(&v, &req, Action::ManageCentres)?;
    let centre = posted.get("new-centre").unwrap_or("").to_owned();
    let session = session_json(&posted, "new-session");
    let res = crate::http::centres::add_session(
        state.clone(),
        auth,
        web::Path::from((path.to_string(), centre.clone())),
        json_payload(&req, &session).await,
    )
    .await;
    match api_json(res).await {
        Ok(c) => {
            let notice = format!("The session is added to {}.", c["centre"]["name"].as_str().unwrap_or("the centre"));
            list_page(&state, &v, &path, StatusCode::OK, Errors::default(), None, Some(notice)).await
        }
        Err(ApiError::NotFound(_)) => {
            let errors = Errors::general("Choose the centre the session is at", "#new-centre");
            list_page(&state, &v, &path, StatusCode::UNPROCESSABLE_ENTITY, errors, Some(&posted), None).await
        }
        Err(e) => match form_errors(&e, |f| {
            let name = f.split(['[', '.']).next().unwrap_or("");
            format!(
                "new-session-{}",
                if name == "assessors" {
                    "panel"
                } else if name.is_empty() {
                    "id"
                } else {
                    name
                }
            )
        }) {
            Some(errors) => {
                list_page(&state, &v, &path, StatusCode::UNPROCESSABLE_ENTITY, errors, Some(&posted), None).await
            }
            None => Err(e.into()),
        },
    }
}

/// Where an API field of a centre shows on the form.
fn centre_anchor(field: &str) -> String {
    let f = field.strip_prefix("sessions[0].").map(|r| ("session", r)).unwrap_or(("centre", field));
    let name = f.1.split(['[', '.']).next().unwrap_or("");
    let name = match name {
        "assessors" => "panel",
        "" => "id",
        other => other,
    };
    format!("{}-{}", f.0, name)
}

/// `POST /staff/schemes/{scheme}/centres`: adds a centre with one session.
pub async fn add(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = Posted::parse(&body);
    csrf(&v, &posted)?;
    let auth = require(&v, &req, Action::ManageCentres)?;
    let centre = centre_json(&posted);
    let res = crate::http::centres::create(
        state.clone(),
        auth,
        web::Path::from(path.to_string()),
        json_payload(&req, &centre).await,
    )
    .await;
    match api_json(res).await {
        Ok(_) => {
            let notice = format!("{} is added.", posted.get("centre-name").unwrap_or("The centre"));
            list_page(&state, &v, &path, StatusCode::OK, Errors::default(), None, Some(notice)).await
        }
        Err(e) => match form_errors(&e, centre_anchor) {
            Some(errors) => list_page(&state, &v, &path, refusal(&e), errors, Some(&posted), None).await,
            None => Err(e.into()),
        },
    }
}

/// `GET /staff/sessions`: an assessor's sessions; a recruiter's, every session.
pub async fn sessions(state: web::Data<AppState>, v: Visitor, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let auth = super::signed_in(&v, &req)?;
    let q = web::Query::from_query("").map_err(|_| PageError::NotFound)?;
    let out = match api_json(crate::http::assessment::list(state.clone(), auth, q).await).await {
        Ok(v) => v,
        Err(ApiError::Forbidden) => return Err(PageError::StaffForbidden),
        Err(e) => return Err(e.into()),
    };
    let mut rows = Vec::new();
    for s in out["sessions"].as_array().into_iter().flatten() {
        let scheme = state.schemes.get(&state.db, s["scheme"].as_str().unwrap_or("")).await?;
        rows.push(json!({
            "key": s["key"], "scheme": scheme.map(|x| x.name.clone()), "centre": s["centre_name"], "venue": s["venue"],
            "date": day(&s["date"]),
            "time": format!("{}–{}", s["start"].as_str().unwrap_or(""), s["end"].as_str().unwrap_or("")),
        }));
    }
    Ok(page(&v, &state, StatusCode::OK, "staff_sessions.html", "/staff/sessions", context! { sessions => rows }))
}

/// A date of the API ("2027-03-01") as people read it ("Monday 1 March 2027").
fn day(v: &Value) -> String {
    let s = v.as_str().unwrap_or_default();
    s.parse::<jiff::civil::Date>().map_or_else(|_| s.to_owned(), |d| d.strftime("%A %-d %B %Y").to_string())
}

/// A session as the API gives it to this member of staff.
async fn session_of(
    state: &web::Data<AppState>,
    v: &Visitor,
    req: &HttpRequest,
    key: &str,
) -> Result<Value, PageError> {
    let auth = super::signed_in(v, req)?;
    match api_json(crate::http::assessment::get(state.clone(), auth, web::Path::from(key.to_owned())).await).await {
        Ok(s) => Ok(s),
        Err(ApiError::Forbidden) => Err(PageError::StaffForbidden),
        Err(e) => Err(e.into()),
    }
}

/// `GET /staff/sessions/{session}`: the candidates with their adjustments and their panel's
/// progress.
pub async fn session(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let s = session_of(&state, &v, &req, &path).await?;
    let assessor = v.staff.as_ref().is_some_and(|x| x.caller.role == fasttrack_core::Role::Assessor);
    let mut candidates = Vec::new();
    for (i, c) in s["candidates"].as_array().into_iter().flatten().enumerate() {
        let id: fasttrack_core::ApplicationId =
            c["application_id"].as_str().unwrap_or("").parse().map_err(|_| PageError::NotFound)?;
        // What the candidate needs on the day: their adjustments (no other answer).
        let adjustments: Vec<String> = applications::get(&state.db, id)
            .await?
            .and_then(|a| a.details)
            .map(|d| {
                d.adjustments
                    .iter()
                    .map(|a| labels::ADJUSTMENTS.iter().find(|(c, _)| c == a).map_or(a.as_str(), |(_, t)| t).to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let missing =
            c["missing_scores"].as_array().map_or(0, Vec::len) + usize::from(c["missing_judgement"] == json!(true));
        candidates.push(json!({
            "id": c["application_id"], "label": c["name"].as_str().map_or_else(|| format!("Candidate {}", i + 1), str::to_owned),
            "booking": c["booking"], "complete": c["complete"], "missing": missing, "adjustments": adjustments,
            "ac_score": c["ac_score"].as_f64().map(|x| format!("{x:.2}")),
        }));
    }
    let ctx = context! {
        key => path.into_inner(), centre => s["centre_name"].clone(), venue => s["venue"].clone(),
        date => day(&s["date"]), time => format!("{}–{}", s["start"].as_str().unwrap_or(""), s["end"].as_str().unwrap_or("")),
        capacity => s["capacity"].clone(), name_blind => s["name_blind"].clone(),
        panel => s["assessors"].as_array().into_iter().flatten().map(|a| a["name"].clone()).collect::<Vec<_>>(),
        provisions => s["provisions"].as_array().into_iter().flatten().map(|p| p.as_str().unwrap_or("").replace('_', " ")).collect::<Vec<_>>(),
        candidates, assessor,
    };
    Ok(page(&v, &state, StatusCode::OK, "staff_session.html", "/staff/sessions", ctx))
}

#[derive(Serialize)]
struct Pair {
    id: String,
    name: String,
    competency: String,
    score: Option<i64>,
}

#[derive(Serialize)]
struct ExerciseRows {
    kind: String,
    pairs: Vec<Pair>,
}

/// `GET /staff/sessions/{session}/sheets/{id}`: one candidate's score sheet.
pub async fn sheet(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (key, id) = path.into_inner();
    sheet_page(&state, &v, &req, &key, &id, StatusCode::OK, Errors::default(), None, None).await
}

#[allow(clippy::too_many_arguments)]
async fn sheet_page(
    state: &web::Data<AppState>,
    v: &Visitor,
    req: &HttpRequest,
    key: &str,
    id: &str,
    status: StatusCode,
    errors: Errors,
    notice: Option<&str>,
    posted: Option<&Posted>,
) -> Result<HttpResponse, PageError> {
    let s = session_of(state, v, req, key).await?;
    let me = v.staff.as_ref().map(|x| x.caller.role == fasttrack_core::Role::Assessor).unwrap_or(false);
    if !me {
        return Err(PageError::StaffForbidden);
    }
    let cands = s["candidates"].as_array().cloned().unwrap_or_default();
    let (index, c) =
        cands.iter().enumerate().find(|(_, c)| c["application_id"].as_str() == Some(id)).ok_or(PageError::NotFound)?;
    let mine = |exercise: &str, competency: &str| -> Option<i64> {
        c["scores"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| x["exercise"].as_str() == Some(exercise) && x["competency"].as_str() == Some(competency))
            .and_then(|x| x["score"].as_i64())
    };
    let mut exercises = Vec::new();
    for (i, x) in s["exercises"].as_array().into_iter().flatten().enumerate() {
        let kind = x["kind"].as_str().unwrap_or("").to_owned();
        let pairs = x["competencies"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(j, comp)| {
                let comp = comp.as_str().unwrap_or("").to_owned();
                let name = format!("score:{kind}:{comp}");
                let score =
                    posted.and_then(|p| p.get(&name)).and_then(|v| v.parse().ok()).or_else(|| mine(&kind, &comp));
                Pair { id: format!("s-{i}-{j}"), name, competency: comp, score }
            })
            .collect();
        exercises.push(ExerciseRows { kind: kind.replace('_', " "), pairs });
    }
    let overall = posted
        .and_then(|p| p.get("overall").map(str::to_owned))
        .or_else(|| {
            c["judgements"].as_array().and_then(|j| j.first()).and_then(|j| j["overall"].as_str().map(str::to_owned))
        })
        .unwrap_or_default();
    let label = c["name"].as_str().map_or_else(|| format!("Candidate {}", index + 1), str::to_owned);
    let ctx = context! {
        key, id, label, centre => s["centre_name"].clone(), date => day(&s["date"]), exercises, overall,
        complete => c["complete"].clone(), errors, notice,
    };
    Ok(page(v, state, status, "staff_sheet.html", "/staff/sessions", ctx))
}

/// `POST /staff/sessions/{session}/sheets/{id}`: saves what is filled in (any part of the
/// sheet); the rest can follow later.
pub async fn save_sheet(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = Posted::parse(&body);
    csrf(&v, &posted)?;
    let (key, id) = path.into_inner();
    let auth = super::signed_in(&v, &req)?;
    let scores: Vec<Value> = posted
        .0
        .iter()
        .filter_map(|(k, val)| {
            let rest = k.strip_prefix("score:")?;
            let (exercise, competency) = rest.split_once(':')?;
            Some(json!({"exercise": exercise, "competency": competency, "score": val.parse::<i64>().ok()?}))
        })
        .collect();
    let mut sheet = json!({"application_id": id, "scores": scores});
    if let Some(o) = posted.get("overall").filter(|o| !o.is_empty()) {
        sheet["overall"] = json!(o);
    }
    let res = crate::http::assessment::score(
        state.clone(),
        auth,
        web::Path::from(key.clone()),
        json_payload(&req, &sheet).await,
    )
    .await;
    match api_json(res).await {
        Ok(r) => {
            let notice = if r["complete"] == json!(true) {
                "Saved. The sheet is complete."
            } else {
                "Saved. You can finish the rest of the sheet later."
            };
            sheet_page(&state, &v, &req, &key, &id, StatusCode::OK, Errors::default(), Some(notice), None).await
        }
        Err(ApiError::Forbidden) => Err(PageError::StaffForbidden),
        Err(e) => match form_errors(&e, |_| "sheet".into()) {
            Some(errors) => sheet_page(&state, &v, &req, &key, &id, refusal(&e), errors, None, Some(&posted)).await,
            None => Err(e.into()),
        },
    }
}
