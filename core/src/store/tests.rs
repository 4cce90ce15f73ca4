//! Online-test attempts, provider deliveries and scores.

use jiff::Timestamp;
use serde_json::Value;
use sqlx::{Any, Row};

use super::applications::move_in_tx;
use super::notifications::{self, NewNotification};
use super::{Db, from_ms, to_ms};
use crate::domain::ids::ApplicationId;
use crate::domain::scoring::{AttemptInput, Scorecard};
use crate::domain::status::Status;

#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub test_id: String,
    pub started_at: Option<Timestamp>,
    pub deadline_at: Option<Timestamp>,
    pub submitted_at: Option<Timestamp>,
    pub answers: Option<Value>,
    pub source: Option<String>,
    pub provider_raw: Option<i64>,
    pub late: bool,
}

impl Attempt {
    pub fn input(&self) -> AttemptInput {
        AttemptInput {
            test_id: self.test_id.clone(),
            submitted: self.submitted_at.is_some(),
            late: self.late,
            answers: self.answers.clone(),
            provider_raw: self.provider_raw.and_then(|r| u32::try_from(r).ok()),
        }
    }
}

fn attempt(r: &sqlx::any::AnyRow) -> sqlx::Result<Attempt> {
    let opt_ts = |c: &str| r.try_get::<Option<i64>, _>(c)?.map(from_ms).transpose();
    let answers: Option<String> = r.try_get("answers")?;
    Ok(Attempt {
        test_id: r.try_get("test_id")?,
        started_at: opt_ts("started_at")?,
        deadline_at: opt_ts("deadline_at")?,
        submitted_at: opt_ts("submitted_at")?,
        answers: answers.map(|a| serde_json::from_str(&a)).transpose().map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        source: r.try_get("source")?,
        provider_raw: r.try_get("provider_raw")?,
        late: r.try_get::<i64, _>("late")? != 0,
    })
}

const COLUMNS: &str = "test_id, started_at, deadline_at, submitted_at, answers, source, provider_raw, late";

pub async fn attempts(db: &Db, app: ApplicationId) -> sqlx::Result<Vec<Attempt>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM test_attempts WHERE application_id = $1 ORDER BY test_id"
    )))
    .bind(app.to_string())
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(attempt).collect()
}

pub async fn get_attempt(db: &Db, app: ApplicationId, test: &str) -> sqlx::Result<Option<Attempt>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM test_attempts WHERE application_id = $1 AND test_id = $2"
    )))
    .bind(app.to_string())
    .bind(test)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(attempt).transpose()
}

/// Starts the clock on a test, once. Returns the attempt as it now is (started before or now).
pub async fn start(
    db: &Db,
    app: ApplicationId,
    test: &str,
    now: Timestamp,
    deadline: Option<Timestamp>,
) -> sqlx::Result<Option<Attempt>> {
    sqlx::query(
        "UPDATE test_attempts SET started_at = $3, deadline_at = $4
         WHERE application_id = $1 AND test_id = $2 AND started_at IS NULL AND submitted_at IS NULL",
    )
    .bind(app.to_string())
    .bind(test)
    .bind(to_ms(now))
    .bind(deadline.map(to_ms))
    .execute(db.pool())
    .await?;
    get_attempt(db, app, test).await
}

/// Whether a provider's delivery id was already recorded.
pub async fn delivery_seen(db: &Db, provider: &str, delivery: &str) -> sqlx::Result<bool> {
    let row = sqlx::query("SELECT 1 AS one FROM webhook_deliveries WHERE provider = $1 AND delivery_id = $2")
        .bind(provider)
        .bind(delivery)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.is_some())
}

