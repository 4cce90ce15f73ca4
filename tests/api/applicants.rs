//! The recruiters' list of applicants (GET /api/v1/schemes/{scheme}/applications) and the
//! admins' tokens, through the API on both backends.

use fasttrack_core::Role;
use serde_json::{Value, json};

use crate::both_backends;
use crate::centres::{quiz, soon_scheme};
use crate::helpers::{Backend, Options, TestApp, application};

async fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    let res = app.get(path, Some(token)).await;
    let code = res.status().as_u16();
    (code, res.json().await.unwrap_or(Value::Null))
}

const NAMES: [&str; 7] = [
    "Grace Hopper",
    "Alan Turing",
    "Katherine Johnson",
    "Tim Berners-Lee",
    "Radia Perlman",
    "Edsger Dijkstra",
    "Frances Allen",
];

/// Seven applicants of the "soon" scheme, who took its one-question test (every other one
/// right), one of them asking for the Disability Confident guarantee: (id, token) each.
async fn seven(app: &TestApp, recruiter: &str) -> Vec<(String, String)> {
    let res = app.post_json("/api/v1/schemes", Some(recruiter), &soon_scheme(app, json!({"tests": [quiz()]}))).await;
    assert_eq!(res.status(), 201);
    let mut out = Vec::new();
    for (i, name) in NAMES.iter().enumerate() {
        let mut body = application(&format!("{}@example.ac.uk", name.to_lowercase().replace(' ', ".")));
        body["name"] = json!(name);
        body["stream_preferences"] = json!(["acute-trusts"]);
        body["disability_confident"] = json!(i == 3);
        if i == 4 {
            body["adjustments"] = json!([]);
        }
        let (id, token) = app.apply_ok("soon", &body).await;
        let base = format!("/api/v1/applications/{id}/tests/quiz");
        app.post_json(&format!("{base}/start"), Some(&token), &json!({})).await;
        let res = app.post_json(&format!("{base}/responses"), Some(&token), &json!({"answers": {"q1": i % 2}})).await;
        assert_eq!(res.status(), 201);
        out.push((id, token));
    }
    app.drain().await;
    out
}

async fn all_pages(app: &TestApp, token: &str, query: &str, limit: usize) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/schemes/soon/applications?{query}&limit={limit}&cursor={c}"),
            None => format!("/api/v1/schemes/soon/applications?{query}&limit={limit}"),
        };
        let (code, page) = get(app, &path, token).await;
        assert_eq!(code, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit);
        rows.extend(items.iter().cloned());
        match page["next"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return rows,
        }
    }
}

