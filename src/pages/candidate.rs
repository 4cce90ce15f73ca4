//! The applicant's stages: online tests, the assessment-centre seat, the offer. Each page
//! reads and acts through the API's own handlers (the same role matrix, the same rules);
//! the page only turns forms into their calls and their answers into words.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use fasttrack_core::auth::Action;
use fasttrack_core::store::{applications, notifications, tests as store_tests};
use fasttrack_core::validation::FieldError;
use minijinja::context;
use serde::Serialize;
use serde_json::{Value, json};

use super::account::{signed_in, to_sign_in};
use super::form::{Errors, Posted};
use super::session::{CSRF_FIELD, Visitor};
use super::{PageError, render};
use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::ApiError;

/// An API handler's answer as JSON, or its error.
async fn json_of(res: Result<HttpResponse, ApiError>) -> Result<Value, ApiError> {
    let res = res?;
    let bytes =
        actix_web::body::to_bytes(res.into_body()).await.map_err(|_| ApiError::Internal(anyhow::anyhow!("body")))?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::Internal(e.into()))
}

fn auth_for(v: &Visitor, raw: &str, action: fn(fasttrack_core::ApplicationId) -> Action) -> Option<(String, Auth)> {
    let id = signed_in(v, raw, action).ok()?;
    Some((id.to_string(), v.auth()?))
}

/// A sten (1–10) in words, for test feedback.
pub fn sten_words(sten: u8) -> &'static str {
    match sten {
        0..=2 => "well below the average of people who took this test",
        3 => "below the average of people who took this test",
        4..=7 => "around the average of people who took this test",
        8 => "above the average of people who took this test",
        _ => "well above the average of people who took this test",
    }
}

#[derive(Serialize)]
struct TestRow {
    id: String,
    name: String,
    minutes: Option<u32>,
    state: String,
    feedback: Option<String>,
}

/// `GET /applications/{id}/tests`.
pub async fn tests(state: web::Data<AppState>, v: Visitor, path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let Some((id, auth)) = auth_for(&v, &path, Action::TakeTests) else {
        return Ok(to_sign_in(&state, &v));
    };
    let list = json_of(crate::http::tests::list(state.clone(), auth, web::Path::from(id.clone())).await).await?;
    let stens = store_tests::stens(&state.db, id.parse().map_err(|_| PageError::NotFound)?).await?;
    let app =
        applications::get(&state.db, id.parse().map_err(|_| PageError::NotFound)?).await?.ok_or(PageError::NotFound)?;
    let rows: Vec<TestRow> = list
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let tid = t["id"].as_str().unwrap_or("").to_owned();
            let feedback =
                stens.iter().find(|(x, _)| *x == tid).map(|(_, s)| format!("Your score was {}.", sten_words(*s)));
            TestRow {
                id: tid,
                name: t["name"].as_str().unwrap_or("").to_owned(),
                minutes: t["time_limit_minutes"].as_u64().map(|m| m as u32),
                state: t["state"].as_str().unwrap_or("").to_owned(),
                feedback,
            }
        })
        .collect();
    let open = app.status == fasttrack_core::Status::TestsInvited;
    Ok(render(&v, &state, StatusCode::OK, "tests.html", context! { id, tests => rows, open }))
}

fn remaining(deadline: Option<&str>, now: jiff::Timestamp) -> Option<i64> {
    let d: jiff::Timestamp = deadline?.parse().ok()?;
    Some((d.as_second() - now.as_second()).max(0))
}

/// `GET /applications/{id}/tests/{test}`: the warning before starting, or (once started)
/// the questions.
pub async fn test(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (raw, test_id) = path.into_inner();
    let Some((id, auth)) = auth_for(&v, &raw, Action::TakeTests) else {
        return Ok(to_sign_in(&state, &v));
    };
    let list = json_of(crate::http::tests::list(state.clone(), auth, web::Path::from(id.clone())).await).await?;
    let t = list
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["id"] == test_id.as_str())
        .cloned()
        .ok_or(PageError::NotFound)?;
    match t["state"].as_str() {
        Some("in_progress") => questions(&state, &v, &id, &test_id, Errors::default(), &Posted::default()).await,
        Some("not_started") => Ok(render(&v, &state, StatusCode::OK, "test_start.html", context! { id, test => t })),
        _ => Ok(v.redirect(&state, &format!("/applications/{id}/tests"))),
    }
}

