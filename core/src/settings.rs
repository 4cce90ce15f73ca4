//! Settings, layered: `config/default.toml`, then an optional deployment file
//! (`--config FILE` or `FASTTRACK_CONFIG`), then `FASTTRACK__SECTION__KEY`
//! environment variables. API and workers load the same settings. Every key is
//! documented in `config/default.toml`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub data_dir: PathBuf,
    /// IANA time zone that dates and local times are read and shown in.
    pub time_zone: String,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub queue: QueueSettings,
    pub mail: MailSettings,
    pub workers: WorkerSettings,
    pub schemes: SchemeSettings,
    pub tests: TestSettings,
    pub webhooks: WebhookSettings,
    pub log: LogSettings,
    pub pages: PageSettings,
    pub personal_data: PersonalDataSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonalDataSettings {
    /// Whether admins may read applications (off by default; every read is audited).
    pub admin_reads_applications: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSettings {
    /// Seconds after a timed test's limit during which answers still count (network delay).
    pub grace_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// External test providers: name → HMAC-SHA256 secret for `X-Fasttrack-Signature`.
    #[serde(default)]
    pub providers: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub addr: SocketAddr,
    /// HTTP worker threads; 0 = one per core.
    pub threads: usize,
    pub max_body_bytes: usize,
    /// How long a request body may take to arrive once its headers have; slower ones get 408.
    pub body_timeout_secs: u64,
    pub shutdown_timeout_secs: u64,
}

impl ServerSettings {
    pub fn body_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.body_timeout_secs.max(1))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Empty: SQLite at `<data_dir>/fasttrack.db`. Otherwise `sqlite://…` or `postgres://…`.
    pub url: String,
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    /// Empty: the SQLite job queue at `<data_dir>/queue.db`. Otherwise `redis://…`.
    pub url: String,
    /// Prefix of every queue name, so several deployments (or test runs) can share one Redis.
    pub namespace: String,
    /// Longest a push may take before it is given up and left to the sweeper (the rows are
    /// committed), so a slow or unreachable queue never holds a request.
    pub push_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    /// Empty: write .eml files to `<data_dir>/outbox`. Otherwise `smtp://host:port` (or `smtps://`,
    /// `?tls=required`).
    pub url: String,
    pub from: String,
    pub pool_size: u32,
    pub send_timeout_secs: u64,
    /// Attempts before an email is dead (listed for admins, re-sendable).
    pub max_attempts: u32,
    pub backoff_base_secs: u64,
    pub backoff_max_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    /// Jobs handled at once per worker process.
    pub concurrency: usize,
    /// How often the sweeper looks for committed work whose job went missing.
    pub sweep_interval_secs: u64,
    /// How long a worker holds an email it is sending before another may take it over.
    pub lease_secs: u64,
    /// Seconds a job of a killed worker waits before another worker takes it.
    pub heartbeat_secs: u64,
    /// A due email whose job has not run for this long is enqueued again by the sweeper.
    pub requeue_after_secs: u64,
    /// Where a workers-only process (`fasttrack work`) serves /health, /ready and /metrics;
    /// empty for none. Taken already: the worker runs and says so in its log.
    pub ops_addr: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemeSettings {
    /// Load the scheme files shipped with the service (compiled in).
    pub shipped: bool,
    /// A folder of further scheme definitions loaded at start-up; empty for none.
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageSettings {
    /// Where people reach the service: links in emails start with it (no trailing slash).
    pub public_url: String,
    /// How long a browser session lasts after signing in.
    pub session_minutes: u32,
    /// How long an emailed sign-in link works (once).
    pub sign_in_link_hours: u32,
    /// How long a half-filled application form is kept after it was last saved.
    pub draft_days: u32,
}

impl PageSettings {
    pub fn session_ttl(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_mins(i64::from(self.session_minutes))
    }
    pub fn link_ttl(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_hours(i64::from(self.sign_in_link_hours))
    }
    pub fn draft_ttl(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_hours(24 * i64::from(self.draft_days))
    }
    /// Whether cookies may go without `Secure`: only when the service is reached over plain
    /// HTTP on a loopback address (the embedded default on a laptop).
    pub fn insecure_loopback(&self) -> bool {
        ["http://127.0.0.1", "http://localhost", "http://[::1]"].iter().any(|p| self.public_url.starts_with(p))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `pretty` for people, `json` for log shippers.
    pub format: LogFormat,
    /// An env-filter directive such as `info` or `fasttrack=debug,sqlx=warn`; RUST_LOG wins.
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

impl Settings {
    /// The service's clock on the system time, in the configured time zone.
    pub fn clock(&self) -> crate::clock::Clock {
        crate::clock::Clock::system(self.tz())
    }

    /// The configured time zone (checked at load).
    pub fn tz(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.time_zone).expect("time_zone is checked when settings load")
    }

    /// Loads the layers. `file` is the deployment file, if any; `env` is the environment to read
    /// (passed in so tests need not mutate the process environment).
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Self> {
        let mut builder =
            config::Config::builder().add_source(config::File::from_str(DEFAULT_TOML, config::FileFormat::Toml));
        if let Some(file) = file {
            anyhow::ensure!(file.exists(), "settings file {} does not exist", file.display());
            builder = builder.add_source(config::File::from(file).format(config::FileFormat::Toml));
        }
        let vars: config::Map<String, String> = env.into_iter().filter(|(k, _)| k.starts_with("FASTTRACK__")).collect();
        builder = builder.add_source(
            config::Environment::with_prefix("FASTTRACK")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(vars)),
        );
        let settings: Settings =
            builder.build().and_then(|c| c.try_deserialize()).map_err(|e| anyhow::anyhow!("invalid settings: {e}"))?;
        settings.check()?;
        Ok(settings)
    }

    /// The process environment and `FASTTRACK_CONFIG` as the deployment file.
    pub fn from_env(file: Option<&Path>) -> anyhow::Result<Self> {
        let from_var = std::env::var_os("FASTTRACK_CONFIG").map(PathBuf::from);
        Self::load(file.or(from_var.as_deref()), std::env::vars())
    }

    fn check(&self) -> anyhow::Result<()> {
        let bad = |key: &str, why: &str| Err(anyhow::anyhow!("invalid settings: {key}: {why}"));
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            return bad("time_zone", "must be an IANA time zone such as \"Europe/London\"");
        }
        if self.database.max_connections == 0 {
            return bad("database.max_connections", "must be at least 1");
        }
        if self.database.min_connections > self.database.max_connections {
            return bad("database.min_connections", "must not exceed database.max_connections");
        }
        if !self.database.url.is_empty() {
            self.database_kind().context("invalid settings: database.url")?;
        }
        if !(self.queue.url.is_empty()
            || self.queue.url.starts_with("redis://")
            || self.queue.url.starts_with("rediss://"))
        {
            return bad("queue.url", "must be empty (the SQLite queue) or a redis:// URL");
        }
        if !(self.mail.url.is_empty() || self.mail.url.starts_with("smtp://") || self.mail.url.starts_with("smtps://"))
        {
            return bad("mail.url", "must be empty (the .eml outbox) or an smtp:// or smtps:// URL");
        }
        if !self.mail.from.contains('@') {
            return bad("mail.from", "must be an email address such as \"fasttrack <noreply@example.org>\"");
        }
        if self.queue.push_timeout_ms == 0 {
            return bad("queue.push_timeout_ms", "must be at least 1");
        }
        if self.mail.max_attempts == 0 {
            return bad("mail.max_attempts", "must be at least 1");
        }
        if self.mail.pool_size == 0 {
            return bad("mail.pool_size", "must be at least 1");
        }
        if self.workers.concurrency == 0 {
            return bad("workers.concurrency", "must be at least 1");
        }
        if self.workers.lease_secs == 0
            || self.workers.sweep_interval_secs == 0
            || self.workers.heartbeat_secs == 0
            || self.workers.requeue_after_secs == 0
        {
            return bad(
                "workers",
                "lease_secs, sweep_interval_secs, heartbeat_secs and requeue_after_secs must be at least 1",
            );
        }
        if self.queue.namespace.is_empty() || self.queue.namespace.contains(char::is_whitespace) {
            return bad("queue.namespace", "must be a non-empty word");
        }
        Ok(())
    }

    pub fn database_kind(&self) -> anyhow::Result<DatabaseKind> {
        let url = &self.database.url;
        if url.is_empty() || url.starts_with("sqlite:") {
            Ok(DatabaseKind::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseKind::Postgres)
        } else {
            anyhow::bail!("must be empty (SQLite in data_dir), sqlite://FILE or postgres://…")
        }
    }

    /// The database URL with the embedded default filled in.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!("sqlite://{}?mode=rwc", self.data_dir.join("fasttrack.db").display())
        } else {
            self.database.url.clone()
        }
    }

    pub fn queue_sqlite_path(&self) -> PathBuf {
        self.data_dir.join("queue.db")
    }

    pub fn mail_outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    /// The folder emails are written to as .eml files, when they are (the embedded default).
    pub fn eml_outbox(&self) -> Option<PathBuf> {
        self.mail.url.is_empty().then(|| self.mail_outbox_dir())
    }

    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_secs(self.database.acquire_timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_are_the_embedded_setup() {
        let s = Settings::load(None, env(&[])).unwrap();
        assert_eq!(s.server.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.data_dir, PathBuf::from("./data"));
        assert_eq!(s.database_kind().unwrap(), DatabaseKind::Sqlite);
        assert!(s.queue.url.is_empty() && s.mail.url.is_empty());
    }

    #[test]
    fn environment_overrides_files() {
        let s = Settings::load(
            None,
            env(&[
                ("FASTTRACK__SERVER__ADDR", "0.0.0.0:9000"),
                ("FASTTRACK__DATABASE__URL", "postgres://localhost/x"),
                ("FASTTRACK__DATABASE__MAX_CONNECTIONS", "7"),
            ]),
        )
        .unwrap();
        assert_eq!(s.server.addr.port(), 9000);
        assert_eq!(s.database_kind().unwrap(), DatabaseKind::Postgres);
        assert_eq!(s.database.max_connections, 7);
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let err = Settings::load(None, env(&[("FASTTRACK__SERVER__ADDR", "not-an-address")])).unwrap_err();
        assert!(format!("{err:#}").contains("server.addr"), "{err:#}");
        let err = Settings::load(None, env(&[("FASTTRACK__DATABASE__URL", "mysql://x")])).unwrap_err();
        assert!(format!("{err:#}").contains("database.url"), "{err:#}");
        let err = Settings::load(None, env(&[("FASTTRACK__MAIL__MAX_ATTEMPTS", "0")])).unwrap_err();
        assert!(format!("{err:#}").contains("mail.max_attempts"), "{err:#}");
    }

    #[test]
    fn a_deployment_file_overrides_defaults_and_unknown_keys_are_refused() {
        let dir = std::env::temp_dir().join(format!("ft-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("prod.toml");
        std::fs::write(&file, "[mail]\nfrom = \"x <x@nhs.net>\"\n").unwrap();
        assert_eq!(Settings::load(Some(&file), env(&[])).unwrap().mail.from, "x <x@nhs.net>");
        std::fs::write(&file, "[mail]\nfrmo = \"x\"\n").unwrap();
        let err = Settings::load(Some(&file), env(&[])).unwrap_err();
        assert!(format!("{err:#}").contains("frmo"), "{err:#}");
    }
}
