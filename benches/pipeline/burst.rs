//! A deadline-day burst at scale, as real processes: 2 `fasttrack serve` and 2
//! `fasttrack work` (the release binary) on PostgreSQL + Redis and a local SMTP sink that
//! records every Message-ID. Applications arrive open-loop at `BENCH_BURST_RATE` a second
//! (200) for `BENCH_BURST_SECS` (300), each client retrying with its Idempotency-Key on
//! the other API. Then: every email delivered once, the queue empty, how long it took.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::{drop_pg, env_or, fresh_pg};

/// An SMTP sink that counts messages by Message-ID.
async fn sink() -> (std::net::SocketAddr, Arc<Mutex<HashMap<String, u32>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let s = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let s = s.clone();
            tokio::spawn(async move {
                stream.set_nodelay(true).ok();
                let (r, mut w) = stream.into_split();
                let mut r = BufReader::new(r);
                let mut line = String::new();
                w.write_all(b"220 sink ESMTP\r\n").await.ok();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match cmd.as_str() {
                        "EHLO" | "HELO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            w.write_all(b"354 go on\r\n").await.ok();
                            let mut id = String::new();
                            loop {
                                line.clear();
                                if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                                    return;
                                }
                                if line == ".\r\n" {
                                    break;
                                }
                                if id.is_empty() && line.to_ascii_lowercase().starts_with("message-id:") {
                                    id = line[11..].trim().to_owned();
                                }
                            }
                            *s.lock().unwrap().entry(id).or_default() += 1;
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            w.write_all(b"221 bye\r\n").await.ok();
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    if w.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, seen)
}

struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

pub async fn burst_table(redis: &str) -> String {
    let rate = env_or("BENCH_BURST_RATE", 200);
    let secs = env_or("BENCH_BURST_SECS", 300);
    let (addr, seen) = sink().await;
    let (url, name) = fresh_pg("burst").await;
    let data = tempfile::tempdir().unwrap();
    let env: Vec<(String, String)> = [
        ("DATA_DIR", data.path().display().to_string()),
        ("DATABASE__URL", url.clone()),
        ("DATABASE__MAX_CONNECTIONS", "16".into()),
        ("QUEUE__URL", redis.to_owned()),
        ("QUEUE__NAMESPACE", name.clone()),
        ("MAIL__URL", format!("smtp://{addr}")),
        ("LOG__LEVEL", "error".into()),
        ("SERVER__THREADS", "2".into()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("FASTTRACK__{k}"), v))
    .collect();
    let bin = env!("CARGO_BIN_EXE_fasttrack");
    let spawn = |args: &[&str], extra: (String, String)| {
        Command::new(bin)
            .args(args)
            .envs(env.iter().cloned())
            .env(extra.0, extra.1)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let client = reqwest::Client::new();
    let mut procs = Procs(Vec::new());
    let mut apis = Vec::new();
    for _ in 0..2 {
        let port = free_port();
        procs.0.push(spawn(&["serve"], ("FASTTRACK__SERVER__ADDR".into(), format!("127.0.0.1:{port}"))));
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !client.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status() == 200) {
            assert!(Instant::now() < deadline, "API did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        apis.push(base);
    }
    for _ in 0..2 {
        procs.0.push(spawn(&["work"], ("FASTTRACK__WORKERS__OPS_ADDR".into(), format!("127.0.0.1:{}", free_port()))));
    }
    let api_pids: Vec<u32> = procs.0[..2].iter().map(Child::id).collect();
    // The burst: open loop, one request started every 1/rate s.
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
    let accepted = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = Vec::new();
    let mut rss_peak: f64 = 0.0;
    let mut i = 0u64;
    while started.elapsed() < Duration::from_secs(secs) {
        tick.tick().await;
        if i.is_multiple_of(rate) {
            rss_peak = api_pids.iter().map(|p| rss_mb(*p)).fold(rss_peak, f64::max);
        }
        let (client, apis, latencies, accepted) = (client.clone(), apis.clone(), latencies.clone(), accepted.clone());
        tasks.push(tokio::spawn(async move {
            let body = json!({
                "name": "Burst Applicant", "email": format!("burst{i}@example.ac.uk"), "phone": "+44 20 7946 0000",
                "university": "University College London", "degree_subject": "Mathematics", "degree_class": "2:1",
                "degree_status": "awarded", "graduation_year": 2025, "right_to_work_uk": true,
                "stream_preferences": ["acute-trusts", "stp-programmes"], "unavailable_dates": [], "adjustments": [],
                "disability_confident": false
            });
            let key = format!("burst-{i}");
            let t = Instant::now();
            for attempt in 0..20u64 {
                let api = &apis[((i + attempt) % 2) as usize];
                let res = client
                    .post(format!("{api}/api/v1/schemes/london-imt-pilot/applications"))
                    .header("Idempotency-Key", &key)
                    .json(&body)
                    .send()
                    .await;
                if res.is_ok_and(|r| r.status() == 201) {
                    latencies.lock().unwrap().push(t.elapsed().as_secs_f64() * 1000.0);
                    accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
        i += 1;
    }
    for t in tasks {
        t.await.unwrap();
    }
    let load_secs = started.elapsed().as_secs_f64();
    let accepted = accepted.load(std::sync::atomic::Ordering::Relaxed);
    let expected = 2 * accepted as usize;
    let load_done = Instant::now();
    let deadline = load_done + Duration::from_secs(600);
    let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await.unwrap();
    loop {
        let unsent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE state <> 'sent'")
            .fetch_one(&mut db)
            .await
            .unwrap();
        if unsent == 0 && seen.lock().unwrap().values().map(|n| *n as usize).sum::<usize>() >= expected {
            break;
        }
        assert!(Instant::now() < deadline, "emails still unsent 10 minutes after the burst: {unsent}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drain = load_done.elapsed().as_secs_f64();
    let (distinct, duplicates) = {
        let seen = seen.lock().unwrap();
        (seen.len(), seen.values().filter(|n| **n > 1).count())
    };
    // Let the workers finish the last wake-ups, then look at the queue.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let qdir = tempfile::tempdir().unwrap();
    let qs = super::settings(qdir.path(), &[("QUEUE__URL", redis.to_owned()), ("QUEUE__NAMESPACE", name.clone())]);
    let waiting: u64 = fasttrack_workers::Queue::connect(&qs).await.unwrap().depth().await.unwrap().iter().sum();
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort_by(f64::total_cmp);
    let p = |q: f64| lat.get(((lat.len().max(1) - 1) as f64 * q) as usize).copied().unwrap_or(0.0);
    drop(procs);
    drop(db);
    super::drop_redis_namespace(redis, &name).await;
    drop_pg(&name).await;
    format!(
        "\n| burst at scale (2 API + 2 worker processes) | figure |\n|---|---|\n| offered | {rate}/s for {secs} s ({i} applications) |\n| accepted (201) | {accepted} in {load_secs:.0} s ({:.0}/s) |\n| submission latency p50 / p99 | {:.1} / {:.1} ms |\n| emails expected / distinct Message-IDs received / received more than once | {expected} / {distinct} / {duplicates} |\n| the last email delivered, after the load stopped | {drain:.1} s |\n| jobs waiting in the queue afterwards | {waiting} |\n| API RSS, highest seen | {rss_peak:.0} MB |",
        accepted as f64 / load_secs,
        p(0.5),
        p(0.99)
    )
}
