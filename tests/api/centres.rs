//! Assessment centres: the London pilot's four from its file, and recruiters adding more.

use fasttrack_core::Role;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

async fn centres_are_loaded_listed_and_added(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let recruiter = app.token(Role::Recruiter).await;
    let path = "/api/v1/schemes/london-imt-pilot/assessment-centres";
    let listed: Value = app.get(path, Some(&recruiter)).await.json().await.unwrap();
    let centres = listed["centres"].as_array().unwrap();
    assert_eq!(centres.len(), 4, "the pilot's four all-day centres");
    assert_eq!(listed["seats"], 80);
    assert_eq!(centres[0]["sessions"][0]["provisions"], json!(["step_free_access", "quiet_room"]));

    let centre = json!({
        "id": "ac-5", "name": "Reserve centre", "venue": "virtual", "date": "2027-03-15",
        "sessions": [{"id": "am", "start": "09:00", "end": "12:00", "capacity": 8,
                      "exercises": [{"kind": "interview", "competencies": ["motivation"]}],
                      "assessors": [{"id": "as-x", "name": "A. Assessor", "organisation": "elft"}]}]
    });
    assert_eq!(app.post_json(path, Some(&recruiter), &centre).await.status(), 201);
    assert_eq!(app.post_json(path, Some(&recruiter), &centre).await.status(), 409);
    let listed: Value = app.get(path, Some(&recruiter)).await.json().await.unwrap();
    assert_eq!(listed["seats"], 88);

    let mut bad = centre.clone();
    bad["id"] = json!("ac-6");
    bad["sessions"][0]["end"] = json!("08:00");
    let res = app.post_json(path, Some(&recruiter), &bad).await;
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "sessions[0].end");
    app.stop().await;
}

both_backends!(centres_are_loaded_listed_and_added);
