//! The email outbox end to end: delivered once, survives lost jobs, dead
//! workers and SMTP outages, dead letters listed and re-sent by admins.

use fasttrack::startup;
use fasttrack_core::{NotificationId, Role};
use fasttrack_workers::queue::Lane;
use serde_json::Value;
use sqlx::Row;

use crate::both_backends;
use crate::helpers::{Backend, Options, TestApp, application, delete_redis_namespace};
use crate::smtp::Mode;

const SCHEME: &str = "london-imt-pilot";

fn is_confirmation_to(email: &str) -> impl Fn(&str) -> bool + '_ {
    move |e| e.contains("X-Fasttrack-Kind: confirmation") && e.contains(&format!("To: {email}"))
}

async fn notification_id(app: &TestApp, application: &str, kind: &str) -> NotificationId {
    let id: String = sqlx::query("SELECT id FROM notifications WHERE application_id = $1 AND kind = $2")
        .bind(application)
        .bind(kind)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get("id");
    id.parse().unwrap()
}

async fn confirmation_email_goes_out_once_even_when_its_job_runs_again(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, _) = app.apply_ok(SCHEME, &application("once@example.ac.uk")).await;
    let emails = app.wait_for_emails(1, is_confirmation_to("once@example.ac.uk")).await;
    assert!(emails[0].contains("multipart/alternative") && emails[0].contains("text/html"));
    assert!(emails[0].contains("Dear Ada Lovelace"));
    app.wait_for_email_state(&id, "confirmation", "sent").await;

    // The same job, twice more, concurrently: the row is already sent, nothing goes out.
    let n = notification_id(&app, &id, "confirmation").await;
    app.queue.enqueue_emails(&[n, n]).await.unwrap();
    // A later email proves the queue moved past the duplicates.
    let (id2, _) = app.apply_ok(SCHEME, &application("later@example.ac.uk")).await;
    app.wait_for_email_state(&id2, "confirmation", "sent").await;
    app.wait_for_emails(1, is_confirmation_to("later@example.ac.uk")).await;
    assert_eq!(app.sent_emails().iter().filter(|e| is_confirmation_to("once@example.ac.uk")(e)).count(), 1);
    app.stop().await;
}

/// Empties the job queue, as a Redis restart (nothing kept on disk) would.
async fn empty_the_queue(app: &TestApp) {
    match app.queue.lanes()[0] {
        Lane::Redis(_) => delete_redis_namespace(&app.settings.queue.namespace).await.unwrap(),
        Lane::Sqlite(s) => {
            sqlx::query("DELETE FROM Jobs").execute(s.pool()).await.unwrap();
        }
    }
}

async fn a_committed_email_is_sent_after_its_job_is_lost_and_the_api_process_dies(backend: Backend) {
    // An API-only process commits the application and pushes the job...
    let mut app = TestApp::spawn_with(backend, Options { parts: startup::API_ONLY, ..Default::default() }).await;
    let (id, _) = app.apply_ok(SCHEME, &application("lost@example.ac.uk")).await;
    // ...then the queue is emptied and the API process goes away.
    empty_the_queue(&app).await;
    app.stop_first().await;
    assert_eq!(app.email_state(&id, "confirmation").await.unwrap().0, "pending");
    // A worker process started later finds the committed email and sends it, once.
    app.launch_more(startup::WORKERS_ONLY).await;
    app.wait_for_email_state(&id, "confirmation", "sent").await;
    let emails = app.wait_for_emails(1, is_confirmation_to("lost@example.ac.uk")).await;
    assert_eq!(emails.len(), 1);
    app.stop().await;
}

