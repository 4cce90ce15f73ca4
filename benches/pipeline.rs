//! `cargo bench --bench pipeline`: throughput of the hot paths, each next to the
//! raw ceiling measured in the same run on the same machine, so the figures read
//! as a ratio. Prints a Markdown table (copied into BENCHMARKS.md).
//!
//! - submissions: concurrent HTTP clients POSTing applications to the real API
//!   (API-only process, PostgreSQL + Redis; SQLite embedded) vs plain
//!   single-row INSERT transactions from the same number of concurrent clients;
//! - the sift over N scored applications (default 100,000) on PostgreSQL;
//! - the schedule job over 10,000 shortlisted candidates and 500 sessions
//!   (`BENCH_ONLY=schedule` runs only this; `BENCH_ONLY=allocation` only the solver;
//!   `BENCH_ONLY=submissions` only the submissions);
//! - the email worker (.eml and SMTP), enqueueing and queue priority, each beside its raw
//!   ceiling (`pipeline/email.rs`; `BENCH_ONLY=email|enqueue|priority`, or `queue` for all three);
//! - a deadline-day burst as real processes, 200 applications/s for 5 minutes, every email
//!   once (`pipeline/burst.rs`; `BENCH_ONLY=burst`, not part of the full run);
//! - applicant pages with 100,000 applications in the database, beside GET /health
//!   (`pipeline/pages.rs`; `BENCH_ONLY=pages`).
//!
//! Needs PostgreSQL and Redis (as the tests do). Knobs: BENCH_SECONDS (10),
//! BENCH_CLIENTS (32), BENCH_SIFT_N (100000), BENCH_SCHEDULE_N (10000).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fasttrack::startup::{self, API_ONLY};
use fasttrack_core::settings::Settings;
use fasttrack_core::store::{self, Db};
use serde_json::json;
use sqlx::{AssertSqlSafe, Connection};

/// The workers' context for a job the bench runs itself.
fn bench_ctx(db: &Db, queue: &fasttrack_workers::Queue) -> fasttrack_workers::Ctx {
    fasttrack_workers::Ctx {
        db: db.clone(),
        queue: queue.clone(),
        clock: fasttrack_core::Clock::system(jiff::tz::TimeZone::get("Europe/London").unwrap()),
        stale: Duration::from_secs(600),
        outbox: None,
    }
}

/// A fixed-seed xorshift generator of numbers below `n`: the same inputs every run.
fn xorshift(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut rng = seed;
    move |n| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    }
}

