//! Every error a client can see, mapped to RFC 9457 problem details in one
//! place. Expected errors carry a message the user can act on; unexpected ones
//! are logged with their cause chain and answered with a bare 500.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, ResponseError};
use fasttrack_core::FieldErrors;
use serde::Serialize;

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// A webhook whose signature does not match its body (or whose provider is unknown).
    #[error("the X-Fasttrack-Signature does not match the body for this provider, or the provider is unknown")]
    BadSignature,
    /// A wrong method for a route that exists: the methods it allows.
    #[error("this route does not take {0}; it takes {1}")]
    MethodNotAllowed(String, String),
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    #[error("the request body did not arrive within {0} seconds")]
    RequestTimeout(u64),
    #[error("your role may not do this")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{detail}")]
    Conflict { title: &'static str, detail: String },
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("some fields are invalid")]
    Invalid(FieldErrors),
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut => ApiError::Unavailable("the database is busy; try again shortly".into()),
            // The connection was cut or the pool is going: an outage, not a fault of the request.
            sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
                tracing::warn!(error = %e, "database unreachable");
                ApiError::Unavailable("the database cannot be reached; try again shortly".into())
            }
            e => ApiError::Internal(e.into()),
        }
    }
}

impl From<FieldErrors> for ApiError {
    fn from(e: FieldErrors) -> Self {
        ApiError::Invalid(e)
    }
}

impl ApiError {
    /// One field, for a 422 about a single value (a header, a query parameter).
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let mut e = FieldErrors::new();
        e.push(field, message);
        ApiError::Invalid(e)
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "Malformed request",
            ApiError::Unauthorized => "Authentication required",
            ApiError::BadSignature => "Bad signature",
            ApiError::MethodNotAllowed(..) => "Method not allowed",
            ApiError::UnsupportedMediaType => "Unsupported media type",
            ApiError::RequestTimeout(_) => "Request timeout",
            ApiError::Forbidden => "Forbidden",
            ApiError::NotFound(_) => "Not found",
            ApiError::Conflict { title, .. } => title,
            ApiError::PayloadTooLarge(_) => "Request body too large",
            ApiError::Invalid(_) => "Invalid request",
            ApiError::Unavailable(_) => "Service unavailable",
            ApiError::Internal(_) => "Internal server error",
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// On 422: every invalid field with what is wrong with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<fasttrack_core::FieldError>,
}

/// What a 503 asks a client to wait before trying again (an outage is usually seconds long).
const RETRY_AFTER_SECS: u32 = 5;

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::BadSignature => StatusCode::UNAUTHORIZED,
            ApiError::MethodNotAllowed(..) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let (detail, errors) = match self {
            ApiError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "request failed");
                (None, Vec::new())
            }
            ApiError::Invalid(fields) => (Some(self.to_string()), fields.clone().into_vec()),
            other => (Some(other.to_string()), Vec::new()),
        };
        let body = Problem { kind: "about:blank", title: self.title(), status: status.as_u16(), detail, errors };
        let mut res = HttpResponse::build(status);
        res.insert_header(ContentType(PROBLEM_JSON.parse().expect("valid mime")));
        if matches!(self, ApiError::Unauthorized) {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let ApiError::MethodNotAllowed(_, allow) = self {
            res.insert_header((header::ALLOW, allow.clone()));
        }
        if matches!(self, ApiError::Unavailable(_)) {
            res.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()));
        }
        res.body(serde_json::to_string(&body).unwrap_or_default())
    }
}

/// Problem details for routes and methods that do not exist: a path the API documents, asked
/// with another method, is 405 with the methods it takes in `Allow`.
pub async fn not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    if !req.path().starts_with("/api/") {
        // A person's browser, not a program: the page.
        let mut res = crate::pages::not_found();
        res.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
        return Ok(res);
    }
    let allowed = super::openapi::methods_of(req.path());
    if allowed.is_empty() {
        return Err(ApiError::NotFound("route"));
    }
    Err(ApiError::MethodNotAllowed(req.method().to_string(), allowed.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_database_connection_is_a_503_with_retry_after_not_a_500() {
        let cut = sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset"));
        for e in [cut, sqlx::Error::PoolClosed, sqlx::Error::PoolTimedOut] {
            let res = ApiError::from(e).error_response();
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "5");
        }
        let res = ApiError::from(sqlx::Error::RowNotFound).error_response();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(res.headers().get(header::RETRY_AFTER).is_none());
    }
}
