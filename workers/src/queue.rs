//! The job queue on either backend, chosen at start-up: apalis-sqlite in its own
//! file (embedded default) or apalis-redis (at scale). Producers push through
//! `Queue`; workers are built on its storage in `run`.
//!
//! A push is never part of a database transaction: the API pushes after commit,
//! and the sweeper re-pushes anything whose job went missing.

use std::time::Duration;

use anyhow::Context;
use apalis::prelude::*;
use apalis_core::backend::finalize::Durable;
use apalis_redis::{Config as RedisConfig, RedisStorage};
use apalis_sqlite::{Config as SqliteConfig, SqliteStorage};
use fasttrack_core::NotificationId;
use fasttrack_core::settings::Settings;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use crate::jobs::{Job, email_queue_name, queue_name};

/// One queue on one backend.
#[derive(Clone)]
pub enum Lane {
    Sqlite(SqliteStorage<Job>),
    Redis(RedisStorage<Job>),
}

/// Two lanes: the jobs people wait for (scoring, sift, scheduling, decisions) and bulk
/// email, each with its own workers, so a schedule asked for during a deadline-day email
/// backlog runs at once instead of behind thousands of emails.
#[derive(Clone)]
pub struct Queue {
    jobs: Lane,
    emails: Lane,
    push_timeout: Duration,
}

impl Queue {
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let ns = &settings.queue.namespace;
        let heartbeat = Duration::from_secs(settings.workers.heartbeat_secs);
        let push_timeout = Duration::from_millis(settings.queue.push_timeout_ms);
        if settings.queue.url.is_empty() {
            let path = settings.queue_sqlite_path();
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            // Its own file and pool: setup() turns fsync off on the pool it is given.
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(SqliteConnectOptions::new().filename(&path).create_if_missing(true))
                .await
                .with_context(|| format!("opening the SQLite job queue {}", path.display()))?;
            SqliteStorage::setup(&pool).await.context("setting up the SQLite job queue")?;
            let lane = |name: String| {
                let config = SqliteConfig::default().queue(&name).heartbeat_interval(heartbeat).missed_heartbeats(3);
                Lane::Sqlite(SqliteStorage::new(&pool).with_config(config))
            };
            Ok(Queue { jobs: lane(queue_name(ns)), emails: lane(email_queue_name(ns)), push_timeout })
        } else {
            let conn =
                apalis_redis::connect(settings.queue.url.as_str()).await.context("connecting to Redis (queue.url)")?;
            let lane = |name: String| {
                let config = RedisConfig::default().queue(&name).heartbeat_interval(heartbeat).missed_heartbeats(3);
                Lane::Redis(RedisStorage::new(conn.clone()).with_config(config))
            };
            Ok(Queue { jobs: lane(queue_name(ns)), emails: lane(email_queue_name(ns)), push_timeout })
        }
    }

    pub fn backend(&self) -> &'static str {
        match self.jobs {
            Lane::Sqlite(_) => "sqlite",
            Lane::Redis(_) => "redis",
        }
    }

    /// The lane of user-facing jobs, and the lane of emails (for building workers).
    pub fn lanes(&self) -> [&Lane; 2] {
        [&self.jobs, &self.emails]
    }

    /// Wakes the email worker for these newly committed outbox rows: one job, however many
    /// rows (the worker takes them from the outbox).
    pub async fn enqueue_emails(&self, ids: &[NotificationId]) -> anyhow::Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.push(&[Job::WAKE_EMAILS], None).await
    }

    /// Pushes jobs, each to its lane, one round trip per lane.
    pub async fn enqueue(&self, jobs: &[Job]) -> anyhow::Result<()> {
        self.push(jobs, None).await
    }

    /// Pushes jobs that may run only after `delay` (a wake-up for a retry).
    pub async fn enqueue_after(&self, jobs: &[Job], delay: Duration) -> anyhow::Result<()> {
        self.push(jobs, Some(delay)).await
    }

    async fn push(&self, jobs: &[Job], delay: Option<Duration>) -> anyhow::Result<()> {
        let (emails, others): (Vec<Job>, Vec<Job>) = jobs.iter().cloned().partition(Job::is_email);
        let both = async {
            self.emails.push(&emails, delay).await?;
            self.jobs.push(&others, delay).await
        };
        tokio::time::timeout(self.push_timeout, both).await.unwrap_or_else(|_| {
            Err(anyhow::anyhow!("the queue did not take the jobs within {} ms", self.push_timeout.as_millis()))
        })
    }

    /// Deletes finished jobs (done or killed) from the queue's store, which apalis keeps
    /// forever otherwise. Our own tables are the record of what happened.
    pub async fn vacuum(&self) -> anyhow::Result<usize> {
        Ok(self.jobs.vacuum().await? + self.emails.vacuum().await?)
    }

    /// For /ready: one cheap round trip to the queue's store.
    pub async fn ping(&self) -> anyhow::Result<()> {
        self.jobs.ping().await
    }

    /// Jobs waiting in each lane (queued or scheduled, not yet taken): `[jobs, emails]`.
    pub async fn depth(&self) -> anyhow::Result<[u64; 2]> {
        Ok([self.jobs.depth().await?, self.emails.depth().await?])
    }
}

