//! Applying, idempotency, duplicates, closing dates, validation, reading, withdrawing.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, application};
use fasttrack_core::Role;

const SCHEME: &str = "london-imt-pilot";

async fn applying_returns_id_and_token_and_the_applicant_sees_their_timeline(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app.apply(SCHEME, &application("ada@example.ac.uk")).await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    let (id, token) = (body["id"].as_str().unwrap(), body["token"].as_str().unwrap());
    assert_eq!(location, format!("/api/v1/applications/{id}"));
    assert!(token.starts_with("ft_"));
    assert_eq!(body["status"], "tests_invited");

    let res = app.get(&location, Some(token)).await;
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["status"], "tests_invited");
    assert_eq!(view["details"]["name"], "Ada Lovelace");
    assert_eq!(view["details"]["stream_preferences"], json!(["acute-trusts", "stp-programmes"]));
    assert_eq!(view["timeline"].as_array().unwrap().len(), 2);
    assert_eq!(view["timeline"][0]["to"], "submitted");
    assert_eq!(view["timeline"][1]["to"], "tests_invited", "an eligible applicant is invited to the tests");
    assert!(view.get("equality").is_none(), "equality answers are never part of the application view");

    // The token is stored hashed: the secret itself is nowhere in the database.
    use sqlx::Row;
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM tokens WHERE token_hash = $1")
        .bind(token)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get("n");
    assert_eq!(n, 0);
    app.stop().await;
}

async fn equality_answers_are_stored_apart_and_never_shown_to_recruiters(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, _) = app.apply_ok(SCHEME, &application("eq@example.ac.uk")).await;
    use sqlx::Row;
    let row =
        sqlx::query("SELECT sex, ethnicity, disability, religion FROM equality_answers WHERE application_id = $1")
            .bind(&id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(row.get::<Option<String>, _>("sex").as_deref(), Some("female"));
    assert_eq!(row.get::<Option<String>, _>("disability").as_deref(), Some("prefer_not_to_say"));
    assert_eq!(row.get::<Option<String>, _>("religion"), None, "not answered stays NULL, apart from prefer_not_to_say");
    let details: String = sqlx::query("SELECT details FROM applications WHERE id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get("details");
    assert!(!details.contains("female") && !details.contains("black_african"));

    let recruiter = app.token(Role::Recruiter).await;
    let res = app.get(&format!("/api/v1/applications/{id}"), Some(&recruiter)).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    for secret in ["female", "black_african", "prefer_not_to_say", "16_24", "equality"] {
        assert!(!text.contains(secret), "recruiter view leaks {secret}: {text}");
    }
    app.stop().await;
}

async fn same_idempotency_key_and_body_replays_the_first_answer_and_creates_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = application("idem@example.ac.uk");
    let send = |key: &'static str, body: Value| {
        let req = app
            .client
            .post(app.url(&format!("/api/v1/schemes/{SCHEME}/applications")))
            .header("Idempotency-Key", key)
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    let first = send("key-1", body.clone()).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = send("key-1", body.clone()).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first, "the replay is the first answer, token included");

    let mut other = body.clone();
    other["name"] = json!("Someone Else");
    let res = send("key-1", other).await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");

    use sqlx::Row;
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM applications").fetch_one(app.db.pool()).await.unwrap().get("n");
    assert_eq!(n, 1);
    // The replayed token works.
    let res = app.get(first["href"].as_str().unwrap(), Some(again["token"].as_str().unwrap())).await;
    assert_eq!(res.status(), 200);
    app.stop().await;
}

