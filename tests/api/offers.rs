//! The London pilot from sift to offers and outcomes, through plain HTTP calls:
//! four all-day centres, candidates with unavailable dates, two needing step-free
//! access, one assessor conflict, preferences; invitations with calendars, a
//! declined seat back-filled, assessors scoring name-blind, 20 offers across the
//! streams, a declined offer passed to the best reserve, and outcomes for HR.

use std::collections::BTreeMap;
use std::time::Duration;

use fasttrack_core::Role;
use serde_json::{Value, json};
use sqlx::Row;

use crate::both_backends;
use crate::helpers::{Backend, Options, TestApp, application, poll, wait_for_job};

const SCHEME: &str = "london-e2e";
/// One pair of a scoresheet scored differently: (index into `PAIRS`, score).
type Bump = Option<(usize, u8)>;
const DATES: [&str; 4] = ["2027-03-01", "2027-03-03", "2027-03-08", "2027-03-10"];
const PAIRS: [(&str, &str); 9] = [
    ("interview", "motivation"),
    ("interview", "communication"),
    ("interview", "working with others"),
    ("group_exercise", "working with others"),
    ("group_exercise", "leadership"),
    ("case_study", "analysis"),
    ("case_study", "problem solving"),
    ("presentation", "communication"),
    ("presentation", "analysis"),
];

/// The pilot's own scheme file, closing soon, with 40 acute-trust seats so that 84 are
/// shortlisted for the 80 seats of its four centres.
fn pilot(closes_in: Duration) -> Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/schemes/london-imt-pilot.toml")).unwrap();
    let def = fasttrack_core::scheme::SchemeDefinition::parse_toml(&text).unwrap();
    let mut v = serde_json::to_value(def).unwrap();
    v["id"] = json!(SCHEME);
    let closes = jiff::Timestamp::now() + jiff::SignedDuration::try_from(closes_in).unwrap();
    v["closes_at"] = json!(closes.to_string());
    v["opens_at"] = json!("2026-01-01T00:00:00Z");
    v["streams"][0]["ac_seats"] = json!(40);
    v
}

#[derive(Debug, Clone)]
struct Person {
    label: String,
    stream: &'static str,
    id: String,
    token: String,
}

async fn booking(app: &TestApp, p: &Person) -> Value {
    app.get(&format!("/api/v1/applications/{}/booking", p.id), Some(&p.token)).await.json().await.unwrap()
}

async fn status(app: &TestApp, recruiter: &str, id: &str) -> String {
    let v: Value = app.get(&format!("/api/v1/applications/{id}"), Some(recruiter)).await.json().await.unwrap();
    v["status"].as_str().unwrap().to_owned()
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    let res = app.post_json(path, Some(token), &body).await;
    let code = res.status().as_u16();
    (code, res.json().await.unwrap_or(Value::Null))
}

