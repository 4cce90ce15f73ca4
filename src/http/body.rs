//! Reads a JSON request body ourselves, so that too-large (413) and malformed
//! (400) bodies get problem details like every other error.

use actix_web::web;
use futures::StreamExt;
use serde_json::Value;

use super::error::ApiError;

pub async fn json(mut payload: web::Payload, limit: usize) -> Result<Value, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("could not read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    if body.is_empty() {
        return Err(ApiError::BadRequest("the request body is empty; send a JSON object".into()));
    }
    serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))
}
