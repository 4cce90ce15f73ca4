//! The audit log: who read or changed what on an application. `detail` never
//! holds personal data — only what kind of read or change it was.

use jiff::Timestamp;

use super::{Db, to_ms};
use crate::domain::auth::Caller;
use crate::domain::ids::ApplicationId;

pub async fn record(
    db: &Db,
    caller: &Caller,
    action: &str,
    application: Option<ApplicationId>,
    now: Timestamp,
) -> sqlx::Result<()> {
    record_detail(db, caller, action, application, None, now).await
}

/// An audit entry with a detail that names what was acted on (an id, never personal data).
pub async fn record_detail(
    db: &Db,
    caller: &Caller,
    action: &str,
    application: Option<ApplicationId>,
    detail: Option<&str>,
    now: Timestamp,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO audit_log (at, actor, action, application_id, detail) VALUES ($1, $2, $3, $4, $5)")
        .bind(to_ms(now))
        .bind(format!("{}:{}", caller.role.as_str(), caller.token_id))
        .bind(action)
        .bind(application.map(|a| a.to_string()))
        .bind(detail)
        .execute(db.pool())
        .await?;
    Ok(())
}
