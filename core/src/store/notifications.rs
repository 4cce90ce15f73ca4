//! The email outbox. A row is written in the same transaction as the change
//! that causes it; workers claim a row (a conditional UPDATE, so only one
//! worker can hold it), send, and record the outcome. The idempotency key
//! (application + kind + occasion) is unique, so an occasion makes one row at most.
//!
//! States: `pending` → `sending` (claimed, with a lease) → `sent`, or back to
//! `pending` with a later `next_attempt_at` after a failure, or `dead` after
//! the configured attempts. An admin can put a dead row back to `pending`.

use jiff::Timestamp;
use serde_json::Value;
use sqlx::{Any, AssertSqlSafe, Row};

use super::{Db, from_ms, id_column, to_ms};
use crate::domain::ids::{ApplicationId, NotificationId};
use crate::domain::mail::Mail;

#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    pub id: NotificationId,
    pub application_id: Option<ApplicationId>,
    pub kind: String,
    pub recipient: String,
    pub template: String,
    pub context: Value,
    pub idempotency_key: String,
}

impl NewNotification {
    /// The email `mail` for an application, once per `idempotency_key` (application + kind +
    /// occasion): the same occasion never makes two emails.
    pub fn new(application: &str, recipient: &str, mail: &Mail, idempotency_key: String) -> Self {
        Self {
            id: NotificationId::new_v7(),
            application_id: application.parse().ok(),
            kind: mail.kind().into(),
            recipient: recipient.into(),
            template: mail.kind().into(),
            context: mail.context(),
            idempotency_key,
        }
    }

    /// The one email of its kind an application gets: the occasion is `application:kind`.
    pub fn once(application: &str, recipient: &str, mail: &Mail) -> Self {
        Self::new(application, recipient, mail, format!("{application}:{}", mail.kind()))
    }
}

/// Inserts the row unless its occasion already has one. Returns whether a row was added.
pub async fn insert(tx: &mut sqlx::Transaction<'_, Any>, n: &NewNotification, now: Timestamp) -> sqlx::Result<bool> {
    let now = to_ms(now);
    let added = sqlx::query(
        "INSERT INTO notifications (id, application_id, kind, recipient, template, context, idempotency_key, state,
         attempts, next_attempt_at, enqueued_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8, $8, $8)
         ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(n.id.to_string())
    .bind(n.application_id.map(|a| a.to_string()))
    .bind(&n.kind)
    .bind(&n.recipient)
    .bind(&n.template)
    .bind(n.context.to_string())
    .bind(&n.idempotency_key)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(added == 1)
}

/// A row a worker has claimed and must now send.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub id: NotificationId,
    pub kind: String,
    pub recipient: String,
    pub template: String,
    pub context: Value,
    pub idempotency_key: String,
    /// This attempt's number, from 1.
    pub attempt: u32,
}

/// When a pending email is due (None: it is not pending — sent, dead, held, or unknown).
pub async fn pending_due_at(db: &Db, id: NotificationId) -> sqlx::Result<Option<Timestamp>> {
    let row = sqlx::query("SELECT next_attempt_at FROM notifications WHERE id = $1 AND state = 'pending'")
        .bind(id.to_string())
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| from_ms(r.try_get("next_attempt_at")?)).transpose()
}

/// What every claim returns: the row as a worker needs it to send.
const CLAIMED_COLUMNS: &str = "id, kind, recipient, template, context, idempotency_key, attempts";

/// A row is due for sending: pending and due, or held past its lease by a worker that died
/// mid-send. `now` is the placeholder of the current time in milliseconds.
fn due(now: &str) -> String {
    format!("((state = 'pending' AND next_attempt_at <= {now}) OR (state = 'sending' AND claimed_until < {now}))")
}

fn claimed(row: &sqlx::any::AnyRow) -> sqlx::Result<Claimed> {
    let context: String = row.try_get("context")?;
    Ok(Claimed {
        id: id_column(row, "id")?,
        kind: row.try_get("kind")?,
        recipient: row.try_get("recipient")?,
        template: row.try_get("template")?,
        context: serde_json::from_str(&context).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        idempotency_key: row.try_get("idempotency_key")?,
        attempt: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
    })
}

