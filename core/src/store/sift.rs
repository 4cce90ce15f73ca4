//! The sift's reads and writes: one query for every candidate of a scheme, and
//! the decisions written with multi-row statements, a transaction per chunk of
//! 1,000 — never a query per applicant.

use std::collections::BTreeMap;

use jiff::Timestamp;
use sqlx::{AssertSqlSafe, Row};

use super::applications::{self, Move};
use super::notifications::{self, NewNotification};
use super::{Db, to_ms};
use crate::domain::application::ApplicantDetails;
use crate::domain::ids::ApplicationId;
use crate::domain::sift::{Decision, Outcome};
use crate::domain::status::Status;

#[derive(Debug, Clone)]
pub struct SiftRow {
    pub id: String,
    pub stream: String,
    pub composite: f64,
    pub passed: bool,
    pub disability_confident: bool,
    /// The equality answer to the disability question; read only to apply the guarantee.
    pub declared_disability: bool,
    pub overridden: bool,
    pub details: ApplicantDetails,
}

/// Every scored application of the scheme, in one query.
pub async fn candidates(db: &Db, scheme: &str) -> sqlx::Result<Vec<SiftRow>> {
    let rows = sqlx::query(
        "SELECT a.id, a.first_stream, a.disability_confident, a.details, s.composite, s.passed, e.disability,
                CASE WHEN o.application_id IS NULL THEN 0 ELSE 1 END AS overridden
         FROM applications a
         JOIN application_scores s ON s.application_id = a.id
         LEFT JOIN equality_answers e ON e.application_id = a.id
         LEFT JOIN dc_overrides o ON o.application_id = a.id
         WHERE a.scheme_id = $1 AND a.status = 'scored'",
    )
    .bind(scheme)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let details: String = r.try_get("details")?;
            Ok(SiftRow {
                id: r.try_get("id")?,
                stream: r.try_get("first_stream")?,
                composite: r.try_get("composite")?,
                passed: r.try_get::<i64, _>("passed")? != 0,
                disability_confident: r.try_get::<i64, _>("disability_confident")? != 0,
                declared_disability: r.try_get::<Option<String>, _>("disability")?.as_deref() == Some("yes"),
                overridden: r.try_get::<i64, _>("overridden")? != 0,
                details: serde_json::from_str(&details).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            })
        })
        .collect()
}

/// Seats already taken and reserve places already given, per stream, by earlier sifts.
pub async fn taken(db: &Db, scheme: &str) -> sqlx::Result<BTreeMap<String, (u32, u32)>> {
    let rows = sqlx::query(
        "SELECT stream_id, outcome, COUNT(*) AS n FROM sift_results WHERE scheme_id = $1 GROUP BY stream_id, outcome",
    )
    .bind(scheme)
    .fetch_all(db.pool())
    .await?;
    let mut out: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for r in rows {
        let n = u32::try_from(r.try_get::<i64, _>("n")?).unwrap_or(u32::MAX);
        let e = out.entry(r.try_get("stream_id")?).or_default();
        match r.try_get::<String, _>("outcome")?.as_str() {
            "shortlisted" => e.0 += n,
            "reserve" => e.1 += n,
            // A reserve called up used a reserve place and now holds a shortlist one.
            "called_up" => {
                e.0 += n;
                e.1 += n;
            }
            _ => {}
        }
    }
    Ok(out)
}

fn outcome_status(o: Outcome) -> Status {
    match o {
        Outcome::Shortlisted => Status::Shortlisted,
        Outcome::Reserve => Status::Reserve,
        Outcome::Rejected => Status::Rejected,
    }
}

