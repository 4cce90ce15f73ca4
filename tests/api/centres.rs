//! Assessment centres: the London pilot's four from its file, and recruiters adding more.

use fasttrack_core::Role;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, Options, TestApp, application, poll, wait_for_job};

async fn centres_are_loaded_listed_and_added(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let recruiter = app.token(Role::Recruiter).await;
    let path = "/api/v1/schemes/london-imt-pilot/assessment-centres";
    let listed: Value = app.get(path, Some(&recruiter)).await.json().await.unwrap();
    let centres = listed["centres"].as_array().unwrap();
    assert_eq!(centres.len(), 4, "the pilot's four all-day centres");
    assert_eq!(listed["seats"], 80);
    assert_eq!(centres[0]["sessions"][0]["provisions"], json!(["step_free_access", "quiet_room"]));

    let centre = json!({
        "id": "ac-5", "name": "Reserve centre", "venue": "virtual", "date": "2027-03-15",
        "sessions": [{"id": "am", "start": "09:00", "end": "12:00", "capacity": 8,
                      "exercises": [{"kind": "interview", "competencies": ["motivation"]}],
                      "assessors": [{"id": "as-x", "name": "A. Assessor", "organisation": "elft"}]}]
    });
    assert_eq!(app.post_json(path, Some(&recruiter), &centre).await.status(), 201);
    assert_eq!(app.post_json(path, Some(&recruiter), &centre).await.status(), 409);
    let listed: Value = app.get(path, Some(&recruiter)).await.json().await.unwrap();
    assert_eq!(listed["seats"], 88);

    let mut bad = centre.clone();
    bad["id"] = json!("ac-6");
    bad["sessions"][0]["end"] = json!("08:00");
    let res = app.post_json(path, Some(&recruiter), &bad).await;
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "sessions[0].end");

    // A group exercise can ask for a minimum group; it is listed with the session.
    let mut grouped = centre.clone();
    grouped["id"] = json!("ac-7");
    grouped["sessions"][0]["min_group"] = json!(9);
    let res = app.post_json(path, Some(&recruiter), &grouped).await;
    assert_eq!(res.status(), 422, "more than the 8 seats");
    assert_eq!(res.json::<Value>().await.unwrap()["errors"][0]["field"], "sessions[0].min_group");
    grouped["sessions"][0]["min_group"] = json!(4);
    assert_eq!(app.post_json(path, Some(&recruiter), &grouped).await.status(), 201);
    let listed: Value = app.get(path, Some(&recruiter)).await.json().await.unwrap();
    let added = listed["centres"].as_array().unwrap().iter().find(|c| c["id"] == "ac-7").unwrap();
    assert_eq!(added["sessions"][0]["min_group"], 4);
    app.stop().await;
}

/// A scheme closing tomorrow with one centre five days on (sessions `am` 09:00 and `pm`
/// 13:00, a seat each), and one shortlisted applicant with a seat offered. Returns (id, token).
pub(crate) async fn one_booked_candidate(app: &TestApp, recruiter: &str) -> (String, String) {
    one_booked_candidate_in(app, recruiter, json!({})).await
}

/// The "soon" scheme, with `extra` merged in at the top (organisations, a start date ...);
/// its one centre is five days away, each session seating one.
pub(crate) fn soon_scheme(app: &TestApp, extra: Value) -> Value {
    let now = app.clock.now();
    let closes = now + jiff::SignedDuration::from_hours(24);
    let day = app.clock.today().checked_add(jiff::Span::new().days(5)).unwrap();
    let mut scheme = json!({
        "id": "soon", "name": "Soon scheme", "opens_at": (now - jiff::SignedDuration::from_hours(24)).to_string(),
        "closes_at": closes.to_string(),
        "streams": [{"id": "acute-trusts", "name": "Acute", "ac_seats": 5}],
        "assessment_centres": [{"id": "c1", "name": "Leeds centre", "venue": "Leeds", "date": day.to_string(),
            "sessions": [
                {"id": "am", "start": "09:00", "end": "12:00", "capacity": 1, "provisions": ["step_free_access"],
                 "exercises": [{"kind": "interview", "competencies": ["motivation"]}],
                 "assessors": [{"id": "as-one", "name": "Dr Ada Okafor", "organisation": "elsewhere"}]},
                {"id": "pm", "start": "13:00", "end": "16:00", "capacity": 1, "provisions": ["step_free_access"],
                 "exercises": [{"kind": "interview", "competencies": ["motivation"]}]}]}]
    });
    for (k, v) in extra.as_object().unwrap() {
        scheme[k] = v.clone();
    }
    scheme
}