/// Search by name, address or reference; filter by stage, stream and flags; sort by
/// submission or score; keyset pages that give each row once; CSV; no equality data.
async fn the_applicants_list_searches_filters_sorts_and_pages(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let recruiter = app.token(Role::Recruiter).await;
    let people = seven(&app, &recruiter).await;
    let res = app.delete(&format!("/api/v1/applications/{}", people[6].0), Some(&people[6].1)).await;
    assert_eq!(res.status(), 200);

    let (code, page) = get(&app, "/api/v1/schemes/soon/applications", &recruiter).await;
    assert_eq!(code, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 7);
    assert_eq!(items[0]["name"], "Frances Allen", "newest first");
    assert!(!page.to_string().contains("female") && !page.to_string().contains("black_african"), "no equality data");

    // Search: any part of a name or address, any case; a reference exactly.
    for (q, who) in [("turing", "Alan Turing"), ("BERNERS", "Tim Berners-Lee"), ("radia.perl", "Radia Perlman")] {
        let (_, found) = get(&app, &format!("/api/v1/schemes/soon/applications?q={q}"), &recruiter).await;
        let names: Vec<&str> = found["items"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(names, [who], "{q}");
    }
    let (_, by_ref) = get(&app, &format!("/api/v1/schemes/soon/applications?q={}", people[2].0), &recruiter).await;
    assert_eq!(by_ref["items"][0]["name"], "Katherine Johnson");
    let (_, none) = get(&app, "/api/v1/schemes/soon/applications?q=%25", &recruiter).await;
    assert_eq!(none["items"], json!([]), "a % is a character, not a wildcard");

    // Filters.
    let (_, w) = get(&app, "/api/v1/schemes/soon/applications?status=withdrawn", &recruiter).await;
    assert_eq!(w["items"].as_array().unwrap().len(), 1);
    let (_, s) =
        get(&app, "/api/v1/schemes/soon/applications?status=scored,withdrawn&stream=acute-trusts", &recruiter).await;
    assert_eq!(s["items"].as_array().unwrap().len(), 7);
    let (_, dc) = get(&app, "/api/v1/schemes/soon/applications?flag=disability_confident", &recruiter).await;
    assert_eq!(dc["items"][0]["name"], "Tim Berners-Lee");
    assert_eq!(dc["items"].as_array().unwrap().len(), 1);
    let (_, adj) = get(&app, "/api/v1/schemes/soon/applications?flag=adjustments", &recruiter).await;
    assert_eq!(adj["items"].as_array().unwrap().len(), 6, "all but the one who asked for none");

    // Pages: every row once, in the same order as one page.
    for (sort, limit) in [("submitted", 2), ("score", 3), ("score", 1)] {
        let paged = all_pages(&app, &recruiter, &format!("sort={sort}"), limit).await;
        let whole = all_pages(&app, &recruiter, &format!("sort={sort}"), 200).await;
        assert_eq!(paged, whole, "{sort} by {limit}");
        assert_eq!(paged.len(), 7);
        if sort == "score" {
            let scores: Vec<f64> = paged.iter().map(|r| r["composite"].as_f64().unwrap_or(f64::MIN)).collect();
            assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
            assert!(scores[0] > scores[6], "the right answers rank first");
        }
    }

    // CSV of the filtered list.
    let res = app.get("/api/v1/schemes/soon/applications?format=csv&status=scored", Some(&recruiter)).await;
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = res.text().await.unwrap();
    assert_eq!(csv.lines().count(), 7, "a header and six rows: {csv}");
    assert!(csv.starts_with("reference,name,email,status") && csv.contains("Alan Turing"));

    // Bad parameters, field by field.
    let (code, bad) =
        get(&app, "/api/v1/schemes/soon/applications?status=nope&sort=name&cursor=zzz&limit=0&flag=x", &recruiter)
            .await;
    assert_eq!(code, 422);
    let fields: Vec<&str> = bad["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["status", "flag", "sort", "cursor", "limit"]);
    assert_eq!(get(&app, "/api/v1/schemes/nope/applications", &recruiter).await.0, 404);
    // Reading the list is audited.
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'list applications'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(n > 5);
    app.stop().await;
}

/// In a name-blind scheme recruiters see no name or address before the scheme's stage, and
/// cannot find anyone by name either; a reference still finds the row.
async fn a_name_blind_scheme_hides_names_until_its_stage(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let recruiter = app.token(Role::Recruiter).await;
    let mut body = application("blind@example.ac.uk");
    body["name"] = json!("Hedy Lamarr");
    let (id, _) = app.apply_ok("london-imt-pilot", &body).await;
    let list = "/api/v1/schemes/london-imt-pilot/applications";
    let (_, page) = get(&app, list, &recruiter).await;
    assert_eq!((&page["items"][0]["name"], &page["items"][0]["email"]), (&Value::Null, &Value::Null));
    assert!(!page.to_string().contains("Hedy"));
    let (_, by_name) = get(&app, &format!("{list}?q=hedy"), &recruiter).await;
    assert_eq!(by_name["items"], json!([]), "no search by a hidden name");
    let (_, by_ref) = get(&app, &format!("{list}?q={id}"), &recruiter).await;
    assert_eq!(by_ref["items"][0]["id"], json!(id));
    // Once assessed (the pilot's names_from), the name shows. (Set-up shortcut: the event.)
    sqlx::query(
        "INSERT INTO application_events (application_id, from_status, to_status, actor, at) VALUES ($1, 'ac_booked', 'assessed', 'test', 0)",
    )
    .bind(&id)
    .execute(app.db.pool())
    .await
    .unwrap();
    let (_, page) = get(&app, &format!("{list}?q=hedy"), &recruiter).await;
    assert_eq!(page["items"][0]["name"], "Hedy Lamarr");
    app.stop().await;
}

/// Admins list staff tokens (never their secrets) and revoke one: it stops working at once.
async fn an_admin_lists_and_revokes_tokens(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let admin = app.token(Role::Admin).await;
    let res =
        app.post_json("/api/v1/admin/tokens", Some(&admin), &json!({"role": "recruiter", "name": "Priya Shah"})).await;
    assert_eq!(res.status(), 201);
    let made: Value = res.json().await.unwrap();
    let secret = made["token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/schemes/london-imt-pilot/applications", Some(&secret)).await.status(), 200);
    let (code, list) = get(&app, "/api/v1/admin/tokens", &admin).await;
    assert_eq!(code, 200);
    let row = list["tokens"].as_array().unwrap().iter().find(|t| t["id"] == made["id"]).unwrap().clone();
    assert_eq!(
        (&row["name"], &row["role"], &row["revoked_at"]),
        (&json!("Priya Shah"), &json!("recruiter"), &Value::Null)
    );
    assert!(!list.to_string().contains(&secret) && !list.to_string().contains("hash"));
    let res = app.delete(&format!("/api/v1/admin/tokens/{}", made["id"].as_str().unwrap()), Some(&admin)).await;
    assert_eq!(res.status(), 204);
    assert_eq!(app.get("/api/v1/schemes/london-imt-pilot/applications", Some(&secret)).await.status(), 401);
    let (_, list) = get(&app, "/api/v1/admin/tokens", &admin).await;
    let row = list["tokens"].as_array().unwrap().iter().find(|t| t["id"] == made["id"]).unwrap().clone();
    assert!(row["revoked_at"].is_string());
    let res = app.delete(&format!("/api/v1/admin/tokens/{}", uuid::Uuid::now_v7()), Some(&admin)).await;
    assert_eq!(res.status(), 404);
    let (_, log) = get(&app, "/api/v1/audit", &admin).await;
    let actions: Vec<&str> = log["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"create staff token") && actions.contains(&"revoke staff token"), "{actions:?}");
    app.stop().await;
}

both_backends!(
    the_applicants_list_searches_filters_sorts_and_pages,
    a_name_blind_scheme_hides_names_until_its_stage,
    an_admin_lists_and_revokes_tokens,
);
