//! Schemes: loaded from files at start-up and posted by recruiters. The full
//! definition is kept as JSON; streams also get rows of their own so later
//! set-based SQL (sift, metrics) can join on them.

use jiff::Timestamp;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Db, Unique, from_ms, is_unique_violation, to_ms};
use crate::domain::auth::hex;
use crate::domain::ids::SchemeId;
use crate::domain::scheme::SchemeDefinition;

#[derive(Debug, Clone, PartialEq)]
pub struct StoredScheme {
    pub definition: SchemeDefinition,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Upsert {
    Created,
    Updated,
    Unchanged,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("a scheme with id {0} already exists")]
    Exists(SchemeId),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn hash(def: &SchemeDefinition) -> (String, String) {
    let json = serde_json::to_string(def).expect("a scheme definition always serialises");
    let h = hex(&Sha256::digest(json.as_bytes()));
    (json, h)
}

async fn insert_streams(tx: &mut sqlx::Transaction<'_, sqlx::Any>, def: &SchemeDefinition) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM streams WHERE scheme_id = $1").bind(def.id.as_str()).execute(&mut **tx).await?;
    for (pos, s) in def.streams.iter().enumerate() {
        sqlx::query("INSERT INTO streams (scheme_id, id, name, places, position) VALUES ($1, $2, $3, $4, $5)")
            .bind(def.id.as_str())
            .bind(s.id.as_str())
            .bind(&s.name)
            .bind(i64::from(s.total_places()))
            .bind(pos as i64)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Inserts the scheme row; `ON CONFLICT DO NOTHING` when `quiet`. Returns rows inserted.
async fn insert_row(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    def: &SchemeDefinition,
    json: &str,
    hash: &str,
    now: Timestamp,
    quiet: bool,
) -> sqlx::Result<u64> {
    let sql = if quiet {
        "INSERT INTO schemes (id, name, definition, definition_hash, opens_at, closes_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (id) DO NOTHING"
    } else {
        "INSERT INTO schemes (id, name, definition, definition_hash, opens_at, closes_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
    };
    Ok(sqlx::query(sql)
        .bind(def.id.as_str())
        .bind(&def.name)
        .bind(json)
        .bind(hash)
        .bind(to_ms(def.opens_at))
        .bind(to_ms(def.closes_at))
        .bind(to_ms(now))
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

/// Creates a new scheme; an existing id is a conflict (recruiters' POST).
pub async fn create(db: &Db, def: &SchemeDefinition, now: Timestamp) -> Result<(), CreateError> {
    let (json, h) = hash(def);
    let mut tx = db.begin().await?;
    match insert_row(&mut tx, def, &json, &h, now, false).await {
        Err(e) if is_unique_violation(&e, Unique::Scheme) => {
            return Err(CreateError::Exists(def.id.clone()));
        }
        other => other?,
    };
    insert_streams(&mut tx, def).await?;
    super::centres::upsert_all(&mut tx, def.id.as_str(), &def.assessment_centres, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Loads a scheme file's definition: creates it, updates it if the file changed, or leaves it.
/// Safe to run from many processes at once (the insert is `ON CONFLICT DO NOTHING`).
pub async fn upsert(db: &Db, def: &SchemeDefinition, now: Timestamp) -> sqlx::Result<Upsert> {
    let (json, h) = hash(def);
    let mut tx = db.begin().await?;
    let inserted = insert_row(&mut tx, def, &json, &h, now, true).await?;
    let outcome = if inserted == 1 {
        Upsert::Created
    } else {
        let updated = sqlx::query(
            "UPDATE schemes SET name = $2, definition = $3, definition_hash = $4, opens_at = $5, closes_at = $6,
             updated_at = $7 WHERE id = $1 AND definition_hash <> $4 AND edited_at IS NULL",
        )
        .bind(def.id.as_str())
        .bind(&def.name)
        .bind(&json)
        .bind(&h)
        .bind(to_ms(def.opens_at))
        .bind(to_ms(def.closes_at))
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 1 { Upsert::Updated } else { Upsert::Unchanged }
    };
    if outcome != Upsert::Unchanged {
        insert_streams(&mut tx, def).await?;
        super::centres::upsert_all(&mut tx, def.id.as_str(), &def.assessment_centres, now).await?;
    }
    tx.commit().await?;
    Ok(outcome)
}

/// Replaces a scheme's definition (a recruiter's change), compare-and-set on the definition
/// it was computed from, so a concurrent change is not silently lost. `false`: it changed
/// meanwhile. Scheme files no longer update it afterwards.
pub async fn update(db: &Db, old: &SchemeDefinition, new: &SchemeDefinition, now: Timestamp) -> sqlx::Result<bool> {
    let (_, old_hash) = hash(old);
    let (json, h) = hash(new);
    let mut tx = db.begin().await?;
    let updated = sqlx::query(
        "UPDATE schemes SET name = $2, definition = $3, definition_hash = $4, opens_at = $5, closes_at = $6,
         updated_at = $7, edited_at = $7 WHERE id = $1 AND definition_hash = $8",
    )
    .bind(new.id.as_str())
    .bind(&new.name)
    .bind(&json)
    .bind(&h)
    .bind(to_ms(new.opens_at))
    .bind(to_ms(new.closes_at))
    .bind(to_ms(now))
    .bind(&old_hash)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Ok(false);
    }
    insert_streams(&mut tx, new).await?;
    super::centres::upsert_all(&mut tx, new.id.as_str(), &new.assessment_centres, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Every scheme, open or not, soonest closing first (for staff).
pub async fn list_all(db: &Db) -> sqlx::Result<Vec<StoredScheme>> {
    let rows = sqlx::query("SELECT definition, created_at, updated_at FROM schemes ORDER BY closes_at, id")
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

fn from_row(row: &sqlx::any::AnyRow) -> sqlx::Result<StoredScheme> {
    let json: String = row.try_get("definition")?;
    let definition = serde_json::from_str(&json).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(StoredScheme {
        definition,
        created_at: from_ms(row.try_get("created_at")?)?,
        updated_at: from_ms(row.try_get("updated_at")?)?,
    })
}

pub async fn get(db: &Db, id: &str) -> sqlx::Result<Option<StoredScheme>> {
    let row = sqlx::query("SELECT definition, created_at, updated_at FROM schemes WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Schemes taking applications at `now`, soonest closing first.
pub async fn list_open(db: &Db, now: Timestamp) -> sqlx::Result<Vec<StoredScheme>> {
    let rows = sqlx::query(
        "SELECT definition, created_at, updated_at FROM schemes
         WHERE opens_at <= $1 AND closes_at > $1 ORDER BY closes_at, id",
    )
    .bind(to_ms(now))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(from_row).collect()
}
