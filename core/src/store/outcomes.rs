//! Placements, in-post checkpoints and leaving, and the retention counts HR reads.

use std::collections::BTreeMap;

use jiff::Timestamp;
use sqlx::Row;

use super::{Db, to_ms};
use crate::domain::ids::ApplicationId;
use crate::domain::outcomes::{Outcome, Trainee, retention};
use crate::domain::reports::OutcomeCounts;
use crate::domain::status::Status;

#[derive(Debug)]
pub enum RecordError {
    /// This occasion is already recorded.
    Exists(String),
    /// The application is not at the stage this record needs; (its status, what is needed).
    WrongStatus(Status, &'static str),
    NotFound,
    /// It contradicts what is recorded already (e.g. leaving before starting).
    Inconsistent(String),
    Db(sqlx::Error),
}

impl From<sqlx::Error> for RecordError {
    fn from(e: sqlx::Error) -> Self {
        RecordError::Db(e)
    }
}

/// Records one outcome in one transaction. A placement needs an accepted offer and moves
/// the application to `placed`; checkpoints and leaving need a placement.
pub async fn record(
    db: &Db,
    id: ApplicationId,
    outcome: &Outcome,
    actor: &str,
    now: Timestamp,
    today: jiff::civil::Date,
) -> Result<(), RecordError> {
    let key = id.to_string();
    let mut tx = db.begin().await?;
    let row = sqlx::query("SELECT scheme_id, status FROM applications WHERE id = $1")
        .bind(&key)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(RecordError::NotFound)?;
    let scheme: String = row.try_get("scheme_id")?;
    let status = Status::parse(&row.try_get::<String, _>("status")?).ok_or(RecordError::NotFound)?;
    let (org, start, months, in_post, left_on, destination) = match outcome {
        Outcome::Placement { organisation, start_date } => {
            if status != Status::Accepted {
                return Err(RecordError::WrongStatus(status, "accepted"));
            }
            (Some(organisation.clone()), Some(start_date.to_string()), None, None, None, None)
        }
        Outcome::Checkpoint { months, in_post } => {
            if status != Status::Placed {
                return Err(RecordError::WrongStatus(status, "placed"));
            }
            (None, None, Some(i64::from(*months)), Some(i64::from(*in_post)), None, None)
        }
        Outcome::Left { date, destination } => {
            if status != Status::Placed {
                return Err(RecordError::WrongStatus(status, "placed"));
            }
            (None, None, None, None, Some(date.to_string()), Some(destination.clone()))
        }
    };
    if !matches!(outcome, Outcome::Placement { .. }) {
        check_consistent(&mut tx, &key, outcome, today).await?;
    }
    let occasion = outcome.occasion();
    let inserted = sqlx::query(
        "INSERT INTO outcomes (application_id, scheme_id, occasion, organisation_id, start_date, months, in_post, left_on,
           destination, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (application_id, occasion) DO NOTHING",
    )
    .bind(&key)
    .bind(&scheme)
    .bind(&occasion)
    .bind(org)
    .bind(start)
    .bind(months)
    .bind(in_post)
    .bind(left_on)
    .bind(destination)
    .bind(actor)
    .bind(to_ms(now))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(RecordError::Exists(occasion));
    }
    if matches!(outcome, Outcome::Placement { .. })
        && !super::applications::move_in_tx(&mut tx, &key, Status::Accepted, Status::Placed, actor, None, now).await?
    {
        return Err(RecordError::WrongStatus(status, "accepted"));
    }
    tx.commit().await?;
    Ok(())
}

/// A leaving date is not before the start; a trainee recorded in post at a checkpoint did not
/// leave before it (whichever of the two is recorded second is refused).
async fn check_consistent(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    key: &str,
    outcome: &Outcome,
    today: jiff::civil::Date,
) -> Result<(), RecordError> {
    let rows =
        sqlx::query("SELECT occasion, start_date, months, in_post, left_on FROM outcomes WHERE application_id = $1")
            .bind(key)
            .fetch_all(&mut **tx)
            .await?;
    let date = |s: Option<String>| s.and_then(|s| s.parse::<jiff::civil::Date>().ok());
    let mut start = None;
    let mut left = None;
    let mut in_post_at = Vec::new();
    for r in &rows {
        match r.try_get::<String, _>("occasion")?.as_str() {
            "placement" => start = date(r.try_get("start_date")?),
            "left" => left = date(r.try_get("left_on")?),
            _ => {
                if r.try_get::<Option<i64>, _>("in_post")? == Some(1) {
                    in_post_at.push(r.try_get::<Option<i64>, _>("months")?.unwrap_or(0));
                }
            }
        }
    }
    let after = |m: i64| start.and_then(|s| s.checked_add(jiff::Span::new().months(m)).ok());
    match outcome {
        Outcome::Left { date, .. } => {
            if start.is_some_and(|s| *date < s) {
                return Err(RecordError::Inconsistent(format!("the leaving date {date} is before the start date")));
            }
            if let Some(m) = in_post_at.iter().copied().filter(|m| after(*m).is_some_and(|due| *date < due)).max() {
                return Err(RecordError::Inconsistent(format!(
                    "the trainee is recorded in post at {m} months, after {date}"
                )));
            }
        }
        Outcome::Checkpoint { months, in_post: true } => {
            if let (Some(l), Some(due)) = (left, after(i64::from(*months)))
                && l < due
            {
                return Err(RecordError::Inconsistent(format!("the trainee left on {l}, before {months} months")));
            }
        }
        _ => {}
    }
    // Nothing is recorded before it happens: a checkpoint from its date, a leaving on or
    // before today.
    match outcome {
        Outcome::Checkpoint { months, .. } => {
            if let Some(due) = after(i64::from(*months))
                && due > today
            {
                return Err(RecordError::Inconsistent(format!(
                    "the {months}-month checkpoint falls on {due}; it can be recorded from then"
                )));
            }
        }
        Outcome::Left { date, .. } if *date > today => {
            return Err(RecordError::Inconsistent(format!("the leaving date {date} has not come yet")));
        }
        _ => {}
    }
    Ok(())
}

