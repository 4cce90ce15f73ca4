//! Erasure of personal data (SPEC §4), on request and by the retention rules. One path for
//! both: the person is told by an email written in the same transaction as the erasure (so
//! it goes out to the address that was there), their `.eml` files go on the embedded default,
//! and the audit log says who and why, never what.
//!
//! Retention runs in every worker's sweeper, but a lease row in the database lets exactly one
//! process do a day's run; each pass erases at most `BATCH` applications (one transaction
//! each), so a killed process leaves nothing half done: the next holder carries on from what
//! is still due.

use std::collections::HashMap;
use std::time::Duration;

use fasttrack_core::ApplicationId;
use fasttrack_core::mail::Mail;
use fasttrack_core::retention::{self, Due};
use fasttrack_core::scheme::SchemeDefinition;
use fasttrack_core::store::notifications::NewNotification;
use fasttrack_core::store::personal::{self, Erasure};
use fasttrack_core::store::{applications, leases, schemes};

use crate::ctx::Ctx;

/// The lease's name, and how long a holder may be silent before another takes over.
pub const LEASE: &str = "retention";
pub const LEASE_FOR: Duration = Duration::from_secs(300);

/// Most applications erased in one pass of the sweeper.
pub const BATCH: usize = 200;

/// Erases one application's personal data, telling the person (`because`: the reason in
/// words, `why`: its audit code). The application must be in a final state (withdraw it
/// first); `Live` says it is not.
pub async fn erase_one(
    cx: &Ctx,
    id: ApplicationId,
    actor: &str,
    why: &str,
    because: &str,
    request_id: Option<&str>,
) -> anyhow::Result<Erasure> {
    let Some(app) = applications::get(&cx.db, id).await? else { return Ok(Erasure::NotFound) };
    let now = cx.clock.now();
    let confirmation = match &app.details {
        Some(d) => {
            let scheme_name = schemes::get(&cx.db, &app.scheme_id)
                .await?
                .map_or_else(|| app.scheme_id.clone(), |s| s.definition.name);
            let mail = Mail::Erased {
                scheme_name,
                erased_on: cx.clock.local(now).strftime("%-d %B %Y").to_string(),
                because: because.to_owned(),
            };
            Some(NewNotification::once(&id.to_string(), &d.email, &mail))
        }
        None => None,
    };
    let erased = personal::erase(&cx.db, id, actor, why, confirmation.as_ref(), request_id, now).await?;
    if let Erasure::Erased { emails, confirmation } = &erased {
        if let Some(dir) = &cx.outbox {
            personal::delete_eml(dir, emails)?;
        }
        if let Some(c) = confirmation {
            cx.enqueue_emails(&[*c], "the erasure confirmation").await;
        }
        tracing::info!(application = %id, why, "personal data erased");
    }
    Ok(erased)
}

/// One application the rules say is due, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DueItem {
    pub application_id: String,
    pub scheme_id: String,
    pub status: &'static str,
    pub rule: &'static str,
    pub due_since: String,
    pub because: String,
}

/// Walks every application the rules could erase and returns those due now (at most `limit`).
pub async fn due(cx: &Ctx, limit: usize) -> anyhow::Result<Vec<(DueItem, Due)>> {
    let now = cx.clock.now();
    let mut defs: HashMap<String, Option<SchemeDefinition>> = HashMap::new();
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = personal::retention_candidates(&cx.db, after.as_deref(), 1000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.to_string());
        for c in &page {
            if !defs.contains_key(&c.scheme_id) {
                let def = schemes::get(&cx.db, &c.scheme_id).await?.map(|s| s.definition);
                defs.insert(c.scheme_id.clone(), def);
            }
            let Some(def) = &defs[&c.scheme_id] else { continue };
            if let Some(d) = retention::due_now(c.status, def.closes_at, c.withdrawn_at, &def.retention, now) {
                out.push((
                    DueItem {
                        application_id: c.id.to_string(),
                        scheme_id: c.scheme_id.clone(),
                        status: c.status.as_str(),
                        rule: d.rule.code(),
                        due_since: d.at.to_string(),
                        because: d.rule.because(d.months),
                    },
                    d,
                ));
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

/// What one pass did.
#[derive(Debug, Default, PartialEq)]
pub struct Pass {
    /// Whether this process held the lease (false: another does, or today's run is done).
    pub held: bool,
    pub erased: usize,
    /// Whether the day's run is complete.
    pub finished: bool,
}

/// One pass of the daily run, as `holder`: takes the lease, erases up to `BATCH` due
/// applications, and marks the day done once nothing is left.
pub async fn run_pass(cx: &Ctx, holder: &str) -> anyhow::Result<Pass> {
    let now = cx.clock.now();
    let day = cx.clock.today().to_string();
    let until = now + jiff::SignedDuration::try_from(LEASE_FOR)?;
    if !leases::take(&cx.db, LEASE, holder, &day, until, now).await? {
        return Ok(Pass::default());
    }
    let result: anyhow::Result<Pass> = async {
        let due = due(cx, BATCH).await?;
        let mut erased = 0;
        for (item, d) in &due {
            let id: ApplicationId = item.application_id.parse()?;
            if let Erasure::Erased { .. } =
                erase_one(cx, id, "system:retention", d.rule.code(), &item.because, None).await?
            {
                erased += 1;
            }
        }
        let finished = due.len() < BATCH;
        if finished {
            leases::finish(&cx.db, LEASE, holder, &day).await?;
        }
        Ok(Pass { held: true, erased, finished })
    }
    .await;
    if result.is_err() {
        // Let another process (or the next pass) try at once rather than after the lease.
        let _ = leases::release(&cx.db, LEASE, holder).await;
    }
    result
}

/// Runs passes until the day's run is finished or another process holds it.
pub async fn run_day(cx: &Ctx, holder: &str) -> anyhow::Result<usize> {
    let mut total = 0;
    loop {
        let pass = run_pass(cx, holder).await?;
        total += pass.erased;
        if !pass.held || pass.finished {
            return Ok(total);
        }
    }
}
