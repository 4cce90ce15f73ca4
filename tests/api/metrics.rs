//! HR statistics end to end: figures against a hand calculation, small cells
//! hidden, CSV, and who may read them.

use fasttrack_core::Role;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, application};

pub(crate) fn scheme(id: &str, threshold: u32) -> Value {
    json!({
        "id": id, "name": format!("Metrics {id}"), "opens_at": "2026-01-01T00:00:00Z", "closes_at": "2030-01-01T00:00:00Z",
        "disclosure_threshold": threshold,
        "streams": [{"id": "data", "name": "Data"}],
        "tests": [{"id": "quiz", "name": "Quiz", "weight": 1.0, "cut_t": 40.0, "key_version": 1,
                   "norm": {"mean": 1.0, "sd": 1.0, "version": "n"},
                   "items": [{"kind": "multiple_choice", "id": "q1", "stem": "?", "options": ["a", "b"], "key": 0}]}]
    })
}

/// (ethnicity or None for no equality form, right to work)
pub(crate) async fn cohort(app: &TestApp, scheme_id: &str, people: &[(Option<&str>, bool)]) {
    for (i, (ethnicity, rtw)) in people.iter().enumerate() {
        let mut body = application(&format!("m{i}@example.ac.uk"));
        body["stream_preferences"] = json!(["data"]);
        body["right_to_work_uk"] = json!(rtw);
        match ethnicity {
            Some(e) => body["equality"] = json!({"ethnicity": e, "sex": if i % 2 == 0 { "female" } else { "male" }}),
            None => {
                body.as_object_mut().unwrap().remove("equality");
            }
        }
        app.apply_ok(scheme_id, &body).await;
    }
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-4)
}

