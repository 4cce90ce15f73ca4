//! Surveys and their responses; tables are one GROUP BY over answers joined to groups.

use jiff::Timestamp;
use sqlx::Row;

use super::{Db, to_ms};
use crate::domain::survey::{SurveyDefinition, SurveyResponse};

pub async fn create(db: &Db, id: &str, def: &SurveyDefinition, actor: &str, now: Timestamp) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO surveys (id, title, definition, disclosure_threshold, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(&def.title)
    .bind(serde_json::to_string(def).expect("a survey definition serialises"))
    .bind(i64::from(def.disclosure_threshold))
    .bind(actor)
    .bind(to_ms(now))
    .execute(db.pool())
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> sqlx::Result<Option<SurveyDefinition>> {
    let row = sqlx::query("SELECT definition FROM surveys WHERE id = $1").bind(id).fetch_optional(db.pool()).await?;
    row.map(|r| {
        let d: String = r.try_get("definition")?;
        serde_json::from_str(&d).map_err(|e| sqlx::Error::Decode(Box::new(e)))
    })
    .transpose()
}

/// Stores responses in one transaction (all or none).
pub async fn add_responses(db: &Db, survey: &str, responses: &[SurveyResponse], now: Timestamp) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    for r in responses {
        let id = uuid::Uuid::now_v7().to_string();
        sqlx::query("INSERT INTO survey_responses (id, survey_id, created_at) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(survey)
            .bind(to_ms(now))
            .execute(&mut *tx)
            .await?;
        for (dimension, value) in &r.groups {
            sqlx::query(
                "INSERT INTO survey_response_groups (response_id, survey_id, dimension, value) VALUES ($1, $2, $3, $4)",
            )
            .bind(&id)
            .bind(survey)
            .bind(dimension)
            .bind(value)
            .execute(&mut *tx)
            .await?;
        }
        for (question, answer) in &r.answers {
            sqlx::query(
                "INSERT INTO survey_answers (response_id, survey_id, question_id, answer) VALUES ($1, $2, $3, $4)",
            )
            .bind(&id)
            .bind(survey)
            .bind(question)
            .bind(answer)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await
}

/// (question, dimension, group value, answer, n) for every combination that occurs.
pub async fn counts(db: &Db, survey: &str) -> sqlx::Result<Vec<(String, String, String, String, u64)>> {
    let rows = sqlx::query(
        "SELECT a.question_id, g.dimension, g.value, a.answer, COUNT(*) AS n
         FROM survey_answers a JOIN survey_response_groups g ON g.response_id = a.response_id
         WHERE a.survey_id = $1
         GROUP BY a.question_id, g.dimension, g.value, a.answer",
    )
    .bind(survey)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("question_id")?,
                r.try_get("dimension")?,
                r.try_get("value")?,
                r.try_get("answer")?,
                super::int(r, "n")?,
            ))
        })
        .collect()
}

/// One crossing's counts: (question, first dimension's value, second's, answer, n).
pub async fn crossed_counts(
    db: &Db,
    survey: &str,
    first: &str,
    second: &str,
) -> sqlx::Result<Vec<(String, String, String, String, u64)>> {
    let rows = sqlx::query(
        "SELECT a.question_id, g1.value AS v1, g2.value AS v2, a.answer, COUNT(*) AS n
         FROM survey_answers a
         JOIN survey_response_groups g1 ON g1.response_id = a.response_id AND g1.dimension = $2
         JOIN survey_response_groups g2 ON g2.response_id = a.response_id AND g2.dimension = $3
         WHERE a.survey_id = $1
         GROUP BY a.question_id, g1.value, g2.value, a.answer",
    )
    .bind(survey)
    .bind(first)
    .bind(second)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("question_id")?,
                r.try_get("v1")?,
                r.try_get("v2")?,
                r.try_get("answer")?,
                super::int(r, "n")?,
            ))
        })
        .collect()
}

/// A survey as its list shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SurveySummary {
    pub id: String,
    pub title: String,
    pub responses: i64,
    pub created_at: Timestamp,
}

/// Every survey, newest first, with how many responses it has.
pub async fn list(db: &Db) -> sqlx::Result<Vec<SurveySummary>> {
    let rows = sqlx::query(
        "SELECT s.id, s.title, s.created_at, (SELECT COUNT(*) FROM survey_responses r WHERE r.survey_id = s.id) AS n
         FROM surveys s ORDER BY s.created_at DESC, s.id DESC",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SurveySummary {
                id: r.try_get("id")?,
                title: r.try_get("title")?,
                responses: super::int(r, "n")?,
                created_at: super::from_ms(r.try_get("created_at")?)?,
            })
        })
        .collect()
}
