//! Vacancies (SPEC §8): one row each; `filled` can never pass `posts` (a CHECK constraint),
//! and a change of posts that would go below what is filled changes nothing.

use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::Row;

use super::{Db, from_ms, to_ms};
use crate::domain::vacancies::{NewVacancy, VacancyChange};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Vacancy {
    pub id: String,
    pub scheme_id: String,
    pub organisation: String,
    pub role_family: String,
    pub region: String,
    pub posts: u32,
    pub filled: u32,
    pub start_date: Date,
    pub closes_on: Date,
    /// open or withdrawn
    pub state: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLUMNS: &str = "id, scheme_id, organisation, role_family, region, posts, filled, start_date, closes_on, state, created_at, updated_at";

fn vacancy(r: &sqlx::any::AnyRow) -> sqlx::Result<Vacancy> {
    let date = |c: &str| -> sqlx::Result<Date> {
        let s: String = r.try_get(c)?;
        s.parse().map_err(|e: jiff::Error| sqlx::Error::Decode(Box::new(e)))
    };
    Ok(Vacancy {
        id: r.try_get("id")?,
        scheme_id: r.try_get("scheme_id")?,
        organisation: r.try_get("organisation")?,
        role_family: r.try_get("role_family")?,
        region: r.try_get("region")?,
        posts: super::int(r, "posts")?,
        filled: super::int(r, "filled")?,
        start_date: date("start_date")?,
        closes_on: date("closes_on")?,
        state: r.try_get("state")?,
        created_at: from_ms(r.try_get("created_at")?)?,
        updated_at: from_ms(r.try_get("updated_at")?)?,
    })
}

pub async fn create(db: &Db, scheme: &str, v: &NewVacancy, actor: &str, now: Timestamp) -> sqlx::Result<Vacancy> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO vacancies (id, scheme_id, organisation, role_family, region, posts, filled, start_date, closes_on,
             state, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, 'open', $9, $10, $10)",
    )
    .bind(&id)
    .bind(scheme)
    .bind(&v.organisation)
    .bind(&v.role_family)
    .bind(&v.region)
    .bind(i64::from(v.posts))
    .bind(v.start_date.to_string())
    .bind(v.closes_on.to_string())
    .bind(actor)
    .bind(to_ms(now))
    .execute(db.pool())
    .await?;
    Ok(get(db, scheme, &id).await?.expect("the vacancy just written"))
}

pub async fn get(db: &Db, scheme: &str, id: &str) -> sqlx::Result<Option<Vacancy>> {
    let sql = format!("SELECT {COLUMNS} FROM vacancies WHERE scheme_id = $1 AND id = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(scheme)
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(vacancy)
        .transpose()
}

/// A scheme's vacancies, soonest closing first; `open_only` leaves out withdrawn ones.
pub async fn list(db: &Db, scheme: &str, open_only: bool) -> sqlx::Result<Vec<Vacancy>> {
    let filter = if open_only { " AND state = 'open'" } else { "" };
    let sql =
        format!("SELECT {COLUMNS} FROM vacancies WHERE scheme_id = $1{filter} ORDER BY closes_on, created_at, id");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(scheme).fetch_all(db.pool()).await?.iter().map(vacancy).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("no such vacancy")]
    NotFound,
    #[error("{0} of its posts are filled already")]
    BelowFilled(u32),
    #[error("the vacancy is withdrawn")]
    Withdrawn,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Changes a vacancy in one conditional statement: posts never below those filled, and a
/// withdrawn vacancy stays withdrawn.
pub async fn change(
    db: &Db,
    scheme: &str,
    id: &str,
    c: &VacancyChange,
    now: Timestamp,
) -> Result<Vacancy, ChangeError> {
    let res = sqlx::query(
        "UPDATE vacancies SET posts = COALESCE($3, posts), start_date = COALESCE($4, start_date),
             closes_on = COALESCE($5, closes_on), state = CASE WHEN $6 = 1 THEN 'withdrawn' ELSE state END,
             updated_at = $7
         WHERE scheme_id = $1 AND id = $2 AND state = 'open' AND filled <= COALESCE($3, posts)",
    )
    .bind(scheme)
    .bind(id)
    .bind(c.posts.map(i64::from))
    .bind(c.start_date.map(|d| d.to_string()))
    .bind(c.closes_on.map(|d| d.to_string()))
    .bind(i64::from(c.withdraw))
    .bind(to_ms(now))
    .execute(db.pool())
    .await?;
    let now_is = get(db, scheme, id).await?.ok_or(ChangeError::NotFound)?;
    if res.rows_affected() == 1 {
        return Ok(now_is);
    }
    if now_is.state != "open" {
        return Err(ChangeError::Withdrawn);
    }
    Err(ChangeError::BelowFilled(now_is.filled))
}
