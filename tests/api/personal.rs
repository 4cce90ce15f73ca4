//! Personal data under UK GDPR (SPEC §4), through the API on both backends: the subject
//! access export, erasure (a tombstone, no trace of the person, the figures unmoved), the
//! retention rules run by exactly one process, and the audit log.

use fasttrack_core::Role;
use serde_json::{Value, json};

use crate::both_backends;
use crate::centres::{assess_and_offer, one_booked_candidate_in, one_place, quiz, soon_scheme, take_tests};
use crate::helpers::{Backend, Options, TestApp, application};

const NAME: &str = "Zelda Quintessa-Marr";
const EMAIL: &str = "zelda.qm@example.ac.uk";
const PHONE: &str = "+44 113 496 0999";

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    let res = app.post_json(path, Some(token), &body).await;
    let code = res.status().as_u16();
    (code, res.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    let res = app.get(path, Some(token)).await;
    let code = res.status().as_u16();
    (code, res.json().await.unwrap_or(Value::Null))
}

async fn status(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("SELECT status FROM applications WHERE id = $1").bind(id).fetch_one(app.db.pool()).await.unwrap()
}

/// The "soon" scheme with a one-question test and two AC seats (one reserve) in its one
/// stream; `n` applicants (the first is Zelda, with her own name, address and phone) take
/// the test; the scheme closes and the sift runs, freezing the HR figures up to the shortlist.
/// Returns (id, token) per applicant.
async fn sifted(app: &TestApp, recruiter: &str, n: usize) -> Vec<(String, String)> {
    let scheme = soon_scheme(
        app,
        json!({"tests": [quiz()], "disclosure_threshold": 0,
            "streams": [{"id": "acute-trusts", "name": "Acute", "ac_seats": 2, "reserve": 1}]}),
    );
    let (code, body) = post(app, "/api/v1/schemes", recruiter, scheme).await;
    assert_eq!(code, 201, "{body}");
    let mut people = Vec::new();
    for i in 0..n {
        let mut body = application(&format!("p{i}@example.ac.uk"));
        if i == 0 {
            body["name"] = json!(NAME);
            body["email"] = json!(EMAIL);
            body["phone"] = json!(PHONE);
            body["adjustments_detail"] = json!("I use a screen reader, Zelda's own words");
        }
        body["stream_preferences"] = json!(["acute-trusts"]);
        let (id, token) = app.apply_ok("soon", &body).await;
        take_tests(app, &id, &token).await;
        people.push((id, token));
    }
    app.advance(jiff::SignedDuration::from_hours(25));
    let (code, _) = post(app, "/api/v1/schemes/soon/sift", recruiter, json!({})).await;
    assert_eq!(code, 202);
    app.drain().await;
    people
}

/// Every text column of every table, searched for each needle: (table.column, needle) found.
async fn traces(app: &TestApp, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (table, columns) in fasttrack_core::store::personal::text_columns(&app.db).await.unwrap() {
        for column in columns {
            for needle in needles {
                let sql = format!("SELECT COUNT(*) FROM {table} WHERE LOWER({column}) LIKE $1");
                let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(format!("%{}%", needle.to_lowercase()))
                    .fetch_one(app.db.pool())
                    .await
                    .unwrap();
                if n > 0 {
                    found.push(format!("{table}.{column} holds {needle}"));
                }
            }
        }
    }
    found
}

async fn figures(app: &TestApp, hr: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for what in [
        "funnel?by=sex",
        "funnel?by=degree_class",
        "equality?by=sex&from=tests_completed&to=shortlisted",
        "equality?by=white_bme&from=scored&to=shortlisted",
        "profile",
    ] {
        let (code, body) = get(app, &format!("/api/v1/schemes/soon/metrics/{what}"), hr).await;
        assert_eq!(code, 200, "{what}: {body}");
        out.push(body);
    }
    out
}

