//! Coming back: sign-in links (one-time, expiring, exchanged for a session cookie), asking
//! for a new link by email address, signing out; the applicant's own page with its status
//! and timeline; withdrawing.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use fasttrack_core::Status;
use fasttrack_core::auth::Action;
use fasttrack_core::mail::{Addressee, Mail};
use fasttrack_core::store::notifications::{self, NewNotification};
use fasttrack_core::store::{applications, web as store};
use fasttrack_core::{ApplicationId, NotificationId};
use minijinja::context;
use serde::Serialize;

use super::form::{Errors, Posted};
use super::session::{CSRF_FIELD, SESSION_COOKIE, Visitor, set_cookie};
use super::{PageError, labels, render};
use crate::http::AppState;
use crate::http::error::ApiError;

/// A page path of the site that a sign-in may lead to (nothing outside it).
fn safe_next(next: &str) -> Option<&str> {
    (next.starts_with("/applications/") && !next.contains("//") && !next.contains('\\')).then_some(next)
}

/// `GET /sign-in`: ask for a new link by email address.
pub async fn sign_in_form(state: web::Data<AppState>, v: Visitor) -> HttpResponse {
    render(&v, &state, StatusCode::OK, "sign_in.html", context! { errors => Errors::default(), email => "" })
}

/// `POST /sign-in`: emails a link to each application made with the address. The answer is
/// the same whether or not there is one, so the page tells nobody who has applied. One link
/// email per application per five minutes, however often it is asked for.
pub async fn send_link(state: web::Data<AppState>, v: Visitor, body: web::Bytes) -> Result<HttpResponse, PageError> {
    let posted = Posted::parse(&body);
    if !v.csrf_ok(posted.get(CSRF_FIELD)) {
        return Err(PageError::Csrf);
    }
    let email = posted.get("email").unwrap_or("").trim().to_owned();
    if let Err(m) = fasttrack_core::email::Email::parse(&email) {
        let message = if email.is_empty() { "is required" } else { m };
        let errors = Errors::from_fields(
            &[fasttrack_core::validation::FieldError { field: "email".into(), message: message.into() }],
            |_| "email".into(),
        );
        return Ok(render(&v, &state, StatusCode::UNPROCESSABLE_ENTITY, "sign_in.html", context! { errors, email }));
    }
    let now = state.clock.now();
    let bucket = now.as_second() / 300;
    let mut emails: Vec<NotificationId> = Vec::new();
    let found = store::applications_by_email(&state.db, &email).await?;
    if !found.is_empty() {
        let mut tx = state.db.begin().await?;
        for (id, scheme_id, details) in &found {
            let scheme_name = match state.schemes.get(&state.db, scheme_id).await? {
                Some(s) => s.name.clone(),
                None => continue,
            };
            let name = details.get("name").and_then(|n| n.as_str()).unwrap_or("applicant");
            let mail = Mail::SignIn {
                to: Addressee::new(name, &scheme_name, &id.to_string()),
                valid_for: format!("{} hours", state.settings.pages.sign_in_link_hours),
            };
            // To the address the application holds (as it was given), not as typed here.
            let to = details.get("email").and_then(|e| e.as_str()).unwrap_or(&email);
            let n = NewNotification::new(&id.to_string(), to, &mail, format!("{id}:sign_in:{bucket}"));
            if notifications::insert(&mut tx, &n, now).await? {
                emails.push(n.id);
            }
        }
        tx.commit().await?;
        state.enqueue_emails(&emails);
    }
    tracing::info!(asked = found.len(), sent = emails.len(), "sign-in link asked for");
    Ok(render(&v, &state, StatusCode::OK, "sign_in_sent.html", context! { email }))
}

/// `GET /sign-in/{token}`: a button that uses the link. Opening a link does not use it (mail
/// scanners open links), pressing the button does.
pub async fn link(state: web::Data<AppState>, v: Visitor, path: web::Path<String>) -> HttpResponse {
    render(&v, &state, StatusCode::OK, "sign_in_link.html", context! { token => path.into_inner() })
}