/// Takes the row for sending if it is due and nobody holds it (or a holder's lease ran out:
/// that worker died mid-send). `None`: already sent, dead, held by a live worker, or not due.
pub async fn claim(
    db: &Db,
    id: NotificationId,
    now: Timestamp,
    lease: std::time::Duration,
) -> sqlx::Result<Option<Claimed>> {
    let now_ms = to_ms(now);
    let sql = format!(
        "UPDATE notifications SET state = 'sending', attempts = attempts + 1, claimed_until = $2, updated_at = $3
         WHERE id = $1 AND {} RETURNING {CLAIMED_COLUMNS}",
        due("$3")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .bind(now_ms + lease.as_millis() as i64)
        .bind(now_ms)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(claimed).transpose()
}

/// Takes up to `limit` due rows for sending, oldest due first, in one statement. Workers
/// claiming at the same time get disjoint rows: on PostgreSQL rows another claim has locked
/// are skipped (`FOR UPDATE SKIP LOCKED`: no waiting, no deadlock); SQLite has one writer.
pub async fn claim_due(db: &Db, now: Timestamp, lease: std::time::Duration, limit: i64) -> sqlx::Result<Vec<Claimed>> {
    let now_ms = to_ms(now);
    let lock = db.skip_locked();
    // Two index range scans (pending by due time; sending by lease), each ordered and
    // limited, rather than one OR that sorts every due row of a long backlog per batch.
    let sql = format!(
        "UPDATE notifications SET state = 'sending', attempts = attempts + 1, claimed_until = $1, updated_at = $2
         WHERE id IN (SELECT id FROM notifications WHERE state = 'pending' AND next_attempt_at <= $2
                      ORDER BY next_attempt_at LIMIT $3 {lock})
            OR id IN (SELECT id FROM notifications WHERE state = 'sending' AND claimed_until < $2
                      ORDER BY claimed_until LIMIT $3 {lock})
         RETURNING {CLAIMED_COLUMNS}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now_ms + lease.as_millis() as i64)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(claimed).collect()
}

/// The email that confirms an erasure keeps its address only until it is sent (or dead):
/// then the address and context are blanked like the rest of the person's emails.
const ERASED_RECIPIENT: &str = "CASE WHEN notifications.kind = 'erased' THEN '' ELSE notifications.recipient END";
const ERASED_CONTEXT: &str = "CASE WHEN notifications.kind = 'erased' THEN '{}' ELSE notifications.context END";

/// Records many sent emails in one statement, each only if its attempt still holds the claim
/// (a join on the primary key: the cost is the batch's, not the outbox's).
pub async fn mark_sent_many(db: &Db, sent: &[(NotificationId, u32)], now: Timestamp) -> sqlx::Result<()> {
    for chunk in sent.chunks(500) {
        let pairs: Vec<String> =
            (0..chunk.len()).map(|i| format!("(${}, CAST(${} AS BIGINT))", 2 * i + 2, 2 * i + 3)).collect();
        let sql = format!(
            "WITH done (id, attempts) AS (VALUES {})
             UPDATE notifications SET state = 'sent', sent_at = $1, updated_at = $1, claimed_until = NULL,
             last_error = NULL, recipient = {ERASED_RECIPIENT}, context = {ERASED_CONTEXT} FROM done
             WHERE notifications.id = done.id AND notifications.attempts = done.attempts
               AND notifications.state = 'sending'",
            pairs.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to_ms(now));
        for (id, attempt) in chunk {
            q = q.bind(id.to_string()).bind(i64::from(*attempt));
        }
        q.execute(db.pool()).await?;
    }
    Ok(())
}

/// Whether some email has been due for longer than `waited` without anyone taking it: the
/// wake-up that should have sent it was lost (Redis emptied, a process killed between commit
/// and push). One indexed probe, however long the backlog.
pub async fn stranded(db: &Db, now: Timestamp, waited: std::time::Duration) -> sqlx::Result<bool> {
    let before = to_ms(now) - waited.as_millis() as i64;
    let row = sqlx::query(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM notifications WHERE state = 'pending' AND next_attempt_at <= $1)
             OR EXISTS (SELECT 1 FROM notifications WHERE state = 'sending' AND claimed_until <= $1)
             THEN 1 ELSE 0 END AS stranded",
    )
    .bind(before)
    .fetch_one(db.pool())
    .await?;
    Ok(super::int::<i64>(&row, "stranded")? != 0)
}

