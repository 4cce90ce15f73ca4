//! The score worker: an application whose tests are all in gets its scores,
//! composite and pass, moves to `scored`, and is told by email — in one
//! transaction, once (a repeated job finds it already scored).

use anyhow::Context;
use fasttrack_core::mail::{Addressee, Mail, TestResult};
use fasttrack_core::scoring::score_attempts;
use fasttrack_core::store::notifications::NewNotification;
use fasttrack_core::store::tests::Attempt;
use fasttrack_core::store::{applications, schemes, tests};
use fasttrack_core::{ApplicationId, NotificationId, Status};

use crate::ctx::Ctx;

/// Scores the application if it is waiting to be scored; returns the email to send.
#[tracing::instrument(name = "score application", skip_all, fields(application = %id))]
pub async fn score_application(cx: &Ctx, id: ApplicationId) -> anyhow::Result<Option<NotificationId>> {
    let db = &cx.db;
    let Some(app) = applications::get(db, id).await? else { return Ok(None) };
    // (An erased application is in a final state, so never waiting to be scored.)
    let (Status::TestsCompleted, Some(details)) = (app.status, &app.details) else {
        return Ok(None);
    };
    let scheme = schemes::get(db, &app.scheme_id).await?.context("the application's scheme is missing")?.definition;
    let attempts = tests::attempts(db, id).await?;
    let inputs: Vec<_> = attempts.iter().map(Attempt::input).collect();
    let card = score_attempts(&scheme.tests, &inputs);
    let late: Vec<&str> =
        attempts.iter().filter(|a| a.late).filter_map(|a| scheme.test(&a.test_id).map(|t| t.name.as_str())).collect();
    let mail = Mail::Scored {
        to: Addressee::new(&details.name, &scheme.name, &id.to_string()),
        passed: card.passed,
        late_tests: late.iter().map(|t| (*t).to_owned()).collect(),
        tests: card.tests.iter().map(|t| TestResult { name: t.name.clone(), sten: t.score.sten }).collect(),
    };
    let email = NewNotification::once(&id.to_string(), &details.email, &mail);
    let saved = tests::save_first_scores(db, id, scheme.id.as_str(), &card, &email, cx.clock.now()).await?;
    if saved {
        tracing::info!(passed = card.passed, "application scored");
    }
    Ok(saved.then_some(email.id))
}
