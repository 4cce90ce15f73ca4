//! Background jobs users start and watch (`GET /api/v1/jobs/{id}`): a row per
//! run with its state, progress and result. The queue carries only the id.

use jiff::Timestamp;
use serde_json::Value;
use sqlx::Row;

use super::{Db, from_ms, to_ms};

#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub id: String,
    pub kind: String,
    pub scheme_id: String,
    /// queued, running, done, failed
    pub state: String,
    pub progress: i64,
    pub total: i64,
    pub result: Option<Value>,
    pub error: Option<String>,
    /// Who asked for it: `role:token` for people, `system:…` for follow-ups the service starts
    /// itself (a back-fill, a pass-on). A person asking for a job already queued or running
    /// takes it over.
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl JobRecord {
    /// Started by the service itself rather than by a person.
    pub fn is_system(&self) -> bool {
        self.created_by.starts_with("system:")
    }
}

/// Creates a queued job, unless one of the same kind for the scheme is queued or running:
/// then that one is returned (`false`), so double clicks start one run. The partial unique
/// index `jobs_one_active` decides the race.
pub async fn create_or_existing(
    db: &Db,
    id: &str,
    kind: &str,
    scheme: &str,
    actor: &str,
    now: Timestamp,
) -> sqlx::Result<(String, bool)> {
    let inserted = sqlx::query(
        "INSERT INTO jobs (id, kind, scheme_id, state, progress, total, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, 'queued', 0, 0, $4, $5, $5) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(kind)
    .bind(scheme)
    .bind(actor)
    .bind(to_ms(now))
    .execute(db.pool())
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok((id.to_owned(), true));
    }
    let row = sqlx::query("SELECT id FROM jobs WHERE scheme_id = $1 AND kind = $2 AND state IN ('queued', 'running')")
        .bind(scheme)
        .bind(kind)
        .fetch_optional(db.pool())
        .await?;
    match row {
        Some(r) => {
            // A running job may have read its inputs before this request: it runs once more.
            let existing: String = r.try_get("id")?;
            let marked = sqlx::query(
                "UPDATE jobs SET rerun = CASE WHEN state = 'running' THEN 1 ELSE rerun END,
                   created_by = CASE WHEN $2 LIKE 'system:%' THEN created_by ELSE $2 END
                 WHERE id = $1 AND state IN ('queued', 'running')",
            )
            .bind(&existing)
            .bind(actor)
            .execute(db.pool())
            .await?
            .rows_affected();
            if marked == 1 {
                return Ok((existing, false));
            }
            // It finished just now: start a new one.
            Box::pin(create_or_existing(db, id, kind, scheme, actor, now)).await
        }
        // The active job finished between the two statements: start a new one.
        None => Box::pin(create_or_existing(db, id, kind, scheme, actor, now)).await,
    }
}

pub async fn get(db: &Db, id: &str) -> sqlx::Result<Option<JobRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(db.pool()).await?.as_ref().map(record).transpose()
}

/// The latest job of each kind a scheme has had.
pub async fn latest_of_each_kind(db: &Db, scheme: &str) -> sqlx::Result<Vec<JobRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM jobs j WHERE scheme_id = $1
         AND created_at = (SELECT MAX(created_at) FROM jobs k WHERE k.scheme_id = j.scheme_id AND k.kind = j.kind)
         ORDER BY kind"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(scheme).fetch_all(db.pool()).await?;
    let mut out: Vec<JobRecord> = rows.iter().map(record).collect::<sqlx::Result<_>>()?;
    out.dedup_by(|a, b| a.kind == b.kind);
    Ok(out)
}

const COLUMNS: &str = "id, kind, scheme_id, state, progress, total, result, error, created_by, created_at, updated_at";

fn record(r: &sqlx::any::AnyRow) -> sqlx::Result<JobRecord> {
    let result: Option<String> = r.try_get("result")?;
    Ok(JobRecord {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        scheme_id: r.try_get("scheme_id")?,
        state: r.try_get("state")?,
        progress: r.try_get("progress")?,
        total: r.try_get("total")?,
        result: result.and_then(|s| serde_json::from_str(&s).ok()),
        error: r.try_get("error")?,
        created_by: r.try_get("created_by")?,
        created_at: from_ms(r.try_get("created_at")?)?,
        updated_at: from_ms(r.try_get("updated_at")?)?,
    })
}

/// Takes a queued job for running, or one whose runner stopped reporting progress for
/// `stale` (it died). `None`: done, failed, or being run by a live worker.
pub async fn start(db: &Db, id: &str, now: Timestamp, stale: std::time::Duration) -> sqlx::Result<Option<JobRecord>> {
    let taken = sqlx::query(
        "UPDATE jobs SET state = 'running', updated_at = $2
         WHERE id = $1 AND (state = 'queued' OR (state = 'running' AND updated_at <= $3))",
    )
    .bind(id)
    .bind(to_ms(now))
    .bind(to_ms(now) - stale.as_millis() as i64)
    .execute(db.pool())
    .await?
    .rows_affected();
    if taken == 0 {
        return Ok(None);
    }
    get(db, id).await
}

pub async fn progress(db: &Db, id: &str, progress: i64, total: i64, now: Timestamp) -> sqlx::Result<()> {
    sqlx::query("UPDATE jobs SET progress = $2, total = $3, updated_at = $4 WHERE id = $1")
        .bind(id)
        .bind(progress)
        .bind(total)
        .bind(to_ms(now))
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Marks the job done with its result — or, if it was asked for again while it ran, queued
/// once more (`true`: run it again).
pub async fn finish(db: &Db, id: &str, result: &Value, now: Timestamp) -> sqlx::Result<bool> {
    let row = sqlx::query(
        "UPDATE jobs SET state = CASE WHEN rerun = 1 THEN 'queued' ELSE 'done' END, rerun = 0, result = $2, error = NULL,
           progress = total, updated_at = $3
         WHERE id = $1 AND state = 'running' RETURNING state",
    )
    .bind(id)
    .bind(result.to_string())
    .bind(to_ms(now))
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| r.try_get::<String, _>("state")).transpose()?.as_deref() == Some("queued"))
}

/// Marks the job failed — or, if it was asked for again while it ran, queued once more
/// (`true`: run it again; the request came after the inputs the failed run read).
pub async fn fail(db: &Db, id: &str, error: &str, now: Timestamp) -> sqlx::Result<bool> {
    let row = sqlx::query(
        "UPDATE jobs SET state = CASE WHEN rerun = 1 THEN 'queued' ELSE 'failed' END, rerun = 0, error = $2,
           updated_at = $3
         WHERE id = $1 AND state = 'running' RETURNING state",
    )
    .bind(id)
    .bind(error)
    .bind(to_ms(now))
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|r| r.try_get::<String, _>("state")).transpose()?.as_deref() == Some("queued"))
}

/// Queued or running jobs untouched for `requeue_after`: their queue entry may be lost, or
/// their runner died. The sweeper pushes them again; `start` lets only one run.
pub async fn stalled(
    db: &Db,
    now: Timestamp,
    requeue_after: std::time::Duration,
) -> sqlx::Result<Vec<(String, String)>> {
    let rows =
        sqlx::query("SELECT id, kind FROM jobs WHERE state IN ('queued', 'running') AND updated_at <= $1 LIMIT 100")
            .bind(to_ms(now) - requeue_after.as_millis() as i64)
            .fetch_all(db.pool())
            .await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("kind")?))).collect()
}
