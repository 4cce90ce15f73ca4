//! Personal data under UK GDPR (SPEC §4): one catalogue of every table that holds something
//! about an applicant, read by the subject access export and by erasure, so neither can
//! forget a table (a test compares the catalogue with the database's own list of tables).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Map, Value};
use sqlx::{AssertSqlSafe, Row};

use super::notifications::NewNotification;
use super::{Db, from_ms, to_ms};
use crate::domain::ids::{ApplicationId, NotificationId};
use crate::domain::status::Status;

/// How a column is stored, and so how it is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    Real,
    /// Milliseconds since the epoch, exported as RFC 3339.
    Time,
    /// 0/1, exported as true/false.
    Flag,
    /// JSON kept as text, exported as JSON.
    Json,
}

/// What erasure does to a table's rows about the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erase {
    /// Kept: ids, stages, dates and numbers behind published figures, nothing that names anyone.
    Keep,
    /// The rows go.
    Delete,
    /// These assignments (SQL) overwrite the personal columns; the row stays.
    Overwrite(&'static str),
}

/// One table that holds data about an applicant.
#[derive(Debug)]
pub struct Held {
    pub table: &'static str,
    /// The section of the export it appears in (None: not exported, e.g. secrets' hashes).
    pub section: Option<&'static str>,
    pub about: &'static str,
    /// The column naming the application.
    pub key: &'static str,
    pub order_by: &'static str,
    /// At most one row per application (exported as an object or null, not a list).
    pub one_row: bool,
    pub columns: &'static [(&'static str, Kind, &'static str)],
    pub erase: Erase,
}

use Kind::*;

