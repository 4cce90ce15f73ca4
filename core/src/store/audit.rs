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

/// A read by staff (an applicant reading their own is not audited).
pub async fn staff_read(
    db: &Db,
    caller: &Caller,
    action: &str,
    application: Option<ApplicationId>,
    detail: Option<&str>,
    now: Timestamp,
) -> sqlx::Result<()> {
    if caller.role == crate::domain::auth::Role::Applicant {
        return Ok(());
    }
    record_detail(db, caller, action, application, detail, now).await
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
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, application_id, detail, request_id) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(to_ms(now))
    .bind(actor_of(caller))
    .bind(action)
    .bind(application.map(|a| a.to_string()))
    .bind(detail)
    .bind(caller.request_id.as_deref())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// How a caller is named in the audit log and timelines: `role:token id` (never a name).
pub fn actor_of(caller: &Caller) -> String {
    format!("{}:{}", caller.role.as_str(), caller.token_id)
}

/// One entry of the audit log as admins read it: a read or change recorded by the service,
/// or a change of status from an application's timeline (by a person or a job).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Entry {
    /// An opaque position: pass it back as `cursor` for the entries after it.
    pub cursor: String,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub application_id: Option<String>,
    pub detail: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub application: Option<String>,
    pub actor: Option<String>,
    pub since: Option<Timestamp>,
    /// (at ms, source 'a' | 'e', id): the last entry already read.
    pub after: Option<(i64, String, i64)>,
}

/// The audit log and the status changes, oldest first, filtered, keyset-paginated on
/// (time, source, id): each branch is filtered on its own indexes before the merge.
pub async fn read(db: &Db, f: &Filter, limit: i64) -> sqlx::Result<Vec<Entry>> {
    // Only the filters given become SQL (numbered in order), so each branch can use its index.
    let mut conds: Vec<String> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    if let Some(a) = &f.application {
        conds.push(format!("application_id = ${}", next()));
        texts.push(a.clone());
    }
    if let Some(a) = &f.actor {
        conds.push(format!("actor = ${}", next()));
        texts.push(a.clone());
    }
    let since_param = f.since.map(|_| next());
    if let Some(p) = since_param {
        conds.push(format!("at >= ${p}"));
    }
    let filter = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
    let after = match &f.after {
        Some(_) => {
            let (a, s, i) = (next(), next(), next());
            format!("WHERE at > ${a} OR (at = ${a} AND src > ${s}) OR (at = ${a} AND src = ${s} AND id > ${i})")
        }
        None => String::new(),
    };
    let limit_param = next();
    let sql = format!(
        "SELECT at, src, id, actor, action, application_id, detail, request_id FROM (
           SELECT at, 'a' AS src, id, actor, action, application_id, detail, request_id FROM audit_log {filter}
           UNION ALL
           SELECT at, 'e' AS src, id, actor,
                  'status ' || COALESCE(from_status, '(new)') || ' to ' || to_status AS action,
                  application_id, note AS detail, CAST(NULL AS TEXT) AS request_id
           FROM application_events {filter}
         ) x {after}
         ORDER BY at, src, id LIMIT ${limit_param}"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for t in texts {
        q = q.bind(t);
    }
    if let Some(since) = f.since {
        q = q.bind(to_ms(since));
    }
    if let Some((a, s, i)) = f.after.clone() {
        q = q.bind(a).bind(s).bind(i);
    }
    let rows = q.bind(limit).fetch_all(db.pool()).await?;
    use sqlx::Row;
    rows.iter()
        .map(|r| {
            let at: i64 = r.try_get("at")?;
            let src: String = r.try_get("src")?;
            let id: i64 = r.try_get("id")?;
            Ok(Entry {
                cursor: format!("{at}.{src}.{id}"),
                at: super::from_ms(at)?.to_string(),
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                application_id: r.try_get("application_id")?,
                detail: r.try_get("detail")?,
                request_id: r.try_get("request_id")?,
            })
        })
        .collect()
}

/// Reads a cursor given out by `read`.
pub fn parse_cursor(s: &str) -> Option<(i64, String, i64)> {
    let mut parts = s.split('.');
    let at = parts.next()?.parse().ok()?;
    let src = parts.next().filter(|p| *p == "a" || *p == "e")?.to_owned();
    let id = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((at, src, id))
}
