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

both_backends!(
    open_schemes_are_listed_with_streams_and_places,
    recruiters_create_schemes_and_bad_definitions_are_refused_field_by_field
);
