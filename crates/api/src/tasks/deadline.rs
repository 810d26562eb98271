//! The running agent's time limit. The worker sets it as the agent starts (the task's
//! `max_duration_minutes` from then) and follows it while the agent runs
//! (`worker::pipeline::deadline`); the owner moves it later with `POST
//! /tasks/{id}/run/extend`, up to their maximum duration counted from the run's start.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use shared::events::EventBody;
use shared::tasks::{ExtendRun, RunDeadline, TaskStatus};
use uuid::Uuid;

use crate::db::enums::Status;
use crate::db::schema::runs;
use crate::error::{ApiError, ApiResult};
use crate::events::store;
use crate::state::AppState;

/// A task's running run: its id, start and agent deadline.
type RunningRun = (Uuid, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Minutes an extend adds when the body names none.
pub const DEFAULT_EXTEND_MINUTES: u32 = 15;

/// Records the agent's deadline as it starts.
pub async fn start(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    deadline: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(runs::table.find(run_id))
        .set(runs::agent_deadline_at.eq(deadline))
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves the running agent's deadline `minutes` later (from now, if it passed already), at
/// most to the run's start plus the owner's maximum duration.
pub async fn extend(
    state: &AppState,
    user_id: Uuid,
    task_id: Uuid,
    body: ExtendRun,
) -> ApiResult<RunDeadline> {
    let mut conn = state.conn().await?;
    let limits = super::limits::effective(&mut conn, &state.settings.tasks, user_id).await?;
    let cap = limits.max_duration_minutes;
    let minutes = body.minutes.unwrap_or(DEFAULT_EXTEND_MINUTES.min(cap));
    if minutes == 0 || minutes > cap {
        return Err(ApiError::invalid("minutes", format!("must be between 1 and {cap}")));
    }
    let task = super::model::owned(&mut conn, user_id, task_id).await?;
    let running: Option<RunningRun> = runs::table
        .filter(runs::task_id.eq(task.id))
        .filter(runs::status.eq(Status(TaskStatus::Processing)))
        .select((runs::id, runs::started_at, runs::agent_deadline_at))
        .first(&mut conn)
        .await
        .optional()?;
    let Some((run_id, Some(started), Some(deadline))) = running else {
        return Err(ApiError::Conflict("The task has no running agent to give more time.".into()));
    };
    let latest = started + Duration::minutes(i64::from(cap));
    if deadline >= latest {
        return Err(ApiError::Conflict(format!(
            "The run is at your maximum duration of {cap} minutes already."
        )));
    }
    let moved = (deadline.max(Utc::now()) + Duration::minutes(i64::from(minutes))).min(latest);
    // Only while the run still runs: one that ended meanwhile keeps its record.
    let updated = diesel::update(
        runs::table
            .find(run_id)
            .filter(runs::status.eq(Status(TaskStatus::Processing)))
            .filter(runs::agent_deadline_at.eq(deadline)),
    )
    .set(runs::agent_deadline_at.eq(moved))
    .execute(&mut conn)
    .await?;
    if updated == 0 {
        return Err(ApiError::Conflict(
            "The run ended or its time limit changed meanwhile; look again.".into(),
        ));
    }
    let message = format!("The run may go on until {}.", moved.format("%H:%M:%S UTC"));
    store::append(&mut conn, task.id, &[EventBody::RunExtended { deadline: moved, message }])
        .await?;
    Ok(RunDeadline { deadline: moved, latest })
}
