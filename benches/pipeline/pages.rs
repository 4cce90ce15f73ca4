//! `BENCH_ONLY=pages`: applicant pages with 100,000 applications in the database (the
//! embedded default, SQLite): each page fetched sequentially, p50/p99 per page measured at
//! the client over loopback (an upper bound of the server's time), beside GET /health (HTTP
//! alone, the ceiling of any page).

use std::time::Instant;

use fasttrack::startup::{self, API_ONLY};
use fasttrack_core::store::{self, Db};
use sqlx::AssertSqlSafe;

use super::{body, settings};

const N: u64 = 100_000;
const REQUESTS: usize = 2_000;

/// 100,000 applications of the London pilot, as the sift bench loads them (multi-row INSERTs).
async fn load(db: &Db) {
    let details = body(0).to_string();
    for start in (0..N).step_by(500) {
        let m = (N - start).min(500);
        let rows: Vec<String> = (0..m)
            .map(|i| {
                let n = start + i;
                // Every tenth has a score, so the score order has 10,000 rows to walk.
                let status = if n % 10 == 0 { "scored" } else { "tests_invited" };
                format!(
                    "(${}, 'london-imt-pilot', ${}, '{status}', $1, 'acute-trusts', 0, {n}, {n}, 'load applicant {n}')",
                    2 * i + 2,
                    2 * i + 3
                )
            })
            .collect();
        let mut q = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO applications (id, scheme_id, email_norm, status, details, first_stream, disability_confident, created_at, updated_at, search_name) VALUES {}",
            rows.join(", ")
        )))
        .bind(details.clone());
        for i in 0..m {
            q = q.bind(uuid::Uuid::now_v7().to_string()).bind(format!("load-{}@example.ac.uk", start + i));
        }
        q.execute(db.pool()).await.unwrap();
    }
    sqlx::query(
        "INSERT INTO application_scores (application_id, scheme_id, composite, passed, scored_at)
         SELECT id, scheme_id, (created_at % 997) / 10.0, 1, created_at FROM applications WHERE status = 'scored'",
    )
    .execute(db.pool())
    .await
    .unwrap();
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

async fn time(client: &reqwest::Client, url: &str, cookie: &str) -> (f64, f64) {
    time_with(client, url, "cookie", cookie).await
}

async fn time_with(client: &reqwest::Client, url: &str, header: &str, value: &str) -> (f64, f64) {
    let mut lat = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let t = Instant::now();
        let res = client.get(url).header(header, value).send().await.unwrap();
        assert!(res.status().is_success(), "{url}: {}", res.status());
        res.bytes().await.unwrap();
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    lat.sort_by(f64::total_cmp);
    (percentile(&lat, 0.5), percentile(&lat, 0.99))
}

pub async fn pages_table() -> String {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), &[]);
    let running = startup::launch(s.clone(), API_ONLY).await.expect("launch");
    let base = format!("http://{}", running.addr.unwrap());
    let db = Db::connect(&s).await.unwrap();
    let started = Instant::now();
    load(&db).await;
    let load_secs = started.elapsed().as_secs_f64();
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{base}/api/v1/schemes/london-imt-pilot/applications"))
        .json(&body(N + 1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let id: fasttrack_core::ApplicationId =
        res.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().parse().unwrap();
    let session =
        store::web::open_session(&db, id, jiff::Timestamp::now(), jiff::SignedDuration::from_hours(2)).await.unwrap();
    let cookie = format!("ft_session={session}; ft_browser=benchbrowsersecret");
    let (_, recruiter) =
        store::tokens::create_staff_token(&db, fasttrack_core::Role::Recruiter, "bench", None).await.unwrap();
    // A cursor half-way down the list: the keyset must cost the same at any depth.
    let (deep_at, deep_id): (i64, String) = sqlx::query_as(
        "SELECT created_at, id FROM applications ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET 50000",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    let mut out = format!(
        "\n{N} applications loaded in {load_secs:.1} s (SQLite, embedded); {REQUESTS} sequential requests per page\n\n\
         | page | p50 ms | p99 ms |\n|---|---|---|\n"
    );
    for (label, path) in [
        ("GET /health (HTTP alone: the ceiling)", "/health".to_owned()),
        ("your application (status, timeline)", format!("/applications/{id}")),
        ("your online tests", format!("/applications/{id}/tests")),
        ("your assessment centre", format!("/applications/{id}/booking")),
        ("apply: task list", "/schemes/london-imt-pilot/apply".to_owned()),
        ("apply: a section", "/schemes/london-imt-pilot/apply/details".to_owned()),
        ("scheme page", "/schemes/london-imt-pilot".to_owned()),
    ] {
        let (p50, p99) = time(&client, &format!("{base}{path}"), &cookie).await;
        out.push_str(&format!("| {label} | {p50:.2} | {p99:.2} |\n"));
    }
    let list = "/api/v1/schemes/london-imt-pilot/applications";
    let auth = format!("Bearer {recruiter}");
    for (label, path) in [
        ("applicants list: first page of 50", list.to_owned()),
        ("applicants list: a page 50,000 rows down", format!("{list}?cursor={deep_at}~{deep_id}")),
        ("applicants list: one stage (scored)", format!("{list}?status=scored")),
        ("applicants list: by composite score", format!("{list}?sort=score")),
        ("applicants list: a reference", format!("{list}?q={id}")),
        // The pilot is name-blind and nobody has reached its names_from stage yet, so a name
        // search may match no one: these measure that the rule costs nothing at 100,000.
        ("applicants list: part of a name (name-blind, before its stage)", format!("{list}?q=applicant%2099")),
        ("applicants list: a name nobody has (name-blind)", format!("{list}?q=nobody%20at%20all")),
    ] {
        let (p50, p99) = time_with(&client, &format!("{base}{path}"), "authorization", &auth).await;
        out.push_str(&format!("| {label} | {p50:.2} | {p99:.2} |\n"));
    }
    db.close().await;
    running.stop().await;
    out
}
