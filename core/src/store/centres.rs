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
