//! The pages (SPEC §7), over HTTP: the home page lists open schemes, a scheme page says what
//! the scheme is, the NHS.UK frontend is served from the binary. (The browser tests with
//! axe-core come with the apply pages.)

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

async fn the_home_page_lists_open_schemes_and_links_to_each(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app.get("/", None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    let html = res.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains(r#"<html lang="en">"#), "{html}");
    assert!(html.contains(r##"href="#maincontent">Skip to main content"##), "{html}");
    assert!(html.contains("London Graduate IM&amp;T Fast Track (pilot)"), "names are escaped: {html}");
    assert!(html.contains(r#"href="/schemes/london-imt-pilot""#), "{html}");
    assert!(html.contains("Applications close "), "{html}");
    app.stop().await;
}

async fn a_scheme_page_shows_places_streams_dates_and_stages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app.get("/schemes/london-imt-pilot", None).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("<h1 class=\"nhsuk-heading-xl\">London Graduate IM&amp;T Fast Track (pilot)</h1>"), "{html}");
    assert!(html.contains("Applications are open until "), "{html}");
    assert!(html.contains("places in all"), "{html}");
    assert!(html.contains("How selection works") && html.contains("Disability Confident"), "{html}");
    let api: serde_json::Value = app.get("/api/v1/schemes", None).await.json().await.unwrap();
    let pilot = api.as_array().unwrap().iter().find(|s| s["id"] == "london-imt-pilot").unwrap();
    for stream in pilot["streams"].as_array().unwrap() {
        let name = stream["name"].as_str().unwrap().replace('&', "&amp;");
        assert!(html.contains(&name), "stream {name} listed: {html}");
    }
    assert!(html.contains(&format!("{} places in all", pilot["places"])), "{html}");
    assert!(html.contains("The programme starts on 6 September 2027."), "{html}");
    // The scheme's own privacy notice, and its version.
    assert!(
        html.contains("The London digital workforce programme (NHS England, London region) runs this recruitment"),
        "{html}"
    );
    assert!(html.contains("Privacy notice version 2026-10."), "{html}");
    let missing = app.get("/schemes/no-such-scheme", None).await;
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("Page not found"));
    // A path no route knows, outside the API, is the page too (the API's own stay problem+json).
    let nowhere = app.get("/no/such/page", None).await;
    assert_eq!(nowhere.status(), 404);
    assert_eq!(nowhere.headers()["content-type"], "text/html; charset=utf-8");
    assert!(nowhere.text().await.unwrap().contains("Page not found"));
    app.stop().await;
}

both_backends!(
    the_home_page_lists_open_schemes_and_links_to_each,
    a_scheme_page_shows_places_streams_dates_and_stages,
    after_scoring_each_test_gives_its_feedback_in_words
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nhs_frontend_is_served_from_the_binary() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let css = app.get(fasttrack::pages::assets::CSS, None).await;
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(css.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    let body = css.text().await.unwrap();
    assert!(body.contains(".nhsuk-header"), "the NHS.UK stylesheet");
    // Every icon the stylesheet refers to is served.
    for icon in body.split("url(/assets/images/").skip(1).map(|r| r.split(')').next().unwrap()) {
        let res = app.get(&format!("/assets/images/{icon}"), None).await;
        assert_eq!(res.status(), 200, "{icon}");
    }
    assert_eq!(app.get("/assets/nope.css", None).await.status(), 404);
    app.stop().await;
}

/// A browser without a browser: keeps cookies, reads each page's CSRF token and sends it
/// back with every form, and does not follow redirects (so each step can be checked).
pub struct PageClient {
    base: String,
    client: reqwest::Client,
    cookies: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
    csrf: std::sync::Mutex<String>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub html: String,
}

impl Page {
    /// The NHS error summary's messages.
    pub fn errors(&self) -> Vec<String> {
        let Some(list) = self.html.split("nhsuk-error-summary__list").nth(1) else { return Vec::new() };
        let list = list.split("</ul>").next().unwrap_or("");
        list.split("<a href=")
            .skip(1)
            .map(|a| a.split('>').nth(1).unwrap_or("").split('<').next().unwrap().to_owned())
            .collect()
    }
}

impl PageClient {
    /// A cookie this browser holds.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    pub fn new(app: &TestApp) -> Self {
        Self {
            base: format!("http://{}", app.addr),
            client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            cookies: Default::default(),
            csrf: Default::default(),
        }
    }

    /// The same browser in a new tab (its cookies), after the first was closed.
    pub fn reopen(&self) -> Self {
        let other = Self {
            base: self.base.clone(),
            client: self.client.clone(),
            cookies: Default::default(),
            csrf: Default::default(),
        };
        *other.cookies.lock().unwrap() = self.cookies.lock().unwrap().clone();
        other
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let cookie: Vec<String> = self.cookies.lock().unwrap().iter().map(|(k, v)| format!("{k}={v}")).collect();
        let res = req.header("cookie", cookie.join("; ")).send().await.expect("request");
        for c in res.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let (kv, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            assert!(attrs.contains("HttpOnly") && attrs.contains("SameSite=Lax"), "{c}");
            if attrs.contains("Max-Age=0") {
                self.cookies.lock().unwrap().remove(k);
            } else {
                self.cookies.lock().unwrap().insert(k.to_owned(), v.to_owned());
            }
        }
        let status = res.status().as_u16();
        let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
        let html = res.text().await.unwrap();
        if let Some(t) = html.split(r#"name="_csrf" value=""#).nth(1) {
            *self.csrf.lock().unwrap() = t.split('"').next().unwrap().to_owned();
        }
        Page { status, location, html }
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(self.client.get(format!("{}{path}", self.base))).await
    }

    /// Posts a form with this browser's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf.lock().unwrap().clone();
        let mut all: Vec<(&str, &str)> = vec![("_csrf", &csrf)];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
    }
}

/// The sign-in links in the emails of a kind that name `to` (an address or an application
/// reference), oldest first, as paths of the site.
pub fn sign_in_links(app: &TestApp, kind: &str, to: &str) -> Vec<String> {
    app.sent_emails()
        .iter()
        .filter(|e| e.contains(&format!("X-Fasttrack-Kind: {kind}")) && e.contains(to))
        .filter_map(|e| {
            let at = e.find("/sign-in/")?;
            let token: String =
                e[at + 9..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
            Some(format!("/sign-in/{token}"))
        })
        .collect()
}

const PILOT: &str = "/schemes/london-imt-pilot/apply";

/// Every section of the pilot's form, filled in as a person would.
pub async fn fill_in(page: &PageClient, email: &str) {
    let steps: [(&str, Vec<(&str, &str)>); 8] = [
        ("details", vec![("name", "Grace Hopper"), ("email", email), ("phone", "")]),
        (
            "degree",
            vec![
                ("university", "University of Leeds"),
                ("degree_subject", "Computer Science"),
                ("degree_class", "first"),
                ("degree_status", "predicted"),
                ("graduation_year", "2027"),
            ],
        ),
        ("right-to-work", vec![("right_to_work_uk", "yes")]),
        ("streams", vec![("stream_1", "stp-programmes"), ("stream_2", "acute-trusts"), ("stream_3", "")]),
        ("assessment", vec![("unavailable_dates", "2027-03-03"), ("venue_1", "")]),
        (
            "adjustments",
            vec![("adjustments", "quiet_room"), ("adjustments", "extra_time"), ("disability_confident", "no")],
        ),
        ("employer", vec![("current_employer", "")]),
        ("equality", vec![("equality.sex", "female"), ("equality.ethnicity", "prefer_not_to_say")]),
    ];
    for (section, fields) in steps {
        let p = page.post(&format!("{PILOT}/{section}"), &fields).await;
        assert_eq!(p.status, 303, "{section}: {:?}", p.errors());
    }
}

async fn applying_in_pages_keeps_what_was_typed_shows_the_apis_errors_and_makes_one_application(backend: Backend) {
    let app = TestApp::spawn_with(backend, crate::helpers::Options::api_only()).await;
    let page = PageClient::new(&app);
    let tasks = page.get(PILOT).await;
    assert_eq!(tasks.status, 200);
    assert_eq!(tasks.html.matches(r#"<li class="nhsuk-task-list__item"#).count(), 8, "eight sections");

    page.get(&format!("{PILOT}/details")).await;
    // A mistake: the API's own messages, in the NHS error summary and inline; nothing typed is lost.
    let p =
        page.post(&format!("{PILOT}/details"), &[("name", ""), ("email", "grace.example.org"), ("phone", "12")]).await;
    assert_eq!(p.status, 422);
    assert_eq!(
        p.errors(),
        [
            "Full name is required",
            "Email address must contain &#x27;@&#x27;",
            "Phone number must be a phone number: digits, spaces, +, ( ) and -"
        ]
    );
    assert!(p.html.contains(r##"<a href="#email">"##) && p.html.contains(r#"id="email-error""#), "{}", p.html);
    assert!(p.html.contains(r#"value="grace.example.org""#) && p.html.contains(r#"value="12""#), "typed values kept");
    assert!(p.html.contains("<title>Error: "), "the title says there is an error");

    // The tab is closed and opened again: the draft is still there.
    let page = page.reopen();
    let again = page.get(&format!("{PILOT}/details")).await;
    assert!(again.html.contains(r#"value="grace.example.org""#), "draft survives a closed tab");

    fill_in(&page, "grace@example.ac.uk").await;
    let check = page.get(&format!("{PILOT}/check")).await;
    assert_eq!(check.status, 200);
    assert!(check.errors().is_empty(), "{:?}", check.errors());
    for shown in [
        "Grace Hopper",
        "grace@example.ac.uk",
        "First",
        "1. ",
        "A quiet room",
        "Extra time",
        "3 March 2027",
        "2 of 11 questions answered",
    ] {
        assert!(check.html.contains(shown), "check your answers shows {shown}");
    }

    assert!(check.html.contains("privacy notice version 2026-10"), "the notice seen is named");
    // A notice changed since the page was shown: asked to read it again, nothing sent.
    let submit = format!("{PILOT}/submit");
    let stale = page.post(&submit, &[("privacy_notice_version", "2025-01")]).await;
    assert_eq!(stale.status, 422);
    assert_eq!(
        stale.errors(),
        [
            "The privacy notice has changed since you opened this page. Read version 2026-10 before you send your application"
        ]
    );
    // A double click: two submits at once, one application.
    let seen = [("privacy_notice_version", "2026-10")];
    let (a, b) = tokio::join!(page.post(&submit, &seen), page.post(&submit, &seen));
    assert_eq!((a.status, b.status), (303, 303));
    assert_eq!(a.location, b.location);
    let location = a.location.unwrap();
    let id = location.trim_start_matches("/applications/").trim_end_matches("/submitted").to_owned();
    let resent = page.post(&format!("{PILOT}/submit"), &[]).await;
    assert_eq!(resent.location.as_deref(), Some(location.as_str()), "a resent form answers with the same application");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM applications WHERE email_norm = 'grace@example.ac.uk'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(count, 1);

    let done = page.get(&location).await;
    assert_eq!(done.status, 200);
    assert!(
        done.html.contains("nhsuk-panel__title") && done.html.contains(&id),
        "confirmation panel with the reference"
    );

    // The application is the API's: the same details, equality answers stored apart.
    let recruiter = app.token(fasttrack_core::Role::Recruiter).await;
    let view: serde_json::Value =
        app.get(&format!("/api/v1/applications/{id}"), Some(&recruiter)).await.json().await.unwrap();
    assert_eq!(view["status"], "tests_invited");
    assert_eq!(view["details"]["stream_preferences"], serde_json::json!(["stp-programmes", "acute-trusts"]));
    assert_eq!(view["details"]["adjustments"], serde_json::json!(["quiet_room", "extra_time"]));
    assert_eq!(view["details"]["unavailable_dates"], serde_json::json!(["2027-03-03"]));
    assert!(!view.to_string().contains("female"), "no equality answer in the recruiter's view");
    let sex: String = sqlx::query_scalar("SELECT sex FROM equality_answers WHERE application_id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(sex, "female");
    let version: Option<String> = sqlx::query_scalar("SELECT privacy_notice_version FROM applications WHERE id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(version.as_deref(), Some("2026-10"), "the version seen is recorded");
    app.stop().await;
}

async fn the_emailed_link_signs_in_once_and_the_applicant_sees_status_and_can_withdraw(backend: Backend) {
    let app = TestApp::spawn_with(backend, crate::helpers::Options::api_only()).await;
    let (id, _) = app.apply_ok("london-imt-pilot", &crate::helpers::application("ada@example.ac.uk")).await;
    app.drain().await;
    let links = sign_in_links(&app, "confirmation", "ada@example.ac.uk");
    assert_eq!(links.len(), 1, "the confirmation carries a sign-in link");
    let confirmation = app.sent_emails().into_iter().find(|e| e.contains("X-Fasttrack-Kind: confirmation")).unwrap();
    assert!(!confirmation.contains("/api/"), "emails link to pages, not the API");

    let browser = PageClient::new(&app);
    assert_eq!(browser.get(&format!("/applications/{id}")).await.status, 401, "not signed in yet");
    let link = browser.get(&links[0]).await;
    assert_eq!(link.status, 200, "opening the link does not use it (mail scanners open links)");
    let signed = browser.post(&links[0], &[]).await;
    assert_eq!(signed.status, 303);
    assert_eq!(signed.location.as_deref(), Some(format!("/applications/{id}").as_str()));
    let mine = browser.get(&format!("/applications/{id}")).await;
    assert_eq!(mine.status, 200);
    assert!(mine.html.contains("nhsuk-tag") && mine.html.contains("Tests to take"), "status as a tag");
    assert!(mine.html.contains("You were invited to the online tests"), "the timeline in words");

    // One-time: the same link again does nothing.
    let other = PageClient::new(&app);
    other.get(&links[0]).await;
    assert_eq!(other.post(&links[0], &[]).await.status, 410);
    assert_eq!(other.get(&format!("/applications/{id}")).await.status, 401);

    // Someone else's application is not this session's.
    let (id2, _) = app.apply_ok("london-imt-pilot", &crate::helpers::application("bob@example.ac.uk")).await;
    assert_eq!(browser.get(&format!("/applications/{id2}")).await.status, 401);

    // Withdraw, with a confirmation step.
    let unconfirmed = browser.post(&format!("/applications/{id}/withdraw"), &[]).await;
    assert_eq!(unconfirmed.status, 422);
    assert_eq!(unconfirmed.errors(), ["Tick the box to confirm that you want to withdraw"]);
    let withdrawn = browser.post(&format!("/applications/{id}/withdraw"), &[("confirm", "yes")]).await;
    assert_eq!(withdrawn.status, 303);
    let status: String = sqlx::query_scalar("SELECT status FROM applications WHERE id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(status, "withdrawn");
    assert!(browser.get(&format!("/applications/{id}")).await.html.contains("Withdrawn"));

    // Sessions expire.
    app.advance(jiff::SignedDuration::from_mins(i64::from(app.settings.pages.session_minutes) + 1));
    assert_eq!(browser.get(&format!("/applications/{id}")).await.status, 401);
    app.stop().await;
}

async fn a_new_link_is_asked_for_by_address_and_the_answer_tells_nobody_who_applied(backend: Backend) {
    let app = TestApp::spawn_with(backend, crate::helpers::Options::api_only()).await;
    app.apply_ok("london-imt-pilot", &crate::helpers::application("ada@example.ac.uk")).await;
    app.drain().await;
    let page = PageClient::new(&app);
    page.get("/sign-in").await;
    let known = page.post("/sign-in", &[("email", "Ada@Example.ac.uk")]).await;
    let unknown = page.post("/sign-in", &[("email", "nobody@example.ac.uk")]).await;
    assert_eq!((known.status, unknown.status), (200, 200));
    let strip = |p: &Page, e: &str| p.html.replace(e, "EMAIL");
    assert_eq!(
        strip(&known, "Ada@Example.ac.uk"),
        strip(&unknown, "nobody@example.ac.uk"),
        "the same answer either way"
    );
    // Asked again at once: still one email.
    page.post("/sign-in", &[("email", "ada@example.ac.uk")]).await;
    app.drain().await;
    let links = sign_in_links(&app, "sign_in", "ada@example.ac.uk");
    assert_eq!(links.len(), 1, "one link email per five minutes");
    assert!(sign_in_links(&app, "sign_in", "nobody@example.ac.uk").is_empty());
    let bad = page.post("/sign-in", &[("email", "")]).await;
    assert_eq!((bad.status, bad.errors()), (422, vec!["Email address is required".to_owned()]));
    app.stop().await;
}

async fn a_form_without_this_browsers_csrf_token_changes_nothing(backend: Backend) {
    let app = TestApp::spawn_with(backend, crate::helpers::Options::api_only()).await;
    let page = PageClient::new(&app);
    page.get(PILOT).await;
    let forged = page.post_raw(&format!("{PILOT}/details"), &[("_csrf", "0000"), ("name", "Mallory")]).await;
    assert_eq!(forged.status, 403);
    assert!(forged.html.contains("This form has expired"));
    let drafts: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM application_drafts").fetch_one(app.db.pool()).await.unwrap();
    assert_eq!(drafts, 0);
    let res = app.get(PILOT, None).await;
    for (h, v) in
        [("x-content-type-options", "nosniff"), ("referrer-policy", "no-referrer"), ("x-frame-options", "DENY")]
    {
        assert_eq!(res.headers()[h], v);
    }
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    app.stop().await;
}

async fn a_booked_candidate_asks_to_move_accepts_and_downloads_the_calendar_in_pages(backend: Backend) {
    let app = TestApp::spawn_with(backend, crate::helpers::Options::api_only()).await;
    let recruiter = app.token(fasttrack_core::Role::Recruiter).await;
    let (id, _) = crate::centres::one_booked_candidate(&app, &recruiter).await;
    let links = sign_in_links(&app, "ac_invitation", "soon@example.ac.uk");
    let page = PageClient::new(&app);
    page.get(&links[0]).await;
    let signed = page.post(&links[0], &[]).await;
    assert_eq!(
        signed.location.as_deref(),
        Some(format!("/applications/{id}/booking").as_str()),
        "lands on the booking"
    );
    let booking = page.get(&format!("/applications/{id}/booking")).await;
    assert!(booking.html.contains("Leeds centre") && booking.html.contains("09:00 to 12:00"), "{}", booking.html);
    let cookie = page.cookies.lock().unwrap().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let ics = page
        .client
        .get(format!("{}/applications/{id}/booking.ics", page.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(ics.headers()["content-type"], "text/calendar; charset=utf-8");
    let ics = ics.text().await.unwrap();
    let email = app.sent_emails().into_iter().find(|e| e.contains("X-Fasttrack-Kind: ac_invitation")).unwrap();
    let uid = ics.lines().find(|l| l.starts_with("UID:")).unwrap();
    assert!(email.contains(uid), "the same calendar event as the email");
    let moved = page.post(&format!("/applications/{id}/booking"), &[("action", "move")]).await;
    assert_eq!(moved.status, 303);
    assert!(page.get(&format!("/applications/{id}/booking")).await.html.contains("Move asked for"));
    let rebook: i64 = sqlx::query_scalar("SELECT rebook FROM bookings WHERE application_id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(rebook, 1, "the API's rebook request is recorded");
    let accepted = page.post(&format!("/applications/{id}/booking"), &[("action", "accept")]).await;
    assert_eq!(accepted.status, 303);
    assert!(page.get(&format!("/applications/{id}/booking")).await.html.contains("Accepted"));
    let status: String = sqlx::query_scalar("SELECT status FROM applications WHERE id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(status, "ac_booked");
    app.stop().await;
}

/// From their application page the applicant downloads their data, then deletes it, with
/// a confirmation step; afterwards they are signed out and their link no longer works.
async fn an_applicant_downloads_their_data_and_then_has_it_deleted(backend: Backend) {
    let app = TestApp::spawn_with(backend, crate::helpers::Options::api_only()).await;
    let (id, _) = app.apply_ok("london-imt-pilot", &crate::helpers::application("gdpr@example.ac.uk")).await;
    app.drain().await;
    let page = PageClient::new(&app);
    let link = sign_in_links(&app, "confirmation", "gdpr@example.ac.uk").pop().unwrap();
    page.get(&link).await;
    page.post(&link, &[]).await;
    let mine = page.get(&format!("/applications/{id}")).await;
    assert!(mine.html.contains(&format!("href=\"/applications/{id}/your-data.json\"")));
    assert!(mine.html.contains(&format!("href=\"/applications/{id}/delete\"")));
    let download = page.get(&format!("/applications/{id}/your-data.json")).await;
    assert_eq!(download.status, 200);
    let data: serde_json::Value = serde_json::from_str(&download.html).unwrap();
    assert_eq!(data["application"]["details"]["email"], "gdpr@example.ac.uk");
    assert_eq!(data["equality"]["sex"], "female");

    let form = page.get(&format!("/applications/{id}/delete")).await;
    assert_eq!(form.status, 200);
    assert!(form.html.contains("You cannot undo this"));
    let unticked = page.post(&format!("/applications/{id}/delete"), &[]).await;
    assert_eq!(unticked.status, 422);
    assert_eq!(unticked.errors(), ["Tick the box to confirm that you want your details deleted"]);
    let erased: Option<i64> = sqlx::query_scalar("SELECT erased_at FROM applications WHERE id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(erased.is_none(), "nothing happens without the box ticked");
    let done = page.post(&format!("/applications/{id}/delete"), &[("confirm", "yes")]).await;
    assert_eq!(done.status, 200);
    assert!(done.html.contains("Your details have been deleted"), "{}", done.html);
    let erased: Option<i64> = sqlx::query_scalar("SELECT erased_at FROM applications WHERE id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(erased.is_some());
    assert_eq!(page.get(&format!("/applications/{id}")).await.status, 401, "signed out with the data gone");
    let (status, withdrawn) = {
        let s: String = sqlx::query_scalar("SELECT status FROM applications WHERE id = $1")
            .bind(&id)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        (s.clone(), s == "withdrawn")
    };
    assert!(withdrawn, "a running application is withdrawn first: {status}");
    app.stop().await;
}

mod journeys {
    use super::*;
    both_backends!(
        an_applicant_downloads_their_data_and_then_has_it_deleted,
        applying_in_pages_keeps_what_was_typed_shows_the_apis_errors_and_makes_one_application,
        the_emailed_link_signs_in_once_and_the_applicant_sees_status_and_can_withdraw,
        a_new_link_is_asked_for_by_address_and_the_answer_tells_nobody_who_applied,
        a_form_without_this_browsers_csrf_token_changes_nothing,
        a_booked_candidate_asks_to_move_accepts_and_downloads_the_calendar_in_pages,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_is_kept_for_its_days_and_then_deleted() {
    let app = TestApp::spawn_with(Backend::Sqlite, crate::helpers::Options::api_only()).await;
    let page = PageClient::new(&app);
    page.get(&format!("{PILOT}/details")).await;
    page.post(&format!("{PILOT}/details"), &[("name", "Katherine Johnson"), ("email", "kj@example.ac.uk")]).await;
    let days = i64::from(app.settings.pages.draft_days);
    app.advance(jiff::SignedDuration::from_hours(24 * days - 1));
    assert_eq!(fasttrack_core::store::web::vacuum(&app.db, app.clock.now()).await.unwrap(), 0);
    assert!(page.get(&format!("{PILOT}/details")).await.html.contains("Katherine Johnson"), "kept until then");
    app.advance(jiff::SignedDuration::from_hours(2));
    assert_eq!(fasttrack_core::store::web::vacuum(&app.db, app.clock.now()).await.unwrap(), 1);
    assert!(!page.get(&format!("{PILOT}/details")).await.html.contains("Katherine Johnson"), "then gone");
    app.stop().await;
}

/// Once scored, each test on the tests page says in words where the applicant's sten lies.
async fn after_scoring_each_test_gives_its_feedback_in_words(backend: Backend) {
    let app = TestApp::spawn_with(backend, crate::helpers::Options::api_only()).await;
    let (id, token) = app.apply_ok("london-imt-pilot", &crate::helpers::application("ada@example.ac.uk")).await;
    app.drain().await;
    crate::centres::take_tests(&app, &id, &token).await;
    let stens: Vec<(String, i64)> = sqlx::query_as(
        "SELECT test_id, sten FROM test_scores WHERE application_id = $1 AND current = 1 ORDER BY test_id",
    )
    .bind(&id)
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(stens.len(), 3, "every test scored");
    let browser = PageClient::new(&app);
    let link = sign_in_links(&app, "confirmation", "ada@example.ac.uk").pop().unwrap();
    browser.get(&link).await;
    assert_eq!(browser.post(&link, &[]).await.status, 303);
    let page = browser.get(&format!("/applications/{id}/tests")).await;
    assert_eq!(page.status, 200);
    for (test, sten) in stens {
        let words = fasttrack::pages::candidate::sten_words(sten as u8);
        let row =
            page.html.split("nhsuk-task-list__item").find(|r| r.contains(&format!("test-{test}-status"))).unwrap();
        assert!(row.contains(&format!("Your score was {words}.")), "{test} (sten {sten}): {row}");
    }
    app.stop().await;
}
