//! The fault suite (issue "Background work that never stops"): the at-scale set-up as real
//! processes — 2 API (`fasttrack serve`) and 2 workers (`fasttrack work`) — on PostgreSQL
//! behind a TCP proxy the test can cut, a Redis and an SMTP sink of the test's own, under a
//! steady load of applications, through one fault after another on one stack:
//!
//! 0. nothing (the baseline figures);
//! 1. a worker killed with SIGKILL, then started again;
//! 2. Redis emptied (FLUSHALL); then Redis killed and started again on the same port;
//! 3. SMTP down for 60 s;
//! 4. the database cut for 20 s (every open connection dropped, new ones refused);
//! 5. an API process killed with SIGKILL (clients retry with the same Idempotency-Key on the
//!    other API), then started again;
//! 6. all of them in one run.
//!
//! After each: every 201's application is in the database (read directly, not through the
//! proxy), and nothing else is; every promised email (a `confirmation` and a `tests_invited`
//! for each application) reached the SMTP sink exactly once — a second copy is excused only
//! for an email a killed worker held (claimed, not yet marked) when it died, and must carry
//! the same Message-ID; nothing is left unsent; and the time to recover is printed. A phase
//! that fails is reported and the next one runs; the test fails at the end with every
//! failure, each phase's figures and the tail of the processes' logs.
//!
//! The worker timings are short (as in processes.rs) so the whole run takes four to five
//! minutes; the email backoff is shortened with more attempts so that a 60 s outage does
//! not use them up, as the defaults (6 attempts over ~155 s) would not either. The SMTP sink
//! takes 0.2 s to accept each message, as a real relay does, so that some emails are always
//! in the middle of being sent when a fault strikes. The load is 10 applications a second
//! (`FASTTRACK_FAULTS_RATE` to change); `FASTTRACK_FAULTS_KEEP_LOGS=1` keeps the processes'
//! logs (they are kept anyway when the test fails).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::harness::{OwnRedis, PgDatabase, PgProxy, Proc, fasttrack_env, free_port, healthy, postgres_addr, within};
use crate::helpers::application;
use crate::smtp::{Mode, Received, SmtpSink};

const SCHEME: &str = "london-imt-pilot";
/// Every application promises these two emails (it is eligible, so it is invited to tests).
const KINDS: [&str; 2] = ["confirmation", "tests_invited"];
/// Applications per second, alternating between the two APIs (FASTTRACK_FAULTS_RATE to change).
const RATE: f64 = 10.0;
/// How long the SMTP sink takes to accept a message, as a real relay does: emails are always
/// in the middle of being sent when a fault strikes.
const SMTP_ACCEPT: Duration = Duration::from_millis(200);
/// Load before a fault starts, and after it ends.
const LOAD_AROUND: Duration = Duration::from_secs(4);
/// After the load stops: how long every email may take to be sent.
const RECOVERY_SECS: u64 = 90;
/// A client gives up on one application after this long (and the phase fails).
const GIVE_UP: Duration = Duration::from_secs(120);
/// A second copy of an email is excused when a killed worker held its row and the first copy
/// was accepted before the kill: the sink records a message this long after its 250 at most.
const KILL_GRACE: Duration = Duration::from_millis(250);
/// The timeout of one HTTP attempt.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

fn rate() -> f64 {
    std::env::var("FASTTRACK_FAULTS_RATE").ok().and_then(|r| r.parse().ok()).unwrap_or(RATE)
}

fn ms(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// One application as the load's client saw it.
#[derive(Debug, Clone)]
struct Submission {
    email: String,
    started: SystemTime,
    /// The application id of the 201, if one came.
    id: Option<String>,
    tries: u32,
    /// What the failed tries got: a 5xx status, or `refused` / `timeout` / `reset`.
    failures: Vec<String>,
    took: Duration,
    /// Why it ended without a 201.
    problem: Option<String>,
}

/// A steady load of applications: `rate()` a second, each to the next API in turn; on a
/// connection error or a 5xx the same request (same Idempotency-Key) goes to the other API,
/// until a 201.
struct Load {
    stop: watch::Sender<bool>,
    task: JoinHandle<Vec<Submission>>,
}

impl Load {
    fn start(apis: Vec<String>, prefix: String) -> Load {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .connect_timeout(Duration::from_secs(2))
                .build()
                .unwrap();
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate()));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut running = tokio::task::JoinSet::new();
            let mut n = 0usize;
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let email = format!("{prefix}-{n}@example.ac.uk");
                        running.spawn(submit(client.clone(), apis.clone(), email, n % apis.len()));
                        n += 1;
                    }
                    _ = stopped.wait_for(|s| *s) => break,
                }
            }
            running.join_all().await
        });
        Load { stop, task }
    }

    /// Stops new submissions and waits for those under way (each bounded by `GIVE_UP`).
    async fn finish(self) -> Vec<Submission> {
        let _ = self.stop.send(true);
        self.task.await.expect("the load task")
    }
}

