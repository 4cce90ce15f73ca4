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

both_backends!(the_ddat_scheme_asks_for_ranked_role_families_and_regions);
