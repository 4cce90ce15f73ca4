//! Assessment-centre bookings and the waiting list.

use std::collections::BTreeMap;

use jiff::Timestamp;
use sqlx::{AssertSqlSafe, Row};

use super::notifications::{self, NewNotification};
use super::{Db, to_ms};
use crate::domain::application::ApplicantDetails;

/// A shortlisted candidate not yet holding a seat.
pub struct Unbooked {
    pub id: String,
    pub details: ApplicantDetails,
}

pub async fn unbooked(db: &Db, scheme: &str) -> sqlx::Result<Vec<Unbooked>> {
    let rows = sqlx::query(
        "SELECT a.id, a.details FROM applications a
         WHERE a.scheme_id = $1 AND a.status = 'shortlisted'
           AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.application_id = a.id AND b.state IN ('invited', 'accepted'))",
    )
    .bind(scheme)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let d: String = r.try_get("details")?;
            Ok(Unbooked {
                id: r.try_get("id")?,
                details: serde_json::from_str(&d).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            })
        })
        .collect()
}

/// Seats taken per (centre, session).
pub async fn taken(db: &Db, scheme: &str) -> sqlx::Result<BTreeMap<(String, String), u32>> {
    let rows = sqlx::query(
        "SELECT centre_id, session_id, COUNT(*) AS n FROM bookings
         WHERE scheme_id = $1 AND state IN ('invited', 'accepted') GROUP BY centre_id, session_id",
    )
    .bind(scheme)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                (r.try_get("centre_id")?, r.try_get("session_id")?),
                u32::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0),
            ))
        })
        .collect()
}

pub struct NewBooking {
    pub application_id: String,
    pub centre_id: String,
    pub session_id: String,
    pub uid: String,
    pub starts_at: Timestamp,
    pub email: NewNotification,
}

/// Books each candidate (moving shortlisted → ac_invited by compare-and-set, with its timeline
/// event and invitation email) and records the waiting list, in one transaction. Returns the
/// emails to enqueue.
pub async fn record(
    db: &Db,
    scheme: &str,
    job: &str,
    booked: &[NewBooking],
    waiting: &[(String, String)],
    now: Timestamp,
) -> sqlx::Result<Vec<crate::domain::ids::NotificationId>> {
    let now_ms = to_ms(now);
    let mut tx = db.pool().begin().await?;
    let mut emails = Vec::new();
    for b in booked {
        let moved = sqlx::query(
            "UPDATE applications SET status = 'ac_invited', updated_at = $2 WHERE id = $1 AND status = 'shortlisted'",
        )
        .bind(&b.application_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            continue; // withdrawn meanwhile
        }
        sqlx::query(AssertSqlSafe(
            "INSERT INTO application_events (application_id, from_status, to_status, actor, note, at)
             VALUES ($1, 'shortlisted', 'ac_invited', 'scheduler', NULL, $2)",
        ))
        .bind(&b.application_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO bookings (application_id, scheme_id, centre_id, session_id, state, uid, sequence, job_id, created_at,
               updated_at, starts_at, reminded)
             VALUES ($1, $2, $3, $4, 'invited', $5, 0, $6, $7, $7, $8, 0)
             ON CONFLICT (application_id) DO UPDATE SET centre_id = $3, session_id = $4, state = 'invited',
               sequence = bookings.sequence + 1, job_id = $6, updated_at = $7, starts_at = $8, reminded = 0",
        )
        .bind(&b.application_id)
        .bind(scheme)
        .bind(&b.centre_id)
        .bind(&b.session_id)
        .bind(&b.uid)
        .bind(job)
        .bind(now_ms)
        .bind(to_ms(b.starts_at))
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM ac_waiting_list WHERE application_id = $1")
            .bind(&b.application_id)
            .execute(&mut *tx)
            .await?;
        if notifications::insert(&mut tx, &b.email, now).await? {
            emails.push(b.email.id);
        }
    }
    for (id, reason) in waiting {
        sqlx::query(
            "INSERT INTO ac_waiting_list (application_id, scheme_id, reason, job_id, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (application_id) DO UPDATE SET reason = $3, job_id = $4",
        )
        .bind(id)
        .bind(scheme)
        .bind(reason)
        .bind(job)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(emails)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Booking {
    pub centre_id: String,
    pub session_id: String,
    pub state: String,
    pub uid: String,
    pub sequence: i64,
}

pub async fn get(db: &Db, application: &str) -> sqlx::Result<Option<Booking>> {
    let row = sqlx::query("SELECT centre_id, session_id, state, uid, sequence FROM bookings WHERE application_id = $1")
        .bind(application)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| {
        Ok(Booking {
            centre_id: r.try_get("centre_id")?,
            session_id: r.try_get("session_id")?,
            state: r.try_get("state")?,
            uid: r.try_get("uid")?,
            sequence: r.try_get("sequence")?,
        })
    })
    .transpose()
}

pub async fn waiting_reason(db: &Db, application: &str) -> sqlx::Result<Option<String>> {
    let row = sqlx::query("SELECT reason FROM ac_waiting_list WHERE application_id = $1")
        .bind(application)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| r.try_get("reason")).transpose()
}