async fn the_london_pilot_runs_from_sift_to_offers_and_outcomes(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Options { env: vec![("FASTTRACK__WEBHOOKS__PROVIDERS__ACME".into(), "s3cret".into())], ..Default::default() },
    )
    .await;
    let recruiter = app.token(Role::Recruiter).await;
    let (code, body) = post(&app, "/api/v1/schemes", &recruiter, pilot(Duration::from_secs(3600))).await;
    assert_eq!(code, 201, "{body}");

    // 40 acute, 22 mental-health, 24 STP applicants; the special cases are in streams where
    // every applicant is shortlisted.
    let mut people: Vec<Person> = Vec::new();
    let plan: Vec<(String, &'static str)> = (0..40)
        .map(|i| (format!("acute{i}"), "acute-trusts"))
        .chain((0..22).map(|i| (format!("mh{i}"), "mental-health-trusts")))
        .chain((0..24).map(|i| (format!("stp{i}"), "stp-programmes")))
        .collect();
    for (label, stream) in &plan {
        let mut body = application(&format!("{label}@example.ac.uk"));
        body["name"] = json!(format!("Candidate {label}"));
        body["stream_preferences"] = json!([stream]);
        body["adjustments"] = json!([]);
        body["unavailable_dates"] = json!([]);
        // Aged 25-29: 3 acute and 6 STP applicants (a small cell beside a shown one, for the
        // joint disclosure check at the end).
        if ["acute5", "acute6", "acute7", "stp5", "stp6", "stp7", "stp8", "stp9", "stp10"].contains(&label.as_str()) {
            body["equality"]["age_band"] = json!("25_29");
        }
        match label.as_str() {
            // Step-free access (only the Skipton House centres have it); S1 cannot do 1 March.
            // (A preference also makes sure they are among the 80 placed, not the 3 left over.)
            "acute0" => {
                body["adjustments"] = json!(["step_free_access"]);
                body["unavailable_dates"] = json!(["2027-03-01"]);
                body["preferred_venues"] = json!(["ac-2"]);
            }
            "acute1" => {
                body["adjustments"] = json!(["step_free_access"]);
                body["preferred_venues"] = json!(["Assessment centre 1"]);
            }
            // Works for Barts: Dr Okafor (Barts) assesses both sessions of centre 1; and cannot
            // do 3 March either.
            "acute2" => {
                body["current_employer"] = json!("barts-health");
                body["unavailable_dates"] = json!(["2027-03-03"]);
                body["preferred_dates"] = json!(["2027-03-08"]);
            }
            // Cannot attend any centre.
            "acute3" => body["unavailable_dates"] = json!(DATES),
            // Prefers the last date.
            "acute4" => body["preferred_dates"] = json!(["2027-03-10"]),
            _ if label.starts_with("stp") && label.len() == 4 => body["unavailable_dates"] = json!(["2027-03-08"]),
            _ => {}
        }
        let (id, token) = app.apply_ok(SCHEME, &body).await;
        people.push(Person { label: label.clone(), stream, id, token });
    }
    let find = |l: &str| people.iter().find(|p| p.label == l).unwrap().clone();

    // The test provider delivers every result; all pass, with slightly different scores.
    for (i, p) in people.iter().enumerate() {
        for (test, raw) in [("numerical", 3 + (i % 3) as i64), ("verbal", 4), ("sjt", 20)] {
            let res = app.deliver_result(&format!("{}-{test}", p.id), &p.id, test, raw).await;
            assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
        }
    }
    for p in &people {
        poll("scoring", async || (status(&app, &recruiter, &p.id).await == "scored").then_some(())).await;
    }

    // The sift, after the closing date: 40 + 20 + 24 shortlisted.
    app.advance(jiff::SignedDuration::from_hours(2));
    let (code, sift) = post(&app, &format!("/api/v1/schemes/{SCHEME}/sift"), &recruiter, json!({})).await;
    assert_eq!(code, 202, "{sift}");
    let sifted = wait_for_job(&app, &recruiter, sift["href"].as_str().unwrap()).await;
    for (stream, n) in [("acute-trusts", 40), ("mental-health-trusts", 20), ("stp-programmes", 24)] {
        assert_eq!(sifted["result"]["streams"][stream]["shortlisted"], n, "{sifted}");
    }

    // Scheduling: 83 of the 84 could be placed in 80 seats; acute3 cannot attend any date.
    let (code, job) = post(&app, &format!("/api/v1/schemes/{SCHEME}/schedule"), &recruiter, json!({})).await;
    assert_eq!(code, 202);
    let done = wait_for_job(&app, &recruiter, job["href"].as_str().unwrap()).await;
    assert_eq!((done["result"]["placed"].as_u64(), done["result"]["waiting"].as_u64()), (Some(80), Some(4)), "{done}");
    let centres: Value =
        app.get(&format!("/api/v1/schemes/{SCHEME}/assessment-centres"), Some(&recruiter)).await.json().await.unwrap();
    let centre = |id: &str| centres["centres"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap().clone();
    let mut seats: BTreeMap<(String, String), u32> = BTreeMap::new();
    let mut invited: Vec<Person> = Vec::new();
    let mut full: Vec<Person> = Vec::new();
    let mut sift_reserve = 0;
    for p in &people {
        let b = booking(&app, p).await;
        match b["state"].as_str().unwrap() {
            "not_scheduled" => {
                assert_eq!(
                    (p.stream, status(&app, &recruiter, &p.id).await.as_str()),
                    ("mental-health-trusts", "reserve")
                );
                sift_reserve += 1;
            }
            "invited" => {
                let (c, s) = (b["centre"].as_str().unwrap().to_owned(), b["session"].as_str().unwrap().to_owned());
                let def = centre(&c);
                let session = def["sessions"].as_array().unwrap().iter().find(|x| x["id"] == s).unwrap().clone();
                let form: Value = sqlx::query("SELECT details FROM applications WHERE id = $1")
                    .bind(&p.id)
                    .fetch_one(app.db.pool())
                    .await
                    .map(|r| serde_json::from_str(&r.get::<String, _>("details")).unwrap())
                    .unwrap();
                // No candidate on a date they cannot attend, without the access they need, or
                // before an assessor from their employer.
                assert!(!form["unavailable_dates"].as_array().unwrap().contains(&def["date"]), "{}", p.label);
                for need in form["adjustments"].as_array().unwrap() {
                    assert!(session["provisions"].as_array().unwrap().contains(need), "{}", p.label);
                }
                if let Some(employer) = form["current_employer"].as_str() {
                    assert!(session["assessors"].as_array().unwrap().iter().all(|a| a["organisation"] != employer));
                }
                *seats.entry((c, s)).or_default() += 1;
                invited.push(p.clone());
            }
            "waiting_list" => {
                if p.label == "acute3" {
                    assert_eq!(b["reason"], "no session fits the dates, adjustments or conflicts");
                } else {
                    assert_eq!(b["reason"], "the sessions that fit are full");
                    full.push(p.clone());
                }
            }
            other => panic!("{}: {other}", p.label),
        }
    }
    assert_eq!((invited.len(), sift_reserve), (80, 2));
    assert_eq!(full.len(), 3);
    assert_eq!(seats.len(), 8, "every session used");
    assert!(seats.values().all(|n| *n == 10), "never over capacity: {seats:?}");
    assert_eq!(booking(&app, &find("acute0")).await["centre"], "ac-2", "step-free and not on 1 March");
    assert_eq!(booking(&app, &find("acute1")).await["centre"], "ac-1", "step-free, and the venue named first");
    assert_eq!(booking(&app, &find("acute2")).await["centre"], "ac-3", "no Barts assessor, and the date preferred");
    assert_eq!(booking(&app, &find("acute4")).await["centre"], "ac-4", "the preferred date");

    // One invitation each, with a calendar that parses: local London times with their zone.
    let emails = app.wait_for_emails(80, |e| e.contains("X-Fasttrack-Kind: ac_invitation")).await;
    assert_eq!(emails.len(), 80);
    for p in &invited {
        let uid = format!("UID:{}.{SCHEME}.ac@fasttrack", p.id);
        let mine: Vec<&String> = emails.iter().filter(|e| e.contains(&uid)).collect();
        assert_eq!(mine.len(), 1, "{}", p.label);
        let ics = calendar(mine[0]);
        let b = booking(&app, p).await;
        let date = b["date"].as_str().unwrap().replace('-', "");
        let start = if b["session"] == "am" { "090000" } else { "133000" };
        assert_eq!(ics.get("DTSTART").map(String::as_str), Some(format!("{date}T{start}").as_str()), "{}", p.label);
        assert_eq!(ics.get("SEQUENCE").map(String::as_str), Some("0"));
        assert_eq!(ics.get("METHOD").map(String::as_str), Some("REQUEST"));
        assert_eq!(ics.get("STATUS").map(String::as_str), Some("TENTATIVE"), "the seat is offered, not yet taken");
        assert!(ics.get("ATTENDEE").is_some_and(|a| a.starts_with("mailto:")), "{ics:?}");
    }

    // A decline is back-filled from the waiting list.
    let decliner = invited.iter().find(|p| p.label.starts_with("stp")).unwrap().clone();
    let (code, _) =
        post(&app, &format!("/api/v1/applications/{}/booking/decline", decliner.id), &decliner.token, json!({})).await;
    assert_eq!(code, 200);
    let filled = poll("the freed seat to be offered", async || {
        for p in &full {
            if booking(&app, p).await["state"] == "invited" {
                return Some(p.clone());
            }
        }
        None
    })
    .await;
    invited.retain(|p| p.id != decliner.id);
    invited.push(filled);
    for p in &invited {
        let (code, body) =
            post(&app, &format!("/api/v1/applications/{}/booking/accept", p.id), &p.token, json!({})).await;
        assert_eq!(code, 200, "{}: {body}", p.label);
    }

    // Assessors see only their sessions, name-blind (the pilot is); recruiters see names.
    let okafor = app.assessor_token(&format!("{SCHEME}:as-okafor")).await;
    // The same id in another scheme's centres is another person: the real pilot's Dr Okafor
    // sees nothing of this scheme.
    let namesake = app.assessor_token("london-imt-pilot:as-okafor").await;
    let theirs: Value =
        app.get(&format!("/api/v1/sessions?scheme={SCHEME}"), Some(&namesake)).await.json().await.unwrap();
    assert_eq!(theirs["sessions"], json!([]));
    assert_eq!(app.get(&format!("/api/v1/sessions/{SCHEME}:ac-1:am"), Some(&namesake)).await.status(), 403);
    let mine: Value = app.get(&format!("/api/v1/sessions?scheme={SCHEME}"), Some(&okafor)).await.json().await.unwrap();
    let keys: Vec<&str> = mine["sessions"].as_array().unwrap().iter().map(|s| s["key"].as_str().unwrap()).collect();
    assert_eq!(keys, [format!("{SCHEME}:ac-1:am"), format!("{SCHEME}:ac-1:pm")]);
    let view: Value = app.get(&format!("/api/v1/sessions/{SCHEME}:ac-1:am"), Some(&okafor)).await.json().await.unwrap();
    assert_eq!(view["candidates"].as_array().unwrap().len(), 10);
    assert!(view["candidates"][0].get("name").is_none() && !view.to_string().contains("Candidate "), "name-blind");
    assert_eq!(app.get(&format!("/api/v1/sessions/{SCHEME}:ac-2:am"), Some(&okafor)).await.status(), 403);
    let rview: Value =
        app.get(&format!("/api/v1/sessions/{SCHEME}:ac-1:am"), Some(&recruiter)).await.json().await.unwrap();
    assert!(rview["candidates"][0]["name"].as_str().unwrap().starts_with("Candidate "));

    // The plan of scores, per stream among those assessed: the first `places` score 4 and are
    // appointable; the next one scores 4 but is "not yet"; one reserve (R1) edges above the
    // other 3s; the last two score 2, not yet.
    let mut by_stream: BTreeMap<&str, Vec<Person>> = BTreeMap::new();
    for p in &invited {
        by_stream.entry(p.stream).or_default().push(p.clone());
    }
    let places = BTreeMap::from([("acute-trusts", 10), ("mental-health-trusts", 5), ("stp-programmes", 5)]);
    let mut expect: BTreeMap<String, &str> = BTreeMap::new();
    let mut best_reserve: BTreeMap<&str, String> = BTreeMap::new();
    let mut sheets: Vec<(Person, u8, Bump, &str)> = Vec::new();
    for (stream, list) in &by_stream {
        let k = places[stream];
        for (i, p) in list.iter().enumerate() {
            let (score, bump, overall, outcome) = if i < k {
                (4, None, "appointable", "offered")
            } else if i == k {
                (4, None, "not_yet", "rejected")
            } else if i == k + 1 {
                best_reserve.insert(*stream, p.id.clone());
                (3, Some((0, 4)), "appointable", "reserve")
            } else if i + 2 >= list.len() {
                (2, None, "not_yet", "rejected")
            } else {
                (3, None, "appointable", "reserve")
            };
            expect.insert(p.id.clone(), outcome);
            sheets.push((p.clone(), score, bump, overall));
        }
    }
    let panel: BTreeMap<String, String> = {
        let mut m = BTreeMap::new();
        for c in centres["centres"].as_array().unwrap() {
            for s in c["sessions"].as_array().unwrap() {
                m.insert(
                    format!("{}:{}", c["id"].as_str().unwrap(), s["id"].as_str().unwrap()),
                    s["assessors"][0]["id"].as_str().unwrap().to_owned(),
                );
            }
        }
        m
    };
    let mut tokens: BTreeMap<String, String> = BTreeMap::new();
    for who in panel.values() {
        if !tokens.contains_key(who) {
            tokens.insert(who.clone(), app.assessor_token(&format!("{SCHEME}:{who}")).await);
        }
    }
    let session_of = async |p: &Person| {
        let b = booking(&app, p).await;
        format!("{}:{}", b["centre"].as_str().unwrap(), b["session"].as_str().unwrap())
    };
    // A bad scoresheet is refused field by field, and a candidate from another session too.
    let first = &sheets[0].0;
    let s0 = session_of(first).await;
    let t0 = &tokens[&panel[&s0]];
    // Not before the session has happened.
    let (code, body) = post(
        &app,
        &format!("/api/v1/sessions/{SCHEME}:{s0}/scores"),
        t0,
        json!({"application_id": first.id, "overall": "appointable"}),
    )
    .await;
    assert_eq!(code, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("once it has started"), "{body}");
    // The last centre's day has passed.
    app.clock.set("2027-03-11T18:00:00Z".parse().unwrap());
    let (code, body) = post(&app, &format!("/api/v1/sessions/{SCHEME}:{s0}/scores"), t0,
        json!({"application_id": first.id, "scores": [{"exercise": "interview", "competency": "motivation", "score": 5}]})).await;
    assert_eq!(code, 422);
    assert_eq!(body["errors"][0]["field"], "scores[0].score", "{body}");
    // Each centre has its own panel, so any other panel's assessor is off this one.
    let off_panel = tokens.iter().find(|(who, _)| **who != panel[&s0]).unwrap().1;
    let (code, body) = post(
        &app,
        &format!("/api/v1/sessions/{SCHEME}:{s0}/scores"),
        off_panel,
        json!({"application_id": first.id, "overall": "appointable"}),
    )
    .await;
    assert_eq!(code, 403, "an assessor off the panel: {body}");

    for (n, (p, score, bump, overall)) in sheets.iter().enumerate() {
        let session = session_of(p).await;
        let token = &tokens[&panel[&session]];
        let mut scores: Vec<Value> = PAIRS
            .iter()
            .enumerate()
            .map(|(i, (x, c))| {
                let s = bump.filter(|(j, _)| *j == i).map_or(*score, |(_, v)| v);
                json!({"exercise": x, "competency": c, "score": s})
            })
            .collect();
        // The very first sheet goes in two parts, so the recruiter sees what is missing.
        let held_back = if n == 0 { scores.split_off(7) } else { Vec::new() };
        let (code, body) = post(
            &app,
            &format!("/api/v1/sessions/{SCHEME}:{session}/scores"),
            token,
            json!({"application_id": p.id, "scores": scores, "overall": overall}),
        )
        .await;
        assert_eq!(code, 200, "{body}");
        if n == 0 {
            assert_eq!(body["complete"], false);
            let results: Value =
                app.get(&format!("/api/v1/schemes/{SCHEME}/ac-results"), Some(&recruiter)).await.json().await.unwrap();
            let row =
                results["candidates"].as_array().unwrap().iter().find(|c| c["application_id"] == p.id).unwrap().clone();
            assert_eq!(row["missing_scores"], json!(["presentation: communication", "presentation: analysis"]));
            assert_eq!(status(&app, &recruiter, &p.id).await, "ac_booked");
            let (code, body) = post(
                &app,
                &format!("/api/v1/sessions/{SCHEME}:{session}/scores"),
                token,
                json!({"application_id": p.id, "scores": held_back}),
            )
            .await;
            assert_eq!((code, &body["complete"]), (200, &json!(true)), "{body}");
        } else {
            assert_eq!(body["complete"], true, "{body}");
        }
    }
    let results: Value =
        app.get(&format!("/api/v1/schemes/{SCHEME}/ac-results"), Some(&recruiter)).await.json().await.unwrap();
    assert_eq!((results["complete"].as_u64(), results["incomplete"].as_u64()), (Some(80), Some(0)));
    let r1 = &best_reserve["acute-trusts"];
    let row = results["candidates"].as_array().unwrap().iter().find(|c| c["application_id"] == *r1).unwrap().clone();
    // interview (4 + 3 + 3) / 3, then the mean with three exercises at 3: 3.0833…
    assert!((row["ac_score"].as_f64().unwrap() - (10.0 / 3.0 + 9.0) / 4.0).abs() < 1e-9, "{row}");

    // Decisions: 20 offers across the streams, each to the expected candidate.
    let (code, job) = post(&app, &format!("/api/v1/schemes/{SCHEME}/decisions"), &recruiter, json!({})).await;
    assert_eq!(code, 202);
    let decided = wait_for_job(&app, &recruiter, job["href"].as_str().unwrap()).await;
    assert_eq!(decided["result"]["decided"], 80, "{decided}");
    // HR figures up to the offers are frozen now (erasure later does not rewrite them).
    let frozen = fasttrack_core::store::metrics::frozen_stages(&app.db, SCHEME).await.unwrap();
    let offered_stage = fasttrack_core::metrics::STAGES.iter().position(|s| s.as_str() == "offered").unwrap();
    assert_eq!(frozen, offered_stage + 1);
    let mut orgs: BTreeMap<String, u32> = BTreeMap::new();
    for p in &invited {
        assert_eq!(status(&app, &recruiter, &p.id).await, expect[&p.id], "{}", p.label);
        if expect[&p.id] == "offered" {
            let offer: Value =
                app.get(&format!("/api/v1/applications/{}/offer", p.id), Some(&p.token)).await.json().await.unwrap();
            *orgs.entry(offer["organisation"].as_str().unwrap().to_owned()).or_default() += 1;
        }
    }
    let want: BTreeMap<String, u32> = [
        ("barts-health", 3),
        ("guys-st-thomas", 3),
        ("imperial-college-healthcare", 2),
        ("kings-college-hospital", 2),
        ("slam", 3),
        ("elft", 2),
        ("nel-stp", 3),
        ("sel-stp", 2),
    ]
    .into_iter()
    .map(|(o, n)| (o.to_owned(), n))
    .collect();
    assert_eq!(orgs, want, "20 places across the streams and organisations");
    let offered: Vec<&Person> = invited.iter().filter(|p| expect[&p.id] == "offered").collect();
    for p in &offered {
        app.wait_for_email_state(&p.id, "offer", "sent").await;
    }

    // An acute offer declined passes to R1, with the same organisation.
    let gone = offered.iter().find(|p| p.stream == "acute-trusts").unwrap();
    let gone_org: Value =
        app.get(&format!("/api/v1/applications/{}/offer", gone.id), Some(&gone.token)).await.json().await.unwrap();
    let (code, _) =
        post(&app, &format!("/api/v1/applications/{}/offer/decline", gone.id), &gone.token, json!({})).await;
    assert_eq!(code, 200);
    let r1p = invited.iter().find(|p| p.id == *r1).unwrap().clone();
    poll("the place to pass to the best reserve", async || {
        (status(&app, &recruiter, &r1p.id).await == "offered").then_some(())
    })
    .await;
    let r1_offer: Value =
        app.get(&format!("/api/v1/applications/{}/offer", r1p.id), Some(&r1p.token)).await.json().await.unwrap();
    assert_eq!(r1_offer["organisation"], gone_org["organisation"]);
    let standing: i64 = sqlx::query("SELECT COUNT(*) AS n FROM offers WHERE scheme_id = $1 AND state = 'offered'")
        .bind(SCHEME)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get("n");
    assert_eq!(standing, 20, "still exactly 20 places offered");

    // A mental-health candidate withdraws while holding an offer: that place passes on too.
    let leaver = offered.iter().find(|p| p.stream == "mental-health-trusts").unwrap();
    let res = app.client.delete(app.url(&format!("/api/v1/applications/{}", leaver.id))).bearer_auth(&leaver.token);
    assert_eq!(res.send().await.unwrap().status(), 200);
    let r_mh = invited.iter().find(|p| p.id == best_reserve["mental-health-trusts"]).unwrap().clone();
    poll("the withdrawn candidate's place to pass on", async || {
        (status(&app, &recruiter, &r_mh.id).await == "offered").then_some(())
    })
    .await;

    // Everyone else accepts; answers are taken once.
    let mut accepted: Vec<Person> =
        offered.iter().filter(|p| p.id != gone.id && p.id != leaver.id).map(|p| (*p).clone()).collect();
    accepted.push(r1p.clone());
    accepted.push(r_mh.clone());
    // The first accepts in the pages, from the link in their offer email; the rest through the API.
    let first = &accepted[0];
    let link = crate::pages::sign_in_links(&app, "offer", &first.id).pop().expect("the offer email has a sign-in link");
    let page = crate::pages::PageClient::new(&app);
    page.get(&link).await;
    let signed = page.post(&link, &[]).await;
    assert_eq!(signed.location, Some(format!("/applications/{}/offer", first.id)), "the link lands on the offer");
    let offer = page.get(&format!("/applications/{}/offer", first.id)).await;
    assert!(
        offer.html.contains("Accept the offer") && offer.html.contains("Waiting for your answer"),
        "{}",
        offer.html
    );
    let confirm = page.post(&format!("/applications/{}/offer", first.id), &[("action", "accept")]).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.html.contains("Are you sure you want to accept this offer?"), "a confirmation step");
    assert_eq!(status(&app, &recruiter, &first.id).await, "offered", "nothing changes before confirming");
    let done =
        page.post(&format!("/applications/{}/offer", first.id), &[("action", "accept"), ("confirm", "yes")]).await;
    assert_eq!(done.status, 303);
    assert!(page.get(&format!("/applications/{}/offer", first.id)).await.html.contains("Accepted"));
    for p in &accepted[1..] {
        let (code, _) = post(&app, &format!("/api/v1/applications/{}/offer/accept", p.id), &p.token, json!({})).await;
        assert_eq!(code, 200, "{}", p.label);
    }
    let (code, _) = post(&app, &format!("/api/v1/applications/{}/offer/accept", r1p.id), &r1p.token, json!({})).await;
    assert_eq!(code, 409);

    // Outcomes: placements, checkpoints and a leaver; each once, and only at the right stage.
    let hr = app.token(Role::Hr).await;
    let out = |p: &Person| format!("/api/v1/applications/{}/outcomes", p.id);
    let (code, body) = post(
        &app,
        &out(&full[0]),
        &hr,
        json!({"kind": "placement", "organisation": "slam", "start_date": "2027-09-06"}),
    )
    .await;
    assert_eq!(code, 409, "{body}");
    let (code, body) =
        post(&app, &out(&accepted[0]), &hr, json!({"kind": "placement", "organisation": "acme", "start_date": "soon"}))
            .await;
    assert_eq!(code, 422);
    assert_eq!(body["errors"].as_array().unwrap().len(), 2, "{body}");
    for (i, p) in accepted.iter().enumerate() {
        let offer: Value =
            app.get(&format!("/api/v1/applications/{}/offer", p.id), Some(&p.token)).await.json().await.unwrap();
        let (code, body) = post(
            &app,
            &out(p),
            &recruiter,
            json!({"kind": "placement", "organisation": offer["organisation"], "start_date": "2027-09-06"}),
        )
        .await;
        assert_eq!(code, 201, "{body}");
        assert_eq!(status(&app, &recruiter, &p.id).await, "placed");
        if i == 0 {
            // The 3-month checkpoint of a 6 September start falls on 6 December: not before.
            let (code, body) =
                post(&app, &out(p), &hr, json!({"kind": "checkpoint", "months": 3, "in_post": true})).await;
            assert_eq!(code, 409, "{body}");
            assert!(body["detail"].as_str().unwrap().contains("2027-12-06"), "{body}");
            app.clock.set("2027-12-07T09:00:00Z".parse().unwrap());
        }
        let in_post = i >= 5;
        let (code, _) = post(&app, &out(p), &hr, json!({"kind": "checkpoint", "months": 3, "in_post": in_post})).await;
        assert_eq!(code, 201);
        if !in_post {
            let destination = if i < 3 { "outside_nhs" } else { "another_nhs_role" };
            let (code, body) =
                post(&app, &out(p), &hr, json!({"kind": "left", "date": "2027-11-30", "destination": destination}))
                    .await;
            assert_eq!(code, 201);
            assert_eq!(body["outcomes"].as_array().unwrap().len(), 3, "{body}");
        }
    }
    let (code, _) =
        post(&app, &out(&accepted[0]), &hr, json!({"kind": "checkpoint", "months": 3, "in_post": true})).await;
    assert_eq!(code, 409, "a checkpoint is recorded once");
    // Records may not contradict each other: in post at 6 months after leaving in November.
    let (code, body) =
        post(&app, &out(&accepted[0]), &hr, json!({"kind": "checkpoint", "months": 6, "in_post": true})).await;
    assert_eq!(code, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("left on 2027-11-30"), "{body}");
    let (code, body) =
        post(&app, &format!("/api/v1/applications/{}/offer/decline", accepted[0].id), &accepted[0].token, json!({}))
            .await;
    assert_eq!(code, 409);
    assert!(body["detail"].as_str().unwrap().contains("placed"), "{body}");

    // What HR reads: 80 assessed and how many the panels rated appointable; 20 placed, 15 of
    // them in post at 3 months; 5 leavers, whose destinations (3 and 2) are too few to show.
    let profile: Value =
        app.get(&format!("/api/v1/schemes/{SCHEME}/metrics/profile"), Some(&hr)).await.json().await.unwrap();
    let p = &profile["profile"];
    let appointable = expect.values().filter(|o| **o != "rejected").count() as u64;
    assert_eq!(p["assessment_centre"]["assessed"], 80, "{}", p["assessment_centre"]);
    assert_eq!(p["assessment_centre"]["rated_appointable"], appointable);
    assert_eq!(p["assessment_centre"]["appointable_percent"], (appointable * 200 + 80) / 160);
    assert_eq!(p["retention"]["placed"], 20, "{}", p["retention"]);
    let three = &p["retention"]["checkpoints"][0];
    assert_eq!(
        (&three["months"], &three["recorded"], &three["in_post"], &three["in_post_percent"]),
        (&json!(3), &json!(20), &json!(15), &json!(75))
    );
    // At 6 months nothing is recorded yet, but the five who left in November are known not
    // to be in post.
    let six = &p["retention"]["checkpoints"][1];
    assert_eq!((&six["months"], &six["recorded"], &six["in_post"]), (&json!(6), &json!(5), &json!(0)));
    assert_eq!(p["retention"]["leavers"], 5);
    for d in p["retention"]["destinations"].as_array().unwrap() {
        let hidden = ["outside_nhs", "another_nhs_role"].contains(&d["destination"].as_str().unwrap());
        assert_eq!(d["leavers"], if hidden { json!("[c]") } else { json!(0) }, "{d}");
    }
    assert_eq!(p["offers_accepted"], 20);
    // Per stream, 3 were rated "not yet": hidden, and so is the appointable count beside it
    // (the stream's total would give the 3 away); the scheme's figures above stay shown.
    let acute: Value = app
        .get(&format!("/api/v1/schemes/{SCHEME}/metrics/profile?stream=acute-trusts"), Some(&hr))
        .await
        .json()
        .await
        .unwrap();
    let ac = &acute["profile"]["assessment_centre"];
    assert_eq!((&ac["rated_appointable"], &ac["appointable_percent"]), (&json!("[c]"), &json!("[c]")), "{ac}");
    assert!(ac["assessed"].is_u64(), "{ac}");

    // Every stream's funnel and the scheme's are protected together: for no stage and category
    // is exactly one of the four hidden (it would be the scheme's count minus the others').
    // The invariant as the API shows it; `disclosure::joint_tables_leave_nothing_to_subtract`
    // is the property test that fails if the joint protection is taken out.
    for by in ["age_band", "ethnicity", "disability", "degree_class"] {
        let mut views = Vec::new();
        for stream in ["", "&stream=acute-trusts", "&stream=mental-health-trusts", "&stream=stp-programmes"] {
            let url = format!("/api/v1/schemes/{SCHEME}/metrics/funnel?by={by}{stream}");
            let v: Value = app.get(&url, Some(&hr)).await.json().await.unwrap();
            views.push(v["funnel"].clone());
        }
        let rows = views[0]["rows"].as_array().unwrap().len();
        for r in 0..=rows {
            for stage in 0..views[0]["stages"].as_array().unwrap().len() {
                let cell = |v: &Value| {
                    if r < rows { v["rows"][r]["counts"][stage].clone() } else { v["totals"][stage].clone() }
                };
                let hidden = views.iter().filter(|v| cell(v) == "[c]").count();
                assert_ne!(hidden, 1, "{by}, row {r}, stage {stage}");
            }
        }
    }
    app.stop().await;
}