/// The outcomes recorded for an application, by occasion.
pub async fn list(db: &Db, id: ApplicationId) -> sqlx::Result<Vec<serde_json::Value>> {
    let rows = sqlx::query(
        "SELECT occasion, organisation_id, start_date, months, in_post, left_on, destination, recorded_at
         FROM outcomes WHERE application_id = $1 ORDER BY recorded_at, occasion",
    )
    .bind(id.to_string())
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let mut v = serde_json::Map::new();
            v.insert("occasion".into(), r.try_get::<String, _>("occasion")?.into());
            for col in ["organisation_id", "start_date", "left_on", "destination"] {
                if let Some(s) = r.try_get::<Option<String>, _>(col)? {
                    v.insert(col.into(), s.into());
                }
            }
            if let Some(m) = r.try_get::<Option<i64>, _>("months")? {
                v.insert("months".into(), m.into());
            }
            if let Some(p) = r.try_get::<Option<i64>, _>("in_post")? {
                v.insert("in_post".into(), (p != 0).into());
            }
            v.insert("recorded_at".into(), super::from_ms(r.try_get("recorded_at")?)?.to_string().into());
            Ok(serde_json::Value::Object(v))
        })
        .collect()
}

/// The counts behind the profile's AC and retention figures, per stream (reports protect the
/// streams together, so a stream's hidden figure cannot be worked out from the scheme's).
pub async fn counts(db: &Db, scheme: &str) -> sqlx::Result<BTreeMap<String, OutcomeCounts>> {
    let mut out: BTreeMap<String, OutcomeCounts> = BTreeMap::new();
    for (stream, (assessed, appointable)) in super::assessment::appointable_counts(db, scheme).await? {
        let c = out.entry(stream).or_default();
        c.assessed = assessed;
        c.appointable = appointable;
    }
    // One row per outcome recorded (a handful per placed trainee, never per applicant), with
    // the stream of the place they were offered.
    let rows = sqlx::query(
        "SELECT o.application_id, f.stream_id, o.occasion, o.start_date, o.months, o.in_post, o.left_on, o.destination
         FROM outcomes o JOIN offers f ON f.application_id = o.application_id WHERE o.scheme_id = $1",
    )
    .bind(scheme)
    .fetch_all(db.pool())
    .await?;
    let mut trainees: BTreeMap<(String, String), Trainee> = BTreeMap::new();
    let date = |s: Option<String>| s.and_then(|s| s.parse::<jiff::civil::Date>().ok());
    for r in rows {
        let t = trainees.entry((r.try_get("stream_id")?, r.try_get("application_id")?)).or_default();
        match r.try_get::<String, _>("occasion")?.as_str() {
            "placement" => t.start = date(r.try_get("start_date")?),
            "left" => {
                let dest: Option<String> = r.try_get("destination")?;
                t.left = date(r.try_get("left_on")?).map(|d| (d, dest.unwrap_or_else(|| "unknown".into())));
            }
            _ => {
                if let Some(m) = r.try_get::<Option<i64>, _>("months")? {
                    let in_post = r.try_get::<Option<i64>, _>("in_post")? == Some(1);
                    t.checkpoints.insert(u32::try_from(m).unwrap_or(0), in_post);
                }
            }
        }
    }
    let mut by_stream: BTreeMap<String, Vec<Trainee>> = BTreeMap::new();
    for ((stream, _), t) in trainees {
        by_stream.entry(stream).or_default().push(t);
    }
    for (stream, list) in by_stream {
        let (placed, checkpoints, destinations) = retention(&list);
        let c = out.entry(stream).or_default();
        c.placed = placed;
        c.checkpoints = checkpoints;
        c.destinations = destinations;
    }
    Ok(out)
}