async fn a_worker_that_dies_mid_send_leaves_the_email_to_another(backend: Backend) {
    // Simulate the dead worker: the row is claimed (state sending) with a lease that runs out,
    // and no job is left in the queue.
    let mut app = TestApp::spawn_with(
        backend,
        Options { parts: startup::API_ONLY, env: vec![("FASTTRACK__WORKERS__LEASE_SECS".into(), "1".into())] },
    )
    .await;
    let (id, _) = app.apply_ok(SCHEME, &application("orphan@example.ac.uk")).await;
    let n = notification_id(&app, &id, "confirmation").await;
    let claimed = fasttrack_core::store::notifications::claim(
        &app.db,
        n,
        jiff::Timestamp::now(),
        std::time::Duration::from_secs(1),
    )
    .await
    .unwrap();
    assert!(claimed.is_some());
    empty_the_queue(&app).await;
    app.launch_more(startup::WORKERS_ONLY).await;
    let attempts = app.wait_for_email_state(&id, "confirmation", "sent").await;
    assert_eq!(attempts, 2, "the dead worker's attempt counts");
    assert_eq!(app.wait_for_emails(1, is_confirmation_to("orphan@example.ac.uk")).await.len(), 1);
    app.stop().await;
}

async fn finished_jobs_are_cleared_from_the_queue(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, _) = app.apply_ok(SCHEME, &application("vacuum@example.ac.uk")).await;
    app.wait_for_email_state(&id, "confirmation", "sent").await;
    app.wait_for_email_state(&id, "tests_invited", "sent").await;
    // The queue records a job as done a moment after it ran; it is cleared in the end (one
    // wake-up for the emails of one submission).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut removed = 0;
    while removed < 1 {
        removed += app.queue.vacuum().await.unwrap();
        assert!(std::time::Instant::now() < deadline, "only {removed} finished jobs cleared");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.stop().await;
}

/// A job that comes before its email is due (a retry scheduled in whole seconds, a clock
/// between processes) does not vanish: it says when to come back, and then it sends.
async fn an_early_email_job_waits_for_its_row_and_then_sends(backend: Backend) {
    use fasttrack_workers::notify::Outcome;
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let (id, _) = app.apply_ok(SCHEME, &application("early@example.ac.uk")).await;
    let n = notification_id(&app, &id, "confirmation").await;
    let due = app.clock.now() + jiff::SignedDuration::from_secs(10);
    sqlx::query("UPDATE notifications SET next_attempt_at = $1 WHERE id = $2")
        .bind(due.as_millisecond())
        .bind(n.to_string())
        .execute(app.db.pool())
        .await
        .unwrap();
    let notifier = app.notifier();
    assert_eq!(
        notifier.deliver(n).await.unwrap(),
        Outcome::NotYetDue(jiff::Timestamp::from_millisecond(due.as_millisecond()).unwrap())
    );
    assert_eq!(app.email_state(&id, "confirmation").await.unwrap(), ("pending".to_owned(), 0));
    app.advance(jiff::SignedDuration::from_secs(11));
    assert_eq!(notifier.deliver(n).await.unwrap(), Outcome::Sent);
    assert_eq!(notifier.deliver(n).await.unwrap(), Outcome::Skipped, "sent once");
    app.stop().await;
}

async fn only_the_current_claim_records_an_outcome(backend: Backend) {
    use fasttrack_core::store::notifications;
    let mut app = TestApp::spawn_with(backend, Options { parts: startup::API_ONLY, ..Default::default() }).await;
    let (id, _) = app.apply_ok(SCHEME, &application("claims@example.ac.uk")).await;
    let n = notification_id(&app, &id, "confirmation").await;
    app.stop_first().await;
    let lease = std::time::Duration::from_millis(1);
    let first = notifications::claim(&app.db, n, jiff::Timestamp::now(), lease).await.unwrap().unwrap();
    // The first holder was too slow: its lease ran out and a second worker took over (a
    // second later, by the time it passes to claim).
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(1);
    let second = notifications::claim(&app.db, n, later, std::time::Duration::from_secs(60)).await.unwrap().unwrap();
    assert_eq!((first.attempt, second.attempt), (1, 2));
    // The slow first worker's failure must not hand the email back while the second sends it.
    notifications::mark_failed(
        &app.db,
        n,
        first.attempt,
        "too slow",
        Some(jiff::Timestamp::now()),
        jiff::Timestamp::now(),
    )
    .await
    .unwrap();
    assert_eq!(app.email_state(&id, "confirmation").await.unwrap().0, "sending");
    notifications::mark_sent(&app.db, n, second.attempt, jiff::Timestamp::now()).await.unwrap();
    assert_eq!(app.email_state(&id, "confirmation").await.unwrap(), ("sent".to_owned(), 2));
    app.stop().await;
}

