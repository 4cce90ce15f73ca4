//! The decisions job: every assessed candidate (and the AC reserve, when places
//! are free) is decided by the pure `decisions` rule — offers per stream and
//! organisation in AC-score order to appointable candidates, reserve for the
//! other appointable ones, rejection for the rest — written with timeline events
//! and emails in one transaction. A declined offer starts the job again, which
//! passes the freed place to the best candidate on reserve.

use anyhow::Context;
use fasttrack_core::decisions::{Candidate, Outcome, decide};
use fasttrack_core::mail::{Addressee, Mail};
use fasttrack_core::store::notifications::NewNotification;
use fasttrack_core::store::{decisions, jobs, metrics, schemes};
use serde_json::json;
use std::collections::BTreeMap;

use crate::ctx::Ctx;

#[tracing::instrument(name = "run decisions", skip(cx))]
pub async fn run_decisions(cx: &Ctx, job_id: &str) -> anyhow::Result<()> {
    crate::tracked::run(cx, job_id, "decisions", |job| async move {
        // Rounds: an offer that could not be written (the reserve withdrew meanwhile) leaves
        // its place free, so decide again until every planned offer is written.
        let full = !job.is_system();
        let mut rounds = Vec::new();
        for _ in 0..5 {
            let (summary, planned, written) = decide_scheme(cx, job_id, &job.scheme_id, full).await?;
            rounds.push(summary);
            if written == planned {
                break;
            }
        }
        // The first round is the decision; any later one only re-offers places left free.
        let mut result = rounds.remove(0);
        if !rounds.is_empty() {
            result["later_rounds"] = json!(rounds);
        }
        Ok(result)
    })
    .await
}

/// One round. `full`: decide every assessed candidate (a recruiter asked); otherwise only pass
/// free places to the AC reserve (a decline or withdrawal started it), so nobody newly
/// assessed is decided before the recruiter says the panels are done. Returns the summary and
/// the offers planned and written.
async fn decide_scheme(
    cx: &Ctx,
    job_id: &str,
    scheme_id: &str,
    full: bool,
) -> anyhow::Result<(serde_json::Value, usize, usize)> {
    let db = &cx.db;
    let scheme = schemes::get(db, scheme_id).await?.context("the scheme is missing")?.definition;
    let mut rows = decisions::candidates(db, scheme_id).await?;
    if !full {
        rows.retain(|r| r.on_reserve);
    }
    let held = decisions::held(db, scheme_id).await?;
    jobs::progress(db, job_id, 0, rows.len() as i64, cx.clock.now()).await?;
    let candidates: Vec<Candidate> = rows
        .iter()
        .map(|r| Candidate {
            id: r.id.clone(),
            stream: r.stream.clone(),
            ac_score: r.ac_score,
            appointable: r.appointable,
            composite: r.composite,
            on_reserve: r.on_reserve,
        })
        .collect();
    let out = decide(scheme_id, &scheme.streams, &held, &candidates);

    let by_id: BTreeMap<&str, &decisions::DecisionRow> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
    let org_name = |id: &str| {
        scheme.organisations.iter().find(|o| o.id.as_str() == id).map_or_else(|| id.to_owned(), |o| o.name.clone())
    };
    let mut emails = BTreeMap::new();
    let mut summary: BTreeMap<String, BTreeMap<&str, u32>> = BTreeMap::new();
    for d in &out {
        let row = by_id[d.id.as_str()];
        let (kind, organisation) = match &d.outcome {
            Outcome::Offer { organisation } => ("offer", Some(org_name(organisation))),
            Outcome::Reserve => ("ac_reserve", None),
            Outcome::Rejected => ("ac_rejected", None),
        };
        *summary.entry(d.stream.clone()).or_default().entry(kind).or_default() += 1;
        let to = Addressee::new(&row.details.name, &scheme.name, &d.id);
        let stream = scheme.stream(&d.stream).map_or(d.stream.as_str(), |s| s.name.as_str()).to_owned();
        let mail = match &d.outcome {
            Outcome::Offer { .. } => Mail::Offer { to, stream, organisation },
            Outcome::Reserve => Mail::AcReserve { to, stream, organisation },
            Outcome::Rejected => Mail::AcRejected { to, stream, organisation },
        };
        emails.insert(d.id.clone(), NewNotification::once(&d.id, &row.details.email, &mail));
    }
    let planned = out.iter().filter(|d| matches!(d.outcome, Outcome::Offer { .. })).count();
    let (email_ids, written) = decisions::apply(db, scheme_id, job_id, &out, &emails, cx.clock.now()).await?;
    cx.enqueue_emails(&email_ids, "decision emails").await;
    // Offers are made: freeze the funnel up to them for HR reports.
    metrics::take_snapshot(db, scheme_id, job_id, "offered", cx.clock.now()).await?;
    Ok((json!({"decided": out.len(), "streams": summary, "full": full}), planned, written))
}
