//! Staff accounts and the staff pages (SPEC §2, §7), over HTTP: signing in with an emailed
//! one-time link, sessions that expire and end, the role matrix over every staff page, and
//! recruiters, assessors and admins doing their work in pages.

use fasttrack_core::Role;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, Options, TestApp};
use crate::pages::{Page, PageClient};

/// The staff sign-in links emailed to `to`, oldest first, as paths of the site.
pub fn staff_links(app: &TestApp, to: &str) -> Vec<String> {
    app.sent_emails()
        .iter()
        .filter(|e| e.contains("X-Fasttrack-Kind: staff_sign_in") && e.contains(to))
        .filter_map(|e| {
            let at = e.find("/staff/sign-in/")?;
            let token: String =
                e[at + 15..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
            Some(format!("/staff/sign-in/{token}"))
        })
        .collect()
}

/// A member of staff with an account, signed in on a browser of their own (the link minted
/// as the emails mint it, then used through the page).
pub async fn signed_in(app: &TestApp, role: Role, assessor: Option<&str>) -> PageClient {
    let email = format!("{}-{}@nhs.example", role.as_str(), uuid::Uuid::now_v7().simple());
    let new =
        fasttrack_core::staff::check(&email, &format!("Test {}", role.as_str()), role.as_str(), assessor.unwrap_or(""))
            .unwrap();
    let now = app.clock.now();
    let acc = fasttrack_core::store::staff::create(&app.db, &new, "test", now).await.unwrap();
    let link = fasttrack_core::store::staff::mint_links(
        &app.db,
        &[(acc.id, "/staff".into())],
        now,
        jiff::SignedDuration::from_hours(1),
    )
    .await
    .unwrap()
    .remove(0);
    let page = PageClient::new(app);
    page.get(&format!("/staff/sign-in/{link}")).await;
    let p = page.post(&format!("/staff/sign-in/{link}"), &[]).await;
    assert_eq!(p.status, 303, "{}", p.html);
    page
}

/// A category of the White/BME split in the pages' words.
pub fn category_words(code: &str) -> &'static str {
    match code {
        "white" => "White",
        "bme" => "Black, Asian and minority ethnic (BME)",
        "prefer_not_to_say" => "Prefer not to say",
        "not_answered" => "Not answered",
        _ => "?",
    }
}

