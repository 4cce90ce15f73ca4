//! `fasttrack rescore`: after a key or norm changes (with a new key or norm
//! version in the scheme file), recompute every scored application's scores from
//! the answers kept, write them as the scores in force (earlier ones are kept,
//! no longer current) and report who moved between pass and fail.

use anyhow::Context;
use fasttrack_core::scoring::score_attempts;
use fasttrack_core::store::{Db, schemes, tests};
use jiff::Timestamp;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Change {
    pub application_id: String,
    pub was_passed: bool,
    pub now_passed: bool,
    pub composite_before: f64,
    pub composite_after: f64,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub scheme: String,
    pub rescored: usize,
    /// Key and norm versions now in force, per test.
    pub versions: Vec<(String, u32, String)>,
    pub changed_outcome: Vec<Change>,
    pub dry_run: bool,
}

pub async fn rescore(db: &Db, scheme_id: &str, dry_run: bool) -> anyhow::Result<Report> {
    let scheme = schemes::get(db, scheme_id).await?.with_context(|| format!("no scheme {scheme_id}"))?.definition;
    let all = tests::scored_with_attempts(db, scheme_id).await?;
    let mut changed = Vec::new();
    let now = Timestamp::now();
    for (id, was_passed, before, attempts) in &all {
        let inputs: Vec<_> = attempts.iter().map(tests::Attempt::input).collect();
        let card = score_attempts(&scheme.tests, &inputs);
        if card.passed != *was_passed {
            changed.push(Change {
                application_id: id.clone(),
                was_passed: *was_passed,
                now_passed: card.passed,
                composite_before: *before,
                composite_after: card.composite,
            });
        }
        if !dry_run {
            let app: fasttrack_core::ApplicationId = id.parse().context("a stored application id")?;
            tests::save_rescore(db, app, scheme_id, &card, now).await?;
        }
    }
    Ok(Report {
        scheme: scheme_id.to_owned(),
        rescored: all.len(),
        versions: scheme.tests.iter().map(|t| (t.id.to_string(), t.key_version, t.norm.version.clone())).collect(),
        changed_outcome: changed,
        dry_run,
    })
}
