//! Pages in a real browser: Debian's `chromium` driven by `chromedriver` over W3C WebDriver
//! (plain HTTP + JSON, with the reqwest the tests already use), axe-core checking WCAG 2.2
//! A and AA on every page, a screenshot of each written to
//! `$CARGO_TARGET_DIR/screenshots/` to look at.
//!
//! Without chromedriver the tests say loudly that they were skipped; with `CI=true` (as
//! `.ci/run` sets) a missing browser fails them instead.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

const AXE: &str = include_str!("../browser/axe-4.14.1.min.js");
pub const TAB: &str = "\u{E004}";
pub const ENTER: &str = "\u{E007}";
pub const SPACE: &str = " ";

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    client: reqwest::Client,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// A headless Chromium, or `None` (with a loud message) where none is installed.
    pub async fn start() -> Option<Browser> {
        let driver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        if !std::path::Path::new(&driver).exists() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "browser tests are mandatory in CI: install chromium and chromium-driver (.ci/run does)"
            );
            // Straight to the terminal: the test harness would swallow eprintln! of a test
            // that passes, and a skip must not go unnoticed.
            let message = format!(
                "\n!!! SKIPPED: browser tests need Debian's chromium and chromium-driver ({driver} not found).\n\
                 !!! Install them (apt-get install chromium chromium-driver) or run .ci/run, which does.\n\n"
            );
            match std::fs::OpenOptions::new().append(true).open("/dev/stderr") {
                Ok(mut tty) => {
                    use std::io::Write;
                    let _ = tty.write_all(message.as_bytes());
                }
                Err(_) => eprintln!("{message}"),
            }
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while client.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,1600"]
        }}}});
        let res: Value = client.post(format!("{base}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let session =
            res["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no browser session: {res}")).to_owned();
        Some(Browser { driver: child, base: format!("{base}/session/{session}"), session, client })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        assert!(v["value"].get("error").is_none(), "WebDriver {path} (session {}): {v}", self.session);
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    /// Sets the window's size (for a phone: 375 px wide; a laptop: 1280 px).
    pub async fn resize(&self, width: u32, height: u32) {
        self.call(reqwest::Method::POST, "/window/rect", Some(json!({"width": width, "height": height}))).await;
    }

    pub async fn title(&self) -> String {
        self.call(reqwest::Method::GET, "/title", None).await.as_str().unwrap_or_default().to_owned()
    }

    /// Writes a PNG of the page to `$CARGO_TARGET_DIR/screenshots/{name}.png`; returns the path.
    pub async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        use base64::Engine;
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap();
        let dir = std::path::PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
            .join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or_default().to_owned()
    }

    pub async fn script(&self, script: &str) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }

    /// Presses keys as a keyboard would (WebDriver key actions): text, or `TAB`, `ENTER`, `SPACE`.
    pub async fn press(&self, keys: &str) {
        let mut actions = Vec::new();
        for c in keys.chars() {
            actions.push(json!({"type": "keyDown", "value": c.to_string()}));
            actions.push(json!({"type": "keyUp", "value": c.to_string()}));
        }
        let body = json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]});
        self.call(reqwest::Method::POST, "/actions", Some(body)).await;
    }

    /// Presses Tab until the element with `id` has the focus (at most 60 times): it can be
    /// reached with the keyboard alone.
    pub async fn tab_to(&self, id: &str) {
        for _ in 0..60 {
            if self.script("return document.activeElement && document.activeElement.id").await == json!(id) {
                return;
            }
            self.press(TAB).await;
        }
        panic!("#{id} cannot be reached with Tab on {}", self.url().await);
    }

    /// Tabs to a button or link by its text and presses Enter.
    pub async fn tab_to_text_and_enter(&self, text: &str) {
        for _ in 0..80 {
            let focused =
                self.script("return document.activeElement ? document.activeElement.textContent.trim() : ''").await;
            if focused.as_str().is_some_and(|t| t.starts_with(text)) {
                self.press(ENTER).await;
                return;
            }
            self.press(TAB).await;
        }
        panic!("no {text:?} reachable with Tab on {}", self.url().await);
    }

    /// Checks the page: its title, no WCAG 2.2 AA violation, and screenshots at 375 and 1280 px.
    pub async fn check_page(&self, name: &str, title: &str) {
        // A page reached by a key press may still be loading: give it a moment (the browser's
        // own time, not work the test waits for).
        let mut t = self.title().await;
        for _ in 0..50 {
            let ready = self.script("return document.readyState").await == json!("complete");
            if ready && t.starts_with(title) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            t = self.title().await;
        }
        if !t.starts_with(title) {
            let main =
                self.script("return document.querySelector('main') && document.querySelector('main').innerText").await;
            panic!("{name}: title {t:?}, expected {title:?} ({}): {main}", self.url().await);
        }
        for width in [375, 1280] {
            self.resize(width, 1400).await;
            let shot = self.screenshot(&format!("{name}-{width}")).await;
            let violations = self.axe_violations().await;
            assert!(violations.is_empty(), "{name} at {width} px ({}): {violations:#?}", shot.display());
        }
    }

    /// axe-core's WCAG 2.2 A and AA violations on the page (empty: none).
    pub async fn axe_violations(&self) -> Vec<Value> {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": AXE, "args": []}))).await;
        let script = "const done = arguments[arguments.length - 1];
            axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})
               .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.map(n => n.target.join(' '))}))))
               .catch(e => done([{id: 'axe-error', help: String(e)}]));";
        let v = self.call(reqwest::Method::POST, "/execute/async", Some(json!({"script": script, "args": []}))).await;
        v.as_array().cloned().unwrap_or_default()
    }
}

