//! Bearer-token authentication as an extractor, and the one place where the
//! role matrix (`Caller::may`) is turned into 403/404.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use fasttrack_core::auth::{Action, Denied};
use fasttrack_core::{Caller, store};

use super::AppState;
use super::error::ApiError;

/// An authenticated caller. A missing, unknown or revoked token is 401.
pub struct Auth(pub Caller);

impl Auth {
    pub fn require(&self, action: Action) -> Result<(), ApiError> {
        self.0.may(action).map_err(|d| match d {
            Denied::Forbidden => ApiError::Forbidden,
            Denied::NotFound => ApiError::NotFound("application"),
        })
    }
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let request_id =
            actix_web::HttpMessage::extensions(req).get::<tracing_actix_web::RequestId>().map(ToString::to_string);
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(|t| t.trim().to_owned());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("app state missing")))?;
            let token = token.filter(|t| !t.is_empty() && t.len() <= 128).ok_or(ApiError::Unauthorized)?;
            let mut caller = store::tokens::authenticate(&state.db, &token, state.clock.now())
                .await?
                .ok_or(ApiError::Unauthorized)?;
            caller.admin_reads_applications = state.settings.personal_data.admin_reads_applications;
            caller.request_id = request_id;
            Ok(Auth(caller))
        })
    }
}
