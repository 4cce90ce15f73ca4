//! Who is looking at a page: the browser (a random secret in a cookie, which keys the
//! person's drafts and their forms' CSRF token) and, once signed in, their session (an
//! expiring token, stored hashed, in its own cookie). Cookies are HttpOnly, SameSite=Lax,
//! and Secure unless the service is plain HTTP on loopback.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, HttpResponseBuilder, web};
use fasttrack_core::auth::hex;
use fasttrack_core::store::{tokens, web as store};
use fasttrack_core::{ApplicationId, Caller};
use sha2::{Digest, Sha256};

use crate::http::AppState;
use crate::http::auth::Auth;
use crate::http::error::ApiError;

pub const BROWSER_COOKIE: &str = "ft_browser";
pub const SESSION_COOKIE: &str = "ft_session";
/// A member of staff's session: its own cookie, so an applicant and a member of staff never
/// share one, and signing out of one leaves the other.
pub const STAFF_COOKIE: &str = "ft_staff";
/// The hidden field every POST form carries.
pub const CSRF_FIELD: &str = "_csrf";

/// A request's cookie by name (the `Cookie` header, read by hand: no cookie jar needed).
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| {
            !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        })
}

/// A `Set-Cookie` value. `max_age` None: gone with the browser session; Some(0): deleted.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: Option<i64>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if !state.settings.pages.insecure_loopback() {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    c
}

/// The person on a page.
pub struct Visitor {
    /// The browser's secret; `fresh` when this response must set it.
    pub browser: String,
    fresh: bool,
    /// The signed-in session: its secret and who it stands for.
    pub session: Option<(String, Caller)>,
    /// A member of staff signed in on this browser.
    pub staff: Option<StaffSession>,
}

/// A staff session: its secret, the caller the role matrix reads, and the account.
pub struct StaffSession {
    pub secret: String,
    pub caller: Caller,
    pub account: fasttrack_core::store::staff::StaffAccount,
}

impl Visitor {
    /// The CSRF token of this browser's forms: derived from its secret, so it needs no
    /// storage, and a page of another site can neither read nor compute it.
    pub fn csrf(&self) -> String {
        hex(&Sha256::digest(format!("fasttrack csrf\0{}", self.browser).as_bytes()))[..32].to_owned()
    }

    /// Whether a submitted form carries this browser's CSRF token.
    pub fn csrf_ok(&self, submitted: Option<&str>) -> bool {
        // Constant time is not needed against a value only this browser can know, but costs nothing.
        submitted.is_some_and(|s| {
            let want = self.csrf();
            s.len() == want.len() && s.bytes().zip(want.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
        })
    }

    /// The draft key of this browser's application to a scheme.
    pub fn draft_key(&self, scheme: &str) -> String {
        format!("{}:{scheme}", self.browser)
    }

    /// The signed-in applicant's application, if any.
    pub fn application(&self) -> Option<ApplicationId> {
        self.session.as_ref().and_then(|(_, c)| c.application_id)
    }

    /// The caller for the API's own functions: the role matrix decides as it does there.
    pub fn auth(&self) -> Option<Auth> {
        self.session.as_ref().map(|(_, c)| Auth(c.clone()))
    }

    /// The member of staff, as the API's own functions take a caller.
    pub fn staff_auth(&self) -> Option<Auth> {
        self.staff.as_ref().map(|s| Auth(s.caller.clone()))
    }

    /// Sets the browser cookie on a response that needs it.
    pub fn finish(&self, state: &AppState, res: &mut HttpResponseBuilder) {
        if self.fresh {
            let year = 365 * 24 * 3600;
            res.append_header((header::SET_COOKIE, set_cookie(state, BROWSER_COOKIE, &self.browser, Some(year))));
        }
        res.insert_header((header::CACHE_CONTROL, "no-store"));
    }

    /// A 303 to `location` (after a POST, so a reload does not send the form again).
    pub fn redirect(&self, state: &AppState, location: &str) -> HttpResponse {
        let mut res = HttpResponse::SeeOther();
        self.finish(state, &mut res);
        res.insert_header((header::LOCATION, location.to_owned())).finish()
    }

    /// Signs the browser in to an application: a new session replaces any other.
    pub async fn sign_in(&mut self, state: &AppState, application: ApplicationId) -> Result<String, ApiError> {
        let now = state.clock.now();
        if let Some((old, _)) = self.session.take() {
            store::close_session(&state.db, &old, now).await?;
        }
        let ttl = state.settings.pages.session_ttl();
        let secret = store::open_session(&state.db, application, now, ttl).await?;
        Ok(set_cookie(state, SESSION_COOKIE, &secret, None))
    }
}

impl FromRequest for Visitor {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let browser = cookie(req, BROWSER_COOKIE);
        let session = cookie(req, SESSION_COOKIE);
        let staff = cookie(req, STAFF_COOKIE);
        let request_id =
            actix_web::HttpMessage::extensions(req).get::<tracing_actix_web::RequestId>().map(ToString::to_string);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("app state missing")))?;
            let (browser, fresh) = match browser {
                Some(b) => (b, false),
                None => (store::new_secret(), true),
            };
            let session = match session {
                Some(s) => tokens::authenticate(&state.db, &s, state.clock.now())
                    .await?
                    .filter(|c| c.role == fasttrack_core::Role::Applicant)
                    .map(|c| (s, c)),
                None => None,
            };
            let staff = match staff {
                Some(secret) => fasttrack_core::store::staff::session(&state.db, &secret, state.clock.now())
                    .await?
                    .map(|(mut caller, account)| {
                        caller.admin_reads_applications = state.settings.personal_data.admin_reads_applications;
                        caller.request_id = request_id;
                        StaffSession { secret, caller, account }
                    }),
                None => None,
            };
            Ok(Visitor { browser, fresh, session, staff })
        })
    }
}