/// Opens each public page in the browser: no WCAG 2.2 AA violation, and a screenshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_pages_pass_axe_in_a_real_browser() {
    let Some(browser) = Browser::start().await else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    for (name, path, title) in [
        ("home", "/", "Schemes open for applications"),
        ("scheme", "/schemes/london-imt-pilot", "London Graduate IM&T Fast Track (pilot)"),
        ("not-found", "/schemes/no-such-scheme", "Page not found"),
    ] {
        for width in [375, 1280] {
            browser.resize(width, 1400).await;
            browser.goto(&format!("http://{}{path}", app.addr)).await;
            assert!(browser.title().await.starts_with(title), "{name}: {}", browser.title().await);
            let shot = browser.screenshot(&format!("{name}-{width}")).await;
            let violations = browser.axe_violations().await;
            assert!(violations.is_empty(), "{name} at {width} px ({}): {violations:#?}", shot.display());
        }
    }
    app.stop().await;
}

/// The check itself can fail: a page with an image without alternative text, no language and
/// no title is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_reports_a_page_that_breaks_wcag() {
    let Some(browser) = Browser::start().await else { return };
    browser.goto("data:text/html,<html><body><img src='x.png'></body></html>").await;
    let ids: Vec<String> =
        browser.axe_violations().await.iter().map(|v| v["id"].as_str().unwrap_or_default().to_owned()).collect();
    for expected in ["image-alt", "html-has-lang", "document-title"] {
        assert!(ids.iter().any(|i| i == expected), "{expected} missing from {ids:?}");
    }
}

