//! Jobs users start and watch (`jobs` rows: sift, schedule, decisions) share one
//! life cycle: take the row (only one runner wins), do the work, record the
//! result or the failure — and run again at once if someone asked for the job
//! while it ran (a seat or an offer declined meanwhile), so no request is lost.

use fasttrack_core::store::jobs;

use crate::ctx::Ctx;

/// Runs `work(job)` for the job row `job_id` (read afresh for every run). Business failures are recorded on the row
/// (the cause goes to the log, which may quote the database); only infrastructure errors
/// (the row cannot be written) are returned for the queue to retry.
pub async fn run<F>(cx: &Ctx, job_id: &str, what: &str, work: impl Fn(jobs::JobRecord) -> F) -> anyhow::Result<()>
where
    F: Future<Output = anyhow::Result<serde_json::Value>>,
{
    let (db, stale) = (&cx.db, cx.stale);
    let Some(mut job) = jobs::start(db, job_id, cx.clock.now(), stale).await? else { return Ok(()) };
    loop {
        let scheme = job.scheme_id.clone();
        match work(job.clone()).await {
            Ok(summary) => {
                tracing::info!(scheme = %scheme, job = job_id, "{what} finished");
                if !jobs::finish(db, job_id, &summary, cx.clock.now()).await? {
                    return Ok(());
                }
                tracing::info!(job = job_id, "{what} asked for again while it ran: running once more");
                match jobs::start(db, job_id, cx.clock.now(), stale).await? {
                    Some(again) => job = again,
                    None => return Ok(()),
                }
            }
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), job = job_id, "{what} failed");
                let message = format!("the {what} failed; operators can find the cause in the logs under job {job_id}");
                if !jobs::fail(db, job_id, &message, cx.clock.now()).await? {
                    return Ok(());
                }
                match jobs::start(db, job_id, cx.clock.now(), stale).await? {
                    Some(again) => job = again,
                    None => return Ok(()),
                }
            }
        }
    }
}