async fn a_burst_of_concurrent_duplicates_yields_exactly_one_application(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = application("burst@example.ac.uk");
    let mut tasks = Vec::new();
    for i in 0..16 {
        let mut b = body.clone();
        // Different capitals: still the same person.
        if i % 2 == 1 {
            b["email"] = json!("Burst@Example.ac.uk");
        }
        let req = app.client.post(app.url(&format!("/api/v1/schemes/{SCHEME}/applications"))).json(&b);
        tasks.push(tokio::spawn(async move { req.send().await.unwrap().status().as_u16() }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 15, "{statuses:?}");

    // Concurrent retries with one Idempotency-Key all get the same application.
    let body = application("burst-key@example.ac.uk");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let req = app
            .client
            .post(app.url(&format!("/api/v1/schemes/{SCHEME}/applications")))
            .header("Idempotency-Key", "same")
            .json(&body);
        tasks.push(tokio::spawn(async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap()["id"].clone())
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        let (status, id) = t.await.unwrap();
        assert_eq!(status, 201);
        ids.push(id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    use sqlx::Row;
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM applications").fetch_one(app.db.pool()).await.unwrap().get("n");
    assert_eq!(n, 2);
    app.stop().await;
}

async fn applying_after_the_closing_date_is_a_conflict_naming_when_it_closed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let recruiter = app.token(Role::Recruiter).await;
    let mut scheme = json!({
        "id": "closed-scheme", "name": "Closed scheme",
        "opens_at": "2025-01-01T09:00:00Z", "closes_at": "2025-03-01T12:00:00Z",
        "streams": [{"id": "acute-trusts", "name": "Acute"}]
    });
    // A scheme cannot be created closed.
    let res = app.post_json("/api/v1/schemes", Some(&recruiter), &scheme).await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "closes_at", "{problem}");
    let closes = app.clock.now() + jiff::SignedDuration::from_hours(24);
    scheme["closes_at"] = json!(closes.to_string());
    assert_eq!(app.post_json("/api/v1/schemes", Some(&recruiter), &scheme).await.status(), 201);
    app.advance(jiff::SignedDuration::from_hours(25));
    let res = app.apply("closed-scheme", &application("late@example.ac.uk")).await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains(&closes.to_string()), "{problem}");
    app.stop().await;
}

async fn bad_input_gets_a_clear_error_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let path = format!("/api/v1/schemes/{SCHEME}/applications");

    let res = app
        .client
        .post(app.url(&path))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(app.settings.server.max_body_bytes));
    let res = app.client.post(app.url(&path)).body(big).send().await.unwrap();
    assert_eq!(res.status(), 413);

    let mut body = application("bad@example");
    body["degree_class"] = json!("2:3");
    body["graduation_year"] = json!("soon");
    body["stream_preferences"] = json!(["not-a-stream"]);
    body["equality"] = json!({"sex": "robot"});
    body.as_object_mut().unwrap().remove("university");
    let res = app.apply(SCHEME, &body).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().await.unwrap();
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    for f in ["email", "university", "degree_class", "graduation_year", "stream_preferences[0]", "equality.sex"] {
        assert!(fields.contains(&f), "{f} not in {fields:?}");
    }

    let res = app.apply("no-such-scheme", &application("x@example.ac.uk")).await;
    assert_eq!(res.status(), 404);

    // Each loose value is refused naming its field.
    let cases: &[(&str, Value, &str)] = &[
        ("phone", json!(""), "phone"),
        ("graduation_year", json!(1980), "graduation_year"),
        ("graduation_year", json!(2030), "graduation_year"),
        ("name", json!("Ada\u{200B}Lovelace"), "name"),
        ("name", json!("\u{202E}ecalevoL adA"), "name"),
        ("preferred_venues", json!(["Atlantis"]), "preferred_venues[0]"),
    ];
    for (key, value, field) in cases {
        let mut body = application("loose@example.ac.uk");
        body[*key] = value.clone();
        let res = app.apply(SCHEME, &body).await;
        assert_eq!(res.status(), 422, "{key} = {value}");
        let problem: Value = res.json().await.unwrap();
        let fields: Vec<&str> =
            problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, [*field], "{key} = {value}: {problem}");
    }

    use sqlx::Row;
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM applications").fetch_one(app.db.pool()).await.unwrap().get("n");
    assert_eq!(n, 0);
    let n: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM notifications").fetch_one(app.db.pool()).await.unwrap().get("n");
    assert_eq!(n, 0);
    app.stop().await;
}

async fn applicants_cannot_see_each_other_and_need_a_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id_a, token_a) = app.apply_ok(SCHEME, &application("a@example.ac.uk")).await;
    let (id_b, _) = app.apply_ok(SCHEME, &application("b@example.ac.uk")).await;
    assert_eq!(app.get(&format!("/api/v1/applications/{id_a}"), Some(&token_a)).await.status(), 200);
    assert_eq!(app.get(&format!("/api/v1/applications/{id_b}"), Some(&token_a)).await.status(), 404);
    assert_eq!(app.delete(&format!("/api/v1/applications/{id_b}"), Some(&token_a)).await.status(), 404);
    let res = app.get(&format!("/api/v1/applications/{id_a}"), None).await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    assert_eq!(app.get(&format!("/api/v1/applications/{id_a}"), Some("ft_forged")).await.status(), 401);
    assert_eq!(app.get("/api/v1/applications/not-a-uuid", Some(&token_a)).await.status(), 404);
    app.stop().await;
}

async fn withdrawing_is_a_timeline_event_with_an_email_and_is_idempotent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, token) = app.apply_ok(SCHEME, &application("leaver@example.ac.uk")).await;
    let path = format!("/api/v1/applications/{id}");
    let res = app.delete(&path, Some(&token)).await;
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["status"], "withdrawn");
    let timeline = view["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 3);
    assert_eq!(timeline[2]["from"], "tests_invited");
    assert_eq!(timeline[2]["to"], "withdrawn");
    assert_eq!(timeline[2]["actor"], "applicant");

    let again = app.delete(&path, Some(&token)).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["timeline"].as_array().unwrap().len(), 3, "withdrawing twice records nothing new");

    app.wait_for_email_state(&id, "withdrawn", "sent").await;
    let withdrawn = app.wait_for_emails(1, |e| e.contains("X-Fasttrack-Kind: withdrawn")).await;
    assert_eq!(withdrawn.len(), 1);
    app.stop().await;
}

both_backends!(
    applying_returns_id_and_token_and_the_applicant_sees_their_timeline,
    equality_answers_are_stored_apart_and_never_shown_to_recruiters,
    same_idempotency_key_and_body_replays_the_first_answer_and_creates_nothing,
    a_burst_of_concurrent_duplicates_yields_exactly_one_application,
    applying_after_the_closing_date_is_a_conflict_naming_when_it_closed,
    bad_input_gets_a_clear_error_and_changes_nothing,
    applicants_cannot_see_each_other_and_need_a_token,
    withdrawing_is_a_timeline_event_with_an_email_and_is_idempotent,
);
