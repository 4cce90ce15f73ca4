//! Assessment-centre bookings and the waiting list.

use std::collections::BTreeMap;

use jiff::Timestamp;
use sqlx::{AssertSqlSafe, Row};

use super::applications::{self, Move};
use super::notifications::{self, NewNotification};
use super::{Db, params, to_ms, tuples};
use crate::domain::application::ApplicantDetails;
use crate::domain::centres::BookingState;
use crate::domain::ids::ApplicationId;
use crate::domain::status::Status;

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

/// Seats taken per (centre, session): held by a booking invited or accepted whose candidate
/// has not withdrawn.
pub async fn taken(db: &Db, scheme: &str) -> sqlx::Result<BTreeMap<(String, String), u32>> {
    let rows = sqlx::query(
        "SELECT b.centre_id, b.session_id, COUNT(*) AS n FROM bookings b JOIN applications a ON a.id = b.application_id
         WHERE b.scheme_id = $1 AND b.state IN ('invited', 'accepted') AND a.status <> 'withdrawn'
         GROUP BY b.centre_id, b.session_id",
    )
    .bind(scheme)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(|r| Ok(((r.try_get("centre_id")?, r.try_get("session_id")?), super::int(r, "n")?))).collect()
}

pub struct NewBooking {
    pub application_id: String,
    pub centre_id: String,
    pub session_id: String,
    pub uid: String,
    pub starts_at: Timestamp,
    pub email: NewNotification,
}

/// Books the candidates (moving shortlisted → ac_invited by compare-and-set, with timeline
/// events and invitation emails) and records the waiting list: multi-row statements, a
/// transaction per 500 candidates, so 10,000 bookings are a few dozen statements. Safe to stop
/// half-way: a re-run books only those still shortlisted without a seat. Returns the emails
/// to enqueue.
pub async fn record(
    db: &Db,
    scheme: &str,
    job: &str,
    booked: &[NewBooking],
    waiting: &[(String, String)],
    now: Timestamp,
) -> sqlx::Result<Vec<crate::domain::ids::NotificationId>> {
    let now_ms = to_ms(now);
    let mut emails = Vec::new();
    for chunk in booked.chunks(500) {
        let mut tx = db.begin().await?;
        let moves: Vec<Move<'_>> = chunk.iter().map(|b| Move { id: &b.application_id, note: None }).collect();
        let moved =
            applications::move_many(&mut tx, "scheduler", Status::Shortlisted, Status::AcInvited, &moves, now).await?;
        // Those withdrawn meanwhile are left out.
        let rows: Vec<&NewBooking> = chunk.iter().filter(|b| moved.contains(&b.application_id)).collect();
        if rows.is_empty() {
            tx.commit().await?;
            continue;
        }
        let mut q = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO bookings (application_id, scheme_id, centre_id, session_id, state, uid, sequence, job_id,
               created_at, updated_at, starts_at, reminded) VALUES {}
             ON CONFLICT (application_id) DO UPDATE SET centre_id = excluded.centre_id, session_id = excluded.session_id,
               state = 'invited', sequence = bookings.sequence + 1, job_id = excluded.job_id,
               updated_at = excluded.updated_at, starts_at = excluded.starts_at, reminded = 0",
            tuples(rows.len(), 12)
        )));
        for b in &rows {
            q = q
                .bind(b.application_id.clone())
                .bind(scheme.to_owned())
                .bind(b.centre_id.clone())
                .bind(b.session_id.clone())
                .bind("invited")
                .bind(b.uid.clone())
                .bind(0_i64)
                .bind(job.to_owned())
                .bind(now_ms)
                .bind(now_ms)
                .bind(to_ms(b.starts_at))
                .bind(0_i64);
        }
        q.execute(&mut *tx).await?;
        let mut q = sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM ac_waiting_list WHERE application_id IN ({})",
            params(1, rows.len())
        )));
        for b in &rows {
            q = q.bind(b.application_id.clone());
        }
        q.execute(&mut *tx).await?;
        let mail: Vec<NewNotification> = rows.iter().map(|b| b.email.clone()).collect();
        notifications::insert_many(&mut tx, &mail, now).await?;
        tx.commit().await?;
        emails.extend(mail.iter().map(|n| n.id));
    }
    for chunk in waiting.chunks(500) {
        let mut q = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO ac_waiting_list (application_id, scheme_id, reason, job_id, created_at) VALUES {}
             ON CONFLICT (application_id) DO UPDATE SET reason = excluded.reason, job_id = excluded.job_id",
            tuples(chunk.len(), 5)
        )));
        for (id, reason) in chunk {
            q = q.bind(id.clone()).bind(scheme.to_owned()).bind(reason.clone()).bind(job.to_owned()).bind(now_ms);
        }
        q.execute(db.pool()).await?;
    }
    Ok(emails)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Booking {
    pub centre_id: String,
    pub session_id: String,
    pub state: BookingState,
    pub uid: String,
    pub sequence: i64,
    /// The candidate asked for another session and waits for one.
    pub rebook: bool,
    pub starts_at: Option<Timestamp>,
}

