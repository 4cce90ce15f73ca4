//! One applicant as their recruiter sees them: the answers (never the equality answers),
//! adjustments, test scores with the key and norms behind them, the sift, the booking, the
//! assessment-centre result, the offer and outcomes, the timeline and every email; and the
//! recruiter's actions, each through its API route.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use fasttrack_core::auth::Action;
use fasttrack_core::store::{applicants, assessment, bookings, centres, decisions, notifications, outcomes};
use fasttrack_core::{ApplicationId, Status};
use minijinja::context;
use serde::Serialize;
use serde_json::{Value, json};

use super::super::form::{Errors, Posted};
use super::super::session::Visitor;
use super::super::{PageError, labels, when};
use super::{api_json, csrf, form_errors, json_payload, page, refusal, require};
use crate::http::AppState;
use crate::http::error::ApiError;

#[derive(Serialize)]
struct Line {
    key: String,
    value: String,
}

fn line(key: &str, value: impl Into<String>) -> Line {
    Line { key: key.into(), value: value.into() }
}

#[derive(Serialize)]
struct Email {
    id: String,
    kind: String,
    state: String,
    when: String,
    attempts: i64,
    error: Option<String>,
    dead: bool,
}

/// The page, with a form's errors or a notice of what was done.
pub async fn page_get(
    state: &web::Data<AppState>,
    v: &Visitor,
    req: &HttpRequest,
    raw: &str,
    status: StatusCode,
    errors: Errors,
    notice: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let id: ApplicationId = raw.parse().map_err(|_| PageError::NotFound)?;
    let auth = require(v, req, Action::ReadApplication(id))?;
    // The API's own view (and its audit record of the read).
    let view = match api_json(
        crate::http::applications::get(state.clone(), auth, web::Path::from(raw.to_owned())).await,
    )
    .await
    {
        Ok(v) => v,
        Err(ApiError::Forbidden) => return Err(PageError::StaffForbidden),
        Err(e) => return Err(e.into()),
    };
    let app = fasttrack_core::store::applications::get(&state.db, id).await?.ok_or(PageError::NotFound)?;
    let scheme = state.schemes.get(&state.db, &app.scheme_id).await?.ok_or(PageError::NotFound)?;
    let tz = state.clock.tz();
    let stage = |s: &str| Status::parse(s).map_or("", labels::stage);
    let timeline = view["timeline"].as_array().cloned().unwrap_or_default();
    // Name-blind: who they are shows once the application has reached the scheme's stage.
    let named = !scheme.name_blind || timeline.iter().any(|e| e["to"].as_str() == Some(scheme.names_from.as_str()));
    let stream_name = |sid: &str| {
        scheme.streams.iter().find(|s| s.id.as_str() == sid).map_or_else(|| sid.to_owned(), |s| s.name.clone())
    };
    let org_name = |oid: &str| {
        scheme.organisations.iter().find(|o| o.id.as_str() == oid).map_or_else(|| oid.to_owned(), |o| o.name.clone())
    };
    let date = |d: &Value| d.as_str().unwrap_or("").to_owned();
    let mut answers = Vec::new();
    let d = &view["details"];
    let erased = d.is_null();
    let title = if erased {
        "Erased applicant".to_owned()
    } else if named {
        d["name"].as_str().unwrap_or("").to_owned()
    } else {
        format!("Applicant {}", &raw[raw.len().saturating_sub(8)..])
    };
    if !erased {
        if named {
            answers.push(line("Email", d["email"].as_str().unwrap_or("")));
            answers.push(line("Phone", d["phone"].as_str().unwrap_or("Not given")));
            answers.push(line("Current employer", d["current_employer"].as_str().unwrap_or("Not given")));
        }
        let deg = &d["degree"];
        answers.push(line(
            "Degree",
            format!(
                "{} in {}, {} ({}, {})",
                date(&deg["class"]).replace('_', " "),
                date(&deg["subject"]),
                date(&deg["university"]),
                date(&deg["status"]).replace('_', " "),
                deg["graduation_year"]
            ),
        ));
        answers.push(line("Right to work in the UK", if d["right_to_work_uk"] == json!(true) { "Yes" } else { "No" }));
        let prefs: Vec<String> = d["stream_preferences"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, s)| format!("{}. {}", i + 1, stream_name(s.as_str().unwrap_or(""))))
            .collect();
        answers.push(line("Streams, in order", prefs.join(", ")));
        let list = |k: &str| -> String {
            let items: Vec<String> = d[k].as_array().into_iter().flatten().map(date).collect();
            if items.is_empty() { "None".into() } else { items.join(", ") }
        };
        answers.push(line("Cannot attend on", list("unavailable_dates")));
        answers.push(line("Preferred venues", list("preferred_venues")));
        answers.push(line("Preferred dates", list("preferred_dates")));
        answers.push(line(
            "Disability Confident scheme",
            if d["disability_confident"] == json!(true) { "Asked for the guaranteed assessment" } else { "No" },
        ));
    }
    let adjustments: Vec<String> = d["adjustments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str())
        .map(|a| labels::ADJUSTMENTS.iter().find(|(c, _)| *c == a).map_or(a, |(_, t)| *t).to_owned())
        .collect();
    let adjustments_detail = d["adjustments_detail"].as_str().unwrap_or("").to_owned();

    let (scores, sift) = applicants::scores_and_sift(&state.db, id).await?;
    let test_name =
        |t: &str| scheme.tests.iter().find(|x| x.id.as_str() == t).map_or(t, |x| x.name.as_str()).to_owned();
    let tests: Vec<Value> = scores
        .iter()
        .map(|s| {
            json!({"name": test_name(&s.test_id), "raw": s.raw, "sten": s.sten, "percentile": format!("{:.0}", s.percentile),
                   "passed": s.passed, "late": s.late, "key": s.key_version, "norms": s.norm_version})
        })
        .collect();
    let sift_view = json!({
        "composite": sift.composite.map(|c| format!("{c:.3}")),
        "passed": sift.passed,
        "result": sift.result.as_ref().map(|(stream, outcome, rank, guaranteed, reason)| json!({
            "stream": stream_name(stream), "outcome": outcome.replace('_', " "), "rank": rank,
            "guaranteed": guaranteed, "reason": reason})),
        "override": sift.dc_override.as_ref().map(|(by, why)| json!({"by": by, "reason": why})),
    });
    let dc = d["disability_confident"] == json!(true);

    let booking = bookings::get(&state.db, id).await?;
    let centre_list = centres::list(&state.db, scheme.id.as_str()).await?;
    let (booking_view, ac_view) = match &booking {
        Some(b) => {
            let centre = centre_list.iter().find(|c| c.id == b.centre_id);
            let session = centre.and_then(|c| c.session(&b.session_id));
            let where_ = match (centre, session) {
                (Some(c), Some(s)) => format!(
                    "{}, {}: {} {}–{}",
                    c.name,
                    c.venue,
                    c.date.strftime("%-d %B %Y"),
                    s.start.strftime("%H:%M"),
                    s.end.strftime("%H:%M")
                ),
                _ => format!("{} {}", b.centre_id, b.session_id),
            };
            let ac = match session {
                Some(s) => {
                    let rec = assessment::recorded(&state.db, &[id.to_string()])
                        .await?
                        .remove(&id.to_string())
                        .unwrap_or_default();
                    let r = fasttrack_core::assessment::combine(s, &rec);
                    Some(json!({
                        "score": r.score.map(|x| format!("{x:.2}")), "appointable": r.appointable, "complete": r.complete,
                        "missing_scores": r.missing_scores, "missing_judgement": r.missing_judgement,
                        "session": fasttrack_core::centres::session_key(scheme.id.as_str(), &b.centre_id, &b.session_id),
                    }))
                }
                None => None,
            };
            let state_text = serde_json::to_value(b.state).ok().and_then(|v| v.as_str().map(str::to_owned));
            (
                Some(json!({"where": where_, "state": state_text.unwrap_or_default(), "rebook": b.rebook,
                            "started": b.starts_at.is_some_and(|t| t <= state.clock.now())})),
                ac,
            )
        }
        None => (None, None),
    };
    let offer = decisions::get(&state.db, id).await?.map(|o| {
        let st = serde_json::to_value(o.state).ok().and_then(|v| v.as_str().map(str::to_owned));
        json!({"stream": stream_name(&o.stream_id), "organisation": org_name(&o.organisation_id), "state": st})
    });
    let recorded_outcomes: Vec<Value> = outcomes::list(&state.db, id).await?;
    let emails: Vec<Email> = notifications::of_application(&state.db, id)
        .await?
        .into_iter()
        .map(|n| Email {
            id: n.id.to_string(),
            kind: n.kind.replace('_', " "),
            dead: n.state == "dead",
            state: n.state,
            when: when(n.sent_at.unwrap_or(n.updated_at), tz),
            attempts: n.attempts,
            error: n.last_error,
        })
        .collect();
    let events: Vec<Value> = timeline
        .iter()
        .map(|e| {
            json!({"when": e["at"].as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok()).map(|t| when(t, tz)),
                   "stage": stage(e["to"].as_str().unwrap_or("")), "actor": e["actor"], "note": e["note"]})
        })
        .collect();
    let organisations: Vec<Value> =
        scheme.organisations.iter().map(|o| json!({"value": o.id.to_string(), "text": o.name})).collect();
    let current = app.status;
    let ctx = context! {
        id => raw,
        title,
        scheme_id => scheme.id.to_string(),
        scheme => scheme.name.clone(),
        stage => labels::stage(current),
        erased,
        answers,
        adjustments,
        adjustments_detail,
        tests,
        sift => sift_view,
        dc,
        booking => booking_view,
        ac => ac_view,
        offer,
        outcomes => recorded_outcomes,
        emails,
        events,
        organisations,
        can_no_show => current == Status::AcBooked,
        can_place => current == Status::Accepted,
        can_follow => current == Status::Placed,
        errors,
        notice,
    };
    Ok(page(v, state, status, "staff_applicant.html", "/staff", ctx))
}

