//! The HR pages (SPEC §3, §7) over HTTP: the figures on the page are the API's, a hidden
//! cell is `[c]` in the table and has no mark in the chart, the CSV is the API's, and the
//! charts are valid SVG with a title.

use fasttrack_core::Role;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::staff::{signed_in, text};

/// The SVG charts of a page, parsed.
fn charts(html: &str) -> Vec<String> {
    html.split("<svg")
        .skip(1)
        .filter(|s| s.contains("class=\"ft-chart\"") && s.find("class=\"ft-chart\"") < s.find('>'))
        .map(|s| format!("<svg{}</svg>", s.split("</svg>").next().unwrap()))
        .collect()
}

/// The `[c]`-aware text of a figure as the page prints it.
fn figure(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => "–".into(),
    }
}

async fn hr_pages_show_the_apis_figures_and_hide_what_it_hides(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let recruiter = app.token(Role::Recruiter).await;
    let hr_token = app.token(Role::Hr).await;
    let res = app.post_json("/api/v1/schemes", Some(&recruiter), &crate::metrics::scheme("guarded", 5)).await;
    assert_eq!(res.status(), 201);
    let (w, a) = (Some("white_irish"), Some("asian_pakistani"));
    let people =
        [(w, true), (w, true), (w, true), (w, true), (w, true), (w, true), (w, true), (a, true), (a, true), (a, false)];
    crate::metrics::cohort(&app, "guarded", &people).await;
    let hr = signed_in(&app, Role::Hr, None).await;

    // The funnel: the table holds the API's counts; the chart draws only what is shown.
    let api: Value =
        app.get("/api/v1/schemes/guarded/metrics/funnel?by=white_bme", Some(&hr_token)).await.json().await.unwrap();
    let page = hr.get("/staff/schemes/guarded/report/funnel?by=white_bme").await;
    assert_eq!(page.status, 200);
    let seen = text(&page);
    for row in api["funnel"]["rows"].as_array().unwrap() {
        let label = crate::staff::category_words(row["category"].as_str().unwrap());
        let cells: Vec<String> = row["counts"]
            .as_array()
            .unwrap()
            .iter()
            .zip(row["percents"].as_array().unwrap())
            .map(|(n, p)| match (n, p) {
                (Value::Number(_), Value::Number(p)) => format!("{} ({:.1}%)", figure(n), p.as_f64().unwrap()),
                _ => figure(n),
            })
            .collect();
        let expected = format!("{label} {}", cells.join(" "));
        assert!(seen.contains(&expected), "{expected:?} in {seen}");
    }
    let bme = api["funnel"]["rows"].as_array().unwrap().iter().find(|r| r["category"] == "bme").unwrap();
    assert_eq!(bme["counts"][0], "[c]", "three BME applicants are too few to show");
    let svgs = charts(&page.html);
    assert_eq!(svgs.len(), 1);
    let doc = roxmltree::Document::parse(&svgs[0]).expect("the chart is XML");
    let title = doc.root_element().children().find(|n| n.has_tag_name("title")).and_then(|t| t.text()).unwrap();
    assert!(title.starts_with("White and BME"), "{title}");
    let shown: usize = api["funnel"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["percents"].as_array().unwrap().iter().filter(|p| p.is_number()).count())
        .sum();
    let bars: Vec<_> = doc.descendants().filter(|n| n.attribute("class") == Some("bar")).collect();
    assert_eq!(bars.len(), shown, "one bar per shown share");
    assert!(
        !bars.iter().any(|b| b.descendants().any(|t| t.text().is_some_and(|t| t.starts_with("Black, Asian")))),
        "no bar for a hidden group"
    );
    assert!(seen.contains("Disclosure control: counts from 1 to 4 are shown as [c]"), "{seen}");

    // The CSV under the table is the API's.
    let csv = hr.get("/staff/schemes/guarded/report/csv/funnel?by=white_bme").await;
    let want = app
        .client
        .get(app.url("/api/v1/schemes/guarded/metrics/funnel?by=white_bme"))
        .bearer_auth(&hr_token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.html, want);

    // Equality: the API's rates, and the flag and readings in words.
    let api: Value = app
        .get("/api/v1/schemes/guarded/metrics/equality?from=submitted&to=tests_invited&by=sex", Some(&hr_token))
        .await
        .json()
        .await
        .unwrap();
    let page = hr.get("/staff/schemes/guarded/report/equality?from=submitted&to=tests_invited&by=sex").await;
    assert_eq!(page.status, 200);
    let seen = text(&page);
    for g in api["equality"]["groups"].as_array().unwrap() {
        if let Some(rate) = g["selection_rate"].as_f64() {
            assert!(seen.contains(&format!("{:.1}%", rate * 100.0)), "{g} in {seen}");
        }
    }
    assert!(seen.contains("WRES indicator 2") && seen.contains("WDES metric 2"), "{seen}");
    let svgs = charts(&page.html);
    assert_eq!(svgs.len(), 1);
    roxmltree::Document::parse(&svgs[0]).expect("the likelihood chart is XML");

    // The report home, the printable report, and a wrong choice.
    let home = hr.get("/staff/schemes/guarded/report").await;
    assert_eq!(home.status, 200);
    assert!(text(&home).contains("BME applicants' impact ratio at each step"), "{}", text(&home));
    let print = hr.get("/staff/schemes/guarded/report/print").await;
    assert_eq!(print.status, 200);
    assert!(print.html.contains("fasttrack-print-1.css"));
    let bad = hr.get("/staff/schemes/guarded/report/funnel?by=height").await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.errors().len(), 1, "{:?}", bad.errors());
    let recruiter_page = signed_in(&app, Role::Recruiter, None).await;
    assert_eq!(recruiter_page.get("/staff/schemes/guarded/report").await.status, 403);
    app.stop().await;
}

both_backends!(hr_pages_show_the_apis_figures_and_hide_what_it_hides);