async fn submit(client: reqwest::Client, apis: Vec<String>, email: String, first: usize) -> Submission {
    let key = ulid::Ulid::generate().to_string();
    let body = application(&email);
    let started_at = Instant::now();
    let mut s = Submission {
        email,
        started: SystemTime::now(),
        id: None,
        tries: 0,
        failures: Vec::new(),
        took: Duration::ZERO,
        problem: None,
    };
    let mut api = first;
    let mut wait = Duration::from_millis(100);
    loop {
        s.tries += 1;
        let res = client
            .post(format!("{}/api/v1/schemes/{SCHEME}/applications", apis[api]))
            .header("Idempotency-Key", &key)
            .json(&body)
            .send()
            .await;
        match res {
            Ok(r) if r.status() == 201 => match r.json::<Value>().await {
                Ok(v) => {
                    s.id = v["id"].as_str().map(str::to_owned);
                    if s.id.is_none() {
                        s.problem = Some(format!("a 201 without an id: {v}"));
                    }
                    s.took = started_at.elapsed();
                    return s;
                }
                // The answer was cut off: ask again, the key makes it safe.
                Err(_) => s.failures.push("reset".into()),
            },
            Ok(r) if r.status().is_server_error() => s.failures.push(r.status().as_u16().to_string()),
            Ok(r) => {
                let status = r.status();
                s.problem = Some(format!("{status}: {}", r.text().await.unwrap_or_default()));
                s.took = started_at.elapsed();
                return s;
            }
            Err(e) if e.is_connect() => s.failures.push("refused".into()),
            Err(e) if e.is_timeout() => s.failures.push("timeout".into()),
            Err(_) => s.failures.push("reset".into()),
        }
        if started_at.elapsed() > GIVE_UP {
            s.problem = Some(format!("no 201 after {} tries in {:?}: {:?}", s.tries, GIVE_UP, s.failures));
            s.took = started_at.elapsed();
            return s;
        }
        api = (api + 1) % apis.len();
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(1));
    }
}

/// A worker killed: the emails it may have been sending when it died.
struct WorkerKill {
    at: Instant,
    /// Rows in `sending` just after the kill: claimed by a worker and not yet marked.
    sending: HashSet<String>,
}

/// An outbox row, read directly from PostgreSQL.
#[derive(Debug, Clone)]
struct OutboxRow {
    id: String,
    application_id: String,
    kind: String,
    recipient: String,
    state: String,
    attempts: i64,
    last_error: String,
    created_at: i64,
    sent_at: Option<i64>,
}

/// The moment a fault ended, and the queue as it was then.
struct FaultEnd {
    at: SystemTime,
    queue: String,
}

/// What one phase came to.
struct Report {
    name: String,
    figures: Vec<String>,
    failures: Vec<String>,
}

/// The whole set-up. Fields drop in order: processes first, the database last.
struct Stack {
    apis: Vec<Proc>,
    workers: Vec<Proc>,
    proxy: PgProxy,
    redis: OwnRedis,
    smtp: SmtpSink,
    db: PgPool,
    api_urls: Vec<String>,
    /// Each worker process's ops server (/ready).
    worker_urls: Vec<String>,
    kills: Vec<WorkerKill>,
    /// Rows not sent when the last phase's checks ended (a later phase does not wait for them).
    stuck: HashSet<String>,
    /// Figures the current phase adds to its report (set by the fault, printed by `settle`).
    notes: Vec<String>,
    /// Every submission so far, for the final check over all phases.
    all: Vec<Submission>,
    /// Email jobs the queue had finished when the phase began.
    done_at_start: Option<i64>,
    logs: tempfile::TempDir,
    _data: tempfile::TempDir,
    database: PgDatabase,
}

