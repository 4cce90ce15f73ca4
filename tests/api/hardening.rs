//! An API that says what is wrong (SPEC §6): a wrong method is 405 with `Allow`, a body that is
//! not JSON is 415, a key twice in one object is refused, a bad webhook signature says so, and
//! a provider's result is recorded as the provider's.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, Options, TestApp, application};

async fn wrong_methods_bodies_and_duplicate_keys_get_a_clear_answer(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Options { env: vec![("FASTTRACK__WEBHOOKS__PROVIDERS__ACME".into(), "s3cret".into())], ..Default::default() },
    )
    .await;
    // A documented path with another method: 405, and what it takes.
    let res = app.client.delete(app.url("/api/v1/schemes")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "GET, POST");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let res = app.client.put(app.url("/api/v1/schemes/gmts")).send().await.unwrap();
    assert_eq!((res.status().as_u16(), res.headers()["allow"].to_str().unwrap()), (405, "GET, PATCH"));
    assert_eq!(app.client.get(app.url("/api/v1/nothing-here")).send().await.unwrap().status(), 404);

    // Not JSON: 415 before anything is read.
    let res = app
        .client
        .post(app.url("/api/v1/schemes/london-imt-pilot/applications"))
        .header("content-type", "text/plain")
        .body("name=Ada")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let res = app
        .client
        .post(app.url("/api/v1/schemes/london-imt-pilot/applications"))
        .header("content-type", "application/json; charset=utf-8")
        .body(serde_json::to_vec(&application("utf8@example.ac.uk")).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "JSON with a charset is JSON");

    // Two emails in one application: refused, and nothing stored.
    let body = application("first@example.ac.uk").to_string();
    let doubled = body.replacen(
        "\"email\":\"first@example.ac.uk\"",
        "\"email\":\"first@example.ac.uk\",\"email\":\"second@example.ac.uk\"",
        1,
    );
    assert_ne!(body, doubled);
    let res = app
        .client
        .post(app.url("/api/v1/schemes/london-imt-pilot/applications"))
        .header("content-type", "application/json")
        .body(doubled)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let problem: Value = res.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("\"email\" appears twice"), "{problem}");
    let stored: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM applications WHERE email_norm IN ('first@example.ac.uk', 'second@example.ac.uk')",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(stored, 0);

    // A webhook with a bad signature is told so; a good one is recorded as the provider's.
    let (id, _) = app.apply_ok("london-imt-pilot", &application("provider@example.ac.uk")).await;
    let res = app
        .client
        .post(app.url("/api/v1/webhooks/test-results"))
        .header("content-type", "application/json")
        .header("X-Fasttrack-Provider", "acme\" level=error forged=\"yes ".repeat(20))
        .header("X-Fasttrack-Signature", "sha256=00")
        .body(json!({"delivery_id": "d0", "application_id": id, "test": "numerical", "raw_score": 1}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["title"], "Bad signature");
    assert!(problem["detail"].as_str().unwrap().contains("X-Fasttrack-Signature"), "{problem}");
    for (n, test) in ["numerical", "verbal", "sjt"].iter().enumerate() {
        let res = app.deliver_result(&format!("d{n}"), &id, test, 1).await;
        assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    }
    let actor: String = sqlx::query_scalar(
        "SELECT actor FROM application_events WHERE application_id = $1 AND to_status = 'tests_completed'",
    )
    .bind(&id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(actor, "provider:acme");
    app.stop().await;
}

both_backends!(wrong_methods_bodies_and_duplicate_keys_get_a_clear_answer);

/// A client that sends its headers and then no body does not hold the connection: 408.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_is_cut_off_with_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        Options { env: vec![("FASTTRACK__SERVER__BODY_TIMEOUT_SECS".into(), "1".into())], ..Options::api_only() },
    )
    .await;
    let mut conn = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    conn.write_all(
        b"POST /api/v1/schemes/london-imt-pilot/applications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n{\"name\":",
    )
    .await
    .unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), conn.read(&mut answer))
        .await
        .expect("an answer, not a connection held open")
        .unwrap();
    let head = String::from_utf8_lossy(&answer[..n]);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(head.contains("application/problem+json"), "{head}");
    app.stop().await;
}