#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    Done,
    NoBooking,
    /// The booking is not awaiting an answer; its state.
    NotInvited(String),
}

/// The candidate accepts (→ ac_booked) or declines (→ declined) the seat offered, with the
/// timeline event, in one transaction; both changes are compare-and-set.
pub async fn answer(db: &Db, application: &str, accept: bool, now: Timestamp) -> sqlx::Result<Answer> {
    let now_ms = to_ms(now);
    let (booking_state, to) = if accept { ("accepted", "ac_booked") } else { ("declined", "declined") };
    let mut tx = db.pool().begin().await?;
    let changed = sqlx::query(
        "UPDATE bookings SET state = $2, sequence = sequence + 1, updated_at = $3 WHERE application_id = $1 AND state = 'invited'",
    )
    .bind(application)
    .bind(booking_state)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        drop(tx);
        return Ok(match get(db, application).await? {
            None => Answer::NoBooking,
            Some(b) => Answer::NotInvited(b.state),
        });
    }
    let moved =
        sqlx::query("UPDATE applications SET status = $2, updated_at = $3 WHERE id = $1 AND status = 'ac_invited'")
            .bind(application)
            .bind(to)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if moved == 0 {
        return Ok(Answer::NotInvited("the application is no longer invited".into()));
    }
    sqlx::query(
        "INSERT INTO application_events (application_id, from_status, to_status, actor, note, at)
         VALUES ($1, 'ac_invited', $2, 'applicant', NULL, $3)",
    )
    .bind(application)
    .bind(to)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Answer::Done)
}

/// A booking whose session starts within the reminder window.
pub struct Due {
    pub application_id: String,
    pub centre_id: String,
    pub session_id: String,
    pub starts_at: Timestamp,
    pub details: ApplicantDetails,
    pub scheme_id: String,
}

/// Takes the bookings (invited or accepted) whose session starts within `window` and whose
/// reminder has not gone, marking them reminded (set-based, one statement).
pub async fn take_due_reminders(db: &Db, now: Timestamp, window: std::time::Duration) -> sqlx::Result<Vec<Due>> {
    let now_ms = to_ms(now);
    let rows = sqlx::query(
        "UPDATE bookings SET reminded = 1 WHERE state IN ('invited', 'accepted') AND reminded = 0
           AND starts_at > $1 AND starts_at <= $2
         RETURNING application_id, centre_id, session_id, starts_at, scheme_id",
    )
    .bind(now_ms)
    .bind(now_ms + window.as_millis() as i64)
    .fetch_all(db.pool())
    .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // The applicants' details in one query, not one per booking.
    let ids: Vec<String> = rows.iter().map(|r| r.try_get("application_id")).collect::<sqlx::Result<_>>()?;
    let params: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let mut q =
        sqlx::query(AssertSqlSafe(format!("SELECT id, details FROM applications WHERE id IN ({})", params.join(", "))));
    for id in &ids {
        q = q.bind(id.clone());
    }
    let mut details: BTreeMap<String, ApplicantDetails> = BTreeMap::new();
    for r in q.fetch_all(db.pool()).await? {
        let text: String = r.try_get("details")?;
        details.insert(r.try_get("id")?, serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))?);
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let app: String = r.try_get("application_id")?;
        let Some(d) = details.remove(&app) else { continue };
        out.push(Due {
            application_id: app,
            centre_id: r.try_get("centre_id")?,
            session_id: r.try_get("session_id")?,
            starts_at: super::from_ms(r.try_get("starts_at")?),
            details: d,
            scheme_id: r.try_get("scheme_id")?,
        });
    }
    Ok(out)
}

/// Queues reminder emails (one per occasion, by their idempotency keys).
pub async fn queue_reminders(db: &Db, emails: &[NewNotification], now: Timestamp) -> sqlx::Result<()> {
    let mut tx = db.pool().begin().await?;
    notifications::insert_many(&mut tx, emails, now).await?;
    tx.commit().await
}
