//! Online tests to the sift, end to end through the API, checked against a hand
//! calculation; provider webhooks; re-scoring after a key change.

use std::time::Duration;

use fasttrack_core::Role;
use fasttrack_core::sift::lottery_key;
use serde_json::{Value, json};
use sqlx::Row;

use crate::both_backends;
use crate::helpers::{Backend, Options, TestApp, application, poll, sign};

/// One test, four multiple-choice items keyed 0; norm mean 2, sd 1, cut T 40 (raw ≥ 1 passes).
/// Stream alpha: 2 seats, 1 reserve; beta: 1 seat, no reserve.
fn scheme(id: &str, closes_in: Duration) -> Value {
    let closes = jiff::Timestamp::now() + jiff::SignedDuration::try_from(closes_in).unwrap();
    let item = |n: u32| json!({"kind": "multiple_choice", "id": format!("q{n}"), "stem": format!("Question {n}"), "options": ["a", "b", "c", "d"], "key": 0});
    json!({
        "id": id, "name": format!("Test scheme {id}"),
        "opens_at": "2026-01-01T00:00:00Z", "closes_at": closes.to_string(),
        "min_degree_class": "2:2",
        "streams": [
            {"id": "alpha", "name": "Alpha", "ac_seats": 2, "reserve": 1},
            {"id": "beta", "name": "Beta", "ac_seats": 1, "reserve": 0}
        ],
        "tests": [{
            "id": "quiz", "name": "Quiz", "time_limit_minutes": 10, "weight": 1.0, "cut_t": 40.0, "key_version": 1,
            "norm": {"mean": 2.0, "sd": 1.0, "version": "norm-1"},
            "items": [item(1), item(2), item(3), item(4)]
        }],
        // Two single seats with step-free access on a summer date (British Summer Time), and a
        // roomy centre on a date every test applicant said they cannot attend.
        "assessment_centres": [
            {"id": "summer", "name": "Summer centre", "venue": "Skipton House, London", "date": "2027-06-01",
             "sessions": [
                {"id": "am", "start": "09:00", "end": "12:00", "capacity": 1, "provisions": ["step_free_access"],
                 "exercises": [{"kind": "interview", "competencies": ["motivation"]}],
                 "assessors": [{"id": "as-1", "name": "A One", "organisation": "trust-x"}]},
                {"id": "pm", "start": "13:00", "end": "16:00", "capacity": 1, "provisions": ["step_free_access"],
                 "exercises": [{"kind": "interview", "competencies": ["motivation"]}],
                 "assessors": [{"id": "as-2", "name": "A Two", "organisation": "trust-y"}]}
             ]},
            {"id": "blocked", "name": "Blocked centre", "venue": "virtual", "date": "2027-03-02",
             "sessions": [{"id": "am", "start": "09:00", "end": "12:00", "capacity": 5, "provisions": ["step_free_access"],
                           "exercises": [{"kind": "interview", "competencies": ["motivation"]}]}]}
        ]
    })
}

fn answers(correct: &[u32]) -> Value {
    let mut a = serde_json::Map::new();
    for n in 1..=4 {
        a.insert(format!("q{n}"), json!(if correct.contains(&n) { 0 } else { 1 }));
    }
    json!({"answers": a})
}

struct Applicant {
    label: &'static str,
    id: String,
    token: String,
}

async fn status(app: &TestApp, recruiter: &str, id: &str) -> String {
    let v: Value = app.get(&format!("/api/v1/applications/{id}"), Some(recruiter)).await.json().await.unwrap();
    v["status"].as_str().unwrap().to_owned()
}

