//! Applying, reading an application with its timeline, and withdrawing.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use fasttrack_core::application::{ApplicantDetails, ApplicationForm};
use fasttrack_core::auth::{Action, hex, token_from_bytes, token_hash};
use fasttrack_core::mail::{Addressee, Mail, TestInvite};
use fasttrack_core::scheme::SchemeDefinition;
use fasttrack_core::status::Leaving;
use fasttrack_core::store::applications::{
    self, IdempotencyRecord, NewApplication, Screening, SubmitError, TransitionError,
};
use fasttrack_core::store::notifications::NewNotification;
use fasttrack_core::store::{self, audit};
use fasttrack_core::{ApplicationId, NotificationId, Role, Status, TokenId};
use fasttrack_workers::jobs::Job;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::auth::Auth;
use super::error::{ApiError, Problem};
use super::{AppState, body};

pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

#[derive(Serialize, ToSchema)]
pub struct ApplyResponse {
    pub id: String,
    /// The applicant's personal access token for this application. Shown once: keep it.
    pub token: String,
    /// Where the application stands after screening: tests_invited, ineligible, or submitted.
    pub scheme: String,
    #[schema(value_type = String)]
    pub status: Status,
    #[schema(value_type = String, format = DateTime)]
    pub submitted_at: Timestamp,
    pub href: String,
}

#[derive(Serialize, ToSchema)]
pub struct EventView {
    #[schema(value_type = Option<String>)]
    pub from: Option<Status>,
    #[schema(value_type = String)]
    pub to: Status,
    pub actor: String,
    pub note: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

/// An application as its applicant or a recruiter sees it. Equality-monitoring answers
/// are never part of it.
#[derive(Serialize, ToSchema)]
pub struct ApplicationView {
    pub id: String,
    pub scheme: String,
    #[schema(value_type = String)]
    pub status: Status,
    /// The form as sent (no equality answers); null once the personal data is erased.
    #[schema(value_type = Option<Object>)]
    pub details: Option<ApplicantDetails>,
    #[schema(value_type = String, format = DateTime)]
    pub submitted_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// When the personal data was erased (only ids, stages and dates are left).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub erased_at: Option<Timestamp>,
    pub timeline: Vec<EventView>,
}

/// A date as people read it where the service is ("2 December 2026").
fn local_date(clock: &fasttrack_core::Clock, t: Timestamp) -> String {
    clock.local(t).strftime("%-d %B %Y").to_string()
}

/// The one-time pad that masks the applicant token kept for Idempotency-Key replays. Only a
/// caller presenting the key itself can recompute it; the database holds a hash of the key.
fn token_pad(key: &str, scope: &str) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(b"fasttrack idempotent token\0");
    mac.update(scope.as_bytes());
    mac.finalize().into_bytes().into()
}

fn xor(a: [u8; 32], b: [u8; 32]) -> [u8; 32] {
    std::array::from_fn(|i| a[i] ^ b[i])
}

fn unhex32(s: &str) -> Option<[u8; 32]> {
    let bytes: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<_>>()?;
    bytes.try_into().ok()
}

fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(k) if !k.trim().is_empty() && k.len() <= 255 => Ok(Some(k.trim().to_owned())),
        _ => Err(ApiError::invalid(IDEMPOTENCY_KEY, "must be 1–255 visible ASCII characters")),
    }
}

/// The first answer given for an Idempotency-Key, with the applicant token unmasked.
fn replay(rec: &IdempotencyRecord, key: &str, request_hash: &str) -> Result<Applied, ApiError> {
    if rec.request_hash != request_hash {
        return Err(ApiError::invalid(IDEMPOTENCY_KEY, "was already used with a different request body"));
    }
    let mut body: Value = serde_json::from_str(&rec.response).map_err(|e| ApiError::Internal(e.into()))?;
    if let Some(masked) = body.as_object_mut().and_then(|o| o.remove("token_masked")) {
        let bytes =
            masked.as_str().and_then(unhex32).ok_or_else(|| ApiError::Internal(anyhow::anyhow!("bad stored token")))?;
        body["token"] = json!(token_from_bytes(xor(bytes, token_pad(key, &rec.scope))));
    }
    let status = actix_web::http::StatusCode::from_u16(rec.status).unwrap_or(actix_web::http::StatusCode::OK);
    Ok(Applied { status, body, replayed: true })
}

