//! Assessors at work: the sessions they sit on, their candidates (name-blind where
//! the scheme says so), their scores; and the recruiter's view of every AC result
//! with the scores still missing.

use actix_web::{HttpResponse, web};
use fasttrack_core::assessment::Scoresheet;
use fasttrack_core::auth::Action;
use fasttrack_core::centres::{AssessmentCentre, SessionDef, parse_assessor_key, parse_session_key, session_key};
use fasttrack_core::scheme::SchemeDefinition;
use fasttrack_core::store::{assessment, centres, schemes};
use fasttrack_core::validation::FieldErrors;
use fasttrack_core::{Caller, Role};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Auth;
use super::error::{ApiError, Problem};
use super::{AppState, body};

/// The caller's assessor id within `scheme`, if they are an assessor of that scheme.
fn me_in<'a>(caller: &'a Caller, scheme: &str) -> Option<&'a str> {
    let (s, me) = parse_assessor_key(caller.assessor_id.as_deref()?)?;
    (caller.role == Role::Assessor && s == scheme).then_some(me)
}

fn on_panel(caller: &Caller, scheme: &str, session: &SessionDef) -> bool {
    me_in(caller, scheme).is_some_and(|me| session.assessors.iter().any(|a| a.id == me))
}

fn session_json(scheme: &str, c: &AssessmentCentre, s: &SessionDef) -> Value {
    json!({
        "key": session_key(scheme, &c.id, &s.id), "scheme": scheme, "centre": c.id, "centre_name": c.name,
        "venue": c.venue, "date": c.date.to_string(), "start": s.start.strftime("%H:%M").to_string(),
        "end": s.end.strftime("%H:%M").to_string(), "time_zone": "Europe/London", "capacity": s.capacity,
        "exercises": s.exercises, "assessors": s.assessors, "provisions": s.provisions,
    })
}

/// The scheme, centre and session a key names.
async fn find(state: &AppState, key: &str) -> Result<(SchemeDefinition, AssessmentCentre, SessionDef), ApiError> {
    let (scheme, centre, session) = parse_session_key(key).ok_or(ApiError::NotFound("session"))?;
    let def = schemes::get(&state.db, scheme).await?.ok_or(ApiError::NotFound("session"))?.definition;
    let c = centres::list(&state.db, scheme)
        .await?
        .into_iter()
        .find(|c| c.id == centre)
        .ok_or(ApiError::NotFound("session"))?;
    let s = c.session(session).cloned().ok_or(ApiError::NotFound("session"))?;
    Ok((def, c, s))
}

#[derive(Deserialize)]
pub struct ListQuery {
    scheme: Option<String>,
}

/// The sessions an assessor sits on (recruiters: every session, or a scheme's with
/// `?scheme=`), each with its key for `/sessions/{session}`.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "assessment centres",
    params(("scheme" = Option<String>, Query)),
    responses((status = 200, description = "the sessions")),
    security(("bearer" = [])))]
pub async fn list(state: web::Data<AppState>, auth: Auth, q: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    let assessor = auth.0.role == Role::Assessor;
    auth.require(Action::ReadSession { on_panel: assessor })?;
    let mut out = Vec::new();
    for (scheme, c) in centres::list_all(&state.db).await? {
        if q.scheme.as_ref().is_some_and(|s| *s != scheme) {
            continue;
        }
        for s in &c.sessions {
            if !assessor || on_panel(&auth.0, &scheme, s) {
                out.push(session_json(&scheme, &c, s));
            }
        }
    }
    Ok(HttpResponse::Ok().json(json!({"sessions": out})))
}

