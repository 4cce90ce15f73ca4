//! Assessment centres, one row each with the definition as JSON.

use jiff::Timestamp;
use sqlx::{Any, Row};

use super::{Db, Unique, is_unique_violation, to_ms};
use crate::domain::centres::AssessmentCentre;

#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error("an assessment centre with id {0} already exists for this scheme")]
    Exists(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Inserts or replaces the centres a scheme file defines (inside the scheme's transaction).
pub async fn upsert_all(
    tx: &mut sqlx::Transaction<'_, Any>,
    scheme: &str,
    centres: &[AssessmentCentre],
    now: Timestamp,
) -> sqlx::Result<()> {
    for c in centres {
        sqlx::query(
            "INSERT INTO assessment_centres (scheme_id, id, date, definition, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (scheme_id, id) DO UPDATE SET date = $3, definition = $4",
        )
        .bind(scheme)
        .bind(&c.id)
        .bind(c.date.to_string())
        .bind(serde_json::to_string(c).expect("a centre serialises"))
        .bind(to_ms(now))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A recruiter adds a centre; an existing id is a conflict.
pub async fn add(db: &Db, scheme: &str, c: &AssessmentCentre, now: Timestamp) -> Result<(), AddError> {
    let r = sqlx::query(
        "INSERT INTO assessment_centres (scheme_id, id, date, definition, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(scheme)
    .bind(&c.id)
    .bind(c.date.to_string())
    .bind(serde_json::to_string(c).expect("a centre serialises"))
    .bind(to_ms(now))
    .execute(db.pool())
    .await;
    match r {
        Err(e) if is_unique_violation(&e, Unique::AssessmentCentre) => Err(AddError::Exists(c.id.clone())),
        other => other.map(drop).map_err(Into::into),
    }
}

/// A scheme's centres, by date then id.
pub async fn list(db: &Db, scheme: &str) -> sqlx::Result<Vec<AssessmentCentre>> {
    let rows = sqlx::query("SELECT definition FROM assessment_centres WHERE scheme_id = $1 ORDER BY date, id")
        .bind(scheme)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let d: String = r.try_get("definition")?;
            serde_json::from_str(&d).map_err(|e| sqlx::Error::Decode(Box::new(e)))
        })
        .collect()
}

/// Every scheme's centres, by scheme and date (for an assessor's list of sessions).
pub async fn list_all(db: &Db) -> sqlx::Result<Vec<(String, AssessmentCentre)>> {
    let rows = sqlx::query("SELECT scheme_id, definition FROM assessment_centres ORDER BY scheme_id, date, id")
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let d: String = r.try_get("definition")?;
            Ok((r.try_get("scheme_id")?, serde_json::from_str(&d).map_err(|e| sqlx::Error::Decode(Box::new(e)))?))
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum AddSessionError {
    #[error("no such assessment centre")]
    NoCentre,
    /// The centre with the session added breaks a rule: the reasons, by field.
    #[error("{0}")]
    Invalid(crate::domain::validation::FieldErrors),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Adds a session to a centre: the centre with it must pass every rule a centre does
/// (session ids unique, times in order …). A compare-and-set on the stored definition, tried
/// again if another change came first, so two additions never lose one.
pub async fn add_session(
    db: &Db,
    scheme: &str,
    centre: &str,
    session: &serde_json::Value,
) -> Result<AssessmentCentre, AddSessionError> {
    loop {
        let row = sqlx::query("SELECT definition FROM assessment_centres WHERE scheme_id = $1 AND id = $2")
            .bind(scheme)
            .bind(centre)
            .fetch_optional(db.pool())
            .await?
            .ok_or(AddSessionError::NoCentre)?;
        let old: String = row.try_get("definition")?;
        let mut value: serde_json::Value = serde_json::from_str(&old).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        if let Some(sessions) = value.get_mut("sessions").and_then(|s| s.as_array_mut()) {
            sessions.push(session.clone());
        }
        let updated = AssessmentCentre::parse_json(value).map_err(AddSessionError::Invalid)?;
        let changed = sqlx::query(
            "UPDATE assessment_centres SET definition = $4 WHERE scheme_id = $1 AND id = $2 AND definition = $3",
        )
        .bind(scheme)
        .bind(centre)
        .bind(&old)
        .bind(serde_json::to_string(&updated).expect("a centre serialises"))
        .execute(db.pool())
        .await?
        .rows_affected();
        if changed == 1 {
            return Ok(updated);
        }
    }
}