/// Every table with rows about an applicant. Adding such a table without a line here fails
/// `every_table_about_an_applicant_is_in_the_catalogue`.
pub const CATALOGUE: &[Held] = &[
    Held {
        table: "applications",
        section: Some("application"),
        about: "The application: its form as sent, status and dates.",
        key: "id",
        order_by: "id",
        one_row: true,
        columns: &[
            ("id", Text, "The application reference."),
            ("scheme_id", Text, "The scheme applied to."),
            ("status", Text, "Where the application is in the pipeline."),
            (
                "details",
                Json,
                "The form as sent: name, email, phone, degree, right to work, streams, dates, venues, adjustments, employer, Disability Confident.",
            ),
            ("first_stream", Text, "The stream ranked first."),
            ("disability_confident", Flag, "Whether the applicant asked for the Disability Confident guarantee."),
            ("degree_class", Text, "The degree class, kept apart for HR reports."),
            ("search_name", Text, "The name in lower case, for recruiters' search."),
            ("privacy_notice_version", Text, "The version of the privacy notice the applicant was shown."),
            ("created_at", Time, "When the application was sent."),
            ("updated_at", Time, "When it last changed."),
            ("erased_at", Time, "When its personal data was erased (then only this tombstone is left)."),
        ],
        // The row is claimed first by `erase` itself (see there); nothing more to do here.
        erase: Erase::Keep,
    },
    Held {
        table: "application_preferences",
        section: Some("stream_preferences"),
        about: "The streams ranked, best first.",
        key: "application_id",
        order_by: "rank",
        one_row: false,
        columns: &[("rank", Int, "1 is the first choice."), ("stream_id", Text, "The stream.")],
        erase: Erase::Keep,
    },
    Held {
        table: "equality_answers",
        section: Some("equality"),
        about: "Equality monitoring answers (never shown to recruiters or assessors).",
        key: "application_id",
        order_by: "application_id",
        one_row: true,
        columns: &[
            ("sex", Text, "Sex."),
            ("gender_same_as_birth", Text, "Whether gender is the same as registered at birth."),
            ("age_band", Text, "Age band."),
            ("ethnicity", Text, "Ethnic group."),
            ("disability", Text, "Disability."),
            ("sexual_orientation", Text, "Sexual orientation."),
            ("religion", Text, "Religion or belief."),
            ("socio_economic_background", Text, "Parents' occupation at 14."),
            ("school_type", Text, "Type of school attended."),
            ("free_school_meals", Text, "Free school meals."),
            ("first_generation_university", Text, "First in the family to go to university."),
            ("created_at", Time, "When they were given."),
        ],
        erase: Erase::Delete,
    },
    Held {
        table: "test_attempts",
        section: Some("test_attempts"),
        about: "Each online test: when it was started and sent, and the answers given.",
        key: "application_id",
        order_by: "test_id",
        one_row: false,
        columns: &[
            ("test_id", Text, "The test."),
            ("started_at", Time, "When it was started."),
            ("deadline_at", Time, "When a timed test had to be sent by."),
            ("submitted_at", Time, "When the answers were sent."),
            ("answers", Json, "The answers, by question."),
            ("source", Text, "Where the result came from: our own test or a provider's."),
            ("provider_raw", Int, "A provider's raw score, where a provider scored it."),
            ("late", Flag, "Whether the answers came after the deadline."),
        ],
        erase: Erase::Overwrite("answers = NULL"),
    },
    Held {
        table: "test_scores",
        section: Some("test_scores"),
        about: "Scores with their provenance: the key and norm versions they were computed with.",
        key: "application_id",
        order_by: "test_id, scored_at",
        one_row: false,
        columns: &[
            ("test_id", Text, "The test."),
            ("key_version", Int, "The version of the answer key used."),
            ("norm_version", Text, "The norm group compared with."),
            ("raw", Int, "Marks."),
            ("z", Real, "Standard score."),
            ("t", Real, "T-score."),
            ("sten", Int, "Sten, 1 to 10."),
            ("percentile", Real, "Percentile in the norm group."),
            ("passed", Flag, "Whether the cut score was met."),
            ("late", Flag, "Whether the answers were late."),
            ("current", Flag, "Whether this is the score in use (a rescore keeps the old one)."),
            ("scored_at", Time, "When it was scored."),
        ],
        erase: Erase::Keep,
    },
    Held {
        table: "application_scores",
        section: Some("composite_score"),
        about: "The composite of the test scores used by the sift.",
        key: "application_id",
        order_by: "application_id",
        one_row: true,
        columns: &[
            ("composite", Real, "The composite score."),
            ("passed", Flag, "Whether every test's cut was met."),
            ("scored_at", Time, "When."),
        ],
        erase: Erase::Keep,
    },
    Held {
        table: "dc_overrides",
        section: Some("disability_confident_override"),
        about: "A recruiter's decision on the Disability Confident guarantee, with the reason.",
        key: "application_id",
        order_by: "application_id",
        one_row: true,
        columns: &[
            ("decided_by", Text, "Who decided."),
            ("reason", Text, "Why."),
            ("actor", Text, "The account that recorded it."),
            ("created_at", Time, "When."),
        ],
        erase: Erase::Overwrite("reason = '(erased)'"),
    },
    Held {
        table: "sift_results",
        section: Some("sift"),
        about: "The sift's result and its reason.",
        key: "application_id",
        order_by: "application_id",
        one_row: true,
        columns: &[
            ("stream_id", Text, "The stream sifted into."),
            ("outcome", Text, "shortlisted, reserve or rejected."),
            ("rank", Int, "Place in the stream's order."),
            ("guaranteed", Flag, "Whether the Disability Confident guarantee applied."),
            ("reason", Text, "Why, in words."),
            ("job_id", Text, "The sift run."),
            ("decided_at", Time, "When."),
        ],
        erase: Erase::Keep,
    },
    Held {
        table: "bookings",
        section: Some("booking"),
        about: "The assessment-centre seat.",
        key: "application_id",
        order_by: "application_id",
        one_row: true,
        columns: &[
            ("centre_id", Text, "The centre."),
            ("session_id", Text, "The session."),
            ("state", Text, "invited, accepted, declined, cancelled ..."),
            ("starts_at", Time, "When the session starts."),
            ("sequence", Int, "How many times the calendar event changed."),
            ("rebook", Flag, "Whether a move was asked for."),
            ("created_at", Time, "When it was offered."),
            ("updated_at", Time, "When it last changed."),
        ],
        erase: Erase::Keep,
    },
    Held {
        table: "ac_waiting_list",
        section: Some("ac_waiting_list"),
        about: "A place on the assessment centre's waiting list.",
        key: "application_id",
        order_by: "application_id",
        one_row: true,
        columns: &[("reason", Text, "Why."), ("created_at", Time, "When.")],
        erase: Erase::Keep,
    },
    Held {
        table: "ac_scores",
        section: Some("ac_scores"),
        about: "Assessors' scores per exercise and competency.",
        key: "application_id",
        order_by: "exercise, competency, assessor_id",
        one_row: false,
        columns: &[
            ("exercise", Text, "The exercise."),
            ("competency", Text, "The competency."),
            ("assessor_id", Text, "The assessor."),
            ("score", Int, "1 to 5."),
            ("recorded_at", Time, "When."),
        ],
        erase: Erase::Keep,
    },
    Held {
        table: "ac_judgements",
        section: Some("ac_judgements"),
        about: "Assessors' overall judgements.",
        key: "application_id",
        order_by: "assessor_id",
        one_row: false,
        columns: &[
            ("assessor_id", Text, "The assessor."),
            ("appointable", Flag, "Whether rated appointable."),
            ("recorded_at", Time, "When."),
        ],
        erase: Erase::Keep,
    },
    Held {
        table: "ac_results",
        section: Some("ac_result"),
        about: "The assessment centre's result.",
        key: "application_id",
        order_by: "application_id",
        one_row: true,
        columns: &[
            ("stream_id", Text, "The stream."),
            ("score", Real, "The AC score."),
            ("appointable", Flag, "Whether appointable."),
            ("computed_at", Time, "When."),
        ],
        erase: Erase::Keep,
    },
    Held {
        table: "offers",
        section: Some("offer"),
        about: "The offer of a place.",
        key: "application_id",
        order_by: "application_id",
        one_row: true,
        columns: &[
            ("stream_id", Text, "The stream."),
            ("organisation_id", Text, "The host organisation."),
            ("state", Text, "offered, accepted or declined."),
            ("created_at", Time, "When it was made."),
            ("updated_at", Time, "When it was answered."),
        ],
        erase: Erase::Keep,
    },
    Held {
        table: "outcomes",
        section: Some("outcomes"),
        about: "Placement, in-post checkpoints and leaving.",
        key: "application_id",
        order_by: "recorded_at",
        one_row: false,
        columns: &[
            ("occasion", Text, "placement, checkpoint or left."),
            ("organisation_id", Text, "Where placed."),
            ("start_date", Text, "First day."),
            ("months", Int, "The checkpoint (3, 6, 12 months)."),
            ("in_post", Flag, "Whether in post then."),
            ("left_on", Text, "Last day."),
            ("destination", Text, "Where they went."),
            ("recorded_by", Text, "Who recorded it."),
            ("recorded_at", Time, "When."),
        ],
        erase: Erase::Keep,
    },
    Held {
        table: "notifications",
        section: Some("emails"),
        about: "Every email sent or to be sent: kind, state and times.",
        key: "application_id",
        order_by: "created_at, id",
        one_row: false,
        columns: &[
            ("id", Text, "The email (its Message-ID)."),
            ("kind", Text, "What it was about."),
            ("state", Text, "pending, sending, sent, dead or cancelled."),
            ("attempts", Int, "How many times it was tried."),
            ("created_at", Time, "When it was written."),
            ("sent_at", Time, "When the mail server took it."),
        ],
        erase: Erase::Overwrite(
            "recipient = '', context = '{}', last_error = NULL, \
             state = CASE WHEN state = 'pending' THEN 'cancelled' ELSE state END",
        ),
    },
    Held {
        table: "application_events",
        section: Some("timeline"),
        about: "Every change of status: from, to, by whom, when.",
        key: "application_id",
        order_by: "id",
        one_row: false,
        columns: &[
            ("from_status", Text, "Before."),
            ("to_status", Text, "After."),
            ("actor", Text, "Who or what made the change."),
            ("note", Text, "Why, in words."),
            ("at", Time, "When."),
        ],
        erase: Erase::Keep,
    },
    Held {
        table: "audit_log",
        section: Some("audit"),
        about: "Every read by staff and every change, by whom (append-only, no personal data).",
        key: "application_id",
        order_by: "id",
        one_row: false,
        columns: &[
            ("at", Time, "When."),
            ("actor", Text, "role:account."),
            ("action", Text, "What was done."),
            ("detail", Text, "What it was done to (an id)."),
            ("request_id", Text, "The request it came from."),
        ],
        erase: Erase::Keep,
    },
    Held {
        table: "tokens",
        section: Some("access"),
        about: "Access given to the applicant: their token and browser sessions (secrets are kept only as hashes, not exported).",
        key: "application_id",
        order_by: "created_at",
        one_row: false,
        columns: &[
            ("id", Text, "The access."),
            ("role", Text, "Always applicant."),
            ("created_at", Time, "When."),
            ("expires_at", Time, "When it stops working."),
            ("revoked_at", Time, "When it was revoked."),
        ],
        erase: Erase::Delete,
    },
    Held {
        table: "sign_in_links",
        section: Some("sign_in_links"),
        about: "Sign-in links emailed (secrets kept only as hashes, not exported).",
        key: "application_id",
        order_by: "created_at",
        one_row: false,
        columns: &[
            ("next_path", Text, "The page it led to."),
            ("created_at", Time, "When it was sent."),
            ("expires_at", Time, "When it stopped working."),
            ("used_at", Time, "When it was used."),
        ],
        erase: Erase::Delete,
    },
    Held {
        table: "application_drafts",
        section: None,
        about: "The form as it was typed in the pages before sending (the application holds what was sent).",
        key: "application_id",
        order_by: "created_at",
        one_row: false,
        columns: &[],
        erase: Erase::Delete,
    },
];

