//! The NHS Graduate DDaT scheme (SPEC §8): its role families and regions, asked for by the
//! API and the pages with the same checks.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, application};
use crate::pages::PageClient;

async fn the_ddat_scheme_asks_for_ranked_role_families_and_regions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let schemes: Value = app.get("/api/v1/schemes", None).await.json().await.unwrap();
    let ddat = schemes.as_array().unwrap().iter().find(|s| s["id"] == "ddat").expect("the DDaT scheme ships");
    let families: Vec<&str> = ddat["streams"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        families,
        [
            "Data analyst",
            "Data scientist",
            "Software developer",
            "Cyber security",
            "Change and project management",
            "Business analyst"
        ]
    );
    assert_eq!(ddat["regions"].as_array().unwrap().len(), 7);
    assert_eq!(ddat["talent_pool_months"], 12);

    let mut body = application("dev@example.ac.uk");
    body["stream_preferences"] = json!(["software-developer", "data-scientist"]);
    let res = app.apply("ddat", &body).await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "regions", "{problem}");
    body["regions"] = json!(["london", "atlantis"]);
    let problem: Value = app.apply("ddat", &body).await.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "regions[1]", "{problem}");
    body["regions"] = json!(["london", "south-east"]);
    let (id, token) = app.apply_ok("ddat", &body).await;
    let got: Value = app.get(&format!("/api/v1/applications/{id}"), Some(&token)).await.json().await.unwrap();
    assert_eq!(got["details"]["regions"], json!(["london", "south-east"]));
    assert_eq!(got["details"]["stream_preferences"], json!(["software-developer", "data-scientist"]));
    // Schemes whose places are known at closing ask for no region.
    let pilot: Value = app.get("/api/v1/schemes", None).await.json().await.unwrap();
    let pilot = pilot.as_array().unwrap().iter().find(|s| s["id"] == "london-imt-pilot").unwrap().clone();
    assert_eq!(pilot["regions"], json!([]));

    // In pages: the streams section asks for regions too, with the API's messages.
    let page = PageClient::new(&app);
    let form = page.get("/schemes/ddat/apply/streams").await;
    assert_eq!(form.status, 200);
    assert!(form.html.contains(r#"name="regions" type="checkbox" value="north-west""#), "{}", form.html);
    let pilot_form = page.get("/schemes/london-imt-pilot/apply/streams").await;
    assert!(!pilot_form.html.contains(r#"name="regions""#));
    let saved = page
        .post(
            "/schemes/ddat/apply/streams",
            &[("stream_1", "cyber-security"), ("regions", "midlands"), ("regions", "london")],
        )
        .await;
    assert_eq!(saved.status, 303, "{:?}", saved.errors());
    let check = page.get("/schemes/ddat/apply/check").await;
    let text = crate::staff::text(&check);
    assert!(text.contains("Regions you can work in Midlands London"), "{text}");
    app.stop().await;
}

async fn vacancies_are_posted_changed_and_withdrawn_and_never_filled_twice(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let recruiter = app.token(fasttrack_core::Role::Recruiter).await;
    let hr = app.token(fasttrack_core::Role::Hr).await;
    let good = json!({"organisation": "Leeds Teaching Hospitals NHS Trust", "role_family": "data-analyst",
        "region": "north-east-yorkshire", "posts": 3, "start_date": "2027-09-06", "closes_on": "2027-06-30"});
    assert_eq!(app.post_json("/api/v1/schemes/ddat/vacancies", Some(&hr), &good).await.status(), 403);
    let res = app.post_json("/api/v1/schemes/london-imt-pilot/vacancies", Some(&recruiter), &good).await;
    assert_eq!(res.status(), 409, "a scheme with places known at closing takes no vacancies");
    let bad = json!({"organisation": "Leeds", "role_family": "astronaut", "region": "wales", "posts": 0,
        "start_date": "2027-09-06", "closes_on": "2027-06-30"});
    let res = app.post_json("/api/v1/schemes/ddat/vacancies", Some(&recruiter), &bad).await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["posts", "role_family", "region"]);
    let res = app.post_json("/api/v1/schemes/ddat/vacancies", Some(&recruiter), &good).await;
    assert_eq!(res.status(), 201);
    let v: Value = res.json().await.unwrap();
    assert_eq!((v["posts"].as_u64(), v["filled"].as_u64(), v["state"].as_str()), (Some(3), Some(0), Some("open")));
    let id = v["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/schemes/ddat/vacancies/{id}");
    let patch =
        async |body: Value| app.client.patch(app.url(&path)).bearer_auth(&recruiter).json(&body).send().await.unwrap();
    let more = patch(json!({"posts": 5})).await;
    assert_eq!(more.status(), 200);
    assert_eq!(more.json::<Value>().await.unwrap()["posts"], 5);
    assert_eq!(patch(json!({"closes_on": "2027-10-01"})).await.status(), 422, "after the start date");

    // Two posts given (as the matching job does); fewer than that cannot be asked for, and
    // the database refuses more fills than posts.
    sqlx::query("UPDATE vacancies SET filled = 2 WHERE id = $1").bind(&id).execute(app.db.pool()).await.unwrap();
    let fewer = patch(json!({"posts": 1})).await;
    assert_eq!(fewer.status(), 409);
    assert!(fewer.text().await.unwrap().contains("2 of its posts are filled"));
    let over = sqlx::query("UPDATE vacancies SET filled = 6 WHERE id = $1").bind(&id).execute(app.db.pool()).await;
    assert!(over.is_err(), "a post cannot be filled twice");

    let listed: Value =
        app.get("/api/v1/schemes/ddat/vacancies?state=open", Some(&recruiter)).await.json().await.unwrap();
    assert_eq!(listed["vacancies"].as_array().unwrap().len(), 1);
    let gone = patch(json!({"state": "withdrawn"})).await;
    assert_eq!(gone.status(), 200);
    assert_eq!(patch(json!({"posts": 9})).await.status(), 409, "a withdrawn vacancy stays withdrawn");
    let listed: Value =
        app.get("/api/v1/schemes/ddat/vacancies?state=open", Some(&recruiter)).await.json().await.unwrap();
    assert_eq!(listed["vacancies"], json!([]));
    let all: Value = app.get("/api/v1/schemes/ddat/vacancies", Some(&recruiter)).await.json().await.unwrap();
    assert_eq!(all["vacancies"][0]["state"], "withdrawn");
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('post vacancy', 'change vacancy', 'withdraw vacancy')",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(audited, 3);
    app.stop().await;
}

both_backends!(
    the_ddat_scheme_asks_for_ranked_role_families_and_regions,
    vacancies_are_posted_changed_and_withdrawn_and_never_filled_twice
);