async fn tests_scoring_and_the_sift_match_a_hand_calculation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let recruiter = app.token(Role::Recruiter).await;
    let scheme_id = "sift-e2e";
    let res = app.post_json("/api/v1/schemes", Some(&recruiter), &scheme(scheme_id, Duration::from_secs(3600))).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());

    // (label, stream, items answered correctly, disability confident + declared)
    let plan: &[(&str, &str, &[u32], bool)] = &[
        ("A", "alpha", &[1, 2, 3, 4], false),
        ("B", "alpha", &[1, 2, 3], false),
        ("C", "alpha", &[1, 2, 3], false),
        ("D", "alpha", &[1, 2], false),
        ("E", "alpha", &[1], false),
        ("F", "alpha", &[], false),
        ("G", "alpha", &[1], true),
        ("G2", "alpha", &[1], true),
        ("H", "alpha", &[1, 2, 3, 4], false),
        ("I", "beta", &[1, 2], false),
        ("J", "beta", &[1, 2, 3, 4], false),
    ];
    let mut people = Vec::new();
    for (label, stream, _, dc) in plan {
        let mut body = application(&format!("{}@example.ac.uk", label.to_lowercase()));
        body["stream_preferences"] = json!([stream]);
        body["disability_confident"] = json!(dc);
        body["equality"]["disability"] = json!(if *dc { "yes" } else { "no" });
        let (id, token) = app.apply_ok(scheme_id, &body).await;
        people.push(Applicant { label, id, token });
    }
    let mut k = application("k@example.ac.uk");
    k["stream_preferences"] = json!(["alpha"]);
    k["right_to_work_uk"] = json!(false);
    let res = app.apply(scheme_id, &k).await;
    let k_body: Value = res.json().await.unwrap();
    assert_eq!(k_body["status"], "ineligible");
    let find = |l: &str| people.iter().find(|p| p.label == l).unwrap();

    // Take the tests. H's clock runs out before H answers.
    for ((_, _, correct, _), p) in plan.iter().zip(&people) {
        let base = format!("/api/v1/applications/{}/tests", p.id);
        let listed: Value = app.get(&base, Some(&p.token)).await.json().await.unwrap();
        assert_eq!(listed[0]["state"], "not_started");
        let started = app.post_json(&format!("{base}/quiz/start"), Some(&p.token), &json!({})).await;
        assert_eq!(started.status(), 200);
        let started: Value = started.json().await.unwrap();
        assert_eq!(started["questions"].as_array().unwrap().len(), 4);
        assert!(started["questions"][0].get("key").is_none(), "keys are never shown");
        assert!(started["deadline_at"].is_string());
        if p.label == "H" {
            sqlx::query("UPDATE test_attempts SET deadline_at = $1 WHERE application_id = $2")
                .bind((jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1)).as_millisecond())
                .bind(&p.id)
                .execute(app.db.pool())
                .await
                .unwrap();
        }
        let res = app.post_json(&format!("{base}/quiz/responses"), Some(&p.token), &answers(correct)).await;
        assert_eq!(res.status(), 201);
        let sent: Value = res.json().await.unwrap();
        assert_eq!(sent["late"], p.label == "H", "{}", p.label);
        // Answers are taken once.
        let again = app.post_json(&format!("{base}/quiz/responses"), Some(&p.token), &answers(&[1])).await;
        assert_eq!(again.status(), 409);
    }
    // Bad answers are refused field by field and change nothing.
    let a = find("A");
    let res =
        app.post_json(&format!("/api/v1/applications/{}/tests/nope/start", a.id), Some(&a.token), &json!({})).await;
    assert_eq!(res.status(), 404);

    // Everyone is scored by the worker.
    for p in &people {
        poll("scoring", async || (status(&app, &recruiter, &p.id).await == "scored").then_some(())).await;
    }
    let row = sqlx::query(
        "SELECT raw, z, t, sten, percentile, key_version, norm_version FROM test_scores WHERE application_id = $1",
    )
    .bind(&find("B").id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(row.get::<i64, _>("raw"), 3);
    assert!((row.get::<f64, _>("z") - 1.0).abs() < 1e-9);
    assert!((row.get::<f64, _>("t") - 60.0).abs() < 1e-9);
    assert_eq!(row.get::<i64, _>("sten"), 8); // round(5.5 + 2) = 8 (7.5 rounds up)
    assert!((row.get::<f64, _>("percentile") - 84.134_474_606_854_3).abs() < 1e-6);
    assert_eq!(row.get::<i64, _>("key_version"), 1);
    assert_eq!(row.get::<String, _>("norm_version"), "norm-1");
    let late_scores: i64 = sqlx::query("SELECT COUNT(*) AS n FROM test_scores WHERE application_id = $1")
        .bind(&find("H").id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get("n");
    assert_eq!(late_scores, 0, "a late test is not scored");

    // A named override takes G2 out of the Disability Confident guarantee.
    let res = app
        .post_json(
            &format!("/api/v1/applications/{}/disability-confident-override", find("G2").id),
            Some(&recruiter),
            &json!({"decided_by": "Priya Shah", "reason": "did not meet the essential criteria on re-check"}),
        )
        .await;
    assert_eq!(res.status(), 201);

    // Two more applicants: L never starts; M starts just before closing and answers late.
    let mut l = application("l@example.ac.uk");
    l["stream_preferences"] = json!(["alpha"]);
    let (l_id, l_token) = app.apply_ok(scheme_id, &l).await;
    let mut m = application("m@example.ac.uk");
    m["stream_preferences"] = json!(["alpha"]);
    let (m_id, m_token) = app.apply_ok(scheme_id, &m).await;
    let m_tests = format!("/api/v1/applications/{m_id}/tests/quiz");
    assert_eq!(app.post_json(&format!("{m_tests}/start"), Some(&m_token), &json!({})).await.status(), 200);

    // The sift waits for the closing date, and then for tests started before it to be finished
    // (the 10-minute limit and the 30-second grace), so it is one batch.
    let sift_path = format!("/api/v1/schemes/{scheme_id}/sift");
    assert_eq!(app.post_json(&sift_path, Some(&recruiter), &json!({})).await.status(), 409, "still open");
    app.advance(jiff::SignedDuration::from_mins(61));
    let early = app.post_json(&sift_path, Some(&recruiter), &json!({})).await;
    assert_eq!(early.status(), 409);
    assert!(early.text().await.unwrap().contains("finished until"));
    let l_start = format!("/api/v1/applications/{l_id}/tests/quiz/start");
    let closed = app.post_json(&l_start, Some(&l_token), &json!({})).await;
    assert_eq!(closed.status(), 409, "no test starts after the closing date");
    assert!(closed.text().await.unwrap().contains("can no longer be started"));
    app.advance(jiff::SignedDuration::from_mins(10));
    let started: Value = {
        let r = app.post_json(&sift_path, Some(&recruiter), &json!({})).await;
        assert_eq!(r.status(), 202);
        r.json().await.unwrap()
    };
    // After the window nothing enters scoring: M's answers are refused and M is never scored.
    let late = app.post_json(&format!("{m_tests}/responses"), Some(&m_token), &answers(&[1, 2, 3, 4])).await;
    assert_eq!(late.status(), 409);
    assert_eq!(status(&app, &recruiter, &m_id).await, "tests_invited");
    let href = started["href"].as_str().unwrap().to_owned();
    let job = poll("the sift job", async || {
        let j: Value = app.get(&href, Some(&recruiter)).await.json().await.unwrap();
        (j["state"] == "done").then_some(j)
    })
    .await;
    assert_eq!(job["result"]["sifted"], 11, "{job}");

    // The hand calculation. alpha: 2 seats, 1 reserve. G is guaranteed (DC, passed) and takes a
    // seat; A (z = 2) takes the other; B and C tie at z = 1 for the one reserve place and the
    // fixed lottery decides; D and E rank below; F failed; G2's guarantee was overridden and it
    // ranks last; H was late, so failed. beta: 1 seat: J; I is rejected.
    let (b, c) = (find("B"), find("C"));
    let (reserve, below) =
        if lottery_key(scheme_id, &b.id) < lottery_key(scheme_id, &c.id) { ("B", "C") } else { ("C", "B") };
    let expected = [
        ("A", "shortlisted"),
        ("G", "shortlisted"),
        (reserve, "reserve"),
        (below, "rejected"),
        ("D", "rejected"),
        ("E", "rejected"),
        ("F", "rejected"),
        ("G2", "rejected"),
        ("H", "rejected"),
        ("J", "shortlisted"),
        ("I", "rejected"),
    ];
    for (label, want) in expected {
        assert_eq!(status(&app, &recruiter, &find(label).id).await, want, "{label}");
    }
    assert_eq!(job["result"]["streams"]["alpha"]["shortlisted"], 2);
    assert_eq!(job["result"]["streams"]["alpha"]["reserve"], 1);

    // One email per applicant per outcome, each delivered.
    for (label, want) in expected {
        let p = find(label);
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM notifications WHERE application_id = $1 AND kind = $2")
            .bind(&p.id)
            .bind(want)
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get("n");
        assert_eq!(n, 1, "{label} {want}");
        app.wait_for_email_state(&p.id, want, "sent").await;
    }
    // One outcome, one email, with the true reason: F failed the cut score, D was outranked.
    let to = |label: &str| -> Vec<String> {
        let address = format!("To: {}@example.ac.uk", label.to_lowercase());
        app.sent_emails().into_iter().filter(|e| e.contains(&address)).collect()
    };
    let rejections = |label: &str| -> Vec<String> {
        to(label).into_iter().filter(|e| e.to_lowercase().contains("cannot")).collect::<Vec<_>>()
    };
    let f = rejections("F");
    assert_eq!(f.len(), 1, "one rejection for F: {f:#?}");
    assert!(f[0].contains("minimum standard") && !f[0].contains("competition was strong"), "{}", f[0]);
    let d = rejections("D");
    assert_eq!(d.len(), 1, "{d:#?}");
    assert!(d[0].contains("competition was strong"), "{}", d[0]);
    let applicant_view: Value =
        app.get(&format!("/api/v1/applications/{}", find("G").id), Some(&find("G").token)).await.json().await.unwrap();
    let last = applicant_view["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["to"], "shortlisted");
    assert!(!last["note"].as_str().unwrap().contains("Disability"), "the timeline does not reveal the guarantee");

    // Scheduling: three shortlisted (A, G, J), two seats they can use (every one of them cannot
    // attend 2 March and needs step-free access), so two are invited and one waits.
    let res = app.post_json(&format!("/api/v1/schemes/{scheme_id}/schedule"), Some(&recruiter), &json!({})).await;
    assert_eq!(res.status(), 202);
    let href = res.json::<Value>().await.unwrap()["href"].as_str().unwrap().to_owned();
    let done = poll("the schedule job", async || {
        let j: Value = app.get(&href, Some(&recruiter)).await.json().await.unwrap();
        (j["state"] == "done").then_some(j)
    })
    .await;
    assert_eq!((done["result"]["placed"].as_u64(), done["result"]["waiting"].as_u64()), (Some(2), Some(1)), "{done}");
    let mut sessions = Vec::new();
    let mut waiting = 0;
    for label in ["A", "G", "J"] {
        let p = find(label);
        let b: Value =
            app.get(&format!("/api/v1/applications/{}/booking", p.id), Some(&p.token)).await.json().await.unwrap();
        match b["state"].as_str().unwrap() {
            "invited" => {
                assert_eq!(b["centre"], "summer", "never on a date the candidate cannot attend");
                sessions.push(b["session"].as_str().unwrap().to_owned());
                assert_eq!(status(&app, &recruiter, &p.id).await, "ac_invited");
                app.wait_for_email_state(&p.id, "ac_invitation", "sent").await;
            }
            "waiting_list" => {
                waiting += 1;
                assert_eq!(b["reason"], "the sessions that fit are full");
                assert_eq!(status(&app, &recruiter, &p.id).await, "shortlisted");
            }
            other => panic!("{label}: {other}"),
        }
    }
    sessions.sort();
    assert_eq!((sessions, waiting), (vec!["am".to_owned(), "pm".to_owned()], 1), "never over capacity");

    // One invited candidate accepts, the other declines: the freed seat goes to the one waiting.
    let mut by_state: Vec<(String, &Applicant)> = Vec::new();
    for label in ["A", "G", "J"] {
        let p = find(label);
        let b: Value =
            app.get(&format!("/api/v1/applications/{}/booking", p.id), Some(&p.token)).await.json().await.unwrap();
        by_state.push((b["state"].as_str().unwrap().to_owned(), p));
    }
    let invited: Vec<&Applicant> = by_state.iter().filter(|(s, _)| s == "invited").map(|(_, p)| *p).collect();
    let waiter = by_state.iter().find(|(s, _)| s == "waiting_list").unwrap().1;
    let (accepter, decliner) = (invited[0], invited[1]);
    let res = app
        .post_json(&format!("/api/v1/applications/{}/booking/accept", accepter.id), Some(&accepter.token), &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(status(&app, &recruiter, &accepter.id).await, "ac_booked");
    let again = app
        .post_json(&format!("/api/v1/applications/{}/booking/accept", accepter.id), Some(&accepter.token), &json!({}))
        .await;
    assert_eq!(again.status(), 409, "a seat is answered once");
    let res = app
        .post_json(&format!("/api/v1/applications/{}/booking/decline", decliner.id), Some(&decliner.token), &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(status(&app, &recruiter, &decliner.id).await, "declined");
    poll("the waiting candidate to be offered the freed seat", async || {
        let b: Value = app
            .get(&format!("/api/v1/applications/{}/booking", waiter.id), Some(&waiter.token))
            .await
            .json()
            .await
            .unwrap();
        (b["state"] == "invited").then_some(())
    })
    .await;
    app.wait_for_email_state(&waiter.id, "ac_invitation", "sent").await;
    // The invitation carries a calendar in London time, with its zone: 09:00 on 1 June (BST).
    let invitations = app.wait_for_emails(2, |e| e.contains("X-Fasttrack-Kind: ac_invitation")).await;
    let invitations: Vec<String> = invitations.iter().map(|e| crate::helpers::unquoted(e)).collect();
    let ics = invitations
        .iter()
        .find(|e| e.contains("DTSTART;TZID=Europe/London:20270601T090000"))
        .expect("a morning invitation in London time");
    assert!(ics.contains("BEGIN:VTIMEZONE") && ics.contains("TZID:Europe/London"));
    assert!(ics.contains("multipart/mixed") && ics.contains("method=REQUEST") && ics.contains("invite.ics"));
    assert!(ics.contains("SEQUENCE:0") && ics.contains(".ac@fasttrack"));

    // Running the sift again changes nothing and sends nothing.
    let before: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM notifications").fetch_one(app.db.pool()).await.unwrap().get("n");
    let second = app.post_json(&sift_path, Some(&recruiter), &json!({})).await;
    assert_eq!(second.status(), 202);
    let second: Value = second.json().await.unwrap();
    assert_ne!(second["id"], job["id"], "a finished sift is not reused");
    let href = second["href"].as_str().unwrap().to_owned();
    let again = poll("the second sift", async || {
        let j: Value = app.get(&href, Some(&recruiter)).await.json().await.unwrap();
        assert_ne!(j["state"], "failed", "{j}");
        (j["state"] == "done").then_some(j)
    })
    .await;
    assert_eq!(again["result"]["sifted"], 0);
    let after: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM notifications").fetch_one(app.db.pool()).await.unwrap().get("n");
    assert_eq!(before, after);

    // HR figures for the stages the sift finished are frozen: erasing equality answers later
    // does not rewrite what was published, though live counts would move.
    let hr = app.token(Role::Hr).await;
    let report = format!("/api/v1/schemes/{scheme_id}/metrics/funnel?by=disability");
    let published_before: Value = app.get(&report, Some(&hr)).await.json().await.unwrap();
    let by = fasttrack_core::metrics::Characteristic::parse("disability").unwrap();
    // The stages the sift finished (up to the shortlist); later ones (ac_invited) stay live.
    let finished = ["submitted", "tests_invited", "tests_completed", "scored", "shortlisted"];
    let frozen_only = |mut v: Vec<(String, Option<String>, u64)>| {
        v.retain(|(stage, _, _)| finished.contains(&stage.as_str()));
        v.sort();
        v
    };
    let frozen =
        frozen_only(fasttrack_core::store::metrics::published_funnel(&app.db, scheme_id, by, None).await.unwrap());
    assert!(
        frozen.iter().any(|(stage, value, n)| stage == "shortlisted" && value.as_deref() == Some("yes") && *n == 1),
        "{frozen:?}"
    );
    sqlx::query("DELETE FROM equality_answers").execute(app.db.pool()).await.unwrap();
    let after =
        frozen_only(fasttrack_core::store::metrics::published_funnel(&app.db, scheme_id, by, None).await.unwrap());
    assert_eq!(after, frozen);
    let published_after: Value = app.get(&report, Some(&hr)).await.json().await.unwrap();
    let stages = published_before["funnel"]["stages"].as_array().unwrap().clone();
    for (i, stage) in stages.iter().enumerate() {
        if finished.contains(&stage.as_str().unwrap()) {
            for (before, after) in published_before["funnel"]["rows"]
                .as_array()
                .unwrap()
                .iter()
                .zip(published_after["funnel"]["rows"].as_array().unwrap())
            {
                assert_eq!(before["counts"][i], after["counts"][i], "{stage} {}", before["category"]);
            }
        }
    }
    let live = fasttrack_core::store::metrics::funnel(&app.db, scheme_id, by, None).await.unwrap();
    assert!(live.iter().all(|(_, value, _)| value.is_none()), "live counts see the erasure");

    // A key change (q1 is now keyed 1, key version 2) re-scored deterministically: E, G and G2
    // (who had only q1 right) now fail; F (who answered 1 everywhere) now passes.
    let mut changed = scheme(scheme_id, Duration::ZERO);
    let stored = fasttrack_core::store::schemes::get(&app.db, scheme_id).await.unwrap().unwrap().definition;
    changed["closes_at"] = json!(stored.closes_at.to_string());
    changed["tests"][0]["items"][0]["key"] = json!(1);
    changed["tests"][0]["key_version"] = json!(2);
    let def = fasttrack_core::scheme::SchemeDefinition::parse_json(changed).unwrap();
    fasttrack_core::store::schemes::upsert(&app.db, &def, jiff::Timestamp::now()).await.unwrap();
    let report = fasttrack::rescore::rescore(&app.db, scheme_id, false).await.unwrap();
    let mut moved: Vec<(&str, bool)> = report
        .changed_outcome
        .iter()
        .map(|c| (people.iter().find(|p| p.id == c.application_id).unwrap().label, c.now_passed))
        .collect();
    moved.sort();
    assert_eq!(moved, [("E", false), ("F", true), ("G", false), ("G2", false)]);
    assert_eq!(report.rescored, 11);
    let v2: i64 = sqlx::query("SELECT COUNT(*) AS n FROM test_scores WHERE key_version = 2 AND current = 1")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get("n");
    assert_eq!(v2, 10, "every on-time test re-scored under key version 2");
    let again = fasttrack::rescore::rescore(&app.db, scheme_id, true).await.unwrap();
    assert!(again.changed_outcome.is_empty(), "re-scoring is deterministic");
    app.stop().await;
}

async fn provider_results_are_signed_and_replays_change_nothing(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Options { env: vec![("FASTTRACK__WEBHOOKS__PROVIDERS__ACME".into(), "s3cret".into())], ..Default::default() },
    )
    .await;
    let recruiter = app.token(Role::Recruiter).await;
    let res = app.post_json("/api/v1/schemes", Some(&recruiter), &scheme("hooks", Duration::from_secs(3600))).await;
    assert_eq!(res.status(), 201);
    let mut body = application("hook@example.ac.uk");
    body["stream_preferences"] = json!(["alpha"]);
    let (id, _) = app.apply_ok("hooks", &body).await;

    let post = |body: Vec<u8>, provider: &'static str, sig: String| {
        let req = app
            .client
            .post(app.url("/api/v1/webhooks/test-results"))
            .header("content-type", "application/json")
            .header("X-Fasttrack-Provider", provider)
            .header("X-Fasttrack-Signature", sig)
            .body(body);
        async move { req.send().await.unwrap() }
    };
    let delivery =
        serde_json::to_vec(&json!({"delivery_id": "d-1", "application_id": id, "test": "quiz", "raw_score": 3}))
            .unwrap();
    assert_eq!(post(delivery.clone(), "acme", sign("wrong", &delivery)).await.status(), 401);
    assert_eq!(post(delivery.clone(), "nobody", sign("s3cret", &delivery)).await.status(), 401);
    let res = post(delivery.clone(), "acme", sign("s3cret", &delivery)).await;
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    let replay = post(delivery.clone(), "acme", sign("s3cret", &delivery)).await;
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.json::<Value>().await.unwrap()["status"], "duplicate");

    let score = poll("the provider's result to be scored", async || {
        let r = sqlx::query("SELECT raw, passed FROM test_scores WHERE application_id = $1")
            .bind(&id)
            .fetch_optional(app.db.pool())
            .await
            .unwrap();
        r.map(|r| (r.get::<i64, _>("raw"), r.get::<i64, _>("passed")))
    })
    .await;
    assert_eq!(score, (3, 1));
    let other =
        serde_json::to_vec(&json!({"delivery_id": "d-2", "application_id": id, "test": "quiz", "raw_score": 1}))
            .unwrap();
    assert_eq!(
        post(other.clone(), "acme", sign("s3cret", &other)).await.status(),
        409,
        "a second result for a scored test"
    );
    app.stop().await;
}

both_backends!(
    tests_scoring_and_the_sift_match_a_hand_calculation,
    provider_results_are_signed_and_replays_change_nothing
);
