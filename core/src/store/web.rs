//! What the pages keep (SPEC §7): browser sessions (tokens that expire), one-time sign-in
//! links, and application drafts. Every secret is stored as its SHA-256 hash only; the
//! secret itself lives in the person's cookie or email.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use sqlx::{AssertSqlSafe, Row};

use super::{Db, to_ms};
use crate::domain::auth::{token_from_bytes, token_hash};
use crate::domain::ids::{ApplicationId, TokenId};

/// A new applicant session for one application: a token that expires after `ttl`. Returns
/// the secret for the cookie.
pub async fn open_session(
    db: &Db,
    application: ApplicationId,
    now: Timestamp,
    ttl: SignedDuration,
) -> sqlx::Result<String> {
    let secret = token_from_bytes(rand::random());
    sqlx::query(
        "INSERT INTO tokens (id, token_hash, role, name, application_id, created_at, expires_at)
         VALUES ($1, $2, 'applicant', 'browser session', $3, $4, $5)",
    )
    .bind(TokenId::new_v7().to_string())
    .bind(token_hash(&secret))
    .bind(application.to_string())
    .bind(to_ms(now))
    .bind(to_ms(now + ttl))
    .execute(db.pool())
    .await?;
    Ok(secret)
}

/// Ends a session (sign out): its token stops working at once.
pub async fn close_session(db: &Db, secret: &str, now: Timestamp) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE tokens SET revoked_at = $2 WHERE token_hash = $1 AND expires_at IS NOT NULL AND revoked_at IS NULL",
    )
    .bind(token_hash(secret))
    .bind(to_ms(now))
    .execute(db.pool())
    .await?;
    Ok(())
}

/// A sign-in link to mint: for an application, landing on `next` (a path of the site).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRequest {
    pub application: ApplicationId,
    pub next: String,
}

/// Mints one-time links in one statement; returns their secrets in the order asked.
pub async fn mint_links(
    db: &Db,
    links: &[LinkRequest],
    now: Timestamp,
    ttl: SignedDuration,
) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String, String)> = links.iter().map(|l| (l.application.to_string(), l.next.clone())).collect();
    mint_into(db, LinkTable::Applicants, &rows, now, ttl).await
}

/// Where one-time links are kept: applicants' (by application) or staff members' (by account).
#[derive(Debug, Clone, Copy)]
pub(crate) enum LinkTable {
    Applicants,
    Staff,
}

/// Mints one-time links for (owner, landing page) pairs into `table`, in one statement.
pub(crate) async fn mint_into(
    db: &Db,
    table: LinkTable,
    links: &[(String, String)],
    now: Timestamp,
    ttl: SignedDuration,
) -> sqlx::Result<Vec<String>> {
    if links.is_empty() {
        return Ok(Vec::new());
    }
    let (name, owner) = match table {
        LinkTable::Applicants => ("sign_in_links", "application_id"),
        LinkTable::Staff => ("staff_links", "staff_id"),
    };
    // 128 bits: ample for a secret that works once and expires, and short enough that the
    // link stays whole on its own line of a plain-text email (no soft line break).
    let secrets: Vec<String> = links
        .iter()
        .map(|_| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, rand::random::<[u8; 16]>()))
        .collect();
    let rows: Vec<String> =
        (0..links.len()).map(|i| format!("(${}, ${}, ${}, $1, $2)", i * 3 + 3, i * 3 + 4, i * 3 + 5)).collect();
    let sql = format!(
        "INSERT INTO {name} (token_hash, {owner}, next_path, created_at, expires_at) VALUES {}",
        rows.join(", ")
    );
    // Safe: table and column names are fixed above, and every value is bound.
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(to_ms(now)).bind(to_ms(now + ttl));
    for ((who, next), secret) in links.iter().zip(&secrets) {
        q = q.bind(token_hash(secret)).bind(who.clone()).bind(next.clone());
    }
    q.execute(db.pool()).await?;
    Ok(secrets)
}

/// Where a redeemed link leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redeemed {
    pub application: ApplicationId,
    pub next: String,
}