/// Records a sent email, if this attempt still holds the claim (`attempt` as claimed).
pub async fn mark_sent(db: &Db, id: NotificationId, attempt: u32, now: Timestamp) -> sqlx::Result<()> {
    sqlx::query(
        AssertSqlSafe(format!("UPDATE notifications SET state = 'sent', sent_at = $2, updated_at = $2, claimed_until = NULL, last_error = NULL,
         recipient = {ERASED_RECIPIENT}, context = {ERASED_CONTEXT}
         WHERE id = $1 AND state = 'sending' AND attempts = $3")),
    )
    .bind(id.to_string())
    .bind(to_ms(now))
    .bind(i64::from(attempt))
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records a failed attempt: back to `pending` at `retry_at`, or `dead` when `retry_at` is `None`;
/// only if this attempt still holds the claim (a slower worker cannot undo a later one).
pub async fn mark_failed(
    db: &Db,
    id: NotificationId,
    attempt: u32,
    error: &str,
    retry_at: Option<Timestamp>,
    now: Timestamp,
) -> sqlx::Result<()> {
    let (state, next) = match retry_at {
        Some(t) => ("pending", to_ms(t)),
        None => ("dead", to_ms(now)),
    };
    sqlx::query(
        AssertSqlSafe(format!("UPDATE notifications SET state = $2, next_attempt_at = $3, last_error = $4, claimed_until = NULL, updated_at = $5,
         enqueued_at = $5,
         recipient = CASE WHEN $2 = 'dead' THEN {ERASED_RECIPIENT} ELSE recipient END,
         context = CASE WHEN $2 = 'dead' THEN {ERASED_CONTEXT} ELSE context END
         WHERE id = $1 AND state = 'sending' AND attempts = $6")),
    )
    .bind(id.to_string())
    .bind(state)
    .bind(next)
    .bind(error)
    .bind(to_ms(now))
    .bind(i64::from(attempt))
    .execute(db.pool())
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct NotificationSummary {
    pub id: NotificationId,
    pub application_id: Option<String>,
    pub kind: String,
    pub recipient: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

pub const STATES: [&str; 4] = ["pending", "sending", "sent", "dead"];

pub async fn list(db: &Db, state: &str, limit: i64) -> sqlx::Result<Vec<NotificationSummary>> {
    let sql =
        format!("SELECT {SUMMARY_COLUMNS} FROM notifications WHERE state = $1 ORDER BY updated_at DESC, id LIMIT $2");
    sqlx::query(AssertSqlSafe(sql)).bind(state).bind(limit).fetch_all(db.pool()).await?.iter().map(summary).collect()
}

const SUMMARY_COLUMNS: &str =
    "id, application_id, kind, recipient, state, attempts, last_error, created_at, updated_at, sent_at";

fn summary(r: &sqlx::any::AnyRow) -> sqlx::Result<NotificationSummary> {
    Ok(NotificationSummary {
        id: id_column(r, "id")?,
        application_id: r.try_get("application_id")?,
        kind: r.try_get("kind")?,
        recipient: r.try_get("recipient")?,
        state: r.try_get("state")?,
        attempts: r.try_get("attempts")?,
        last_error: r.try_get("last_error")?,
        created_at: from_ms(r.try_get("created_at")?)?,
        updated_at: from_ms(r.try_get("updated_at")?)?,
        sent_at: r.try_get::<Option<i64>, _>("sent_at")?.map(from_ms).transpose()?,
    })
}

#[derive(Debug, PartialEq, Eq)]
pub enum Retry {
    Queued,
    NotFound,
    /// Only dead emails are re-sent by hand; the state it is in instead.
    NotDead(String),
}

/// Puts a dead email back in the queue with a fresh set of attempts.
pub async fn retry(db: &Db, id: NotificationId, now: Timestamp) -> sqlx::Result<Retry> {
    let changed = sqlx::query(
        "UPDATE notifications SET state = 'pending', attempts = 0, next_attempt_at = $2, updated_at = $2, enqueued_at = $2
         WHERE id = $1 AND state = 'dead'",
    )
    .bind(id.to_string())
    .bind(to_ms(now))
    .execute(db.pool())
    .await?
    .rows_affected();
    if changed == 1 {
        return Ok(Retry::Queued);
    }
    let state = sqlx::query("SELECT state FROM notifications WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(db.pool())
        .await?;
    Ok(match state {
        None => Retry::NotFound,
        Some(r) => Retry::NotDead(r.try_get("state")?),
    })
}

pub async fn counts_by_state(db: &Db) -> sqlx::Result<Vec<(String, i64)>> {
    let rows =
        sqlx::query("SELECT state, COUNT(*) AS n FROM notifications GROUP BY state").fetch_all(db.pool()).await?;
    rows.iter().map(|r| Ok((r.try_get("state")?, r.try_get("n")?))).collect()
}

/// Cancels the application's pending emails of `kind` (a reminder of a session it no longer
/// holds): they will never be claimed. Returns how many.
pub async fn cancel_pending(
    tx: &mut sqlx::Transaction<'_, Any>,
    application: &str,
    kind: &str,
    now: Timestamp,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE notifications SET state = 'cancelled', updated_at = $3
         WHERE application_id = $1 AND kind = $2 AND state = 'pending'",
    )
    .bind(application)
    .bind(kind)
    .bind(to_ms(now))
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Inserts many outbox rows in few statements (occasions that already have a row are skipped).
pub async fn insert_many(
    tx: &mut sqlx::Transaction<'_, Any>,
    rows: &[NewNotification],
    now: Timestamp,
) -> sqlx::Result<()> {
    const COLS: usize = 8;
    for chunk in rows.chunks(1000) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * COLS;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, 'pending', 0, ${p}, ${p}, ${p}, ${p})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    p = b + 8
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO notifications (id, application_id, kind, recipient, template, context, idempotency_key, state,
             attempts, next_attempt_at, enqueued_at, created_at, updated_at) VALUES {}
             ON CONFLICT (idempotency_key) DO NOTHING",
            values.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for n in chunk {
            q = q
                .bind(n.id.to_string())
                .bind(n.application_id.map(|a| a.to_string()))
                .bind(n.kind.clone())
                .bind(n.recipient.clone())
                .bind(n.template.clone())
                .bind(n.context.to_string())
                .bind(n.idempotency_key.clone())
                .bind(to_ms(now));
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The data of the latest email of a kind to an application (the calendar of its latest
/// invitation, say), as it was sent or will be.
pub async fn latest_context(db: &Db, app: ApplicationId, kind: &str) -> sqlx::Result<Option<Value>> {
    let row = sqlx::query(
        "SELECT context FROM notifications WHERE application_id = $1 AND kind = $2 ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(app.to_string())
    .bind(kind)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| {
        let c: String = r.try_get("context")?;
        serde_json::from_str(&c).map_err(|e| sqlx::Error::Decode(Box::new(e)))
    })
    .transpose()
}

/// The dead emails of these applications (a bulk re-send on the list page).
pub async fn dead_of(db: &Db, applications: &[ApplicationId]) -> sqlx::Result<Vec<NotificationId>> {
    if applications.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id FROM notifications WHERE state = 'dead' AND application_id IN ({}) ORDER BY id",
        super::params(1, applications.len())
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for a in applications {
        q = q.bind(a.to_string());
    }
    q.fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            id.parse().map_err(|_| sqlx::Error::Decode("bad id in notifications".into()))
        })
        .collect()
}

/// Every email of an application, oldest first: kind, state and times (the recruiter's
/// applicant page).
pub async fn of_application(db: &Db, application: ApplicationId) -> sqlx::Result<Vec<NotificationSummary>> {
    let sql = format!("SELECT {SUMMARY_COLUMNS} FROM notifications WHERE application_id = $1 ORDER BY created_at, id");
    sqlx::query(AssertSqlSafe(sql))
        .bind(application.to_string())
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(summary)
        .collect()
}
