//! Surveys end to end: define, enter responses, read "n (p%)" tables with
//! disclosure control, as JSON and CSV.

use fasttrack_core::Role;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

async fn survey_tables_match_a_hand_calculation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let hr = app.token(Role::Hr).await;
    let def = json!({
        "title": "GMTS experience and retention",
        "disclosure_threshold": 3,
        "questions": [{"id": "expectations", "text": "The scheme met my expectations",
                       "options": ["Agree", "Neither", "Disagree"]}],
        "groups": [
            {"id": "specialism", "name": "Specialism", "options": ["Finance", "Human resources"]},
            {"id": "cohort", "name": "Cohort", "options": ["Current trainee", "Alumni under 2 years"]}
        ]
    });
    let res = app.post_json("/api/v1/surveys", Some(&hr), &def).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

    // Finance: 6 agree, 3 neither, 3 disagree (12). Human resources: 5 agree, 4 neither, 0 disagree (9).
    let mut responses = Vec::new();
    for (spec, answer, n) in [
        ("Finance", "Agree", 6),
        ("Finance", "Neither", 3),
        ("Finance", "Disagree", 3),
        ("Human resources", "Agree", 5),
        ("Human resources", "Neither", 4),
    ] {
        for i in 0..n {
            let cohort = if i % 2 == 0 { "Current trainee" } else { "Alumni under 2 years" };
            responses
                .push(json!({"groups": {"specialism": spec, "cohort": cohort}, "answers": {"expectations": answer}}));
        }
    }
    let res = app.post_json(&format!("/api/v1/surveys/{id}/responses"), Some(&hr), &Value::Array(responses)).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.json::<Value>().await.unwrap()["stored"], 21);

    let bad = json!({"groups": {"specialism": "Astrology", "cohort": "Current trainee"}, "answers": {"expectations": "Maybe"}});
    let res = app.post_json(&format!("/api/v1/surveys/{id}/responses"), Some(&hr), &bad).await;
    assert_eq!(res.status(), 422);

    let body: Value = app.get(&format!("/api/v1/surveys/{id}/tables"), Some(&hr)).await.json().await.unwrap();
    let by_spec = body["tables"].as_array().unwrap().iter().find(|t| t["by"] == "Specialism").unwrap();
    let finance = &by_spec["rows"][0];
    assert_eq!(finance["group"], "Finance");
    // 6/12 = 50%, 3/12 = 25%, 3/12 = 25%; row total 12.
    assert_eq!(finance["cells"][0], json!({"n": 6, "percent": 50}));
    assert_eq!(finance["cells"][1], json!({"n": 3, "percent": 25}));
    assert_eq!(finance["total"], 12);
    let hr_row = &by_spec["rows"][1];
    // 5/9 = 55.6% → 56, 4/9 = 44.4% → 44, and a zero is shown as 0 (0%).
    assert_eq!(hr_row["cells"][0], json!({"n": 5, "percent": 56}));
    assert_eq!(hr_row["cells"][2], json!({"n": 0, "percent": 0}));
    assert_eq!(by_spec["all"]["total"], 21);

    // By cohort, small cells (1–2) are hidden with their percentages.
    let by_cohort = body["tables"].as_array().unwrap().iter().find(|t| t["by"] == "Cohort").unwrap();
    let alumni = &by_cohort["rows"][1];
    // Alumni: Finance agree 3, neither 1, disagree 1; HR agree 2, neither 2 → agree 5, neither 3, disagree 1.
    assert_eq!(alumni["cells"][2]["n"], "[c]");
    assert_eq!(alumni["cells"][2]["percent"], "[c]");
    let hidden = alumni["cells"].as_array().unwrap().iter().filter(|c| c["n"] == "[c]").count()
        + usize::from(alumni["total"] == "[c]");
    assert!(hidden >= 2, "{alumni}");

    let csv = app
        .client
        .get(app.url(&format!("/api/v1/surveys/{id}/tables")))
        .bearer_auth(&hr)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    let text = csv.text().await.unwrap();
    assert!(text.contains("Finance,6 (50%),3 (25%),3 (25%),12"), "{text}");
    assert!(text.contains("Human resources,5 (56%),4 (44%),0 (0%),9"), "{text}");

    let recruiter = app.token(Role::Recruiter).await;
    assert_eq!(app.get(&format!("/api/v1/surveys/{id}/tables"), Some(&recruiter)).await.status(), 403);
    app.stop().await;
}

async fn a_hidden_count_cannot_be_worked_out_across_groupings(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let hr = app.token(Role::Hr).await;
    let def = json!({
        "title": "Retention",
        "questions": [{"id": "expectations", "text": "The scheme met my expectations",
                       "options": ["Agree", "Neither", "Disagree"]}],
        "groups": [
            {"id": "specialism", "name": "Specialism", "options": ["Finance", "Human resources"]},
            {"id": "cohort", "name": "Cohort", "options": ["Current trainee", "Alumni"]}
        ]
    });
    let res = app.post_json("/api/v1/surveys", Some(&hr), &def).await;
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    // By specialism: Finance 7, 11, 0; HR 10, 4, 4. By cohort: current 4, 6, 0; alumni 13, 9, 4.
    // Protected apart, one table showed "All: Agree 17", the other "All: Neither 15", each with
    // 36 in all: 36 − 17 − 15 = 4 disagree, all of them in HR (Finance shows 0).
    let mut responses = Vec::new();
    for (spec, cohort, answers) in [
        ("Finance", "Current trainee", [2, 3, 0]),
        ("Finance", "Alumni", [5, 8, 0]),
        ("Human resources", "Current trainee", [2, 3, 0]),
        ("Human resources", "Alumni", [8, 1, 4]),
    ] {
        for (answer, n) in ["Agree", "Neither", "Disagree"].iter().zip(answers) {
            for _ in 0..n {
                responses.push(
                    json!({"groups": {"specialism": spec, "cohort": cohort}, "answers": {"expectations": answer}}),
                );
            }
        }
    }
    let res = app.post_json(&format!("/api/v1/surveys/{id}/responses"), Some(&hr), &Value::Array(responses)).await;
    assert_eq!(res.json::<Value>().await.unwrap()["stored"], 36);
    let body: Value = app.get(&format!("/api/v1/surveys/{id}/tables"), Some(&hr)).await.json().await.unwrap();
    let table = |by: &str| body["tables"].as_array().unwrap().iter().find(|t| t["by"] == by).unwrap().clone();
    let (spec, cohort) = (table("Specialism"), table("Cohort"));
    assert_eq!(spec["rows"][1]["cells"][2]["n"], "[c]", "{spec}");
    assert_eq!(cohort["rows"][1]["cells"][2]["n"], "[c]", "{cohort}");
    // Both break down the same answers: their "All respondents" rows are the same figures, so
    // they must hide the same ones.
    assert_eq!(spec["all"], cohort["all"]);
    let all = &spec["all"];
    let shown = all["cells"].as_array().unwrap().iter().filter(|c| c["n"] != "[c]").count();
    assert!(
        all["total"] == "[c]" || shown < 2,
        "with the total and two of three options shown, the third follows: {all}"
    );
    app.stop().await;
}

both_backends!(survey_tables_match_a_hand_calculation, a_hidden_count_cannot_be_worked_out_across_groupings);