/// Uses a link: it works once, before it expires. `None`: unknown, used, or expired.
pub async fn redeem_link(db: &Db, secret: &str, now: Timestamp) -> sqlx::Result<Option<Redeemed>> {
    let row = sqlx::query(
        "UPDATE sign_in_links SET used_at = $2
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
         RETURNING application_id, next_path",
    )
    .bind(token_hash(secret))
    .bind(to_ms(now))
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let app: String = row.try_get("application_id")?;
    Ok(Some(Redeemed {
        application: app.parse().map_err(|_| sqlx::Error::Decode("bad application_id in sign_in_links".into()))?,
        next: row.try_get("next_path")?,
    }))
}

/// The applications (id and details JSON) made with an address, in any scheme.
pub async fn applications_by_email(db: &Db, email: &str) -> sqlx::Result<Vec<(ApplicationId, String, Value)>> {
    let rows = sqlx::query("SELECT id, scheme_id, details FROM applications WHERE email_norm = $1 ORDER BY id")
        .bind(email.trim().to_lowercase())
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            let details: String = r.try_get("details")?;
            Ok((
                id.parse().map_err(|_| sqlx::Error::Decode("bad id in applications".into()))?,
                r.try_get("scheme_id")?,
                serde_json::from_str(&details).unwrap_or(Value::Null),
            ))
        })
        .collect()
}

/// A half-filled form, as the browser typed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub scheme_id: String,
    /// Page field → what was typed (a string, or an array for repeated fields).
    pub answers: serde_json::Map<String, Value>,
    /// Set once submitted: a resubmission answers with this application.
    pub application_id: Option<ApplicationId>,
}

pub async fn draft(db: &Db, key: &str, now: Timestamp) -> sqlx::Result<Option<Draft>> {
    let row = sqlx::query(
        "SELECT scheme_id, answers, application_id FROM application_drafts WHERE key_hash = $1 AND expires_at > $2",
    )
    .bind(token_hash(key))
    .bind(to_ms(now))
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let answers: String = row.try_get("answers")?;
    let app: Option<String> = row.try_get("application_id")?;
    Ok(Some(Draft {
        scheme_id: row.try_get("scheme_id")?,
        answers: serde_json::from_str(&answers).unwrap_or_default(),
        application_id: app.and_then(|a| a.parse().ok()),
    }))
}

/// Saves the answers so far (creating the draft, or starting it again for another scheme).
pub async fn save_draft(
    db: &Db,
    key: &str,
    scheme_id: &str,
    answers: &serde_json::Map<String, Value>,
    now: Timestamp,
    ttl: SignedDuration,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO application_drafts (key_hash, scheme_id, answers, created_at, updated_at, expires_at)
         VALUES ($1, $2, $3, $4, $4, $5)
         ON CONFLICT (key_hash) DO UPDATE SET scheme_id = excluded.scheme_id, answers = excluded.answers,
             updated_at = excluded.updated_at, expires_at = excluded.expires_at",
    )
    .bind(token_hash(key))
    .bind(scheme_id)
    .bind(Value::Object(answers.clone()).to_string())
    .bind(to_ms(now))
    .bind(to_ms(now + ttl))
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records the application a draft became; the answers are dropped (the application holds them).
pub async fn draft_submitted(db: &Db, key: &str, application: ApplicationId, now: Timestamp) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE application_drafts SET application_id = $2, answers = '{}', updated_at = $3 WHERE key_hash = $1",
    )
    .bind(token_hash(key))
    .bind(application.to_string())
    .bind(to_ms(now))
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Deletes expired drafts, links and browser sessions. Returns how many rows went.
pub async fn vacuum(db: &Db, now: Timestamp) -> sqlx::Result<u64> {
    let now = to_ms(now);
    let mut n = 0;
    for sql in [
        "DELETE FROM application_drafts WHERE expires_at <= $1",
        "DELETE FROM sign_in_links WHERE expires_at <= $1",
        "DELETE FROM staff_links WHERE expires_at <= $1",
        "DELETE FROM tokens WHERE expires_at IS NOT NULL AND expires_at <= $1",
    ] {
        n += sqlx::query(sql).bind(now).execute(db.pool()).await?.rows_affected();
    }
    Ok(n)
}

/// A new random secret for a cookie (a draft's key).
pub fn new_secret() -> String {
    token_from_bytes(rand::random())
}
