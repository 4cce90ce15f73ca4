//! Assessors' scores and judgements, and the AC results they combine into.

use std::collections::BTreeMap;

use jiff::Timestamp;
use sqlx::{AssertSqlSafe, Row};

use super::{Db, params, to_ms, tuples};
use crate::domain::assessment::{AcResult, Judgement, Recorded, Scoresheet, combine};
use crate::domain::centres::{ExerciseKind, SessionDef};
use crate::domain::status::Status;

/// A candidate holding a seat in a session.
#[derive(Debug, Clone)]
pub struct Seated {
    pub application_id: String,
    pub name: String,
    pub status: String,
    /// invited (not yet answered) or accepted
    pub booking: String,
    pub centre_id: String,
    pub session_id: String,
}

/// The candidates holding a seat (invited or accepted) in a scheme, or in one of its sessions.
pub async fn seated(db: &Db, scheme: &str, session: Option<(&str, &str)>) -> sqlx::Result<Vec<Seated>> {
    let filter = if session.is_some() { " AND b.centre_id = $2 AND b.session_id = $3" } else { "" };
    let sql = format!(
        "SELECT b.application_id, b.centre_id, b.session_id, b.state, a.status, a.details FROM bookings b
         JOIN applications a ON a.id = b.application_id
         WHERE b.scheme_id = $1 AND b.state IN ('invited', 'accepted') AND a.status <> 'withdrawn'{filter}
         ORDER BY b.centre_id, b.session_id, b.application_id"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(scheme);
    if let Some((c, s)) = session {
        q = q.bind(c).bind(s);
    }
    q.fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            let details: String = r.try_get("details")?;
            let details: crate::domain::application::ApplicantDetails =
                serde_json::from_str(&details).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            Ok(Seated {
                application_id: r.try_get("application_id")?,
                name: details.name,
                status: r.try_get("status")?,
                booking: r.try_get("state")?,
                centre_id: r.try_get("centre_id")?,
                session_id: r.try_get("session_id")?,
            })
        })
        .collect()
}

/// Everything recorded for these candidates (two queries, whatever their number).
pub async fn recorded(db: &Db, ids: &[String]) -> sqlx::Result<BTreeMap<String, Recorded>> {
    let mut out: BTreeMap<String, Recorded> = BTreeMap::new();
    for chunk in ids.chunks(500) {
        let list = params(1, chunk.len());
        let mut q = sqlx::query(AssertSqlSafe(format!(
            "SELECT application_id, exercise, competency, assessor_id, score FROM ac_scores WHERE application_id IN ({list})"
        )));
        for id in chunk {
            q = q.bind(id.clone());
        }
        for r in q.fetch_all(db.pool()).await? {
            let exercise: String = r.try_get("exercise")?;
            let Some(kind) = ExerciseKind::parse(&exercise) else { continue };
            let score = super::int(&r, "score")?;
            out.entry(r.try_get("application_id")?)
                .or_default()
                .scores
                .insert((kind, r.try_get("competency")?, r.try_get("assessor_id")?), score);
        }
        let mut q = sqlx::query(AssertSqlSafe(format!(
            "SELECT application_id, assessor_id, appointable FROM ac_judgements WHERE application_id IN ({list})"
        )));
        for id in chunk {
            q = q.bind(id.clone());
        }
        for r in q.fetch_all(db.pool()).await? {
            let j = if r.try_get::<i64, _>("appointable")? != 0 { Judgement::Appointable } else { Judgement::NotYet };
            out.entry(r.try_get("application_id")?).or_default().judgements.insert(r.try_get("assessor_id")?, j);
        }
    }
    Ok(out)
}

#[derive(Debug)]
pub enum ScoreError {
    /// The candidate holds no accepted seat in this session; what they hold instead.
    NotInSession(String),
    Db(sqlx::Error),
}

impl From<sqlx::Error> for ScoreError {
    fn from(e: sqlx::Error) -> Self {
        ScoreError::Db(e)
    }
}

