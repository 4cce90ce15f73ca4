//! The counts behind HR reports, by set-based SQL: GROUP BY over the timeline
//! joined to the equality answers. Never a row per applicant in memory.

use std::collections::BTreeMap;

use sqlx::{AssertSqlSafe, Row};

use super::Db;
use crate::domain::metrics::{Characteristic, STAGES};

/// For each stage of the funnel reached and each raw value of the characteristic: how many
/// applications. `stages` limits the count to those stages (None: every stage).
pub async fn funnel(
    db: &Db,
    scheme: &str,
    by: Characteristic,
    stream: Option<&str>,
) -> sqlx::Result<Vec<(String, Option<String>, u64)>> {
    count_stages(db, scheme, by, stream, &STAGES.iter().map(|s| s.as_str()).collect::<Vec<_>>()).await
}

async fn count_stages(
    db: &Db,
    scheme: &str,
    by: Characteristic,
    stream: Option<&str>,
    stages: &[&str],
) -> sqlx::Result<Vec<(String, Option<String>, u64)>> {
    if stages.is_empty() {
        return Ok(Vec::new());
    }
    let col = by.column();
    // Stage names come from the fixed list of statuses, never from the request.
    let stage_list: Vec<String> = stages.iter().map(|s| format!("'{s}'")).collect();
    let stream_clause = format!(
        " AND e.to_status IN ({}){}",
        stage_list.join(", "),
        if stream.is_some() { " AND a.first_stream = $2" } else { "" }
    );
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
    rows.iter().map(|r| Ok((r.try_get("stage")?, r.try_get("value")?, super::int(r, "n")?))).collect()
}

