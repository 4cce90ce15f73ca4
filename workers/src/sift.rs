//! The sift worker: loads every scored applicant of a scheme in one query, runs
//! the pure sift, and writes all decisions, timeline events and emails in one
//! transaction. Running it again after it finished finds nobody left to sift.

use anyhow::Context;
use fasttrack_core::mail::{Addressee, Mail};
use fasttrack_core::sift::{Candidate, Outcome, Seats, sift};
use fasttrack_core::store::notifications::NewNotification;
use fasttrack_core::store::{jobs, schemes};
use serde_json::json;
use std::collections::BTreeMap;

use crate::ctx::Ctx;

#[tracing::instrument(name = "run sift", skip(cx))]
pub async fn run_sift(cx: &Ctx, job_id: &str) -> anyhow::Result<()> {
    crate::tracked::run(cx, job_id, "sift", |job| async move { sift_scheme(cx, job_id, &job.scheme_id).await }).await
}

async fn sift_scheme(cx: &Ctx, job_id: &str, scheme_id: &str) -> anyhow::Result<serde_json::Value> {
    let db = &cx.db;
    let scheme = schemes::get(db, scheme_id).await?.context("the scheme is missing")?.definition;
    let rows = fasttrack_core::store::sift::candidates(db, scheme_id).await?;
    let taken = fasttrack_core::store::sift::taken(db, scheme_id).await?;
    jobs::progress(db, job_id, 0, rows.len() as i64, cx.clock.now()).await?;

    let seats: BTreeMap<String, Seats> = scheme
        .streams
        .iter()
        .map(|s| {
            let taken = taken.get(s.id.as_str()).copied().unwrap_or_default();
            (s.id.to_string(), Seats::left(s.ac_seats, s.reserve, taken))
        })
        .collect();
    let candidates: Vec<Candidate> = rows
        .iter()
        .map(|r| Candidate {
            id: r.id.clone(),
            stream: r.stream.clone(),
            composite: r.composite,
            passed: r.passed,
            guaranteed: Candidate::guaranteed(r.disability_confident, r.declared_disability, r.overridden),
        })
        .collect();
    let decisions = sift(scheme_id, &candidates, &seats);

    let by_id: BTreeMap<&str, &fasttrack_core::store::sift::SiftRow> =
        rows.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut emails = BTreeMap::new();
    for d in &decisions {
        let row = by_id[d.id.as_str()];
        let to = Addressee::new(&row.details.name, &scheme.name, &d.id);
        let stream = scheme.stream(&d.stream).map_or(d.stream.as_str(), |s| s.name.as_str()).to_owned();
        let mail = match d.outcome {
            Outcome::Shortlisted => Mail::Shortlisted { to, stream },
            Outcome::Reserve => Mail::Reserve { to, stream },
            // The true reason of a rejection: below a cut score, or outranked.
            Outcome::Rejected => Mail::Rejected { to, stream, below_standard: !row.passed },
        };
        emails.insert(d.id.clone(), NewNotification::once(&d.id, &row.details.email, &mail));
    }
    let email_ids =
        fasttrack_core::store::sift::apply(db, scheme_id, job_id, &decisions, &emails, cx.clock.now(), |_| {}).await?;
    cx.enqueue_emails(&email_ids, "sift emails").await;
    // The stages up to the shortlist are now final: freeze their aggregates for HR reports.
    fasttrack_core::store::metrics::take_snapshot(db, scheme_id, job_id, "shortlisted", cx.clock.now()).await?;

    let mut summary: BTreeMap<String, BTreeMap<&str, u32>> = BTreeMap::new();
    for s in &scheme.streams {
        let e = summary.entry(s.id.to_string()).or_default();
        e.insert("ac_seats", s.ac_seats);
        for k in ["shortlisted", "reserve", "rejected"] {
            e.insert(k, 0);
        }
    }
    for d in &decisions {
        let k = match d.outcome {
            Outcome::Shortlisted => "shortlisted",
            Outcome::Reserve => "reserve",
            Outcome::Rejected => "rejected",
        };
        *summary.entry(d.stream.clone()).or_default().entry(k).or_default() += 1;
    }
    Ok(json!({"sifted": decisions.len(), "streams": summary}))
}
