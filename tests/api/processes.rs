//! The at-scale set-up as separate processes: `fasttrack serve` and `fasttrack work`
//! binaries on PostgreSQL + Redis + SMTP. A worker is killed with SIGKILL in the
//! middle of sending; another takes over and every email arrives exactly once.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::{AssertSqlSafe, Connection, Row};

use crate::helpers::{application, delete_redis_namespace, postgres_admin_url, redis_url};
use crate::smtp::{Mode, SmtpSink};

/// Child processes killed when the test ends, however it ends.
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

fn fasttrack(args: &[&str], env: &[(String, String)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fasttrack"))
        .args(args)
        .envs(env.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start fasttrack")
}

async fn until<T>(what: &str, secs: u64, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_and_work_as_processes_survive_a_worker_killed_mid_send() {
    let name = format!("ft_test_{}", ulid::Ulid::generate().to_string().to_lowercase());
    let mut admin = sqlx::PgConnection::connect(&postgres_admin_url()).await.expect("PostgreSQL");
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.unwrap();
    let db_url = format!("{}/{name}", postgres_admin_url().rsplit_once('/').unwrap().0);
    let smtp = SmtpSink::start().await;
    smtp.set_mode(Mode::Slow(Duration::from_secs(30)));
    let port = free_port();
    let data = tempfile::tempdir().unwrap();
    let env: Vec<(String, String)> = [
        ("DATA_DIR", data.path().display().to_string()),
        ("SERVER__ADDR", format!("127.0.0.1:{port}")),
        ("DATABASE__URL", db_url.clone()),
        ("QUEUE__URL", redis_url()),
        ("QUEUE__NAMESPACE", name.clone()),
        ("MAIL__URL", smtp.url()),
        ("MAIL__SEND_TIMEOUT_SECS", "60".into()),
        ("WORKERS__LEASE_SECS", "2".into()),
        ("WORKERS__REQUEUE_AFTER_SECS", "2".into()),
        ("WORKERS__SWEEP_INTERVAL_SECS", "1".into()),
        ("WORKERS__HEARTBEAT_SECS", "1".into()),
        ("LOG__LEVEL", "warn".into()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("FASTTRACK__{k}"), v))
    .collect();

    let mut procs = Procs(vec![fasttrack(&["serve"], &env)]);
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    until("the API", 60, async || client.get(format!("{base}/health")).send().await.ok().filter(|r| r.status() == 200))
        .await;
    procs.0.push(fasttrack(&["work"], &env));

    let res = client
        .post(format!("{base}/api/v1/schemes/london-imt-pilot/applications"))
        .json(&application("kill@example.ac.uk"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

    // Wait until the worker is in the middle of sending, then kill it outright.
    let mut db = sqlx::PgConnection::connect(&db_url).await.unwrap();
    until("an email mid-send", 60, async || {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM notifications WHERE state = 'sending'")
            .fetch_one(&mut db)
            .await
            .unwrap()
            .get("n");
        (n > 0).then_some(())
    })
    .await;
    let mut worker = procs.0.remove(1);
    worker.kill().unwrap(); // SIGKILL
    worker.wait().unwrap();
    assert!(smtp.received().is_empty(), "nothing was accepted before the kill");

    // Another worker process picks the work up; SMTP answers promptly now.
    smtp.set_mode(Mode::Accept);
    procs.0.push(fasttrack(&["work"], &env));
    let states = until("both emails sent", 60, async || {
        let rows =
            sqlx::query("SELECT kind, state, attempts FROM notifications WHERE application_id = $1 ORDER BY kind")
                .bind(&id)
                .fetch_all(&mut db)
                .await
                .unwrap();
        let v: Vec<(String, String, i64)> =
            rows.iter().map(|r| (r.get("kind"), r.get("state"), r.get("attempts"))).collect();
        v.iter().all(|(_, s, _)| s == "sent").then_some(v)
    })
    .await;
    assert_eq!(states.len(), 2, "{states:?}");
    let kinds: Vec<String> = smtp.received().iter().filter_map(|r| r.header("X-Fasttrack-Kind")).collect();
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(sorted, ["confirmation", "tests_invited"], "each email exactly once: {kinds:?}");
    assert!(states.iter().any(|(_, _, attempts)| *attempts >= 2), "the killed attempt was counted: {states:?}");

    // The API stops gracefully on SIGTERM.
    let api = &mut procs.0[0];
    Command::new("kill").args(["-TERM", &api.id().to_string()]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(s) = api.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the API did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(code.success(), "graceful shutdown exits 0: {code:?}");

    drop(procs);
    drop(db);
    let _ =
        sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&mut admin).await;
    let _ = delete_redis_namespace(&name).await;
}