/// A decline while the decisions job runs must not be lost: asking for a running job marks
/// it to run once more when it finishes, instead of starting a second run beside it.
async fn a_job_asked_for_while_it_runs_runs_once_more(backend: Backend) {
    use fasttrack_core::store::jobs;
    let app = TestApp::spawn_with(backend, Options { parts: fasttrack::startup::API_ONLY, ..Default::default() }).await;
    let now = jiff::Timestamp::now();
    let (id, created) = jobs::create_or_existing(&app.db, "job-1", "decisions", "s", "test", now).await.unwrap();
    assert!(created);
    // Queued: a second request returns it and changes nothing (it has not read anything yet).
    assert_eq!(
        jobs::create_or_existing(&app.db, "job-2", "decisions", "s", "test", now).await.unwrap(),
        (id.clone(), false)
    );
    assert!(jobs::start(&app.db, &id, now, Duration::from_secs(60)).await.unwrap().is_some());
    assert!(!jobs::finish(&app.db, &id, &json!({}), now).await.unwrap(), "no request came: done");

    let (id, _) = jobs::create_or_existing(&app.db, "job-3", "decisions", "s", "test", now).await.unwrap();
    assert_eq!(id, "job-3");
    jobs::start(&app.db, &id, now, Duration::from_secs(60)).await.unwrap().unwrap();
    // Running: the request is remembered …
    assert_eq!(
        jobs::create_or_existing(&app.db, "job-4", "decisions", "s", "test", now).await.unwrap(),
        (id.clone(), false)
    );
    // … so finishing queues it again, and the next finish is final.
    assert!(jobs::finish(&app.db, &id, &json!({}), now).await.unwrap());
    assert_eq!(jobs::get(&app.db, &id).await.unwrap().unwrap().state, "queued");
    jobs::start(&app.db, &id, now, Duration::from_secs(60)).await.unwrap().unwrap();
    assert!(!jobs::finish(&app.db, &id, &json!({}), now).await.unwrap());
    assert_eq!(jobs::get(&app.db, &id).await.unwrap().unwrap().state, "done");

    // A run that fails after a request arrived is queued again rather than failed; without
    // a request it fails.
    let (id, _) = jobs::create_or_existing(&app.db, "job-5", "decisions", "s", "test", now).await.unwrap();
    jobs::start(&app.db, &id, now, Duration::from_secs(60)).await.unwrap().unwrap();
    jobs::create_or_existing(&app.db, "job-6", "decisions", "s", "system:pass-on", now).await.unwrap();
    assert!(jobs::fail(&app.db, &id, "boom", now).await.unwrap());
    let again = jobs::get(&app.db, &id).await.unwrap().unwrap();
    assert_eq!(
        (again.state.as_str(), again.created_by.as_str()),
        ("queued", "test"),
        "a system request keeps the person's run"
    );
    jobs::start(&app.db, &id, now, Duration::from_secs(60)).await.unwrap().unwrap();
    assert!(!jobs::fail(&app.db, &id, "boom", now).await.unwrap());
    assert_eq!(jobs::get(&app.db, &id).await.unwrap().unwrap().state, "failed");
    app.stop().await;
}

