//! Listing and creating schemes.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use fasttrack_core::Role;

async fn open_schemes_are_listed_with_streams_and_places(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let schemes: Value = app.get("/api/v1/schemes", None).await.json().await.unwrap();
    let london =
        schemes.as_array().unwrap().iter().find(|s| s["id"] == "london-imt-pilot").expect("the London pilot is open");
    assert_eq!(london["places"], 20);
    assert_eq!(london["streams"].as_array().unwrap().len(), 3);
    assert!(london["closes_at"].as_str().unwrap().starts_with("2027-01-31"));
    let gmts = schemes.as_array().unwrap().iter().find(|s| s["id"] == "gmts").unwrap();
    assert_eq!(gmts["places"], 150);
    assert_eq!(gmts["streams"].as_array().unwrap().len(), 6);
    app.stop().await;
}

async fn recruiters_create_schemes_and_bad_definitions_are_refused_field_by_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let recruiter = app.token(Role::Recruiter).await;
    let scheme = json!({
        "id": "ddat-2027", "name": "NHS Graduate DDaT scheme 2027",
        "opens_at": "2026-01-01T09:00:00Z", "closes_at": "2030-01-01T09:00:00Z",
        "organisations": [{"id": "nhse", "name": "NHS England", "kind": "national_body"}],
        "streams": [{"id": "data-science", "name": "Data scientist", "places": [{"organisation": "nhse", "count": 12}]}]
    });
    let res = app.post_json("/api/v1/schemes", Some(&recruiter), &scheme).await;
    assert_eq!(res.status(), 201);
    let listed: Value = app.get("/api/v1/schemes", None).await.json().await.unwrap();
    assert!(listed.as_array().unwrap().iter().any(|s| s["id"] == "ddat-2027" && s["places"] == 12));
    assert_eq!(app.post_json("/api/v1/schemes", Some(&recruiter), &scheme).await.status(), 409);

    let mut bad = scheme.clone();
    bad["id"] = json!("ddat-bad");
    bad["closes_at"] = json!("2020-01-01T00:00:00Z");
    bad["streams"][0]["places"][0]["organisation"] = json!("unknown-org");
    let res = app.post_json("/api/v1/schemes", Some(&recruiter), &bad).await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["closes_at", "streams[0].places[0].organisation"]);

    // A name on one visible line; centres not before the closing date.
    let mut bad = scheme.clone();
    bad["id"] = json!("ddat-bad-2");
    bad["name"] = json!("Graduate DDaT\r\nBcc: everyone");
    bad["assessment_centres"] = json!([{"id": "early", "name": "Early", "venue": "Leeds", "date": "2029-12-01",
        "sessions": [{"id": "am", "start": "09:00", "end": "12:00", "capacity": 5,
                      "exercises": [{"kind": "interview", "competencies": ["motivation"]}]}]}]);
    let res = app.post_json("/api/v1/schemes", Some(&recruiter), &bad).await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.unwrap();
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "assessment_centres[0].date"], "{problem}");
    app.stop().await;
}

/// Recruiters read any scheme whole, change it while that is safe, and close it early; closed
/// schemes stay listed for staff.
async fn a_scheme_is_read_changed_while_safe_and_closed_early(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let recruiter = app.token(Role::Recruiter).await;
    let now = app.clock.now();
    let scheme = json!({
        "id": "life", "name": "Life cycle scheme",
        "opens_at": (now - jiff::SignedDuration::from_hours(1)).to_string(),
        "closes_at": (now + jiff::SignedDuration::from_hours(24 * 30)).to_string(),
        "disclosure_threshold": 7, "min_degree_class": "2:2",
        "streams": [{"id": "alpha", "name": "Alpha", "ac_seats": 4}]
    });
    assert_eq!(app.post_json("/api/v1/schemes", Some(&recruiter), &scheme).await.status(), 201);
    let got: Value = app.get("/api/v1/schemes/life", Some(&recruiter)).await.json().await.unwrap();
    assert_eq!((&got["phase"], &got["definition"]["disclosure_threshold"]), (&json!("open"), &json!(7)), "{got}");
    assert_eq!(app.get("/api/v1/schemes/life", None).await.status(), 401);
    assert_eq!(app.get("/api/v1/schemes/nope", Some(&recruiter)).await.status(), 404);

    let patch = async |body: Value| {
        let res = app.client.patch(app.url("/api/v1/schemes/life")).bearer_auth(&recruiter).json(&body);
        let res = res.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json::<Value>().await.unwrap())
    };
    // While open: the name and the seats may change; the screening rule may not.
    let (code, body) = patch(json!({"name": "Life cycle scheme 2027", "disclosure_threshold": 10})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["definition"]["name"], "Life cycle scheme 2027");
    let (code, body) = patch(json!({"min_degree_class": "2:1"})).await;
    assert_eq!(code, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().starts_with("min_degree_class: "), "{body}");
    let (code, body) = patch(json!({"disclosure_threshold": "ten"})).await;
    assert_eq!(code, 422, "{body}");
    let got: Value = app.get("/api/v1/schemes/life", Some(&recruiter)).await.json().await.unwrap();
    assert_eq!(
        (&got["definition"]["min_degree_class"], &got["definition"]["disclosure_threshold"]),
        (&json!("2:2"), &json!(10)),
        "refusals change nothing"
    );

    // Closed early: no more applications, still listed for staff, the closing date now fixed.
    let res = app.post_json("/api/v1/schemes/life/close", Some(&recruiter), &json!({})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.post_json("/api/v1/schemes/life/close", Some(&recruiter), &json!({})).await.status(), 409);
    let mut body = crate::helpers::application("late@example.ac.uk");
    body["stream_preferences"] = json!(["alpha"]);
    assert_eq!(app.apply("life", &body).await.status(), 409);
    let open: Value = app.get("/api/v1/schemes", None).await.json().await.unwrap();
    assert!(!open.as_array().unwrap().iter().any(|s| s["id"] == "life"));
    let all: Value = app.get("/api/v1/schemes?include=all", Some(&recruiter)).await.json().await.unwrap();
    let life = all.as_array().unwrap().iter().find(|s| s["id"] == "life").expect("closed schemes stay listed");
    assert_eq!(life["phase"], "closed");
    assert_eq!(app.get("/api/v1/schemes?include=all", None).await.status(), 401);
    let reopen = (app.clock.now() + jiff::SignedDuration::from_hours(24)).to_string();
    let (code, body) = patch(json!({"closes_at": reopen})).await;
    assert_eq!(code, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("sift is one batch"), "{body}");
    app.stop().await;
}

both_backends!(
    a_scheme_is_read_changed_while_safe_and_closed_early,
    open_schemes_are_listed_with_streams_and_places,
    recruiters_create_schemes_and_bad_definitions_are_refused_field_by_field
);