fn cell(row: &sqlx::any::AnyRow, name: &str, kind: Kind) -> sqlx::Result<Value> {
    Ok(match kind {
        Text => row.try_get::<Option<String>, _>(name)?.map_or(Value::Null, Value::String),
        Int => row.try_get::<Option<i64>, _>(name)?.map_or(Value::Null, Value::from),
        Real => row.try_get::<Option<f64>, _>(name)?.map_or(Value::Null, Value::from),
        Flag => row.try_get::<Option<i64>, _>(name)?.map_or(Value::Null, |v| Value::Bool(v != 0)),
        Time => match row.try_get::<Option<i64>, _>(name)? {
            Some(ms) => Value::String(from_ms(ms)?.to_string()),
            None => Value::Null,
        },
        Json => match row.try_get::<Option<String>, _>(name)? {
            Some(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
            None => Value::Null,
        },
    })
}

/// Everything held about an application's applicant, section by section, in the
/// catalogue's order (None: no such application). Sections with one row per application
/// are objects (or null), the rest lists.
pub async fn export(db: &Db, id: ApplicationId) -> sqlx::Result<Option<Map<String, Value>>> {
    let mut out = Map::new();
    for held in CATALOGUE {
        let Some(section) = held.section else { continue };
        let cols: Vec<&str> = held.columns.iter().map(|c| c.0).collect();
        let sql = format!(
            "SELECT {} FROM {} WHERE {} = $1 ORDER BY {}",
            cols.join(", "),
            held.table,
            held.key,
            held.order_by
        );
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(id.to_string()).fetch_all(db.pool()).await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut obj = Map::new();
            for (name, kind, _) in held.columns {
                obj.insert((*name).to_owned(), cell(row, name, *kind)?);
            }
            items.push(Value::Object(obj));
        }
        if held.table == "applications" && items.is_empty() {
            return Ok(None);
        }
        let value = if held.one_row { items.into_iter().next().unwrap_or(Value::Null) } else { Value::Array(items) };
        out.insert(section.to_owned(), value);
    }
    Ok(Some(out))
}

