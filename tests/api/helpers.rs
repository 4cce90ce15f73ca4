//! Spawning the real application for a test: a fresh database per test, the
//! API on port 0, the workers in-process, and helpers to apply, authenticate
//! and wait (with a deadline, never a blind sleep) for emails.
//!
//! Two backends: `Sqlite` is the embedded default (SQLite, the SQLite job queue,
//! .eml files); `Postgres` is the at-scale set-up (PostgreSQL, Redis, SMTP to a
//! real SMTP server over TCP). PostgreSQL and Redis must be running
//! (`.ci/run` makes sure); set FASTTRACK_TEST_POSTGRES / FASTTRACK_TEST_REDIS to
//! point elsewhere.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fasttrack::startup::{self, Parts, Running};
use fasttrack_core::Clock;
use fasttrack_core::Role;
use fasttrack_core::settings::Settings;
use fasttrack_core::store::{self, Db};
use fasttrack_workers::{Ctx, Mailer, Notifier, Queue};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection};

use crate::smtp::SmtpSink;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite + SQLite queue + .eml outbox.
    Sqlite,
    /// PostgreSQL + Redis + SMTP.
    Postgres,
}

pub fn postgres_admin_url() -> String {
    std::env::var("FASTTRACK_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn redis_url() -> String {
    std::env::var("FASTTRACK_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Everything a test may want to change before start.
pub struct Options {
    pub parts: Parts,
    pub env: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Self { parts: startup::EMBEDDED, env: Vec::new() }
    }
}

impl Options {
    /// The API without background workers: the test runs the work with `TestApp::drain`.
    pub fn api_only() -> Self {
        Self { parts: startup::API_ONLY, env: Vec::new() }
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub settings: Settings,
    pub db: Db,
    pub queue: Queue,
    pub smtp: Option<SmtpSink>,
    /// The app's clock: move it with `advance` instead of waiting.
    pub clock: Clock,
    running: Option<Running>,
    extra: Vec<Running>,
    pg_database: Option<String>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, Options::default()).await
    }

    pub async fn spawn_with(backend: Backend, options: Options) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut env = crate::harness::fasttrack_env([
            ("DATA_DIR", dir.path().display().to_string()),
            ("SERVER__ADDR", "127.0.0.1:0".into()),
            ("SERVER__THREADS", "1".into()),
            ("SERVER__SHUTDOWN_TIMEOUT_SECS", "5".into()),
            ("DATABASE__MAX_CONNECTIONS", "5".into()),
            ("MAIL__MAX_ATTEMPTS", "3".into()),
            ("MAIL__BACKOFF_BASE_SECS", "1".into()),
            ("MAIL__BACKOFF_MAX_SECS", "2".into()),
            ("MAIL__SEND_TIMEOUT_SECS", "5".into()),
            ("MAIL__POOL_SIZE", "2".into()),
            ("WORKERS__CONCURRENCY", "4".into()),
            ("WORKERS__SWEEP_INTERVAL_SECS", "1".into()),
            ("WORKERS__REQUEUE_AFTER_SECS", "2".into()),
            ("WORKERS__LEASE_SECS", "12".into()),
            ("WORKERS__HEARTBEAT_SECS", "1".into()),
            ("WORKERS__OPS_ADDR", "127.0.0.1:0".into()),
            ("LOG__LEVEL", "warn".into()),
        ]);

        let mut smtp = None;
        let mut pg_database = None;
        if backend == Backend::Postgres {
            let name = format!("ft_test_{}", ulid::Ulid::generate().to_string().to_lowercase());
            let mut admin = sqlx::PgConnection::connect(&postgres_admin_url()).await.expect(
                "PostgreSQL is not reachable at FASTTRACK_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres); \
                 start it (see README, Development)",
            );
            sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .expect("create test database");
            let mut url = url_without_db(&postgres_admin_url());
            url.push_str(&name);
            env.push(("FASTTRACK__DATABASE__URL".into(), url));
            env.push(("FASTTRACK__QUEUE__URL".into(), redis_url()));
            env.push(("FASTTRACK__QUEUE__NAMESPACE".into(), name.clone()));
            let sink = SmtpSink::start().await;
            env.push(("FASTTRACK__MAIL__URL".into(), sink.url()));
            smtp = Some(sink);
            pg_database = Some(name);
        }
        env.extend(options.env);
        let settings = Settings::load(None, env).expect("test settings");
        if std::env::var_os("TEST_LOG").is_some() {
            fasttrack::telemetry::init(&settings);
        }
        let clock = Clock::movable(settings.tz());
        let running =
            startup::launch_with_clock(settings.clone(), options.parts, clock.clone()).await.expect("launch the app");
        let addr = running.addr.unwrap_or_else(|| "127.0.0.1:9".parse().unwrap());
        // The test's own connections, so they outlive any instance the test stops.
        let (db, queue) = startup::connect(&settings).await.expect("test connections");
        TestApp {
            addr,
            client: reqwest::Client::new(),
            settings,
            db,
            queue,
            smtp,
            clock,
            running: Some(running),
            extra: Vec::new(),
            pg_database,
            _dir: dir,
        }
    }

    /// Stops the most recently launched extra instance, as a kill would (its workers stop).
    pub async fn stop_last_extra(&mut self) {
        if let Some(r) = self.extra.pop() {
            r.stop().await;
        }
    }

    /// Starts another process-like instance on the same database, queue and mail (e.g. a
    /// workers-only process after the first was stopped).
    pub async fn launch_more(&mut self, parts: Parts) {
        let mut settings = self.settings.clone();
        settings.server.addr = "127.0.0.1:0".parse().unwrap();
        self.extra.push(
            startup::launch_with_clock(settings, parts, self.clock.clone()).await.expect("launch another instance"),
        );
    }

    /// Moves the app's clock forward: a closing date passes, a session's day comes.
    pub fn advance(&self, by: jiff::SignedDuration) {
        self.clock.advance(by);
    }

    /// The workers' context on the test's connections and clock, to call a job directly.
    pub fn ctx(&self) -> Ctx {
        Ctx {
            db: self.db.clone(),
            queue: self.queue.clone(),
            clock: self.clock.clone(),
            // Nobody else runs work in an API-only app: a running job is ours to take.
            stale: Duration::ZERO,
            outbox: self.settings.eml_outbox(),
        }
    }

    /// Runs all due work inline (scores, jobs, reminders, emails) until none is left, and
    /// says what it did. Use with `Options::api_only()`, so no background worker competes.
    pub async fn drain(&self) -> fasttrack_workers::drain::Drained {
        fasttrack_workers::drain::drain(&self.ctx(), &self.notifier()).await.expect("drain")
    }

    /// The email sender on the test's connections and clock, to deliver one email directly.
    pub fn notifier(&self) -> Notifier {
        let mailer = Mailer::from_settings(&self.settings).expect("mailer");
        Notifier::new(self.db.clone(), mailer, &self.settings, self.clock.clone())
    }

    /// Stops the first instance (API and/or workers), as a kill between steps would.
    pub async fn stop_first(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut r = self.client.get(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut r = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut r = self.client.delete(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    pub async fn apply(&self, scheme: &str, body: &Value) -> reqwest::Response {
        self.post_json(&format!("/api/v1/schemes/{scheme}/applications"), None, body).await
    }

    /// Applies and returns (id, token), asserting 201.
    pub async fn apply_ok(&self, scheme: &str, body: &Value) -> (String, String) {
        let res = self.apply(scheme, body).await;
        let status = res.status();
        let json: Value = res.json().await.unwrap();
        assert_eq!(status, 201, "{json}");
        (json["id"].as_str().unwrap().to_owned(), json["token"].as_str().unwrap().to_owned())
    }

    /// A test provider's signed result delivery (provider `acme`, secret `s3cret`: start the
    /// app with `FASTTRACK__WEBHOOKS__PROVIDERS__ACME=s3cret`).
    pub async fn deliver_result(
        &self,
        delivery_id: &str,
        application: &str,
        test: &str,
        raw: i64,
    ) -> reqwest::Response {
        let body = serde_json::to_vec(
            &json!({"delivery_id": delivery_id, "application_id": application, "test": test, "raw_score": raw}),
        )
        .unwrap();
        self.client
            .post(self.url("/api/v1/webhooks/test-results"))
            .header("content-type", "application/json")
            .header("X-Fasttrack-Provider", "acme")
            .header("X-Fasttrack-Signature", sign("s3cret", &body))
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn token(&self, role: Role) -> String {
        let assessor = (role == Role::Assessor).then_some("london-imt-pilot:as-nobody");
        store::tokens::create_staff_token(&self.db, role, &format!("test {}", role.as_str()), assessor).await.unwrap().1
    }

    /// A token for the assessor `scheme:id` (their id in that scheme's centres).
    pub async fn assessor_token(&self, assessor_id: &str) -> String {
        store::tokens::create_staff_token(&self.db, Role::Assessor, assessor_id, Some(assessor_id)).await.unwrap().1
    }

    /// Emails that have left the building: .eml files (embedded) or messages the SMTP server got.
    pub fn sent_emails(&self) -> Vec<String> {
        match &self.smtp {
            Some(sink) => sink.received().into_iter().map(|r| r.data).collect(),
            None => {
                let dir = self.settings.mail_outbox_dir();
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    return Vec::new();
                };
                let mut files: Vec<_> = entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                    .collect();
                files.sort();
                files.iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect()
            }
        }
    }

    /// Waits until at least `n` emails for which `filter` holds have been sent, then returns them.
    pub async fn wait_for_emails(&self, n: usize, filter: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let found: Vec<String> = self.sent_emails().into_iter().filter(|e| filter(e)).collect();
            if found.len() >= n {
                return found;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {n} emails; have {}", found.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The outbox state of the one email of `kind` for an application.
    pub async fn email_state(&self, application: &str, kind: &str) -> Option<(String, i64)> {
        use sqlx::Row;
        let row = sqlx::query("SELECT state, attempts FROM notifications WHERE application_id = $1 AND kind = $2")
            .bind(application)
            .bind(kind)
            .fetch_optional(self.db.pool())
            .await
            .unwrap()?;
        Some((row.get("state"), row.get("attempts")))
    }

    /// Polls until the email reaches `state` (deadline 30 s).
    pub async fn wait_for_email_state(&self, application: &str, kind: &str, state: &str) -> i64 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some((s, attempts)) = self.email_state(application, kind).await
                && s == state
            {
                return attempts;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {kind} email to be {state}: {:?}",
                self.email_state(application, kind).await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(mut self) {
        for r in self.extra.drain(..) {
            r.stop().await;
        }
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        self.db.close().await;
        if let Some(name) = self.pg_database.take() {
            if let Ok(mut admin) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                let _ = sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                    .execute(&mut admin)
                    .await;
            }
            let _ = delete_redis_namespace(&name).await;
        }
    }
}

fn url_without_db(url: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("a database URL with a path");
    format!("{base}/")
}

pub async fn delete_redis_namespace(namespace: &str) -> redis::RedisResult<()> {
    let client = redis::Client::open(redis_url())?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{namespace}:*")).query_async(&mut conn).await?;
    if !keys.is_empty() {
        redis::cmd("DEL").arg(&keys).query_async::<()>(&mut conn).await?;
    }
    Ok(())
}

/// A valid application for the London pilot; change fields per test.
pub fn application(email: &str) -> Value {
    json!({
        "name": "Ada Lovelace",
        "email": email,
        "phone": "+44 20 7946 0000",
        "university": "University College London",
        "degree_subject": "Mathematics",
        "degree_class": "2:1",
        "degree_status": "awarded",
        "graduation_year": 2025,
        "right_to_work_uk": true,
        "stream_preferences": ["acute-trusts", "stp-programmes"],
        "unavailable_dates": ["2027-03-02"],
        "adjustments": ["step_free_access"],
        "disability_confident": false,
        "equality": {
            "sex": "female",
            "ethnicity": "black_african",
            "disability": "prefer_not_to_say",
            "age_band": "16_24"
        }
    })
}

/// Runs a test body once per backend, as `mod sqlite` and `mod postgres` tests.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// Polls `f` every 100 ms until it gives a value (90 s at most).
pub async fn poll<T>(what: &str, f: impl AsyncFnMut() -> Option<T>) -> T {
    crate::harness::until(what, 90, f).await
}

/// The signature header a test provider sends: HMAC-SHA256 of the raw body.
pub fn sign(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", fasttrack_core::auth::hex(&mac.finalize().into_bytes()))
}

/// Waits for a job (its `href`) to finish and returns it; fails at once if it failed.
pub async fn wait_for_job(app: &TestApp, token: &str, href: &str) -> Value {
    poll(href, async || {
        let j: Value = app.get(href, Some(token)).await.json().await.unwrap();
        assert_ne!(j["state"], "failed", "{j}");
        (j["state"] == "done").then_some(j)
    })
    .await
}

/// An email's text with quoted-printable undone (soft line breaks joined, `=XX` decoded), so
/// tests can read its parts as a mail program shows them.
pub fn unquoted(eml: &str) -> String {
    let joined = eml.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