fn env_or(k: &str, d: u64) -> u64 {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

fn pg_admin() -> String {
    std::env::var("FASTTRACK_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

async fn fresh_pg(tag: &str) -> (String, String) {
    let name = format!("ft_test_bench_{tag}_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&pg_admin()).await.expect("PostgreSQL");
    sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.unwrap();
    (format!("{}/{name}", pg_admin().rsplit_once('/').unwrap().0), name)
}

async fn drop_pg(name: &str) {
    if let Ok(mut admin) = sqlx::PgConnection::connect(&pg_admin()).await {
        let _ = sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
            .execute(&mut admin)
            .await;
    }
}

/// Deletes a bench's queue keys (`{ns}:*`) from Redis, if it answers.
async fn drop_redis_namespace(redis: &str, ns: &str) {
    let Ok(client) = redis::Client::open(redis) else { return };
    if let Ok(mut c) = client.get_multiplexed_async_connection().await {
        let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{ns}:*")).query_async(&mut c).await.unwrap_or_default();
        if !keys.is_empty() {
            let _: Result<(), _> = redis::cmd("DEL").arg(&keys).query_async(&mut c).await;
        }
    }
}

fn settings(data_dir: &std::path::Path, extra: &[(&str, String)]) -> Settings {
    let mut env: Vec<(String, String)> = vec![
        ("FASTTRACK__DATA_DIR".into(), data_dir.display().to_string()),
        ("FASTTRACK__SERVER__ADDR".into(), "127.0.0.1:0".into()),
        ("FASTTRACK__LOG__LEVEL".into(), "error".into()),
        ("FASTTRACK__DATABASE__MAX_CONNECTIONS".into(), "16".into()),
    ];
    env.extend(extra.iter().map(|(k, v)| (format!("FASTTRACK__{k}"), v.clone())));
    Settings::load(None, env).expect("bench settings")
}

struct Rate {
    ok: u64,
    secs: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Runs `clients` loops of `op` for `secs` seconds and measures what succeeded.
async fn load<F, Fut>(clients: u64, secs: u64, op: F) -> Rate
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let until = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (op, counter) = (op.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut ok = 0u64;
            while Instant::now() < until {
                let n = counter.fetch_add(1, Ordering::Relaxed) * 1000 + c;
                let t = Instant::now();
                if op(n).await {
                    ok += 1;
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                }
            }
            (ok, lat)
        }));
    }
    let mut ok = 0;
    let mut lat = Vec::new();
    for t in tasks {
        let (o, l) = t.await.unwrap();
        ok += o;
        lat.extend(l);
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    let pct =
        |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0.0);
    Rate { ok, secs, p50_ms: pct(0.5), p99_ms: pct(0.99) }
}

fn body(n: u64) -> serde_json::Value {
    json!({
        "name": "Bench Applicant", "email": format!("bench-{n}@example.ac.uk"), "university": "UCL",
        "degree_subject": "Mathematics", "degree_class": "2:1", "degree_status": "awarded", "graduation_year": 2025,
        "right_to_work_uk": true, "stream_preferences": ["acute-trusts", "stp-programmes"],
        "unavailable_dates": ["2027-03-02"], "equality": {"sex": "female", "ethnicity": "asian_indian", "disability": "no"}
    })
}

/// Submissions, and the same HTTP stack answering `GET /health` (what HTTP alone costs here).
async fn submissions(s: Settings, clients: u64, secs: u64) -> (Rate, Rate) {
    let running = startup::launch(s, API_ONLY).await.expect("launch");
    let base = format!("http://{}", running.addr.unwrap());
    let client = reqwest::Client::builder().pool_max_idle_per_host(clients as usize).build().unwrap();
    let (c, url) = (client.clone(), format!("{base}/api/v1/schemes/london-imt-pilot/applications"));
    let rate = load(clients, secs, move |n| {
        let req = c.post(&url).json(&body(n));
        async move { req.send().await.map(|r| r.status() == 201).unwrap_or(false) }
    })
    .await;
    let health = format!("{base}/health");
    let http = load(clients, secs.min(5), move |_| {
        let req = client.get(&health);
        async move { req.send().await.map(|r| r.status() == 200).unwrap_or(false) }
    })
    .await;
    running.stop().await;
    (rate, http)
}

/// The ceiling: one plain INSERT per transaction of a row as wide as an application.
async fn plain_inserts(db: Db, clients: u64, secs: u64) -> Rate {
    sqlx::query("CREATE TABLE plain_inserts (id TEXT PRIMARY KEY, scheme_id TEXT NOT NULL, email TEXT NOT NULL, details TEXT NOT NULL, created_at BIGINT NOT NULL)")
        .execute(db.pool())
        .await
        .unwrap();
    let details = body(0).to_string();
    load(clients, secs, move |n| {
        let (db, details) = (db.clone(), details.clone());
        async move {
            sqlx::query(
                "INSERT INTO plain_inserts (id, scheme_id, email, details, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind("london-imt-pilot")
            .bind(format!("bench-{n}@example.ac.uk"))
            .bind(details)
            .bind(n as i64)
            .execute(db.pool())
            .await
            .is_ok()
        }
    })
    .await
}

/// Loads `n` scored applications straight into the tables, then times one sift.
async fn sift(db: &Db, queue: fasttrack_workers::Queue, n: u64) -> (f64, f64) {
    let scheme = fasttrack_core::scheme::SchemeDefinition::parse_json(json!({
        "id": "bench-sift", "name": "Bench sift", "opens_at": "2025-01-01T00:00:00Z", "closes_at": "2025-06-01T00:00:00Z",
        "streams": [
            {"id": "s1", "name": "S1", "ac_seats": 2000, "reserve": 500},
            {"id": "s2", "name": "S2", "ac_seats": 2000, "reserve": 500},
            {"id": "s3", "name": "S3", "ac_seats": 2000, "reserve": 500}
        ]
    }))
    .unwrap();
    store::schemes::create(db, &scheme, jiff::Timestamp::now()).await.unwrap();
    let t = Instant::now();
    let details = json!({"name": "Bench Applicant", "email": "x@example.ac.uk", "phone": null,
        "degree": {"class": "upper_second", "status": "awarded", "subject": "Maths", "university": "UCL", "graduation_year": 2025},
        "right_to_work_uk": true, "stream_preferences": ["s1"], "unavailable_dates": [], "adjustments": [],
        "adjustments_detail": null, "disability_confident": false})
    .to_string();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for chunk_start in (0..n).step_by(1000) {
        let m = (n - chunk_start).min(1000);
        let mut tx = db.pool().begin().await.unwrap();
        let apps: Vec<String> = (0..m)
            .map(|i| {
                format!(
                    "(${}, 'bench-sift', ${}, 'scored', ${}, ${}, 0, 0, 0)",
                    4 * i + 1,
                    4 * i + 2,
                    4 * i + 3,
                    4 * i + 4
                )
            })
            .collect();
        let scores: Vec<String> =
            (0..m).map(|i| format!("(${}, 'bench-sift', ${}, ${}, 0)", 3 * i + 1, 3 * i + 2, 3 * i + 3)).collect();
        let mut q1 = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO applications (id, scheme_id, email_norm, status, details, first_stream, disability_confident, created_at, updated_at) VALUES {}",
            apps.join(", ")
        )));
        let mut q2 = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO application_scores (application_id, scheme_id, composite, passed, scored_at) VALUES {}",
            scores.join(", ")
        )));
        for i in 0..m {
            let id = uuid::Uuid::now_v7().to_string();
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let z = ((rng % 6000) as f64 / 1000.0) - 3.0;
            q1 = q1
                .bind(id.clone())
                .bind(format!("sift-{}@example.ac.uk", chunk_start + i))
                .bind(details.clone())
                .bind(format!("s{}", 1 + rng % 3));
            q2 = q2.bind(id).bind(z).bind(i64::from(z > -1.5));
        }
        q1.execute(&mut *tx).await.unwrap();
        q2.execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }
    let load_secs = t.elapsed().as_secs_f64();
    let (job, _) =
        store::jobs::create_or_existing(db, "bench-job", "sift", "bench-sift", "bench", jiff::Timestamp::now())
            .await
            .unwrap();
    let t = Instant::now();
    fasttrack_workers::sift::run_sift(&bench_ctx(db, &queue), &job).await.unwrap();
    let sift_secs = t.elapsed().as_secs_f64();
    let done = store::jobs::get(db, &job).await.unwrap().unwrap();
    assert_eq!(done.state, "done", "{:?}", done.error);
    assert_eq!(done.result.unwrap()["sifted"], n);
    (load_secs, sift_secs)
}

