//! Admin pages: staff accounts (create, disable), API tokens for programs (create, shown
//! once; revoke), and emails that could not be delivered (send again).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use fasttrack_core::auth::Action;
use fasttrack_core::store;
use minijinja::context;
use serde_json::{Value, json};

use super::super::form::{Errors, Posted};
use super::super::session::Visitor;
use super::super::{PageError, when};
use super::{api_json, csrf, form_errors, json_payload, page, require, role_text};
use crate::http::AppState;
use crate::http::error::ApiError;

const ROLES: [(&str, &str); 4] =
    [("recruiter", "Recruiter"), ("assessor", "Assessor"), ("hr", "HR and equality"), ("admin", "Admin")];

fn role_options() -> Vec<Value> {
    ROLES.iter().map(|(v, t)| json!({"value": v, "text": t})).collect()
}

/// `GET /staff/admin/staff`.
pub async fn staff(state: web::Data<AppState>, v: Visitor, req: HttpRequest) -> Result<HttpResponse, PageError> {
    require(&v, &req, Action::ManageStaff)?;
    staff_page(&state, &v, StatusCode::OK, Errors::default(), None, None).await
}

async fn staff_page(
    state: &AppState,
    v: &Visitor,
    status: StatusCode,
    errors: Errors,
    form: Option<&Posted>,
    notice: Option<String>,
) -> Result<HttpResponse, PageError> {
    let tz = state.clock.tz();
    let accounts: Vec<Value> = store::staff::list(&state.db)
        .await?
        .into_iter()
        .map(|a| {
            json!({"id": a.id, "name": a.name, "email": a.email, "role": role_text(a.role), "assessor": a.assessor_id,
                   "created": when(a.created_at, tz), "disabled": a.disabled_at.map(|t| when(t, tz))})
        })
        .collect();
    let get = |k: &str| form.and_then(|f| f.get(k)).unwrap_or("").to_owned();
    let values = json!({"email": get("email"), "name": get("name"), "role": get("role"), "assessor": get("assessor")});
    let ctx = context! { accounts, values, roles => role_options(), errors, notice };
    Ok(page(v, state, status, "staff_admin_staff.html", "/staff/admin/staff", ctx))
}

/// `POST /staff/admin/staff`: a new account (they then ask for a sign-in link themselves).
pub async fn create_staff(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = Posted::parse(&body);
    csrf(&v, &posted)?;
    let auth = require(&v, &req, Action::ManageStaff)?;
    let f = |k: &str| posted.get(k).unwrap_or("").to_owned();
    match crate::http::admin::new_staff(&state, &auth, &f("email"), &f("name"), &f("role"), &f("assessor")).await {
        Ok(acc) => {
            let notice = format!(
                "{} can now sign in as {} at /staff/sign-in with {}.",
                acc.name,
                role_text(acc.role),
                acc.email
            );
            staff_page(&state, &v, StatusCode::OK, Errors::default(), None, Some(notice)).await
        }
        Err(e) => match form_errors(&e, str::to_owned) {
            Some(errors) => staff_page(&state, &v, StatusCode::UNPROCESSABLE_ENTITY, errors, Some(&posted), None).await,
            None => Err(e.into()),
        },
    }
}

/// `POST /staff/admin/staff/{id}/disable`.
pub async fn disable_staff(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    csrf(&v, &Posted::parse(&body))?;
    let auth = require(&v, &req, Action::ManageStaff)?;
    api_json(crate::http::admin::disable_staff(state.clone(), auth, path).await).await?;
    staff_page(&state, &v, StatusCode::OK, Errors::default(), None, Some("The account is disabled.".into())).await
}

/// `GET /staff/admin/tokens`.
pub async fn tokens(state: web::Data<AppState>, v: Visitor, req: HttpRequest) -> Result<HttpResponse, PageError> {
    require(&v, &req, Action::CreateToken)?;
    tokens_page(&state, &v, &req, StatusCode::OK, Errors::default(), None, None).await
}

