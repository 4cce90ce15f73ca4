//! The role matrix of SPEC §2 walked over every route that exists. A new route
//! must be added to `ROUTES` (and so to the OpenAPI document, checked below).

use reqwest::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, application};
use fasttrack_core::Role;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Nobody,
    /// The applicant whose application the path names.
    Own,
    /// Another applicant.
    OtherApplicant,
    Staff(Role),
}

const STAFF: [Role; 4] = [Role::Recruiter, Role::Assessor, Role::Hr, Role::Admin];

/// method, path as in the OpenAPI document, who may (None = anyone; "signed" = only a
/// request signed by a test provider, so everyone else gets 401).
pub const ROUTES: &[(&str, &str, Option<&[&str]>)] = &[
    ("GET", "/health", None),
    ("GET", "/ready", None),
    ("GET", "/metrics", None),
    ("GET", "/api/v1/openapi.json", None),
    ("GET", "/api/v1/schemes", None),
    ("POST", "/api/v1/schemes", Some(&["recruiter", "admin"])),
    ("GET", "/api/v1/schemes/{scheme}", Some(&["recruiter", "admin"])),
    ("PATCH", "/api/v1/schemes/{scheme}", Some(&["recruiter", "admin"])),
    ("POST", "/api/v1/schemes/{scheme}/close", Some(&["recruiter", "admin"])),
    ("POST", "/api/v1/schemes/{scheme}/applications", None),
    ("GET", "/api/v1/schemes/{scheme}/applications", Some(&["recruiter"])),
    // Admins read applications only where personal_data.admin_reads_applications allows it.
    ("GET", "/api/v1/applications/{id}", Some(&["own", "recruiter"])),
    ("DELETE", "/api/v1/applications/{id}", Some(&["own", "admin"])),
    ("GET", "/api/v1/applications/{id}/tests", Some(&["own"])),
    ("POST", "/api/v1/applications/{id}/tests/{test}/start", Some(&["own"])),
    ("POST", "/api/v1/applications/{id}/tests/{test}/responses", Some(&["own"])),
    ("POST", "/api/v1/applications/{id}/disability-confident-override", Some(&["recruiter", "admin"])),
    ("POST", "/api/v1/webhooks/test-results", Some(&["signed"])),
    ("POST", "/api/v1/schemes/{scheme}/sift", Some(&["recruiter", "admin"])),
    ("POST", "/api/v1/schemes/{scheme}/assessment-centres", Some(&["recruiter", "admin"])),
    ("GET", "/api/v1/schemes/{scheme}/assessment-centres", Some(&["recruiter", "admin"])),
    ("POST", "/api/v1/schemes/{scheme}/assessment-centres/{centre}/sessions", Some(&["recruiter", "admin"])),
    ("POST", "/api/v1/schemes/{scheme}/schedule", Some(&["recruiter", "admin"])),
    ("POST", "/api/v1/schemes/{scheme}/vacancies", Some(&["recruiter", "admin"])),
    ("GET", "/api/v1/schemes/{scheme}/vacancies", Some(&["recruiter", "admin"])),
    ("GET", "/api/v1/schemes/{scheme}/vacancies/{vacancy}", Some(&["recruiter", "admin"])),
    ("PATCH", "/api/v1/schemes/{scheme}/vacancies/{vacancy}", Some(&["recruiter", "admin"])),
    ("GET", "/api/v1/applications/{id}/booking", Some(&["own", "recruiter"])),
    ("POST", "/api/v1/applications/{id}/booking/accept", Some(&["own"])),
    ("POST", "/api/v1/applications/{id}/booking/decline", Some(&["own"])),
    ("POST", "/api/v1/applications/{id}/booking/rebook", Some(&["own"])),
    ("POST", "/api/v1/applications/{id}/no-show", Some(&["recruiter", "admin"])),
    ("GET", "/api/v1/sessions", Some(&["assessor", "recruiter", "admin"])),
    // The matrix's assessor sits on no panel; panel members are checked in tests/api/offers.rs.
    ("GET", "/api/v1/sessions/{session}", Some(&["recruiter", "admin"])),
    ("POST", "/api/v1/sessions/{session}/scores", Some(&[])),
    ("GET", "/api/v1/schemes/{scheme}/ac-results", Some(&["recruiter", "admin"])),
    ("POST", "/api/v1/schemes/{scheme}/decisions", Some(&["recruiter", "admin"])),
    ("GET", "/api/v1/applications/{id}/offer", Some(&["own", "recruiter"])),
    ("POST", "/api/v1/applications/{id}/offer/accept", Some(&["own"])),
    ("POST", "/api/v1/applications/{id}/offer/decline", Some(&["own"])),
    ("POST", "/api/v1/applications/{id}/outcomes", Some(&["recruiter", "hr", "admin"])),
    ("GET", "/api/v1/jobs/{job}", Some(&["recruiter", "hr", "admin"])),
    ("GET", "/api/v1/schemes/{scheme}/metrics/funnel", Some(&["hr", "admin"])),
    ("GET", "/api/v1/schemes/{scheme}/metrics/equality", Some(&["hr", "admin"])),
    ("GET", "/api/v1/schemes/{scheme}/metrics/profile", Some(&["hr", "admin"])),
    ("POST", "/api/v1/surveys", Some(&["hr", "admin"])),
    ("GET", "/api/v1/surveys", Some(&["hr", "admin"])),
    ("POST", "/api/v1/surveys/{survey}/responses", Some(&["hr", "admin"])),
    ("GET", "/api/v1/surveys/{survey}/tables", Some(&["hr", "admin"])),
    ("GET", "/api/v1/notifications", Some(&["admin"])),
    ("POST", "/api/v1/notifications/{id}/retry", Some(&["recruiter", "admin"])),
    ("POST", "/api/v1/admin/tokens", Some(&["admin"])),
    ("GET", "/api/v1/admin/tokens", Some(&["admin"])),
    ("DELETE", "/api/v1/admin/tokens/{id}", Some(&["admin"])),
    ("GET", "/api/v1/admin/workers", Some(&["admin"])),
    ("POST", "/api/v1/admin/staff", Some(&["admin"])),
    ("GET", "/api/v1/admin/staff", Some(&["admin"])),
    ("POST", "/api/v1/admin/staff/{id}/disable", Some(&["admin"])),
    ("GET", "/api/v1/applications/{id}/export", Some(&["own", "admin"])),
    // (The matrix posts `{}`: without "confirm": true nothing is erased, so 422 for those allowed.)
    ("POST", "/api/v1/applications/{id}/erasure", Some(&["own", "admin"])),
    ("GET", "/api/v1/admin/retention", Some(&["admin"])),
    ("GET", "/api/v1/audit", Some(&["admin"])),
];

