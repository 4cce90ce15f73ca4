//! Health, readiness, metrics, unknown routes.

use fasttrack_core::Role;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{Backend, Options, TestApp, application};

async fn health_ready_and_metrics_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.get("/health", None).await.status(), 200);
    let res = app.get("/ready", None).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["database"]["ok"], true);
    assert_eq!(body["queue"]["ok"], true);
    assert_eq!(body["mail"]["ok"], true);

    let (id, _) = app.apply_ok("london-imt-pilot", &application("metrics@example.ac.uk")).await;
    app.wait_for_email_state(&id, "confirmation", "sent").await;
    app.wait_for_email_state(&id, "tests_invited", "sent").await;
    let text = app.get("/metrics", None).await.text().await.unwrap();
    assert!(text.contains(r#"fasttrack_applications{scheme="london-imt-pilot",status="tests_invited"} 1"#), "{text}");
    assert!(text.contains(r#"fasttrack_emails{state="sent"} 2"#), "{text}");
    assert!(text.contains("fasttrack_applications_submitted_total 1"), "{text}");
    assert!(text.contains(r#"route="/api/v1/schemes/{scheme}/applications""#), "{text}");
    app.stop().await;
}

async fn unknown_routes_are_problem_json_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app.get("/api/v1/nope", None).await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let admin = app.token(fasttrack_core::Role::Admin).await;
    let res = app.get("/api/v1/notifications?limit=lots", Some(&admin)).await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["content-type"], "application/problem+json", "bad query strings too");
    app.stop().await;
}

async fn ready_reports_a_mail_server_that_is_down(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    if let Some(smtp) = app.smtp.as_mut() {
        smtp.stop();
        let res = app.get("/ready", None).await;
        assert_eq!(res.status(), 503);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["mail"]["ok"], false);
        assert_eq!(body["database"]["ok"], true);
    } else {
        std::fs::remove_dir_all(app.settings.mail_outbox_dir()).unwrap();
        assert_eq!(app.get("/ready", None).await.status(), 503);
    }
    app.stop().await;
}

/// An API process does not send mail: a mail outage leaves it ready (and /ready opens no
/// SMTP connection), so a load balancer keeps it.
async fn an_api_process_stays_ready_when_mail_is_down(backend: Backend) {
    let mut app = TestApp::spawn_with(backend, Options::api_only()).await;
    match app.smtp.as_mut() {
        Some(smtp) => smtp.stop(),
        None => std::fs::remove_dir_all(app.settings.mail_outbox_dir()).unwrap_or(()),
    }
    let res = app.get("/ready", None).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert!(body.get("mail").is_none(), "{body}");
    assert_eq!(body["database"]["ok"], true);
    app.stop().await;
}

both_backends!(
    admins_see_every_worker_and_one_that_stopped,
    an_api_process_stays_ready_when_mail_is_down,
    health_ready_and_metrics_answer,
    unknown_routes_are_problem_json_404,
    ready_reports_a_mail_server_that_is_down
);

/// An admin sees every worker process, alive or not, with its lanes' health, from any API
/// process: each worker beats into the database every sweep; one that stops beating (killed)
/// shows as not alive.
async fn admins_see_every_worker_and_one_that_stopped(backend: Backend) {
    let mut app = TestApp::spawn_with(backend, Options::api_only()).await;
    app.launch_more(fasttrack::startup::WORKERS_ONLY).await;
    app.launch_more(fasttrack::startup::WORKERS_ONLY).await;
    let admin = app.token(Role::Admin).await;
    let recruiter = app.token(Role::Recruiter).await;
    assert_eq!(app.get("/api/v1/admin/workers", Some(&recruiter)).await.status(), 403);
    let workers = |app: &TestApp, admin: String| {
        let (client, url) = (app.client.clone(), format!("http://{}/api/v1/admin/workers", app.addr));
        async move {
            let res = client.get(url).bearer_auth(admin).send().await.unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Vec<Value>>().await.unwrap()
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let seen = loop {
        let w = workers(&app, admin.clone()).await;
        if w.len() == 2 && w.iter().all(|w| w["alive"] == true && w["lanes"]["emails"]["running"] == true) {
            break w;
        }
        assert!(std::time::Instant::now() < deadline, "two live workers never showed: {w:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(seen[0]["lanes"]["jobs"]["restarts"].is_number(), "{seen:?}");
    // One worker process goes away; time passes; the other keeps beating.
    app.stop_last_extra().await;
    app.advance(jiff::SignedDuration::from_secs(60));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let w = workers(&app, admin.clone()).await;
        let alive = w.iter().filter(|w| w["alive"] == true).count();
        if w.len() == 2 && alive == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the stopped worker never showed as not alive: {w:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    app.stop().await;
}
