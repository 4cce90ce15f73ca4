//! The sweeper: every few seconds, enqueue again the work whose job went
//! missing — Redis emptied, a process killed between commit and push, a worker
//! killed mid-job: applications waiting to be scored, stalled sifts, and (one
//! wake-up, not one job per row) emails left waiting. Every worker process runs
//! one; duplicates are harmless because every job claims its row before acting,
//! and a pass pushes a bounded number of jobs (`BATCH` + stalled jobs + 1),
//! however long the backlog, so re-queueing cannot flood the queue.

use std::time::Duration;

use std::sync::Arc;

use fasttrack_core::store::{jobs, notifications, tests, workers};
use tokio::sync::watch;

use crate::ctx::Ctx;
use crate::health::Health;
use crate::jobs::Job;

/// How often finished jobs are cleared out of the queue's store.
const VACUUM_EVERY: Duration = Duration::from_secs(30);

/// Most rows re-enqueued in one pass; the next pass takes the rest.
const BATCH: i64 = 500;

/// One pass: how many jobs were enqueued again.
pub async fn sweep_once(cx: &Ctx, requeue_after: Duration) -> anyhow::Result<usize> {
    let (db, queue) = (&cx.db, &cx.queue);
    let now = cx.clock.now();
    let unscored = tests::take_unscored(db, now, requeue_after, BATCH).await?;
    let mut again: Vec<Job> =
        unscored.into_iter().map(|application_id| Job::ScoreApplication { application_id }).collect();
    for (job_id, kind) in jobs::stalled(db, now, requeue_after).await? {
        match kind.as_str() {
            "sift" => again.push(Job::RunSift { job_id }),
            "schedule" => again.push(Job::RunSchedule { job_id }),
            "decisions" => again.push(Job::RunDecisions { job_id }),
            _ => {}
        }
    }
    // Emails need no job each: one wake-up takes the whole outbox. Only if some email has
    // waited past `requeue_after` (its wake-up was lost) is one pushed: at most one per pass.
    if notifications::stranded(db, now, requeue_after).await? {
        again.push(Job::WAKE_EMAILS);
    }
    queue.enqueue(&again).await?;
    Ok(again.len())
}

pub async fn run(
    cx: Ctx,
    health: Arc<Health>,
    interval: Duration,
    requeue_after: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_vacuum = tokio::time::Instant::now();
    let pid = std::process::id();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_owned()).unwrap_or_default();
    let mut me = workers::WorkerProcess {
        id: format!("{host}:{pid}:{}", ulid::Ulid::generate()),
        host,
        pid: i64::from(pid),
        started_at: cx.clock.now(),
        last_seen_at: cx.clock.now(),
        health: serde_json::Value::Null,
    };
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        // The beat an admin reads (GET /api/v1/admin/workers); a killed worker stops beating.
        (me.last_seen_at, me.health) = (cx.clock.now(), health.to_json());
        if let Err(e) = workers::beat(&cx.db, &me).await {
            tracing::warn!(error = %e, "worker beat failed; will try again");
        }
        if last_vacuum.elapsed() >= VACUUM_EVERY {
            last_vacuum = tokio::time::Instant::now();
            match fasttrack_core::store::web::vacuum(&cx.db, cx.clock.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(rows = n, "expired drafts, links and sessions deleted"),
                Err(e) => tracing::warn!(error = %e, "deleting expired drafts, links and sessions failed"),
            }
            match cx.queue.vacuum().await {
                Ok(n) => tracing::debug!(removed = n, "finished jobs removed from the queue"),
                Err(e) => tracing::warn!(error = format!("{e:#}"), "queue vacuum failed"),
            }
        }
        match crate::schedule::send_reminders(&cx).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "assessment-centre reminders queued"),
            Err(e) => tracing::warn!(error = format!("{e:#}"), "reminders failed; will try again"),
        }
        match sweep_once(&cx, requeue_after).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "re-enqueued work whose job was lost"),
            Err(e) => tracing::warn!(error = format!("{e:#}"), "sweep failed; will try again"),
        }
        // The daily retention run: the lease lets one process of all do it, a batch a pass.
        match crate::retention::run_pass(&cx, &me.id).await {
            Ok(p) if p.erased > 0 => tracing::info!(erased = p.erased, finished = p.finished, "retention pass"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = format!("{e:#}"), "retention pass failed; will try again"),
        }
    }
}
