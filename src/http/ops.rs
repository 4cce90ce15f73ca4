//! Operations: liveness, readiness (database, queue and mail reachable) and Prometheus metrics.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// Alive: the process answers.
#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, body = Health)))]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

#[derive(Serialize, ToSchema)]
pub struct Check {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub database: Check,
    /// Reported always; it decides readiness only where this process runs workers (an API
    /// whose push fails leaves the job to the sweeper).
    pub queue: Check,
    /// Checked only where this process runs workers (it sends the mail); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail: Option<Check>,
    /// Where this process runs workers: each lane's worker heard from its queue within a few
    /// heartbeats (a worker whose queue stays unreachable makes the process not ready).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<Check>,
}

/// The outcome of one check: the detail goes to the log, the caller (anyone) only learns
/// that the part is unreachable.
fn check(part: &'static str, r: anyhow::Result<()>) -> Check {
    match r {
        Ok(()) => Check { ok: true, error: None },
        Err(e) => {
            tracing::warn!(part, error = format!("{e:#}"), "readiness check failed");
            Check { ok: false, error: Some(format!("{part} is not reachable")) }
        }
    }
}

/// Ready: this process can do its work (503 otherwise). An API process needs its database;
/// a process that also runs workers needs the job queue and the mail transport too, so a
/// mail outage never takes the APIs out of a load balancer.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let limit = Duration::from_secs(3);
    let (db, queue, mail) = tokio::join!(
        fasttrack_core::store::ping_within(&state.db, limit),
        async {
            tokio::time::timeout(limit, state.queue.ping())
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("queue did not answer in time")))
        },
        async {
            match state.runs_workers {
                true => Some(state.mailer.ping().await),
                false => None,
            }
        },
    );
    let workers = state.worker_health.as_ref().map(|h| {
        let within = fasttrack_workers::health::contact_window(state.settings.workers.heartbeat_secs);
        check("workers", h.in_contact(within).map_err(anyhow::Error::msg))
    });
    let body = Readiness {
        status: "ok",
        database: check("database", db),
        queue: check("queue", queue),
        mail: mail.map(|m| check("mail", m)),
        workers,
    };
    let workers_ok = !state.runs_workers
        || (body.queue.ok && body.mail.as_ref().is_some_and(|m| m.ok) && body.workers.as_ref().is_some_and(|w| w.ok));
    if body.database.ok && workers_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(Readiness { status: "unavailable", ..body })
    }
}

/// Prometheus text exposition: HTTP traffic of this process, and from the database (so the
/// same for every process) applications by scheme and status and emails by state.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let workers = state.worker_health.as_deref().map(|h| (&state.queue, h));
    match state.metrics.render(&state.db, workers, state.settings.workers.heartbeat_secs).await {
        Ok(text) => {
            HttpResponse::Ok().content_type("application/openmetrics-text; version=1.0.0; charset=utf-8").body(text)
        }
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "metrics failed");
            HttpResponse::ServiceUnavailable().body("metrics unavailable: database not reachable")
        }
    }
}