impl Stack {
    async fn start() -> Stack {
        let database = PgDatabase::create().await;
        let proxy = PgProxy::start(postgres_addr()).await;
        let redis = OwnRedis::start();
        let smtp = SmtpSink::start().await;
        smtp.set_mode(Mode::Slow(SMTP_ACCEPT));
        let data = tempfile::tempdir().unwrap();
        let logs = tempfile::tempdir().unwrap();
        let env = fasttrack_env([
            ("DATA_DIR", data.path().display().to_string()),
            ("SERVER__ADDR", "127.0.0.1:0".into()),
            ("SERVER__THREADS", "2".into()),
            ("SERVER__SHUTDOWN_TIMEOUT_SECS", "5".into()),
            ("DATABASE__URL", database.url_via(proxy.addr)),
            ("DATABASE__MAX_CONNECTIONS", "8".into()),
            ("QUEUE__URL", redis.url()),
            ("QUEUE__NAMESPACE", "faults".into()),
            ("MAIL__URL", smtp.url()),
            ("MAIL__SEND_TIMEOUT_SECS", "3".into()),
            ("MAIL__MAX_ATTEMPTS", "40".into()),
            ("MAIL__BACKOFF_BASE_SECS", "1".into()),
            ("MAIL__BACKOFF_MAX_SECS", "5".into()),
            // Longer than the 20 s database cut: a worker that sent an email just before the
            // cut keeps it until the mark lands. A holder silent for longer than its lease
            // is taken for dead (its emails go again, same Message-ID), so the lease is also
            // how long a killed worker's emails wait (phase 1).
            ("WORKERS__LEASE_SECS", "25".into()),
            ("WORKERS__REQUEUE_AFTER_SECS", "3".into()),
            ("WORKERS__SWEEP_INTERVAL_SECS", "1".into()),
            ("WORKERS__HEARTBEAT_SECS", "1".into()),
            ("LOG__LEVEL", "warn".into()),
        ]);

        let client = reqwest::Client::new();
        let mut apis = Vec::new();
        let mut api_urls = Vec::new();
        for name in ["api-a", "api-b"] {
            let port = free_port();
            let mut env = env.clone();
            env.push(("FASTTRACK__SERVER__ADDR".into(), format!("127.0.0.1:{port}")));
            // One at a time: each runs the migrations at start.
            apis.push(Proc::start(name, &["serve"], &env, logs.path()));
            let url = format!("http://127.0.0.1:{port}");
            let up = within(60, async || healthy(&client, &url).await.then_some(())).await;
            assert!(up.is_some(), "{name} did not start:\n{}", apis.last().unwrap().log_tail(40));
            api_urls.push(url);
        }
        // Each worker serves /ready on a port of its own (workers.ops_addr).
        let mut workers = Vec::new();
        let mut worker_urls = Vec::new();
        for name in ["worker-a", "worker-b"] {
            let port = free_port();
            let mut env = env.clone();
            env.push(("FASTTRACK__WORKERS__OPS_ADDR".into(), format!("127.0.0.1:{port}")));
            workers.push(Proc::start(name, &["work"], &env, logs.path()));
            worker_urls.push(format!("http://127.0.0.1:{port}"));
        }
        let db = PgPoolOptions::new().max_connections(2).connect(&database.url()).await.expect("PostgreSQL");
        Stack {
            apis,
            workers,
            proxy,
            redis,
            smtp,
            db,
            api_urls,
            worker_urls,
            kills: Vec::new(),
            stuck: HashSet::new(),
            notes: Vec::new(),
            all: Vec::new(),
            done_at_start: None,
            logs,
            _data: data,
            database,
        }
    }

    /// Begins a phase: the load starts. Returns it and where each process's log stands.
    async fn begin(&mut self, prefix: &str) -> (Load, Vec<u64>) {
        self.done_at_start = self.jobs_done().await;
        (Load::start(self.api_urls.clone(), prefix.to_owned()), self.log_marks())
    }

    /// The fault is over: notes when, and what the queue held then.
    async fn fault_ended(&self) -> FaultEnd {
        FaultEnd { at: SystemTime::now(), queue: self.queue_sizes().await }
    }

