//! The live-sandbox columns of `tasks`: a start in progress, the last start's failure, and the
//! expiry last warned of.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::enums::TERMINAL;
use crate::db::schema::tasks;

/// A task's live-sandbox columns.
#[derive(Debug, Clone, Queryable)]
pub struct StartState {
    /// The task's sandbox, read with the rest (a start may record it at any moment).
    pub sandbox_id: Option<String>,
    /// When a start in progress began.
    pub starting_at: Option<DateTime<Utc>>,
    /// Why the last start failed.
    pub error: Option<String>,
}

/// Reads a task's start state.
pub async fn start_state(conn: &mut AsyncPgConnection, task_id: Uuid) -> QueryResult<StartState> {
    tasks::table
        .find(task_id)
        .select((tasks::sandbox_id, tasks::sandbox_starting_at, tasks::sandbox_error))
        .first(conn)
        .await
}

/// Marks a start as begun, unless one younger than `timeout` runs or a run is active; returns
/// the marker, which the builder presents again when it is done.
pub async fn claim_start(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    timeout: chrono::Duration,
) -> QueryResult<Option<DateTime<Utc>>> {
    let stale = Utc::now() - timeout;
    diesel::update(
        tasks::table
            .find(task_id)
            .filter(tasks::status.eq_any(TERMINAL))
            .filter(tasks::deleted_at.is_null())
            .filter(tasks::sandbox_starting_at.is_null().or(tasks::sandbox_starting_at.lt(stale))),
    )
    .set((tasks::sandbox_starting_at.eq(diesel::dsl::now), tasks::sandbox_error.eq(None::<String>)))
    .returning(tasks::sandbox_starting_at.assume_not_null())
    .get_result(conn)
    .await
    .optional()
}

/// Records the sandbox a start built, if the start still holds `marker` and no run began;
/// says whether it did.
pub async fn finish_start(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    marker: DateTime<Utc>,
    sandbox_id: &str,
    forget_session: bool,
) -> QueryResult<bool> {
    let target = tasks::table
        .find(task_id)
        .filter(tasks::sandbox_starting_at.eq(marker))
        .filter(tasks::status.eq_any(TERMINAL))
        .filter(tasks::deleted_at.is_null());
    let n = if forget_session {
        // The session's files are not in the new HOME: a follow-up must not try to resume it.
        diesel::update(target)
            .set((
                tasks::sandbox_id.eq(sandbox_id),
                tasks::sandbox_starting_at.eq(None::<DateTime<Utc>>),
                tasks::session_id.eq(None::<String>),
            ))
            .execute(conn)
            .await?
    } else {
        diesel::update(target)
            .set((
                tasks::sandbox_id.eq(sandbox_id),
                tasks::sandbox_starting_at.eq(None::<DateTime<Utc>>),
            ))
            .execute(conn)
            .await?
    };
    Ok(n == 1)
}

/// Records why a start failed, if it still holds `marker`.
pub async fn fail_start(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    marker: DateTime<Utc>,
    error: &str,
) -> QueryResult<bool> {
    let n =
        diesel::update(tasks::table.find(task_id).filter(tasks::sandbox_starting_at.eq(marker)))
            .set((
                tasks::sandbox_starting_at.eq(None::<DateTime<Utc>>),
                tasks::sandbox_error.eq(error),
            ))
            .execute(conn)
            .await?;
    Ok(n == 1)
}

/// Cancels a start in progress (its builder then throws its sandbox away); says whether there
/// was one.
pub async fn cancel_start(conn: &mut AsyncPgConnection, task_id: Uuid) -> QueryResult<bool> {
    let n =
        diesel::update(tasks::table.find(task_id).filter(tasks::sandbox_starting_at.is_not_null()))
            .set(tasks::sandbox_starting_at.eq(None::<DateTime<Utc>>))
            .execute(conn)
            .await?;
    Ok(n == 1)
}

/// Forgets the task's sandbox if it is still `sandbox_id`; says whether it was.
pub async fn clear_sandbox(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    sandbox_id: &str,
) -> QueryResult<bool> {
    let n = diesel::update(tasks::table.find(task_id).filter(tasks::sandbox_id.eq(sandbox_id)))
        .set(tasks::sandbox_id.eq(None::<String>))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// A task that has, or is getting, a live sandbox.
#[derive(Debug, Clone, Queryable)]
pub struct LiveRow {
    pub task_id: Uuid,
    pub user_id: Uuid,
    pub title: String,
    pub sandbox_id: Option<String>,
    pub starting_at: Option<DateTime<Utc>>,
}

/// Tasks with a sandbox or a start in progress: `user`'s, or everyone's.
pub async fn live(conn: &mut AsyncPgConnection, user: Option<Uuid>) -> QueryResult<Vec<LiveRow>> {
    let mut query = tasks::table
        .filter(tasks::deleted_at.is_null())
        .filter(tasks::sandbox_id.is_not_null().or(tasks::sandbox_starting_at.is_not_null()))
        .select((
            tasks::id,
            tasks::user_id,
            tasks::title,
            tasks::sandbox_id,
            tasks::sandbox_starting_at,
        ))
        .order(tasks::created_at.desc())
        .limit(500)
        .into_boxed();
    if let Some(user) = user {
        query = query.filter(tasks::user_id.eq(user));
    }
    query.load(conn).await
}

/// Finished tasks holding a sandbox, with the expiry last warned of.
pub async fn kept(
    conn: &mut AsyncPgConnection,
) -> QueryResult<Vec<(Uuid, String, Option<DateTime<Utc>>)>> {
    tasks::table
        .filter(tasks::deleted_at.is_null())
        .filter(tasks::status.eq_any(TERMINAL))
        .filter(tasks::sandbox_id.is_not_null())
        .select((tasks::id, tasks::sandbox_id.assume_not_null(), tasks::sandbox_warned_until))
        .load(conn)
        .await
}

/// Claims the warning for `until` on the task's sandbox; true for the one process that wins.
pub async fn claim_warning(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    sandbox_id: &str,
    until: DateTime<Utc>,
) -> QueryResult<bool> {
    let n =
        diesel::update(tasks::table.find(task_id).filter(tasks::sandbox_id.eq(sandbox_id)).filter(
            tasks::sandbox_warned_until.is_null().or(tasks::sandbox_warned_until.ne(until)),
        ))
        .set(tasks::sandbox_warned_until.eq(until))
        .execute(conn)
        .await?;
    Ok(n == 1)
}