/// Outbox rows committed without any push, as many as a deadline-day backlog.
async fn outbox_backlog(app: &TestApp, n: usize, tag: &str) {
    use fasttrack_core::store::notifications::{NewNotification, insert_many};
    let mail = fasttrack_core::domain::mail::Mail::examples().remove(0);
    let rows: Vec<NewNotification> = (0..n)
        .map(|i| NewNotification::new("", &format!("{tag}{i}@example.ac.uk"), &mail, format!("{tag}:{i}")))
        .collect();
    let mut tx = app.db.pool().begin().await.unwrap();
    insert_many(&mut tx, &rows, app.clock.now()).await.unwrap();
    tx.commit().await.unwrap();
}

/// 20,000 emails waiting and the sweeper running for ten intervals: each pass pushes at
/// most one wake-up, so the queue holds a handful of jobs, never one per email. (Sending a
/// backlog, every email once, is `concurrent_claims…` and the fault suite.)
async fn a_long_email_backlog_and_ten_sweeps_queue_at_most_one_wake_up_a_pass(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    outbox_backlog(&app, 20_000, "backlog").await;
    empty_the_queue(&app).await;
    let requeue_after = std::time::Duration::from_secs(app.settings.workers.requeue_after_secs);
    let step = jiff::SignedDuration::try_from(requeue_after).unwrap() + jiff::SignedDuration::from_secs(1);
    for pass in 1..=10u64 {
        app.advance(step);
        let pushed = fasttrack_workers::sweep::sweep_once(&app.ctx(), requeue_after).await.unwrap();
        assert_eq!(pushed, 1, "pass {pass}: one wake-up for the stranded backlog");
        let [jobs, emails] = app.queue.depth().await.unwrap();
        assert_eq!((jobs, emails), (0, pass), "pass {pass}: the queue holds the wake-ups only");
    }
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE state = 'pending'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(pending, 20_000, "sweeping sends nothing and loses nothing");
    app.stop().await;
}

