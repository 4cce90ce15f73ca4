//! Staff accounts, their one-time sign-in links and their sessions (SPEC §2, §7). A session
//! is a row of `tokens` with the account's role and `staff_id`, expiring: the role matrix
//! reads it exactly as it reads an API token. Secrets are stored as SHA-256 hashes only.

use jiff::{SignedDuration, Timestamp};
use sqlx::Row;

use super::{Db, Unique, from_ms, is_unique_violation, to_ms};
use crate::domain::auth::{Caller, Role, token_from_bytes, token_hash};
use crate::domain::ids::TokenId;
use crate::domain::staff::NewStaff;

/// A staff account as admins and its owner see it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StaffAccount {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub assessor_id: Option<String>,
    pub created_at: Timestamp,
    pub created_by: String,
    pub disabled_at: Option<Timestamp>,
}

const COLUMNS: &str = "id, email, name, role, assessor_id, created_at, created_by, disabled_at";

fn account(r: &sqlx::any::AnyRow) -> sqlx::Result<StaffAccount> {
    Ok(StaffAccount {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        role: super::enum_column(r, "role", Role::parse)?,
        assessor_id: r.try_get("assessor_id")?,
        created_at: from_ms(r.try_get("created_at")?)?,
        created_by: r.try_get("created_by")?,
        disabled_at: r.try_get::<Option<i64>, _>("disabled_at")?.map(from_ms).transpose()?,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("there is already a staff account for this address")]
    Exists,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Creates an account; `by` is who made it (an actor, or "cli").
pub async fn create(db: &Db, new: &NewStaff, by: &str, now: Timestamp) -> Result<StaffAccount, CreateError> {
    let id = uuid::Uuid::now_v7().to_string();
    let res = sqlx::query(
        "INSERT INTO staff (id, email, email_norm, name, role, assessor_id, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(new.email.as_str())
    .bind(new.email.as_str().to_lowercase())
    .bind(&new.name)
    .bind(new.role.as_str())
    .bind(new.assessor_id.as_deref())
    .bind(to_ms(now))
    .bind(by)
    .execute(db.pool())
    .await;
    match res {
        Ok(_) => Ok(StaffAccount {
            id,
            email: new.email.as_str().to_owned(),
            name: new.name.clone(),
            role: new.role,
            assessor_id: new.assessor_id.clone(),
            created_at: now,
            created_by: by.to_owned(),
            disabled_at: None,
        }),
        Err(e) if is_unique_violation(&e, Unique::StaffEmail) => Err(CreateError::Exists),
        Err(e) => Err(e.into()),
    }
}

/// Every account, by name.
pub async fn list(db: &Db) -> sqlx::Result<Vec<StaffAccount>> {
    let sql = format!("SELECT {COLUMNS} FROM staff ORDER BY name, id");
    sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(db.pool()).await?.iter().map(account).collect()
}

pub async fn get(db: &Db, id: &str) -> sqlx::Result<Option<StaffAccount>> {
    let sql = format!("SELECT {COLUMNS} FROM staff WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(db.pool()).await?.as_ref().map(account).transpose()
}

/// The enabled account of an address (as typed: case and spaces do not matter).
pub async fn by_email(db: &Db, email: &str) -> sqlx::Result<Option<StaffAccount>> {
    let sql = format!("SELECT {COLUMNS} FROM staff WHERE email_norm = $1 AND disabled_at IS NULL");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(email.trim().to_lowercase())
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(account)
        .transpose()
}

/// Disables an account and ends its sessions at once, in one transaction. False: no such
/// account. Disabling again keeps the first time.
pub async fn disable(db: &Db, id: &str, now: Timestamp) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let found = sqlx::query("UPDATE staff SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1")
        .bind(id)
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query("UPDATE tokens SET revoked_at = $2 WHERE staff_id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(found == 1)
}

/// Mints one-time sign-in links for accounts, landing on `next`, in one statement. Returns
/// their secrets in the order asked.
pub async fn mint_links(
    db: &Db,
    links: &[(String, String)],
    now: Timestamp,
    ttl: SignedDuration,
) -> sqlx::Result<Vec<String>> {
    super::web::mint_into(db, super::web::LinkTable::Staff, links, now, ttl).await
}

/// Uses a link (once, before it expires, for an account still enabled) and opens a session
/// for its account in the same transaction. Returns the session secret, the account and
/// where the link leads; `None`: unknown, used, expired, or the account is disabled.
pub async fn redeem_link(
    db: &Db,
    secret: &str,
    now: Timestamp,
    session_ttl: SignedDuration,
) -> sqlx::Result<Option<(String, StaffAccount, String)>> {
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "UPDATE staff_links SET used_at = $2
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
         RETURNING staff_id, next_path",
    )
    .bind(token_hash(secret))
    .bind(to_ms(now))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let staff_id: String = row.try_get("staff_id")?;
    let next: String = row.try_get("next_path")?;
    let sql = format!("SELECT {COLUMNS} FROM staff WHERE id = $1 AND disabled_at IS NULL");
    let Some(acc) = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&staff_id)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(account)
        .transpose()?
    else {
        // The used mark stays: a link of a disabled account is spent too.
        tx.commit().await?;
        return Ok(None);
    };
    let session = token_from_bytes(rand::random());
    sqlx::query(
        "INSERT INTO tokens (id, token_hash, role, name, assessor_id, staff_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(TokenId::new_v7().to_string())
    .bind(token_hash(&session))
    .bind(acc.role.as_str())
    .bind(format!("session of {}", acc.name))
    .bind(acc.assessor_id.as_deref())
    .bind(&acc.id)
    .bind(to_ms(now))
    .bind(to_ms(now + session_ttl))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some((session, acc, next)))
}

/// Who a staff session cookie stands for: the caller (as the role matrix reads it) and the
/// account. `None`: unknown, ended, expired, or not a staff session.
pub async fn session(db: &Db, secret: &str, now: Timestamp) -> sqlx::Result<Option<(Caller, StaffAccount)>> {
    let row = sqlx::query(
        "SELECT t.id AS token_id, s.id, s.email, s.name, s.role, s.assessor_id, s.created_at, s.created_by,
                s.disabled_at
         FROM tokens t JOIN staff s ON s.id = t.staff_id
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 AND s.disabled_at IS NULL",
    )
    .bind(token_hash(secret))
    .bind(to_ms(now))
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let acc = account(&row)?;
    let token: String = row.try_get("token_id")?;
    let caller = Caller {
        token_id: token.parse().map_err(|_| sqlx::Error::Decode("bad id in tokens".into()))?,
        role: acc.role,
        application_id: None,
        assessor_id: acc.assessor_id.clone(),
        admin_reads_applications: false,
        request_id: None,
    };
    Ok(Some((caller, acc)))
}

/// Ends a staff session (sign out).
pub async fn close_session(db: &Db, secret: &str, now: Timestamp) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE tokens SET revoked_at = $2 WHERE token_hash = $1 AND staff_id IS NOT NULL AND revoked_at IS NULL",
    )
    .bind(token_hash(secret))
    .bind(to_ms(now))
    .execute(db.pool())
    .await?;
    Ok(())
}
