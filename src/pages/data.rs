//! The applicant's own data (SPEC §4, §7): download everything held, and ask for it to be
//! deleted. Both call the API's own handlers, so the pages can do nothing the API would not.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use fasttrack_core::auth::Action;
use minijinja::context;

use super::account::{signed_in, to_sign_in, with_cookie};
use super::form::{Errors, Posted};
use super::session::{CSRF_FIELD, SESSION_COOKIE, Visitor, set_cookie};
use super::{PageError, render, render_plain};
use crate::http::AppState;

/// `GET /applications/{id}/your-data.json`: the subject access export, as a download.
pub async fn download(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (Ok(id), Some(auth)) = (signed_in(&v, &path, Action::ExportData), v.auth()) else {
        return Ok(to_sign_in(&state, &v));
    };
    Ok(crate::http::personal::export(state.clone(), auth, web::Path::from(id.to_string())).await?)
}

fn delete_page(
    v: &Visitor,
    state: &AppState,
    status: StatusCode,
    id: &str,
    scheme: &str,
    errors: Errors,
) -> HttpResponse {
    render(v, state, status, "delete.html", context! { id, scheme, errors })
}

/// `GET /applications/{id}/delete`: what deleting means, and a confirmation.
pub async fn delete_form(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let Ok(id) = signed_in(&v, &path, Action::EraseData) else {
        return Ok(to_sign_in(&state, &v));
    };
    let super::Mine { scheme, .. } = super::mine(&state, id).await?;
    Ok(delete_page(&v, &state, StatusCode::OK, &id.to_string(), &scheme.name, Errors::default()))
}

/// `POST /applications/{id}/delete`: the API's erasure, once the box is ticked. The session
/// goes with the data, so the answer is a page for someone no longer signed in.
pub async fn delete(
    state: web::Data<AppState>,
    v: Visitor,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = Posted::parse(&body);
    if !v.csrf_ok(posted.get(CSRF_FIELD)) {
        return Err(PageError::Csrf);
    }
    let (Ok(id), Some(auth)) = (signed_in(&v, &path, Action::EraseData), v.auth()) else {
        return Ok(to_sign_in(&state, &v));
    };
    let super::Mine { scheme, .. } = super::mine(&state, id).await?;
    if posted.get("confirm") != Some("yes") {
        let text = "Tick the box to confirm that you want your details deleted";
        let mut errors = Errors::general(text, "#confirm");
        errors.inline.insert("confirm".into(), text.into());
        return Ok(delete_page(&v, &state, StatusCode::UNPROCESSABLE_ENTITY, &id.to_string(), &scheme.name, errors));
    }
    crate::http::personal::erase_confirmed(&state, &auth, id).await?;
    let page = render_plain(
        StatusCode::OK,
        "deleted.html",
        context! { scheme => scheme.name.clone(), csrf => "", signed_in => false },
    );
    with_cookie(page, &set_cookie(&state, SESSION_COOKIE, "", Some(0)))
}
