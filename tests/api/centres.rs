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

async fn a_reminder_goes_once_48_hours_before_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let recruiter = app.token(Role::Recruiter).await;
    let tomorrow = jiff::Zoned::now().in_tz("Europe/London").unwrap().date().tomorrow().unwrap();
    let scheme = json!({
        "id": "soon", "name": "Soon scheme", "opens_at": "2026-01-01T00:00:00Z", "closes_at": "2030-01-01T00:00:00Z",
        "streams": [{"id": "acute-trusts", "name": "Acute", "ac_seats": 5}],
        "assessment_centres": [{"id": "next-day", "name": "Next-day centre", "venue": "virtual", "date": tomorrow.to_string(),
            "sessions": [{"id": "am", "start": "09:00", "end": "12:00", "capacity": 2, "provisions": ["step_free_access"],
                          "exercises": [{"kind": "interview", "competencies": ["motivation"]}]}]}]
    });
    assert_eq!(app.post_json("/api/v1/schemes", Some(&recruiter), &scheme).await.status(), 201);
    let mut body = crate::helpers::application("soon@example.ac.uk");
    body["stream_preferences"] = json!(["acute-trusts"]);
    let (id, token) = app.apply_ok("soon", &body).await;
    // Test set-up shortcut: this scheme has no tests, so put the applicant where a sift would.
    sqlx::query("UPDATE applications SET status = 'shortlisted' WHERE id = $1")
        .bind(&id)
        .execute(app.db.pool())
        .await
        .unwrap();
    let res = app.post_json("/api/v1/schemes/soon/schedule", Some(&recruiter), &json!({})).await;
    assert_eq!(res.status(), 202);
    app.wait_for_email_state(&id, "ac_invitation", "sent").await;
    app.wait_for_email_state(&id, "ac_reminder", "sent").await;
    let booking: Value =
        app.get(&format!("/api/v1/applications/{id}/booking"), Some(&token)).await.json().await.unwrap();
    assert_eq!(booking["state"], "invited");
    // More sweeps pass; still exactly one reminder.
    let before = app.sent_emails().iter().filter(|e| e.contains("X-Fasttrack-Kind: ac_reminder")).count();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let after = app.sent_emails().iter().filter(|e| e.contains("X-Fasttrack-Kind: ac_reminder")).count();
    assert_eq!((before, after), (1, 1));
    app.stop().await;
}

both_backends!(centres_are_loaded_listed_and_added, a_reminder_goes_once_48_hours_before_the_session);
