//! The recruiters' list of a scheme's applicants: search, filters, two orders, keyset pages.
//! One statement per page, on the (scheme, [status,] created_at, id) indexes; no equality
//! answer is read.

use sqlx::{AssertSqlSafe, Row};

use super::{Db, from_ms};
use crate::domain::status::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Newest first.
    Submitted,
    /// Highest composite test score first (unscored last).
    Score,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    DisabilityConfident,
    Adjustments,
    /// Some email to them is dead.
    DeadEmail,
}

#[derive(Debug, Clone, Default)]
pub struct Query {
    /// A name, an email address or a reference, matched case-blind (name and address: any part).
    pub q: Option<String>,
    pub statuses: Vec<Status>,
    /// The stream ranked first.
    pub stream: Option<String>,
    pub flags: Vec<Flag>,
    pub sort: Option<Sort>,
    /// The last row of the previous page: (sort key, id).
    pub after: Option<(f64, String)>,
    /// Only these references (a selection on the list page).
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ApplicantRow {
    pub id: String,
    /// None where the scheme is name-blind and the application has not reached its
    /// `names_from` stage (or once erased).
    pub name: Option<String>,
    pub email: Option<String>,
    pub status: String,
    pub first_stream: String,
    pub submitted_at: String,
    pub composite: Option<f64>,
    pub disability_confident: bool,
    pub adjustments: bool,
    pub erased: bool,
    /// Pass back as `cursor` for the rows after this one.
    pub cursor: String,
}

enum Arg {
    Text(String),
    Real(f64),
    Int(i64),
}

/// One page of the list (`limit` rows). `names_from`: where the scheme is name-blind, the
/// stage an application must have reached for its name to show.
pub async fn list(
    db: &Db,
    scheme: &str,
    names_from: Option<Status>,
    query: &Query,
    limit: i64,
) -> sqlx::Result<Vec<ApplicantRow>> {
    let sort = query.sort.unwrap_or(Sort::Submitted);
    let mut args: Vec<Arg> = vec![Arg::Text(scheme.to_owned())];
    let mut arg = |v: Arg| {
        args.push(v);
        format!("${}", args.len())
    };
    let mut conds: Vec<String> = vec!["a.scheme_id = $1".into()];
    let names = match names_from {
        None => "a.search_name IS NOT NULL".to_owned(),
        Some(stage) => format!(
            // The applications that reached the stage, from the events' (to_status, id) index:
            // a name search in a name-blind scheme is driven from them, not from every row.
            "a.id IN (SELECT e.application_id FROM application_events e WHERE e.to_status = {})",
            arg(Arg::Text(stage.as_str().to_owned()))
        ),
    };
    // A name or address matches only where the list may show it (a name-blind scheme's
    // search must not tell who applied); a reference always matches.
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let q = q.to_lowercase();
        if q.parse::<crate::domain::ids::ApplicationId>().is_ok() {
            // A reference: one primary-key probe.
            conds.push(format!("a.id = {}", arg(Arg::Text(q))));
        } else {
            // Any part of a name or address: the cheap LIKEs first, then (name-blind) the stage.
            let like = arg(Arg::Text(format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))));
            conds.push(format!(
                "(a.search_name LIKE {like} ESCAPE '\\' OR a.email_norm LIKE {like} ESCAPE '\\') AND ({names})"
            ));
        }
    }
    if !query.statuses.is_empty() {
        let list: Vec<String> = query.statuses.iter().map(|s| arg(Arg::Text(s.as_str().to_owned()))).collect();
        conds.push(format!("a.status IN ({})", list.join(", ")));
    }
    if !query.ids.is_empty() {
        let list: Vec<String> = query.ids.iter().map(|id| arg(Arg::Text(id.to_lowercase()))).collect();
        conds.push(format!("a.id IN ({})", list.join(", ")));
    }
    if let Some(stream) = &query.stream {
        conds.push(format!("a.first_stream = {}", arg(Arg::Text(stream.clone()))));
    }
    for f in &query.flags {
        conds.push(
            match f {
                Flag::DisabilityConfident => "a.disability_confident = 1",
                Flag::Adjustments => "a.details LIKE '%\"adjustments\":[\"%'",
                Flag::DeadEmail => {
                    "EXISTS (SELECT 1 FROM notifications n WHERE n.application_id = a.id AND n.state = 'dead')"
                }
            }
            .to_owned(),
        );
    }
    // The order and its keyset, on raw columns so each order walks its index: submissions by
    // (scheme, created_at, id); scores (scored applications only) by (scheme, composite, id).
    let (from, key, id_col) = match sort {
        Sort::Submitted => {
            ("applications a LEFT JOIN application_scores s ON s.application_id = a.id", "a.created_at", "a.id")
        }
        Sort::Score => {
            conds[0] = "s.scheme_id = $1".into();
            ("application_scores s JOIN applications a ON a.id = s.application_id", "s.composite", "s.application_id")
        }
    };
    if let Some((k, id)) = &query.after {
        let k = match sort {
            Sort::Submitted => arg(Arg::Int(*k as i64)),
            Sort::Score => arg(Arg::Real(*k)),
        };
        let id = arg(Arg::Text(id.clone()));
        conds.push(format!("({key} < {k} OR ({key} = {k} AND {id_col} < {id}))"));
    }
    let lim = arg(Arg::Int(limit));
    let sql = format!(
        "SELECT a.id, a.status, a.first_stream, a.created_at, a.disability_confident, a.details, a.erased_at,
                s.composite, CASE WHEN {names} THEN 1 ELSE 0 END AS named
         FROM {from}
         WHERE {}
         ORDER BY {key} DESC, {id_col} DESC LIMIT {lim}",
        conds.join(" AND ")
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for a in args {
        q = match a {
            Arg::Text(t) => q.bind(t),
            Arg::Real(r) => q.bind(r),
            Arg::Int(i) => q.bind(i),
        };
    }
    let rows = q.fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            let erased = r.try_get::<Option<i64>, _>("erased_at")?.is_some();
            let details: serde_json::Value = if erased {
                serde_json::Value::Null
            } else {
                serde_json::from_str(&r.try_get::<String, _>("details")?).unwrap_or_default()
            };
            let named = super::int::<i64>(r, "named")? == 1 && !erased;
            let id: String = r.try_get("id")?;
            let created: i64 = r.try_get("created_at")?;
            let composite: Option<f64> = r.try_get("composite")?;
            let k = match sort {
                Sort::Submitted => created.to_string(),
                Sort::Score => composite.unwrap_or_default().to_string(),
            };
            Ok(ApplicantRow {
                cursor: format!("{k}~{id}"),
                name: named.then(|| details["name"].as_str().map(str::to_owned)).flatten(),
                email: named.then(|| details["email"].as_str().map(str::to_owned)).flatten(),
                status: r.try_get("status")?,
                first_stream: r.try_get("first_stream")?,
                submitted_at: from_ms(created)?.to_string(),
                composite,
                disability_confident: super::int::<i64>(r, "disability_confident")? != 0,
                adjustments: details["adjustments"].as_array().is_some_and(|a| !a.is_empty()),
                erased,
                id,
            })
        })
        .collect()
}