/// What applying answered: 201 and the new application, or the replay of an earlier answer.
pub struct Applied {
    pub status: actix_web::http::StatusCode,
    /// An `ApplyResponse` as JSON.
    pub body: Value,
    pub replayed: bool,
}

impl Applied {
    pub fn id(&self) -> Option<ApplicationId> {
        self.body.get("id").and_then(Value::as_str).and_then(|s| s.parse().ok())
    }

    fn into_response(self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if let Some(href) = self.body.get("href").and_then(Value::as_str) {
            res.insert_header((header::LOCATION, href.to_owned()));
        }
        if self.replayed {
            res.insert_header(("Idempotent-Replayed", "true"));
        }
        res.json(self.body)
    }
}

fn check_window(scheme: &SchemeDefinition, now: Timestamp) -> Result<(), ApiError> {
    if now < scheme.opens_at {
        return Err(ApiError::Conflict {
            title: "Scheme not open yet",
            detail: format!("{} opens for applications at {}", scheme.name, scheme.opens_at),
        });
    }
    if now >= scheme.closes_at {
        return Err(ApiError::Conflict {
            title: "Scheme closed",
            detail: format!("{} closed for applications at {}", scheme.name, scheme.closes_at),
        });
    }
    Ok(())
}

/// Apply to a scheme. Returns the application id and the applicant's token. An
/// `Idempotency-Key` header makes retries safe: the same key and body replay the first
/// answer; the same key with another body is a 422.
#[utoipa::path(post, path = "/api/v1/schemes/{scheme}/applications", tag = "applications",
    params(("scheme" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Object, description = "name, email, phone?, university, degree_subject, degree_class \
        (first|2:1|2:2|third|pass|masters|doctorate), degree_status (predicted|awarded), graduation_year, \
        right_to_work_uk, stream_preferences [stream ids, best first], unavailable_dates [YYYY-MM-DD], \
        adjustments [step_free_access|quiet_room|extra_time|screen_reader|sign_language_interpreter|other], \
        adjustments_detail?, disability_confident?, equality? {sex, gender_same_as_birth, age_band, ethnicity, \
        disability, sexual_orientation, religion, socio_economic_background, school_type, free_school_meals, \
        first_generation_university; each optional, each with prefer_not_to_say}, privacy_notice_version? (the \
        version of the scheme's privacy notice shown to the applicant; another is a 422)"),
    responses((status = 201, body = ApplyResponse), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "already applied, or the scheme is closed"),
        (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn apply(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let scheme_id = path.into_inner();
    let key = idempotency_key(&req)?;
    let value = body::json(payload, &state.settings.server).await?;
    Ok(submit(&state, &scheme_id, &value, key).await?.into_response())
}

/// Applies with the API's JSON body: the one way an application is made, for the API and
/// the apply pages alike. `key` makes retries safe (an Idempotency-Key, or a page's draft).
pub async fn submit(
    state: &AppState,
    scheme_id: &str,
    value: &Value,
    key: Option<String>,
) -> Result<Applied, ApiError> {
    let scheme = state.schemes.get(&state.db, scheme_id).await?.ok_or(ApiError::NotFound("scheme"))?;

    let scope = format!("apply:{}", scheme.id);
    let request_hash = hex(&Sha256::digest(serde_json::to_vec(value).expect("a Value serialises")));
    let key_hash = key.as_deref().map(|k| hex(&Sha256::digest(k.as_bytes())));
    if let (Some(k), Some(kh)) = (&key, &key_hash)
        && let Some(rec) = applications::find_idempotency(&state.db, &scope, kh).await?
    {
        return replay(&rec, k, &request_hash);
    }

    let now = state.clock.now();
    check_window(&scheme, now)?;
    let this_year = state.clock.local(now).year();
    let form = ApplicationForm::parse(value, &scheme, this_year)?;

    let id = ApplicationId::new_v7();
    let token_bytes: [u8; 32] = rand::random();
    let token = token_from_bytes(token_bytes);
    let href = format!("/api/v1/applications/{id}");
    let screening = screen(&scheme, &form, id);
    let response = ApplyResponse {
        id: id.to_string(),
        token: token.clone(),
        scheme: scheme.id.to_string(),
        status: screening.outcome,
        submitted_at: now,
        href: href.clone(),
    };
    let idempotency = match (&key, &key_hash) {
        (Some(k), Some(key_hash)) => {
            let mut stored = serde_json::to_value(&response).expect("serialises");
            let obj = stored.as_object_mut().expect("an object");
            obj.remove("token");
            obj.insert("token_masked".into(), json!(hex(&xor(token_bytes, token_pad(k, &scope)))));
            Some(IdempotencyRecord {
                scope: scope.clone(),
                key_hash: key_hash.clone(),
                request_hash: request_hash.clone(),
                status: 201,
                response: stored.to_string(),
            })
        }
        _ => None,
    };
    let streams: Vec<String> =
        form.stream_preferences.iter().filter_map(|s| scheme.stream(s.as_str())).map(|s| s.name.clone()).collect();
    let confirmation = NewNotification::new(
        &id.to_string(),
        form.email.as_str(),
        &Mail::Confirmation {
            to: Addressee::new(&form.name, &scheme.name, &id.to_string()),
            submitted_on: local_date(&state.clock, now),
            closes_on: local_date(&state.clock, scheme.closes_at),
            streams,
        },
        format!("{id}:confirmation:submitted"),
    );
    let email_id = confirmation.id;
    let screening_email = screening.email.as_ref().map(|e| e.id);
    let submitted = applications::submit(
        &state.db,
        NewApplication {
            id,
            scheme_id: &scheme.id,
            screening,
            form: &form,
            token_id: TokenId::new_v7(),
            token_hash: &token_hash(&token),
            confirmation,
            idempotency,
            now,
        },
    )
    .await;
    match submitted {
        Ok(()) => {}
        Err(SubmitError::DuplicateEmail) => {
            // A concurrent retry with the same Idempotency-Key can collide on the email first.
            if let (Some(k), Some(kh)) = (&key, &key_hash)
                && let Some(rec) = applications::find_idempotency(&state.db, &scope, kh).await?
            {
                return replay(&rec, k, &request_hash);
            }
            return Err(ApiError::Conflict {
                title: "Already applied",
                detail: format!("an application with this email address already exists for {}", scheme.name),
            });
        }
        Err(SubmitError::IdempotencyKeyTaken) => {
            // A concurrent request with the same key won the race: answer as it did.
            let (k, kh) = (key.unwrap_or_default(), key_hash.unwrap_or_default());
            let rec =
                applications::find_idempotency(&state.db, &scope, &kh).await?.ok_or_else(|| ApiError::Conflict {
                    title: "Request in progress",
                    detail: "a request with this Idempotency-Key is still being handled".into(),
                })?;
            return replay(&rec, &k, &request_hash);
        }
        Err(SubmitError::Db(e)) => return Err(e.into()),
    }
    state.metrics.applications_submitted.inc();
    tracing::info!(application = %id, scheme = %scheme.id, "application submitted");
    let emails: Vec<NotificationId> = std::iter::once(email_id).chain(screening_email).collect();
    state.enqueue_emails(&emails);
    let body = serde_json::to_value(&response).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Applied { status: actix_web::http::StatusCode::CREATED, body, replayed: false })
}

/// Straight after submission: eligible applicants are invited to the scheme's tests,
/// the others are told why they cannot go on. A scheme without tests waits for the sift.
fn screen<'a>(scheme: &'a SchemeDefinition, form: &ApplicationForm, id: ApplicationId) -> Screening<'a> {
    let email = |mail: Mail| NewNotification::once(&id.to_string(), form.email.as_str(), &mail);
    let to = || Addressee::new(&form.name, &scheme.name, &id.to_string());
    match form.eligibility(scheme) {
        Err(reason) => Screening {
            outcome: Status::Ineligible,
            note: Some(reason.clone()),
            tests: Vec::new(),
            email: Some(email(Mail::Ineligible { to: to(), reason: reason.clone() })),
        },
        Ok(()) if scheme.tests.is_empty() => {
            Screening { outcome: Status::Submitted, note: None, tests: Vec::new(), email: None }
        }
        Ok(()) => Screening {
            outcome: Status::TestsInvited,
            note: None,
            tests: scheme.tests.iter().map(|t| t.id.as_str()).collect(),
            email: Some(email(Mail::TestsInvited {
                to: to(),
                tests: scheme
                    .tests
                    .iter()
                    .map(|t| TestInvite { name: t.name.clone(), minutes: t.time_limit_minutes })
                    .collect(),
            })),
        },
    }
}