/// Writes the decisions, a chunk of 1,000 per transaction: status (only if still `scored`),
/// timeline, sift results and emails. Returns the ids of the emails to enqueue. `on_chunk` is
/// told how many decisions are written so far.
pub async fn apply(
    db: &Db,
    scheme: &str,
    job_id: &str,
    decisions: &[Decision],
    emails: &BTreeMap<String, NewNotification>,
    now: Timestamp,
    mut on_chunk: impl FnMut(usize),
) -> sqlx::Result<Vec<crate::domain::ids::NotificationId>> {
    let now_ms = to_ms(now);
    let mut queued = Vec::new();
    let mut done = 0;
    for chunk in decisions.chunks(1000) {
        // A transaction per chunk keeps write locks short (SQLite has one writer). Safe to stop
        // half-way: statuses move by compare-and-set from `scored`, and a re-run counts the
        // seats already taken, so it decides the rest exactly as the whole run would have.
        let mut tx = db.begin().await?;
        let mut moved: Vec<&Decision> = Vec::with_capacity(chunk.len());
        for outcome in [Outcome::Shortlisted, Outcome::Reserve, Outcome::Rejected] {
            let moves: Vec<Move<'_>> = chunk
                .iter()
                .filter(|d| d.outcome == outcome)
                .map(|d| Move { id: &d.id, note: Some(d.reason.to_owned()) })
                .collect();
            let changed =
                applications::move_many(&mut tx, "sift", Status::Scored, outcome_status(outcome), &moves, now).await?;
            moved.extend(chunk.iter().filter(|d| changed.contains(&d.id)));
        }
        if moved.is_empty() {
            tx.commit().await?;
            done += chunk.len();
            on_chunk(done);
            continue;
        }
        // results
        const C: usize = 9;
        let values: Vec<String> = (0..moved.len())
            .map(|i| format!("({})", (1..=C).map(|c| format!("${}", C * i + c)).collect::<Vec<_>>().join(", ")))
            .collect();
        let sql = format!(
            "INSERT INTO sift_results (application_id, scheme_id, job_id, stream_id, outcome, rank, guaranteed, reason, decided_at)
             VALUES {} ON CONFLICT (application_id) DO NOTHING",
            values.join(", ")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for d in &moved {
            q = q
                .bind(d.id.clone())
                .bind(scheme.to_owned())
                .bind(job_id.to_owned())
                .bind(d.stream.clone())
                .bind(outcome_status(d.outcome).as_str())
                .bind(d.rank.map(i64::from))
                .bind(i64::from(d.guaranteed))
                .bind(d.reason)
                .bind(now_ms);
        }
        q.execute(&mut *tx).await?;
        let mail: Vec<NewNotification> = moved.iter().filter_map(|d| emails.get(&d.id).cloned()).collect();
        notifications::insert_many(&mut tx, &mail, now).await?;
        tx.commit().await?;
        queued.extend(mail.iter().map(|n| n.id));
        done += chunk.len();
        on_chunk(done);
    }
    Ok(queued)
}

/// A recruiter's named decision that the Disability Confident guarantee does not apply.
pub async fn record_override(
    db: &Db,
    app: ApplicationId,
    decided_by: &str,
    reason: &str,
    actor: &str,
    now: Timestamp,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO dc_overrides (application_id, decided_by, reason, actor, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (application_id) DO UPDATE SET decided_by = $2, reason = $3, actor = $4, created_at = $5",
    )
    .bind(app.to_string())
    .bind(decided_by)
    .bind(reason)
    .bind(actor)
    .bind(to_ms(now))
    .execute(db.pool())
    .await?;
    Ok(())
}

/// What the call-up rule (`sift::reserves_to_call`) needs: per stream, the shortlisted and
/// called-up candidates still in the running (not lost before their centre: declined or
/// withdrawn without an AC result), and the reserves still waiting, best first.
pub async fn call_up_inputs(
    db: &Db,
    scheme: &str,
) -> sqlx::Result<(BTreeMap<String, u32>, Vec<(String, String)>, BTreeMap<String, ApplicantDetails>)> {
    let rows = sqlx::query(
        "SELECT r.stream_id, COUNT(*) AS n FROM sift_results r JOIN applications a ON a.id = r.application_id
         WHERE r.scheme_id = $1 AND r.outcome IN ('shortlisted', 'called_up')
           AND NOT (a.status IN ('declined', 'withdrawn')
                    AND NOT EXISTS (SELECT 1 FROM ac_results x WHERE x.application_id = a.id))
         GROUP BY r.stream_id",
    )
    .bind(scheme)
    .fetch_all(db.pool())
    .await?;
    let active: BTreeMap<String, u32> =
        rows.iter().map(|r| Ok((r.try_get("stream_id")?, super::int(r, "n")?))).collect::<sqlx::Result<_>>()?;
    let rows = sqlx::query(
        "SELECT a.id, r.stream_id, a.details FROM sift_results r JOIN applications a ON a.id = r.application_id
         WHERE r.scheme_id = $1 AND r.outcome = 'reserve' AND a.status = 'reserve'
         ORDER BY r.stream_id, r.rank, a.id",
    )
    .bind(scheme)
    .fetch_all(db.pool())
    .await?;
    let mut reserves = Vec::with_capacity(rows.len());
    let mut details = BTreeMap::new();
    for r in rows {
        let id: String = r.try_get("id")?;
        let d: String = r.try_get("details")?;
        details.insert(id.clone(), serde_json::from_str(&d).map_err(|e| sqlx::Error::Decode(Box::new(e)))?);
        reserves.push((id, r.try_get("stream_id")?));
    }
    Ok((active, reserves, details))
}

/// Calls up reserves (reserve → shortlisted, compare-and-set) with their timeline events and
/// emails, in one transaction; their sift result becomes `called_up`.
pub async fn call_up(
    db: &Db,
    called: &[(String, NewNotification)],
    now: Timestamp,
) -> sqlx::Result<Vec<crate::domain::ids::NotificationId>> {
    let mut tx = db.begin().await?;
    let moves: Vec<Move<'_>> =
        called.iter().map(|(id, _)| Move { id, note: Some("called up from the reserve list".into()) }).collect();
    let moved =
        applications::move_many(&mut tx, "scheduler", Status::Reserve, Status::Shortlisted, &moves, now).await?;
    let moved: Vec<&(String, NewNotification)> = called.iter().filter(|(id, _)| moved.contains(id)).collect();
    if !moved.is_empty() {
        let sql = format!(
            "UPDATE sift_results SET outcome = 'called_up' WHERE application_id IN ({})",
            super::params(1, moved.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (id, _) in &moved {
            q = q.bind(id.clone());
        }
        q.execute(&mut *tx).await?;
    }
    let mail: Vec<NewNotification> = moved.iter().map(|(_, e)| e.clone()).collect();
    notifications::insert_many(&mut tx, &mail, now).await?;
    let emails = mail.iter().map(|n| n.id).collect();
    tx.commit().await?;
    Ok(emails)
}
