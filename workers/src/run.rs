//! Starting and stopping the workers of one process: an apalis `Monitor` with
//! the email worker on the configured backend, and the sweeper beside it.
//! Stopping lets in-flight jobs finish (up to the shutdown timeout).

use std::sync::Arc;
use std::time::Duration;

use apalis::layers::retry::HasherRng;
use apalis::layers::retry::backoff::{ExponentialBackoffMaker, MakeBackoff};
use apalis::prelude::*;
use fasttrack_core::settings::Settings;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::ctx::Ctx;
use crate::health::Health;
use crate::jobs::Job;
use crate::notify::Notifier;
use crate::notify::backoff::wait_until;
use crate::queue::Lane;
use crate::{stats, sweep};
use jiff::Timestamp;

/// What jobs need.
pub struct JobState {
    pub cx: Ctx,
    pub notifier: Notifier,
}

/// Runs one job. `Err` (retried by the queue with backoff) only for infrastructure trouble;
/// business outcomes, including failed sends, are recorded on their rows.
async fn run_job(job: Job, state: Data<Arc<JobState>>) -> Result<(), BoxDynError> {
    let name = job.name();
    let result = match &job {
        Job::SendEmails { at } => send_emails(&state, *at).await,
        Job::SendEmail { .. } => send_emails(&state, None).await,
        Job::ScoreApplication { application_id } => {
            match crate::score::score_application(&state.cx, *application_id).await {
                Ok(Some(email)) => {
                    state.cx.enqueue_emails(&[email], "emails").await;
                    Ok("scored")
                }
                Ok(None) => Ok("skipped"),
                Err(e) => Err(e),
            }
        }
        Job::RunSift { job_id } => crate::sift::run_sift(&state.cx, job_id).await.map(|()| "done"),
        Job::RunSchedule { job_id } => crate::schedule::run_schedule(&state.cx, job_id).await.map(|()| "done"),
        Job::RunDecisions { job_id } => crate::decisions::run_decisions(&state.cx, job_id).await.map(|()| "done"),
    };
    match result {
        Ok(outcome) => {
            stats::record(name, outcome);
            Ok(())
        }
        Err(e) => {
            stats::record(name, "error");
            tracing::warn!(job = name, error = format!("{e:#}"), "job failed; the queue will retry");
            Err(e.into())
        }
    }
}

/// How long one wake-up sends before handing on to a fresh job.
const EMAIL_BUDGET: Duration = Duration::from_secs(20);

/// After the database failed a wake-up, when the next one comes.
const DATABASE_AWAY_RETRY: Duration = Duration::from_secs(3);

/// Runs a wake-up of the email worker: sends what is due, then pushes the wake-ups still
/// needed — one to carry on if the budget ran out, one for the earliest retry. A database
/// outage is not the job's failure: it comes back later instead of using up attempts.
async fn send_emails(state: &JobState, at: Option<i64>) -> anyhow::Result<&'static str> {
    let cx = &state.cx;
    let now = cx.clock.now();
    if let Some(at) = at.and_then(|ms| Timestamp::from_millisecond(ms).ok())
        && at > now
    {
        cx.queue.enqueue_after(&[Job::SendEmails { at: Some(at.as_millisecond()) }], wait_until(now, at)).await?;
        return Ok("early");
    }
    let done = match state.notifier.deliver_due(EMAIL_BUDGET).await {
        Ok(done) => done,
        Err(e) => {
            tracing::warn!(error = format!("{e:#}"), "emails could not be sent; the database is away? trying again");
            cx.queue.enqueue_after(&[Job::WAKE_EMAILS], DATABASE_AWAY_RETRY).await?;
            return Ok("database_away");
        }
    };
    if done.more {
        cx.queue.enqueue(&[Job::WAKE_EMAILS]).await?;
    }
    if let Some(at) = done.retry_at {
        cx.queue
            .enqueue_after(&[Job::SendEmails { at: Some(at.as_millisecond()) }], wait_until(cx.clock.now(), at))
            .await?;
    }
    Ok(if done.sent > 0 {
        "sent"
    } else if done.retrying > 0 {
        "retrying"
    } else {
        "nothing_due"
    })
}

/// Builds the worker on a backend. A macro, because a worker's type is a deep tower
/// stack that differs per backend (apalis's own dynamic-workers example does the same).
macro_rules! worker {
    ($name:expr, $backend:expr, $state:expr, $concurrency:expr) => {{
        let backoff = ExponentialBackoffMaker::new(
            Duration::from_millis(500),
            Duration::from_secs(30),
            0.5,
            HasherRng::default(),
        )
        .expect("valid backoff")
        .make_backoff();
        WorkerBuilder::new($name)
            .backend($backend)
            .data($state)
            .concurrency($concurrency)
            .retry(RetryPolicy::retries(5).with_backoff(backoff))
            .catch_panic()
            .parallelize(tokio::spawn)
            .build(run_job)
    }};
}