/// A concrete path for a route: {id} of an application route is `app_id`, other ids are new.
fn concrete(path: &str, app_id: &str) -> String {
    let id = if path.starts_with("/api/v1/applications/{id}") {
        app_id.to_owned()
    } else {
        uuid::Uuid::now_v7().to_string()
    };
    // Closing a scheme is for good: close the one no other route here uses.
    let scheme = if path.ends_with("/close") { "gmts" } else { "london-imt-pilot" };
    path.replace("{id}", &id)
        .replace("{scheme}", scheme)
        .replace("{test}", "numerical")
        .replace("{centre}", "ac-1")
        .replace("{vacancy}", &uuid::Uuid::now_v7().to_string())
        .replace("{session}", "london-imt-pilot:ac-1:am")
        .replace("{job}", &uuid::Uuid::now_v7().to_string())
        .replace("{survey}", &uuid::Uuid::now_v7().to_string())
}

fn label(who: Who) -> &'static str {
    match who {
        Who::Nobody => "nobody",
        Who::Own => "own",
        Who::OtherApplicant => "other",
        Who::Staff(r) => r.as_str(),
    }
}

async fn every_route_answers_each_role_as_the_matrix_says(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut callers = vec![(Who::Nobody, None)];
    for role in STAFF {
        callers.push((Who::Staff(role), Some(app.token(role).await)));
    }
    let (_, other_token) = app.apply_ok("london-imt-pilot", &application("other@example.ac.uk")).await;
    callers.push((Who::OtherApplicant, Some(other_token)));

    for (i, (method, template, allowed)) in ROUTES.iter().enumerate() {
        // A fresh application per route, so a withdrawal does not change the next check.
        let email = format!("route-{i}@example.ac.uk");
        let (app_id, own_token) = app.apply_ok("london-imt-pilot", &application(&email)).await;
        let mut all = callers.clone();
        all.push((Who::Own, Some(own_token)));
        for (who, token) in all {
            let path = concrete(template, &app_id);
            let mut req = app.client.request(Method::from_bytes(method.as_bytes()).unwrap(), app.url(&path));
            if *method == "POST" {
                req = req.json(&json!({}));
            }
            if let Some(t) = &token {
                req = req.bearer_auth(t);
            }
            let status = req.send().await.unwrap().status().as_u16();
            let may = allowed.is_none_or(|a| a.contains(&label(who)));
            let case = format!("{method} {template} as {}: {status}", label(who));
            if allowed.is_some_and(|a| a.contains(&"signed")) {
                assert_eq!(status, 401, "{case}: only a signed provider request gets in");
            } else if may {
                assert!(![401, 403].contains(&status), "{case} but should be allowed");
                if who == Who::Own {
                    assert_ne!(status, 404, "{case}");
                }
            } else if who == Who::Nobody {
                assert_eq!(status, 401, "{case}");
            } else if who == Who::OtherApplicant && allowed.is_some_and(|a| a.contains(&"own")) {
                assert_eq!(status, 404, "{case}: another applicant's application must not be seen to exist");
            } else {
                assert_eq!(status, 403, "{case}");
            }
        }
    }
    app.stop().await;
}

async fn the_openapi_document_describes_every_route(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc: Value = app.get("/api/v1/openapi.json", None).await.json().await.unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = 0;
    for (_, ops) in paths {
        documented += ops.as_object().unwrap().len();
    }
    for (method, template, _) in ROUTES {
        let op = paths.get(*template).and_then(|p| p.get(method.to_lowercase()));
        assert!(op.is_some(), "{method} {template} is not in the OpenAPI document");
    }
    assert_eq!(documented, ROUTES.len(), "the document and the route list disagree");
    app.stop().await;
}

both_backends!(every_route_answers_each_role_as_the_matrix_says, the_openapi_document_describes_every_route);
