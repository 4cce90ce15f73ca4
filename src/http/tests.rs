//! Online tests as the applicant takes them: the list, starting one (the clock
//! starts and the items are shown, without keys), and sending the answers once.

use actix_web::{HttpResponse, web};
use fasttrack_core::auth::Action;
use fasttrack_core::scheme::TestWindow;
use fasttrack_core::scoring::TestDefinition;
use fasttrack_core::store::tests::{self, Attempt, Submission, Submitted};
use fasttrack_core::store::{applications, schemes};
use fasttrack_core::validation::FieldErrors;
use fasttrack_core::{ApplicationId, Status};
use fasttrack_workers::jobs::Job;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::applications::parse_id;
use super::auth::Auth;
use super::error::{ApiError, Problem};
use super::{AppState, body};

#[derive(Serialize, ToSchema)]
pub struct TestView {
    pub id: String,
    pub name: String,
    pub instructions: String,
    pub time_limit_minutes: Option<u32>,
    pub items: usize,
    /// not_started, in_progress, submitted, or submitted_late (kept, not scored)
    pub state: &'static str,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deadline_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub submitted_at: Option<Timestamp>,
}

fn state_of(a: &Attempt) -> &'static str {
    match (a.started_at, a.submitted_at, a.late) {
        (_, Some(_), true) => "submitted_late",
        (_, Some(_), false) => "submitted",
        (Some(_), None, _) => "in_progress",
        (None, None, _) => "not_started",
    }
}

fn view(test: &TestDefinition, a: &Attempt) -> TestView {
    TestView {
        id: test.id.to_string(),
        name: test.name.clone(),
        instructions: test.instructions.trim().to_owned(),
        time_limit_minutes: test.time_limit_minutes,
        items: test.items.len(),
        state: state_of(a),
        started_at: a.started_at,
        deadline_at: a.deadline_at,
        submitted_at: a.submitted_at,
    }
}

async fn load(
    state: &AppState,
    auth: &Auth,
    raw_id: &str,
) -> Result<(ApplicationId, Status, fasttrack_core::scheme::SchemeDefinition), ApiError> {
    let id = parse_id(raw_id)?;
    auth.require(Action::TakeTests(id))?;
    let app = applications::get(&state.db, id).await?.ok_or(ApiError::NotFound("application"))?;
    let scheme = schemes::get(&state.db, &app.scheme_id).await?.ok_or(ApiError::NotFound("scheme"))?.definition;
    Ok((id, app.status, scheme))
}

/// The applicant's tests and where they stand.
#[utoipa::path(get, path = "/api/v1/applications/{id}/tests", tag = "tests", params(("id" = String, Path)),
    responses((status = 200, body = Vec<TestView>), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn list(state: web::Data<AppState>, auth: Auth, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (id, _, scheme) = load(&state, &auth, &path).await?;
    let attempts = tests::attempts(&state.db, id).await?;
    let views: Vec<TestView> = scheme
        .tests
        .iter()
        .filter_map(|t| attempts.iter().find(|a| a.test_id == t.id.as_str()).map(|a| view(t, a)))
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

#[derive(Serialize, ToSchema)]
pub struct StartedTest {
    #[serde(flatten)]
    pub test: TestView,
    /// The items, without their keys. Answer each by option index: one index for
    /// multiple_choice, every index in your order (best first) for ranking, exactly `pick`
    /// indexes for best_n.
    #[schema(value_type = Vec<Object>)]
    pub questions: Vec<serde_json::Value>,
}

/// Start a test: the clock starts now (a timed test's deadline is in the answer) and the
/// items are shown. Starting again shows the same items and deadline.
#[utoipa::path(post, path = "/api/v1/applications/{id}/tests/{test}/start", tag = "tests",
    params(("id" = String, Path), ("test" = String, Path)),
    responses((status = 200, body = StartedTest), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "not invited to tests, or already submitted")),
    security(("bearer" = [])))]