/// `GET /staff/applications/{id}`.
pub async fn show(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    page_get(&state, &v, &req, &path, StatusCode::OK, Errors::default(), None).await
}

type ApiAnswer = Result<HttpResponse, ApiError>;

/// `POST /staff/applications/{id}/{action}`: `resend`, `dc-override`, `no-show`, `outcome`.
pub async fn act(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = Posted::parse(&body);
    csrf(&v, &posted)?;
    let (raw, action) = path.into_inner();
    let auth = super::signed_in(&v, &req)?;
    let p = web::Path::from(raw.clone());
    let field = |k: &str| posted.get(k).unwrap_or("").trim().to_owned();
    let (res, done, anchor): (ApiAnswer, &str, fn(&str) -> String) = match action.as_str() {
        "resend" => (
            crate::http::notifications::retry(state.clone(), auth, web::Path::from(field("notification"))).await,
            "The email will be sent again.",
            |_| "emails".into(),
        ),
        "no-show" => {
            (crate::http::centres::no_show(state.clone(), auth, p).await, "Recorded that they did not attend.", |_| {
                "booking".into()
            })
        }
        "dc-override" => {
            let body = json!({"decided_by": field("dc-decided-by"), "reason": field("dc-reason")});
            (
                crate::http::sift::override_dc(state.clone(), auth, p, json_payload(&req, &body).await).await,
                "The Disability Confident override is recorded.",
                |f| format!("dc-{}", f.replace('_', "-")),
            )
        }
        "outcome" => {
            let kind = field("kind");
            let body = match kind.as_str() {
                "placement" => {
                    json!({"kind": kind, "organisation": field("organisation"), "start_date": field("outcome-start-date")})
                }
                "checkpoint" => json!({"kind": kind, "months": field("outcome-months").parse::<u32>().ok(),
                                       "in_post": match field("in_post").as_str() { "yes" => json!(true), "no" => json!(false), _ => Value::Null }}),
                _ => json!({"kind": kind, "date": field("outcome-date"), "destination": field("outcome-destination")}),
            };
            let body = strip_nulls(body);
            (
                crate::http::offers::record(state.clone(), auth, p, json_payload(&req, &body).await).await,
                "The outcome is recorded.",
                |f| format!("outcome-{}", f.replace('_', "-")),
            )
        }
        _ => return Err(PageError::NotFound),
    };
    match api_json(res).await {
        Ok(_) => page_get(&state, &v, &req, &raw, StatusCode::OK, Errors::default(), Some(done)).await,
        Err(ApiError::Forbidden) => Err(PageError::StaffForbidden),
        Err(e) => match form_errors(&e, anchor) {
            Some(errors) => page_get(&state, &v, &req, &raw, refusal(&e), errors, None).await,
            None => Err(e.into()),
        },
    }
}

/// An empty field is a missing one (the API then says it is required).
fn strip_nulls(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.retain(|_, x| !x.is_null() && x.as_str() != Some(""));
    }
    v
}
