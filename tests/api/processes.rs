//! The at-scale set-up as separate processes: `fasttrack serve` and `fasttrack work`
//! binaries on PostgreSQL + Redis + SMTP. A worker is killed with SIGKILL in the
//! middle of sending; another takes over and every email arrives exactly once.

use std::time::Duration;

use serde_json::Value;
use sqlx::{Connection, Row};

use crate::harness::{PgDatabase, Proc, fasttrack_env, free_port, healthy, until};
use crate::helpers::{application, delete_redis_namespace, redis_url};
use crate::smtp::{Mode, SmtpSink};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_and_work_as_processes_survive_a_worker_killed_mid_send() {
    let database = PgDatabase::create().await;
    let (name, db_url) = (database.name.clone(), database.url());
    let smtp = SmtpSink::start().await;
    smtp.set_mode(Mode::Slow(Duration::from_secs(30)));
    let port = free_port();
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let env = fasttrack_env([
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
    ]);

    let mut api = Proc::start("api", &["serve"], &env, logs.path());
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    until("the API", 60, async || healthy(&client, &base).await.then_some(())).await;
    let mut worker = Proc::start("worker", &["work"], &env, logs.path());

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
    worker.kill(); // SIGKILL
    assert!(smtp.received().is_empty(), "nothing was accepted before the kill");

    // Another worker process picks the work up; SMTP answers promptly now.
    smtp.set_mode(Mode::Accept);
    worker.restart();
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
    api.signal("TERM");
    let code = api.exited_within(20).await.expect("the API did not stop on SIGTERM");
    assert!(code.success(), "graceful shutdown exits 0: {code:?}");

    drop((api, worker));
    drop(db);
    drop(database);
    let _ = delete_redis_namespace(&name).await;
}