/// 10,000 shortlisted candidates into 500 sessions (4 venues, 125 dates, 20 seats, 4
/// assessors each from 20 organisations), with unavailable dates, adjustments, employers
/// and venue preferences drawn from a fixed seed.
fn allocation() -> (usize, usize, f64, usize) {
    use fasttrack_core::allocation::{Candidate, Session, allocate};
    let mut next = xorshift(0x9e37_79b9_7f4a_7c15u64);
    let day = |i: u64| jiff::civil::Date::new(2027, 1, 1).unwrap() + jiff::Span::new().days(i as i64);
    let venues = ["leeds", "london", "birmingham", "manchester"];
    let sessions: Vec<Session> = (0..500u64)
        .map(|i| {
            let mut provisions = Vec::new();
            if next(10) < 3 {
                provisions.push("step_free_access".to_owned());
            }
            if next(10) < 1 {
                provisions.push("quiet_room".to_owned());
            }
            Session {
                id: format!("s{i:03}"),
                date: day(i / 4),
                preference_key: venues[(i % 4) as usize].to_owned(),
                capacity: 20,
                booked: 0,
                min_group: 0,
                provisions,
                assessors: (0..4).map(|a| (format!("a{i}-{a}"), format!("org{}", next(20)))).collect(),
            }
        })
        .collect();
    let candidates: Vec<Candidate> = (0..10_000u64)
        .map(|i| Candidate {
            id: format!("c{i:05}"),
            unavailable: if next(10) == 0 { (0..1 + next(3)).map(|_| day(next(125))).collect() } else { Vec::new() },
            adjustments: match next(100) {
                0..5 => vec!["step_free_access".to_owned()],
                5..7 => vec!["quiet_room".to_owned()],
                _ => Vec::new(),
            },
            employer: (next(5) == 0).then(|| format!("org{}", next(20))),
            conflicts: Vec::new(),
            exclude: Vec::new(),
            preferences: venues.iter().map(|v| ((*v).to_owned(), next(4) as u32)).collect(),
        })
        .collect();
    let t = Instant::now();
    let plan = allocate(&candidates, &sessions);
    (candidates.len(), sessions.len(), t.elapsed().as_secs_f64(), plan.assigned.len())
}