async fn equality_figures_match_a_hand_calculation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let recruiter = app.token(Role::Recruiter).await;
    let hr = app.token(Role::Hr).await;
    assert_eq!(app.post_json("/api/v1/schemes", Some(&recruiter), &scheme("open-book", 0)).await.status(), 201);
    let w = Some("white_british");
    let b = Some("black_african");
    // White: 6 applied, 1 without the right to work. BME: 4 applied, 2 without. Plus one
    // "prefer not to say" and one who skipped the equality form.
    cohort(
        &app,
        "open-book",
        &[
            (w, true),
            (w, true),
            (w, true),
            (w, true),
            (w, true),
            (w, false),
            (b, true),
            (b, true),
            (b, false),
            (b, false),
            (Some("prefer_not_to_say"), true),
            (None, true),
        ],
    )
    .await;

    let res = app
        .get("/api/v1/schemes/open-book/metrics/equality?from=submitted&to=tests_invited&by=white_bme", Some(&hr))
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let e = &body["equality"];
    assert!(e["disclosure"]["rule"].as_str().unwrap().contains("OFF"));
    let group = |g: &str| e["groups"].as_array().unwrap().iter().find(|x| x["group"] == g).unwrap().clone();
    let (white, bme) = (group("white"), group("bme"));
    assert_eq!((white["considered"].as_u64(), white["selected"].as_u64()), (Some(6), Some(5)));
    assert_eq!((bme["considered"].as_u64(), bme["selected"].as_u64()), (Some(4), Some(2)));
    assert!(close(&white["selection_rate"], 5.0 / 6.0));
    assert_eq!(e["reference_group"], "white");
    // 0.5 / 0.8333 = 0.6: below four-fifths.
    assert!(close(&bme["impact_ratio"], 0.6));
    assert_eq!(bme["below_four_fifths"], true);
    // BME vs everyone else: 2/4 vs 7/8; pooled 0.75; z = −0.375 / √(0.1875 × 0.375) = −1.41421.
    assert!(close(&bme["z"], -std::f64::consts::SQRT_2), "{bme}"); // −0.375 / 0.265165 = −√2
    let fisher = bme["fisher_p_value"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&fisher));
    assert_eq!(group("prefer_not_to_say")["considered"], 1);
    assert_eq!(group("not_answered")["considered"], 1, "not answered is kept apart from prefer not to say");
    // WRES indicator 2: (5/6) / (2/4) = 1.6667; log-method CI exp(ln 1.6667 ± 1.96 √0.28333) = (0.5872, 4.7306).
    let wres = &e["wres_indicator_2"];
    assert!(close(&wres["ratio"], 5.0 / 3.0));
    assert!((wres["ci95_low"].as_f64().unwrap() - 0.5872).abs() < 1e-3, "{wres}");
    assert!((wres["ci95_high"].as_f64().unwrap() - 4.7306).abs() < 1e-3, "{wres}");
    assert!(wres["reading"].as_str().unwrap().contains("not statistically significant"));

    // The funnel: everyone submitted; the eligible were invited to tests.
    let f: Value =
        app.get("/api/v1/schemes/open-book/metrics/funnel?by=ethnic_group", Some(&hr)).await.json().await.unwrap();
    let stages: Vec<&str> = f["funnel"]["stages"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    let (sub, inv) = (
        stages.iter().position(|s| *s == "submitted").unwrap(),
        stages.iter().position(|s| *s == "tests_invited").unwrap(),
    );
    let row = |c: &str| {
        f["funnel"]["rows"].as_array().unwrap().iter().find(|r| r["category"] == c).unwrap()["counts"].clone()
    };
    assert_eq!((row("white")[sub].as_u64(), row("white")[inv].as_u64()), (Some(6), Some(5)));
    assert_eq!((row("black")[sub].as_u64(), row("black")[inv].as_u64()), (Some(4), Some(2)));
    assert_eq!(f["funnel"]["totals"][sub], 12);

    // The profile: 12 applied; of the 10 who stated White or BME, 4 are BME (40%); the 11 who
    // filled in the form alternate female, male from the first: 6 of 11 female = 54.5% → 55%;
    // every degree a 2:1.
    let p: Value = app.get("/api/v1/schemes/open-book/metrics/profile", Some(&hr)).await.json().await.unwrap();
    let first = &p["profile"]["stages"][0];
    assert_eq!(first["stage"], "submitted");
    assert_eq!(first["applicants"], 12);
    assert_eq!(first["bme_percent"], 40);
    assert_eq!(first["female_percent"], 55);
    let two_one = first["degree_class"].as_array().unwrap().iter().find(|d| d["category"] == "2:1").unwrap();
    assert_eq!((two_one["n"].as_u64(), two_one["percent"].as_u64()), (Some(12), Some(100)));
    let invited = &p["profile"]["stages"][1];
    assert_eq!((invited["stage"].as_str(), invited["applicants"].as_u64()), (Some("tests_invited"), Some(9)));

    // CSV with the same numbers.
    let res = app
        .client
        .get(app.url("/api/v1/schemes/open-book/metrics/equality?from=submitted&to=tests_invited&by=white_bme"))
        .bearer_auth(&hr)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert!(lines[0].starts_with("white_bme,considered,selected,selection_rate"));
    assert!(lines.iter().any(|l| l.starts_with("white,6,5,0.8333")), "{text}");
    assert!(lines.iter().any(|l| l.starts_with("bme,4,2,0.5,0.6")), "{text}");

    // Only HR and admins; bad parameters are named.
    assert_eq!(app.get("/api/v1/schemes/open-book/metrics/funnel?by=sex", Some(&recruiter)).await.status(), 403);
    let res =
        app.get("/api/v1/schemes/open-book/metrics/equality?from=offered&to=submitted&by=shoe_size", Some(&hr)).await;
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    let fields: Vec<&str> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["to", "by"]);
    app.stop().await;
}

async fn small_cells_are_hidden_with_what_is_computed_from_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let recruiter = app.token(Role::Recruiter).await;
    let hr = app.token(Role::Hr).await;
    assert_eq!(app.post_json("/api/v1/schemes", Some(&recruiter), &scheme("guarded", 5)).await.status(), 201);
    let w = Some("white_irish");
    let a = Some("asian_pakistani");
    cohort(
        &app,
        "guarded",
        &[
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
        ],
    )
    .await;
    let body: Value = app
        .get("/api/v1/schemes/guarded/metrics/equality?from=submitted&to=tests_invited", Some(&hr))
        .await
        .json()
        .await
        .unwrap();
    let e = &body["equality"];
    assert!(e["disclosure"]["rule"].as_str().unwrap().starts_with("counts from 1 to 4 are shown as [c]"));
    let bme = e["groups"].as_array().unwrap().iter().find(|g| g["group"] == "bme").unwrap();
    assert_eq!(bme["considered"], "[c]");
    assert_eq!(bme["selected"], "[c]");
    assert_eq!(bme["selection_rate"], "[c]");
    assert_eq!(bme["fisher_p_value"], "[c]");
    assert_eq!(e["wres_indicator_2"]["ratio"], "[c]");
    let f: Value =
        app.get("/api/v1/schemes/guarded/metrics/funnel?by=white_bme", Some(&hr)).await.json().await.unwrap();
    let rows = f["funnel"]["rows"].as_array().unwrap();
    let bme_row = rows.iter().find(|r| r["category"] == "bme").unwrap();
    assert_eq!(bme_row["counts"][0], "[c]", "3 BME applicants are too few to show");
    // A hidden cell is never alone in its column: the total would give it away.
    let hidden_in_first_stage =
        rows.iter().filter(|r| r["counts"][0] == "[c]").count() + usize::from(f["funnel"]["totals"][0] == "[c]");
    assert!(hidden_in_first_stage >= 2, "{f}");
    let zero_row = rows.iter().find(|r| r["category"] == "prefer_not_to_say").unwrap();
    assert_eq!(zero_row["counts"][0], 0, "zeros are shown");
    app.stop().await;
}