/// Records one assessor's scoresheet in one transaction: scores and judgement (a later value
/// from the same assessor replaces theirs), then the combined result; when the sheet becomes
/// complete the candidate moves `ac_booked` → `assessed` and the result is stored for offers.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    db: &Db,
    scheme: &str,
    centre: &str,
    session: &SessionDef,
    assessor: &str,
    sheet: &Scoresheet,
    actor: &str,
    now: Timestamp,
) -> Result<AcResult, ScoreError> {
    let app = sheet.application_id.to_string();
    let now_ms = to_ms(now);
    let mut tx = db.begin().await?;
    // Write first: this takes the application's row lock (PostgreSQL) or the database's write
    // lock (SQLite) before anything is read, so two assessors completing a sheet at once are
    // serialised and the second sees the first's scores.
    sqlx::query("UPDATE applications SET updated_at = $2 WHERE id = $1")
        .bind(&app)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    let seat = sqlx::query(
        "SELECT b.state, b.centre_id, b.session_id, a.status, a.first_stream FROM bookings b
         JOIN applications a ON a.id = b.application_id WHERE b.application_id = $1 AND b.scheme_id = $2",
    )
    .bind(&app)
    .bind(scheme)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(seat) = seat else { return Err(ScoreError::NotInSession("no seat in this scheme".into())) };
    let (state, c, s): (String, String, String) =
        (seat.try_get("state")?, seat.try_get("centre_id")?, seat.try_get("session_id")?);
    if c != centre || s != session.id {
        return Err(ScoreError::NotInSession("a seat in another session".into()));
    }
    if state != "accepted" {
        return Err(ScoreError::NotInSession(format!("a seat that is {state}, not accepted")));
    }
    let status: String = seat.try_get("status")?;
    if status != Status::AcBooked.as_str() && status != Status::Assessed.as_str() {
        return Err(ScoreError::NotInSession(format!("an application that is {status}")));
    }
    let stream: String = seat.try_get("first_stream")?;
    if !sheet.scores.is_empty() {
        let mut q = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO ac_scores (application_id, exercise, competency, assessor_id, score, recorded_at) VALUES {}
             ON CONFLICT (application_id, exercise, competency, assessor_id)
             DO UPDATE SET score = excluded.score, recorded_at = excluded.recorded_at",
            tuples(sheet.scores.len(), 6)
        )));
        for (kind, competency, score) in &sheet.scores {
            q = q
                .bind(app.clone())
                .bind(kind.as_str())
                .bind(competency.clone())
                .bind(assessor.to_owned())
                .bind(i64::from(*score))
                .bind(now_ms);
        }
        q.execute(&mut *tx).await?;
    }
    if let Some(j) = sheet.overall {
        sqlx::query(
            "INSERT INTO ac_judgements (application_id, assessor_id, appointable, recorded_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (application_id, assessor_id) DO UPDATE SET appointable = excluded.appointable,
               recorded_at = excluded.recorded_at",
        )
        .bind(&app)
        .bind(assessor)
        .bind(i64::from(j == Judgement::Appointable))
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    }
    // Read back inside the (locked) transaction: everything any assessor has recorded.
    let mut rec = Recorded::default();
    for r in sqlx::query("SELECT exercise, competency, assessor_id, score FROM ac_scores WHERE application_id = $1")
        .bind(&app)
        .fetch_all(&mut *tx)
        .await?
    {
        let Some(kind) = ExerciseKind::parse(&r.try_get::<String, _>("exercise")?) else { continue };
        rec.scores.insert((kind, r.try_get("competency")?, r.try_get("assessor_id")?), super::int(&r, "score")?);
    }
    for r in sqlx::query("SELECT assessor_id, appointable FROM ac_judgements WHERE application_id = $1")
        .bind(&app)
        .fetch_all(&mut *tx)
        .await?
    {
        let j = if r.try_get::<i64, _>("appointable")? != 0 { Judgement::Appointable } else { Judgement::NotYet };
        rec.judgements.insert(r.try_get("assessor_id")?, j);
    }
    let result = combine(session, &rec);
    if let (true, Some(score), Some(appointable)) = (result.complete, result.score, result.appointable) {
        if status == Status::AcBooked.as_str()
            && !super::applications::move_in_tx(
                &mut tx,
                &sheet.application_id.to_string(),
                Status::AcBooked,
                Status::Assessed,
                actor,
                None,
                now,
            )
            .await?
        {
            return Err(ScoreError::NotInSession("an application that changed meanwhile".into()));
        }
        sqlx::query(
            "INSERT INTO ac_results (application_id, scheme_id, stream_id, score, appointable, computed_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (application_id) DO UPDATE SET score = excluded.score, appointable = excluded.appointable,
               computed_at = excluded.computed_at",
        )
        .bind(&app)
        .bind(scheme)
        .bind(&stream)
        .bind(score)
        .bind(i64::from(appointable))
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(result)
}

/// Per stream: (assessed, rated appointable).
pub async fn appointable_counts(db: &Db, scheme: &str) -> sqlx::Result<BTreeMap<String, (u64, u64)>> {
    let rows = sqlx::query(
        "SELECT stream_id, COUNT(*) AS n, CAST(COALESCE(SUM(appointable), 0) AS BIGINT) AS yes FROM ac_results
         WHERE scheme_id = $1 GROUP BY stream_id",
    )
    .bind(scheme)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("stream_id")?,
                (r.try_get::<i64, _>("n")?.max(0) as u64, r.try_get::<i64, _>("yes")?.max(0) as u64),
            ))
        })
        .collect()
}