/// One applicant of the "soon" scheme (`extra` as for `soon_scheme`) invited to its morning
/// session: (application id, applicant token).
pub(crate) async fn one_booked_candidate_in(app: &TestApp, recruiter: &str, extra: Value) -> (String, String) {
    let scheme = soon_scheme(app, extra);
    let res = app.post_json("/api/v1/schemes", Some(recruiter), &scheme).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let mut body = crate::helpers::application("soon@example.ac.uk");
    body["stream_preferences"] = json!(["acute-trusts"]);
    let (id, token) = app.apply_ok("soon", &body).await;
    take_tests(app, &id, &token).await;
    // Test set-up shortcut: put the applicant where a sift would.
    sqlx::query("UPDATE applications SET status = 'shortlisted' WHERE id = $1")
        .bind(&id)
        .execute(app.db.pool())
        .await
        .unwrap();
    app.advance(jiff::SignedDuration::from_hours(25));
    let res = app.post_json("/api/v1/schemes/soon/schedule", Some(recruiter), &json!({})).await;
    assert_eq!(res.status(), 202);
    app.drain().await;
    let booking: Value =
        app.get(&format!("/api/v1/applications/{id}/booking"), Some(&token)).await.json().await.unwrap();
    assert_eq!((&booking["state"], &booking["session"]), (&json!("invited"), &json!("am")), "{booking}");
    (id, token)
}