pub fn text(p: &Page) -> String {
    // Markup out, entities that matter in, whitespace folded: what a reader sees.
    let mut out = String::new();
    let mut inside = false;
    for c in p.html.chars() {
        match c {
            '<' => inside = true,
            '>' => {
                inside = false;
                out.push(' ');
            }
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

async fn a_member_of_staff_signs_in_once_from_an_emailed_link_and_the_session_ends(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let admin = app.token(Role::Admin).await;
    let body = json!({"email": "Priya.Shah@nhs.example", "name": "Priya Shah", "role": "recruiter"});
    let res = app.post_json("/api/v1/admin/staff", Some(&admin), &body).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let again = app
        .post_json(
            "/api/v1/admin/staff",
            Some(&admin),
            &json!({"email": "priya.shah@NHS.example ", "name": "P", "role": "hr"}),
        )
        .await;
    assert_eq!(again.status(), 422, "one account per address, whatever its case");
    let problem: Value = again.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "email", "{problem}");

    let page = PageClient::new(&app);
    let p = page.get("/staff").await;
    assert_eq!((p.status, p.location.as_deref()), (303, Some("/staff/sign-in?next=%2Fstaff")));
    let p = page.get("/staff/sign-in?next=%2Fstaff").await;
    assert_eq!(p.status, 401);
    assert!(p.errors().iter().any(|e| e.contains("Sign in to see this page")), "{:?}", p.errors());
    let p = page.post("/staff/sign-in", &[("email", "")]).await;
    assert_eq!((p.status, p.errors()), (422, vec!["Enter your email address".to_owned()]));
    // The same answer for an address with no account: the page tells nobody who works here.
    let unknown = page.post("/staff/sign-in", &[("email", "nobody@nhs.example"), ("next", "/staff")]).await;
    let known = page.post("/staff/sign-in", &[("email", " PRIYA.SHAH@nhs.example"), ("next", "/staff")]).await;
    assert_eq!((unknown.status, known.status), (200, 200));
    assert_eq!(text(&unknown).replace("nobody@nhs.example", "X"), text(&known).replace("PRIYA.SHAH@nhs.example", "X"));
    app.drain().await;
    let links = staff_links(&app, "Priya.Shah@nhs.example");
    assert_eq!(links.len(), 1, "one email, to the address the account holds");
    assert!(!app.sent_emails().iter().any(|e| e.contains("nobody@nhs.example")));
    let link = &links[0];

    // Opening the link does not use it (mail scanners open links); the button does.
    let p = page.get(link).await;
    assert_eq!(p.status, 200);
    let p = page.post(link, &[]).await;
    assert_eq!((p.status, p.location.as_deref()), (303, Some("/staff")));
    let home = page.get("/staff").await;
    assert_eq!(home.status, 200);
    let session = page.cookie("ft_staff").expect("a staff session cookie");
    assert_eq!(
        app.get("/api/v1/schemes/gmts/applications", Some(&session)).await.status(),
        401,
        "a session is not an API token"
    );
    let seen = text(&home);
    assert!(
        seen.contains("Priya Shah (recruiter)") && seen.contains("London Graduate IM&T Fast Track (pilot)"),
        "{seen}"
    );
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM staff_links WHERE used_at IS NOT NULL")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(stored, 1);
    let other = PageClient::new(&app);
    other.get(link).await;
    assert_eq!(other.post(link, &[]).await.status, 410, "a link works once");

    // Signing out ends the session at once.
    let p = page.post("/staff/sign-out", &[]).await;
    assert_eq!((p.status, p.location.as_deref()), (303, Some("/staff/sign-in?signed_out=1")));
    assert_eq!(page.get("/staff").await.status, 303);

    // A session expires on its own.
    let later = signed_in(&app, Role::Recruiter, None).await;
    assert_eq!(later.get("/staff").await.status, 200);
    app.advance(app.settings.pages.session_ttl() + jiff::SignedDuration::from_mins(1));
    assert_eq!(later.get("/staff").await.status, 303, "the session has expired");

    // Disabling an account ends its sessions and its links.
    let third = signed_in(&app, Role::Hr, None).await;
    assert_eq!(third.get("/staff").await.status, 200);
    let accounts: Value = app.get("/api/v1/admin/staff", Some(&admin)).await.json().await.unwrap();
    let hr = accounts.as_array().unwrap().iter().find(|a| a["role"] == "hr").unwrap();
    let res = app
        .post_json(&format!("/api/v1/admin/staff/{}/disable", hr["id"].as_str().unwrap()), Some(&admin), &json!({}))
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(third.get("/staff").await.status, 303, "a disabled account's session ends");
    app.stop().await;
}

/// Every staff page route, and who may open it (GET); the rest get 403, nobody the sign-in.
const PAGES: &[(&str, &[&str])] = &[
    ("/staff", &["recruiter", "hr", "admin"]),
    ("/staff/schemes/soon", &["recruiter"]),
    ("/staff/schemes/soon/applicants", &["recruiter"]),
    ("/staff/schemes/soon/applicants.csv", &["recruiter"]),
    ("/staff/applications/{id}", &["recruiter"]),
    ("/staff/jobs/{job}", &["recruiter", "hr", "admin"]),
    ("/staff/schemes/soon/centres", &["recruiter", "admin"]),
    ("/staff/sessions", &["recruiter", "assessor", "admin"]),
    ("/staff/sessions/soon:c1:am", &["recruiter", "assessor", "admin"]),
    ("/staff/sessions/soon:c1:am/sheets/{id}", &["assessor"]),
    ("/staff/admin/staff", &["admin"]),
    ("/staff/admin/tokens", &["admin"]),
    ("/staff/admin/emails", &["admin"]),
    ("/staff/schemes/soon/report", &["hr", "admin"]),
    ("/staff/schemes/soon/report/funnel", &["hr", "admin"]),
    ("/staff/schemes/soon/report/equality", &["hr", "admin"]),
    ("/staff/schemes/soon/report/print", &["hr", "admin"]),
    ("/staff/schemes/soon/report/csv/funnel?by=sex", &["hr", "admin"]),
    ("/staff/surveys", &["hr", "admin"]),
    ("/staff/surveys/{survey}", &["hr", "admin"]),
    ("/staff/surveys/{survey}/tables.csv", &["hr", "admin"]),
];

/// Forms: (path, who may). Those refused must change nothing; those allowed are walked in
/// the flow tests below.
const FORMS: &[(&str, &[&str])] = &[
    ("/staff/schemes/soon/run/sift", &["recruiter", "admin"]),
    ("/staff/schemes/soon/run/schedule", &["recruiter", "admin"]),
    ("/staff/schemes/soon/run/decisions", &["recruiter", "admin"]),
    ("/staff/schemes/soon/applicants", &["recruiter"]),
    ("/staff/applications/{id}/no-show", &["recruiter", "admin"]),
    ("/staff/applications/{id}/dc-override", &["recruiter", "admin"]),
    ("/staff/applications/{id}/outcome", &["recruiter", "hr", "admin"]),
    ("/staff/applications/{id}/resend", &["recruiter", "admin"]),
    ("/staff/schemes/soon/centres", &["recruiter", "admin"]),
    ("/staff/schemes/soon/centres/sessions", &["recruiter", "admin"]),
    ("/staff/sessions/soon:c1:am/sheets/{id}", &["assessor"]),
    ("/staff/admin/staff", &["admin"]),
    ("/staff/admin/staff/{staff}/disable", &["admin"]),
    ("/staff/admin/tokens", &["admin"]),
    ("/staff/admin/tokens/{token}/revoke", &["admin"]),
    ("/staff/admin/emails/{email}/retry", &["admin"]),
    ("/staff/surveys", &["hr", "admin"]),
];

/// A matrix path as the route pattern it exercises.
fn pattern(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let mut p = path
        .replace("/report/csv/funnel", "/report/csv/{what}")
        .replace("soon:c1:am", "{session}")
        .replace("/schemes/soon", "/schemes/{scheme}")
        .replace("{staff}", "{id}")
        .replace("{token}", "{id}")
        .replace("{email}", "{id}");
    for kind in ["sift", "schedule", "decisions"] {
        p = p.replace(&format!("/run/{kind}"), "/run/{kind}");
    }
    for action in ["no-show", "dc-override", "outcome", "resend"] {
        p = p.replace(&format!("/applications/{{id}}/{action}"), "/applications/{id}/{action}");
    }
    p
}

#[test]
fn every_staff_route_is_in_the_matrix() {
    let listed: Vec<String> = PAGES
        .iter()
        .map(|(p, _)| format!("get {}", pattern(p)))
        .chain(FORMS.iter().map(|(p, _)| format!("post {}", pattern(p))))
        .collect();
    let routes = include_str!("../../src/pages/staff/mod.rs");
    let mut seen = 0;
    for line in routes.lines().map(str::trim).filter(|l| l.contains(".route(\"/staff")) {
        let path = line.split('"').nth(1).unwrap();
        let method = if line.contains("web::get()") { "get" } else { "post" };
        seen += 1;
        if path.starts_with("/staff/sign-") {
            continue; // signing in and out: tested above, open to all
        }
        assert!(
            listed.contains(&format!("{method} {path}")),
            "{method} {path} is not in the matrix of tests/api/staff.rs"
        );
    }
    assert!(seen > 20, "the routes were read ({seen})");
}

async fn every_staff_page_asks_the_role_matrix(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let recruiter_token = app.token(Role::Recruiter).await;
    let (id, _) = crate::centres::one_booked_candidate_in(&app, &recruiter_token, json!({})).await;
    let job: String = sqlx::query_scalar("SELECT id FROM jobs WHERE scheme_id = 'soon' LIMIT 1")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let hr_token = app.token(Role::Hr).await;
    let survey = app
        .post_json(
            "/api/v1/surveys",
            Some(&hr_token),
            &json!({"title": "T", "questions": [{"id": "q", "text": "Q", "options": ["Yes", "No"]}],
            "groups": [{"id": "cohort", "name": "Cohort", "options": ["A", "B"]}]}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut who: Vec<(&str, Option<PageClient>)> = vec![("nobody", None)];
    for (name, role, assessor) in [
        ("recruiter", Role::Recruiter, None),
        ("assessor", Role::Assessor, Some("soon:as-one")),
        ("hr", Role::Hr, None),
        ("admin", Role::Admin, None),
    ] {
        who.push((name, Some(signed_in(&app, role, assessor).await)));
    }
    let fill = |p: &str| p.replace("{id}", &id).replace("{job}", &job).replace("{survey}", &survey);
    for (path, allowed) in PAGES {
        let path = fill(path);
        for (name, client) in &who {
            let Some(client) = client else {
                let p = PageClient::new(&app).get(&path).await;
                assert_eq!(p.status, 303, "nobody: GET {path}");
                assert!(p.location.as_deref().unwrap().starts_with("/staff/sign-in?next="), "{path}");
                continue;
            };
            let p = client.get(&path).await;
            let want = match (allowed.contains(name), *name, path.as_str()) {
                (false, "assessor", "/staff") => 303, // an assessor's home is their sessions
                (true, _, _) => 200,
                (false, _, _) => 403,
            };
            assert_eq!(p.status, want, "{name}: GET {path}: {}", &p.html[..p.html.len().min(400)]);
            if want == 403 {
                assert!(p.html.contains("You do not have access to this page"), "{name}: {path}");
            }
        }
    }
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(app.db.pool()).await.unwrap();
    let jobs_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs").fetch_one(app.db.pool()).await.unwrap();
    let fill = |p: &str| p.replace("{id}", &id).replace("{staff}", "x").replace("{token}", "x").replace("{email}", "x");
    for (path, allowed) in FORMS {
        let path = fill(path);
        for (name, client) in &who {
            match client {
                None => {
                    let nobody = PageClient::new(&app);
                    nobody.get("/staff/sign-in").await; // a browser's CSRF token, and no session
                    let p = nobody.post(&path, &[("action", "export"), ("id", &id)]).await;
                    assert_eq!(p.status, 303, "nobody: POST {path}");
                    assert!(p.location.as_deref().unwrap().starts_with("/staff/sign-in?next="), "{path}");
                }
                Some(c) if !allowed.contains(name) => {
                    let p = c.post(&path, &[("action", "export"), ("id", &id)]).await;
                    assert_eq!(p.status, 403, "{name}: POST {path}");
                }
                Some(_) => {}
            }
        }
    }
    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(app.db.pool()).await.unwrap();
    let jobs_after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!((after, jobs_after), (before, jobs_before), "a refused form changes nothing");
    app.stop().await;
}

async fn a_recruiter_finds_an_applicant_and_runs_the_stages_in_pages(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let recruiter_token = app.token(Role::Recruiter).await;
    let mut extra = crate::centres::one_place();
    extra["tests"] = json!([crate::centres::quiz()]);
    let (id, _) = crate::centres::one_booked_candidate_in(&app, &recruiter_token, extra).await;
    let page = signed_in(&app, Role::Recruiter, None).await;

    let dash = page.get("/staff/schemes/soon").await;
    assert_eq!(dash.status, 200);
    let seen = text(&dash);
    assert!(
        seen.contains("Soon scheme") && seen.contains("1 offered an assessment-centre seat and not answered yet"),
        "{seen}"
    );
    assert!(seen.contains("AC invited 1 1"), "the stage table, by stream and in all: {seen}");

    // Search: any part of the name, any case; a name that is not there finds nobody.
    let found = page.get("/staff/schemes/soon/applicants?q=LOVEL").await;
    assert_eq!(found.status, 200);
    assert!(found.html.contains(&format!("href=\"/staff/applications/{id}\">Ada Lovelace</a>")), "{}", found.html);
    let none = page.get("/staff/schemes/soon/applicants?q=hopper").await;
    assert!(text(&none).contains("No applicants match"));
    let filtered = page.get("/staff/schemes/soon/applicants?status=placed").await;
    assert!(text(&filtered).contains("No applicants match"));
    let bad = page.get("/staff/schemes/soon/applicants?sort=age").await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.errors().len(), 1, "{:?}", bad.errors());

    // The applicant page: answers and scores, never an equality answer.
    let one = page.get(&format!("/staff/applications/{id}")).await;
    assert_eq!(one.status, 200);
    let seen = text(&one);
    for shown in
        ["Ada Lovelace", "soon@example.ac.uk", "Step-free access", "Key v1, norms norm-1", "AC invited", "Leeds centre"]
    {
        assert!(seen.contains(shown), "{shown}: {seen}");
    }
    for hidden in ["black_african", "Black African", "16_24", "Ethnicity", "ethnicity"] {
        assert!(!one.html.contains(hidden), "{hidden} must not show");
    }
    let audited: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'read application' AND application_id = $1")
            .bind(&id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(audited, 1, "opening the page is a read of the application");

    // CSV of the filtered list, and of a selection.
    let csv = page.get("/staff/schemes/soon/applicants.csv?q=ada").await;
    assert_eq!(csv.status, 200);
    assert!(csv.html.starts_with("reference,name,email") && csv.html.contains("Ada Lovelace"), "{}", csv.html);
    page.get("/staff/schemes/soon/applicants").await;
    let selected = page.post("/staff/schemes/soon/applicants", &[("id", &id), ("action", "export")]).await;
    assert_eq!(selected.status, 200);
    assert_eq!(selected.html.lines().count(), 2, "the header and the one selected: {}", selected.html);
    let nothing = page.post("/staff/schemes/soon/applicants", &[("action", "export")]).await;
    assert_eq!((nothing.status, nothing.errors()), (422, vec!["Select at least one applicant".to_owned()]));

    // A dead email, re-sent for every selected applicant.
    sqlx::query("UPDATE notifications SET state = 'dead', last_error = 'mailbox full' WHERE application_id = $1 AND kind = 'confirmation'")
        .bind(&id)
        .execute(app.db.pool())
        .await
        .unwrap();
    let dead = page.get("/staff/schemes/soon/applicants?flag=dead_email").await;
    assert!(dead.html.contains("Ada Lovelace"), "the flag filter finds her");
    let resent = page.post("/staff/schemes/soon/applicants", &[("id", &id), ("action", "resend")]).await;
    assert!(text(&resent).contains("1 email will be sent again."), "{}", text(&resent));
    let state: String =
        sqlx::query_scalar("SELECT state FROM notifications WHERE application_id = $1 AND kind = 'confirmation'")
            .bind(&id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(state, "pending");

    // Stage jobs from the dashboard: scheduling again (nobody left to seat), watched to the end.
    page.get("/staff/schemes/soon").await;
    let run = page.post("/staff/schemes/soon/run/schedule", &[]).await;
    assert_eq!(run.status, 303);
    let job_page = run.location.unwrap();
    let running = page.get(&job_page).await;
    assert_eq!(running.status, 200);
    assert!(running.html.contains("data-job-poll=") && running.html.contains("<progress"), "{}", running.html);
    let json: Value = serde_json::from_str(&page.get(&format!("{job_page}?format=json")).await.html).unwrap();
    assert_eq!(json["state"], "queued");
    app.drain().await;
    let done = page.get(&job_page).await;
    assert!(text(&done).contains("Finished") && !done.html.contains("data-job-poll="), "{}", text(&done));

    // A stage that cannot run yet says why on the dashboard, and starts nothing.
    page.get("/staff/schemes/london-imt-pilot").await;
    let early = page.post("/staff/schemes/london-imt-pilot/run/sift", &[]).await;
    assert_eq!(early.status, 409);
    assert!(early.errors()[0].contains("after the closing date"), "{:?}", early.errors());

    // A centre added in pages; a bad one shows the API's errors on the form.
    page.get("/staff/schemes/soon/centres").await;
    let wrong = page
        .post(
            "/staff/schemes/soon/centres",
            &[
                ("centre-id", "c2"),
                ("centre-name", "York"),
                ("centre-venue", "York"),
                ("centre-date", "someday"),
                ("session-id", "am"),
                ("session-start", "09:00"),
                ("session-end", "12:00"),
                ("session-capacity", "4"),
                ("session-exercises", "interview: motivation"),
                ("session-panel", ""),
                ("session-provisions", ""),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", text(&wrong));
    assert!(!wrong.errors().is_empty());
    assert!(wrong.html.contains("value=\"York\""), "what was typed is kept");
    let day = app.clock.today().checked_add(jiff::Span::new().days(9)).unwrap().to_string();
    let added = page
        .post(
            "/staff/schemes/soon/centres",
            &[
                ("centre-id", "c2"),
                ("centre-name", "York centre"),
                ("centre-venue", "York"),
                ("centre-date", &day),
                ("session-id", "am"),
                ("session-start", "09:00"),
                ("session-end", "12:00"),
                ("session-capacity", "4"),
                ("session-exercises", "interview: motivation"),
                ("session-panel", "as-two, Sam Jones, elsewhere"),
                ("session-provisions", "quiet room"),
            ],
        )
        .await;
    assert_eq!(added.status, 200, "{:?}", added.errors());
    let seen = text(&added);
    assert!(seen.contains("York centre is added.") && seen.contains("0 of 4") && seen.contains("quiet room"), "{seen}");
    let bad = page
        .post(
            "/staff/schemes/soon/centres/sessions",
            &[
                ("new-centre", "c2"),
                ("new-session-id", "pm"),
                ("new-session-start", "14:00"),
                ("new-session-end", "13:00"),
                ("new-session-capacity", "3"),
                ("new-session-exercises", "interview: motivation"),
                ("new-session-panel", ""),
                ("new-session-provisions", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "ends before it starts: {}", text(&bad));
    assert!(bad.html.contains("value=\"14:00\""), "what was typed is kept");
    let more = page
        .post(
            "/staff/schemes/soon/centres/sessions",
            &[
                ("new-centre", "c2"),
                ("new-session-id", "pm"),
                ("new-session-start", "14:00"),
                ("new-session-end", "17:00"),
                ("new-session-capacity", "3"),
                ("new-session-exercises", "interview: motivation"),
                ("new-session-panel", ""),
                ("new-session-provisions", ""),
            ],
        )
        .await;
    assert_eq!(more.status, 200, "{:?}", more.errors());
    assert!(
        text(&more).contains("The session is added to York centre.") && text(&more).contains("0 of 3"),
        "{}",
        text(&more)
    );
    let api: Value =
        app.get("/api/v1/schemes/soon/assessment-centres", Some(&recruiter_token)).await.json().await.unwrap();
    let york = api["centres"].as_array().unwrap().iter().find(|c| c["id"] == "c2").unwrap();
    assert_eq!(york["sessions"].as_array().unwrap().len(), 2);
    let session = page.get("/staff/sessions/soon:c1:am").await;
    assert!(
        text(&session).contains("Ada Lovelace") && text(&session).contains("Step-free access"),
        "{}",
        text(&session)
    );
    app.stop().await;
}

async fn an_assessor_saves_a_score_sheet_in_two_parts_once_the_session_has_started(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let recruiter_token = app.token(Role::Recruiter).await;
    let (id, applicant) =
        crate::centres::one_booked_candidate_in(&app, &recruiter_token, crate::centres::one_place()).await;
    let res = app.post_json(&format!("/api/v1/applications/{id}/booking/accept"), Some(&applicant), &json!({})).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let page = signed_in(&app, Role::Assessor, Some("soon:as-one")).await;
    let home = page.get("/staff").await;
    assert_eq!(home.location.as_deref(), Some("/staff/sessions"));
    let mine = page.get("/staff/sessions").await;
    assert!(text(&mine).contains("Leeds centre"), "{}", text(&mine));
    let sheet_path = format!("/staff/sessions/soon:c1:am/sheets/{id}");
    let sheet = page.get(&sheet_path).await;
    assert_eq!(sheet.status, 200);
    assert!(sheet.html.contains("name=\"score:interview:motivation\""), "{}", sheet.html);

    let early = page.post(&sheet_path, &[("score:interview:motivation", "3")]).await;
    assert_eq!(early.status, 409);
    assert!(early.errors()[0].contains("scores can be recorded once it has started"), "{:?}", early.errors());

    app.advance(jiff::SignedDuration::from_hours(24 * 6));
    // (Days later: a new sign-in, the last session having expired.)
    let page = signed_in(&app, Role::Assessor, Some("soon:as-one")).await;
    page.get(&sheet_path).await;
    let first = page.post(&sheet_path, &[("score:interview:motivation", "3")]).await;
    assert_eq!(first.status, 200, "{:?}", first.errors());
    assert!(text(&first).contains("Saved. You can finish the rest of the sheet later."));
    assert!(first.html.contains("value=\"3\" checked"), "the saved score shows again");
    let status: String = sqlx::query_scalar("SELECT status FROM applications WHERE id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(status, "ac_booked", "half a sheet assesses nobody");
    let second = page.post(&sheet_path, &[("overall", "appointable")]).await;
    assert!(text(&second).contains("Saved. The sheet is complete."), "{}", text(&second));
    let status: String = sqlx::query_scalar("SELECT status FROM applications WHERE id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(status, "assessed");
    let bad = page.post(&sheet_path, &[("score:interview:charisma", "4")]).await;
    assert_eq!(bad.status, 422);
    app.stop().await;
}

async fn an_admin_adds_staff_and_revokes_a_token_in_pages(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let page = signed_in(&app, Role::Admin, None).await;
    let p = page.get("/staff/admin/staff").await;
    assert_eq!(p.status, 200);
    let wrong =
        page.post("/staff/admin/staff", &[("email", "not-an-address"), ("name", ""), ("role", "recruiter")]).await;
    assert_eq!(wrong.status, 422);
    assert_eq!(wrong.errors().len(), 2, "{:?}", wrong.errors());
    assert!(wrong.html.contains("value=\"not-an-address\""), "what was typed is kept");
    let ok = page
        .post(
            "/staff/admin/staff",
            &[
                ("email", "sam.jones@nhs.example"),
                ("name", "Sam Jones"),
                ("role", "assessor"),
                ("assessor", "london-imt-pilot:as-okafor"),
            ],
        )
        .await;
    assert_eq!(ok.status, 200, "{:?}", ok.errors());
    assert!(text(&ok).contains("Sam Jones can now sign in as assessor"), "{}", text(&ok));

    let made = page.post("/staff/admin/tokens", &[("token-name", "Nightly export"), ("role", "recruiter")]).await;
    assert_eq!(made.status, 200, "{:?}", made.errors());
    let token = made.html.split("<code id=\"new-token\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/sessions", Some(&token)).await.status(), 200);
    let shown_again = page.get("/staff/admin/tokens").await;
    assert!(!shown_again.html.contains(&token), "a token is shown once");
    let listed: Value =
        app.get("/api/v1/admin/tokens", Some(&app.token(Role::Admin).await)).await.json().await.unwrap();
    let tid = listed["tokens"].as_array().unwrap().iter().find(|t| t["name"] == "Nightly export").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = page.post(&format!("/staff/admin/tokens/{tid}/revoke"), &[]).await;
    assert!(text(&revoked).contains("The token is revoked"), "{}", text(&revoked));
    assert_eq!(app.get("/api/v1/sessions", Some(&token)).await.status(), 401, "a revoked token stops working");

    let (id, _) = app.apply_ok("london-imt-pilot", &crate::helpers::application("dead@example.ac.uk")).await;
    sqlx::query("UPDATE notifications SET state = 'dead', last_error = 'no such mailbox' WHERE application_id = $1")
        .bind(&id)
        .execute(app.db.pool())
        .await
        .unwrap();
    let emails = page.get("/staff/admin/emails").await;
    assert!(text(&emails).contains("no such mailbox"), "{}", text(&emails));
    let nid: String = sqlx::query_scalar("SELECT id FROM notifications WHERE application_id = $1 ORDER BY id LIMIT 1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let retry = format!("/staff/admin/emails/{nid}/retry");
    assert!(emails.html.contains(&retry));
    let retried = page.post(&retry, &[]).await;
    assert!(text(&retried).contains("The email will be sent again."), "{}", text(&retried));
    assert!(!retried.html.contains(&retry), "no longer dead");
    let twice = page.post(&format!("/staff/admin/emails/{nid}/retry"), &[]).await;
    assert_eq!(twice.status, 409, "only a dead email is sent again");
    app.stop().await;
}

/// Name-blind: the assessor's pages number the candidates, and the recruiter's list and
/// applicant page show no name or address until the scheme's stage (assessed).
async fn name_blind_pages_hide_who_a_candidate_is_until_the_stage(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let recruiter_token = app.token(Role::Recruiter).await;
    let mut extra = crate::centres::one_place();
    extra["name_blind"] = json!(true);
    let (id, applicant) = crate::centres::one_booked_candidate_in(&app, &recruiter_token, extra).await;
    app.post_json(&format!("/api/v1/applications/{id}/booking/accept"), Some(&applicant), &json!({})).await;
    let recruiter = signed_in(&app, Role::Recruiter, None).await;
    let list = recruiter.get("/staff/schemes/soon/applicants").await;
    assert!(text(&list).contains("Hidden (name-blind)") && !list.html.contains("Lovelace"), "{}", text(&list));
    let one = recruiter.get(&format!("/staff/applications/{id}")).await;
    assert_eq!(one.status, 200);
    assert!(!one.html.contains("Lovelace") && !one.html.contains("soon@example.ac.uk"), "{}", text(&one));
    assert!(text(&one).contains("Step-free access"), "adjustments still show");
    let assessor = signed_in(&app, Role::Assessor, Some("soon:as-one")).await;
    let session = assessor.get("/staff/sessions/soon:c1:am").await;
    assert!(text(&session).contains("Candidate 1") && !session.html.contains("Lovelace"), "{}", text(&session));
    let sheet = assessor.get(&format!("/staff/sessions/soon:c1:am/sheets/{id}")).await;
    assert!(text(&sheet).contains("Score sheet: Candidate 1") && !sheet.html.contains("Lovelace"));

    app.advance(jiff::SignedDuration::from_hours(24 * 6));
    let assessor = signed_in(&app, Role::Assessor, Some("soon:as-one")).await;
    let path = format!("/staff/sessions/soon:c1:am/sheets/{id}");
    assessor.get(&path).await;
    let done = assessor.post(&path, &[("score:interview:motivation", "4"), ("overall", "appointable")]).await;
    assert!(text(&done).contains("The sheet is complete"), "{}", text(&done));
    let recruiter = signed_in(&app, Role::Recruiter, None).await;
    let one = recruiter.get(&format!("/staff/applications/{id}")).await;
    assert!(text(&one).contains("Ada Lovelace"), "named from the assessed stage: {}", text(&one));
    app.stop().await;
}

both_backends!(
    name_blind_pages_hide_who_a_candidate_is_until_the_stage,
    a_member_of_staff_signs_in_once_from_an_emailed_link_and_the_session_ends,
    every_staff_page_asks_the_role_matrix,
    a_recruiter_finds_an_applicant_and_runs_the_stages_in_pages,
    an_assessor_saves_a_score_sheet_in_two_parts_once_the_session_has_started,
    an_admin_adds_staff_and_revokes_a_token_in_pages,
    the_cli_creates_the_first_admin_with_a_one_time_sign_in_link,
);

/// A fresh install's first admin: `fasttrack admin user create` prints a one-time link that
/// signs them in to the staff pages; the secret is not stored.
async fn the_cli_creates_the_first_admin_with_a_one_time_sign_in_link(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options::api_only()).await;
    let run = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fasttrack"));
        cmd.env("FASTTRACK__DATA_DIR", &app.settings.data_dir)
            .env("FASTTRACK__DATABASE__URL", &app.settings.database.url)
            .env("FASTTRACK__PAGES__PUBLIC_URL", "https://jobs.example.nhs.uk")
            .env("FASTTRACK__LOG__LEVEL", "warn")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(args);
        cmd.output().unwrap()
    };
    let out = run(&[
        "admin",
        "user",
        "create",
        "--email",
        "first.admin@nhs.example",
        "--role",
        "admin",
        "--name",
        "First Admin",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let link = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let path = link.strip_prefix("https://jobs.example.nhs.uk").unwrap_or_else(|| panic!("{link}")).to_owned();
    assert!(path.starts_with("/staff/sign-in/"), "{link}");
    let secret = path.trim_start_matches("/staff/sign-in/");
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM staff_links WHERE token_hash = $1")
        .bind(secret)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(stored, 0, "only the hash is stored");
    let again = run(&["admin", "user", "create", "--email", "FIRST.admin@nhs.example", "--role", "hr", "--name", "X"]);
    assert!(!again.status.success(), "one account per address");
    let bad = run(&["admin", "user", "create", "--email", "nope", "--role", "assessor", "--name", "Y"]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("email") && err.contains("assessor"), "every field named: {err}");

    let page = PageClient::new(&app);
    page.get(&path).await;
    let p = page.post(&path, &[]).await;
    assert_eq!((p.status, p.location.as_deref()), (303, Some("/staff")));
    let staff = page.get("/staff/admin/staff").await;
    assert_eq!(staff.status, 200);
    assert!(text(&staff).contains("First Admin (admin)"), "{}", text(&staff));
    app.stop().await;
}