/// Loads `n` shortlisted candidates and 500 sessions (125 centres of four 20-seat sessions)
/// straight into the tables, then times the whole schedule job: read, allocate, write
/// 10,000 bookings, timeline events and invitation emails, enqueue the emails.
async fn schedule(db: &Db, queue: fasttrack_workers::Queue, n: u64) -> (f64, f64, serde_json::Value) {
    let load_secs = load_schedule(db, n).await;
    let (job, _) = store::jobs::create_or_existing(
        db,
        "bench-schedule-job",
        "schedule",
        "bench-schedule",
        "bench",
        jiff::Timestamp::now(),
    )
    .await
    .unwrap();
    let t = Instant::now();
    fasttrack_workers::schedule::run_schedule(&bench_ctx(db, &queue), &job).await.unwrap();
    let secs = t.elapsed().as_secs_f64();
    let done = store::jobs::get(db, &job).await.unwrap().unwrap();
    assert_eq!(done.state, "done", "{:?}", done.error);
    (load_secs, secs, done.result.unwrap())
}

/// A schedule job pushed through real workers (both lanes running), from the push to done:
/// on an idle queue, then with `backlog` emails pending and being sent. Seconds, and how
/// many emails were still unsent when it finished.
async fn priority(redis: &str, n: u64, backlog: usize) -> (f64, i64) {
    use fasttrack_workers::jobs::Job;
    let (addr, _) = email::sink().await;
    let (url, name) = fresh_pg(&format!("priority{backlog}")).await;
    let dir = tempfile::tempdir().unwrap();
    let s = settings(
        dir.path(),
        &[
            ("DATABASE__URL", url),
            ("QUEUE__URL", redis.to_owned()),
            ("QUEUE__NAMESPACE", name.clone()),
            ("MAIL__URL", format!("smtp://{addr}")),
            ("WORKERS__OPS_ADDR", String::new()),
        ],
    );
    let (db, queue) = startup::connect(&s).await.unwrap();
    load_schedule(&db, n).await;
    email::backlog(&db, backlog).await;
    let clock = fasttrack_core::Clock::system(jiff::tz::TimeZone::UTC);
    let mailer = fasttrack_workers::Mailer::from_settings(&s).unwrap();
    let notifier = fasttrack_workers::Notifier::new(db.clone(), mailer, &s, clock.clone());
    let workers = fasttrack_workers::start(&s, bench_ctx(&db, &queue), notifier);
    if backlog > 0 {
        queue.enqueue(&[Job::WAKE_EMAILS]).await.unwrap();
        // The email worker is busy before the job is asked for.
        loop {
            let sent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE state = 'sent'")
                .fetch_one(db.pool())
                .await
                .unwrap();
            if sent >= 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let (job, _) =
        store::jobs::create_or_existing(&db, "bench-priority", "schedule", "bench-schedule", "bench", clock.now())
            .await
            .unwrap();
    let t = Instant::now();
    queue.enqueue(&[Job::RunSchedule { job_id: job.clone() }]).await.unwrap();
    loop {
        let j = store::jobs::get(&db, &job).await.unwrap().unwrap();
        if j.state == "done" {
            break;
        }
        assert_ne!(j.state, "failed", "{:?}", j.error);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let secs = t.elapsed().as_secs_f64();
    let unsent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE state <> 'sent'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    workers.stop().await;
    db.close().await;
    drop_pg(&name).await;
    drop_redis_namespace(redis, &name).await;
    (secs, unsent)
}

async fn priority_table(redis: &str) -> String {
    let n = env_or("BENCH_PRIORITY_N", 2_000);
    let (idle, _) = priority(redis, n, 0).await;
    let (busy, unsent) = priority(redis, n, 10_000).await;
    format!(
        "\n| schedule job of {n} through the workers (PostgreSQL + Redis + SMTP sink) | push to done |\n|---|---|\n| idle queue | {idle:.2} s |\n| 10,000 emails pending and being sent | {busy:.2} s ({unsent} still unsent when it finished) |\n| ratio | {:.2} |",
        busy / idle
    )
}

/// The assessment centres (125 days x 4 sessions x 20 seats) and `n` shortlisted candidates
/// of the schedule benches; seconds taken (plain multi-row INSERTs).
async fn load_schedule(db: &Db, n: u64) -> f64 {
    let scheme = fasttrack_core::scheme::SchemeDefinition::parse_json(json!({
        "id": "bench-schedule", "name": "Bench schedule", "opens_at": "2025-01-01T00:00:00Z",
        "closes_at": "2025-06-01T00:00:00Z", "streams": [{"id": "s1", "name": "S1", "ac_seats": n}]
    }))
    .unwrap();
    store::schemes::create(db, &scheme, jiff::Timestamp::now()).await.unwrap();
    let mut next = xorshift(0x5851_f42d_4c95_7f2du64);
    let venues = ["Leeds", "London", "Birmingham", "Manchester"];
    let day = |i: u64| jiff::civil::Date::new(2027, 1, 4).unwrap() + jiff::Span::new().days(i as i64);
    let t = Instant::now();
    for c in 0..125u64 {
        let sessions: Vec<serde_json::Value> = (0..4)
            .map(|k| {
                let provisions = if next(10) < 3 { json!(["step_free_access"]) } else { json!([]) };
                json!({"id": format!("s{k}"), "start": if k % 2 == 0 { "09:00" } else { "13:30" },
                       "end": if k % 2 == 0 { "12:30" } else { "17:00" }, "capacity": 20, "provisions": provisions,
                       "exercises": [{"kind": "interview", "competencies": ["motivation"]}],
                       "assessors": (0..4).map(|a| json!({"id": format!("a{c}-{k}-{a}"), "name": "A",
                                                          "organisation": format!("org{}", next(20))})).collect::<Vec<_>>()})
            })
            .collect();
        let centre = fasttrack_core::centres::AssessmentCentre::parse_json(json!({
            "id": format!("c{c:03}"), "name": format!("Centre {c}"), "venue": venues[(c % 4) as usize],
            "date": day(c).to_string(), "sessions": sessions
        }))
        .unwrap();
        store::centres::add(db, "bench-schedule", &centre, jiff::Timestamp::now()).await.map_err(|_| "centre").unwrap();
    }
    for chunk_start in (0..n).step_by(1000) {
        let m = (n - chunk_start).min(1000);
        let apps: Vec<String> = (0..m)
            .map(|i| {
                format!(
                    "(${}, 'bench-schedule', ${}, 'shortlisted', ${}, 's1', 0, 0, 0)",
                    3 * i + 1,
                    3 * i + 2,
                    3 * i + 3
                )
            })
            .collect();
        let mut q = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO applications (id, scheme_id, email_norm, status, details, first_stream, disability_confident, created_at, updated_at) VALUES {}",
            apps.join(", ")
        )));
        for i in 0..m {
            let unavailable: Vec<String> =
                if next(10) == 0 { (0..1 + next(3)).map(|_| day(next(125)).to_string()).collect() } else { Vec::new() };
            let adjustments = if next(100) < 5 { json!(["step_free_access"]) } else { json!([]) };
            let employer = (next(5) == 0).then(|| format!("org{}", next(20)));
            let details = json!({"name": "Bench Candidate", "email": format!("s{}@example.ac.uk", chunk_start + i),
                "phone": null, "degree": {"class": "upper_second", "status": "awarded", "subject": "Maths",
                "university": "UCL", "graduation_year": 2025}, "right_to_work_uk": true, "stream_preferences": ["s1"],
                "unavailable_dates": unavailable, "adjustments": adjustments, "adjustments_detail": null,
                "current_employer": employer, "preferred_venues": [venues[next(4) as usize]],
                "disability_confident": false});
            q = q
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(format!("s{}@example.ac.uk", chunk_start + i))
                .bind(details.to_string());
        }
        q.execute(db.pool()).await.unwrap();
    }
    t.elapsed().as_secs_f64()
}

