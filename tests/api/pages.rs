//! The pages (SPEC §7), over HTTP: the home page lists open schemes, a scheme page says what
//! the scheme is, the NHS.UK frontend is served from the binary. (The browser tests with
//! axe-core come with the apply pages.)

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

async fn the_home_page_lists_open_schemes_and_links_to_each(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app.get("/", None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    let html = res.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains(r#"<html lang="en">"#), "{html}");
    assert!(html.contains(r##"href="#maincontent">Skip to main content"##), "{html}");
    assert!(html.contains("London Graduate IM&amp;T Fast Track (pilot)"), "names are escaped: {html}");
    assert!(html.contains(r#"href="/schemes/london-imt-pilot""#), "{html}");
    assert!(html.contains("Applications close "), "{html}");
    app.stop().await;
}

async fn a_scheme_page_shows_places_streams_dates_and_stages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app.get("/schemes/london-imt-pilot", None).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("<h1 class=\"nhsuk-heading-xl\">London Graduate IM&amp;T Fast Track (pilot)</h1>"), "{html}");
    assert!(html.contains("Applications are open until "), "{html}");
    assert!(html.contains("places in all"), "{html}");
    assert!(html.contains("How selection works") && html.contains("Disability Confident"), "{html}");
    let api: serde_json::Value = app.get("/api/v1/schemes", None).await.json().await.unwrap();
    let pilot = api.as_array().unwrap().iter().find(|s| s["id"] == "london-imt-pilot").unwrap();
    for stream in pilot["streams"].as_array().unwrap() {
        let name = stream["name"].as_str().unwrap().replace('&', "&amp;");
        assert!(html.contains(&name), "stream {name} listed: {html}");
    }
    assert!(html.contains(&format!("{} places in all", pilot["places"])), "{html}");
    let missing = app.get("/schemes/no-such-scheme", None).await;
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("Page not found"));
    app.stop().await;
}

both_backends!(the_home_page_lists_open_schemes_and_links_to_each, a_scheme_page_shows_places_streams_dates_and_stages);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nhs_frontend_is_served_from_the_binary() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let css = app.get(fasttrack::pages::assets::CSS, None).await;
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(css.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    let body = css.text().await.unwrap();
    assert!(body.contains(".nhsuk-header"), "the NHS.UK stylesheet");
    // Every icon the stylesheet refers to is served.
    for icon in body.split("url(/assets/images/").skip(1).map(|r| r.split(')').next().unwrap()) {
        let res = app.get(&format!("/assets/images/{icon}"), None).await;
        assert_eq!(res.status(), 200, "{icon}");
    }
    assert_eq!(app.get("/assets/nope.css", None).await.status(), 404);
    app.stop().await;
}
