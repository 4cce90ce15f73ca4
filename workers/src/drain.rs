//! Running every piece of due work inline, now, until none is left: what a
//! test calls instead of waiting for the workers (`TestApp::drain`). It takes
//! work the way the sweeper finds it — from the database, the source of truth —
//! so it needs no queue and cannot miss a job whose push was lost.

use std::time::Duration;

use fasttrack_core::store::{jobs, tests};

use crate::ctx::Ctx;
use crate::notify::Notifier;

/// What one drain did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    pub scored: usize,
    pub jobs: usize,
    pub reminders: usize,
    /// Emails sent (or found dead); an email whose retry is not yet due stays for later.
    pub emails: usize,
}

impl Drained {
    fn total(&self) -> usize {
        self.scored + self.jobs + self.reminders + self.emails
    }
}

/// Runs due work until a pass finds none. Errors if work is still due after many passes
/// (something keeps making work, or another process holds it).
pub async fn drain(cx: &Ctx, notifier: &Notifier) -> anyhow::Result<Drained> {
    const PASSES: usize = 100;
    // "Lost after zero seconds": everything due now.
    let now_ = Duration::ZERO;
    let mut all = Drained::default();
    for _ in 0..PASSES {
        let mut pass = Drained { reminders: crate::schedule::send_reminders(cx).await?, ..Drained::default() };
        for id in tests::take_unscored(&cx.db, cx.clock.now(), now_, i64::MAX).await? {
            crate::score::score_application(cx, id).await?;
            pass.scored += 1;
        }
        for (job_id, kind) in jobs::stalled(&cx.db, cx.clock.now(), now_).await? {
            match kind.as_str() {
                "sift" => crate::sift::run_sift(cx, &job_id).await?,
                "schedule" => crate::schedule::run_schedule(cx, &job_id).await?,
                "decisions" => crate::decisions::run_decisions(cx, &job_id).await?,
                other => anyhow::bail!("a job of unknown kind {other}"),
            }
            pass.jobs += 1;
        }
        let sent = notifier.deliver_due(Duration::MAX).await?;
        pass.emails += sent.sent + sent.dead + sent.retrying;
        if pass.total() == 0 {
            return Ok(all);
        }
        all.scored += pass.scored;
        all.jobs += pass.jobs;
        all.reminders += pass.reminders;
        all.emails += pass.emails;
    }
    anyhow::bail!("work was still due after {PASSES} passes: {all:?}")
}