async fn schedule_table(redis: &str) -> String {
    let n = env_or("BENCH_SCHEDULE_N", 10_000);
    let (url, name) = fresh_pg("schedule").await;
    let dir = tempfile::tempdir().unwrap();
    let pg = settings(
        dir.path(),
        &[("DATABASE__URL", url), ("QUEUE__URL", redis.to_owned()), ("QUEUE__NAMESPACE", name.clone())],
    );
    let (db, queue) = startup::connect(&pg).await.unwrap();
    let (load_secs, secs, result) = schedule(&db, queue, n).await;
    db.close().await;
    drop_pg(&name).await;
    format!(
        "\n| schedule job (PostgreSQL + Redis) | candidates | sessions | loading them (plain multi-row INSERTs) | the job: read, allocate, write bookings, events, emails; enqueue | placed / waiting |\n|---|---|---|---|---|---|\n| one run | {n} | 500 | {load_secs:.2} s | {secs:.2} s | {} / {} |",
        result["placed"], result["waiting"]
    )
}

/// Joint disclosure control of a GMTS-sized funnel: 6 streams and the scheme, 20 categories
/// by 11 stages, small and middling counts from a fixed seed (the worst case for suppression).
fn disclosure() -> (usize, f64, usize) {
    let mut next = xorshift(0x1234_5678_9abc_def1u64);
    let parts: Vec<Vec<Vec<u64>>> = (0..6)
        .map(|_| {
            (0..20).map(|_| (0..11).map(|s| next(40 / (s as u64 + 1)) * u64::from(next(4) > 0)).collect()).collect()
        })
        .collect();
    let t = Instant::now();
    let (streams, whole) = fasttrack_core::disclosure::protect_jointly(&parts, 5);
    let hidden = streams.iter().chain([&whole]).flat_map(|p| p.hidden.iter().flatten()).filter(|h| h.is_some()).count();
    (parts.len(), t.elapsed().as_secs_f64(), hidden)
}

