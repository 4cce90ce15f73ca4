//! The counts behind HR reports, by set-based SQL: GROUP BY over the timeline
//! joined to the equality answers. Never a row per applicant in memory.

use std::collections::BTreeMap;

use sqlx::{AssertSqlSafe, Row};

use super::Db;
use crate::domain::metrics::Characteristic;

/// For each stage reached and each raw value of the characteristic: how many applications.
pub async fn funnel(
    db: &Db,
    scheme: &str,
    by: Characteristic,
    stream: Option<&str>,
) -> sqlx::Result<Vec<(String, Option<String>, u64)>> {
    let col = by.column();
    let stream_clause = if stream.is_some() { " AND a.first_stream = $2" } else { "" };
    let sql = format!(
        "SELECT e.to_status AS stage, {col} AS value, COUNT(DISTINCT e.application_id) AS n
         FROM application_events e
         JOIN applications a ON a.id = e.application_id
         LEFT JOIN equality_answers q ON q.application_id = e.application_id
         WHERE a.scheme_id = $1{stream_clause}
         GROUP BY e.to_status, {col}"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(scheme);
    if let Some(s) = stream {
        q = q.bind(s);
    }
    let rows = q.fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| Ok((r.try_get("stage")?, r.try_get("value")?, u64::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0))))
        .collect()
}

/// Among applications that reached `from`, per raw value: how many, and how many also reached `to`.
pub async fn selection(
    db: &Db,
    scheme: &str,
    by: Characteristic,
    from: &str,
    to: &str,
    stream: Option<&str>,
) -> sqlx::Result<BTreeMap<Option<String>, (u64, u64)>> {
    let col = by.column();
    let stream_clause = if stream.is_some() { " AND a.first_stream = $4" } else { "" };
    let sql = format!(
        "SELECT {col} AS value, COUNT(*) AS n_from, SUM(CASE WHEN t.application_id IS NULL THEN 0 ELSE 1 END) AS n_to
         FROM (SELECT DISTINCT application_id FROM application_events WHERE to_status = $2) f
         JOIN applications a ON a.id = f.application_id
         LEFT JOIN (SELECT DISTINCT application_id FROM application_events WHERE to_status = $3) t
           ON t.application_id = f.application_id
         LEFT JOIN equality_answers q ON q.application_id = f.application_id
         WHERE a.scheme_id = $1{stream_clause}
         GROUP BY {col}"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(scheme).bind(from).bind(to);
    if let Some(s) = stream {
        q = q.bind(s);
    }
    let rows = q.fetch_all(db.pool()).await?;
    let mut out = BTreeMap::new();
    for r in rows {
        let n_from = u64::try_from(r.try_get::<i64, _>("n_from")?).unwrap_or(0);
        let n_to = u64::try_from(r.try_get::<Option<i64>, _>("n_to")?.unwrap_or(0)).unwrap_or(0);
        out.insert(r.try_get("value")?, (n_from, n_to));
    }
    Ok(out)
}