/// A graduate applies with the keyboard alone (Tab, typing, Space, Enter), makes a mistake on
/// the way, sends the application, signs in again from the emailed link, takes a timed test,
/// and withdraws; every page passes axe at 375 and 1280 px.
async fn a_graduate_applies_by_keyboard_comes_back_takes_a_test_and_withdraws(backend: Backend) {
    let Some(b) = Browser::start().await else { return };
    let app = TestApp::spawn_with(backend, crate::helpers::Options::api_only()).await;
    let base = format!("http://{}", app.addr);
    let tag = if backend == Backend::Sqlite { "sqlite" } else { "postgres" };
    b.goto(&format!("{base}/schemes/london-imt-pilot")).await;
    b.tab_to_text_and_enter("Start your application").await;
    b.check_page(&format!("{tag}-apply-tasks"), "Apply to the").await;
    b.tab_to_text_and_enter("Your details").await;

    // Details, with a mistake first.
    b.tab_to("name").await;
    b.press("Grace Hopper").await;
    b.tab_to("email").await;
    b.press("grace.example.org").await;
    b.tab_to_text_and_enter("Save and continue").await;
    b.check_page(&format!("{tag}-apply-details-error"), "Error: Your details").await;
    let summary = b.script("return document.querySelector('.nhsuk-error-summary').textContent").await;
    assert!(summary.as_str().unwrap().contains("Email address must contain"), "{summary}");
    assert_eq!(b.script("return document.getElementById('name').value").await, json!("Grace Hopper"), "kept");
    b.tab_to("email").await;
    b.script("document.getElementById('email').select()").await;
    b.press("grace@example.ac.uk").await;
    b.tab_to_text_and_enter("Save and continue").await;

    // Degree: text, radios with Space (arrow keys move within a group), a number.
    b.check_page(&format!("{tag}-apply-degree"), "Your degree").await;
    b.tab_to("university").await;
    b.press("University of Leeds").await;
    b.tab_to("degree_subject").await;
    b.press("Computer Science").await;
    b.tab_to("degree_class").await;
    b.press(SPACE).await;
    b.tab_to("degree_status").await;
    b.press(SPACE).await;
    b.tab_to("graduation_year").await;
    b.press("2026").await;
    b.tab_to_text_and_enter("Save and continue").await;

    b.check_page(&format!("{tag}-apply-right-to-work"), "Right to work").await;
    b.tab_to("right_to_work_uk").await;
    b.press(SPACE).await;
    b.tab_to_text_and_enter("Save and continue").await;

    // Streams: a select takes the first letters of an option.
    b.check_page(&format!("{tag}-apply-streams"), "Streams you want to join").await;
    b.tab_to("stream_1").await;
    b.press("A").await;
    b.tab_to_text_and_enter("Save and continue").await;

    b.check_page(&format!("{tag}-apply-assessment"), "Assessment centre dates").await;
    b.tab_to("unavailable_dates").await;
    b.press(SPACE).await;
    b.tab_to_text_and_enter("Save and continue").await;

    b.check_page(&format!("{tag}-apply-adjustments"), "Adjustments").await;
    b.tab_to("adjustments").await;
    b.press(SPACE).await;
    b.tab_to_text_and_enter("Save and continue").await;

    b.check_page(&format!("{tag}-apply-employer"), "Current employer").await;
    b.tab_to_text_and_enter("Save and continue").await;

    b.check_page(&format!("{tag}-apply-equality"), "Equality monitoring").await;
    b.tab_to("equality-sex").await;
    b.press(SPACE).await;
    b.tab_to_text_and_enter("Save and continue").await;

    b.check_page(&format!("{tag}-apply-check"), "Check your answers").await;
    b.tab_to_text_and_enter("Send application").await;
    b.check_page(&format!("{tag}-apply-sent"), "Application sent").await;
    let panel = b.script("return document.querySelector('.nhsuk-panel__body strong').textContent").await;
    let id = panel.as_str().unwrap().to_owned();

    // Signed out, then back through the emailed link.
    b.tab_to_text_and_enter("Sign out").await;
    b.check_page(&format!("{tag}-sign-in"), "Sign in to your application").await;
    app.drain().await;
    let link = crate::pages::sign_in_links(&app, "confirmation", "grace@example.ac.uk").pop().expect("a link");
    b.goto(&format!("{base}{link}")).await;
    b.check_page(&format!("{tag}-sign-in-link"), "Sign in to your application").await;
    b.tab_to_text_and_enter("Sign in").await;
    assert!(b.url().await.ends_with(&format!("/applications/{id}")), "{}", b.url().await);
    b.check_page(&format!("{tag}-application"), "Your application").await;

    // A timed test: a clear warning, the deadline, the answers.
    b.tab_to_text_and_enter("Go to your tests").await;
    b.check_page(&format!("{tag}-tests"), "Your online tests").await;
    let first = b.script("return document.querySelector('.nhsuk-task-list__link').textContent.trim()").await;
    b.tab_to_text_and_enter(first.as_str().unwrap()).await;
    b.check_page(&format!("{tag}-test-start"), "").await;
    let warning = b.script("return document.body.textContent.includes('This test is timed')").await;
    assert_eq!(warning, json!(true), "a timed test warns before it starts");
    b.tab_to_text_and_enter("Start the test").await;
    b.check_page(&format!("{tag}-test"), "").await;
    let countdown = b.script("return document.querySelector('[data-countdown]').textContent").await;
    assert!(countdown.as_str().unwrap().contains("left"), "the countdown runs: {countdown}");
    b.tab_to("question-1").await;
    b.press(SPACE).await;
    b.tab_to_text_and_enter("Send my answers").await;
    b.check_page(&format!("{tag}-tests-after"), "Your online tests").await;
    let done = b.script("return document.querySelector('.nhsuk-task-list__status').textContent.trim()").await;
    assert_eq!(done, json!("Done"));

    // Withdraw, with a confirmation step.
    b.goto(&format!("{base}/applications/{id}/withdraw")).await;
    b.check_page(&format!("{tag}-withdraw"), "Withdraw your application").await;
    b.tab_to("confirm").await;
    b.press(SPACE).await;
    b.tab_to_text_and_enter("Withdraw application").await;
    b.check_page(&format!("{tag}-withdrawn"), "Your application").await;
    let status: String = sqlx::query_scalar("SELECT status FROM applications WHERE id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(status, "withdrawn");

    // Then asks for their details to be deleted, by keyboard, with a confirmation.
    b.tab_to_text_and_enter("Ask us to delete your details").await;
    b.check_page(&format!("{tag}-delete"), "Delete your details").await;
    b.tab_to("confirm").await;
    b.press(SPACE).await;
    b.tab_to_text_and_enter("Delete my details").await;
    b.check_page(&format!("{tag}-deleted"), "Your details have been deleted").await;
    let erased: Option<i64> = sqlx::query_scalar("SELECT erased_at FROM applications WHERE id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(erased.is_some());
    app.stop().await;
}

/// The assessment-centre pages: the seat offered, its answer buttons and the decline
/// confirmation pass axe, and declining by keyboard frees the seat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_reads_their_seat_and_declines_it_by_keyboard() {
    let Some(b) = Browser::start().await else { return };
    let app = TestApp::spawn_with(Backend::Sqlite, crate::helpers::Options::api_only()).await;
    let recruiter = app.token(fasttrack_core::Role::Recruiter).await;
    let (id, _) = crate::centres::one_booked_candidate(&app, &recruiter).await;
    let link = crate::pages::sign_in_links(&app, "ac_invitation", &id).pop().expect("a link");
    b.goto(&format!("http://{}{link}", app.addr)).await;
    b.tab_to_text_and_enter("Sign in").await;
    assert!(b.url().await.ends_with("/booking"), "{}", b.url().await);
    b.check_page("booking", "Your assessment centre").await;
    let text = b.script("return document.querySelector('main').textContent").await;
    assert!(text.as_str().unwrap().contains("Add to your calendar"), "{text}");
    b.tab_to_text_and_enter("Decline this seat").await;
    b.check_page("booking-decline-confirm", "Are you sure you want to decline").await;
    b.tab_to_text_and_enter("Yes, decline my seat").await;
    b.check_page("booking-declined", "Your assessment centre").await;
    let state: String = sqlx::query_scalar("SELECT state FROM bookings WHERE application_id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(state, "declined");
    app.stop().await;
}

/// A candidate accepts their seat, is assessed and offered a place, and accepts the offer,
/// all by keyboard through the emailed links; each page passes axe.
async fn a_candidate_accepts_a_seat_and_then_an_offer_by_keyboard(backend: Backend) {
    let Some(b) = Browser::start().await else { return };
    let app = TestApp::spawn_with(backend, crate::helpers::Options::api_only()).await;
    let tag = if backend == Backend::Sqlite { "sqlite" } else { "postgres" };
    let recruiter = app.token(fasttrack_core::Role::Recruiter).await;
    let (id, _) = crate::centres::one_booked_candidate_in(&app, &recruiter, crate::centres::one_place()).await;
    let link = crate::pages::sign_in_links(&app, "ac_invitation", &id).pop().expect("a link");
    b.goto(&format!("http://{}{link}", app.addr)).await;
    b.tab_to_text_and_enter("Sign in").await;
    b.check_page(&format!("{tag}-booking-to-accept"), "Your assessment centre").await;
    b.tab_to_text_and_enter("Accept this seat").await;
    b.check_page(&format!("{tag}-booking-accepted"), "Your assessment centre").await;
    let state: String = sqlx::query_scalar("SELECT state FROM bookings WHERE application_id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(state, "accepted");

    crate::centres::assess_and_offer(&app, &recruiter, &id).await;
    let link = crate::pages::sign_in_links(&app, "offer", &id).pop().expect("an offer email with a link");
    b.goto(&format!("http://{}{link}", app.addr)).await;
    b.tab_to_text_and_enter("Sign in").await;
    assert!(b.url().await.ends_with("/offer"), "{}", b.url().await);
    b.check_page(&format!("{tag}-offer"), "Your offer").await;
    let main = b.script("return document.querySelector('main').textContent").await;
    let main = main.as_str().unwrap();
    for shown in ["Leeds Teaching Hospitals", "Acute", "Monday 6 September 2027", "Waiting for your answer"] {
        assert!(main.contains(shown), "{shown} missing: {main}");
    }
    b.tab_to_text_and_enter("Accept the offer").await;
    b.check_page(&format!("{tag}-offer-confirm"), "Are you sure you want to accept this offer?").await;
    b.tab_to_text_and_enter("Yes, accept the offer").await;
    b.check_page(&format!("{tag}-offer-accepted"), "Your offer").await;
    let answer = b.script("return document.querySelector('.nhsuk-summary-list').textContent").await;
    assert!(answer.as_str().unwrap().contains("Accepted"), "{answer}");
    let state: String = sqlx::query_scalar("SELECT state FROM offers WHERE application_id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(state, "accepted");
    app.stop().await;
}

/// Asks for a staff sign-in link on the page, by keyboard, and follows the emailed link.
async fn staff_sign_in(b: &Browser, app: &TestApp, email: &str, tag: &str) {
    let base = format!("http://{}", app.addr);
    b.goto(&format!("{base}/staff/sign-in")).await;
    b.check_page(&format!("{tag}-staff-sign-in"), "Staff sign in").await;
    b.tab_to("email").await;
    b.press(email).await;
    b.press(ENTER).await;
    b.check_page(&format!("{tag}-staff-check-email"), "Check your email").await;
    app.drain().await;
    let link = crate::staff::staff_links(app, email).pop().expect("a staff sign-in email");
    b.goto(&format!("{base}{link}")).await;
    b.check_page(&format!("{tag}-staff-sign-in-link"), "Staff sign in").await;
    b.tab_to_text_and_enter("Sign in").await;
    // Signed in once the browser has followed the redirect away from the link.
    for _ in 0..100 {
        let url = b.url().await;
        if !url.contains("/staff/sign-in/") && b.script("return document.readyState").await == json!("complete") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("signing in never left {}", b.url().await);
}

/// Waits (at most 30 s) for the page's title to start with `title`: a page that changes by
/// itself, such as a job's progress.
async fn wait_for_title(b: &Browser, title: &str) {
    for _ in 0..300 {
        if b.title().await.starts_with(title) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the title never became {title:?}: {}", b.title().await);
}

/// Waits (at most 10 s) for the page's main content to contain `text` (after a form that
/// comes back to the same page).
async fn wait_for_text(b: &Browser, text: &str) {
    for _ in 0..100 {
        let main =
            b.script("return document.querySelector('main') ? document.querySelector('main').innerText : ''").await;
        if main.as_str().is_some_and(|m| m.contains(text)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{text:?} never showed on {}", b.url().await);
}

/// A recruiter signs in from the emailed link, finds an applicant by name, opens them, runs
/// the sift and watches its progress to the end, and opens a session; an assessor scores a
/// sheet in two parts; an admin revokes a token and it stops working. By keyboard, and every
/// page passes axe.
async fn staff_run_a_scheme_in_pages_by_keyboard(backend: Backend) {
    let Some(b) = Browser::start().await else { return };
    let app = TestApp::spawn_with(backend, crate::helpers::Options::api_only()).await;
    let tag = if backend == Backend::Sqlite { "sqlite" } else { "postgres" };
    let base = format!("http://{}", app.addr);
    let recruiter = app.token(fasttrack_core::Role::Recruiter).await;
    let admin = app.token(fasttrack_core::Role::Admin).await;
    let mut extra = crate::centres::one_place();
    extra["tests"] = json!([crate::centres::quiz()]);
    let (id, applicant) = crate::centres::one_booked_candidate_in(&app, &recruiter, extra).await;
    let res = app.post_json(&format!("/api/v1/applications/{id}/booking/accept"), Some(&applicant), &json!({})).await;
    assert_eq!(res.status(), 200);
    for (email, name, role, assessor) in [
        ("priya.shah@nhs.example", "Priya Shah", "recruiter", ""),
        ("ada.okafor@nhs.example", "Dr Ada Okafor", "assessor", "soon:as-one"),
        ("sam.admin@nhs.example", "Sam Admin", "admin", ""),
    ] {
        let body = json!({"email": email, "name": name, "role": role, "assessor": assessor});
        let res = app.post_json("/api/v1/admin/staff", Some(&admin), &body).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    }

    // The recruiter.
    staff_sign_in(&b, &app, "priya.shah@nhs.example", tag).await;
    b.check_page(&format!("{tag}-staff-home"), "Schemes").await;
    b.tab_to_text_and_enter("Soon scheme").await;
    b.check_page(&format!("{tag}-staff-dashboard"), "Soon scheme").await;
    b.tab_to_text_and_enter("See and search every applicant").await;
    b.check_page(&format!("{tag}-staff-applicants"), "Applicants").await;
    b.tab_to("q").await;
    b.press("lovelace").await;
    b.press(ENTER).await;
    b.check_page(&format!("{tag}-staff-applicants-found"), "Applicants").await;
    b.tab_to_text_and_enter("Ada Lovelace").await;
    b.check_page(&format!("{tag}-staff-applicant"), "Ada Lovelace").await;
    let main = b.script("return document.querySelector('main').textContent").await;
    assert!(main.as_str().unwrap().contains("Key v1, norms norm-1"), "{main}");
    b.goto(&format!("{base}/staff/schemes/soon")).await;
    b.tab_to_text_and_enter("Run the sift").await;
    wait_for_title(&b, "Run the sift").await;
    b.check_page(&format!("{tag}-staff-job-waiting"), "Run the sift: Waiting to start").await;
    app.drain().await;
    // The page follows the job by itself (its script polls) and shows the result.
    wait_for_title(&b, "Run the sift: Finished").await;
    b.check_page(&format!("{tag}-staff-job-done"), "Run the sift: Finished").await;
    b.goto(&format!("{base}/staff/schemes/soon/centres")).await;
    b.check_page(&format!("{tag}-staff-centres"), "Assessment centres").await;
    b.tab_to_text_and_enter("am, 09:00").await;
    b.check_page(&format!("{tag}-staff-session"), "Leeds centre").await;
    // A page of another role: refused, as a page.
    b.goto(&format!("{base}/staff/admin/staff")).await;
    b.check_page(&format!("{tag}-staff-forbidden"), "You do not have access to this page").await;
    b.tab_to_text_and_enter("Go to your staff pages").await;
    b.check_page(&format!("{tag}-staff-home-again"), "Schemes").await;
    b.tab_to_text_and_enter("Sign out").await;
    b.check_page(&format!("{tag}-staff-signed-out"), "Staff sign in").await;

    // The assessor, once the session has started: the sheet in two parts.
    app.advance(jiff::SignedDuration::from_hours(24 * 6));
    staff_sign_in(&b, &app, "ada.okafor@nhs.example", tag).await;
    b.check_page(&format!("{tag}-assessor-sessions"), "Assessment sessions").await;
    b.tab_to_text_and_enter("Leeds centre").await;
    b.tab_to_text_and_enter("Ada Lovelace").await;
    b.check_page(&format!("{tag}-assessor-sheet"), "Score sheet: Ada Lovelace").await;
    b.tab_to("s-0-0-1").await;
    b.press("\u{E014}\u{E014}").await; // arrow right twice: 3
    b.tab_to_text_and_enter("Save").await;
    wait_for_text(&b, "You can finish the rest of the sheet later").await;
    b.check_page(&format!("{tag}-assessor-sheet-part"), "Score sheet").await;
    b.tab_to("overall").await;
    b.press(SPACE).await;
    b.tab_to_text_and_enter("Save").await;
    wait_for_text(&b, "The sheet is complete").await;
    b.check_page(&format!("{tag}-assessor-sheet-done"), "Score sheet").await;
    let score: i64 = sqlx::query_scalar("SELECT score FROM ac_scores WHERE application_id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(score, 3);
    b.tab_to_text_and_enter("Sign out").await;
    wait_for_title(&b, "Staff sign in").await;

    // The admin revokes a program's token.
    let made = app
        .post_json("/api/v1/admin/tokens", Some(&admin), &json!({"role": "recruiter", "name": "Nightly export"}))
        .await;
    let token = made.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/sessions", Some(&token)).await.status(), 200);
    staff_sign_in(&b, &app, "sam.admin@nhs.example", tag).await;
    b.goto(&format!("{base}/staff/admin/staff")).await;
    b.check_page(&format!("{tag}-admin-staff"), "Staff accounts").await;
    b.goto(&format!("{base}/staff/admin/emails")).await;
    b.check_page(&format!("{tag}-admin-emails"), "Failed emails").await;
    b.goto(&format!("{base}/staff/admin/tokens")).await;
    b.check_page(&format!("{tag}-admin-tokens"), "API tokens").await;
    b.tab_to_text_and_enter("Revoke").await;
    wait_for_text(&b, "The token is revoked").await;
    b.check_page(&format!("{tag}-admin-token-revoked"), "API tokens").await;
    assert_eq!(app.get("/api/v1/sessions", Some(&token)).await.status(), 401, "the revoked token stops working");
    app.stop().await;
}

/// An HR lead signs in, opens the scheme's report, the funnel by ethnicity and the equality
/// report; the tables hold the API's figures, a hidden cell is `[c]` with no bar; axe passes.
async fn hr_reads_the_funnel_and_the_equality_report_by_keyboard(backend: Backend) {
    let Some(b) = Browser::start().await else { return };
    let app = TestApp::spawn(backend).await;
    let tag = if backend == Backend::Sqlite { "sqlite" } else { "postgres" };
    let base = format!("http://{}", app.addr);
    let recruiter = app.token(fasttrack_core::Role::Recruiter).await;
    let admin = app.token(fasttrack_core::Role::Admin).await;
    let hr = app.token(fasttrack_core::Role::Hr).await;
    let res = app.post_json("/api/v1/schemes", Some(&recruiter), &crate::metrics::scheme("guarded", 5)).await;
    assert_eq!(res.status(), 201);
    let (w, a, n) = (Some("white_irish"), Some("asian_pakistani"), Some("black_caribbean"));
    let people = [
        (w, true),
        (w, true),
        (w, true),
        (w, true),
        (w, true),
        (w, true),
        (w, true),
        (a, true),
        (a, true),
        (a, false),
        (n, true),
    ];
    crate::metrics::cohort(&app, "guarded", &people).await;
    let body = json!({"email": "hr.lead@nhs.example", "name": "Hana Reid", "role": "hr"});
    assert_eq!(app.post_json("/api/v1/admin/staff", Some(&admin), &body).await.status(), 201);

    staff_sign_in(&b, &app, "hr.lead@nhs.example", tag).await;
    b.check_page(&format!("{tag}-hr-home"), "Schemes").await;
    b.tab_to_text_and_enter("Metrics guarded").await;
    b.check_page(&format!("{tag}-hr-report"), "Report").await;
    b.tab_to_text_and_enter("The funnel by any characteristic").await;
    b.check_page(&format!("{tag}-hr-funnel-groups"), "Funnel").await;
    b.goto(&format!("{base}/staff/schemes/guarded/report/funnel?by=ethnicity")).await;
    b.check_page(&format!("{tag}-hr-funnel-ethnicity"), "Funnel").await;
    let api: Value =
        app.get("/api/v1/schemes/guarded/metrics/funnel?by=ethnicity", Some(&hr)).await.json().await.unwrap();
    let table = b
        .script(
            "return [...document.querySelectorAll('table.nhsuk-table tbody tr')].map(r => \
             [...r.querySelectorAll('td')].map(c => c.textContent.trim().split(' ')[0]))",
        )
        .await;
    let rows = api["funnel"]["rows"].as_array().unwrap();
    let page_rows = table.as_array().unwrap();
    assert_eq!(page_rows.len(), rows.len() + 1, "a row per category and the total");
    let mut hidden = 0;
    for (row, shown) in rows.iter().zip(page_rows) {
        let want: Vec<String> = row["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| match c {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                _ => "–".into(),
            })
            .collect();
        hidden += want.iter().filter(|c| *c == "[c]").count();
        let got: Vec<String> = shown.as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
        assert_eq!(got, want, "{}", row["category"]);
    }
    assert!(hidden > 0, "some cell is suppressed: {api}");
    let bars = b.script("return document.querySelectorAll('svg.ft-chart rect.bar').length").await;
    let shown: usize =
        rows.iter().map(|r| r["percents"].as_array().unwrap().iter().filter(|p| p.is_number()).count()).sum();
    assert_eq!(bars, json!(shown), "no bar for a hidden cell");

    b.goto(&format!("{base}/staff/schemes/guarded/report/equality?from=submitted&to=tests_invited&by=white_bme")).await;
    b.check_page(&format!("{tag}-hr-equality"), "Equality of selection").await;
    let api: Value = app
        .get("/api/v1/schemes/guarded/metrics/equality?from=submitted&to=tests_invited&by=white_bme", Some(&hr))
        .await
        .json()
        .await
        .unwrap();
    let considered = b
        .script("return [...document.querySelectorAll('table.nhsuk-table')[0].querySelectorAll('tbody tr')].map(r => r.querySelector('td').textContent.trim())")
        .await;
    let want: Vec<String> = api["equality"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| match &g["considered"] {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            _ => "–".into(),
        })
        .collect();
    assert_eq!(considered, json!(want));
    b.goto(&format!("{base}/staff/schemes/guarded/report/print")).await;
    b.check_page(&format!("{tag}-hr-print"), "Report to print").await;

    // Surveys: the list with its form, and a crossed survey's tables.
    let made = app
        .post_json("/api/v1/surveys", Some(&hr), &json!({
            "title": "GMTS experience",
            "questions": [{"id": "q1", "text": "I would recommend the scheme", "options": ["Agree", "Neither", "Disagree"]}],
            "groups": [{"id": "specialism", "name": "Specialism", "options": ["Finance", "HR"]},
                       {"id": "cohort", "name": "Cohort", "options": ["Current", "Alumni"]}],
            "crossings": [["specialism", "cohort"]]}))
        .await;
    let id = made.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let responses: Vec<Value> = (0..30)
        .map(|i| {
            let (s, c, a) =
                (["Finance", "HR"][i % 2], ["Current", "Alumni"][(i / 2) % 2], ["Agree", "Neither", "Disagree"][i % 3]);
            json!({"groups": {"specialism": s, "cohort": c}, "answers": {"q1": a}})
        })
        .collect();
    app.post_json(&format!("/api/v1/surveys/{id}/responses"), Some(&hr), &Value::Array(responses)).await;
    b.goto(&format!("{base}/staff/surveys")).await;
    b.check_page(&format!("{tag}-hr-surveys"), "Surveys").await;
    b.tab_to_text_and_enter("GMTS experience").await;
    b.check_page(&format!("{tag}-hr-survey"), "GMTS experience").await;
    app.stop().await;
}

crate::both_backends!(
    hr_reads_the_funnel_and_the_equality_report_by_keyboard,
    a_graduate_applies_by_keyboard_comes_back_takes_a_test_and_withdraws,
    a_candidate_accepts_a_seat_and_then_an_offer_by_keyboard,
    staff_run_a_scheme_in_pages_by_keyboard
);