/// What came back for one test: answers through the API, or a provider's raw score.
pub struct Submission<'a> {
    pub app: ApplicationId,
    pub test: &'a str,
    pub answers: Option<&'a Value>,
    pub provider: Option<(&'a str, &'a str, i64)>,
    pub late: bool,
    pub now: Timestamp,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Submitted {
    /// Recorded; `completed` when it was the application's last test.
    Recorded { completed: bool },
    /// Answers are taken once.
    AlreadySubmitted,
    /// The API needs the test started first.
    NotStarted,
    /// The provider delivery id was seen before: nothing changed.
    Replayed,
}

/// Records a submission and, if it was the last outstanding test, moves the application to
/// tests_completed — all in one transaction.
pub async fn submit(db: &Db, s: Submission<'_>) -> sqlx::Result<Submitted> {
    let mut tx = db.begin().await?;
    // Lock the application row first: two last tests sent at the same moment must not each
    // see the other as still open (neither would then complete the application).
    sqlx::query("UPDATE applications SET updated_at = $2 WHERE id = $1")
        .bind(s.app.to_string())
        .bind(to_ms(s.now))
        .execute(&mut *tx)
        .await?;
    if let Some((provider, delivery, _)) = s.provider {
        let fresh = sqlx::query(
            "INSERT INTO webhook_deliveries (provider, delivery_id, received_at) VALUES ($1, $2, $3)
             ON CONFLICT (provider, delivery_id) DO NOTHING",
        )
        .bind(provider)
        .bind(delivery)
        .bind(to_ms(s.now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if fresh == 0 {
            return Ok(Submitted::Replayed);
        }
    }
    let started_clause = if s.provider.is_some() { "" } else { " AND started_at IS NOT NULL" };
    let changed = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE test_attempts SET submitted_at = $3, answers = $4, source = $5, provider_raw = $6, late = $7
         WHERE application_id = $1 AND test_id = $2 AND submitted_at IS NULL{started_clause}"
    )))
    .bind(s.app.to_string())
    .bind(s.test)
    .bind(to_ms(s.now))
    .bind(s.answers.map(Value::to_string))
    .bind(s.provider.map_or("api", |p| p.0))
    .bind(s.provider.map(|p| p.2))
    .bind(i64::from(s.late))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        let a = sqlx::query("SELECT submitted_at FROM test_attempts WHERE application_id = $1 AND test_id = $2")
            .bind(s.app.to_string())
            .bind(s.test)
            .fetch_optional(&mut *tx)
            .await?;
        let submitted = a.map(|r| r.try_get::<Option<i64>, _>("submitted_at")).transpose()?.flatten().is_some();
        return Ok(if submitted { Submitted::AlreadySubmitted } else { Submitted::NotStarted });
    }
    let open: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM test_attempts WHERE application_id = $1 AND submitted_at IS NULL")
            .bind(s.app.to_string())
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
    // Who finished the tests: the applicant, or the provider that reported the last result.
    let actor = s.provider.map_or_else(|| "applicant".to_owned(), |(p, _, _)| format!("provider:{p}"));
    let completed = open == 0
        && move_in_tx(&mut tx, &s.app.to_string(), Status::TestsInvited, Status::TestsCompleted, &actor, None, s.now)
            .await?;
    tx.commit().await?;
    Ok(Submitted::Recorded { completed })
}

