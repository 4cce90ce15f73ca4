//! Applications: submission (one transaction: application, preferences,
//! equality answers, first timeline event, applicant token, confirmation email
//! and Idempotency-Key record), reading with the timeline, and state changes.

use jiff::Timestamp;
use sqlx::{Any, AssertSqlSafe, Row};

use super::notifications::{self, NewNotification};
use super::{Db, from_ms, is_unique_violation, to_ms};
use crate::domain::application::{ApplicantDetails, ApplicationForm};
use crate::domain::ids::{ApplicationId, SchemeId, TokenId};
use crate::domain::status::Status;

/// A stored Idempotency-Key outcome: what was asked (hash) and what was answered.
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyRecord {
    pub scope: String,
    pub key_hash: String,
    pub request_hash: String,
    pub status: u16,
    pub response: String,
}

/// What happens right after submission: invited to the tests, found ineligible, or (a scheme
/// without tests) left submitted for the sift.
pub struct Screening<'a> {
    pub outcome: Status,
    pub note: Option<String>,
    pub tests: Vec<&'a str>,
    pub email: Option<NewNotification>,
}

pub struct NewApplication<'a> {
    pub id: ApplicationId,
    pub scheme_id: &'a SchemeId,
    pub screening: Screening<'a>,
    pub form: &'a ApplicationForm,
    pub token_id: TokenId,
    pub token_hash: &'a str,
    pub confirmation: NewNotification,
    pub idempotency: Option<IdempotencyRecord>,
    pub now: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("an application with this email already exists for this scheme")]
    DuplicateEmail,
    /// Another request with the same Idempotency-Key committed first.
    #[error("the idempotency key was used by another request")]
    IdempotencyKeyTaken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub async fn submit(db: &Db, new: NewApplication<'_>) -> Result<(), SubmitError> {
    let now = to_ms(new.now);
    let id = new.id.to_string();
    let mut tx = db.pool().begin().await?;

    // First, so that a concurrent request with the same key waits here for this one to finish.
    if let Some(idem) = &new.idempotency {
        let r = sqlx::query(
            "INSERT INTO idempotency_keys (scope, key_hash, request_hash, status, response, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&idem.scope)
        .bind(&idem.key_hash)
        .bind(&idem.request_hash)
        .bind(i64::from(idem.status))
        .bind(&idem.response)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match r {
            Err(e) if is_unique_violation(&e, "idempotency_keys") => {
                return Err(SubmitError::IdempotencyKeyTaken);
            }
            other => other?,
        };
    }

    let details = serde_json::to_string(&new.form.details()).expect("details always serialise");
    let r = sqlx::query(
        "INSERT INTO applications (id, scheme_id, email_norm, status, details, first_stream, disability_confident,
         degree_class, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(&id)
    .bind(new.scheme_id.as_str())
    .bind(new.form.email.normalised())
    // The status after screening: both steps are in the timeline below.
    .bind(new.screening.outcome.as_str())
    .bind(details)
    .bind(new.form.stream_preferences[0].as_str())
    .bind(i64::from(new.form.disability_confident))
    .bind(new.form.degree.class.code())
    .bind(now)
    .execute(&mut *tx)
    .await;
    match r {
        Err(e) if is_unique_violation(&e, "applications") => {
            return Err(SubmitError::DuplicateEmail);
        }
        other => other?,
    };

    // Multi-row inserts with numbered placeholders ($n works on both backends; sqlx's
    // QueryBuilder would emit the Any driver's `?`, which PostgreSQL refuses).
    let prefs = &new.form.stream_preferences;
    let rows: Vec<String> =
        (0..prefs.len()).map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3)).collect();
    let sql =
        format!("INSERT INTO application_preferences (application_id, rank, stream_id) VALUES {}", rows.join(", "));
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for (rank, stream) in prefs.iter().enumerate() {
        q = q.bind(id.clone()).bind(rank as i64 + 1).bind(stream.as_str().to_owned());
    }
    q.execute(&mut *tx).await?;

    if let Some(eq) = &new.form.equality {
        // Column names come from the closed list of questions, never from the request.
        let answers: Vec<(&str, &str)> = eq.iter().collect();
        let columns: String = answers.iter().map(|(k, _)| format!(", {k}")).collect();
        let params: String = (0..answers.len()).map(|i| format!(", ${}", i + 4)).collect();
        let sql = format!(
            "INSERT INTO equality_answers (application_id, scheme_id, created_at{columns}) VALUES ($1, $2, $3{params})"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(id.clone()).bind(new.scheme_id.as_str().to_owned()).bind(now);
        for (_, answer) in answers {
            q = q.bind(answer.to_owned());
        }
        q.execute(&mut *tx).await?;
    }

    let screened = new.screening.outcome != Status::Submitted;
    let events = if screened {
        "INSERT INTO application_events (application_id, from_status, to_status, actor, note, at)
         VALUES ($1, NULL, 'submitted', 'applicant', NULL, $2), ($1, 'submitted', $3, 'system', $4, $2)"
    } else {
        "INSERT INTO application_events (application_id, from_status, to_status, actor, note, at)
         VALUES ($1, NULL, 'submitted', 'applicant', NULL, $2)"
    };
    let mut q = sqlx::query(events).bind(&id).bind(now);
    if screened {
        q = q.bind(new.screening.outcome.as_str()).bind(new.screening.note.as_deref());
    }
    q.execute(&mut *tx).await?;

    sqlx::query(
        "INSERT INTO tokens (id, token_hash, role, name, application_id, created_at) VALUES ($1, $2, 'applicant', $3, $4, $5)",
    )
    .bind(new.token_id.to_string())
    .bind(new.token_hash)
    .bind(format!("applicant {id}"))
    .bind(&id)
    .bind(now)
    .execute(&mut *tx)
    .await?;

    let emails: Vec<NewNotification> =
        std::iter::once(new.confirmation.clone()).chain(new.screening.email.iter().cloned()).collect();
    notifications::insert_many(&mut tx, &emails, new.now).await?;

    let tests = &new.screening.tests;
    if !tests.is_empty() {
        let rows: Vec<String> = (0..tests.len()).map(|i| format!("($1, ${})", i + 2)).collect();
        let sql = format!("INSERT INTO test_attempts (application_id, test_id) VALUES {}", rows.join(", "));
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(id.clone());
        for t in tests {
            q = q.bind(*t);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn find_idempotency(db: &Db, scope: &str, key_hash: &str) -> sqlx::Result<Option<IdempotencyRecord>> {
    let row =
        sqlx::query("SELECT request_hash, status, response FROM idempotency_keys WHERE scope = $1 AND key_hash = $2")
            .bind(scope)
            .bind(key_hash)
            .fetch_optional(db.pool())
            .await?;
    row.map(|r| {
        Ok(IdempotencyRecord {
            scope: scope.to_owned(),
            key_hash: key_hash.to_owned(),
            request_hash: r.try_get("request_hash")?,
            status: u16::try_from(r.try_get::<i64, _>("status")?).unwrap_or(500),
            response: r.try_get("response")?,
        })
    })
    .transpose()
}

async fn insert_event(
    tx: &mut sqlx::Transaction<'_, Any>,
    id: &str,
    from: Option<Status>,
    to: Status,
    actor: &str,
    note: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO application_events (application_id, from_status, to_status, actor, note, at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(from.map(Status::as_str))
    .bind(to.as_str())
    .bind(actor)
    .bind(note)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApplicationRecord {
    pub id: ApplicationId,
    pub scheme_id: String,
    pub status: Status,
    pub details: ApplicantDetails,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub from: Option<Status>,
    pub to: Status,
    pub actor: String,
    pub note: Option<String>,
    pub at: Timestamp,
}

fn decode_err(what: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected {what} in the database").into())
}

pub async fn get(db: &Db, id: ApplicationId) -> sqlx::Result<Option<ApplicationRecord>> {
    let row = sqlx::query("SELECT scheme_id, status, details, created_at, updated_at FROM applications WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(db.pool())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let status: String = row.try_get("status")?;
    let details: String = row.try_get("details")?;
    Ok(Some(ApplicationRecord {
        id,
        scheme_id: row.try_get("scheme_id")?,
        status: Status::parse(&status).ok_or_else(|| decode_err("status"))?,
        details: serde_json::from_str(&details).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        created_at: from_ms(row.try_get("created_at")?),
        updated_at: from_ms(row.try_get("updated_at")?),
    }))
}

pub async fn timeline(db: &Db, id: ApplicationId) -> sqlx::Result<Vec<Event>> {
    let rows = sqlx::query(
        "SELECT from_status, to_status, actor, note, at FROM application_events WHERE application_id = $1 ORDER BY id",
    )
    .bind(id.to_string())
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let from: Option<String> = r.try_get("from_status")?;
            let to: String = r.try_get("to_status")?;
            Ok(Event {
                from: from.map(|f| Status::parse(&f).ok_or_else(|| decode_err("status"))).transpose()?,
                to: Status::parse(&to).ok_or_else(|| decode_err("status"))?,
                actor: r.try_get("actor")?,
                note: r.try_get("note")?,
                at: from_ms(r.try_get("at")?),
            })
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    #[error("no such application")]
    NotFound,
    #[error("an application that is {from} cannot become {to}")]
    NotAllowed { from: Status, to: Status },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Moves an application to `to` if the state machine allows it from its current state,
/// records the timeline event and queues `email` (if any) in the same transaction.
/// Compare-and-set on the status, so two concurrent changes cannot both win.
pub async fn transition(
    db: &Db,
    id: ApplicationId,
    to: Status,
    actor: &str,
    note: Option<&str>,
    email: Option<&NewNotification>,
    now: Timestamp,
) -> Result<Status, TransitionError> {
    let key = id.to_string();
    for _ in 0..5 {
        let Some(row) =
            sqlx::query("SELECT status FROM applications WHERE id = $1").bind(&key).fetch_optional(db.pool()).await?
        else {
            return Err(TransitionError::NotFound);
        };
        let from = Status::parse(&row.try_get::<String, _>("status")?).ok_or_else(|| decode_err("status"))?;
        if !from.can_move_to(to) {
            return Err(TransitionError::NotAllowed { from, to });
        }
        let mut tx = db.pool().begin().await?;
        if !move_in_tx(&mut tx, id, from, to, actor, note, now).await? {
            continue; // someone else moved it first: look again
        }
        if let Some(email) = email {
            notifications::insert(&mut tx, email, now).await?;
        }
        tx.commit().await?;
        return Ok(from);
    }
    Err(TransitionError::Db(sqlx::Error::Protocol("the application kept changing; try again".into())))
}

/// Inside a transaction: moves the application from `from` to `to` if it is still `from`
/// (compare-and-set) and records the timeline event. `false`: it was not `from` any more.
pub async fn move_in_tx(
    tx: &mut sqlx::Transaction<'_, Any>,
    id: ApplicationId,
    from: Status,
    to: Status,
    actor: &str,
    note: Option<&str>,
    now: Timestamp,
) -> sqlx::Result<bool> {
    debug_assert!(from.can_move_to(to), "{from} -> {to}");
    let key = id.to_string();
    let changed = sqlx::query("UPDATE applications SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4")
        .bind(to.as_str())
        .bind(to_ms(now))
        .bind(&key)
        .bind(from.as_str())
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if changed == 0 {
        return Ok(false);
    }
    insert_event(tx, &key, Some(from), to, actor, note, to_ms(now)).await?;
    Ok(true)
}

/// Counts by scheme and status, for the Prometheus gauges.
pub async fn counts_by_status(db: &Db) -> sqlx::Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query("SELECT scheme_id, status, COUNT(*) AS n FROM applications GROUP BY scheme_id, status")
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|r| Ok((r.try_get("scheme_id")?, r.try_get("status")?, r.try_get("n")?))).collect()
}
