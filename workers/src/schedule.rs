//! The schedule worker: every shortlisted candidate without a seat is placed in
//! an assessment-centre session by the exact optimiser (`allocation`), invited
//! by email with a calendar file, and moved to `ac_invited`; those who cannot be
//! placed go on the waiting list with the reason. Candidates who asked to move are
//! placed first, anywhere but their own session, and sent the updated calendar
//! (same UID, SEQUENCE + 1); the seat they leave goes to the waiting list. A
//! stream that lost shortlisted candidates calls up its best sift reserves.

use std::time::Duration;

use anyhow::Context;
use fasttrack_core::Clock;
use fasttrack_core::allocation::{Candidate, Session, Unplaced, allocate};
use fasttrack_core::application::{ApplicantDetails, centre_preference};
use fasttrack_core::centres::AssessmentCentre;
use fasttrack_core::mail::{Addressee, CalendarEvent, Mail, SessionText};
use fasttrack_core::scheme::SchemeDefinition;
use fasttrack_core::store::bookings::{self, NewBooking};
use fasttrack_core::store::notifications::NewNotification;
use fasttrack_core::store::{centres, jobs, schemes};
use jiff::Timestamp;
use serde_json::json;

use crate::ctx::Ctx;

fn ics_time(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

#[tracing::instrument(name = "run schedule", skip(cx))]
pub async fn run_schedule(cx: &Ctx, job_id: &str) -> anyhow::Result<()> {
    crate::tracked::run(cx, job_id, "scheduling", |job| async move { schedule(cx, job_id, &job.scheme_id).await }).await
}

/// The sessions of a scheme with the seats still free; a session that has started offers none.
fn free_sessions(
    centres: &[AssessmentCentre],
    taken: &std::collections::BTreeMap<(String, String), u32>,
    clock: &Clock,
) -> Vec<Session> {
    let now = clock.now();
    centres
        .iter()
        .flat_map(|c| {
            c.sessions.iter().map(move |s| {
                let booked = taken.get(&(c.id.clone(), s.id.clone())).copied().unwrap_or(0);
                Session {
                    id: format!("{}/{}", c.id, s.id),
                    date: c.date,
                    preference_key: c.id.clone(),
                    capacity: if clock.instant(c.date, s.start).is_ok_and(|t| t > now) {
                        s.capacity.saturating_sub(booked)
                    } else {
                        0
                    },
                    booked,
                    min_group: s.min_group.unwrap_or(0),
                    provisions: s.provisions.clone(),
                    assessors: s.assessors.iter().map(|a| (a.id.clone(), a.organisation.clone())).collect(),
                }
            })
        })
        .collect()
}

fn candidate(id: &str, details: &ApplicantDetails, centres: &[AssessmentCentre], exclude: Vec<String>) -> Candidate {
    Candidate {
        id: id.to_owned(),
        unavailable: details.unavailable_dates.clone(),
        adjustments: details.adjustments.clone(),
        employer: details.current_employer.clone(),
        conflicts: Vec::new(),
        exclude,
        preferences: centres
            .iter()
            .map(|c| (c.id.clone(), centre_preference(details, &c.id, &c.name, &c.venue, c.date)))
            .filter(|(_, p)| *p > 0)
            .collect(),
    }
}

/// The booking of `app` in `session` ("centre/session") with its invitation: calendar UID
/// stable per application, SEQUENCE as given (0 first, one more on every move).
fn invitation(
    scheme: &SchemeDefinition,
    centres: &[AssessmentCentre],
    app: &str,
    details: &ApplicantDetails,
    session: &str,
    sequence: i64,
    clock: &Clock,
) -> anyhow::Result<NewBooking> {
    let (centre_id, session_id) = session.split_once('/').context("a session id")?;
    let centre = centres.iter().find(|c| c.id == centre_id).context("the centre")?;
    let s = centre.session(session_id).context("the session")?;
    let uid = format!("{app}.{}.ac@fasttrack", scheme.id);
    let (start, end) = (clock.instant(centre.date, s.start)?, clock.instant(centre.date, s.end)?);
    // The first invitation's key stays as it always was; a move is a new occasion.
    let occasion = if sequence == 0 { String::new() } else { format!(":{sequence}") };
    Ok(NewBooking {
        application_id: app.to_owned(),
        centre_id: centre_id.to_owned(),
        session_id: session_id.to_owned(),
        uid: uid.clone(),
        starts_at: start,
        email: NewNotification::new(
            app,
            &details.email,
            &Mail::AcInvitation {
                to: Addressee::new(&details.name, &scheme.name, app),
                session: SessionText {
                    centre_name: centre.name.clone(),
                    venue: centre.venue.clone(),
                    date_text: centre.date.strftime("%A %-d %B %Y").to_string(),
                    start_text: s.start.strftime("%H:%M").to_string(),
                },
                end_text: s.end.strftime("%H:%M").to_string(),
                moved: sequence > 0,
                ics: Box::new(CalendarEvent {
                    uid,
                    sequence,
                    start_utc: ics_time(start),
                    end_utc: ics_time(end),
                    stamp_utc: ics_time(clock.now()),
                    summary: format!("{}: {}", scheme.name, centre.name),
                    location: centre.venue.clone(),
                    description: "Assessment centre. Please bring photo ID.".into(),
                }),
            },
            format!("{app}:ac_invitation:{centre_id}/{session_id}{occasion}"),
        ),
    })
}

async fn schedule(cx: &Ctx, job_id: &str, scheme_id: &str) -> anyhow::Result<serde_json::Value> {
    let (db, clock) = (&cx.db, &cx.clock);
    let scheme = schemes::get(db, scheme_id).await?.context("the scheme is missing")?.definition;
    let centres = centres::list(db, scheme_id).await?;
    let now = clock.now();

    // First those who asked to move: a free seat anywhere but their own session. Their old
    // seat is then free for the waiting list below.
    let rebookers = bookings::rebookers(db, scheme_id, now).await?;
    let mut moved = 0;
    if !rebookers.is_empty() {
        let sessions = free_sessions(&centres, &bookings::taken(db, scheme_id).await?, clock);
        let cands: Vec<Candidate> = rebookers
            .iter()
            .map(|r| candidate(&r.id, &r.details, &centres, vec![format!("{}/{}", r.centre_id, r.session_id)]))
            .collect();
        let plan = allocate(&cands, &sessions);
        let mut moves = Vec::new();
        for (app, session) in &plan.assigned {
            let r = rebookers.iter().find(|r| &r.id == app).context("the rebooker")?;
            moves.push((invitation(&scheme, &centres, app, &r.details, session, r.sequence + 1, clock)?, r.sequence));
        }
        moved = moves.len();
        let emails = bookings::move_bookings(db, job_id, &moves, now).await?;
        cx.enqueue_emails(&emails, "updated invitations").await;
    }

    // Everyone shortlisted without a seat (the waiting list first: it was shortlisted first).
    let (mut placed, mut waiting) = place_unbooked(cx, job_id, &scheme, &centres).await?;

    // A stream that lost shortlisted candidates (a seat declined, a withdrawal) before their
    // centre calls up its best reserves, who then take the seats the waiting list could not use.
    let ac_seats = scheme.streams.iter().map(|s| (s.id.to_string(), s.ac_seats)).collect();
    // Only while seats are still to be had: after the last centre a call-up would be empty.
    let free_seats: u32 =
        free_sessions(&centres, &bookings::taken(db, scheme_id).await?, clock).iter().map(|s| s.capacity).sum();
    let (active, reserves, details) = fasttrack_core::store::sift::call_up_inputs(db, scheme_id).await?;
    let mut to_call = fasttrack_core::sift::reserves_to_call(&ac_seats, &active, &reserves);
    to_call.truncate(free_seats as usize);
    let called: Vec<(String, NewNotification)> = to_call
        .iter()
        .filter_map(|(id, stream)| Some((id, stream, details.get(id)?)))
        .map(|(id, stream, details)| {
            let stream = scheme.stream(stream).map_or(stream.as_str(), |s| s.name.as_str()).to_owned();
            let mail = Mail::Shortlisted { to: Addressee::new(&details.name, &scheme.name, id), stream };
            let email = NewNotification::once(id, &details.email, &mail);
            (id.clone(), email)
        })
        .collect();
    let called_up = called.len();
    if !called.is_empty() {
        let emails = fasttrack_core::store::sift::call_up(db, &called, now).await?;
        cx.enqueue_emails(&emails, "call-up emails").await;
    }

    if called_up > 0 {
        (placed, waiting) = {
            let (p, w) = place_unbooked(cx, job_id, &scheme, &centres).await?;
            (placed + p, w)
        };
    }
    Ok(json!({
        "placed": placed, "waiting": waiting,
        "moved": moved, "still_asking_to_move": rebookers.len() - moved, "called_up_from_reserve": called_up,
    }))
}

/// Places every shortlisted candidate without a seat into the free seats (most placed, then
/// best preference), invites them, and puts the rest on the waiting list with the reason.
/// Returns (placed, waiting).
async fn place_unbooked(
    cx: &Ctx,
    job_id: &str,
    scheme: &SchemeDefinition,
    centres: &[AssessmentCentre],
) -> anyhow::Result<(usize, usize)> {
    let (db, clock) = (&cx.db, &cx.clock);
    let now = clock.now();
    let scheme_id = scheme.id.as_str();
    let sessions = free_sessions(centres, &bookings::taken(db, scheme_id).await?, clock);
    let unbooked = bookings::unbooked(db, scheme_id).await?;
    let candidates: Vec<Candidate> =
        unbooked.iter().map(|u| candidate(&u.id, &u.details, centres, Vec::new())).collect();
    jobs::progress(db, job_id, 0, candidates.len() as i64, now).await?;
    let plan = allocate(&candidates, &sessions);

    let mut booked = Vec::new();
    for (app, session) in &plan.assigned {
        let details = &unbooked.iter().find(|u| &u.id == app).context("the candidate")?.details;
        booked.push(invitation(scheme, centres, app, details, session, 0, clock)?);
    }
    let waiting: Vec<(String, String)> = plan
        .waiting
        .iter()
        .map(|(id, why)| {
            let reason = match why {
                Unplaced::NoSuitableSession => "no session fits the dates, adjustments or conflicts",
                Unplaced::SessionsFull => "the sessions that fit are full",
            };
            (id.clone(), reason.to_owned())
        })
        .collect();
    let emails = bookings::record(db, scheme_id, job_id, &booked, &waiting, now).await?;
    cx.enqueue_emails(&emails, "invitations").await;
    Ok((plan.assigned.len(), plan.waiting.len()))
}

/// Sends the reminder for every booked session starting within 48 hours, once, naming the
/// session the candidate holds when it is written.
pub async fn send_reminders(cx: &Ctx) -> anyhow::Result<usize> {
    let db = &cx.db;
    let due = bookings::due_reminders(db, cx.clock.now(), Duration::from_secs(48 * 3600)).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut reminders = Vec::with_capacity(due.len());
    // Each scheme and its centres are read once, however many reminders it has.
    let mut loaded = std::collections::BTreeMap::new();
    for d in &due {
        if !loaded.contains_key(&d.scheme_id) {
            let scheme = schemes::get(db, &d.scheme_id).await?.context("the scheme is missing")?.definition;
            loaded.insert(d.scheme_id.clone(), (scheme, centres::list(db, &d.scheme_id).await?));
        }
        let (scheme, list) = &loaded[&d.scheme_id];
        let centre = list.iter().find(|c| c.id == d.centre_id);
        let local = cx.clock.local(d.starts_at);
        let mail = Mail::AcReminder {
            to: Addressee::new(&d.details.name, &scheme.name, &d.application_id),
            session: SessionText {
                centre_name: centre.as_ref().map_or(d.centre_id.clone(), |c| c.name.clone()),
                venue: centre.as_ref().map_or(String::new(), |c| c.venue.clone()),
                date_text: local.strftime("%A %-d %B %Y").to_string(),
                start_text: local.strftime("%H:%M").to_string(),
            },
        };
        // The booking's SEQUENCE: a candidate moved away and back is reminded again.
        let key = format!("{}:ac_reminder:{}/{}:{}", d.application_id, d.centre_id, d.session_id, d.sequence);
        let email = NewNotification::new(&d.application_id, &d.details.email, &mail, key);
        reminders.push((d, email));
    }
    let ids = bookings::mark_reminded(db, &reminders, cx.clock.now()).await?;
    cx.enqueue_emails(&ids, "reminders").await;
    Ok(ids.len())
}