async fn a_rate_of_nothing_is_undefined_not_hidden(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let recruiter = app.token(Role::Recruiter).await;
    let hr = app.token(Role::Hr).await;
    assert_eq!(app.post_json("/api/v1/schemes", Some(&recruiter), &scheme("early-days", 5)).await.status(), 201);
    // 7 White, 3 BME applicants; no one offered, assessed or placed yet.
    let (w, a) = (Some("white_irish"), Some("asian_pakistani"));
    cohort(
        &app,
        "early-days",
        &[(w, true), (w, true), (w, true), (w, true), (w, true), (w, true), (w, true), (a, true), (a, true), (a, true)],
    )
    .await;
    let body: Value = app.get("/api/v1/schemes/early-days/metrics/profile", Some(&hr)).await.json().await.unwrap();
    let p = &body["profile"];
    // Genuinely suppressed: 3 BME applicants.
    assert_eq!(p["stages"][0]["bme_percent"], "[c]", "{p}");
    // 0 of 0 is not a secret, it is undefined.
    let offered = p["stages"].as_array().unwrap().iter().find(|s| s["stage"] == "offered").unwrap();
    assert_eq!(offered["applicants"], 0);
    assert_eq!(offered["bme_percent"], Value::Null, "{offered}");
    assert!(
        offered["degree_class"].as_array().unwrap().iter().all(|d| d["n"] == 0 && d["percent"].is_null()),
        "{offered}"
    );
    assert_eq!(p["offer_acceptance_percent"], Value::Null);
    assert_eq!(p["assessment_centre"]["appointable_percent"], Value::Null);
    let retention = &p["retention"];
    assert_eq!(retention["placed"], 0);
    for c in retention["checkpoints"].as_array().unwrap() {
        assert_eq!((c["recorded"].as_u64(), &c["in_post_percent"]), (Some(0), &Value::Null), "{c}");
    }
    for d in retention["destinations"].as_array().unwrap() {
        assert_eq!((d["leavers"].as_u64(), &d["percent"]), (Some(0), &Value::Null), "{d}");
    }

    let text = app
        .client
        .get(app.url("/api/v1/schemes/early-days/metrics/profile"))
        .bearer_auth(&hr)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert!(lines.contains(&"offer acceptance %,–"), "{text}");
    assert!(lines.contains(&"in post at 3 months %,–"), "{text}");
    assert!(lines.iter().any(|l| l.starts_with("submitted,10,") && l.contains("[c]")), "{text}");

    // A selection rate from no one considered is undefined too.
    let body: Value = app
        .get("/api/v1/schemes/early-days/metrics/equality?from=offered&to=accepted&by=white_bme", Some(&hr))
        .await
        .json()
        .await
        .unwrap();
    let white = body["equality"]["groups"].as_array().unwrap().iter().find(|g| g["group"] == "white").unwrap().clone();
    assert_eq!(white["considered"], 0);
    for k in ["selection_rate", "impact_ratio", "below_four_fifths", "z", "z_p_value", "fisher_p_value"] {
        assert_eq!(white[k], Value::Null, "{k}: {white}");
    }
    assert_eq!(body["equality"]["wres_indicator_2"]["ratio"], Value::Null);
    app.stop().await;
}

both_backends!(
    equality_figures_match_a_hand_calculation,
    small_cells_are_hidden_with_what_is_computed_from_them,
    a_rate_of_nothing_is_undefined_not_hidden
);