impl Lane {
    async fn push(&self, jobs: &[Job], delay: Option<Duration>) -> anyhow::Result<()> {
        if jobs.is_empty() {
            return Ok(());
        }
        match self {
            Lane::Sqlite(s) => {
                push_all(&mut s.clone(), jobs, delay).await.map_err(|e| anyhow::anyhow!("SQLite queue: {e}"))
            }
            Lane::Redis(r) => {
                push_all(&mut r.clone(), jobs, delay).await.map_err(|e| anyhow::anyhow!("Redis queue: {e}"))
            }
        }
    }

    async fn vacuum(&self) -> anyhow::Result<usize> {
        use apalis_core::backend::Vacuum;
        match self {
            Lane::Sqlite(s) => s.clone().vacuum().await.map_err(|e| anyhow::anyhow!("SQLite queue vacuum: {e}")),
            Lane::Redis(r) => r.clone().vacuum().await.map_err(|e| anyhow::anyhow!("Redis queue vacuum: {e}")),
        }
    }

    async fn depth(&self) -> anyhow::Result<u64> {
        match self {
            Lane::Sqlite(s) => {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM Jobs WHERE job_type = ?1 AND status IN ('Pending', 'Queued')",
                )
                .bind(apalis_core::backend::BackendConfig::config(s).queue.to_string())
                .fetch_one(s.pool())
                .await
                .context("SQLite job queue")?;
                Ok(n as u64)
            }
            Lane::Redis(r) => {
                let mut r = r.clone();
                let (active, scheduled) = (r.get_config().active_jobs_list(), r.get_config().scheduled_jobs_set());
                let (listed, waiting): (u64, u64) = redis::pipe()
                    .cmd("LLEN")
                    .arg(active)
                    .cmd("ZCARD")
                    .arg(scheduled)
                    .query_async(r.get_connection())
                    .await
                    .context("Redis")?;
                Ok(listed + waiting)
            }
        }
    }

    async fn ping(&self) -> anyhow::Result<()> {
        match self {
            Lane::Sqlite(s) => {
                sqlx::query("SELECT 1 FROM Jobs LIMIT 1").fetch_optional(s.pool()).await.context("SQLite job queue")?;
            }
            Lane::Redis(r) => {
                let mut r = r.clone();
                let pong: String = redis::cmd("PING").query_async(r.get_connection()).await.context("Redis")?;
                anyhow::ensure!(pong == "PONG", "Redis answered {pong}");
            }
        }
        Ok(())
    }
}

/// Generic over the backend: the producer side is the same for SQLite and Redis.
async fn push_all<S>(sink: &mut S, jobs: &[Job], delay: Option<Duration>) -> Result<(), TaskSinkError<S::Error>>
where
    S: TaskSink<Job, Durable>,
{
    let tasks: Vec<_> = jobs
        .iter()
        .map(|job| {
            let mut b = TaskBuilder::new(job.clone()).task_id(TaskId::from_ulid(ulid::Ulid::generate()));
            if let Some(d) = delay {
                b = b.run_after(d);
            }
            b.build()
        })
        .collect();
    sink.push_all(futures::stream::iter(tasks)).await
}