/// `POST /sign-in/{token}`: exchanges the link for a session and goes where it leads.
pub async fn redeem(
    state: web::Data<AppState>,
    mut v: Visitor,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = Posted::parse(&body);
    if !v.csrf_ok(posted.get(CSRF_FIELD)) {
        return Err(PageError::Csrf);
    }
    let token = path.into_inner();
    let redeemed = match token.len() {
        1..=128 => store::redeem_link(&state.db, &token, state.clock.now()).await?,
        _ => None,
    };
    let Some(r) = redeemed else {
        let errors = Errors::general(
            "This sign-in link has expired or has already been used. Ask for a new one below.",
            "#email",
        );
        return Ok(render(&v, &state, StatusCode::GONE, "sign_in.html", context! { errors, email => "" }));
    };
    let cookie = v.sign_in(&state, r.application).await?;
    let next = safe_next(&r.next).map_or_else(|| format!("/applications/{}", r.application), str::to_owned);
    tracing::info!(application = %r.application, "signed in with a link");
    with_cookie(v.redirect(&state, &next), &cookie)
}

pub(super) fn with_cookie(mut res: HttpResponse, cookie: &str) -> Result<HttpResponse, PageError> {
    res.headers_mut()
        .append(header::SET_COOKIE, header::HeaderValue::from_str(cookie).map_err(|e| ApiError::Internal(e.into()))?);
    Ok(res)
}

/// `POST /sign-out`.
pub async fn sign_out(state: web::Data<AppState>, v: Visitor, body: web::Bytes) -> Result<HttpResponse, PageError> {
    if !v.csrf_ok(Posted::parse(&body).get(CSRF_FIELD)) {
        return Err(PageError::Csrf);
    }
    if let Some((secret, _)) = &v.session {
        store::close_session(&state.db, secret, state.clock.now()).await?;
    }
    with_cookie(v.redirect(&state, "/sign-in?signed_out=1"), &set_cookie(&state, SESSION_COOKIE, "", Some(0)))
}

/// The applicant signed in to this application, or the sign-in page.
pub(super) fn signed_in(v: &Visitor, raw: &str, action: fn(ApplicationId) -> Action) -> Result<ApplicationId, ()> {
    let id: ApplicationId = raw.parse().map_err(|_| ())?;
    match v.auth() {
        Some(auth) if auth.require(action(id)).is_ok() => Ok(id),
        _ => Err(()),
    }
}

pub(super) fn to_sign_in(state: &AppState, v: &Visitor) -> HttpResponse {
    let errors =
        Errors::general("Sign in to see this page: use the link we emailed you, or ask for a new one.", "#email");
    render(v, state, StatusCode::UNAUTHORIZED, "sign_in.html", context! { errors, email => "" })
}

#[derive(Serialize)]
struct Event {
    when: String,
    text: String,
}

/// What a change of status means, in words.
fn event_words(to: Status, note: Option<&str>) -> String {
    use Status::*;
    let base = match to {
        Submitted => "We received your application",
        Ineligible => "Your application could not go further",
        TestsInvited => "You were invited to the online tests",
        TestsCompleted => "You finished your online tests",
        Scored => "Your tests were scored",
        Rejected => "You were not successful this time",
        Shortlisted => "You were shortlisted for an assessment centre",
        Reserve => "You were put on the reserve list",
        AcInvited => "You were offered a seat at an assessment centre",
        AcBooked => "You accepted your assessment-centre seat",
        NoShow => "You did not attend your assessment centre",
        Assessed => "You were assessed at the assessment centre",
        Offered => "You were offered a place",
        Accepted => "You accepted your offer",
        Declined => "You declined",
        Placed => "You were placed",
        Withdrawn => "You withdrew your application",
    };
    match (to, note) {
        (Ineligible, Some(n)) => format!("{base}: {n}"),
        _ => base.to_owned(),
    }
}

/// What happens next, in words, for each status.
fn next_words(s: Status, scheme: &fasttrack_core::scheme::SchemeDefinition, closes: &str) -> (&'static str, String) {
    use Status::*;
    match s {
        Submitted => ("", format!("After applications close on {closes}, we will tell you what happens next.")),
        TestsInvited => ("tests", format!("Take your online tests before applications close on {closes}.")),
        TestsCompleted | Scored => ("", format!("We will score your tests and tell you the result after {closes}.")),
        Shortlisted => ("", "We will offer you a seat at an assessment centre by email.".into()),
        Reserve => ("", "If a place comes free, we will contact you.".into()),
        AcInvited => ("booking", "Accept or decline your assessment-centre seat.".into()),
        AcBooked => ("booking", "Come to your assessment centre. Check the date, time and what to bring.".into()),
        Assessed => ("", "We will tell you the outcome of your assessment centre by email.".into()),
        Offered => ("offer", "Accept or decline your offer.".into()),
        Accepted => ("offer", format!("The {} team will be in touch about your start.", scheme.name)),
        _ => ("", "There is nothing more for you to do.".into()),
    }
}