async fn write_scores(
    tx: &mut sqlx::Transaction<'_, Any>,
    app: &str,
    scheme: &str,
    card: &Scorecard,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE test_scores SET current = 0 WHERE application_id = $1").bind(app).execute(&mut **tx).await?;
    for t in &card.tests {
        sqlx::query(
            "INSERT INTO test_scores (application_id, test_id, key_version, norm_version, raw, z, t, sten, percentile, passed,
             late, current, scored_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 1, $11)
             ON CONFLICT (application_id, test_id, key_version, norm_version) DO UPDATE SET raw = $5, z = $6, t = $7,
             sten = $8, percentile = $9, passed = $10, current = 1, scored_at = $11",
        )
        .bind(app)
        .bind(&t.test_id)
        .bind(i64::from(t.key_version))
        .bind(&t.norm_version)
        .bind(i64::from(t.score.raw))
        .bind(t.score.z)
        .bind(t.score.t)
        .bind(i64::from(t.score.sten))
        .bind(t.score.percentile)
        .bind(i64::from(t.score.passed))
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO application_scores (application_id, scheme_id, composite, passed, scored_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (application_id) DO UPDATE SET composite = $3, passed = $4, scored_at = $5",
    )
    .bind(app)
    .bind(scheme)
    .bind(card.composite)
    .bind(i64::from(card.passed))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Saves a first scoring and moves tests_completed → scored with its email. `false` when the
/// application was not waiting to be scored (a repeated job): nothing is written.
pub async fn save_first_scores(
    db: &Db,
    app: ApplicationId,
    scheme: &str,
    card: &Scorecard,
    email: &NewNotification,
    now: Timestamp,
) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    if !move_in_tx(&mut tx, &app.to_string(), Status::TestsCompleted, Status::Scored, "system", None, now).await? {
        return Ok(false);
    }
    write_scores(&mut tx, &app.to_string(), scheme, card, to_ms(now)).await?;
    notifications::insert(&mut tx, email, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Re-scoring: replaces the scores in force (earlier rows stay, no longer current).
pub async fn save_rescore(
    db: &Db,
    app: ApplicationId,
    scheme: &str,
    card: &Scorecard,
    now: Timestamp,
) -> sqlx::Result<()> {
    let app = app.to_string();
    let app = app.as_str();
    let mut tx = db.begin().await?;
    write_scores(&mut tx, app, scheme, card, to_ms(now)).await?;
    tx.commit().await
}

/// Applications whose tests are all in but whose scoring job has not run for a while; marks
/// them touched so the sweeper pushes each at most once per `requeue_after`.
pub async fn take_unscored(
    db: &Db,
    now: Timestamp,
    requeue_after: std::time::Duration,
    limit: i64,
) -> sqlx::Result<Vec<ApplicationId>> {
    let now_ms = to_ms(now);
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE applications SET updated_at = $1 WHERE id IN (
             SELECT id FROM applications WHERE status = 'tests_completed' AND updated_at <= $2 LIMIT $3 {})
         RETURNING id",
        db.skip_locked()
    )))
    .bind(now_ms)
    .bind(now_ms - requeue_after.as_millis() as i64)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(|r| super::id_column(r, "id")).collect()
}

/// Everything needed to re-score a scheme: application id, its attempts and whether it passed.
pub async fn scored_with_attempts(db: &Db, scheme: &str) -> sqlx::Result<Vec<(String, bool, f64, Vec<Attempt>)>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT s.application_id, s.passed, s.composite, {cols} FROM application_scores s
         JOIN test_attempts t ON t.application_id = s.application_id
         WHERE s.scheme_id = $1 ORDER BY s.application_id, t.test_id",
        cols = COLUMNS.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", ")
    )))
    .bind(scheme)
    .fetch_all(db.pool())
    .await?;
    let mut out: Vec<(String, bool, f64, Vec<Attempt>)> = Vec::new();
    for r in &rows {
        let id: String = r.try_get("application_id")?;
        let a = attempt(r)?;
        match out.last_mut() {
            Some(last) if last.0 == id => last.3.push(a),
            _ => out.push((id, r.try_get::<i64, _>("passed")? != 0, r.try_get("composite")?, vec![a])),
        }
    }
    Ok(out)
}

/// The applicant's current scores: test id → sten, for their feedback.
pub async fn stens(db: &Db, app: ApplicationId) -> sqlx::Result<Vec<(String, u8)>> {
    let rows =
        sqlx::query("SELECT test_id, sten FROM test_scores WHERE application_id = $1 AND current = 1 ORDER BY test_id")
            .bind(app.to_string())
            .fetch_all(db.pool())
            .await?;
    rows.iter().map(|r| Ok((r.try_get("test_id")?, u8::try_from(r.try_get::<i64, _>("sten")?).unwrap_or(0)))).collect()
}
