//! Per-user limits (admin-set, else the configured defaults) and the daily quota.
//!
//! The quota is counted in `quota_usage` with one conditional upsert, so concurrent requests
//! cannot overshoot it: the row lock serialises them and the `WHERE used < limit` refuses the
//! one too many. It runs in the same transaction as the task or follow-up it pays for.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Date, Integer, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::config::TaskSettings;
use crate::db::schema::{quota_usage, user_limits};

/// A user's effective limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Tasks and follow-ups per UTC day.
    pub daily_quota: u32,
    /// Longest run, in minutes.
    pub max_duration_minutes: u32,
}

/// The admin-set overrides of a user, if any.
pub async fn overrides(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<(Option<i32>, Option<i32>)> {
    Ok(user_limits::table
        .find(user_id)
        .select((user_limits::daily_quota, user_limits::max_duration_minutes))
        .first(conn)
        .await
        .optional()?
        .unwrap_or((None, None)))
}

/// The user's effective limits.
pub async fn effective(
    conn: &mut AsyncPgConnection,
    cfg: &TaskSettings,
    user_id: Uuid,
) -> QueryResult<Limits> {
    let (quota, duration) = overrides(conn, user_id).await?;
    Ok(Limits {
        daily_quota: quota.map(|q| q.max(0) as u32).unwrap_or(cfg.daily_quota),
        max_duration_minutes: duration.map(|d| d.max(1) as u32).unwrap_or(cfg.max_duration_minutes),
    })
}

/// Sets (or clears, with `None`) a user's overrides.
pub async fn set(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    quota: Option<i32>,
    duration: Option<i32>,
) -> QueryResult<()> {
    diesel::insert_into(user_limits::table)
        .values((
            user_limits::user_id.eq(user_id),
            user_limits::daily_quota.eq(quota),
            user_limits::max_duration_minutes.eq(duration),
        ))
        .on_conflict(user_limits::user_id)
        .do_update()
        .set((
            user_limits::daily_quota.eq(quota),
            user_limits::max_duration_minutes.eq(duration),
            user_limits::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Today's UTC date and the instant the quota resets.
pub fn today() -> (chrono::NaiveDate, DateTime<Utc>) {
    let now = Utc::now();
    let day = now.date_naive();
    let reset = (day + Duration::days(1)).and_time(NaiveTime::MIN).and_utc();
    (day, reset)
}

/// How many units the user used today.
pub async fn used_today(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<u32> {
    let (day, _) = today();
    Ok(quota_usage::table
        .find((user_id, day))
        .select(quota_usage::used)
        .first::<i32>(conn)
        .await
        .optional()?
        .unwrap_or(0)
        .max(0) as u32)
}

#[derive(QueryableByName)]
struct Used {
    #[diesel(sql_type = Integer)]
    #[allow(dead_code)]
    used: i32,
}

/// Takes one unit of today's quota; `false` when none is left. Call inside the transaction
/// that creates what the unit pays for.
pub async fn consume(conn: &mut AsyncPgConnection, user_id: Uuid, limit: u32) -> QueryResult<bool> {
    if limit == 0 {
        return Ok(false);
    }
    let (day, _) = today();
    let row: Option<Used> = diesel::sql_query(
        "INSERT INTO quota_usage (user_id, day, used) VALUES ($1, $2, 1) \
         ON CONFLICT (user_id, day) DO UPDATE SET used = quota_usage.used + 1 \
         WHERE quota_usage.used < $3 RETURNING used",
    )
    .bind::<SqlUuid, _>(user_id)
    .bind::<Date, _>(day)
    .bind::<Integer, _>(i32::try_from(limit).unwrap_or(i32::MAX))
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.is_some())
}
