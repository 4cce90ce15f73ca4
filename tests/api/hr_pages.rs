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

/// A survey defined on the page, with a crossing; its tables as the study printed them, the
/// crossed one nested by its first grouping, hidden counts as `[c]`, and the API's CSV.
async fn a_survey_is_defined_in_pages_and_its_crossed_tables_are_protected_together(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let hr = signed_in(&app, Role::Hr, None).await;
    let token = app.token(Role::Hr).await;
    let list = hr.get("/staff/surveys").await;
    assert_eq!(list.status, 200);
    let fields = |crossings: &'static str| {
        vec![
            ("survey-title", "GMTS experience"),
            ("survey-questions", "q1 | I would recommend the scheme | Agree; Neither; Disagree"),
            ("survey-groups", "specialism | Specialism | Finance; HR\ncohort | Cohort | Current; Alumni"),
            ("survey-crossings", crossings),
            ("survey-threshold", "5"),
        ]
    };
    let wrong = hr.post("/staff/surveys", &fields("specialism × planet")).await;
    assert_eq!(wrong.status, 422);
    assert_eq!(wrong.errors().len(), 1, "{:?}", wrong.errors());
    assert!(wrong.html.contains("I would recommend the scheme"), "what was typed is kept");
    let made = hr.post("/staff/surveys", &fields("specialism × cohort")).await;
    assert_eq!(made.status, 303, "{:?}", made.errors());
    let path = made.location.unwrap();
    let id = path.trim_start_matches("/staff/surveys/").to_owned();

    // Every group and answer with five or more: everything shows.
    let respond = async |cells: &[(&str, &str, &str, usize)]| {
        let mut responses = Vec::new();
        for (s, c, a, n) in cells {
            for _ in 0..*n {
                responses.push(serde_json::json!({"groups": {"specialism": s, "cohort": c}, "answers": {"q1": a}}));
            }
        }
        let res =
            app.post_json(&format!("/api/v1/surveys/{id}/responses"), Some(&token), &Value::Array(responses)).await;
        assert_eq!(res.status(), 201);
    };
    respond(&[
        ("Finance", "Current", "Agree", 12),
        ("Finance", "Current", "Neither", 6),
        ("Finance", "Current", "Disagree", 7),
        ("Finance", "Alumni", "Agree", 8),
        ("Finance", "Alumni", "Neither", 5),
        ("Finance", "Alumni", "Disagree", 5),
        ("HR", "Current", "Agree", 9),
        ("HR", "Current", "Neither", 10),
        ("HR", "Current", "Disagree", 6),
        ("HR", "Alumni", "Agree", 8),
        ("HR", "Alumni", "Neither", 7),
        ("HR", "Alumni", "Disagree", 9),
    ])
    .await;
    let api: Value = app.get(&format!("/api/v1/surveys/{id}/tables"), Some(&token)).await.json().await.unwrap();
    let tables = api["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 3);
    assert_eq!(tables[2]["by"], "Specialism × Cohort");
    assert_eq!(tables[2]["rows"][0]["within"], "Finance");
    assert_eq!(tables[2]["rows"][0]["cells"][0]["n"], 12);
    let page = hr.get(&path).await;
    assert_eq!(page.status, 200);
    let seen = text(&page);
    assert!(seen.contains("I would recommend the scheme: by Specialism × Cohort"), "{seen}");
    assert!(
        seen.contains("Finance Current 12 (48%) 6 (24%) 7 (28%) 25 Alumni 8 (44%) 5 (28%) 5 (28%) 18"),
        "nested rows, n (p%): {seen}"
    );
    assert!(page.html.contains("rowspan=\"2\""), "the first grouping spans its rows");
    assert!(seen.contains("Total Finance 20 (47%) 11 (26%) 12 (28%) 43 HR"), "{seen}");

    // Three fewer finance alumni who disagree would be two: a small count, hidden with what
    // would give it away, in every table of the question.
    let later = app.post_json("/api/v1/surveys", Some(&token), &serde_json::json!({
        "title": "GMTS experience (small)",
        "questions": [{"id": "q1", "text": "I would recommend the scheme", "options": ["Agree", "Neither", "Disagree"]}],
        "groups": [{"id": "specialism", "name": "Specialism", "options": ["Finance", "HR"]},
                   {"id": "cohort", "name": "Cohort", "options": ["Current", "Alumni"]}],
        "crossings": [["specialism", "cohort"]]})).await;
    let small: Value = later.json().await.unwrap();
    let small_id = small["id"].as_str().unwrap().to_owned();
    let mut responses = Vec::new();
    for (s, c, a, n) in [
        ("Finance", "Current", "Agree", 12),
        ("Finance", "Current", "Disagree", 7),
        ("Finance", "Alumni", "Disagree", 2),
        ("HR", "Current", "Agree", 9),
        ("HR", "Alumni", "Disagree", 9),
    ] {
        for _ in 0..n {
            responses.push(serde_json::json!({"groups": {"specialism": s, "cohort": c}, "answers": {"q1": a}}));
        }
    }
    app.post_json(&format!("/api/v1/surveys/{small_id}/responses"), Some(&token), &Value::Array(responses)).await;
    let api: Value = app.get(&format!("/api/v1/surveys/{small_id}/tables"), Some(&token)).await.json().await.unwrap();
    assert_eq!(api["tables"][2]["rows"][1]["cells"][2]["n"], "[c]", "2 finance alumni disagree");
    let page = hr.get(&format!("/staff/surveys/{small_id}")).await;
    let seen = text(&page);
    let hidden_in_api = api.to_string().matches("\"[c]\"").count();
    assert!(hidden_in_api > 0);
    assert!(seen.matches("[c]").count() >= hidden_in_api / 2, "hidden counts are [c] on the page: {seen}");
    assert!(seen.contains("Disclosure control:"), "{seen}");
    let csv = hr.get(&format!("{path}/tables.csv")).await;
    assert_eq!(csv.status, 200);
    assert!(csv.html.contains("Finance: Current"), "{}", csv.html);
    let listed = hr.get("/staff/surveys").await;
    assert!(text(&listed).contains("GMTS experience 92"), "{}", text(&listed));
    app.stop().await;
}

both_backends!(
    hr_pages_show_the_apis_figures_and_hide_what_it_hides,
    a_survey_is_defined_in_pages_and_its_crossed_tables_are_protected_together
);