/// Reads a cursor given out by `list`.
pub fn parse_cursor(s: &str) -> Option<(f64, String)> {
    let (k, id) = s.split_once('~')?;
    let k: f64 = k.parse().ok().filter(|k: &f64| k.is_finite())?;
    (!id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
        .then(|| (k, id.to_owned()))
}

/// What a scheme's dashboard counts, in one pass over its applications and one over its
/// dead emails.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    /// (stage, first stream, applications).
    pub by_stage_stream: Vec<(String, String, i64)>,
    /// Applications with an email that failed for good.
    pub dead_emails: i64,
}

pub async fn counts(db: &Db, scheme: &str) -> sqlx::Result<Counts> {
    let rows = sqlx::query(
        "SELECT status, first_stream, COUNT(*) AS n FROM applications WHERE scheme_id = $1
         GROUP BY status, first_stream ORDER BY status, first_stream",
    )
    .bind(scheme)
    .fetch_all(db.pool())
    .await?;
    let by_stage_stream = rows
        .iter()
        .map(|r| Ok((r.try_get("status")?, r.try_get("first_stream")?, super::int::<i64>(r, "n")?)))
        .collect::<sqlx::Result<Vec<_>>>()?;
    let dead = sqlx::query(
        "SELECT COUNT(DISTINCT n.application_id) AS n FROM notifications n
         JOIN applications a ON a.id = n.application_id
         WHERE n.state = 'dead' AND a.scheme_id = $1",
    )
    .bind(scheme)
    .fetch_one(db.pool())
    .await?;
    Ok(Counts { by_stage_stream, dead_emails: super::int::<i64>(&dead, "n")? })
}

