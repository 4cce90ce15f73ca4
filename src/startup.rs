//! Building and running the service from settings: the API, the workers, or both
//! in one process. Tests use the same `launch` on port 0.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, middleware, web};
use anyhow::Context;
use fasttrack_core::Clock;
use fasttrack_core::scheme::SchemeDefinition;
use fasttrack_core::settings::{SchemeSettings, Settings};
use fasttrack_core::store::{self, Db, schemes::Upsert};
use fasttrack_workers::{Ctx, Mailer, Notifier, Queue, Workers};
use jiff::Timestamp;
use tokio::task::JoinHandle;
use tracing_actix_web::TracingLogger;

use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::telemetry::RequestSpan;

/// Which parts run in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub api: bool,
    pub workers: bool,
}

pub const EMBEDDED: Parts = Parts { api: true, workers: true };
pub const API_ONLY: Parts = Parts { api: true, workers: false };
pub const WORKERS_ONLY: Parts = Parts { api: false, workers: true };

/// A running service.
pub struct Running {
    /// Where the API listens; for a workers-only process, its ops server (if any).
    pub addr: Option<SocketAddr>,
    pub db: Db,
    pub queue: Queue,
    server: Option<(ServerHandle, JoinHandle<std::io::Result<()>>)>,
    workers: Option<Workers>,
}

impl Running {
    /// Graceful stop: no new requests, in-flight requests and jobs finish, then the pool closes.
    pub async fn stop(self) {
        if let Some((handle, task)) = self.server {
            handle.stop(true).await;
            let _ = task.await;
        }
        if let Some(workers) = self.workers {
            workers.stop().await;
        }
        self.db.close().await;
    }
}

/// Connects to the database (running migrations) and the queue.
pub async fn connect(settings: &Settings) -> anyhow::Result<(Db, Queue)> {
    let db = Db::connect(settings).await?;
    db.migrate().await?;
    let queue = Queue::connect(settings).await?;
    Ok((db, queue))
}

/// The scheme files shipped with the service, compiled in so that it runs from any folder.
/// `shipped_schemes_are_every_file_in_config_schemes` keeps this list and the folder equal.
pub const SHIPPED_SCHEMES: &[(&str, &str)] = &[
    ("ddat.toml", include_str!("../config/schemes/ddat.toml")),
    ("gmts.toml", include_str!("../config/schemes/gmts.toml")),
    ("london-imt-pilot.toml", include_str!("../config/schemes/london-imt-pilot.toml")),
];

/// Loads the shipped schemes (unless `schemes.shipped = false`), then every `*.toml` in
/// `schemes.dir` if one is set: each created, updated or left as it is.
pub async fn load_schemes(db: &Db, settings: &SchemeSettings, now: Timestamp) -> anyhow::Result<()> {
    let mut files: Vec<(String, String)> = Vec::new();
    if settings.shipped {
        files.extend(SHIPPED_SCHEMES.iter().map(|(name, text)| (format!("(shipped) {name}"), (*text).to_owned())));
    }
    let dir = &settings.dir;
    if !dir.as_os_str().is_empty() {
        let entries = std::fs::read_dir(dir).with_context(|| format!("reading schemes.dir {}", dir.display()))?;
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            files.push((path.display().to_string(), text));
        }
    }
    for (name, text) in files {
        let def = SchemeDefinition::parse_toml(&text).map_err(|e| anyhow::anyhow!("scheme file {name}: {e}"))?;
        match store::schemes::upsert(db, &def, now).await? {
            Upsert::Created => tracing::info!(scheme = %def.id, "scheme loaded"),
            Upsert::Updated => tracing::info!(scheme = %def.id, "scheme updated from its file"),
            Upsert::Unchanged => tracing::debug!(scheme = %def.id, "scheme unchanged"),
        }
    }
    Ok(())
}

/// Starts the parts on the system clock.
pub async fn launch(settings: Settings, parts: Parts) -> anyhow::Result<Running> {
    let clock = settings.clock();
    launch_with_clock(settings, parts, clock).await
}

/// Starts the parts on the given clock (tests move theirs).
pub async fn launch_with_clock(settings: Settings, parts: Parts, clock: Clock) -> anyhow::Result<Running> {
    let (db, queue) = connect(&settings).await?;
    let mailer = Mailer::from_settings(&settings)?;
    let workers = parts.workers.then(|| {
        let cx = Ctx::new(db.clone(), queue.clone(), clock.clone(), &settings);
        fasttrack_workers::start(&settings, cx, Notifier::new(db.clone(), mailer.clone(), &settings, clock.clone()))
    });
    // The API, or for a workers-only process a small ops server (/health, /ready, /metrics)
    // on workers.ops_addr, so a worker that cannot reach its queue shows as not ready.
    let listen = match (parts.api, settings.workers.ops_addr.as_str()) {
        (true, _) => Some(settings.server.addr.to_string()),
        (false, "") => None,
        (false, ops) => Some(ops.to_owned()),
    };
    let mut addr = None;
    let mut server = None;
    if parts.api {
        load_schemes(&db, &settings.schemes, clock.now()).await?;
    }
    if let Some(at) = listen {
        let listener = match TcpListener::bind(&at) {
            Ok(l) => l,
            Err(e) if !parts.api => {
                tracing::warn!(addr = %at, error = %e, "workers.ops_addr is taken; this worker serves no /ready");
                return Ok(Running { addr, db, queue, server, workers });
            }
            Err(e) => return Err(e).with_context(|| format!("cannot listen on {at} (server.addr)")),
        };
        addr = Some(listener.local_addr()?);
        let threads = match (parts.api, settings.server.threads) {
            (false, _) => 1,
            (true, 0) => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            (true, n) => n,
        };
        let shutdown_timeout = settings.server.shutdown_timeout_secs;
        let state = web::Data::new(AppState {
            settings,
            clock,
            runs_workers: parts.workers,
            worker_health: workers.as_ref().map(|w| w.health()),
            db: db.clone(),
            queue: queue.clone(),
            mailer,
            metrics: Arc::new(Metrics::new()),
            schemes: Default::default(),
        });
        let api = parts.api;
        let srv = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                // Bad query strings get problem details like every other error.
                .app_data(web::QueryConfig::default().error_handler(|err, _| {
                    http::error::ApiError::BadRequest(format!("invalid query parameters: {err}")).into()
                }))
                .wrap(middleware::from_fn(http::require_json))
                .wrap(middleware::from_fn(http::count_requests))
                .wrap(crate::pages::security_headers())
                .wrap(TracingLogger::<RequestSpan>::new())
                .configure(if api { http::routes } else { http::ops_routes })
        })
        .workers(threads)
        .disable_signals()
        .shutdown_timeout(shutdown_timeout)
        .listen(listener)?
        .run();
        let handle = srv.handle();
        server = Some((handle, tokio::spawn(srv)));
        match api {
            true => tracing::info!(addr = %addr.expect("set above"), "API listening"),
            false => {
                tracing::info!(addr = %addr.expect("set above"), "worker ops (/health, /ready, /metrics) listening")
            }
        }
    }
    Ok(Running { addr, db, queue, server, workers })
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutting down: finishing in-flight requests and jobs");
}