#[path = "pipeline/burst.rs"]
mod burst;
#[path = "pipeline/email.rs"]
mod email;
#[path = "pipeline/pages.rs"]
mod pages;

#[tokio::main]
async fn main() {
    let redis_url = std::env::var("FASTTRACK_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    match std::env::var("BENCH_ONLY").as_deref() {
        Ok("email") => return println!("{}", email::email_table(&redis_url).await),
        Ok("enqueue") => return println!("{}", email::enqueue_table(&redis_url).await),
        Ok("priority") => return println!("{}", priority_table(&redis_url).await),
        Ok("burst") => return println!("{}", burst::burst_table(&redis_url).await),
        Ok("pages") => return println!("{}", pages::pages_table().await),
        Ok("queue") => {
            println!("{}", email::email_table(&redis_url).await);
            println!("{}", email::enqueue_table(&redis_url).await);
            return println!("{}", priority_table(&redis_url).await);
        }
        _ => {}
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("disclosure") {
        let (streams, secs, hidden) = disclosure();
        println!("\n| joint disclosure control | streams | time | cells hidden |\n|---|---|---|---|");
        println!("| 20 categories x 11 stages | {streams} + scheme | {:.1} ms | {hidden} |", secs * 1000.0);
        return;
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("schedule") {
        let redis = std::env::var("FASTTRACK_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        println!("{}", schedule_table(&redis).await);
        return;
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("allocation") {
        let (c, s, secs, placed) = allocation();
        println!("\n| allocation (pure) | candidates | sessions | placed | time |\n|---|---|---|---|---|");
        println!("| min-cost max-flow | {c} | {s} | {placed} | {secs:.2} s |");
        return;
    }
    let secs = env_or("BENCH_SECONDS", 10);
    let clients = env_or("BENCH_CLIENTS", 32);
    let sift_n = env_or("BENCH_SIFT_N", 100_000);
    let redis = std::env::var("FASTTRACK_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let mut rows = Vec::new();

    // PostgreSQL + Redis
    let (url, name) = fresh_pg("sub").await;
    let dir = tempfile::tempdir().unwrap();
    let pg = settings(
        dir.path(),
        &[("DATABASE__URL", url.clone()), ("QUEUE__URL", redis.clone()), ("QUEUE__NAMESPACE", name.clone())],
    );
    let (sub, http) = submissions(pg.clone(), clients, secs).await;
    let db = Db::connect(&pg).await.unwrap();
    let plain = plain_inserts(db.clone(), clients, secs).await;
    rows.push(("PostgreSQL + Redis", sub, plain, http));
    db.close().await;
    drop_pg(&name).await;

    // SQLite (embedded)
    let dir = tempfile::tempdir().unwrap();
    let lite = settings(dir.path(), &[]);
    let (sub, http) = submissions(lite.clone(), clients, secs).await;
    let db = Db::connect(&lite).await.unwrap();
    let plain = plain_inserts(db.clone(), clients, secs).await;
    rows.push(("SQLite (embedded)", sub, plain, http));
    db.close().await;

    println!("\n{clients} concurrent clients, {secs} s each\n");
    println!(
        "| backend | submissions/s (HTTP, one transaction each) | p50 / p99 ms | plain INSERTs/s (ceiling) | ratio | GET /health/s (HTTP alone) |"
    );
    println!("|---|---|---|---|---|---|");
    for (label, sub, plain, http) in &rows {
        let (s, p) = (sub.ok as f64 / sub.secs, plain.ok as f64 / plain.secs);
        let h = http.ok as f64 / http.secs;
        println!("| {label} | {s:.0} | {:.1} / {:.1} | {p:.0} | {:.2} | {h:.0} |", sub.p50_ms, sub.p99_ms, s / p);
    }

    if std::env::var("BENCH_ONLY").as_deref() == Ok("submissions") {
        return;
    }

    // The sift
    let (url, name) = fresh_pg("sift").await;
    let dir = tempfile::tempdir().unwrap();
    let pg = settings(
        dir.path(),
        &[("DATABASE__URL", url), ("QUEUE__URL", redis.clone()), ("QUEUE__NAMESPACE", name.clone())],
    );
    let (db, queue) = startup::connect(&pg).await.unwrap();
    let (load_secs, sift_secs) = sift(&db, queue, sift_n).await;
    println!(
        "\n| sift (PostgreSQL) | applications | loading them (plain multi-row INSERTs) | the sift: read, decide, write statuses, events, results, emails; enqueue emails |"
    );
    println!("|---|---|---|---|");
    println!("| one batch | {sift_n} | {load_secs:.2} s | {sift_secs:.2} s |");
    db.close().await;
    drop_pg(&name).await;
    println!("{}", schedule_table(&redis).await);
    println!("{}", email::email_table(&redis).await);
    println!("{}", email::enqueue_table(&redis).await);
    println!("{}", priority_table(&redis).await);
    for ns in [format!("ft_test_bench_sub_{}", std::process::id()), name] {
        drop_redis_namespace(&redis, &ns).await;
    }
}