pub async fn get(db: &Db, id: ApplicationId) -> sqlx::Result<Option<Booking>> {
    let application = id.to_string();
    let application = application.as_str();
    let row = sqlx::query(
        "SELECT centre_id, session_id, state, uid, sequence, rebook, starts_at FROM bookings WHERE application_id = $1",
    )
    .bind(application)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| {
        Ok(Booking {
            centre_id: r.try_get("centre_id")?,
            session_id: r.try_get("session_id")?,
            state: super::enum_column(&r, "state", BookingState::parse)?,
            uid: r.try_get("uid")?,
            sequence: r.try_get("sequence")?,
            rebook: r.try_get::<i64, _>("rebook")? != 0,
            starts_at: r.try_get::<Option<i64>, _>("starts_at")?.map(super::from_ms).transpose()?,
        })
    })
    .transpose()
}

pub async fn waiting_reason(db: &Db, id: ApplicationId) -> sqlx::Result<Option<String>> {
    let application = id.to_string();
    let application = application.as_str();
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
pub async fn answer(db: &Db, id: ApplicationId, accept: bool, now: Timestamp) -> sqlx::Result<Answer> {
    let application = id.to_string();
    let application = application.as_str();
    let now_ms = to_ms(now);
    let (booking_state, to) = if accept { ("accepted", Status::AcBooked) } else { ("declined", Status::Declined) };
    let mut tx = db.begin().await?;
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
        return Ok(match get(db, id).await? {
            None => Answer::NoBooking,
            Some(b) => Answer::NotInvited(b.state.to_string()),
        });
    }
    if !applications::move_in_tx(&mut tx, application, Status::AcInvited, to, "applicant", None, now).await? {
        return Ok(Answer::NotInvited("the application is no longer invited".into()));
    }
    tx.commit().await?;
    Ok(Answer::Done)
}

/// A booking whose session starts within the reminder window.
pub struct Due {
    pub application_id: String,
    /// The booking's SEQUENCE (part of the reminder's occasion).
    pub sequence: i64,
    pub centre_id: String,
    pub session_id: String,
    pub starts_at: Timestamp,
    pub details: ApplicantDetails,
    pub scheme_id: String,
}

/// The bookings (invited or accepted) whose session starts within `window` and whose reminder
/// has not gone, with the session they hold now. Nothing is marked: `mark_reminded` does that
/// together with the emails, so a failure in between loses no reminder.
pub async fn due_reminders(db: &Db, now: Timestamp, window: std::time::Duration) -> sqlx::Result<Vec<Due>> {
    let now_ms = to_ms(now);
    let rows = sqlx::query(
        "SELECT b.application_id, b.centre_id, b.session_id, b.starts_at, b.scheme_id, b.sequence, a.details
         FROM bookings b JOIN applications a ON a.id = b.application_id
         WHERE b.state IN ('invited', 'accepted') AND b.reminded = 0 AND b.starts_at > $1 AND b.starts_at <= $2
           AND a.status IN ('ac_invited', 'ac_booked')
         ORDER BY b.application_id",
    )
    .bind(now_ms)
    .bind(now_ms + window.as_millis() as i64)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let text: String = r.try_get("details")?;
            Ok(Due {
                application_id: r.try_get("application_id")?,
                sequence: r.try_get("sequence")?,
                centre_id: r.try_get("centre_id")?,
                session_id: r.try_get("session_id")?,
                starts_at: super::from_ms(r.try_get("starts_at")?)?,
                details: serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                scheme_id: r.try_get("scheme_id")?,
            })
        })
        .collect()
}

/// Marks each booking reminded and writes its reminder email, in one transaction. A booking
/// is marked only while it still holds the session the email names (its SEQUENCE unchanged),
/// so a candidate moved meanwhile is reminded of the new session on the next pass. Returns
/// the emails written.
pub async fn mark_reminded(
    db: &Db,
    reminders: &[(&Due, NewNotification)],
    now: Timestamp,
) -> sqlx::Result<Vec<crate::domain::ids::NotificationId>> {
    let mut tx = db.begin().await?;
    let mut written = Vec::with_capacity(reminders.len());
    for (due, email) in reminders {
        let marked = sqlx::query(
            "UPDATE bookings SET reminded = 1 WHERE application_id = $1 AND sequence = $2 AND reminded = 0
               AND state IN ('invited', 'accepted')",
        )
        .bind(&due.application_id)
        .bind(due.sequence)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if marked == 1 && notifications::insert(&mut tx, email, now).await? {
            written.push(email.id);
        }
    }
    tx.commit().await?;
    Ok(written)
}

/// Whether a booking (table or alias `b`) may move to another session, as SQL: the rule,
/// written once. The seat is offered or accepted, its session has not started (at `now`, a
/// placeholder), the application is at the assessment-centre stage, and nobody has scored it.
fn movable(b: &str, now: &str) -> String {
    format!(
        "{b}.state IN ('invited', 'accepted') AND ({b}.starts_at IS NULL OR {b}.starts_at > {now})
         AND EXISTS (SELECT 1 FROM applications ap WHERE ap.id = {b}.application_id
                     AND ap.status IN ('ac_invited', 'ac_booked'))
         AND NOT EXISTS (SELECT 1 FROM ac_scores x WHERE x.application_id = {b}.application_id)"
    )
}

