//! Results from external test providers: `POST /api/v1/webhooks/test-results`,
//! signed with HMAC-SHA256 over the raw body with the provider's secret.
//! A bad or missing signature is 401 and logged; a replayed delivery id changes nothing.

use actix_web::{HttpRequest, HttpResponse, web};
use fasttrack_core::store::tests::{self as attempts, Submission, Submitted};
use fasttrack_core::store::{applications, schemes};
use fasttrack_core::validation::{FieldErrors, ObjectReader};
use fasttrack_core::{ApplicationId, Status};
use fasttrack_workers::jobs::Job;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::AppState;
use super::error::{ApiError, Problem};

pub const PROVIDER: &str = "X-Fasttrack-Provider";
pub const SIGNATURE: &str = "X-Fasttrack-Signature";

/// Checks `sha256=<hex>` against HMAC-SHA256(secret, body) in constant time.
pub fn signature_ok(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex) = header.trim().strip_prefix("sha256=") else { return false };
    let Some(expected) = (0..hex.len())
        .step_by(2)
        .map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// A provider reports a result: `{"delivery_id", "application_id", "test", "raw_score"}`, with
/// headers `X-Fasttrack-Provider: <name>` and `X-Fasttrack-Signature: sha256=<hex>`.
#[utoipa::path(post, path = "/api/v1/webhooks/test-results", tag = "tests",
    params(("X-Fasttrack-Provider" = String, Header), ("X-Fasttrack-Signature" = String, Header)),
    request_body(content = Object, description = "{\"delivery_id\", \"application_id\", \"test\", \"raw_score\"}"),
    responses((status = 202, description = "recorded"), (status = 200, description = "a replayed delivery: nothing changed"),
        (status = 401, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn test_results(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let server = &state.settings.server;
    let raw = super::body::read(payload, server.max_body_bytes, server.body_timeout()).await?;
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let provider = header(PROVIDER).unwrap_or_default().to_ascii_lowercase();
    let secret = state.settings.webhooks.providers.get(&provider);
    let valid = match (secret, header(SIGNATURE)) {
        (Some(secret), Some(sig)) => signature_ok(secret, &raw, &sig),
        _ => false,
    };
    if !valid {
        // The header is the caller's text: logged bounded and escaped, never verbatim.
        let shown: String = provider.chars().take(40).flat_map(char::escape_default).collect();
        let known = secret.is_some();
        tracing::warn!(provider = %shown, known, "test-result webhook refused: unknown provider or bad signature");
        return Err(ApiError::BadSignature);
    }
    let value = super::body::parse(&raw)?;
    let mut e = FieldErrors::new();
    let Some(mut r) = ObjectReader::new("", &value, &mut e) else { return Err(e.into()) };
    let delivery = r.text("delivery_id", 200, true, &mut e);
    let app = r.text("application_id", 64, true, &mut e).and_then(|s| {
        s.parse::<ApplicationId>().map_err(|_| e.push("application_id", "must be an application id")).ok()
    });
    let test_id = r.text("test", 64, true, &mut e);
    let raw_score = r.integer("raw_score", 0..=100_000, &mut e);
    r.finish_unknown(&mut e);
    let (Some(delivery), Some(app), Some(test_id), Some(raw_score)) = (delivery, app, test_id, raw_score) else {
        return Err(e.into());
    };
    if attempts::delivery_seen(&state.db, &provider, &delivery).await? {
        return Ok(HttpResponse::Ok().json(json!({"status": "duplicate"})));
    }
    let record = applications::get(&state.db, app).await?.ok_or(ApiError::NotFound("application"))?;
    let scheme = schemes::get(&state.db, &record.scheme_id).await?.ok_or(ApiError::NotFound("scheme"))?.definition;
    let test = scheme.test(&test_id).ok_or_else(|| ApiError::invalid("test", "is not one of the scheme's tests"))?;
    if raw_score > i64::from(test.max_raw()) {
        return Err(ApiError::invalid("raw_score", format!("must be at most {} for this test", test.max_raw())));
    }
    if record.status != Status::TestsInvited {
        return Err(ApiError::Conflict {
            title: "Tests not open",
            detail: format!("the application is {}", record.status),
        });
    }
    let grace = jiff::SignedDuration::from_secs(state.settings.tests.grace_secs as i64);
    if scheme.test_window(state.clock.now(), grace) == fasttrack_core::scheme::TestWindow::Closed {
        return Err(ApiError::Conflict {
            title: "Tests closed",
            detail: format!("the scheme closed on {}; no more results enter scoring", scheme.closes_at),
        });
    }
    let outcome = attempts::submit(
        &state.db,
        Submission {
            app,
            test: &test_id,
            answers: None,
            provider: Some((&provider, &delivery, raw_score)),
            late: false,
            now: state.clock.now(),
        },
    )
    .await?;
    match outcome {
        Submitted::Replayed => Ok(HttpResponse::Ok().json(json!({"status": "duplicate"}))),
        Submitted::Recorded { completed } => {
            if completed {
                state.enqueue(&[Job::ScoreApplication { application_id: app }]);
            }
            tracing::info!(provider = %provider, application = %app, "provider result recorded");
            Ok(HttpResponse::Accepted().json(json!({"status": "recorded"})))
        }
        Submitted::AlreadySubmitted | Submitted::NotStarted => {
            Err(ApiError::Conflict { title: "Already submitted", detail: "this test already has a result".into() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_over_the_raw_body() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(b"{\"a\":1}");
        let good = format!("sha256={}", fasttrack_core::auth::hex(&mac.finalize().into_bytes()));
        assert!(signature_ok("s3cret", b"{\"a\":1}", &good));
        assert!(!signature_ok("s3cret", b"{\"a\": 1}", &good), "any change to the body breaks it");
        assert!(!signature_ok("other", b"{\"a\":1}", &good));
        assert!(!signature_ok("s3cret", b"{\"a\":1}", "sha256=zz"));
        assert!(!signature_ok("s3cret", b"{\"a\":1}", &good.replace("sha256=", "")));
    }
}