/// Freezes the funnel counts of every stage up to `last_stage`, for every stored answer and
/// stream, as they are now (set-based: one INSERT … SELECT per answer, in one transaction).
pub async fn take_snapshot(
    db: &Db,
    scheme: &str,
    job: &str,
    last_stage: &str,
    now: jiff::Timestamp,
) -> sqlx::Result<()> {
    let upto = STAGES.iter().position(|s| s.as_str() == last_stage).unwrap_or(STAGES.len() - 1);
    let stages: Vec<String> = STAGES[..=upto].iter().map(|s| format!("'{}'", s.as_str())).collect();
    let mut tx = db.begin().await?;
    // A job that ran again (asked for while it ran) replaces its own earlier snapshot.
    for table in ["stage_snapshots", "snapshots"] {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE scheme_id = $1 AND job_id = $2")))
            .bind(scheme)
            .bind(job)
            .execute(&mut *tx)
            .await?;
    }
    for c in Characteristic::sources() {
        let col = c.column();
        let sql = format!(
            "INSERT INTO stage_snapshots (scheme_id, job_id, stream_id, stage, characteristic, value, n, taken_at)
             SELECT $1, $2, a.first_stream, e.to_status, $3, COALESCE({col}, ''), COUNT(DISTINCT e.application_id), $4
             FROM application_events e
             JOIN applications a ON a.id = e.application_id
             LEFT JOIN equality_answers q ON q.application_id = e.application_id
             WHERE a.scheme_id = $1 AND e.to_status IN ({})
             GROUP BY a.first_stream, e.to_status, COALESCE({col}, '')
             ON CONFLICT DO NOTHING",
            stages.join(", ")
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(scheme)
            .bind(job)
            .bind(c.source())
            .bind(super::to_ms(now))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO snapshots (scheme_id, job_id, last_stage, taken_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
        .bind(scheme)
        .bind(job)
        .bind(last_stage)
        .bind(super::to_ms(now))
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// How many leading funnel stages the scheme's latest snapshot covers (0: none).
pub async fn frozen_stages(db: &Db, scheme: &str) -> sqlx::Result<usize> {
    let last: Option<String> = sqlx::query(
        "SELECT last_stage FROM snapshots WHERE scheme_id = $1 ORDER BY taken_at DESC, job_id DESC LIMIT 1",
    )
    .bind(scheme)
    .fetch_optional(db.pool())
    .await?
    .map(|r| r.try_get("last_stage"))
    .transpose()?;
    Ok(last.and_then(|l| STAGES.iter().position(|s| s.as_str() == l)).map_or(0, |i| i + 1))
}

/// When the scheme's latest snapshot was taken (the date its frozen stages are labelled with).
pub async fn frozen_at(db: &Db, scheme: &str) -> sqlx::Result<Option<jiff::Timestamp>> {
    sqlx::query("SELECT MAX(taken_at) AS t FROM snapshots WHERE scheme_id = $1")
        .bind(scheme)
        .fetch_one(db.pool())
        .await?
        .try_get::<Option<i64>, _>("t")?
        .map(super::from_ms)
        .transpose()
}

/// Funnel counts as published: stages covered by the scheme's latest snapshot come from it
/// (erasure since then does not change them); later stages are counted live.
pub async fn published_funnel(
    db: &Db,
    scheme: &str,
    by: Characteristic,
    stream: Option<&str>,
) -> sqlx::Result<Vec<(String, Option<String>, u64)>> {
    let in_funnel = |stage: &str| STAGES.iter().any(|s| s.as_str() == stage);
    let live: Vec<_> =
        funnel(db, scheme, by, stream).await?.into_iter().filter(|(stage, _, _)| in_funnel(stage)).collect();
    let latest = sqlx::query(
        "SELECT job_id, last_stage FROM snapshots WHERE scheme_id = $1 ORDER BY taken_at DESC, job_id DESC LIMIT 1",
    )
    .bind(scheme)
    .fetch_optional(db.pool())
    .await?;
    let Some(latest) = latest else { return Ok(live) };
    let job: String = latest.try_get("job_id")?;
    let last: String = latest.try_get("last_stage")?;
    let upto = STAGES.iter().position(|s| s.as_str() == last).unwrap_or(0);
    let covered: Vec<&str> = STAGES[..=upto].iter().map(|s| s.as_str()).collect();
    let stream_clause = if stream.is_some() { " AND stream_id = $4" } else { "" };
    let sql = format!(
        "SELECT stage, value, CAST(SUM(n) AS BIGINT) AS n FROM stage_snapshots
         WHERE scheme_id = $1 AND job_id = $2 AND characteristic = $3{stream_clause} GROUP BY stage, value"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(scheme).bind(job).bind(by.source());
    if let Some(s) = stream {
        q = q.bind(s);
    }
    let frozen = q.fetch_all(db.pool()).await?;
    let mut out: Vec<(String, Option<String>, u64)> =
        live.into_iter().filter(|(stage, _, _)| !covered.contains(&stage.as_str())).collect();
    for r in frozen {
        let value: String = r.try_get("value")?;
        let n: i64 = r.try_get("n")?;
        out.push((r.try_get("stage")?, (!value.is_empty()).then_some(value), u64::try_from(n).unwrap_or(0)));
    }
    Ok(out)
}

/// Per raw value: (reached `from`, reached `to`). Both come from the same source: the latest
/// snapshot when it covers `to` (so erasure does not rewrite the figures), otherwise live
/// counts — never a frozen `from` with a live `to` (a reserve called up later would make
/// "selected" exceed "considered").
pub async fn selection(
    db: &Db,
    scheme: &str,
    by: Characteristic,
    from: &str,
    to: &str,
    stream: Option<&str>,
) -> sqlx::Result<BTreeMap<Option<String>, (u64, u64)>> {
    let frozen = frozen_stages(db, scheme).await?;
    let covered = STAGES.iter().position(|s| s.as_str() == to).is_some_and(|t| t < frozen);
    let counts =
        if covered { published_funnel(db, scheme, by, stream).await? } else { funnel(db, scheme, by, stream).await? };
    Ok(selection_from(&counts, from, to))
}

/// Per raw value: (reached `from`, reached `to`), from funnel counts (the stages form a chain).
pub fn selection_from(
    funnel: &[(String, Option<String>, u64)],
    from: &str,
    to: &str,
) -> BTreeMap<Option<String>, (u64, u64)> {
    let mut out: BTreeMap<Option<String>, (u64, u64)> = BTreeMap::new();
    for (stage, value, n) in funnel {
        if stage == from {
            out.entry(value.clone()).or_default().0 += n;
        }
        if stage == to {
            out.entry(value.clone()).or_default().1 += n;
        }
    }
    out
}
