//! Storage: the only module that speaks SQL. One dialect serves SQLite and
//! PostgreSQL through sqlx's `Any` driver (ids TEXT, times BIGINT ms, flags 0/1,
//! JSON as TEXT), with one migrations folder per backend. Each function is one
//! statement or one transaction; nothing here reads then writes without a lock
//! or a constraint deciding the race.

pub mod applicants;
pub mod applications;
pub mod assessment;
pub mod audit;
pub mod bookings;
pub mod centres;
pub mod decisions;
pub mod jobs;
pub mod leases;
pub mod metrics;
pub mod notifications;
pub mod outcomes;
pub mod personal;
pub mod schemes;
pub mod sift;
pub mod staff;
pub mod surveys;
pub mod tests;
pub mod tokens;
pub mod vacancies;
pub mod web;
pub mod workers;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use jiff::Timestamp;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use crate::settings::{DatabaseKind, Settings};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// A handle to the application database (cheap to clone).
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    kind: DatabaseKind,
}

impl Db {
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let kind = settings.database_kind()?;
        if kind == DatabaseKind::Sqlite && settings.database.url.is_empty() {
            std::fs::create_dir_all(&settings.data_dir)
                .with_context(|| format!("creating data_dir {}", settings.data_dir.display()))?;
        }
        let url = settings.database_url();
        let options = AnyConnectOptions::from_str(&url).context("parsing database.url")?;
        let mut pool = AnyPoolOptions::new()
            .max_connections(settings.database.max_connections)
            .min_connections(settings.database.min_connections)
            .acquire_timeout(settings.acquire_timeout());
        if kind == DatabaseKind::Sqlite {
            // WAL lets readers run beside the one writer; the busy timeout makes writers queue
            // instead of failing; foreign keys are off by default in SQLite.
            pool = pool.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(sqlx::raw_sql(
                        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                    ))
                    .await?;
                    Ok(())
                })
            });
        }
        let pool = pool.connect_with(options).await.with_context(|| match kind {
            DatabaseKind::Sqlite => "opening the SQLite database (database.url / data_dir)".to_owned(),
            DatabaseKind::Postgres => "connecting to PostgreSQL (database.url)".to_owned(),
        })?;
        Ok(Self { pool, kind })
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.kind {
            DatabaseKind::Sqlite => &SQLITE_MIGRATIONS,
            DatabaseKind::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await.context("running database migrations")?;
        Ok(())
    }

    pub async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// A transaction that may write. On SQLite it takes the write lock at `BEGIN IMMEDIATE`:
    /// a deferred transaction that reads and then writes fails at once with SQLITE_BUSY when
    /// another connection wrote in between (the busy timeout does not cover that upgrade),
    /// which under load turned a recruiter's request into a 500. Writers queue instead.
    pub async fn begin(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Any>> {
        match self.kind {
            DatabaseKind::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            DatabaseKind::Postgres => self.pool.begin().await,
        }
    }

    /// The lock clause of a claiming sub-select: on PostgreSQL, rows another claim holds are
    /// skipped, so claimers running at once take disjoint rows without waiting or
    /// deadlocking; SQLite has a single writer and needs none.
    pub(crate) fn skip_locked(&self) -> &'static str {
        match self.kind {
            DatabaseKind::Postgres => "FOR UPDATE SKIP LOCKED",
            DatabaseKind::Sqlite => "",
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Milliseconds since the Unix epoch: how every time is stored.
pub fn to_ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// An integer column read into the width it must fit (a count, a score): one that does not
/// fit is a decode error, never a silent 0.
pub fn int<T>(row: &sqlx::any::AnyRow, column: &str) -> sqlx::Result<T>
where
    T: TryFrom<i64>,
    T::Error: std::error::Error + Send + Sync + 'static,
{
    use sqlx::Row;
    T::try_from(row.try_get::<i64, _>(column)?).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// A text column holding one of an enum's values: anything else is a decode error.
pub fn enum_column<T>(row: &sqlx::any::AnyRow, column: &str, parse: fn(&str) -> Option<T>) -> sqlx::Result<T> {
    use sqlx::Row;
    let text: String = row.try_get(column)?;
    parse(&text).ok_or_else(|| sqlx::Error::Decode(format!("{column}: unknown value {text:?}").into()))
}

/// A stored time; one out of range is a decode error, never a silent epoch.
pub fn from_ms(ms: i64) -> sqlx::Result<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// `$from, $from+1, …` (`n` placeholders), for `IN (…)` lists built for the Any driver (whose
/// query builder writes `?`, which PostgreSQL refuses).
pub fn params(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// `($1, …, $cols), ($cols+1, …), …` for a multi-row INSERT of `rows` rows.
pub fn tuples(rows: usize, cols: usize) -> String {
    (0..rows).map(|r| format!("({})", params(r * cols + 1, cols))).collect::<Vec<_>>().join(", ")
}

/// Reads a text column holding a typed id (`ApplicationId`, `NotificationId`, …).
pub fn id_column<T>(row: &sqlx::any::AnyRow, column: &str) -> sqlx::Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    use sqlx::Row;
    let text: String = row.try_get(column)?;
    text.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// The unique constraints whose violation is an answer (409), not a fault. Each is known by
/// its name in PostgreSQL and by the columns SQLite reports (`UNIQUE constraint failed:
/// t.a, t.b`), kept equal in both migration sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    /// One application per email per scheme.
    ApplicationsSchemeEmail,
    /// An Idempotency-Key is used once per scope.
    IdempotencyKey,
    /// Scheme ids.
    Scheme,
    /// Centre ids within a scheme.
    AssessmentCentre,
    /// One staff account per email address.
    StaffEmail,
}

impl Unique {
    const ALL: [Unique; 5] = [
        Unique::ApplicationsSchemeEmail,
        Unique::IdempotencyKey,
        Unique::Scheme,
        Unique::AssessmentCentre,
        Unique::StaffEmail,
    ];

    fn postgres_name(self) -> &'static str {
        match self {
            Unique::ApplicationsSchemeEmail => "applications_scheme_email_key",
            Unique::IdempotencyKey => "idempotency_keys_pkey",
            Unique::Scheme => "schemes_pkey",
            Unique::AssessmentCentre => "assessment_centres_pkey",
            Unique::StaffEmail => "staff_email_norm_key",
        }
    }

    fn sqlite_columns(self) -> &'static str {
        match self {
            Unique::ApplicationsSchemeEmail => "applications.scheme_id, applications.email_norm",
            Unique::IdempotencyKey => "idempotency_keys.scope, idempotency_keys.key_hash",
            Unique::Scheme => "schemes.id",
            Unique::AssessmentCentre => "assessment_centres.scheme_id, assessment_centres.id",
            Unique::StaffEmail => "staff.email_norm",
        }
    }

    /// Which of the known constraints `err` violates, if any.
    pub fn violated_by(err: &sqlx::Error) -> Option<Unique> {
        let sqlx::Error::Database(db) = err else { return None };
        if !db.is_unique_violation() {
            return None;
        }
        Self::ALL.into_iter().find(|u| match db.constraint() {
            Some(name) => name == u.postgres_name(),
            None => db.message().strip_prefix("UNIQUE constraint failed: ") == Some(u.sqlite_columns()),
        })
    }
}

/// True when `err` violates the unique constraint `which`.
pub fn is_unique_violation(err: &sqlx::Error, which: Unique) -> bool {
    Unique::violated_by(err) == Some(which)
}

/// Ask the pool for a connection and give up after `timeout`: used by /ready.
pub async fn ping_within(db: &Db, timeout: Duration) -> anyhow::Result<()> {
    tokio::time::timeout(timeout, db.ping()).await.context("database did not answer in time")?
}

#[cfg(test)]
mod decoding {
    use super::*;

    #[test]
    fn a_stored_time_out_of_range_is_an_error_not_the_epoch() {
        assert_eq!(from_ms(1_700_000_000_000).unwrap().as_millisecond(), 1_700_000_000_000);
        assert!(from_ms(i64::MAX).is_err());
    }
}
