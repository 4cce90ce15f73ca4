//! Storage: the only module that speaks SQL. One dialect serves SQLite and
//! PostgreSQL through sqlx's `Any` driver (ids TEXT, times BIGINT ms, flags 0/1,
//! JSON as TEXT), with one migrations folder per backend. Each function is one
//! statement or one transaction; nothing here reads then writes without a lock
//! or a constraint deciding the race.

pub mod applications;
pub mod assessment;
pub mod audit;
pub mod bookings;
pub mod centres;
pub mod decisions;
pub mod jobs;
pub mod metrics;
pub mod notifications;
pub mod outcomes;
pub mod schemes;
pub mod sift;
pub mod surveys;
pub mod tests;
pub mod tokens;

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

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Milliseconds since the Unix epoch: how every time is stored.
pub fn to_ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub fn from_ms(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
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

/// True when `err` is a unique-constraint violation on `table`. PostgreSQL names the
/// constraint (`applications_scheme_email_key`), SQLite names the columns
/// (`UNIQUE constraint failed: applications.scheme_id, …`); both start with the table.
pub fn is_unique_violation(err: &sqlx::Error, table: &str) -> bool {
    let Some(db) = err.as_database_error() else {
        return false;
    };
    if !db.is_unique_violation() {
        return false;
    }
    match db.constraint() {
        Some(c) => c.starts_with(table),
        None => db.message().contains(&format!(" {table}.")),
    }
}

/// Ask the pool for a connection and give up after `timeout`: used by /ready.
pub async fn ping_within(db: &Db, timeout: Duration) -> anyhow::Result<()> {
    tokio::time::timeout(timeout, db.ping()).await.context("database did not answer in time")?
}