/// A worker killed in the middle of a job leaves its row `running`; once it has been silent
/// for `requeue_after`, the sweeper pushes it again and another worker takes it over and
/// finishes it (the writes are compare-and-set, so work done before the kill is not redone).
async fn a_job_whose_worker_died_is_finished_by_another(backend: Backend) {
    use fasttrack_core::store::jobs;
    let app = TestApp::spawn_with(
        backend,
        Options {
            env: vec![
                ("FASTTRACK__WORKERS__SWEEP_INTERVAL_SECS".into(), "1".into()),
                ("FASTTRACK__WORKERS__REQUEUE_AFTER_SECS".into(), "1".into()),
            ],
            ..Default::default()
        },
    )
    .await;
    let long_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(30);
    let (id, _) =
        jobs::create_or_existing(&app.db, "dead-run", "decisions", "london-imt-pilot", "test", long_ago).await.unwrap();
    // Its runner took it and died: no queue entry, the row says running.
    assert!(jobs::start(&app.db, &id, long_ago, Duration::from_secs(60)).await.unwrap().is_some());
    let recruiter = app.token(Role::Recruiter).await;
    let job = wait_for_job(&app, &recruiter, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(job["result"]["decided"], 0, "{job}");
    app.stop().await;
}

/// The first text/calendar part of an email, unfolded, as property → value: the calendar's
/// own properties and its event's (not its time zone's).
fn calendar(eml: &str) -> BTreeMap<String, String> {
    let eml = &crate::helpers::unquoted(eml);
    let start = eml.find("BEGIN:VCALENDAR").expect("a calendar");
    let end = eml[start..].find("END:VCALENDAR").unwrap() + start;
    let text = eml[start..end].replace("\r\n ", "").replace("\n ", "");
    let (head, rest) = text.split_once("BEGIN:VTIMEZONE").unwrap_or((&text, ""));
    let event = rest.split_once("BEGIN:VEVENT").map_or(rest, |(_, e)| e);
    let text = format!("{head}\n{event}");
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if let Some((k, v)) = line.trim_end_matches('\r').split_once(':') {
            let key = k.split(';').next().unwrap().to_owned();
            out.entry(key).or_insert_with(|| v.to_owned());
        }
    }
    out
}

both_backends!(
    the_london_pilot_runs_from_sift_to_offers_and_outcomes,
    a_job_asked_for_while_it_runs_runs_once_more,
    a_job_whose_worker_died_is_finished_by_another
);
