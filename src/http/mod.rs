//! The HTTP API: routes, shared state, and the middleware around them.
//! Handlers are thin: extract, authorise, call the core or the store, answer.

pub mod admin;
pub mod applicants;
pub mod applications;
pub mod assessment;
pub mod auth;
pub mod body;
pub mod cache;
pub mod centres;
pub mod error;
pub mod metrics;
pub mod notifications;
pub mod offers;
pub mod openapi;
pub mod ops;
pub mod personal;
pub mod schemes;
pub mod sift;
pub mod surveys;
pub mod tests;
pub mod vacancies;
pub mod webhooks;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use fasttrack_core::NotificationId;
use fasttrack_core::settings::Settings;
use fasttrack_core::store::Db;
use fasttrack_workers::{Mailer, Queue};

use crate::metrics::{HttpLabels, Metrics};

/// What every handler can reach.
pub struct AppState {
    pub settings: Settings,
    pub clock: fasttrack_core::Clock,
    /// This process also runs the workers (the embedded default): its readiness includes
    /// the queue and the mail transport.
    pub runs_workers: bool,
    /// The health of this process's workers, where it runs them.
    pub worker_health: Option<Arc<fasttrack_workers::health::Health>>,
    pub db: Db,
    pub queue: Queue,
    pub mailer: Mailer,
    pub metrics: Arc<Metrics>,
    pub schemes: cache::SchemeCache,
}

impl AppState {
    /// Enqueues jobs whose rows are committed, beside the request: the answer never waits
    /// for the queue (a push gives up after queue.push_timeout_ms, and a lost push is found
    /// again by the sweeper).
    pub fn enqueue(&self, jobs: &[fasttrack_workers::jobs::Job]) {
        let (queue, jobs) = (self.queue.clone(), jobs.to_vec());
        tokio::spawn(async move {
            if let Err(e) = queue.enqueue(&jobs).await {
                tracing::warn!(
                    error = format!("{e:#}"),
                    count = jobs.len(),
                    "could not enqueue jobs; the sweeper will"
                );
            }
        });
    }

    /// Starts a background job of `kind` for a scheme (or returns the one already queued or
    /// running) and pushes its queue entry. Returns the job id.
    pub async fn start_job(
        &self,
        kind: &str,
        scheme: &str,
        actor: &str,
        job: impl FnOnce(String) -> fasttrack_workers::jobs::Job,
    ) -> Result<String, error::ApiError> {
        let id = uuid::Uuid::now_v7().to_string();
        let (id, created) =
            fasttrack_core::store::jobs::create_or_existing(&self.db, &id, kind, scheme, actor, self.clock.now())
                .await?;
        if created {
            self.enqueue(&[job(id.clone())]);
            tracing::info!(scheme, job = %id, kind, "job started");
        }
        Ok(id)
    }

    /// Wakes the email worker for outbox rows that are committed, beside the request (one
    /// wake-up however many rows). A lost push loses nothing: the sweeper finds them waiting.
    pub fn enqueue_emails(&self, ids: &[NotificationId]) {
        if !ids.is_empty() {
            self.enqueue(&[fasttrack_workers::jobs::Job::WAKE_EMAILS]);
        }
    }
}

/// The operations routes: all a workers-only process serves.
pub fn ops_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(ops::health))
        .route("/ready", web::get().to(ops::ready))
        .route("/metrics", web::get().to(ops::metrics));
}

