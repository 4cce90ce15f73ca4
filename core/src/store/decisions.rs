//! The decisions job's reads and writes (offers, reserve, rejections) and the
//! candidates' answers to offers.

use std::collections::BTreeMap;

use jiff::Timestamp;
use sqlx::{AssertSqlSafe, Row};

use super::applications::{self, Move};
use super::notifications::{self, NewNotification};
use super::{Db, to_ms, tuples};
use crate::domain::application::ApplicantDetails;
use crate::domain::decisions::OfferState;
use crate::domain::decisions::{Decision, Outcome};
use crate::domain::ids::ApplicationId;
use crate::domain::ids::NotificationId;
use crate::domain::status::Status;

#[derive(Debug, Clone)]
pub struct DecisionRow {
    pub id: String,
    pub stream: String,
    pub ac_score: f64,
    pub appointable: bool,
    pub composite: f64,
    pub on_reserve: bool,
    pub details: ApplicantDetails,
}

/// Every candidate still to decide (assessed), and those on the AC reserve without an offer,
/// with their AC result and test composite: one query.
pub async fn candidates(db: &Db, scheme: &str) -> sqlx::Result<Vec<DecisionRow>> {
    let rows = sqlx::query(
        "SELECT a.id, a.status, a.details, r.stream_id, r.score, r.appointable, COALESCE(s.composite, 0.0) AS composite
         FROM ac_results r
         JOIN applications a ON a.id = r.application_id
         LEFT JOIN application_scores s ON s.application_id = a.id
         WHERE r.scheme_id = $1 AND (a.status = 'assessed' OR a.status = 'reserve')
           AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.application_id = a.id)",
    )
    .bind(scheme)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let details: String = r.try_get("details")?;
            Ok(DecisionRow {
                id: r.try_get("id")?,
                stream: r.try_get("stream_id")?,
                ac_score: r.try_get("score")?,
                appointable: r.try_get::<i64, _>("appointable")? != 0,
                composite: r.try_get("composite")?,
                on_reserve: r.try_get::<String, _>("status")? == "reserve",
                details: serde_json::from_str(&details).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            })
        })
        .collect()
}

/// (stream, organisation) of every offer that stands (offered or accepted, and the candidate
/// has not withdrawn).
pub async fn held(db: &Db, scheme: &str) -> sqlx::Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT o.stream_id, o.organisation_id FROM offers o JOIN applications a ON a.id = o.application_id
         WHERE o.scheme_id = $1 AND o.state IN ('offered', 'accepted') AND a.status IN ('offered', 'accepted', 'placed')",
    )
    .bind(scheme)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(|r| Ok((r.try_get("stream_id")?, r.try_get("organisation_id")?))).collect()
}

fn status_of(o: &Outcome) -> Status {
    match o {
        Outcome::Offer { .. } => Status::Offered,
        Outcome::Reserve => Status::Reserve,
        Outcome::Rejected => Status::Rejected,
    }
}

/// Writes the decisions in one transaction: statuses by compare-and-set (from `assessed`, or
/// `reserve` for offers), their timeline events, the offers and the emails. Returns the
/// emails to enqueue and how many offers were written (fewer than planned when a candidate
/// changed meanwhile).
pub async fn apply(
    db: &Db,
    scheme: &str,
    job_id: &str,
    decisions: &[Decision],
    emails: &BTreeMap<String, NewNotification>,
    now: Timestamp,
) -> sqlx::Result<(Vec<NotificationId>, usize)> {
    let now_ms = to_ms(now);
    let mut tx = db.begin().await?;
    let mut queued = Vec::new();
    let mut offers_written = 0;
    for chunk in decisions.chunks(500) {
        // (decision, status it moved from): offers are made from `assessed` or from the AC
        // reserve; reserve and rejection only from `assessed`.
        let mut moved: Vec<(&Decision, Status)> = Vec::new();
        for to in [Status::Offered, Status::Reserve, Status::Rejected] {
            let froms: &[Status] =
                if to == Status::Offered { &[Status::Assessed, Status::Reserve] } else { &[Status::Assessed] };
            let moves: Vec<Move<'_>> = chunk
                .iter()
                .filter(|d| status_of(&d.outcome) == to)
                .map(|d| Move {
                    id: &d.id,
                    note: match (&d.outcome, d.rank) {
                        (Outcome::Offer { organisation }, Some(r)) => {
                            Some(format!("offer with {organisation} (rank {r})"))
                        }
                        (Outcome::Reserve, Some(r)) => Some(format!("reserve (rank {r})")),
                        _ => None,
                    },
                })
                .collect();
            for &from in froms {
                let changed = applications::move_many(&mut tx, "decisions", from, to, &moves, now).await?;
                moved.extend(chunk.iter().filter(|d| changed.contains(&d.id)).map(|d| (d, from)));
            }
        }
        if moved.is_empty() {
            continue;
        }
        let offers: Vec<(&Decision, &String)> = moved
            .iter()
            .filter_map(|(d, _)| match &d.outcome {
                Outcome::Offer { organisation } => Some((*d, organisation)),
                _ => None,
            })
            .collect();
        offers_written += offers.len();
        if !offers.is_empty() {
            let sql = format!(
                "INSERT INTO offers (application_id, scheme_id, stream_id, organisation_id, state, job_id, created_at,
                   updated_at) VALUES {} ON CONFLICT (application_id) DO NOTHING",
                tuples(offers.len(), 8)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (d, org) in &offers {
                q = q
                    .bind(d.id.clone())
                    .bind(scheme.to_owned())
                    .bind(d.stream.clone())
                    .bind((*org).clone())
                    .bind("offered")
                    .bind(job_id.to_owned())
                    .bind(now_ms)
                    .bind(now_ms);
            }
            q.execute(&mut *tx).await?;
        }
        let mail: Vec<NewNotification> = moved.iter().filter_map(|(d, _)| emails.get(&d.id).cloned()).collect();
        notifications::insert_many(&mut tx, &mail, now).await?;
        queued.extend(mail.iter().map(|n| n.id));
    }
    tx.commit().await?;
    Ok((queued, offers_written))
}