/// A session and its candidates. Assessors on its panel see their own scores and what is
/// still missing, and no names where the scheme is name-blind; recruiters see everyone's.
#[utoipa::path(get, path = "/api/v1/sessions/{session}", tag = "assessment centres",
    params(("session" = String, Path, description = "scheme:centre:session")),
    responses((status = 200, description = "the session and its candidates"), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(state: web::Data<AppState>, auth: Auth, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (scheme, centre, session) = find(&state, &path).await?;
    auth.require(Action::ReadSession { on_panel: on_panel(&auth.0, scheme.id.as_str(), &session) })?;
    let assessor = auth.0.role == Role::Assessor;
    let blind = assessor && scheme.name_blind;
    let seated = assessment::seated(&state.db, scheme.id.as_str(), Some((&centre.id, &session.id))).await?;
    let ids: Vec<String> = seated.iter().map(|s| s.application_id.clone()).collect();
    let recorded = assessment::recorded(&state.db, &ids).await?;
    fasttrack_core::store::audit::staff_read(
        &state.db,
        &auth.0,
        "read session candidates",
        None,
        Some(path.as_str()),
        state.clock.now(),
    )
    .await?;
    let me = me_in(&auth.0, scheme.id.as_str()).unwrap_or_default().to_owned();
    let candidates: Vec<Value> = seated
        .iter()
        .map(|c| {
            let rec = recorded.get(&c.application_id).cloned().unwrap_or_default();
            let result = fasttrack_core::assessment::combine(&session, &rec);
            let mut v = json!({
                "application_id": c.application_id, "booking": c.booking, "status": c.status,
                "complete": result.complete, "missing_scores": result.missing_scores,
                "missing_judgement": result.missing_judgement,
            });
            if !blind {
                v["name"] = json!(c.name);
            }
            let scores: Vec<Value> = rec
                .scores
                .iter()
                .filter(|((_, _, who), _)| !assessor || *who == me)
                .map(|((k, comp, who), s)| json!({"exercise": k, "competency": comp, "assessor": who, "score": s}))
                .collect();
            v["scores"] = json!(scores);
            let judgements: Vec<Value> = rec
                .judgements
                .iter()
                .filter(|(who, _)| !assessor || **who == me)
                .map(|(who, j)| json!({"assessor": who, "overall": j}))
                .collect();
            v["judgements"] = json!(judgements);
            if !assessor {
                v["ac_score"] = json!(result.score);
                v["appointable"] = json!(result.appointable);
            }
            v
        })
        .collect();
    let mut out = session_json(scheme.id.as_str(), &centre, &session);
    out["name_blind"] = json!(blind);
    out["candidates"] = json!(candidates);
    Ok(HttpResponse::Ok().json(out))
}

/// Record scores (1–4 per exercise and competency the session assesses) and the overall
/// judgement for one candidate: `{"application_id", "scores": [{"exercise", "competency",
/// "score"}], "overall": "appointable|not_yet"}`. Only assessors on the session's panel; a
/// later score from the same assessor replaces theirs. When every pair is scored and a
/// judgement given, the candidate is assessed.
#[utoipa::path(post, path = "/api/v1/sessions/{session}/scores", tag = "assessment centres",
    params(("session" = String, Path, description = "scheme:centre:session")),
    request_body(content = Object, description = "A scoresheet"),
    responses((status = 200, description = "the candidate's result so far"), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn score(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (scheme, centre, session) = find(&state, &path).await?;
    auth.require(Action::ScoreSession { on_panel: on_panel(&auth.0, scheme.id.as_str(), &session) })?;
    let value = body::json(payload, &state.settings.server).await?;
    let sheet = Scoresheet::parse(&value, &session)?;
    // Scores are for what was seen: not before the session starts.
    let starts = centre.session_starts_at(&session, state.clock.tz()).map_err(|e| ApiError::Internal(e.into()))?;
    if state.clock.now() < starts {
        return Err(ApiError::Conflict {
            title: "Session not started",
            detail: format!("this session starts at {starts}; scores can be recorded once it has started"),
        });
    }
    let assessor = me_in(&auth.0, scheme.id.as_str()).unwrap_or_default().to_owned();
    let actor = format!("assessor:{assessor}");
    let result = assessment::record(
        &state.db,
        scheme.id.as_str(),
        &centre.id,
        &session,
        &assessor,
        &sheet,
        &actor,
        state.clock.now(),
    )
    .await
    .map_err(|e| match e {
        assessment::ScoreError::NotInSession(why) => {
            let mut f = FieldErrors::new();
            f.push("application_id", format!("has no accepted seat in this session ({why})"));
            ApiError::Invalid(f)
        }
        assessment::ScoreError::Db(e) => e.into(),
    })?;
    tracing::info!(session = %path, assessor, complete = result.complete, "scores recorded");
    fasttrack_core::store::audit::record(
        &state.db,
        &auth.0,
        "record assessment scores",
        Some(sheet.application_id),
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "application_id": sheet.application_id.to_string(), "complete": result.complete,
        "missing_scores": result.missing_scores, "missing_judgement": result.missing_judgement,
    })))
}

/// Every candidate holding a seat, with their AC score and panel judgement once complete and
/// the scores and judgements still missing otherwise.
#[utoipa::path(get, path = "/api/v1/schemes/{scheme}/ac-results", tag = "assessment centres",
    params(("scheme" = String, Path)),
    responses((status = 200, description = "results and missing scores"), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn results(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Action::ReadAcResults)?;
    let scheme = schemes::get(&state.db, &path).await?.ok_or(ApiError::NotFound("scheme"))?.definition;
    let list = centres::list(&state.db, scheme.id.as_str()).await?;
    let seated = assessment::seated(&state.db, scheme.id.as_str(), None).await?;
    let ids: Vec<String> = seated.iter().map(|s| s.application_id.clone()).collect();
    let recorded = assessment::recorded(&state.db, &ids).await?;
    let (mut complete, mut incomplete) = (0u32, 0u32);
    let mut rows = Vec::with_capacity(seated.len());
    for c in &seated {
        let Some(session) = list.iter().find(|x| x.id == c.centre_id).and_then(|x| x.session(&c.session_id)) else {
            continue;
        };
        let r =
            fasttrack_core::assessment::combine(session, &recorded.get(&c.application_id).cloned().unwrap_or_default());
        if r.complete {
            complete += 1;
        } else {
            incomplete += 1;
        }
        rows.push(json!({
            "application_id": c.application_id, "name": c.name, "status": c.status, "booking": c.booking,
            "session": session_key(scheme.id.as_str(), &c.centre_id, &c.session_id),
            "ac_score": r.score, "appointable": r.appointable, "complete": r.complete,
            "missing_scores": r.missing_scores, "missing_judgement": r.missing_judgement,
        }));
    }
    Ok(HttpResponse::Ok().json(json!({
        "scheme": scheme.id, "complete": complete, "incomplete": incomplete, "candidates": rows,
        "combination": "AC score = mean over exercises of (mean over the exercise's competencies of the panel's mean \
                        score); appointable when more than half of the panel's judgements are appointable",
    })))
}
