//! Worker processes as the database knows them: each beats every sweep with its lanes'
//! health, so an admin sees every worker — alive or not — from any API process.

use jiff::Timestamp;
use serde_json::Value;
use sqlx::Row;

use super::{Db, from_ms, to_ms};

#[derive(Debug, Clone, PartialEq)]
pub struct WorkerProcess {
    pub id: String,
    pub host: String,
    pub pid: i64,
    pub started_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub health: Value,
}

/// Records that the worker process `p` is alive now, with its health.
pub async fn beat(db: &Db, p: &WorkerProcess) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO worker_processes (id, host, pid, started_at, last_seen_at, health) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at, health = excluded.health",
    )
    .bind(&p.id)
    .bind(&p.host)
    .bind(p.pid)
    .bind(to_ms(p.started_at))
    .bind(to_ms(p.last_seen_at))
    .bind(p.health.to_string())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Every worker process seen since `since`, most recently seen first; older ones are
/// deleted (a process gone for that long is history).
pub async fn list(db: &Db, since: Timestamp) -> sqlx::Result<Vec<WorkerProcess>> {
    sqlx::query("DELETE FROM worker_processes WHERE last_seen_at < $1").bind(to_ms(since)).execute(db.pool()).await?;
    let rows = sqlx::query(
        "SELECT id, host, pid, started_at, last_seen_at, health FROM worker_processes ORDER BY last_seen_at DESC, id",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let health: String = r.try_get("health")?;
            Ok(WorkerProcess {
                id: r.try_get("id")?,
                host: r.try_get("host")?,
                pid: r.try_get("pid")?,
                started_at: from_ms(r.try_get("started_at")?)?,
                last_seen_at: from_ms(r.try_get("last_seen_at")?)?,
                health: serde_json::from_str(&health).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            })
        })
        .collect()
}