#[derive(Debug, PartialEq)]
pub enum Erasure {
    NotFound,
    /// In a stage that is not final: withdraw it first (its seat or place passes on).
    Live(Status),
    /// Erased before: nothing more to do.
    AlreadyErased,
    /// Erased now. `emails`: the application's emails before the confirmation (their `.eml`
    /// files, on the embedded default, are to be deleted); `confirmation`: the email that
    /// tells the person.
    Erased {
        emails: Vec<NotificationId>,
        confirmation: Option<NotificationId>,
    },
}

/// Erases the personal data of an application in a final state, in one transaction, and
/// audits it (`why` is a code such as "request" or "retention:unsuccessful", never the data).
/// `confirmation` is written after the overwrite, so its address survives until it is sent
/// (the notifier blanks it then). Erasing twice answers `AlreadyErased` and changes nothing.
pub async fn erase(
    db: &Db,
    id: ApplicationId,
    actor: &str,
    why: &str,
    confirmation: Option<&NewNotification>,
    request_id: Option<&str>,
    now: Timestamp,
) -> sqlx::Result<Erasure> {
    let mut tx = db.begin().await?;
    let finals: Vec<String> =
        Status::ALL.iter().filter(|s| s.is_final()).map(|s| format!("'{}'", s.as_str())).collect();
    let claimed = sqlx::query(AssertSqlSafe(format!(
        "UPDATE applications SET details = '{{\"erased\":true}}', email_norm = 'erased:' || id, degree_class = NULL,
                search_name = NULL,
                erased_at = $2, updated_at = $2
         WHERE id = $1 AND erased_at IS NULL AND status IN ({}) RETURNING id",
        finals.join(", ")
    )))
    .bind(id.to_string())
    .bind(to_ms(now))
    .fetch_optional(&mut *tx)
    .await?;
    if claimed.is_none() {
        let row = sqlx::query("SELECT status, erased_at FROM applications WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        return Ok(match row {
            None => Erasure::NotFound,
            Some(r) if r.try_get::<Option<i64>, _>("erased_at")?.is_some() => Erasure::AlreadyErased,
            Some(r) => {
                let status: String = r.try_get("status")?;
                Erasure::Live(Status::parse(&status).ok_or_else(|| sqlx::Error::Decode("status".into()))?)
            }
        });
    }
    let emails: Vec<NotificationId> = sqlx::query("SELECT id FROM notifications WHERE application_id = $1")
        .bind(id.to_string())
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| super::id_column(r, "id"))
        .collect::<sqlx::Result<_>>()?;
    for held in CATALOGUE {
        let sql = match held.erase {
            Erase::Keep => continue,
            Erase::Delete => format!("DELETE FROM {} WHERE {} = $1", held.table, held.key),
            Erase::Overwrite(set) => format!("UPDATE {} SET {set} WHERE {} = $1", held.table, held.key),
        };
        sqlx::query(AssertSqlSafe(sql)).bind(id.to_string()).execute(&mut *tx).await?;
    }
    let mut sent = None;
    if let Some(n) = confirmation
        && super::notifications::insert(&mut tx, n, now).await?
    {
        sent = Some(n.id);
    }
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, application_id, detail, request_id) VALUES ($1, $2, 'erase personal data', $3, $4, $5)",
    )
    .bind(to_ms(now))
    .bind(actor)
    .bind(id.to_string())
    .bind(why)
    .bind(request_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Erasure::Erased { emails, confirmation: sent })
}