/// The candidate asks for another session: the booking (invited or accepted) is marked and
/// kept until the scheduler finds a seat elsewhere.
pub async fn request_rebook(db: &Db, id: ApplicationId, now: Timestamp) -> sqlx::Result<Answer> {
    let application = id.to_string();
    let application = application.as_str();
    let changed = sqlx::query(AssertSqlSafe(format!(
        "UPDATE bookings SET rebook = 1, updated_at = $2 WHERE application_id = $1 AND {}",
        movable("bookings", "$2")
    )))
    .bind(application)
    .bind(to_ms(now))
    .execute(db.pool())
    .await?
    .rows_affected();
    if changed == 1 {
        return Ok(Answer::Done);
    }
    Ok(match get(db, id).await? {
        None => Answer::NoBooking,
        Some(b) if b.state.holds_seat() => {
            Answer::NotInvited(format!("{}, and its session has started or been scored", b.state))
        }
        Some(b) => Answer::NotInvited(b.state.to_string()),
    })
}

/// A withdrawn candidate's seat is cancelled (SEQUENCE + 1), so it is neither reminded nor
/// listed, and the seat is free.
pub async fn cancel(db: &Db, id: ApplicationId, now: Timestamp) -> sqlx::Result<bool> {
    let application = id.to_string();
    let application = application.as_str();
    let mut tx = db.begin().await?;
    let n = sqlx::query(
        "UPDATE bookings SET state = 'cancelled', sequence = sequence + 1, rebook = 0, updated_at = $2
         WHERE application_id = $1 AND state IN ('invited', 'accepted')",
    )
    .bind(application)
    .bind(to_ms(now))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    notifications::cancel_pending(&mut tx, application, "ac_reminder", now).await?;
    tx.commit().await?;
    Ok(n == 1)
}

/// A candidate waiting to move to another session.
pub struct Rebooker {
    pub id: String,
    pub details: ApplicantDetails,
    pub centre_id: String,
    pub session_id: String,
    pub uid: String,
    pub sequence: i64,
}

/// Those waiting to move whose session has not started and who have no scores: a request
/// left pending when the session came is void (they attended, or missed it).
pub async fn rebookers(db: &Db, scheme: &str, now: Timestamp) -> sqlx::Result<Vec<Rebooker>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT b.application_id, b.centre_id, b.session_id, b.uid, b.sequence, a.details FROM bookings b
         JOIN applications a ON a.id = b.application_id
         WHERE b.scheme_id = $1 AND b.rebook = 1 AND {}
         ORDER BY b.application_id",
        movable("b", "$2")
    )))
    .bind(scheme)
    .bind(to_ms(now))
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let d: String = r.try_get("details")?;
            Ok(Rebooker {
                id: r.try_get("application_id")?,
                details: serde_json::from_str(&d).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                centre_id: r.try_get("centre_id")?,
                session_id: r.try_get("session_id")?,
                uid: r.try_get("uid")?,
                sequence: r.try_get("sequence")?,
            })
        })
        .collect()
}

/// Moves rebooking candidates to their new sessions in one transaction: the booking takes the
/// new session, `invited` again, SEQUENCE + 1 (compare-and-set on the sequence read, so a
/// concurrent change wins); an accepted seat becomes an invitation to accept again
/// (ac_booked → ac_invited, with its timeline event); the updated invitation is queued.
pub async fn move_bookings(
    db: &Db,
    job: &str,
    moves: &[(NewBooking, i64)],
    now: Timestamp,
) -> sqlx::Result<Vec<crate::domain::ids::NotificationId>> {
    let now_ms = to_ms(now);
    let mut tx = db.begin().await?;
    let mut emails = Vec::new();
    for (b, sequence) in moves {
        let moved = sqlx::query(AssertSqlSafe(format!(
            "UPDATE bookings SET centre_id = $2, session_id = $3, state = 'invited', sequence = sequence + 1,
               rebook = 0, job_id = $4, updated_at = $5, starts_at = $6, reminded = 0
             WHERE application_id = $1 AND rebook = 1 AND sequence = $7 AND {}",
            movable("bookings", "$5")
        )))
        .bind(&b.application_id)
        .bind(&b.centre_id)
        .bind(&b.session_id)
        .bind(job)
        .bind(now_ms)
        .bind(to_ms(b.starts_at))
        .bind(sequence)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            continue;
        }
        // An accepted seat becomes an invitation to accept the new one.
        applications::move_in_tx(
            &mut tx,
            &b.application_id,
            Status::AcBooked,
            Status::AcInvited,
            "scheduler",
            Some("moved to another session at their request"),
            now,
        )
        .await?;
        // A reminder of the session left, not yet sent, would send them to the wrong place.
        notifications::cancel_pending(&mut tx, &b.application_id, "ac_reminder", now).await?;
        if notifications::insert(&mut tx, &b.email, now).await? {
            emails.push(b.email.id);
        }
    }
    tx.commit().await?;
    Ok(emails)
}