/// Workers claiming at the same moment take disjoint rows, all of them, without waiting
/// on each other or deadlocking (PostgreSQL: `FOR UPDATE SKIP LOCKED`).
async fn concurrent_claims_take_every_due_email_once(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    outbox_backlog(&app, 2_000, "claim").await;
    let claimers: Vec<_> = (0..4)
        .map(|_| {
            let (db, now) = (app.db.clone(), app.clock.now());
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let lease = std::time::Duration::from_secs(60);
                    let rows = fasttrack_core::store::notifications::claim_due(&db, now, lease, 50).await.unwrap();
                    if rows.is_empty() {
                        return mine;
                    }
                    mine.extend(rows.into_iter().map(|r| r.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for c in claimers {
        all.extend(c.await.unwrap());
    }
    let unique: std::collections::HashSet<_> = all.iter().collect();
    assert_eq!((all.len(), unique.len()), (2_000, 2_000), "each row claimed exactly once");
    // Their leases run out (as if those workers died): a drain sends each one, once.
    app.advance(jiff::SignedDuration::from_secs(61));
    assert_eq!(app.drain().await.emails, 2_000);
    assert_eq!(app.sent_emails().len(), 2_000);
    app.stop().await;
}

both_backends!(
    a_long_email_backlog_and_ten_sweeps_queue_at_most_one_wake_up_a_pass,
    concurrent_claims_take_every_due_email_once,
    only_the_current_claim_records_an_outcome,
    an_early_email_job_waits_for_its_row_and_then_sends,
    finished_jobs_are_cleared_from_the_queue,
    confirmation_email_goes_out_once_even_when_its_job_runs_again,
    a_committed_email_is_sent_after_its_job_is_lost_and_the_api_process_dies,
    a_worker_that_dies_mid_send_leaves_the_email_to_another,
);

/// SMTP is a real server over TCP here, so these run on the at-scale backend.
mod smtp {
    use super::*;
    use crate::harness::OwnRedis;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn smtp_down_during_submission_then_up_delivers_exactly_once() {
        let mut app = TestApp::spawn(Backend::Postgres).await;
        app.smtp.as_mut().unwrap().stop();
        let (id, _) = app.apply_ok(SCHEME, &application("outage@example.ac.uk")).await;
        // At least one attempt fails while SMTP is down, and the email waits for a retry.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let (state, attempts) = app.email_state(&id, "confirmation").await.unwrap();
            if attempts >= 1 && state == "pending" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "no failed attempt seen: {state} {attempts}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        app.smtp.as_mut().unwrap().restart().await;
        let attempts = app.wait_for_email_state(&id, "confirmation", "sent").await;
        assert!(attempts >= 2, "sent on a retry, attempt {attempts}");
        let received: Vec<_> = app
            .smtp
            .as_ref()
            .unwrap()
            .received()
            .into_iter()
            .filter(|r| r.header("X-Fasttrack-Kind").as_deref() == Some("confirmation"))
            .collect();
        assert_eq!(received.len(), 1, "exactly one confirmation");
        assert_eq!(received[0].to, vec!["<outage@example.ac.uk>".to_owned()]);
        assert!(received[0].from.contains("noreply@"), "{}", received[0].from);
        let n = notification_id(&app, &id, "confirmation").await;
        // The Message-ID comes from the outbox row, so a re-send could be recognised downstream.
        assert!(received[0].header("Message-ID").unwrap().starts_with(&format!("<{n}@")));
        app.stop().await;
    }

    /// An SMTP server that cannot be reached says nothing about the email: however long the
    /// outage, it does not use up the email's attempts, and it goes once the server is back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unreachable_smtp_server_does_not_use_up_an_emails_attempts() {
        let options =
            Options { env: vec![("FASTTRACK__MAIL__MAX_ATTEMPTS".into(), "2".into())], ..Options::api_only() };
        let mut app = TestApp::spawn_with(Backend::Postgres, options).await;
        app.smtp.as_mut().unwrap().stop();
        let (id, _) = app.apply_ok(SCHEME, &application("unreachable@example.ac.uk")).await;
        for _ in 0..5 {
            app.drain().await;
            app.advance(jiff::SignedDuration::from_secs(31));
        }
        let (state, attempts) = app.email_state(&id, "confirmation").await.unwrap();
        assert_eq!(state, "pending", "still waiting after {attempts} attempts, past max_attempts = 2");
        assert!(attempts >= 3, "{attempts}");
        app.smtp.as_mut().unwrap().restart().await;
        app.drain().await;
        assert_eq!(app.email_state(&id, "confirmation").await.unwrap().0, "sent");
        let kinds: Vec<String> =
            app.smtp.as_ref().unwrap().received().iter().filter_map(|r| r.header("X-Fasttrack-Kind")).collect();
        assert_eq!(kinds.iter().filter(|k| *k == "confirmation").count(), 1, "{kinds:?}");
        app.stop().await;
    }

    /// A server that answers "no" (a 4xx to the message) does use up attempts: the email
    /// goes dead after `max_attempts`, as before.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_server_that_keeps_refusing_an_email_uses_up_its_attempts() {
        let options =
            Options { env: vec![("FASTTRACK__MAIL__MAX_ATTEMPTS".into(), "2".into())], ..Options::api_only() };
        let app = TestApp::spawn_with(Backend::Postgres, options).await;
        app.smtp.as_ref().unwrap().set_mode(Mode::Transient);
        let (id, _) = app.apply_ok(SCHEME, &application("refused@example.ac.uk")).await;
        for _ in 0..3 {
            app.drain().await;
            app.advance(jiff::SignedDuration::from_secs(3600));
        }
        assert_eq!(app.email_state(&id, "confirmation").await.unwrap(), ("dead".to_owned(), 2));
        app.stop().await;
    }

    /// Polls /ready until it answers `status` with a body `that` holds; returns the body.
    async fn wait_for_ready(app: &TestApp, status: u16, that: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let res = app.get("/ready", None).await;
            if res.status().as_u16() == status {
                let body: Value = res.json().await.unwrap();
                if that(&body) {
                    return body;
                }
            }
            assert!(std::time::Instant::now() < deadline, "/ready never answered {status}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// With the queue down, an application is still answered at once (the push runs beside
    /// the request, which never waits for it; the rows are committed) and nothing is lost: the work is
    /// in the database, where the sweeper (here `drain`, which takes it the same way) finds
    /// the confirmation and sends it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unreachable_queue_never_holds_a_request_and_loses_nothing() {
        let mut redis = OwnRedis::start();
        // A push that may wait 30 s: the answer must not wait for it at all.
        let env = vec![
            ("FASTTRACK__QUEUE__URL".into(), redis.url()),
            ("FASTTRACK__QUEUE__PUSH_TIMEOUT_MS".into(), "30000".into()),
        ];
        let app = TestApp::spawn_with(Backend::Postgres, Options { env, ..Options::api_only() }).await;
        // Unresponsive first (a push would wait for ever), then gone.
        redis.freeze(true);
        let started = std::time::Instant::now();
        let (id, _) = app.apply_ok(SCHEME, &application("queue-hung@example.ac.uk")).await;
        assert!(started.elapsed() < std::time::Duration::from_secs(3), "answered after {:?}", started.elapsed());
        // Gone: without a bound, the second push waited out the client's reconnect cycle (9.5 s).
        redis.stop();
        let mut gone = String::new();
        for n in 0..3 {
            let started = std::time::Instant::now();
            gone = app.apply_ok(SCHEME, &application(&format!("queue-down{n}@example.ac.uk"))).await.0;
            assert!(started.elapsed() < std::time::Duration::from_secs(3), "answered after {:?}", started.elapsed());
        }
        for id in [&id, &gone] {
            assert_eq!(app.email_state(id, "confirmation").await.unwrap().0, "pending", "committed, waiting");
        }
        app.drain().await;
        assert_eq!(app.email_state(&gone, "confirmation").await.unwrap().0, "sent");
        assert_eq!(app.email_state(&id, "confirmation").await.unwrap().0, "sent");
        app.stop().await;
    }

    /// Workers whose Redis goes away keep trying, and go back to work by themselves when it
    /// returns: an application made while it was gone gets its email from the workers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn workers_recover_by_themselves_when_redis_returns() {
        let mut redis = OwnRedis::start();
        let options = Options { env: vec![("FASTTRACK__QUEUE__URL".into(), redis.url())], ..Default::default() };
        let app = TestApp::spawn_with(Backend::Postgres, options).await;
        let (before, _) = app.apply_ok(SCHEME, &application("before@example.ac.uk")).await;
        app.wait_for_email_state(&before, "confirmation", "sent").await;
        // Idle for longer than three heartbeats, the workers are still ready.
        tokio::time::sleep(std::time::Duration::from_secs(6)).await;
        assert_eq!(app.get("/ready", None).await.status(), 200);
        redis.stop();
        let (during, _) = app.apply_ok(SCHEME, &application("during@example.ac.uk")).await;
        // While the queue stays unreachable this process (it runs workers) is not ready, and
        // says which part is down.
        let body = wait_for_ready(&app, 503, |b| b["workers"]["ok"] == false).await;
        assert_eq!(body["queue"]["ok"], false, "{body}");
        redis.restart();
        // The push was lost with the old Redis; the sweeper pushes it again and a worker that
        // lost its connection must be fetching again to send it.
        app.wait_for_email_state(&during, "confirmation", "sent").await;
        let (after, _) = app.apply_ok(SCHEME, &application("after@example.ac.uk")).await;
        app.wait_for_email_state(&after, "confirmation", "sent").await;
        let body = wait_for_ready(&app, 200, |b| b["workers"]["ok"] == true).await;
        assert_eq!(body["queue"]["ok"], true, "{body}");
        // Worker health per lane is in /metrics: up, and it restarted while Redis was away.
        let metrics = app.get("/metrics", None).await.text().await.unwrap();
        for lane in ["jobs", "emails"] {
            assert!(metrics.contains(&format!("fasttrack_worker_up{{lane=\"{lane}\"}} 1")), "{metrics}");
            assert!(metrics.contains(&format!("fasttrack_queue_waiting{{lane=\"{lane}\"}}")), "{metrics}");
        }
        assert!(metrics.contains("fasttrack_worker_seconds_since_job{lane=\"emails\"}"), "{metrics}");
        app.stop().await;
    }

    /// 50,000 delayed jobs falling due at once (a retry storm after an outage). apalis-redis
    /// 1.0.0 promoted every due job with one Lua `unpack()`, which fails past ~8,000: no
    /// worker could fetch again. With the carried fix (vendor/apalis-redis/PATCHES.md) the
    /// workers keep fetching and the backlog drains.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fifty_thousand_due_jobs_at_once_do_not_stop_the_workers_fetching() {
        use fasttrack_workers::jobs::Job;
        let mut app = TestApp::spawn_with(Backend::Postgres, Options::api_only()).await;
        let jobs: Vec<Job> = (0..50_000)
            .map(|_| Job::ScoreApplication { application_id: fasttrack_core::ApplicationId::new_v7() })
            .collect();
        for chunk in jobs.chunks(5_000) {
            app.queue.enqueue_after(chunk, std::time::Duration::from_secs(3600)).await.unwrap();
        }
        let Lane::Redis(lane) = app.queue.lanes()[0].clone() else { unreachable!() };
        let scheduled = lane.get_config().scheduled_jobs_set();
        let mut conn = lane.clone().get_connection().clone();
        // Every one of them due now: the scores (run-at times) all set to 0.
        let () = redis::cmd("ZUNIONSTORE")
            .arg(&scheduled)
            .arg(1)
            .arg(&scheduled)
            .arg("WEIGHTS")
            .arg(0)
            .query_async(&mut conn)
            .await
            .map(|_: i64| ())
            .unwrap();
        app.launch_more(startup::WORKERS_ONLY).await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        loop {
            let left: u64 = redis::cmd("ZCARD").arg(&scheduled).query_async(&mut conn).await.unwrap();
            let [waiting, _] = app.queue.depth().await.unwrap();
            if left == 0 && waiting <= 50_000 - 200 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "workers stopped fetching: {left} scheduled, {waiting} waiting"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        // And the other lane works too: an application's emails go out.
        let (id, _) = app.apply_ok(SCHEME, &application("after-storm@example.ac.uk")).await;
        app.wait_for_email_state(&id, "confirmation", "sent").await;
        app.stop().await;
    }

    /// Jobs people wait for never queue behind bulk email: with every email worker busy on a
    /// slow mail server and a backlog behind them, a schedule job still runs and finishes
    /// while the backlog is there (on one shared lane it waited for the whole backlog).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_people_wait_for_runs_while_a_bulk_email_backlog_waits() {
        let app = TestApp::spawn(Backend::Postgres).await;
        app.smtp.as_ref().unwrap().set_mode(Mode::Slow(std::time::Duration::from_secs(2)));
        // 12 applicants: 24 emails, 4 sent at a time, 2 s each: a backlog of about 12 s.
        for n in 0..12 {
            app.apply_ok(SCHEME, &application(&format!("backlog{n}@example.ac.uk"))).await;
        }
        let recruiter = app.token(Role::Recruiter).await;
        let res = app
            .post_json(&format!("/api/v1/schemes/{SCHEME}/schedule"), Some(&recruiter), &serde_json::json!({}))
            .await;
        assert_eq!(res.status(), 202);
        let job: Value = res.json().await.unwrap();
        crate::helpers::wait_for_job(&app, &recruiter, job["href"].as_str().unwrap()).await;
        let waiting: i64 = sqlx::query("SELECT COUNT(*) AS n FROM notifications WHERE state <> 'sent'")
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get("n");
        assert!(waiting >= 8, "the job finished with the email backlog still there ({waiting} unsent)");
        app.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failing_emails_go_dead_are_listed_for_admins_and_can_be_resent() {
        let app = TestApp::spawn(Backend::Postgres).await;
        app.smtp.as_ref().unwrap().set_mode(Mode::Transient);
        let (id, _) = app.apply_ok(SCHEME, &application("dead@example.ac.uk")).await;
        let attempts = app.wait_for_email_state(&id, "confirmation", "dead").await;
        assert_eq!(attempts, app.settings.mail.max_attempts as i64);

        let admin = app.token(Role::Admin).await;
        let res = app.get("/api/v1/notifications?state=dead", Some(&admin)).await;
        assert_eq!(res.status(), 200);
        let dead: Value = res.json().await.unwrap();
        let dead: Vec<&Value> = dead.as_array().unwrap().iter().filter(|d| d["kind"] == "confirmation").collect();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0]["application_id"], id.as_str());
        assert!(dead[0]["last_error"].as_str().unwrap().contains("451"), "{}", dead[0]);
        let recruiter = app.token(Role::Recruiter).await;
        assert_eq!(app.get("/api/v1/notifications?state=dead", Some(&recruiter)).await.status(), 403);
        assert_eq!(app.get("/api/v1/notifications?state=lost", Some(&admin)).await.status(), 422);

        app.smtp.as_ref().unwrap().set_mode(Mode::Accept);
        let nid = dead[0]["id"].as_str().unwrap();
        let res = app.post_json(&format!("/api/v1/notifications/{nid}/retry"), Some(&admin), &Value::Null).await;
        assert_eq!(res.status(), 202);
        app.wait_for_email_state(&id, "confirmation", "sent").await;
        let confirmations = app
            .smtp
            .as_ref()
            .unwrap()
            .received()
            .iter()
            .filter(|r| r.header("X-Fasttrack-Kind").as_deref() == Some("confirmation"))
            .count();
        assert_eq!(confirmations, 1);
        // Only dead emails can be re-sent.
        let res = app.post_json(&format!("/api/v1/notifications/{nid}/retry"), Some(&admin), &Value::Null).await;
        assert_eq!(res.status(), 409);
        let res: Value = app.get("/api/v1/notifications?state=dead", Some(&admin)).await.json().await.unwrap();
        assert!(res.as_array().unwrap().iter().all(|d| d["kind"] != "confirmation"));
        app.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_permanent_smtp_refusal_is_dead_at_once() {
        let app = TestApp::spawn(Backend::Postgres).await;
        app.smtp.as_ref().unwrap().set_mode(Mode::Permanent);
        let (id, _) = app.apply_ok(SCHEME, &application("nobody@example.ac.uk")).await;
        assert_eq!(app.wait_for_email_state(&id, "confirmation", "dead").await, 1);
        app.stop().await;
    }
}