/// Takes every online test the application has (answers of the right shape, whatever the
/// key) and lets the scorer score them.
pub(crate) async fn take_tests(app: &TestApp, id: &str, token: &str) {
    let base = format!("/api/v1/applications/{id}/tests");
    let res = app.get(&base, Some(token)).await;
    let list: Value = res.json().await.unwrap_or(json!([]));
    let Some(tests) = list.as_array().filter(|t| !t.is_empty()) else { return };
    for t in tests {
        let tid = t["id"].as_str().unwrap();
        let started: Value =
            app.post_json(&format!("{base}/{tid}/start"), Some(token), &json!({})).await.json().await.unwrap();
        let answer = |q: &Value| match q["kind"].as_str().unwrap() {
            "ranking" => json!((0..q["options"].as_array().unwrap().len()).collect::<Vec<_>>()),
            "best_n" => json!((0..q["pick"].as_u64().unwrap()).collect::<Vec<_>>()),
            _ => json!(0),
        };
        let answers: serde_json::Map<String, Value> = started["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| (q["id"].as_str().unwrap().to_owned(), answer(q)))
            .collect();
        let res = app.post_json(&format!("{base}/{tid}/responses"), Some(token), &json!({"answers": answers})).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    }
    app.drain().await;
}

/// A one-question test for the "soon" scheme (`"tests": [quiz()]`).
pub(crate) fn quiz() -> Value {
    json!({
        "id": "quiz", "name": "Quiz", "weight": 1.0, "cut_t": 0.0, "key_version": 1,
        "norm": {"mean": 0.5, "sd": 0.5, "version": "norm-1"},
        "items": [{"kind": "multiple_choice", "id": "q1", "stem": "Which?", "options": ["a", "b"], "key": 0}]
    })
}

/// A scheme with one place at one organisation, starting on 6 September 2027.
pub(crate) fn one_place() -> Value {
    json!({
        "organisations": [{"id": "leeds-th", "name": "Leeds Teaching Hospitals", "kind": "acute_trust"}],
        "streams": [{"id": "acute-trusts", "name": "Acute", "ac_seats": 5, "places": [{"organisation": "leeds-th", "count": 1}]}],
        "starts_on": "2027-09-06",
    })
}

/// After the seat of `one_booked_candidate_in(…, one_place())` was accepted: the day passes,
/// the panel rates the candidate appointable, and the decisions job offers them the place.
pub(crate) async fn assess_and_offer(app: &TestApp, recruiter: &str, id: &str) {
    app.advance(jiff::SignedDuration::from_hours(24 * 6));
    let assessor = app.assessor_token("soon:as-one").await;
    let res = app
        .post_json(
            "/api/v1/sessions/soon:c1:am/scores",
            Some(&assessor),
            &json!({"application_id": id, "overall": "appointable",
                "scores": [{"exercise": "interview", "competency": "motivation", "score": 4}]}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = app.post_json("/api/v1/schemes/soon/decisions", Some(recruiter), &json!({})).await;
    assert_eq!(res.status(), 202);
    let job: Value = res.json().await.unwrap();
    app.drain().await;
    let done: Value = app.get(job["href"].as_str().unwrap(), Some(recruiter)).await.json().await.unwrap();
    assert_eq!(
        (&done["state"], &done["result"]["streams"]["acute-trusts"]["offer"]),
        (&json!("done"), &json!(1)),
        "{done}"
    );
}

/// A booking state the code does not know cannot be written: CHECK constraints (triggers
/// on SQLite) that list exactly `BookingState::ALL`.
async fn a_booking_state_outside_the_enum_is_refused_by_the_database(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let recruiter = app.token(Role::Recruiter).await;
    let (id, _) = one_booked_candidate(&app, &recruiter).await;
    let set = async |state: &str| {
        sqlx::query("UPDATE bookings SET state = $1 WHERE application_id = $2")
            .bind(state)
            .bind(&id)
            .execute(app.db.pool())
            .await
    };
    let err = set("maybe").await.expect_err("an unknown state is refused");
    assert!(err.to_string().contains("bookings_state_check"), "{err}");
    for state in fasttrack_core::centres::BookingState::ALL {
        set(state.as_str()).await.unwrap_or_else(|e| panic!("{state}: {e}"));
    }
    app.stop().await;
}

fn reminders(app: &TestApp) -> Vec<String> {
    app.sent_emails().into_iter().filter(|e| e.contains("X-Fasttrack-Kind: ac_reminder")).collect()
}

async fn a_reminder_goes_once_48_hours_before_the_session(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let recruiter = app.token(Role::Recruiter).await;
    let (id, _) = one_booked_candidate(&app, &recruiter).await;
    assert_eq!(reminders(&app).len(), 0, "not yet: the session is four days away");
    app.advance(jiff::SignedDuration::from_hours(3 * 24));
    let drained = app.drain().await;
    assert_eq!(drained.reminders, 1);
    let sent = reminders(&app);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains("09:00"), "{}", sent[0]);
    // More passes, and more time: still exactly one reminder.
    app.advance(jiff::SignedDuration::from_hours(6));
    assert_eq!(app.drain().await.reminders, 0);
    assert_eq!(reminders(&app).len(), 1);
    assert_eq!(app.email_state(&id, "ac_reminder").await.unwrap().0, "sent");
    app.stop().await;
}

/// A reminder found due but not written (the pass failed half-way) is not lost: the
/// marking and the email commit together.
async fn a_reminder_pass_that_fails_half_way_loses_no_reminder(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let recruiter = app.token(Role::Recruiter).await;
    let (id, _) = one_booked_candidate(&app, &recruiter).await;
    app.advance(jiff::SignedDuration::from_hours(3 * 24));
    // Break the pass after the due bookings are found: the scheme's centres cannot be read.
    let saved: String = sqlx::query_scalar("SELECT definition FROM assessment_centres WHERE scheme_id = 'soon'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let set = async |definition: &str| {
        sqlx::query("UPDATE assessment_centres SET definition = $1 WHERE scheme_id = 'soon'")
            .bind(definition)
            .execute(app.db.pool())
            .await
            .unwrap();
    };
    set("not json").await;
    assert!(fasttrack_workers::schedule::send_reminders(&app.ctx()).await.is_err());
    set(&saved).await;
    assert_eq!(app.drain().await.reminders, 1, "the next pass writes the reminder");
    assert_eq!(reminders(&app).len(), 1);
    assert_eq!(app.email_state(&id, "ac_reminder").await.unwrap().0, "sent");
    app.stop().await;
}

/// A candidate moved inside the 48-hour window is reminded of the session they hold, and a
/// reminder of the one they left that had not gone yet never goes.
async fn a_candidate_moved_inside_the_reminder_window_is_reminded_of_the_new_session(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let recruiter = app.token(Role::Recruiter).await;
    let (id, token) = one_booked_candidate(&app, &recruiter).await;
    app.advance(jiff::SignedDuration::from_hours(3 * 24));
    let res = app.post_json(&format!("/api/v1/applications/{id}/booking/rebook"), Some(&token), &json!({})).await;
    assert_eq!(res.status(), 202);
    let res = app.post_json("/api/v1/schemes/soon/schedule", Some(&recruiter), &json!({})).await;
    assert_eq!(res.status(), 202);
    // One drain: the reminder of `am` is written, then the move to `pm`, then the reminder
    // of `pm`, then the emails go.
    app.drain().await;
    let booking: Value =
        app.get(&format!("/api/v1/applications/{id}/booking"), Some(&token)).await.json().await.unwrap();
    assert_eq!(booking["session"], "pm", "{booking}");
    let sent = reminders(&app);
    assert_eq!(sent.len(), 1, "one reminder, of the session they hold");
    assert!(sent[0].contains("13:00") && !sent[0].contains("09:00"), "{}", sent[0]);
    app.stop().await;
}

fn session(id: &str, capacity: u32) -> Value {
    json!({"id": id, "start": "09:00", "end": "12:00", "capacity": capacity,
           "exercises": [{"kind": "interview", "competencies": ["motivation"]}],
           "assessors": [{"id": format!("as-{id}"), "name": "A. Assessor", "organisation": "elft"}]})
}

/// Three shortlisted candidates in three seats; one asks to move. With no other seat free they
/// keep theirs; when a recruiter adds a session, the scheduler moves them there and sends the
/// updated calendar (same event, SEQUENCE 1), and they must accept the new seat.
async fn a_candidate_can_ask_to_move_and_is_moved_when_a_seat_frees(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Options { env: vec![("FASTTRACK__WEBHOOKS__PROVIDERS__ACME".into(), "s3cret".into())], ..Default::default() },
    )
    .await;
    let recruiter = app.token(Role::Recruiter).await;
    let closes = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
    // c0 is two days after closing; by the sift (four days on) it is in the past.
    let c0_day = app.clock.today().checked_add(jiff::Span::new().days(2)).unwrap();
    let scheme = json!({
        "id": "rebook", "name": "Rebooking scheme", "opens_at": "2026-01-01T00:00:00Z", "closes_at": closes.to_string(),
        "streams": [{"id": "alpha", "name": "Alpha", "ac_seats": 3, "reserve": 1}],
        "tests": [{"id": "quiz", "name": "Quiz", "weight": 1.0, "cut_t": 0.0, "key_version": 1,
                   "norm": {"mean": 0.5, "sd": 0.5, "version": "n1"},
                   "items": [{"kind": "multiple_choice", "id": "q1", "stem": "?", "options": ["a", "b"], "key": 0}]}],
        // c0 is in the past: its free seats are never offered.
        "assessment_centres": [{"id": "c0", "name": "Centre 0", "venue": "York", "date": c0_day.to_string(),
                                "sessions": [session("early", 5)]},
                               {"id": "c1", "name": "Centre 1", "venue": "Leeds", "date": "2027-06-01",
                                "sessions": [session("am", 2), session("pm", 1)]}]
    });
    assert_eq!(app.post_json("/api/v1/schemes", Some(&recruiter), &scheme).await.status(), 201);
    let mut people = Vec::new();
    // The fourth scores lower and goes to the sift's reserve list.
    for n in 0..4 {
        let mut body = application(&format!("r{n}@example.ac.uk"));
        body["stream_preferences"] = json!(["alpha"]);
        body["adjustments"] = json!([]);
        body["unavailable_dates"] = json!([]);
        let (id, token) = app.apply_ok("rebook", &body).await;
        let res = app.deliver_result(&id, &id, "quiz", i64::from(n < 3)).await;
        assert_eq!(res.status(), 202);
        people.push((id, token));
    }
    let status = async |id: &str| -> String {
        let v: Value = app.get(&format!("/api/v1/applications/{id}"), Some(&recruiter)).await.json().await.unwrap();
        v["status"].as_str().unwrap().to_owned()
    };
    for (id, _) in &people {
        poll("scoring", async || (status(id).await == "scored").then_some(())).await;
    }
    app.advance(jiff::SignedDuration::from_hours(4 * 24));
    let sift: Value = {
        let r = app.post_json("/api/v1/schemes/rebook/sift", Some(&recruiter), &json!({})).await;
        assert_eq!(r.status(), 202);
        r.json().await.unwrap()
    };
    wait_for_job(&app, &recruiter, sift["href"].as_str().unwrap()).await;
    let schedule = async || {
        let r = app.post_json("/api/v1/schemes/rebook/schedule", Some(&recruiter), &json!({})).await;
        assert_eq!(r.status(), 202);
        let job: Value = r.json().await.unwrap();
        wait_for_job(&app, &recruiter, job["href"].as_str().unwrap()).await
    };
    let done = schedule().await;
    assert_eq!(done["result"]["placed"], 3, "{done}");

    let booking = async |id: &str, token: &str| -> Value {
        app.get(&format!("/api/v1/applications/{id}/booking"), Some(token)).await.json().await.unwrap()
    };
    for (id, token) in people.iter().take(3) {
        assert_eq!(booking(id, token).await["centre"], "c1", "never a session in the past");
    }
    let (reserve_id, reserve_token) = people.pop().unwrap();
    assert_eq!(status(&reserve_id).await, "reserve");
    let mut mover = None;
    for (id, token) in &people {
        if booking(id, token).await["session"] == "am" {
            mover = Some((id.clone(), token.clone()));
        }
    }
    let (id, token) = mover.unwrap();
    let accepted = app.post_json(&format!("/api/v1/applications/{id}/booking/accept"), Some(&token), &json!({})).await;
    assert_eq!(accepted.status(), 200);
    let before = booking(&id, &token).await;
    let res = app.post_json(&format!("/api/v1/applications/{id}/booking/rebook"), Some(&token), &json!({})).await;
    assert_eq!(res.status(), 202);
    // Every seat is taken: they keep theirs, still asking.
    let still = poll("the rebooking run", async || {
        let b = booking(&id, &token).await;
        let job: Option<String> = sqlx::query_scalar(
            "SELECT state FROM jobs WHERE scheme_id = 'rebook' AND kind = 'schedule' ORDER BY created_at DESC LIMIT 1",
        )
        .fetch_optional(app.db.pool())
        .await
        .unwrap();
        (job.as_deref() == Some("done")).then_some(b)
    })
    .await;
    assert_eq!(
        (&still["session"], &still["state"], &still["rebook_requested"]),
        (&json!("am"), &json!("accepted"), &json!(true))
    );

    // Only a booked candidate can be a no-show: this one has not accepted.
    let unbooked = people.iter().find(|(p, _)| *p != id).unwrap();
    let res =
        app.post_json(&format!("/api/v1/applications/{}/no-show", unbooked.0), Some(&recruiter), &json!({})).await;
    assert_eq!(res.status(), 409);
    let (other, other_token) = unbooked;
    let url = format!("/api/v1/applications/{other}/booking/accept");
    assert_eq!(app.post_json(&url, Some(other_token), &json!({})).await.status(), 200);
    let no_show =
        async || app.post_json(&format!("/api/v1/applications/{other}/no-show"), Some(&recruiter), &json!({})).await;
    assert_eq!(no_show().await.status(), 409, "not before the session has started");
    // The session starts (the clock moved on).
    sqlx::query("UPDATE bookings SET starts_at = $1 WHERE application_id = $2")
        .bind((jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1)).as_millisecond())
        .bind(other)
        .execute(app.db.pool())
        .await
        .unwrap();
    for _ in 0..2 {
        assert_eq!(no_show().await.status(), 200, "recorded, and again without change");
    }
    assert_eq!(status(other).await, "no_show");

    // A recruiter adds a session a week later; the next run moves them there.
    let centre = json!({"id": "c2", "name": "Centre 2", "venue": "virtual", "date": "2027-06-08",
                        "sessions": [session("am", 1)]});
    let path = "/api/v1/schemes/rebook/assessment-centres";
    assert_eq!(app.post_json(path, Some(&recruiter), &centre).await.status(), 201);
    let done = schedule().await;
    assert_eq!((&done["result"]["moved"], &done["result"]["placed"]), (&json!(1), &json!(0)), "{done}");
    let after = booking(&id, &token).await;
    assert_eq!(
        (&after["centre"], &after["state"], &after["rebook_requested"]),
        (&json!("c2"), &json!("invited"), &json!(false))
    );
    assert_eq!(after["uid"], before["uid"], "the same calendar event");
    assert_eq!(after["sequence"].as_i64(), Some(before["sequence"].as_i64().unwrap() + 1));
    assert_eq!(status(&id).await, "ac_invited", "the new seat is to be accepted");
    let uid = format!("UID:{}", before["uid"].as_str().unwrap());
    let mails = app.wait_for_emails(2, |e| e.contains(&uid)).await;
    let mails: Vec<String> = mails.iter().map(|e| crate::helpers::unquoted(e)).collect();
    let moved = mails
        .iter()
        .find(|e| e.contains("DTSTART;TZID=Europe/London:20270608T090000"))
        .expect("the updated invitation");
    assert!(moved.contains(&format!("SEQUENCE:{}", after["sequence"])) && moved.contains("has moved"), "{moved}");
    // They decline after all: nothing to move any more, and the stream is one short, so its
    // reserve is called up and given the seat.
    let again = app.post_json(&format!("/api/v1/applications/{id}/booking/decline"), Some(&token), &json!({})).await;
    assert_eq!(again.status(), 200);
    let gone = app.post_json(&format!("/api/v1/applications/{id}/booking/rebook"), Some(&token), &json!({})).await;
    assert_eq!(gone.status(), 409);
    let called = poll("the reserve to be called up and seated", async || {
        let b = booking(&reserve_id, &reserve_token).await;
        (b["state"] == "invited").then_some(b)
    })
    .await;
    // Two seats are free now (the one they moved out of, and the one they declined), and
    // five in the past that are not offered.
    assert_eq!(called["session"], "am");

    // The reserve withdraws: the seat is cancelled (no reminder, off the session's list).
    let res = app.client.delete(app.url(&format!("/api/v1/applications/{reserve_id}"))).bearer_auth(&reserve_token);
    assert_eq!(res.send().await.unwrap().status(), 200);
    assert_eq!(booking(&reserve_id, &reserve_token).await["state"], "cancelled");
    let key = format!("rebook:{}:am", called["centre"].as_str().unwrap());
    let view: Value = app.get(&format!("/api/v1/sessions/{key}"), Some(&recruiter)).await.json().await.unwrap();
    assert!(!view.to_string().contains(&reserve_id), "{view}");
    app.wait_for_email_state(&reserve_id, "shortlisted", "sent").await;
    app.stop().await;
}

both_backends!(
    a_candidate_can_ask_to_move_and_is_moved_when_a_seat_frees,
    centres_are_loaded_listed_and_added,
    a_reminder_goes_once_48_hours_before_the_session,
    a_booking_state_outside_the_enum_is_refused_by_the_database,
    a_reminder_pass_that_fails_half_way_loses_no_reminder,
    a_candidate_moved_inside_the_reminder_window_is_reminded_of_the_new_session
);
