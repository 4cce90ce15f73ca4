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