    /// SIGKILLs a worker and notes what it may have held.
    async fn kill_worker(&mut self, i: usize) {
        self.workers[i].kill();
        let at = Instant::now();
        let sending = sqlx::query("SELECT id FROM notifications WHERE state = 'sending'")
            .fetch_all(&self.db)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>("id"))
            .collect();
        self.kills.push(WorkerKill { at, sending });
    }

    /// SIGKILLs an API process.
    fn kill_api(&mut self, i: usize) {
        self.apis[i].kill();
    }

    /// Starts an API process again and waits until it answers.
    async fn restart_api(&mut self, i: usize) {
        self.apis[i].restart();
        let client = reqwest::Client::new();
        let url = self.api_urls[i].clone();
        let up = within(60, async || healthy(&client, &url).await.then_some(())).await;
        assert!(up.is_some(), "{} did not start again:\n{}", self.apis[i].name, self.apis[i].log_tail(40));
    }

    async fn rows(&self) -> Vec<OutboxRow> {
        sqlx::query(
            "SELECT id, COALESCE(application_id, '') AS application_id, kind, recipient, state, attempts,
                    COALESCE(last_error, '') AS last_error, created_at, sent_at
             FROM notifications",
        )
        .fetch_all(&self.db)
        .await
        .unwrap()
        .iter()
        .map(|r| OutboxRow {
            id: r.get("id"),
            application_id: r.get("application_id"),
            kind: r.get("kind"),
            recipient: r.get("recipient"),
            state: r.get("state"),
            attempts: r.get("attempts"),
            last_error: r.get("last_error"),
            created_at: r.get("created_at"),
            sent_at: r.get("sent_at"),
        })
        .collect()
    }

    async fn states(&self) -> BTreeMap<String, i64> {
        sqlx::query("SELECT state, COUNT(*) AS n FROM notifications GROUP BY state")
            .fetch_all(&self.db)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("state"), r.get("n")))
            .collect()
    }

    /// Ids of the rows not sent yet.
    async fn unsent(&self) -> HashSet<String> {
        sqlx::query("SELECT id FROM notifications WHERE state <> 'sent'")
            .fetch_all(&self.db)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("id"))
            .collect()
    }

    /// The size of one Redis key (a list, set, sorted set or hash), if it answers.
    async fn redis_size(&self, key: &str) -> Option<i64> {
        let kind: String = self.redis.cmd(&["TYPE", key]).await.ok()?;
        let size_cmd = match kind.as_str() {
            "zset" => "ZCARD",
            "list" => "LLEN",
            "hash" => "HLEN",
            "set" => "SCARD",
            "none" => return Some(0),
            _ => return None,
        };
        self.redis.cmd(&[size_cmd, key]).await.ok()
    }

    /// Email jobs the queue records as finished (None: Redis did not answer).
    async fn jobs_done(&self) -> Option<i64> {
        self.redis_size("faults:emails:done").await
    }

    /// The sizes of the queue's main keys in our Redis, and how many keys it holds in all
    /// (per task and per worker). Named keys only: `KEYS *` would itself load a busy Redis.
    async fn queue_sizes(&self) -> String {
        let Ok(total) = self.redis.cmd::<i64>(&["DBSIZE"]).await else {
            return "(Redis did not answer)".into();
        };
        let mut out = Vec::new();
        for lane in ["emails", "jobs"] {
            for part in ["active", "scheduled", "done", "data"] {
                let key = format!("faults:{lane}:{part}");
                match self.redis_size(&key).await {
                    Some(0) => {}
                    Some(n) => out.push(format!("{lane}:{part}={n}")),
                    None => out.push(format!("{lane}:{part}=?")),
                }
            }
        }
        out.push(format!("keys={total}"));
        out.join(" ")
    }

    /// Ends a phase: stops the load (the fault ended at `fault_end`), waits until every
    /// email is sent, and checks everything the phase promised.
    async fn settle(&mut self, name: &str, (load, log_marks): (Load, Vec<u64>), end: FaultEnd) -> Report {
        let fault_end = end.at;
        let submissions = load.finish().await;
        let load_done = Instant::now();
        self.all.extend(submissions.iter().cloned());
        // Wait until nothing is unsent, or until only what an earlier phase already left
        // unsent remains and this phase's own emails are sent.
        let own: HashSet<String> = submissions.iter().map(|s| s.email.to_lowercase()).collect();
        let stuck_before = self.stuck.clone();
        let this = &*self;
        let settled = within(RECOVERY_SECS, async || {
            let unsent = this.unsent().await;
            if unsent.is_empty() {
                return Some(true);
            }
            (!stuck_before.is_empty() && unsent.is_subset(&stuck_before)).then_some(false)
        })
        .await;
        let drained = load_done.elapsed();
        let mut report = self.check(name, &submissions, Some(&own), fault_end).await;
        report.figures.push(format!(
            "after the load stopped: {} until {}",
            secs(drained),
            match settled {
                Some(true) => "every email was sent".to_owned(),
                Some(false) => "only emails stuck in an earlier phase were left".to_owned(),
                None => format!("the deadline ({RECOVERY_SECS} s) passed"),
            }
        ));
        // Every worker process says it can work again (its /ready: queue, mail, each lane's
        // worker in contact with its queue).
        let client = reqwest::Client::new();
        let urls = self.worker_urls.clone();
        let ready = within(30, async || {
            for u in &urls {
                let ok = client.get(format!("{u}/ready")).send().await.is_ok_and(|r| r.status() == 200);
                if !ok {
                    return None;
                }
            }
            Some(())
        })
        .await;
        match ready {
            Some(()) => report.figures.push("every worker process reports ready".into()),
            None => report.failures.push("a worker process did not report ready on /ready within 30 s".into()),
        }
        report.figures.push(format!("queue at the fault's end: {}", end.queue));
        report.figures.push(format!("queue after: {}", self.queue_sizes().await));
        let emails = 2 * submissions.iter().filter(|s| s.id.is_some()).count();
        match (self.done_at_start, self.jobs_done().await) {
            (Some(before), Some(after)) if after >= before => {
                report.figures.push(format!("email jobs run in this phase: {} for {emails} emails", after - before))
            }
            _ => report.figures.push("email jobs run in this phase: not known (the queue was emptied)".into()),
        }
        report.figures.append(&mut self.notes);
        self.stuck = self.unsent().await;
        self.print(&report, Some(&log_marks));
        report
    }

    /// Checks the submissions (their applications and emails) and the outbox as a whole.
    async fn check(
        &self,
        name: &str,
        submissions: &[Submission],
        own: Option<&HashSet<String>>,
        fault_end: SystemTime,
    ) -> Report {
        let mut failures = Vec::new();
        let mut figures = Vec::new();

        // The load: every application got its 201.
        let ok: Vec<&Submission> = submissions.iter().filter(|s| s.id.is_some()).collect();
        let retried = submissions.iter().filter(|s| s.tries > 1).count();
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for f in submissions.iter().flat_map(|s| &s.failures) {
            *seen.entry(f.as_str()).or_default() += 1;
        }
        let slowest = submissions.iter().map(|s| s.took).max().unwrap_or_default();
        figures.push(format!(
            "load: {} applications, {} with a 201, {retried} retried, failed tries {seen:?}, slowest {}",
            submissions.len(),
            ok.len(),
            secs(slowest)
        ));
        for s in submissions.iter().filter(|s| s.problem.is_some()) {
            failures.push(format!("{}: {}", s.email, s.problem.as_deref().unwrap()));
        }

        // Every 201 is in the database, and nothing that did not get one.
        let apps: HashMap<String, String> = sqlx::query("SELECT id, email_norm FROM applications")
            .fetch_all(&self.db)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("id"), r.get("email_norm")))
            .collect();
        let ids: HashSet<&str> = ok.iter().filter_map(|s| s.id.as_deref()).collect();
        let missing: Vec<&&str> = ids.iter().filter(|id| !apps.contains_key(**id)).collect();
        if !missing.is_empty() {
            failures.push(format!("{} applications answered 201 are not in the database: {missing:?}", missing.len()));
        }
        let emails: HashSet<String> = submissions.iter().map(|s| s.email.to_lowercase()).collect();
        let extra: Vec<(&String, &String)> =
            apps.iter().filter(|(id, e)| emails.contains(*e) && !ids.contains(id.as_str())).collect();
        if !extra.is_empty() {
            failures.push(format!("{} applications in the database never got a 201: {extra:?}", extra.len()));
        }

        // Every promised email arrived once.
        let rows = self.rows().await;
        let by_app: HashMap<(&str, &str), &OutboxRow> =
            rows.iter().map(|r| ((r.application_id.as_str(), r.kind.as_str()), r)).collect();
        let received = self.smtp.received();
        let mut copies: HashMap<(String, String), Vec<&Received>> = HashMap::new();
        for m in &received {
            let to = m.to.first().map(|t| t.trim_matches(|c| c == '<' || c == '>').to_lowercase()).unwrap_or_default();
            let kind = m.header("X-Fasttrack-Kind").unwrap_or_default();
            copies.entry((to, kind)).or_default().push(m);
        }
        let (mut expected, mut missing_emails, mut excused, mut latencies) = (0, Vec::new(), Vec::new(), Vec::new());
        let mut duplicates = Vec::new();
        let mut last_sent_ms = None::<i64>;
        for s in &ok {
            let id = s.id.as_deref().unwrap();
            for kind in KINDS {
                expected += 1;
                let Some(row) = by_app.get(&(id, kind)) else {
                    failures.push(format!("{}: no {kind} email in the outbox", s.email));
                    continue;
                };
                if let Some(sent) = row.sent_at {
                    latencies.push(sent - row.created_at);
                    if s.started <= fault_end {
                        last_sent_ms = last_sent_ms.max(Some(sent));
                    }
                }
                let got = copies.get(&(s.email.to_lowercase(), kind.to_owned())).map(Vec::as_slice).unwrap_or(&[]);
                let message_ids: HashSet<String> = got.iter().filter_map(|m| m.header("Message-ID")).collect();
                let right_id = message_ids.iter().all(|m| m.starts_with(&format!("<{}@", row.id)));
                match got.len() {
                    0 => missing_emails.push(format!("{} {kind} ({}, {} attempts)", s.email, row.state, row.attempts)),
                    1 if right_id => {}
                    1 => failures
                        .push(format!("{} {kind}: Message-ID {message_ids:?} is not the row's {}", s.email, row.id)),
                    n => {
                        let first = got.iter().map(|m| m.at).min().unwrap();
                        let held_by_killed =
                            self.kills.iter().any(|k| k.sending.contains(&row.id) && first <= k.at + KILL_GRACE);
                        let what =
                            format!("{} {kind} ×{n} (Message-IDs {message_ids:?}, {} attempts)", s.email, row.attempts);
                        if held_by_killed && right_id && message_ids.len() == 1 {
                            excused.push(what);
                        } else {
                            duplicates.push(what);
                        }
                    }
                }
            }
        }
        // Anything else the sink got for these applicants (another kind, another row).
        for ((to, kind), got) in &copies {
            if emails.contains(to) && !KINDS.contains(&kind.as_str()) {
                failures.push(format!("unexpected {kind} email ×{} to {to}", got.len()));
            }
        }
        latencies.sort();
        figures.push(format!(
            "emails: {expected} promised, {} missing, {} duplicates (+{} excused: held by a killed worker), latency p50 {} max {}",
            missing_emails.len(),
            duplicates.len(),
            excused.len(),
            secs_ms(latencies.get(latencies.len() / 2).copied()),
            secs_ms(latencies.last().copied()),
        ));
        if !missing_emails.is_empty() {
            failures.push(format!(
                "{} emails never arrived, e.g. {:?}",
                missing_emails.len(),
                &missing_emails[..missing_emails.len().min(5)]
            ));
        }
        if !duplicates.is_empty() {
            failures.push(format!(
                "{} emails arrived more than once (no worker died holding them), e.g. {:?}",
                duplicates.len(),
                &duplicates[..duplicates.len().min(5)]
            ));
        }
        if !excused.is_empty() {
            figures.push(format!("excused duplicates: {excused:?}"));
        }

        // Nothing left unsent, anywhere in the outbox.
        let states = self.states().await;
        figures.push(format!("outbox: {states:?}"));
        if states.keys().any(|s| s != "sent") {
            let inherited = self.stuck.len();
            let not_sent: Vec<&OutboxRow> = rows.iter().filter(|r| r.state != "sent").collect();
            let own_unsent = match own {
                Some(own) => not_sent.iter().filter(|r| own.contains(&r.recipient.to_lowercase())).count(),
                None => not_sent.len(),
            };
            let sample: Vec<String> = not_sent
                .iter()
                .take(5)
                .map(|r| format!("{} {} {} attempts {} {:?}", r.recipient, r.kind, r.state, r.attempts, r.last_error))
                .collect();
            failures.push(format!(
                "emails left unsent: {states:?} ({own_unsent} of this phase's, {inherited} were unsent at the previous phase's end), e.g. {sample:?}"
            ));
        }

        // The time to recover: from the fault's end until the last email promised by then went.
        let recovery = last_sent_ms.map(|t| t - ms(fault_end));
        figures.push(format!(
            "time to recover: {}",
            match recovery {
                Some(r) if r <= 0 => "0 s (every email promised before the fault's end was sent by then)".to_owned(),
                Some(r) if states.keys().all(|s| s == "sent") => secs_ms(Some(r)),
                Some(r) => format!("not recovered ({} so far)", secs_ms(Some(r))),
                None => "none measured".to_owned(),
            }
        ));
        Report { name: name.to_owned(), figures, failures }
    }

    fn log_marks(&self) -> Vec<u64> {
        self.apis.iter().chain(&self.workers).map(|p| std::fs::metadata(p.log_path()).map_or(0, |m| m.len())).collect()
    }

    /// Prints a phase's figures; with failures, what the processes logged during it (from
    /// `marks`, where each log stood when the phase began).
    fn print(&self, report: &Report, marks: Option<&[u64]>) {
        let mut out = format!("\n=== {} ===\n", report.name);
        for f in &report.figures {
            let _ = writeln!(out, "  {f}");
        }
        for f in &report.failures {
            let _ = writeln!(out, "  FAILED: {f}");
        }
        if let Some(marks) = marks.filter(|_| !report.failures.is_empty()) {
            for (p, mark) in self.apis.iter().chain(&self.workers).zip(marks) {
                let since = log_since(p.log_path(), *mark);
                let _ = writeln!(out, "  --- {} logged during this phase: {}", p.name, log_summary(&since));
                let lines: Vec<&str> = since.lines().collect();
                for l in &lines[lines.len().saturating_sub(12)..] {
                    let _ = writeln!(out, "    {}", l.chars().take(300).collect::<String>());
                }
            }
        }
        println!("{out}");
    }
}