/// Deletes the `.eml` files of these emails from the embedded outbox folder (a missing file
/// is not an error: it may never have been written, or erased before).
pub fn delete_eml(dir: &std::path::Path, emails: &[NotificationId]) -> std::io::Result<usize> {
    let mut n = 0;
    for id in emails {
        match std::fs::remove_file(dir.join(format!("{id}.eml"))) {
            Ok(()) => n += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// An application the retention rules may erase, with what the rules need to know.
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionCandidate {
    pub id: ApplicationId,
    pub scheme_id: String,
    pub status: Status,
    pub withdrawn_at: Option<Timestamp>,
}

/// Applications in a final state, not yet erased, in schemes that closed before `closed_before`
/// (withdrawn ones in any scheme), with when they withdrew: one query, keyset by id.
pub async fn retention_candidates(db: &Db, after: Option<&str>, limit: i64) -> sqlx::Result<Vec<RetentionCandidate>> {
    let finals: Vec<String> = Status::ALL
        .iter()
        .filter(|s| s.is_final() && **s != Status::Placed)
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    let sql = format!(
        "SELECT a.id, a.scheme_id, a.status,
                (SELECT MAX(e.at) FROM application_events e WHERE e.application_id = a.id AND e.to_status = 'withdrawn') AS withdrawn_at
         FROM applications a
         WHERE a.erased_at IS NULL AND a.status IN ({}) AND a.id > $1
         ORDER BY a.id LIMIT $2",
        finals.join(", ")
    );
    let rows = sqlx::query(AssertSqlSafe(sql)).bind(after.unwrap_or("")).bind(limit).fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            let status: String = r.try_get("status")?;
            Ok(RetentionCandidate {
                id: super::id_column(r, "id")?,
                scheme_id: r.try_get("scheme_id")?,
                status: Status::parse(&status).ok_or_else(|| sqlx::Error::Decode("status".into()))?,
                withdrawn_at: r.try_get::<Option<i64>, _>("withdrawn_at")?.map(from_ms).transpose()?,
            })
        })
        .collect()
}

/// The tables of the database and their text columns (to search them all for a person).
pub async fn text_columns(db: &Db) -> sqlx::Result<BTreeMap<String, Vec<String>>> {
    let sql = match db.kind() {
        crate::settings::DatabaseKind::Sqlite => {
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations' AND p.type = 'TEXT'"
        }
        crate::settings::DatabaseKind::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS t, CAST(column_name AS TEXT) AS c FROM information_schema.columns
             WHERE table_schema = current_schema() AND data_type = 'text' AND table_name <> '_sqlx_migrations'"
        }
    };
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in sqlx::query(sql).fetch_all(db.pool()).await? {
        out.entry(r.try_get::<String, _>("t")?).or_default().push(r.try_get("c")?);
    }
    Ok(out)
}

/// The tables that have a column naming an application.
pub async fn tables_with_application_id(db: &Db) -> sqlx::Result<Vec<String>> {
    let sql = match db.kind() {
        crate::settings::DatabaseKind::Sqlite => {
            "SELECT m.name AS t FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND p.name = 'application_id' ORDER BY m.name"
        }
        crate::settings::DatabaseKind::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS t FROM information_schema.columns
             WHERE table_schema = current_schema() AND column_name = 'application_id' ORDER BY table_name"
        }
    };
    sqlx::query(sql).fetch_all(db.pool()).await?.iter().map(|r| r.try_get("t")).collect()
}

/// Each email's template and the data it was written with (for the export's subjects).
pub async fn email_subjects_context(
    db: &Db,
    id: ApplicationId,
) -> sqlx::Result<std::collections::HashMap<String, (String, Value)>> {
    let rows = sqlx::query("SELECT id, template, context FROM notifications WHERE application_id = $1")
        .bind(id.to_string())
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let context: String = r.try_get("context")?;
            Ok((r.try_get("id")?, (r.try_get("template")?, serde_json::from_str(&context).unwrap_or(Value::Null))))
        })
        .collect()
}