pub async fn start(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_id, test_id) = path.into_inner();
    let (id, status, scheme) = load(&state, &auth, &raw_id).await?;
    let test = scheme.test(&test_id).ok_or(ApiError::NotFound("test"))?;
    if status != Status::TestsInvited {
        return Err(ApiError::Conflict {
            title: "Tests not open",
            detail: format!("the application is {status}; its tests are not open"),
        });
    }
    let now = state.clock.now();
    let grace = SignedDuration::from_secs(state.settings.tests.grace_secs as i64);
    if scheme.test_window(now, grace) != TestWindow::Open {
        return Err(ApiError::Conflict {
            title: "Tests closed",
            detail: format!("the scheme closed on {}; tests can no longer be started", scheme.closes_at),
        });
    }
    let deadline = test.time_limit_minutes.map(|m| now + SignedDuration::from_mins(i64::from(m)));
    let attempt = tests::start(&state.db, id, &test_id, now, deadline).await?.ok_or(ApiError::NotFound("test"))?;
    if attempt.submitted_at.is_some() {
        return Err(ApiError::Conflict {
            title: "Already submitted",
            detail: "this test's answers were already sent".into(),
        });
    }
    let items: Vec<serde_json::Value> = test
        .items
        .iter()
        .map(|i| serde_json::to_value(i.view()))
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(HttpResponse::Ok().json(StartedTest { test: view(test, &attempt), questions: items }))
}

#[derive(Serialize, ToSchema)]
pub struct SubmittedView {
    pub test: String,
    #[schema(value_type = String, format = DateTime)]
    pub submitted_at: Timestamp,
    /// Sent after the time limit and its grace: kept, but not scored.
    pub late: bool,
    pub scored: bool,
    pub message: String,
}

/// Send a test's answers, once: `{"answers": {"<item id>": <answer>, …}}`. Unanswered items
/// score nothing. Answers after the time limit are recorded but not scored.
#[utoipa::path(post, path = "/api/v1/applications/{id}/tests/{test}/responses", tag = "tests",
    params(("id" = String, Path), ("test" = String, Path)),
    request_body(content = Object, description = "{\"answers\": {\"item id\": answer}}"),
    responses((status = 201, body = SubmittedView), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "not started, already sent, or tests not open"),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn respond(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (raw_id, test_id) = path.into_inner();
    let value = body::json(payload, &state.settings.server).await?;
    respond_value(&state, &auth, &raw_id, &test_id, &value).await
}

/// Sends a test's answers given as the API's JSON body (the API and the test page alike).
pub async fn respond_value(
    state: &AppState,
    auth: &Auth,
    raw_id: &str,
    test_id: &str,
    value: &serde_json::Value,
) -> Result<HttpResponse, ApiError> {
    let test_id = test_id.to_owned();
    let (id, status, scheme) = load(state, auth, raw_id).await?;
    let test = scheme.test(&test_id).ok_or(ApiError::NotFound("test"))?;
    if status != Status::TestsInvited {
        return Err(ApiError::Conflict {
            title: "Tests not open",
            detail: format!("the application is {status}; its tests are not open"),
        });
    }
    let mut errors = FieldErrors::new();
    let answers = value.get("answers").filter(|a| a.is_object());
    match answers {
        None => errors.push("answers", "is required: an object of item id → answer"),
        Some(a) => {
            test.parse_answers(a, &mut errors);
        }
    }
    if let Some(obj) = value.as_object() {
        for k in obj.keys().filter(|k| *k != "answers") {
            errors.push(k.clone(), "is not a known field");
        }
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let attempt = tests::get_attempt(&state.db, id, &test_id).await?.ok_or(ApiError::NotFound("test"))?;
    let now = state.clock.now();
    let grace = SignedDuration::from_secs(state.settings.tests.grace_secs as i64);
    if scheme.test_window(now, grace) == TestWindow::Closed {
        return Err(ApiError::Conflict {
            title: "Tests closed",
            detail: format!("the scheme closed on {}; no more answers enter scoring", scheme.closes_at),
        });
    }
    let late = scheme.answer_is_late(now, attempt.deadline_at, grace);
    let outcome =
        tests::submit(&state.db, Submission { app: id, test: &test_id, answers, provider: None, late, now }).await?;
    match outcome {
        Submitted::Recorded { completed } => {
            if completed {
                state.enqueue(&[Job::ScoreApplication { application_id: id }]);
            }
            let message = if late {
                format!("{} was sent after its time limit, so it is recorded but will not be scored", test.name)
            } else {
                format!("{} received", test.name)
            };
            Ok(HttpResponse::Created().json(SubmittedView {
                test: test_id,
                submitted_at: now,
                late,
                scored: !late,
                message,
            }))
        }
        Submitted::AlreadySubmitted => {
            Err(ApiError::Conflict { title: "Already submitted", detail: "answers are taken once per test".into() })
        }
        Submitted::NotStarted => Err(ApiError::Conflict {
            title: "Test not started",
            detail: format!("start the test first: POST /api/v1/applications/{id}/tests/{test_id}/start"),
        }),
        Submitted::Replayed => Ok(HttpResponse::Ok().json(json!({"status": "duplicate"}))),
    }
}