/// Every route of the API, and the pages. `tests/api/roles.rs` walks the API's list.
pub fn routes(cfg: &mut web::ServiceConfig) {
    ops_routes(cfg);
    crate::pages::routes(cfg);
    cfg.service(
        web::scope("/api/v1")
            .route("/openapi.json", web::get().to(openapi::document))
            .route("/schemes", web::get().to(schemes::list))
            .route("/schemes", web::post().to(schemes::create))
            .route("/schemes/{scheme}", web::get().to(schemes::get))
            .route("/schemes/{scheme}", web::patch().to(schemes::patch))
            .route("/schemes/{scheme}/close", web::post().to(schemes::close))
            .route("/schemes/{scheme}/applications", web::post().to(applications::apply))
            .route("/schemes/{scheme}/applications", web::get().to(applicants::list))
            .route("/applications/{id}", web::get().to(applications::get))
            .route("/applications/{id}", web::delete().to(applications::withdraw))
            .route("/applications/{id}/tests", web::get().to(tests::list))
            .route("/applications/{id}/tests/{test}/start", web::post().to(tests::start))
            .route("/applications/{id}/tests/{test}/responses", web::post().to(tests::respond))
            .route("/applications/{id}/disability-confident-override", web::post().to(sift::override_dc))
            .route("/webhooks/test-results", web::post().to(webhooks::test_results))
            .route("/schemes/{scheme}/sift", web::post().to(sift::run))
            .route("/schemes/{scheme}/assessment-centres", web::post().to(centres::create))
            .route("/schemes/{scheme}/assessment-centres", web::get().to(centres::list))
            .route("/schemes/{scheme}/assessment-centres/{centre}/sessions", web::post().to(centres::add_session))
            .route("/schemes/{scheme}/schedule", web::post().to(centres::schedule))
            .route("/schemes/{scheme}/vacancies", web::post().to(vacancies::create))
            .route("/schemes/{scheme}/vacancies", web::get().to(vacancies::list))
            .route("/schemes/{scheme}/vacancies/{vacancy}", web::get().to(vacancies::get))
            .route("/schemes/{scheme}/vacancies/{vacancy}", web::patch().to(vacancies::patch))
            .route("/applications/{id}/booking", web::get().to(centres::booking))
            .route("/applications/{id}/booking/accept", web::post().to(centres::accept))
            .route("/applications/{id}/booking/decline", web::post().to(centres::decline))
            .route("/applications/{id}/booking/rebook", web::post().to(centres::rebook))
            .route("/applications/{id}/no-show", web::post().to(centres::no_show))
            .route("/sessions", web::get().to(assessment::list))
            .route("/sessions/{session}", web::get().to(assessment::get))
            .route("/sessions/{session}/scores", web::post().to(assessment::score))
            .route("/schemes/{scheme}/ac-results", web::get().to(assessment::results))
            .route("/schemes/{scheme}/decisions", web::post().to(offers::run))
            .route("/applications/{id}/offer", web::get().to(offers::get))
            .route("/applications/{id}/offer/accept", web::post().to(offers::accept))
            .route("/applications/{id}/offer/decline", web::post().to(offers::decline))
            .route("/applications/{id}/outcomes", web::post().to(offers::record))
            .route("/jobs/{job}", web::get().to(sift::job))
            .route("/schemes/{scheme}/metrics/funnel", web::get().to(metrics::funnel))
            .route("/schemes/{scheme}/metrics/equality", web::get().to(metrics::equality))
            .route("/schemes/{scheme}/metrics/profile", web::get().to(metrics::profile))
            .route("/surveys", web::post().to(surveys::create))
            .route("/surveys", web::get().to(surveys::list))
            .route("/surveys/{survey}/responses", web::post().to(surveys::respond))
            .route("/surveys/{survey}/tables", web::get().to(surveys::tables))
            .route("/notifications", web::get().to(notifications::list))
            .route("/notifications/{id}/retry", web::post().to(notifications::retry))
            .route("/admin/tokens", web::post().to(admin::create_token))
            .route("/admin/tokens", web::get().to(admin::list_tokens))
            .route("/admin/tokens/{id}", web::delete().to(admin::revoke_token))
            .route("/admin/workers", web::get().to(admin::workers))
            .route("/admin/staff", web::post().to(admin::create_staff))
            .route("/admin/staff", web::get().to(admin::list_staff))
            .route("/admin/staff/{id}/disable", web::post().to(admin::disable_staff))
            .route("/applications/{id}/export", web::get().to(personal::export))
            .route("/applications/{id}/erasure", web::post().to(personal::erase))
            .route("/admin/retention", web::get().to(personal::retention_due))
            .route("/audit", web::get().to(personal::audit_log)),
    )
    .default_service(web::to(error::not_found));
}

/// A body sent to the API with a Content-Type that is not JSON is refused (415) before any
/// handler reads it. A body without a Content-Type is read as JSON.
pub async fn require_json(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    let writes = matches!(req.method().as_str(), "POST" | "PUT" | "PATCH");
    let not_json = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .is_some_and(|t| !t.is_empty() && t != "application/json" && !t.ends_with("+json"));
    if writes && not_json && req.path().starts_with("/api/") {
        let res = actix_web::ResponseError::error_response(&error::ApiError::UnsupportedMediaType);
        return Ok(req.into_response(res).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// Counts requests by method, route pattern and status.
pub async fn count_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let metrics = req.app_data::<web::Data<AppState>>().map(|s| s.metrics.clone());
    let method = req.method().to_string();
    let res = next.call(req).await?;
    if let Some(metrics) = metrics {
        let route = res.request().match_pattern().unwrap_or_else(|| "(unmatched)".into());
        metrics.http_requests.get_or_create(&HttpLabels { method, route, status: res.status().as_u16() }).inc();
    }
    Ok(res)
}