/// What was written to `path` after byte `mark`.
fn log_since(path: &std::path::Path, mark: u64) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    String::from_utf8_lossy(&bytes[(mark as usize).min(bytes.len())..]).into_owned()
}

/// How many WARN and ERROR lines a log has, and its most frequent messages.
fn log_summary(text: &str) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut messages: HashMap<String, usize> = HashMap::new();
    for line in text.lines() {
        for level in ["WARN", "ERROR"] {
            if let Some(i) = line.find(&format!(" {level} ")) {
                *counts.entry(level).or_default() += 1;
                // The message without its fields (`key=value`), which differ line by line.
                let rest = &line[i + level.len() + 2..];
                let msg: Vec<&str> = rest.split(' ').take_while(|w| !w.contains('=')).collect();
                let msg: String = msg.join(" ").chars().take(100).collect();
                *messages.entry(format!("{level} {msg}")).or_default() += 1;
            }
        }
    }
    let mut top: Vec<(usize, String)> = messages.into_iter().map(|(m, n)| (n, m)).collect();
    top.sort_by(|a, b| b.cmp(a));
    let top: Vec<String> = top.iter().take(4).map(|(n, m)| format!("{n}× {m}")).collect();
    format!("{counts:?} {top:?}")
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn secs_ms(ms: Option<i64>) -> String {
    ms.map_or("–".to_owned(), |m| format!("{:.1} s", m as f64 / 1000.0))
}