async fn tokens_page(
    state: &web::Data<AppState>,
    v: &Visitor,
    req: &HttpRequest,
    status: StatusCode,
    errors: Errors,
    created: Option<Value>,
    notice: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let auth = require(v, req, Action::CreateToken)?;
    let listed = api_json(crate::http::admin::list_tokens(state.clone(), auth).await).await?;
    let tz = state.clock.tz();
    let at = |t: &Value| t.as_str().and_then(|s| s.parse::<jiff::Timestamp>().ok()).map(|t| when(t, tz));
    let tokens: Vec<Value> = listed["tokens"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            json!({"id": t["id"], "name": t["name"], "role": t["role"], "assessor": t["assessor_id"],
                   "created": at(&t["created_at"]), "revoked": at(&t["revoked_at"])})
        })
        .collect();
    let ctx = context! { tokens, roles => role_options(), errors, created, notice };
    Ok(page(v, state, status, "staff_admin_tokens.html", "/staff/admin/tokens", ctx))
}

/// `POST /staff/admin/tokens`: a token for a program; its secret is shown once, here.
pub async fn create_token(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = Posted::parse(&body);
    csrf(&v, &posted)?;
    let auth = require(&v, &req, Action::CreateToken)?;
    let mut body = json!({"role": posted.get("role").unwrap_or(""), "name": posted.get("token-name").unwrap_or("")});
    if let Some(a) = posted.get("token-assessor-id").map(str::trim).filter(|a| !a.is_empty()) {
        body["assessor_id"] = json!(a);
    }
    let res = crate::http::admin::create_token(state.clone(), auth, json_payload(&req, &body).await).await;
    match api_json(res).await {
        Ok(created) => tokens_page(&state, &v, &req, StatusCode::OK, Errors::default(), Some(created), None).await,
        Err(e) => match form_errors(&e, |f| format!("token-{}", f.replace('_', "-"))) {
            Some(errors) => tokens_page(&state, &v, &req, StatusCode::UNPROCESSABLE_ENTITY, errors, None, None).await,
            None => Err(e.into()),
        },
    }
}

/// `POST /staff/admin/tokens/{id}/revoke`.
pub async fn revoke_token(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    csrf(&v, &Posted::parse(&body))?;
    let auth = require(&v, &req, Action::CreateToken)?;
    api_json(crate::http::admin::revoke_token(state.clone(), auth, path).await).await?;
    tokens_page(
        &state,
        &v,
        &req,
        StatusCode::OK,
        Errors::default(),
        None,
        Some("The token is revoked: it no longer works."),
    )
    .await
}

/// `GET /staff/admin/emails`: the emails that failed every attempt.
pub async fn emails(state: web::Data<AppState>, v: Visitor, req: HttpRequest) -> Result<HttpResponse, PageError> {
    emails_page(&state, &v, &req, StatusCode::OK, Errors::default(), None).await
}

async fn emails_page(
    state: &web::Data<AppState>,
    v: &Visitor,
    req: &HttpRequest,
    status: StatusCode,
    errors: Errors,
    notice: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let auth = require(v, req, Action::ListDeadNotifications)?;
    let q = web::Query::from_query("state=dead&limit=500").map_err(|_| PageError::NotFound)?;
    let dead = api_json(crate::http::notifications::list(state.clone(), auth, q).await).await?;
    let tz = state.clock.tz();
    let emails: Vec<Value> = dead
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            json!({"id": n["id"], "kind": n["kind"].as_str().unwrap_or("").replace('_', " "), "application": n["application_id"],
                   "attempts": n["attempts"], "error": n["last_error"],
                   "when": n["updated_at"].as_str().and_then(|s| s.parse::<jiff::Timestamp>().ok()).map(|t| when(t, tz))})
        })
        .collect();
    let ctx = context! { emails, errors, notice };
    Ok(page(v, state, status, "staff_admin_emails.html", "/staff/admin/emails", ctx))
}

/// `POST /staff/admin/emails/{id}/retry`.
pub async fn retry_email(
    state: web::Data<AppState>,
    v: Visitor,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    csrf(&v, &Posted::parse(&body))?;
    require(&v, &req, Action::ListDeadNotifications)?;
    let auth = require(&v, &req, Action::RetryNotification)?;
    match api_json(crate::http::notifications::retry(state.clone(), auth, path).await).await {
        Ok(_) => {
            emails_page(&state, &v, &req, StatusCode::OK, Errors::default(), Some("The email will be sent again."))
                .await
        }
        Err(e @ ApiError::Conflict { .. }) => {
            let errors = form_errors(&e, str::to_owned).unwrap_or_default();
            emails_page(&state, &v, &req, StatusCode::CONFLICT, errors, None).await
        }
        Err(e) => Err(e.into()),
    }
}
