//! Leases: work that exactly one process may do at a time, whatever the number of workers
//! (the daily retention run). Decided by one conditional UPDATE in the database, so two
//! processes asking at once cannot both win; a holder that dies lets go when its lease ends.

use jiff::Timestamp;
use sqlx::Row;

use super::{Db, to_ms};

/// Takes (or renews) the lease `name` for `holder` until `until`, unless another holder's
/// lease is still running or the work was already done on `day`. True: go ahead.
pub async fn take(
    db: &Db,
    name: &str,
    holder: &str,
    day: &str,
    until: Timestamp,
    now: Timestamp,
) -> sqlx::Result<bool> {
    sqlx::query(
        "INSERT INTO leases (name, holder, expires_at, done_on) VALUES ($1, NULL, 0, NULL) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .execute(db.pool())
    .await?;
    let taken = sqlx::query(
        "UPDATE leases SET holder = $2, expires_at = $3
         WHERE name = $1 AND (done_on IS NULL OR done_on < $5)
           AND (holder IS NULL OR holder = $2 OR expires_at <= $4)",
    )
    .bind(name)
    .bind(holder)
    .bind(to_ms(until))
    .bind(to_ms(now))
    .bind(day)
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(taken == 1)
}

/// Marks the work of `day` done and lets go, if `holder` still holds the lease.
pub async fn finish(db: &Db, name: &str, holder: &str, day: &str) -> sqlx::Result<bool> {
    let done =
        sqlx::query("UPDATE leases SET holder = NULL, expires_at = 0, done_on = $3 WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .bind(day)
            .execute(db.pool())
            .await?
            .rows_affected();
    Ok(done == 1)
}

/// Lets go without marking the day done (the work failed; another process may try).
pub async fn release(db: &Db, name: &str, holder: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE leases SET holder = NULL, expires_at = 0 WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The last day the work was done.
pub async fn done_on(db: &Db, name: &str) -> sqlx::Result<Option<String>> {
    let row = sqlx::query("SELECT done_on FROM leases WHERE name = $1").bind(name).fetch_optional(db.pool()).await?;
    Ok(match row {
        Some(r) => r.try_get("done_on")?,
        None => None,
    })
}
