//! Applications: submission (one transaction: application, preferences,
//! equality answers, first timeline event, applicant token, confirmation email
//! and Idempotency-Key record), reading with the timeline, and state changes.

use jiff::Timestamp;
use sqlx::{Any, AssertSqlSafe, Row};

use super::notifications::{self, NewNotification};
use super::{Db, Unique, from_ms, is_unique_violation, to_ms};
use crate::domain::application::{ApplicantDetails, ApplicationForm};
use crate::domain::ids::{ApplicationId, SchemeId, TokenId};
use crate::domain::status::Status;
use crate::settings::DatabaseKind;

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

/// A bound value of a statement built as data (see `submit`).
enum Arg {
    Text(Option<String>),
    Int(i64),
}

/// One SQL statement with its arguments, numbered from $1.
struct Stmt {
    sql: String,
    args: Vec<Arg>,
}

impl Stmt {
    fn new(sql: impl Into<String>) -> Self {
        Self { sql: sql.into(), args: Vec::new() }
    }
    fn text(mut self, v: impl Into<String>) -> Self {
        self.args.push(Arg::Text(Some(v.into())));
        self
    }
    fn opt(mut self, v: Option<String>) -> Self {
        self.args.push(Arg::Text(v));
        self
    }
    fn int(mut self, v: i64) -> Self {
        self.args.push(Arg::Int(v));
        self
    }
    /// The SQL with every `$n` moved up by `offset`.
    fn renumbered(&self, offset: usize) -> String {
        let mut out = String::with_capacity(self.sql.len() + 16);
        let mut chars = self.sql.chars().peekable();
        while let Some(c) = chars.next() {
            out.push(c);
            if c == '$' {
                let mut n = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    n.push(*d);
                    chars.next();
                }
                let n: usize = n.parse().expect("a numbered placeholder");
                out.push_str(&(n + offset).to_string());
            }
        }
        out
    }
}

fn bind_args<'q>(
    mut q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>,
    args: impl IntoIterator<Item = Arg>,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
    for a in args {
        q = match a {
            Arg::Text(t) => q.bind(t),
            Arg::Int(i) => q.bind(i),
        };
    }
    q
}

/// The statements that record one application, in order.
fn submission(new: &NewApplication<'_>) -> Vec<Stmt> {
    let now = to_ms(new.now);
    let id = new.id.to_string();
    let mut out = Vec::new();
    // First, so that a concurrent request with the same key waits here for this one to finish.
    if let Some(idem) = &new.idempotency {
        out.push(
            Stmt::new(
                "INSERT INTO idempotency_keys (scope, key_hash, request_hash, status, response, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .text(&idem.scope)
            .text(&idem.key_hash)
            .text(&idem.request_hash)
            .int(i64::from(idem.status))
            .text(&idem.response)
            .int(now),
        );
    }
    let details = serde_json::to_string(&new.form.details()).expect("details always serialise");
    out.push(
        Stmt::new(
            "INSERT INTO applications (id, scheme_id, email_norm, status, details, first_stream, disability_confident,
             degree_class, created_at, updated_at, privacy_notice_version, search_name)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11)",
        )
        .text(&id)
        .text(new.scheme_id.as_str())
        .text(new.form.email.normalised())
        // The status after screening: both steps are in the timeline below.
        .text(new.screening.outcome.as_str())
        .text(details)
        .text(new.form.stream_preferences[0].as_str())
        .int(i64::from(new.form.disability_confident))
        .text(new.form.degree.class.code())
        .int(now)
        .opt(new.form.privacy_notice_version.clone())
        .text(new.form.name.to_lowercase()),
    );
    let prefs = &new.form.stream_preferences;
    let rows: Vec<String> = (0..prefs.len()).map(|i| format!("($1, ${}, ${})", 2 * i + 2, 2 * i + 3)).collect();
    let mut stmt = Stmt::new(format!(
        "INSERT INTO application_preferences (application_id, rank, stream_id) VALUES {}",
        rows.join(", ")
    ))
    .text(&id);
    for (rank, stream) in prefs.iter().enumerate() {
        stmt = stmt.int(rank as i64 + 1).text(stream.as_str());
    }
    out.push(stmt);
    if let Some(eq) = &new.form.equality {
        // Column names come from the closed list of questions, never from the request.
        let answers: Vec<(&str, &str)> = eq.iter().collect();
        let columns: String = answers.iter().map(|(k, _)| format!(", {k}")).collect();
        let params: String = (0..answers.len()).map(|i| format!(", ${}", i + 4)).collect();
        let mut stmt = Stmt::new(format!(
            "INSERT INTO equality_answers (application_id, scheme_id, created_at{columns}) VALUES ($1, $2, $3{params})"
        ))
        .text(&id)
        .text(new.scheme_id.as_str())
        .int(now);
        for (_, answer) in answers {
            stmt = stmt.text(answer);
        }
        out.push(stmt);
    }
    // The first timeline events: submitted, and the screening's outcome if it moved on.
    let mut events: Vec<(Option<Status>, Status, &str, Option<String>)> =
        vec![(None, Status::Submitted, "applicant", None)];
    if new.screening.outcome != Status::Submitted {
        events.push((Some(Status::Submitted), new.screening.outcome, "system", new.screening.note.clone()));
    }
    let mut stmt = Stmt::new(format!("{EVENTS_INSERT}{}", super::tuples(events.len(), 6)));
    for (from, to, actor, note) in events {
        stmt = stmt.text(&id).opt(from.map(|s| s.as_str().to_owned())).text(to.as_str()).text(actor).opt(note).int(now);
    }
    out.push(stmt);
    out.push(
        Stmt::new(
            "INSERT INTO tokens (id, token_hash, role, name, application_id, created_at)
             VALUES ($1, $2, 'applicant', $3, $4, $5)",
        )
        .text(new.token_id.to_string())
        .text(new.token_hash)
        .text(format!("applicant {id}"))
        .text(&id)
        .int(now),
    );
    let emails: Vec<&NewNotification> =
        std::iter::once(&new.confirmation).chain(new.screening.email.as_ref()).collect();
    let rows: Vec<String> = (0..emails.len())
        .map(|i| {
            let b = i * 7;
            format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, 'pending', 0, $1, $1, $1, $1)",
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8
            )
        })
        .collect();
    let mut stmt = Stmt::new(format!(
        "INSERT INTO notifications (id, application_id, kind, recipient, template, context, idempotency_key, state,
         attempts, next_attempt_at, enqueued_at, created_at, updated_at) VALUES {} ON CONFLICT (idempotency_key) DO NOTHING",
        rows.join(", ")
    ))
    .int(now);
    for n in emails {
        stmt = stmt
            .text(n.id.to_string())
            .opt(n.application_id.map(|a| a.to_string()))
            .text(&n.kind)
            .text(&n.recipient)
            .text(&n.template)
            .text(n.context.to_string())
            .text(&n.idempotency_key);
    }
    out.push(stmt);
    let tests = &new.screening.tests;
    if !tests.is_empty() {
        let rows: Vec<String> = (0..tests.len()).map(|i| format!("($1, ${})", i + 2)).collect();
        let mut stmt =
            Stmt::new(format!("INSERT INTO test_attempts (application_id, test_id) VALUES {}", rows.join(", ")))
                .text(&id);
        for t in tests {
            stmt = stmt.text(*t);
        }
        out.push(stmt);
    }
    out
}