/// Running workers; `stop` finishes in-flight jobs and returns.
pub struct Workers {
    stop: watch::Sender<bool>,
    monitor: JoinHandle<Result<(), MonitorError>>,
    sweeper: JoinHandle<()>,
    health: Arc<Health>,
}

impl Workers {
    /// How these workers are doing (for /ready and /metrics).
    pub fn health(&self) -> Arc<Health> {
        self.health.clone()
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        match self.monitor.await {
            Ok(Ok(())) => tracing::info!("workers stopped"),
            Ok(Err(e)) => tracing::warn!(error = %e, "workers stopped with an error"),
            Err(e) => tracing::warn!(error = %e, "worker monitor panicked"),
        }
        let _ = self.sweeper.await;
    }
}

/// Waits before a restarted worker registers again, so a dead Redis is not hammered.
async fn restart_delay<E>(restarts: usize) -> Result<(), E> {
    if restarts > 0 {
        tokio::time::sleep(Duration::from_millis((250u64 << restarts.min(7)).min(30_000))).await;
    }
    Ok(())
}

/// Starts this process's workers. Worker names are unique per process and restart: a name
/// reused within the heartbeat window is refused by the backend.
pub fn start(settings: &Settings, cx: Ctx, notifier: Notifier) -> Workers {
    // A claimed row may wait for one send before its own (a batch reclaiming a dead worker's
    // rows besides its own), so the lease covers two.
    if settings.workers.lease_secs <= 2 * settings.mail.send_timeout_secs {
        tracing::warn!(
            lease_secs = settings.workers.lease_secs,
            send_timeout_secs = settings.mail.send_timeout_secs,
            "workers.lease_secs should exceed twice mail.send_timeout_secs, or a slow send may be taken over and sent twice"
        );
    }
    let queue = cx.queue.clone();
    let state = Arc::new(JobState { cx: cx.clone(), notifier });
    let concurrency = settings.workers.concurrency;
    let poll = Duration::from_millis(200);
    let base = format!("fasttrack-{}-{}", std::process::id(), ulid::Ulid::generate());
    let health = Arc::new(Health::default());
    let (on_restart, on_event) = (health.clone(), health.clone());
    let monitor = Monitor::new()
        .should_restart(move |ctx, err| {
            tracing::warn!(worker = %ctx.name(), error = %err, "worker stopped; restarting");
            on_restart.restarted(ctx.name());
            true
        })
        .on_event(move |ctx, event| {
            if let apalis::prelude::Event::Error(e) = event {
                tracing::warn!(worker = %ctx.name(), error = %e, "worker error; it carries on with backoff");
            }
            on_event.observe(ctx.name(), event);
        })
        .shutdown_timeout(Duration::from_secs(settings.server.shutdown_timeout_secs));
    // One worker per lane: user-facing jobs, then emails; names unique per lane and restart.
    let mut monitor = monitor;
    for (lane, label) in queue.lanes().into_iter().zip(["jobs", "emails"]) {
        let (state, base) = (state.clone(), format!("{base}-{label}"));
        monitor = match lane.clone() {
            Lane::Sqlite(s) => monitor.register(move |restarts| {
                let backend = s.clone().poll_with_interval(poll).before_start(move |_| restart_delay(restarts));
                worker!(format!("{base}-{restarts}"), backend, state.clone(), concurrency)
            }),
            Lane::Redis(r) => monitor.register(move |restarts| {
                let backend = r.clone().poll_with_interval(poll).before_start(move |_| restart_delay(restarts));
                worker!(format!("{base}-{restarts}"), backend, state.clone(), concurrency)
            }),
        };
    }
    let (stop, rx) = watch::channel(false);
    let mut monitor_rx = rx.clone();
    let monitor = tokio::spawn(monitor.run_with_signal(async move {
        let _ = monitor_rx.wait_for(|s| *s).await;
        Ok(())
    }));
    let sweeper = tokio::spawn(sweep::run(
        cx,
        health.clone(),
        Duration::from_secs(settings.workers.sweep_interval_secs),
        Duration::from_secs(settings.workers.requeue_after_secs),
        rx,
    ));
    tracing::info!(concurrency, "workers started");
    Workers { stop, monitor, sweeper, health }
}