/// The questions of a started test (starting again shows the same items and deadline).
async fn questions(
    state: &web::Data<AppState>,
    v: &Visitor,
    id: &str,
    test_id: &str,
    errors: Errors,
    posted: &Posted,
) -> Result<HttpResponse, PageError> {
    let auth = v.auth().ok_or(PageError::Api(ApiError::Unauthorized))?;
    let started =
        crate::http::tests::start(state.clone(), auth, web::Path::from((id.to_owned(), test_id.to_owned()))).await;
    let started = match json_of(started).await {
        Ok(s) => s,
        Err(ApiError::Conflict { .. }) => return Ok(v.redirect(state, &format!("/applications/{id}/tests"))),
        Err(e) => return Err(e.into()),
    };
    let seconds_left = remaining(started["deadline_at"].as_str(), state.clock.now());
    let deadline = started["deadline_at"]
        .as_str()
        .and_then(|d| d.parse::<jiff::Timestamp>().ok())
        .map(|d| state.clock.local(d).strftime("%-I:%M%P").to_string());
    // What was ticked before an error is shown again.
    let chosen: Vec<(String, String)> = posted.0.clone();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(render(
        v,
        state,
        status,
        "test.html",
        context! { id, test => started, seconds_left, deadline, errors, chosen => chosen.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>() },
    ))
}

/// `POST /applications/{id}/tests/{test}/start`: the clock starts.
pub async fn start(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    if !v.csrf_ok(Posted::parse(&body).get(CSRF_FIELD)) {
        return Err(PageError::Csrf);
    }
    let (raw, test_id) = path.into_inner();
    let Some((id, auth)) = auth_for(&v, &raw, Action::TakeTests) else {
        return Ok(to_sign_in(&state, &v));
    };
    match json_of(crate::http::tests::start(state.clone(), auth, web::Path::from((id.clone(), test_id.clone()))).await)
        .await
    {
        Ok(_) | Err(ApiError::Conflict { .. }) => {
            Ok(v.redirect(&state, &format!("/applications/{id}/tests/{test_id}")))
        }
        Err(e) => Err(e.into()),
    }
}

/// The API's answers body from the test form: `q.<item>` radios and checkboxes, and for a
/// ranking item one `q.<item>.<option>` rank per option.
fn answers_body(test: &Value, posted: &Posted) -> Value {
    let mut answers = serde_json::Map::new();
    for item in test["questions"].as_array().into_iter().flatten() {
        let Some(item_id) = item["id"].as_str() else { continue };
        let key = format!("q.{item_id}");
        let n = item["options"].as_array().map_or(0, Vec::len);
        match item["kind"].as_str() {
            Some("multiple_choice") => {
                if let Some(i) = posted.get(&key).and_then(|s| s.parse::<u64>().ok()) {
                    answers.insert(item_id.to_owned(), json!(i));
                }
            }
            Some("best_n") => {
                let picked: Vec<u64> = posted.all(&key).iter().filter_map(|s| s.parse().ok()).collect();
                if !picked.is_empty() {
                    answers.insert(item_id.to_owned(), json!(picked));
                }
            }
            Some("ranking") => {
                let mut ranked: Vec<(u64, u64)> = (0..n as u64)
                    .filter_map(|o| {
                        posted.get(&format!("{key}.{o}")).and_then(|r| r.parse::<u64>().ok()).map(|r| (r, o))
                    })
                    .collect();
                ranked.sort();
                if !ranked.is_empty() {
                    answers.insert(item_id.to_owned(), json!(ranked.iter().map(|(_, o)| *o).collect::<Vec<_>>()));
                }
            }
            _ => {}
        }
    }
    json!({ "answers": answers })
}