pub fn parse_id(raw: &str) -> Result<ApplicationId, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound("application"))
}

async fn view(state: &AppState, id: ApplicationId) -> Result<ApplicationView, ApiError> {
    let app = applications::get(&state.db, id).await?.ok_or(ApiError::NotFound("application"))?;
    let timeline = applications::timeline(&state.db, id).await?;
    Ok(ApplicationView {
        id: id.to_string(),
        scheme: app.scheme_id,
        status: app.status,
        details: app.details,
        submitted_at: app.created_at,
        updated_at: app.updated_at,
        erased_at: app.erased_at,
        timeline: timeline
            .into_iter()
            .map(|e| EventView { from: e.from, to: e.to, actor: e.actor, note: e.note, at: e.at })
            .collect(),
    })
}

/// An application's status and timeline: its applicant (with their own token) or a recruiter.
#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "applications",
    params(("id" = String, Path)),
    responses((status = 200, body = ApplicationView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(state: web::Data<AppState>, auth: Auth, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    auth.require(Action::ReadApplication(id))?;
    let view = view(&state, id).await?;
    if auth.0.role != Role::Applicant {
        audit::record(&state.db, &auth.0, "read application", Some(id), state.clock.now()).await?;
    }
    Ok(HttpResponse::Ok().json(view))
}

/// Withdraws an application and passes on a seat or place it held (`tell`: with the
/// "withdrawn" email). Audited. Used by withdrawal and by erasure of a live application.
pub(crate) async fn leave(
    state: &AppState,
    auth: &Auth,
    app: &applications::ApplicationRecord,
    tell: bool,
) -> Result<(), ApiError> {
    let id = app.id;
    let Some(details) = &app.details else {
        return Err(ApiError::Conflict { title: "Cannot withdraw", detail: "the application has been erased".into() });
    };
    let scheme = store::schemes::get(&state.db, &app.scheme_id).await?.ok_or(ApiError::NotFound("scheme"))?.definition;
    let now = state.clock.now();
    let mail = Mail::Withdrawn {
        to: Addressee::new(&details.name, &scheme.name, &id.to_string()),
        withdrawn_on: local_date(&state.clock, now),
    };
    let email = NewNotification::once(&id.to_string(), &details.email, &mail);
    let email = tell.then_some(&email);
    match applications::transition(&state.db, id, Status::Withdrawn, &actor(auth), None, email, now).await {
        // A seat or a place they held goes to the next candidate.
        Ok(from) => match from.on_leaving() {
            Leaving::FreeSeat => {
                store::bookings::cancel(&state.db, id, now).await?;
                state
                    .start_job("schedule", &app.scheme_id, "system:backfill", |job_id| Job::RunSchedule { job_id })
                    .await?;
            }
            Leaving::PassOnPlace => {
                state
                    .start_job("decisions", &app.scheme_id, "system:pass-on", |job_id| Job::RunDecisions { job_id })
                    .await?;
            }
            Leaving::Nothing => {}
        },
        Err(TransitionError::NotFound) => return Err(ApiError::NotFound("application")),
        Err(TransitionError::NotAllowed { from: Status::Withdrawn, .. }) => {}
        Err(TransitionError::NotAllowed { from, .. }) => {
            return Err(ApiError::Conflict {
                title: "Cannot withdraw",
                detail: format!("the application is {from}, a final state; it cannot be withdrawn"),
            });
        }
        Err(TransitionError::Db(e)) => return Err(e.into()),
    }
    audit::record(&state.db, &auth.0, "withdraw application", Some(id), now).await?;
    tracing::info!(application = %id, "application withdrawn");
    if let Some(e) = email {
        state.enqueue_emails(&[e.id]);
    }
    Ok(())
}

pub(crate) fn actor(auth: &Auth) -> String {
    match auth.0.role {
        Role::Applicant => "applicant".to_owned(),
        role => format!("{}:{}", role.as_str(), auth.0.token_id),
    }
}

/// Withdraw an application (its applicant, or an admin). Recorded in the timeline and
/// confirmed by email. Withdrawing twice answers the same withdrawn application.
#[utoipa::path(delete, path = "/api/v1/applications/{id}", tag = "applications",
    params(("id" = String, Path)),
    responses((status = 200, body = ApplicationView), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the application is in a final state")),
    security(("bearer" = [])))]
pub async fn withdraw(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    auth.require(Action::WithdrawApplication(id))?;
    let app = applications::get(&state.db, id).await?.ok_or(ApiError::NotFound("application"))?;
    if app.status != Status::Withdrawn {
        leave(&state, &auth, &app, true).await?;
    }
    Ok(HttpResponse::Ok().json(view(&state, id).await?))
}
