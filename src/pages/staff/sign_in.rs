//! Staff sign-in: an email address gets a one-time link (minted when the email is sent, so
//! no usable secret waits in the outbox); pressing the link's button opens an expiring
//! session in its own cookie; signing out ends it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use fasttrack_core::mail::Mail;
use fasttrack_core::store::notifications::{self, NewNotification};
use fasttrack_core::store::staff;
use minijinja::context;

use super::super::account::with_cookie;
use super::super::form::{Errors, Posted};
use super::super::session::{STAFF_COOKIE, Visitor, set_cookie};
use super::super::{PageError, render};
use super::csrf;
use crate::http::AppState;

/// A staff page a sign-in may lead to (nothing outside the staff pages).
pub(crate) fn safe_next(next: &str) -> Option<&str> {
    (next == "/staff" || next.starts_with("/staff/"))
        .then_some(next)
        .filter(|n| !n.contains("//") && !n.contains('\\') && !n.starts_with("/staff/sign-"))
}

#[derive(serde::Deserialize)]
pub struct Next {
    next: Option<String>,
    signed_out: Option<String>,
}

/// `GET /staff/sign-in`: ask for a link by email address.
pub async fn form(state: web::Data<AppState>, v: Visitor, q: web::Query<Next>) -> HttpResponse {
    if v.staff.is_some() {
        let to = q.next.as_deref().and_then(safe_next).unwrap_or("/staff");
        return v.redirect(&state, to);
    }
    let next = q.next.as_deref().and_then(safe_next).unwrap_or("");
    let errors = match q.signed_out {
        Some(_) => Errors::default(),
        None if !next.is_empty() => Errors::general("Sign in to see this page.", "#email"),
        None => Errors::default(),
    };
    let status = if next.is_empty() { StatusCode::OK } else { StatusCode::UNAUTHORIZED };
    let signed_out = q.signed_out.is_some();
    render(&v, &state, status, "staff_sign_in.html", context! { errors, email => "", next, signed_out })
}

/// `POST /staff/sign-in`: emails a link to the account with this address. The answer is
/// the same whether or not there is one; one link email per account per five minutes.
pub async fn send(state: web::Data<AppState>, v: Visitor, body: web::Bytes) -> Result<HttpResponse, PageError> {
    let posted = Posted::parse(&body);
    csrf(&v, &posted)?;
    let email = posted.get("email").unwrap_or("").trim().to_owned();
    let next = posted.get("next").and_then(safe_next).unwrap_or("/staff").to_owned();
    if let Err(m) = fasttrack_core::email::Email::parse(&email) {
        let message = if email.is_empty() { "Enter your email address" } else { m };
        let errors = Errors::from_fields(
            &[fasttrack_core::validation::FieldError { field: "email".into(), message: message.into() }],
            |_| "email".into(),
        );
        return Ok(render(
            &v,
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "staff_sign_in.html",
            context! { errors, email, next, signed_out => false },
        ));
    }
    let now = state.clock.now();
    if let Some(acc) = staff::by_email(&state.db, &email).await? {
        let mail = Mail::StaffSignIn {
            name: acc.name.clone(),
            staff_id: acc.id.clone(),
            role: super::role_text(acc.role).to_owned(),
            valid_for: format!("{} hours", state.settings.pages.sign_in_link_hours),
            next,
        };
        let key = format!("staff:{}:sign_in:{}", acc.id, now.as_second() / 300);
        let n = NewNotification::new("", &acc.email, &mail, key);
        let mut tx = state.db.begin().await?;
        let added = notifications::insert(&mut tx, &n, now).await?;
        tx.commit().await?;
        if added {
            state.enqueue_emails(&[n.id]);
        }
        tracing::info!(staff = %acc.id, sent = added, "staff sign-in link asked for");
    }
    Ok(render(&v, &state, StatusCode::OK, "staff_sign_in_sent.html", context! { email }))
}

/// `GET /staff/sign-in/{token}`: a button that uses the link (opening it does not: mail
/// scanners open links).
pub async fn link(state: web::Data<AppState>, v: Visitor, path: web::Path<String>) -> HttpResponse {
    render(&v, &state, StatusCode::OK, "staff_sign_in_link.html", context! { token => path.into_inner() })
}

/// `POST /staff/sign-in/{token}`: exchanges the link for a session.
pub async fn redeem(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = Posted::parse(&body);
    csrf(&v, &posted)?;
    let now = state.clock.now();
    let token = path.into_inner();
    let redeemed = match token.len() {
        1..=128 => staff::redeem_link(&state.db, &token, now, state.settings.pages.session_ttl()).await?,
        _ => None,
    };
    let Some((session, acc, next)) = redeemed else {
        let errors = Errors::general(
            "This sign-in link has expired or has already been used. Ask for a new one below.",
            "#email",
        );
        return Ok(render(
            &v,
            &state,
            StatusCode::GONE,
            "staff_sign_in.html",
            context! { errors, email => "", next => "", signed_out => false },
        ));
    };
    if let Some(old) = &v.staff {
        staff::close_session(&state.db, &old.secret, now).await?;
    }
    tracing::info!(staff = %acc.id, role = acc.role.as_str(), "staff signed in with a link");
    let to = safe_next(&next).unwrap_or("/staff");
    with_cookie(v.redirect(&state, to), &set_cookie(&state, STAFF_COOKIE, &session, None))
}

/// `POST /staff/sign-out`.
pub async fn sign_out(state: web::Data<AppState>, v: Visitor, body: web::Bytes) -> Result<HttpResponse, PageError> {
    csrf(&v, &Posted::parse(&body))?;
    if let Some(s) = &v.staff {
        staff::close_session(&state.db, &s.secret, state.clock.now()).await?;
    }
    with_cookie(v.redirect(&state, "/staff/sign-in?signed_out=1"), &set_cookie(&state, STAFF_COOKIE, "", Some(0)))
}