/// A candidate taken from application to an accepted offer downloads everything held about
/// them: each category is there, with its provenance; others may not read it.
async fn the_export_holds_every_category_for_a_candidate_through_the_pipeline(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let recruiter = app.token(Role::Recruiter).await;
    let mut extra = one_place();
    extra["tests"] = json!([quiz()]);
    let (id, token) = one_booked_candidate_in(&app, &recruiter, extra).await;
    let (code, _) = post(&app, &format!("/api/v1/applications/{id}/booking/accept"), &token, json!({})).await;
    assert_eq!(code, 200);
    assess_and_offer(&app, &recruiter, &id).await;
    let (code, _) = post(&app, &format!("/api/v1/applications/{id}/offer/accept"), &token, json!({})).await;
    assert_eq!(code, 200);
    // A recruiter reads the application: the read is audited, and the export shows it.
    assert_eq!(get(&app, &format!("/api/v1/applications/{id}"), &recruiter).await.0, 200);
    assert_eq!(get(&app, &format!("/api/v1/applications/{id}/booking"), &recruiter).await.0, 200);
    app.drain().await;

    let res = app.get(&format!("/api/v1/applications/{id}/export"), Some(&token)).await;
    assert_eq!(res.status(), 200);
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert_eq!(disposition, format!("attachment; filename=\"fasttrack-{id}.json\""));
    let x: Value = res.json().await.unwrap();
    assert_eq!(x["application"]["id"], json!(id));
    assert_eq!(x["application"]["details"]["email"], "soon@example.ac.uk");
    assert_eq!(x["application"]["privacy_notice_version"], Value::Null, "the API client did not say");
    assert_eq!(x["stream_preferences"][0]["stream_id"], "acute-trusts");
    assert_eq!(x["equality"]["sex"], "female");
    assert_eq!(x["test_attempts"][0]["answers"], json!({"q1": 0}));
    let score = &x["test_scores"][0];
    assert_eq!(
        (&score["key_version"], &score["norm_version"], &score["current"]),
        (&json!(1), &json!("norm-1"), &json!(true))
    );
    assert_eq!(x["composite_score"]["passed"], true);
    assert_eq!(x["booking"]["state"], "accepted");
    assert_eq!(x["ac_scores"].as_array().unwrap().len(), 1);
    assert_eq!(x["ac_scores"][0]["score"], 4);
    assert_eq!(x["ac_judgements"][0]["appointable"], true);
    assert_eq!(x["ac_result"]["appointable"], true);
    assert_eq!((&x["offer"]["state"], &x["offer"]["organisation_id"]), (&json!("accepted"), &json!("leeds-th")));
    let emails = x["emails"].as_array().unwrap();
    let kinds: Vec<&str> = emails.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for kind in ["confirmation", "tests_invited", "scored", "ac_invitation", "offer"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    for e in emails {
        assert!(e["subject"].as_str().is_some_and(|s| !s.is_empty()), "each email's subject: {e}");
        assert!(e["state"].is_string() && e["created_at"].is_string(), "{e}");
    }
    let timeline: Vec<&str> =
        x["timeline"].as_array().unwrap().iter().map(|e| e["to_status"].as_str().unwrap()).collect();
    assert!(timeline.contains(&"offered") && timeline.contains(&"accepted"), "{timeline:?}");
    let audit: Vec<&str> = x["audit"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["read application", "read booking", "record assessment scores"] {
        assert!(audit.contains(&action), "{action}: {audit:?}");
    }
    // Reading one's own is not audited; staff reads and every change are.
    assert!(x["audit"].as_array().unwrap().iter().all(|e| !e["actor"].as_str().unwrap().starts_with("applicant:")));
    assert!(x["exported_at"].is_string());
    // The secrets behind access are never in it, even hashed.
    assert!(!x.to_string().contains("token_hash"));
    assert!(x["access"].as_array().is_some_and(|a| !a.is_empty()));

    // Another applicant cannot see it exists; recruiters cannot export; admins can, audited.
    let (_, other) = app.apply_ok("london-imt-pilot", &application("someone.else@example.ac.uk")).await;
    assert_eq!(get(&app, &format!("/api/v1/applications/{id}/export"), &other).await.0, 404);
    assert_eq!(get(&app, &format!("/api/v1/applications/{id}/export"), &recruiter).await.0, 403);
    let admin = app.token(Role::Admin).await;
    assert_eq!(get(&app, &format!("/api/v1/applications/{id}/export"), &admin).await.0, 200);
    let (_, log) = get(&app, &format!("/api/v1/audit?application={id}"), &admin).await;
    let exports = log["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "export personal data").count();
    assert_eq!(exports, 2, "both exports are in the audit log: {log}");

    // The OpenAPI document describes the export field by field, from the same catalogue.
    let doc: Value = app.get("/api/v1/openapi.json", None).await.json().await.unwrap();
    let schema = &doc["components"]["schemas"]["SubjectAccessExport"]["properties"];
    assert!(schema["equality"]["properties"]["ethnicity"]["description"].is_string(), "{schema}");
    assert!(schema["test_scores"]["items"]["properties"]["norm_version"].is_object(), "{schema}");
    assert_eq!(
        doc["paths"]["/api/v1/applications/{id}/export"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/SubjectAccessExport"
    );
    app.stop().await;
}

/// After erasure nothing in any table (or the .eml folder) names the person; the published
/// figures are unchanged; the audit log still tells the story, without them.
async fn erasure_leaves_a_tombstone_no_trace_and_the_figures_unmoved(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let recruiter = app.token(Role::Recruiter).await;
    let hr = app.token(Role::Hr).await;
    let admin = app.token(Role::Admin).await;
    let people = sifted(&app, &recruiter, 6).await;
    let (zelda, token) = &people[0];
    // Whatever the sift did with her, she is erased (withdrawn first if still in the running).
    let s = status(&app, zelda).await;
    assert!(["rejected", "reserve", "shortlisted"].contains(&s.as_str()), "{s}");
    let before = figures(&app, &hr).await;
    // (Disclosure control is off for this scheme: every count shows, so a moved one would.)
    assert_eq!(before[0]["funnel"]["rows"][0]["counts"][0], 6, "{}", before[0]);
    assert!(!traces(&app, &[NAME, EMAIL, PHONE]).await.is_empty(), "the search finds her before");

    // Withdrawal first if she is still in the running, then the erasure, confirmed.
    let (code, body) = post(&app, &format!("/api/v1/applications/{zelda}/erasure"), token, json!({})).await;
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "confirm");
    let (code, body) =
        post(&app, &format!("/api/v1/applications/{zelda}/erasure"), token, json!({"confirm": true})).await;
    assert_eq!(code, 200, "{body}");
    assert!(body["erased_at"].is_string());
    app.drain().await;

    // The person was told, at the address that was there.
    let told: Vec<String> = app.sent_emails().into_iter().filter(|e| e.contains("X-Fasttrack-Kind: erased")).collect();
    assert_eq!(told.len(), 1);
    assert!(told[0].contains(EMAIL) && !told[0].contains(NAME));
    // Then nothing names her: every text column of every table.
    assert_eq!(traces(&app, &[NAME, EMAIL, PHONE, "Zelda's own words"]).await, Vec::<String>::new());
    if backend == Backend::Sqlite {
        // The .eml folder stands for the mail that left: only the confirmation that went to her.
        let left: Vec<String> = app.sent_emails().into_iter().filter(|e| e.contains(EMAIL)).collect();
        assert_eq!(left.len(), 1, "her other emails' .eml files are deleted");
        assert!(left[0].contains("X-Fasttrack-Kind: erased"));
    }
    // A tombstone is left: id, scheme, status, dates.
    let (code, view) = get(&app, &format!("/api/v1/applications/{zelda}"), &recruiter).await;
    assert_eq!(code, 200);
    assert_eq!((&view["details"], view["erased_at"].is_string()), (&Value::Null, true), "{view}");
    assert!(!view["timeline"].as_array().unwrap().is_empty());
    // Her token went with her; asking again (an admin) answers the same.
    assert_eq!(get(&app, &format!("/api/v1/applications/{zelda}"), token).await.0, 401);
    let (code, again) =
        post(&app, &format!("/api/v1/applications/{zelda}/erasure"), &admin, json!({"confirm": true})).await;
    assert_eq!((code, &again["erased_at"]), (200, &body["erased_at"]));
    // The HR figures did not move: the frozen stages hold her as she was counted.
    assert_eq!(figures(&app, &hr).await, before);
    // The audit log still shows her history, without her.
    let (code, log) = get(&app, &format!("/api/v1/audit?application={zelda}"), &admin).await;
    assert_eq!(code, 200);
    let actions: Vec<&str> = log["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"erase personal data"), "{actions:?}");
    assert!(actions.iter().any(|a| a.starts_with("status ")), "status changes, by jobs too: {actions:?}");
    let erased = log["entries"].as_array().unwrap().iter().find(|e| e["action"] == "erase personal data").unwrap();
    assert_eq!(erased["detail"], "request");
    assert!(erased["actor"].as_str().unwrap().starts_with("applicant:"));
    let text = log.to_string();
    assert!(!text.contains(NAME) && !text.contains(EMAIL));
    // The audit log cannot be changed, even in SQL.
    let tampered = sqlx::query("UPDATE audit_log SET actor = 'x'").execute(app.db.pool()).await;
    assert!(tampered.is_err(), "the audit log is append-only");
    assert!(sqlx::query("DELETE FROM audit_log").execute(app.db.pool()).await.is_err());
    app.stop().await;
}

/// Erasing a candidate who holds a seat withdraws them first: the seat goes to the waiting list.
async fn erasing_a_booked_candidate_gives_the_seat_to_the_waiting_list(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let recruiter = app.token(Role::Recruiter).await;
    let admin = app.token(Role::Admin).await;
    let (code, body) = post(&app, "/api/v1/schemes", &recruiter, soon_scheme(&app, json!({}))).await;
    assert_eq!(code, 201, "{body}");
    let mut ids = Vec::new();
    for i in 0..3 {
        let mut body = application(&format!("seat{i}@example.ac.uk"));
        body["stream_preferences"] = json!(["acute-trusts"]);
        ids.push(app.apply_ok("soon", &body).await.0);
    }
    for id in &ids {
        sqlx::query("UPDATE applications SET status = 'shortlisted' WHERE id = $1")
            .bind(id)
            .execute(app.db.pool())
            .await
            .unwrap();
    }
    app.advance(jiff::SignedDuration::from_hours(25));
    assert_eq!(post(&app, "/api/v1/schemes/soon/schedule", &recruiter, json!({})).await.0, 202);
    app.drain().await;
    let booked: Vec<String> =
        sqlx::query_scalar("SELECT application_id FROM bookings WHERE state = 'invited' ORDER BY application_id")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    assert_eq!(booked.len(), 2, "two seats for three");
    let waiting = ids.iter().find(|i| !booked.contains(i)).unwrap().clone();
    let (code, body) =
        post(&app, &format!("/api/v1/applications/{}/erasure", booked[0]), &admin, json!({"confirm": true})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], "withdrawn");
    app.drain().await;
    let seat: String = sqlx::query_scalar("SELECT state FROM bookings WHERE application_id = $1")
        .bind(&waiting)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(seat, "invited", "the waiting candidate has the freed seat");
    app.stop().await;
}

/// 13 months after closing the rules erase exactly the unsuccessful and the withdrawn; two
/// processes running at once erase each once; a second run erases nothing.
async fn retention_erases_exactly_what_is_due_once_whatever_the_number_of_runners(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let recruiter = app.token(Role::Recruiter).await;
    let admin = app.token(Role::Admin).await;
    let people = sifted(&app, &recruiter, 6).await;
    // One shortlisted candidate withdraws.
    let mut withdrawn = None;
    for (id, token) in &people {
        if status(&app, id).await == "shortlisted" {
            let res = app.delete(&format!("/api/v1/applications/{id}"), Some(token)).await;
            assert_eq!(res.status(), 200);
            withdrawn = Some(id.clone());
            break;
        }
    }
    let withdrawn = withdrawn.expect("someone was shortlisted");
    let mut expected = Vec::new();
    for (id, _) in &people {
        if ["rejected", "withdrawn"].contains(&status(&app, id).await.as_str()) {
            expected.push(id.clone());
        }
    }
    expected.sort();
    assert!(expected.len() >= 2 && expected.contains(&withdrawn));

    // Not yet: a day before twelve months after closing nothing is due, the withdrawn one
    // (six months after withdrawing) is.
    app.advance(jiff::SignedDuration::from_hours(24 * 200));
    let (_, dry) = get(&app, "/api/v1/admin/retention", &admin).await;
    let listed: Vec<&str> =
        dry["due"].as_array().unwrap().iter().map(|d| d["application_id"].as_str().unwrap()).collect();
    assert_eq!(listed, [withdrawn.as_str()], "{dry}");
    assert_eq!(dry["due"][0]["rule"], "retention:withdrawn");

    app.advance(jiff::SignedDuration::from_hours(24 * 200));
    let (code, dry) = get(&app, "/api/v1/admin/retention", &admin).await;
    assert_eq!(code, 200);
    let mut listed: Vec<String> =
        dry["due"].as_array().unwrap().iter().map(|d| d["application_id"].as_str().unwrap().to_owned()).collect();
    listed.sort();
    assert_eq!(listed, expected, "exactly the unsuccessful and the withdrawn: {dry}");
    assert!(dry["due"].as_array().unwrap().iter().all(|d| d["because"].as_str().unwrap().contains("months")));
    // A dry run erases nothing.
    assert!(!traces(&app, &[EMAIL]).await.is_empty());

    // Two workers at once: one takes the lease, each application is erased once.
    let (cx_a, cx_b) = (app.ctx(), app.ctx());
    let a = tokio::spawn(async move { fasttrack_workers::retention::run_day(&cx_a, "worker-a").await.unwrap() });
    let b = tokio::spawn(async move { fasttrack_workers::retention::run_day(&cx_b, "worker-b").await.unwrap() });
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!(a + b, expected.len());
    for id in &expected {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE application_id = $1 AND action = 'erase personal data'",
        )
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
        assert_eq!(n, 1, "{id} erased once");
        let erased: Option<i64> = sqlx::query_scalar("SELECT erased_at FROM applications WHERE id = $1")
            .bind(id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert!(erased.is_some());
    }
    for (id, _) in &people {
        if !expected.contains(id) {
            let erased: Option<i64> = sqlx::query_scalar("SELECT erased_at FROM applications WHERE id = $1")
                .bind(id)
                .fetch_one(app.db.pool())
                .await
                .unwrap();
            assert!(erased.is_none(), "{id} is still in the running and kept");
        }
    }
    // Today's run is done; tomorrow's finds nothing more.
    assert_eq!(fasttrack_workers::retention::run_day(&app.ctx(), "worker-a").await.unwrap(), 0);
    app.advance(jiff::SignedDuration::from_hours(24));
    assert_eq!(fasttrack_workers::retention::run_day(&app.ctx(), "worker-b").await.unwrap(), 0);
    let (_, dry) = get(&app, "/api/v1/admin/retention", &admin).await;
    assert_eq!(dry["count"], 0);
    app.stop().await;
}

/// A retention run whose process died holding the lease is carried on by another once the
/// lease runs out, and nothing is erased twice.
async fn a_retention_run_cut_short_is_finished_by_another_process(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let recruiter = app.token(Role::Recruiter).await;
    let people = sifted(&app, &recruiter, 5).await;
    app.advance(jiff::SignedDuration::from_hours(24 * 400));
    let due = fasttrack_workers::retention::due(&app.ctx(), usize::MAX).await.unwrap();
    assert!(!due.is_empty());
    // A worker took the lease and erased one, then died.
    let cx = app.ctx();
    let now = app.clock.now();
    let day = app.clock.today().to_string();
    let until = now + jiff::SignedDuration::try_from(fasttrack_workers::retention::LEASE_FOR).unwrap();
    assert!(fasttrack_core::store::leases::take(&app.db, "retention", "dead-worker", &day, until, now).await.unwrap());
    let first: fasttrack_core::ApplicationId = due[0].0.application_id.parse().unwrap();
    fasttrack_workers::retention::erase_one(&cx, first, "system:retention", "retention:unsuccessful", "test", None)
        .await
        .unwrap();
    // While its lease runs, nobody else starts.
    let pass = fasttrack_workers::retention::run_pass(&cx, "live-worker").await.unwrap();
    assert!(!pass.held);
    // After it, another process finishes the rest.
    app.advance(jiff::SignedDuration::try_from(fasttrack_workers::retention::LEASE_FOR).unwrap());
    let erased = fasttrack_workers::retention::run_day(&cx, "live-worker").await.unwrap();
    assert_eq!(erased, due.len() - 1);
    let audits: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'erase personal data'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(audits as usize, due.len());
    assert!(people.len() > due.len(), "the shortlisted are kept");
    app.stop().await;
}

/// The audit log: admins only, filtered by application, actor and time, a cursor that walks
/// every entry once; a bad cursor is refused.
async fn the_audit_log_pages_through_every_entry_once(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let recruiter = app.token(Role::Recruiter).await;
    let admin = app.token(Role::Admin).await;
    let (id, _) = app.apply_ok("london-imt-pilot", &application("audited@example.ac.uk")).await;
    for _ in 0..3 {
        assert_eq!(get(&app, &format!("/api/v1/applications/{id}"), &recruiter).await.0, 200);
    }
    let (_, all) = get(&app, &format!("/api/v1/audit?application={id}"), &admin).await;
    let all = all["entries"].as_array().unwrap().clone();
    assert!(all.len() >= 5, "3 reads and the status changes: {all:?}");
    assert!(all.iter().filter(|e| e["action"] == "read application").all(|e| e["request_id"].is_string()));
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/audit?application={id}&limit=2&cursor={c}"),
            None => format!("/api/v1/audit?application={id}&limit=2"),
        };
        let (code, page) = get(&app, &path, &admin).await;
        assert_eq!(code, 200, "{page}");
        walked.extend(page["entries"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(walked, all, "every entry once, in order");
    let reader = all.iter().find(|e| e["action"] == "read application").unwrap()["actor"].as_str().unwrap().to_owned();
    let (_, by_actor) = get(&app, &format!("/api/v1/audit?actor={reader}"), &admin).await;
    assert_eq!(by_actor["entries"].as_array().unwrap().len(), 3);
    let (_, later) = get(&app, "/api/v1/audit?since=2999-01-01T00:00:00Z", &admin).await;
    assert_eq!(later["entries"], json!([]));
    let (code, bad) = get(&app, "/api/v1/audit?cursor=nonsense&since=yesterday", &admin).await;
    assert_eq!(code, 422);
    let fields: Vec<&str> = bad["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["since", "cursor"]);
    assert_eq!(get(&app, "/api/v1/audit", &recruiter).await.0, 403);
    app.stop().await;
}

/// Admins do not read applications unless the deployment says they may; then every read is
/// audited.
async fn admins_read_applications_only_where_the_setting_allows(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let admin = app.token(Role::Admin).await;
    let (id, _) = app.apply_ok("london-imt-pilot", &application("boundary@example.ac.uk")).await;
    assert_eq!(get(&app, &format!("/api/v1/applications/{id}"), &admin).await.0, 403);
    app.stop().await;

    let mut options = Options::api_only();
    options.env.push(("FASTTRACK__PERSONAL_DATA__ADMIN_READS_APPLICATIONS".into(), "true".into()));
    let app = TestApp::spawn_with(backend, options).await;
    let admin = app.token(Role::Admin).await;
    let (id, _) = app.apply_ok("london-imt-pilot", &application("boundary@example.ac.uk")).await;
    assert_eq!(get(&app, &format!("/api/v1/applications/{id}"), &admin).await.0, 200);
    let reads: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE application_id = $1 AND action = 'read application' AND actor LIKE 'admin:%'")
            .bind(&id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(reads, 1);
    app.stop().await;
}

/// The privacy notice version the applicant saw is recorded; one that is not the scheme's is
/// refused, field by field, and nothing is stored.
async fn the_privacy_notice_version_seen_is_recorded_and_a_stale_one_refused(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let mut body = application("notice@example.ac.uk");
    body["privacy_notice_version"] = json!("2025-01");
    let res = app.apply("london-imt-pilot", &body).await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "privacy_notice_version");
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("read version 2026-10"), "{problem}");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM applications").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(n, 0);
    body["privacy_notice_version"] = json!("2026-10");
    let (id, token) = app.apply_ok("london-imt-pilot", &body).await;
    let (_, x) = get(&app, &format!("/api/v1/applications/{id}/export"), &token).await;
    assert_eq!(x["application"]["privacy_notice_version"], "2026-10");
    let (_, schemes) = get(&app, "/api/v1/schemes", &token).await;
    let pilot = schemes.as_array().unwrap().iter().find(|s| s["id"] == "london-imt-pilot").unwrap().clone();
    assert_eq!(pilot["privacy_notice"]["version"], "2026-10", "{pilot}");
    app.stop().await;
}

/// The catalogue the export and erasure read names every table that holds rows about an
/// applicant: a new table cannot be forgotten by either.
async fn every_table_about_an_applicant_is_in_the_catalogue(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let tables = fasttrack_core::store::personal::tables_with_application_id(&app.db).await.unwrap();
    let known: Vec<&str> = fasttrack_core::store::personal::CATALOGUE.iter().map(|h| h.table).collect();
    for t in &tables {
        assert!(known.contains(&t.as_str()), "{t} holds application rows but is not in personal::CATALOGUE");
    }
    app.stop().await;
}

both_backends!(
    the_export_holds_every_category_for_a_candidate_through_the_pipeline,
    erasure_leaves_a_tombstone_no_trace_and_the_figures_unmoved,
    erasing_a_booked_candidate_gives_the_seat_to_the_waiting_list,
    retention_erases_exactly_what_is_due_once_whatever_the_number_of_runners,
    a_retention_run_cut_short_is_finished_by_another_process,
    the_audit_log_pages_through_every_entry_once,
    admins_read_applications_only_where_the_setting_allows,
    every_table_about_an_applicant_is_in_the_catalogue,
    the_privacy_notice_version_seen_is_recorded_and_a_stale_one_refused,
);