/// A test score as the recruiter's applicant page shows it, with the key and norms it was
/// scored with.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScoreLine {
    pub test_id: String,
    pub key_version: i64,
    pub norm_version: String,
    pub raw: i64,
    pub sten: i64,
    pub percentile: f64,
    pub passed: bool,
    pub late: bool,
}

/// The sift's decision on an application, and a Disability Confident override if recorded.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SiftLine {
    pub composite: Option<f64>,
    pub passed: Option<bool>,
    /// (stream, outcome, rank, guaranteed, reason)
    pub result: Option<(String, String, Option<i64>, bool, String)>,
    /// (decided by, reason)
    pub dc_override: Option<(String, String)>,
}

/// An application's current test scores and sift decision (three probes by its key).
pub async fn scores_and_sift(db: &Db, id: crate::ApplicationId) -> sqlx::Result<(Vec<ScoreLine>, SiftLine)> {
    let id = id.to_string();
    let scores = sqlx::query(
        "SELECT test_id, key_version, norm_version, raw, sten, percentile, passed, late FROM test_scores
         WHERE application_id = $1 AND current = 1 ORDER BY test_id",
    )
    .bind(&id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(ScoreLine {
            test_id: r.try_get("test_id")?,
            key_version: super::int(r, "key_version")?,
            norm_version: r.try_get("norm_version")?,
            raw: super::int(r, "raw")?,
            sten: super::int(r, "sten")?,
            percentile: r.try_get("percentile")?,
            passed: super::int::<i64>(r, "passed")? != 0,
            late: super::int::<i64>(r, "late")? != 0,
        })
    })
    .collect::<sqlx::Result<Vec<_>>>()?;
    let mut sift = SiftLine::default();
    if let Some(r) = sqlx::query("SELECT composite, passed FROM application_scores WHERE application_id = $1")
        .bind(&id)
        .fetch_optional(db.pool())
        .await?
    {
        sift.composite = Some(r.try_get("composite")?);
        sift.passed = Some(super::int::<i64>(&r, "passed")? != 0);
    }
    if let Some(r) =
        sqlx::query("SELECT stream_id, outcome, rank, guaranteed, reason FROM sift_results WHERE application_id = $1")
            .bind(&id)
            .fetch_optional(db.pool())
            .await?
    {
        sift.result = Some((
            r.try_get("stream_id")?,
            r.try_get("outcome")?,
            r.try_get::<Option<i64>, _>("rank")?,
            super::int::<i64>(&r, "guaranteed")? != 0,
            r.try_get("reason")?,
        ));
    }
    if let Some(r) = sqlx::query("SELECT decided_by, reason FROM dc_overrides WHERE application_id = $1")
        .bind(&id)
        .fetch_optional(db.pool())
        .await?
    {
        sift.dc_override = Some((r.try_get("decided_by")?, r.try_get("reason")?));
    }
    Ok((scores, sift))
}