/// `GET /applications/{id}`: status, timeline, what happens next.
pub async fn application(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let Ok(id) = signed_in(&v, &path, Action::ReadApplication) else {
        return Ok(to_sign_in(&state, &v));
    };
    let super::Mine { app, details, scheme } = super::mine(&state, id).await?;
    let tz = state.clock.tz().clone();
    let timeline: Vec<Event> = applications::timeline(&state.db, id)
        .await?
        .into_iter()
        .rev()
        .map(|e| Event { when: super::when(e.at, &tz), text: event_words(e.to, e.note.as_deref()) })
        .collect();
    let (tag, colour) = labels::status(app.status);
    let (next_page, next) = next_words(app.status, &scheme, &super::when(scheme.closes_at, &tz));
    Ok(render(
        &v,
        &state,
        StatusCode::OK,
        "application.html",
        context! {
            id => id.to_string(), scheme => scheme.name.clone(), name => details.name.clone(),
            tag, colour, timeline, next, next_page,
            can_withdraw => !app.status.is_final(),
            submitted => super::when(app.created_at, &tz),
        },
    ))
}

/// `GET /applications/{id}/submitted`: the confirmation panel.
pub async fn submitted(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let Ok(id) = signed_in(&v, &path, Action::ReadApplication) else {
        return Ok(to_sign_in(&state, &v));
    };
    let super::Mine { app, details, scheme } = super::mine(&state, id).await?;
    let tz = state.clock.tz().clone();
    let (tag, colour) = labels::status(app.status);
    Ok(render(
        &v,
        &state,
        StatusCode::OK,
        "submitted.html",
        context! {
            id => id.to_string(), scheme => scheme.name.clone(), email => details.email.clone(),
            closes => super::when(scheme.closes_at, &tz), tag, colour,
            tests => app.status == Status::TestsInvited,
            ineligible => app.status == Status::Ineligible,
        },
    ))
}

/// `GET /applications/{id}/withdraw`: are you sure?
pub async fn withdraw_form(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let Ok(id) = signed_in(&v, &path, Action::WithdrawApplication) else {
        return Ok(to_sign_in(&state, &v));
    };
    let super::Mine { app, scheme, .. } = super::mine(&state, id).await?;
    Ok(render(
        &v,
        &state,
        StatusCode::OK,
        "withdraw.html",
        context! { id => id.to_string(), scheme => scheme.name.clone(), errors => Errors::default(), final_state => app.status.is_final() },
    ))
}

/// `POST /applications/{id}/withdraw`: the API's withdrawal.
pub async fn withdraw(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = Posted::parse(&body);
    if !v.csrf_ok(posted.get(CSRF_FIELD)) {
        return Err(PageError::Csrf);
    }
    let (Ok(id), Some(auth)) = (signed_in(&v, &path, Action::WithdrawApplication), v.auth()) else {
        return Ok(to_sign_in(&state, &v));
    };
    if posted.get("confirm") != Some("yes") {
        let super::Mine { scheme, .. } = super::mine(&state, id).await?;
        let errors = Errors::general("Tick the box to confirm that you want to withdraw", "#confirm");
        let mut inline = errors.clone();
        inline.inline.insert("confirm".into(), "Tick the box to confirm that you want to withdraw".into());
        return Ok(render(
            &v,
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "withdraw.html",
            context! { id => id.to_string(), scheme => scheme.name.clone(), errors => inline, final_state => false },
        ));
    }
    match crate::http::applications::withdraw(state.clone(), auth, web::Path::from(id.to_string())).await {
        Ok(_) => Ok(v.redirect(&state, &format!("/applications/{id}"))),
        Err(ApiError::Conflict { detail, .. }) => {
            let super::Mine { scheme, .. } = super::mine(&state, id).await?;
            let errors = Errors::general(format!("You cannot withdraw: {detail}"), "#confirm");
            Ok(render(
                &v,
                &state,
                StatusCode::CONFLICT,
                "withdraw.html",
                context! { id => id.to_string(), scheme => scheme.name.clone(), errors, final_state => true },
            ))
        }
        Err(e) => Err(e.into()),
    }
}
