//! Bearer tokens: stored as SHA-256 hashes, found by hash.

use jiff::Timestamp;
use sqlx::Row;

use super::{Db, to_ms};
use crate::domain::auth::{Caller, Role, token_hash};
use crate::domain::ids::{ApplicationId, TokenId};

/// Stores a staff token (recruiter, assessor, hr, admin). The secret itself is not stored.
/// `assessor_id` binds an assessor's token to the assessor of that id in the centres.
pub async fn create_staff(
    db: &Db,
    id: TokenId,
    secret: &str,
    role: Role,
    name: &str,
    assessor_id: Option<&str>,
    now: Timestamp,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO tokens (id, token_hash, role, name, assessor_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.to_string())
    .bind(token_hash(secret))
    .bind(role.as_str())
    .bind(name)
    .bind(assessor_id)
    .bind(to_ms(now))
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The caller a presented token stands for, if it is known, not revoked, and (a browser
/// session) not expired at `now`. A member of staff's browser session is not a token: it
/// works only as the staff pages' cookie (`store::staff::session`).
pub async fn authenticate(db: &Db, secret: &str, now: Timestamp) -> sqlx::Result<Option<Caller>> {
    let row = sqlx::query(
        "SELECT id, role, application_id, assessor_id FROM tokens
         WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) AND staff_id IS NULL",
    )
    .bind(token_hash(secret))
    .bind(to_ms(now))
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let id: String = row.try_get("id")?;
    let role: String = row.try_get("role")?;
    let app: Option<String> = row.try_get("application_id")?;
    let bad = |what: &str| sqlx::Error::Decode(format!("bad {what} in tokens").into());
    Ok(Some(Caller {
        token_id: id.parse::<TokenId>().map_err(|_| bad("id"))?,
        role: Role::parse(&role).ok_or_else(|| bad("role"))?,
        application_id: app.map(|a| a.parse::<ApplicationId>().map_err(|_| bad("application_id"))).transpose()?,
        assessor_id: row.try_get("assessor_id")?,
        admin_reads_applications: false,
        request_id: None,
    }))
}

/// A new random staff token, stored hashed; returns its id and the secret to show once.
pub async fn create_staff_token(
    db: &Db,
    role: Role,
    name: &str,
    assessor_id: Option<&str>,
) -> sqlx::Result<(TokenId, String)> {
    let secret = crate::domain::auth::token_from_bytes(rand::random());
    let id = TokenId::new_v7();
    create_staff(db, id, &secret, role, name, assessor_id, Timestamp::now()).await?;
    Ok((id, secret))
}

/// A staff token as admins see it: never its secret or hash.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StaffToken {
    pub id: String,
    pub role: String,
    pub name: String,
    pub assessor_id: Option<String>,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// Every staff API token, newest first (applicants' tokens and staff members' browser
/// sessions are not listed: sessions end by signing out or by disabling the account).
pub async fn list_staff(db: &Db) -> sqlx::Result<Vec<StaffToken>> {
    let rows = sqlx::query(
        "SELECT id, role, name, assessor_id, created_at, revoked_at FROM tokens
         WHERE role <> 'applicant' AND staff_id IS NULL ORDER BY created_at DESC, id DESC",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StaffToken {
                id: r.try_get("id")?,
                role: r.try_get("role")?,
                name: r.try_get("name")?,
                assessor_id: r.try_get("assessor_id")?,
                created_at: super::from_ms(r.try_get("created_at")?)?.to_string(),
                revoked_at: r
                    .try_get::<Option<i64>, _>("revoked_at")?
                    .map(super::from_ms)
                    .transpose()?
                    .map(|t| t.to_string()),
            })
        })
        .collect()
}

/// Revokes a staff token: it stops working at once. False: no such staff token. Revoking
/// again keeps the first time.
pub async fn revoke_staff(db: &Db, id: TokenId, now: Timestamp) -> sqlx::Result<bool> {
    let found =
        sqlx::query("UPDATE tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 AND role <> 'applicant' AND staff_id IS NULL")
            .bind(id.to_string())
            .bind(to_ms(now))
            .execute(db.pool())
            .await?
            .rows_affected();
    Ok(found == 1)
}