/// Records an application and everything that comes with it, atomically. On PostgreSQL
/// the statements travel as one statement of data-modifying CTEs (one round trip; foreign
/// keys are checked at its end); on SQLite they run one by one in a transaction.
pub async fn submit(db: &Db, new: NewApplication<'_>) -> Result<(), SubmitError> {
    let stmts = submission(&new);
    let result = match db.kind() {
        DatabaseKind::Postgres => {
            let mut sql = String::from("WITH ");
            let mut offset = 0;
            for (i, s) in stmts.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("s{i} AS ({})", s.renumbered(offset)));
                offset += s.args.len();
            }
            sql.push_str(" SELECT 1");
            let args = stmts.into_iter().flat_map(|s| s.args);
            bind_args(sqlx::query(AssertSqlSafe(sql)), args).execute(db.pool()).await.map(drop)
        }
        DatabaseKind::Sqlite => {
            let mut tx = db.begin().await?;
            let mut r = Ok(());
            for s in stmts {
                if let Err(e) = bind_args(sqlx::query(AssertSqlSafe(s.sql)), s.args).execute(&mut *tx).await {
                    r = Err(e);
                    break;
                }
            }
            match r {
                Ok(()) => tx.commit().await,
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Err(e) if is_unique_violation(&e, Unique::IdempotencyKey) => Err(SubmitError::IdempotencyKeyTaken),
        Err(e) if is_unique_violation(&e, Unique::ApplicationsSchemeEmail) => Err(SubmitError::DuplicateEmail),
        other => Ok(other?),
    }
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

#[derive(Debug, Clone, PartialEq)]
pub struct ApplicationRecord {
    pub id: ApplicationId,
    pub scheme_id: String,
    pub status: Status,
    /// None once erased: only the tombstone (ids, status, dates) is left.
    pub details: Option<ApplicantDetails>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub erased_at: Option<Timestamp>,
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
    let row = sqlx::query(
        "SELECT scheme_id, status, details, created_at, updated_at, erased_at FROM applications WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let status: String = row.try_get("status")?;
    let details: String = row.try_get("details")?;
    let erased_at = row.try_get::<Option<i64>, _>("erased_at")?.map(from_ms).transpose()?;
    Ok(Some(ApplicationRecord {
        id,
        scheme_id: row.try_get("scheme_id")?,
        status: Status::parse(&status).ok_or_else(|| decode_err("status"))?,
        details: match erased_at {
            Some(_) => None,
            None => Some(serde_json::from_str(&details).map_err(|e| sqlx::Error::Decode(Box::new(e)))?),
        },
        created_at: from_ms(row.try_get("created_at")?)?,
        updated_at: from_ms(row.try_get("updated_at")?)?,
        erased_at,
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
                at: from_ms(r.try_get("at")?)?,
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
        let mut tx = db.begin().await?;
        if !move_in_tx(&mut tx, &id.to_string(), from, to, actor, note, now).await? {
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

// The one way an application changes status. Every transition, one or many, goes through
// `move_in_tx` or `move_many`: the state machine is consulted (`Status::can_move_to`), the
// status is compare-and-set, and the timeline event is written by `record_events`, the one
// place that inserts into application_events after an application exists.

fn allowed(from: Status, to: Status) -> sqlx::Result<()> {
    if from.can_move_to(to) {
        Ok(())
    } else {
        Err(sqlx::Error::Protocol(format!("the state machine does not allow {from} -> {to}")))
    }
}

/// Inside a transaction: moves the application from `from` to `to` if it is still `from`
/// (compare-and-set) and records the timeline event. `false`: it was not `from` any more.
/// An edge the state machine does not have is an error (a bug), never a write.
pub async fn move_in_tx(
    tx: &mut sqlx::Transaction<'_, Any>,
    id: &str,
    from: Status,
    to: Status,
    actor: &str,
    note: Option<&str>,
    now: Timestamp,
) -> sqlx::Result<bool> {
    allowed(from, to)?;
    let changed = sqlx::query("UPDATE applications SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4")
        .bind(to.as_str())
        .bind(to_ms(now))
        .bind(id)
        .bind(from.as_str())
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if changed == 0 {
        return Ok(false);
    }
    record_events(tx, actor, &[NewEvent { application_id: id, from, to, note: note.map(str::to_owned) }], now).await?;
    Ok(true)
}

/// One application of a `move_many`, with the note its timeline event carries.
pub struct Move<'a> {
    pub id: &'a str,
    pub note: Option<String>,
}

/// Inside a transaction: moves every listed application that is still `from` to `to`, by
/// compare-and-set in one statement, and records the timeline events of those that moved, in
/// one more; returns the ids that moved (the others changed meanwhile).
pub async fn move_many(
    tx: &mut sqlx::Transaction<'_, Any>,
    actor: &str,
    from: Status,
    to: Status,
    moves: &[Move<'_>],
    now: Timestamp,
) -> sqlx::Result<std::collections::HashSet<String>> {
    allowed(from, to)?;
    if moves.is_empty() {
        return Ok(Default::default());
    }
    let sql = format!(
        "UPDATE applications SET status = $1, updated_at = $2 WHERE status = $3 AND id IN ({}) RETURNING id",
        super::params(4, moves.len())
    );
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(to.as_str()).bind(to_ms(now)).bind(from.as_str());
    for m in moves {
        q = q.bind(m.id);
    }
    let moved: std::collections::HashSet<String> =
        q.fetch_all(&mut **tx).await?.iter().map(|r| r.try_get("id")).collect::<sqlx::Result<_>>()?;
    let events: Vec<NewEvent<'_>> = moves
        .iter()
        .filter(|m| moved.contains(m.id))
        .map(|m| NewEvent { application_id: m.id, from, to, note: m.note.clone() })
        .collect();
    record_events(tx, actor, &events, now).await?;
    Ok(moved)
}

/// The one statement that adds timeline events (followed by its VALUES tuples).
const EVENTS_INSERT: &str =
    "INSERT INTO application_events (application_id, from_status, to_status, actor, note, at) VALUES ";

struct NewEvent<'a> {
    application_id: &'a str,
    from: Status,
    to: Status,
    note: Option<String>,
}

/// Records timeline events, all by one actor, in one statement.
async fn record_events(
    tx: &mut sqlx::Transaction<'_, Any>,
    actor: &str,
    events: &[NewEvent<'_>],
    now: Timestamp,
) -> sqlx::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let sql = format!("{EVENTS_INSERT}{}", super::tuples(events.len(), 6));
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for e in events {
        q = q
            .bind(e.application_id.to_owned())
            .bind(e.from.as_str())
            .bind(e.to.as_str())
            .bind(actor.to_owned())
            .bind(e.note.clone())
            .bind(to_ms(now));
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// Counts by scheme and status, for the Prometheus gauges.
pub async fn counts_by_status(db: &Db) -> sqlx::Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query("SELECT scheme_id, status, COUNT(*) AS n FROM applications GROUP BY scheme_id, status")
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|r| Ok((r.try_get("scheme_id")?, r.try_get("status")?, r.try_get("n")?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edge_the_state_machine_lacks_is_refused_before_any_write() {
        assert!(allowed(Status::Scored, Status::Shortlisted).is_ok());
        assert!(allowed(Status::Placed, Status::Submitted).is_err());
        assert!(allowed(Status::Rejected, Status::Shortlisted).is_err());
    }

    #[test]
    fn placeholders_are_renumbered_for_composition() {
        let s = Stmt::new("INSERT INTO t (a, b) VALUES ($1, $2), ($1, $10)");
        assert_eq!(s.renumbered(3), "INSERT INTO t (a, b) VALUES ($4, $5), ($4, $13)");
        assert_eq!(s.renumbered(0), s.sql);
    }
}