#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub scheme_id: String,
    pub stream_id: String,
    pub organisation_id: String,
    pub state: OfferState,
}

pub async fn get(db: &Db, id: ApplicationId) -> sqlx::Result<Option<Offer>> {
    let application = id.to_string();
    let application = application.as_str();
    let row = sqlx::query("SELECT scheme_id, stream_id, organisation_id, state FROM offers WHERE application_id = $1")
        .bind(application)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| {
        Ok(Offer {
            scheme_id: r.try_get("scheme_id")?,
            stream_id: r.try_get("stream_id")?,
            organisation_id: r.try_get("organisation_id")?,
            state: super::enum_column(&r, "state", OfferState::parse)?,
        })
    })
    .transpose()
}

#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    Done,
    NoOffer,
    /// The offer cannot take this answer; its state.
    Not(String),
}

/// The candidate accepts (offered → accepted) or declines (offered or accepted → declined)
/// the place, with the timeline event, in one transaction; compare-and-set throughout.
pub async fn answer(db: &Db, id: ApplicationId, accept: bool, now: Timestamp) -> sqlx::Result<Answer> {
    let application = id.to_string();
    let application = application.as_str();
    let now_ms = to_ms(now);
    let (from_states, to_offer): (&[OfferState], OfferState) = if accept {
        (&[OfferState::Offered], OfferState::Accepted)
    } else {
        (&[OfferState::Offered, OfferState::Accepted], OfferState::Declined)
    };
    let Some(offer) = get(db, id).await? else { return Ok(Answer::NoOffer) };
    if !from_states.contains(&offer.state) {
        return Ok(Answer::Not(offer.state.to_string()));
    }
    let mut tx = db.begin().await?;
    let changed = sqlx::query("UPDATE offers SET state = $2, updated_at = $3 WHERE application_id = $1 AND state = $4")
        .bind(application)
        .bind(to_offer.as_str())
        .bind(now_ms)
        .bind(offer.state.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    // The offer's states are the application's: offered, accepted, declined.
    let moved = changed == 1
        && applications::move_in_tx(
            &mut tx,
            application,
            offer.state.status(),
            to_offer.status(),
            "applicant",
            None,
            now,
        )
        .await?;
    if !moved {
        drop(tx);
        let status: Option<String> = sqlx::query("SELECT status FROM applications WHERE id = $1")
            .bind(application)
            .fetch_optional(db.pool())
            .await?
            .map(|r| r.try_get("status"))
            .transpose()?;
        return Ok(Answer::Not(format!("{}, and the application is {}", offer.state, status.unwrap_or_default())));
    }
    tx.commit().await?;
    Ok(Answer::Done)
}

/// Offers per state (offered, accepted, declined) for the profile's acceptance figures.
pub async fn counts(db: &Db, scheme: &str) -> sqlx::Result<BTreeMap<String, u64>> {
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM offers WHERE scheme_id = $1 GROUP BY state")
        .bind(scheme)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|r| Ok((r.try_get("state")?, r.try_get::<i64, _>("n")?.max(0) as u64))).collect()
}