/// `POST /applications/{id}/tests/{test}`: sends the answers, once.
pub async fn answer(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = Posted::parse(&body);
    if !v.csrf_ok(posted.get(CSRF_FIELD)) {
        return Err(PageError::Csrf);
    }
    let (raw, test_id) = path.into_inner();
    let Some((id, auth)) = auth_for(&v, &raw, Action::TakeTests) else {
        return Ok(to_sign_in(&state, &v));
    };
    let started = json_of(
        crate::http::tests::start(state.clone(), Auth(auth.0.clone()), web::Path::from((id.clone(), test_id.clone())))
            .await,
    )
    .await;
    let test = match started {
        Ok(t) => t,
        Err(ApiError::Conflict { .. }) => return Ok(v.redirect(&state, &format!("/applications/{id}/tests"))),
        Err(e) => return Err(e.into()),
    };
    let body = answers_body(&test, &posted);
    match crate::http::tests::respond_value(&state, &auth, &id, &test_id, &body).await {
        Ok(_) | Err(ApiError::Conflict { .. }) => Ok(v.redirect(&state, &format!("/applications/{id}/tests"))),
        Err(ApiError::Invalid(fields)) => {
            let numbered: Vec<FieldError> = fields
                .iter()
                .map(|e| {
                    let item = e.field.strip_prefix("answers.").unwrap_or(&e.field);
                    let n = test["questions"]
                        .as_array()
                        .and_then(|q| q.iter().position(|x| x["id"] == item))
                        .map_or(0, |i| i + 1);
                    FieldError { field: format!("question {n}"), message: e.message.clone() }
                })
                .collect();
            let errors = Errors::from_fields(&numbered, |f| f.replace(' ', "-"));
            questions(&state, &v, &id, &test_id, errors, &posted).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /applications/{id}/booking`: the seat offered, with accept, decline and move.
pub async fn booking(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let Some((id, auth)) = auth_for(&v, &path, Action::ReadBooking) else {
        return Ok(to_sign_in(&state, &v));
    };
    booking_page(&state, &v, &id, auth, Errors::default(), StatusCode::OK).await
}

async fn booking_page(
    state: &web::Data<AppState>,
    v: &Visitor,
    id: &str,
    auth: Auth,
    errors: Errors,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let b = json_of(crate::http::centres::booking(state.clone(), auth, web::Path::from(id.to_owned())).await).await?;
    let app_id: fasttrack_core::ApplicationId = id.parse().map_err(|_| PageError::NotFound)?;
    let super::Mine { details, scheme, .. } = super::mine(state, app_id).await?;
    let centre = b["centre"].as_str().and_then(|c| scheme.assessment_centres.iter().find(|x| x.id == c));
    let date = b["date"]
        .as_str()
        .and_then(|d| d.parse::<jiff::civil::Date>().ok())
        .map(|d| d.strftime("%A %-d %B %Y").to_string());
    Ok(render(
        v,
        state,
        status,
        "booking.html",
        context! {
            id, b, date, errors,
            centre_name => centre.map(|c| c.name.clone()),
            adjustments => details.adjustments.clone(),
        },
    ))
}

/// `GET /applications/{id}/booking.ics`: the same calendar file as the invitation email.
pub async fn calendar(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let Some((id, _)) = auth_for(&v, &path, Action::ReadBooking) else {
        return Ok(to_sign_in(&state, &v));
    };
    let app_id: fasttrack_core::ApplicationId = id.parse().map_err(|_| PageError::NotFound)?;
    // The calendar of the latest invitation email, so the file is the one the email carried.
    let context =
        notifications::latest_context(&state.db, app_id, "ac_invitation").await?.ok_or(PageError::NotFound)?;
    let event: fasttrack_workers::notify::ics::Event =
        serde_json::from_value(context["ics"].clone()).map_err(|e| ApiError::Internal(e.into()))?;
    let from = state.settings.mail.from.clone();
    let organiser = from.rsplit_once('<').map_or(from.as_str(), |(_, a)| a.trim_end_matches('>')).to_owned();
    // The same event as the email's, with the seat's state now: accepted is CONFIRMED.
    let me = super::mine(&state, app_id).await?;
    let accepted = fasttrack_core::store::bookings::get(&state.db, app_id)
        .await?
        .is_some_and(|b| b.state == fasttrack_core::centres::BookingState::Accepted);
    let attendee =
        fasttrack_workers::notify::ics::Attendee { name: &me.details.name, email: &me.details.email, accepted };
    let ics = fasttrack_workers::notify::ics::invitation(&event, &me.scheme.name, &organiser, &attendee);
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"assessment-centre.ics\""))
        .insert_header(("Cache-Control", "no-store"))
        .body(ics))
}

/// `POST /applications/{id}/booking`: `action` = accept, decline (with `confirm`), or move.
pub async fn answer_booking(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = Posted::parse(&body);
    if !v.csrf_ok(posted.get(CSRF_FIELD)) {
        return Err(PageError::Csrf);
    }
    let Some((id, auth)) = auth_for(&v, &path, Action::AnswerBooking) else {
        return Ok(to_sign_in(&state, &v));
    };
    let p = || web::Path::from(id.clone());
    let a = || Auth(auth.0.clone());
    let result = match posted.get("action") {
        Some("accept") => crate::http::centres::accept(state.clone(), a(), p()).await,
        Some("decline") if posted.get("confirm") == Some("yes") => {
            crate::http::centres::decline(state.clone(), a(), p()).await
        }
        Some("decline") => {
            let auth = a();
            return Ok(render(
                &v,
                &state,
                StatusCode::OK,
                "confirm.html",
                context! {
                    id, action => "decline", form_action => format!("/applications/{}/booking", auth.0.application_id.map(|x| x.to_string()).unwrap_or_default()),
                    title => "Are you sure you want to decline your assessment-centre seat?",
                    body => "Your seat will be offered to someone on the waiting list. You cannot take it back.",
                    button => "Yes, decline my seat", back => format!("/applications/{}/booking", path.as_str()),
                },
            ));
        }
        Some("move") => crate::http::centres::rebook(state.clone(), a(), p()).await,
        _ => Err(ApiError::invalid("action", "choose what to do with your seat")),
    };
    match result {
        Ok(_) => Ok(v.redirect(&state, &format!("/applications/{id}/booking"))),
        Err(ApiError::Conflict { detail, .. }) => {
            booking_page(
                &state,
                &v,
                &id,
                a(),
                Errors::general(format!("We could not do that: {detail}"), "#answer"),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /applications/{id}/offer`.
pub async fn offer(state: web::Data<AppState>, v: Visitor, path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let Some((id, auth)) = auth_for(&v, &path, Action::ReadBooking) else {
        return Ok(to_sign_in(&state, &v));
    };
    offer_page(&state, &v, &id, auth, Errors::default(), StatusCode::OK).await
}

async fn offer_page(
    state: &web::Data<AppState>,
    v: &Visitor,
    id: &str,
    auth: Auth,
    errors: Errors,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let o = json_of(crate::http::offers::get(state.clone(), auth, web::Path::from(id.to_owned())).await).await?;
    let app_id: fasttrack_core::ApplicationId = id.parse().map_err(|_| PageError::NotFound)?;
    let super::Mine { scheme, .. } = super::mine(state, app_id).await?;
    let stream = o["stream"].as_str().and_then(|s| scheme.stream(s)).map(|s| s.name.clone());
    let starts_on = scheme.starts_on.map(|d| d.strftime("%A %-d %B %Y").to_string());
    Ok(render(
        v,
        state,
        status,
        "offer.html",
        context! { id, o, stream, starts_on, scheme => scheme.name.clone(), errors },
    ))
}

/// `POST /applications/{id}/offer`: `action` = accept or decline, each after a confirmation.
pub async fn answer_offer(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = Posted::parse(&body);
    if !v.csrf_ok(posted.get(CSRF_FIELD)) {
        return Err(PageError::Csrf);
    }
    let Some((id, auth)) = auth_for(&v, &path, Action::AnswerOffer) else {
        return Ok(to_sign_in(&state, &v));
    };
    let action = posted.get("action").unwrap_or("");
    if !matches!(action, "accept" | "decline") {
        return Ok(v.redirect(&state, &format!("/applications/{id}/offer")));
    }
    if posted.get("confirm") != Some("yes") {
        let (title, body, button) = if action == "accept" {
            (
                "Are you sure you want to accept this offer?",
                "We will tell the host organisation, and they will contact you about your start.",
                "Yes, accept the offer",
            )
        } else {
            (
                "Are you sure you want to decline this offer?",
                "The place will go to the next person on the reserve list. You cannot take it back.",
                "Yes, decline the offer",
            )
        };
        return Ok(render(
            &v,
            &state,
            StatusCode::OK,
            "confirm.html",
            context! {
                id, action, form_action => format!("/applications/{id}/offer"), title, body, button,
                back => format!("/applications/{id}/offer"),
            },
        ));
    }
    let p = web::Path::from(id.clone());
    let result = if action == "accept" {
        crate::http::offers::accept(state.clone(), Auth(auth.0.clone()), p).await
    } else {
        crate::http::offers::decline(state.clone(), Auth(auth.0.clone()), p).await
    };
    match result {
        Ok(_) => Ok(v.redirect(&state, &format!("/applications/{id}/offer"))),
        Err(ApiError::Conflict { detail, .. }) => {
            offer_page(
                &state,
                &v,
                &id,
                auth,
                Errors::general(format!("We could not do that: {detail}"), "#answer"),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