/// Holds a fault: sleeps until `at` (this is the fault's length, not a wait for work).
async fn hold_until(at: Instant) {
    tokio::time::sleep_until(at.into()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_recovers_from_every_fault_without_losing_or_repeating_work() {
    let started = Instant::now();
    let mut s = Stack::start().await;
    println!(
        "stack up in {}: database {} (through {}), Redis on {}, SMTP on {}, logs in {}",
        secs(started.elapsed()),
        s.database.name,
        s.proxy.addr,
        s.redis.port,
        s.smtp.addr,
        s.logs.path().display()
    );
    let mut reports = Vec::new();

    // 0. No fault: the figures everything else is compared with.
    let phase = s.begin("p0").await;
    tokio::time::sleep(LOAD_AROUND * 2).await;
    let end = s.fault_ended().await;
    reports.push(s.settle("0. no fault (baseline)", phase, end).await);

    // 1. A worker killed with SIGKILL; started again 5 s later.
    let phase = s.begin("p1").await;
    tokio::time::sleep(LOAD_AROUND).await;
    s.kill_worker(0).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    s.workers[0].restart();
    let end = s.fault_ended().await;
    tokio::time::sleep(LOAD_AROUND).await;
    reports.push(s.settle("1. a worker killed (SIGKILL), started again after 5 s", phase, end).await);

    // 2a. Redis emptied.
    let phase = s.begin("p2a").await;
    tokio::time::sleep(LOAD_AROUND).await;
    let () = s.redis.cmd(&["FLUSHALL"]).await.expect("FLUSHALL");
    let end = s.fault_ended().await;
    tokio::time::sleep(LOAD_AROUND).await;
    reports.push(s.settle("2a. Redis emptied (FLUSHALL)", phase, end).await);

    // 2b. Redis killed, and started again on the same port 5 s later.
    let phase = s.begin("p2b").await;
    tokio::time::sleep(LOAD_AROUND).await;
    s.redis.stop();
    tokio::time::sleep(Duration::from_secs(5)).await;
    s.redis.restart();
    let end = s.fault_ended().await;
    tokio::time::sleep(LOAD_AROUND).await;
    reports.push(s.settle("2b. Redis killed, started again after 5 s", phase, end).await);

    // 3. SMTP down for 60 s.
    let phase = s.begin("p3").await;
    tokio::time::sleep(LOAD_AROUND).await;
    s.smtp.stop();
    tokio::time::sleep(Duration::from_secs(60)).await;
    s.smtp.restart().await;
    let end = s.fault_ended().await;
    tokio::time::sleep(LOAD_AROUND).await;
    reports.push(s.settle("3. SMTP down for 60 s", phase, end).await);

    // 4. The database cut for 20 s.
    let phase = s.begin("p4").await;
    tokio::time::sleep(LOAD_AROUND).await;
    let cut = s.proxy.cut().await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    s.proxy.restore().await;
    let end = s.fault_ended().await;
    tokio::time::sleep(LOAD_AROUND).await;
    s.notes.push(format!("{cut} connections cut"));
    reports.push(s.settle("4. the database cut for 20 s", phase, end).await);

    // 5. An API process killed with SIGKILL; started again 5 s later.
    let phase = s.begin("p5").await;
    tokio::time::sleep(LOAD_AROUND).await;
    s.kill_api(0);
    tokio::time::sleep(Duration::from_secs(5)).await;
    s.restart_api(0).await;
    let end = s.fault_ended().await;
    tokio::time::sleep(LOAD_AROUND).await;
    reports.push(s.settle("5. an API killed (SIGKILL), started again after 5 s", phase, end).await);

    // 6. All of them in one run, within SMTP's 60 s outage.
    let phase = s.begin("p6").await;
    tokio::time::sleep(LOAD_AROUND).await;
    let t0 = Instant::now();
    let at = |secs: u64| t0 + Duration::from_secs(secs);
    s.smtp.stop();
    hold_until(at(5)).await;
    s.kill_worker(1).await;
    hold_until(at(8)).await;
    s.workers[1].restart();
    hold_until(at(10)).await;
    let () = s.redis.cmd(&["FLUSHALL"]).await.expect("FLUSHALL");
    hold_until(at(15)).await;
    let cut = s.proxy.cut().await;
    hold_until(at(35)).await;
    s.proxy.restore().await;
    hold_until(at(40)).await;
    s.kill_api(1);
    hold_until(at(44)).await;
    s.restart_api(1).await;
    hold_until(at(48)).await;
    s.redis.stop();
    hold_until(at(50)).await;
    s.redis.restart();
    hold_until(at(60)).await;
    s.smtp.restart().await;
    let end = s.fault_ended().await;
    tokio::time::sleep(LOAD_AROUND).await;
    let name = "6. all at once: SMTP down 60 s, and in it a worker killed, Redis emptied, the database cut for 20 s, \
                an API killed, Redis killed";
    s.notes.push(format!("{cut} connections cut"));
    reports.push(s.settle(name, phase, end).await);

    // Over all phases: an email of an earlier phase may have gone twice in a later one.
    let all = s.all.clone();
    let mut total = s.check("all phases together", &all, None, SystemTime::now()).await;
    total.figures.retain(|f| !f.starts_with("time to recover"));
    s.print(&total, None);
    reports.push(total);

    let mut summary = format!("fault suite: {} in all, {} applications a second\n", secs(started.elapsed()), rate());
    for p in s.apis.iter().chain(&s.workers) {
        let _ = writeln!(summary, "  {} log: {}", p.name, log_summary(&log_since(p.log_path(), 0)));
    }
    let failed: Vec<&Report> = reports.iter().filter(|r| !r.failures.is_empty()).collect();
    for r in &reports {
        let _ = writeln!(summary, "  {} {}", if r.failures.is_empty() { "ok    " } else { "FAILED" }, r.name);
    }
    println!("{summary}");
    if !failed.is_empty() || std::env::var_os("FASTTRACK_FAULTS_KEEP_LOGS").is_some() {
        s.logs.disable_cleanup(true);
        println!("the processes' logs are kept in {}", s.logs.path().display());
    }
    if !failed.is_empty() {
        let mut why = String::new();
        for r in &failed {
            let _ = writeln!(why, "{}:", r.name);
            for f in &r.failures {
                let _ = writeln!(why, "  {f}");
            }
        }
        panic!("{summary}\n{why}\nthe processes' logs are kept in {}", s.logs.path().display());
    }
}
