//! The live-sandbox use cases: status, start, stop, extend and the list. Other features that
//! run things in a task's sandbox (preview, terminal) find it with [`live_handle`] and start it
//! with [`start`].
//!
//! The state lives with the backend and the database, never in one process: a sandbox is
//! `running` while the task names it and the backend has it, `starting` while a start's marker
//! is younger than [`START_TIMEOUT_MINUTES`] (an older one is a start whose process died:
//! `error`), `error` after a failed start, `stopped` otherwise.
//!
//! `stop` kills the sandbox's processes and destroys it; its HOME (the agent's session files)
//! is parked for the next sandbox of the task (see `sandbox::SandboxSpec::home`). A follow-up
//! then builds a fresh sandbox from the pushed branch, as after expiry.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use sandbox::{SandboxError, SandboxHandle, SandboxStatus};
use shared::events::EventBody;
use shared::sandboxes::{
    ExtendSandbox, SandboxAction, SandboxState, SandboxSummary, SandboxUsage, TaskSandbox,
};
use uuid::Uuid;

use super::{builder, model};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::events::store;
use crate::state::AppState;
use crate::tasks::model::{self as tasks, TaskRow};

/// A start whose marker is older than this is taken as failed: its process died.
pub const START_TIMEOUT_MINUTES: i64 = 30;

/// What `start` did.
#[derive(Debug)]
pub enum Started {
    /// The sandbox was already there; it runs.
    Running(TaskSandbox),
    /// It is being built (or was already being built); poll the status.
    Starting(TaskSandbox),
}

/// Appends a `sandbox` event to the task.
pub async fn record(
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    action: SandboxAction,
    message: String,
    expires_at: Option<DateTime<Utc>>,
) -> diesel::QueryResult<()> {
    store::append(conn, task_id, &[EventBody::Sandbox { action, message, expires_at }]).await?;
    Ok(())
}

/// The task's live sandbox, when it has one the backend still holds.
pub async fn live_handle(state: &AppState, task: &TaskRow) -> ApiResult<Option<SandboxHandle>> {
    let Some(id) = &task.sandbox_id else {
        return Ok(None);
    };
    match state.sandbox.open(id).await {
        Ok(handle) => Ok(Some(handle)),
        Err(SandboxError::NotFound { .. }) => Ok(None),
        Err(e) => Err(ApiError::Internal(e.into())),
    }
}

async fn backend_status(state: &AppState, handle: &SandboxHandle) -> ApiResult<SandboxStatus> {
    state.sandbox.status(handle).await.map_err(|e| ApiError::Internal(e.into()))
}

fn usage(status: &SandboxStatus) -> SandboxUsage {
    SandboxUsage {
        memory_bytes: status.memory_bytes,
        processes: status.processes,
        disk_bytes: status.disk_bytes,
        commands: status.commands,
    }
}

fn starting_fresh(starting_at: Option<DateTime<Utc>>) -> Option<bool> {
    starting_at.map(|at| at > Utc::now() - chrono::Duration::minutes(START_TIMEOUT_MINUTES))
}

/// What the dev-server code needs from the state.
pub(crate) fn preview_deps(state: &AppState) -> crate::preview::Deps {
    crate::preview::Deps::of(state)
}

/// The task's sandbox as `GET /tasks/{id}/sandbox` shows it.
pub async fn status(state: &AppState, task: &TaskRow) -> ApiResult<TaskSandbox> {
    let mut view = TaskSandbox {
        task_id: task.id,
        state: SandboxState::Stopped,
        started_at: None,
        expires_at: None,
        busy: false,
        usage: None,
        error: None,
        dev_server: None,
    };
    // One read of the sandbox and the start marker: a start finishing in between must not look
    // like neither.
    let mut conn = state.conn().await?;
    let start = model::start_state(&mut conn, task.id).await?;
    drop(conn);
    let current = TaskRow { sandbox_id: start.sandbox_id.clone(), ..task.clone() };
    if let Some(handle) = live_handle(state, &current).await? {
        let status = backend_status(state, &handle).await?;
        view.state = SandboxState::Running;
        view.started_at = Some(status.created_at);
        view.expires_at = Some(status.expires_at);
        view.busy = status.busy;
        view.usage = Some(usage(&status));
        let dev =
            crate::preview::dev_server_status(&preview_deps(state), task.id, Some(&handle.id))
                .await?;
        view.dev_server =
            serde_json::to_value(dev.state).ok().and_then(|v| v.as_str().map(str::to_owned));
        return Ok(view);
    }
    match starting_fresh(start.starting_at) {
        Some(true) => view.state = SandboxState::Starting,
        Some(false) => {
            view.state = SandboxState::Error;
            view.error = Some("The start did not finish (the server stopped); start again.".into());
        }
        None if start.error.is_some() => {
            view.state = SandboxState::Error;
            view.error = start.error;
        }
        None => {}
    }
    Ok(view)
}

fn no_run_active(task: &TaskRow) -> ApiResult<()> {
    if task.status().is_terminal() {
        Ok(())
    } else {
        Err(ApiError::Conflict(
            "A run is in progress; its sandbox is the run's until it ends.".into(),
        ))
    }
}

/// Gives the task a live sandbox: the one it has (its expiry moved to at least the keep-alive
/// time from now), or a new one built in the background from the pushed branch.
pub async fn start(state: &AppState, user_id: Uuid, task_id: Uuid) -> ApiResult<Started> {
    let mut conn = state.conn().await?;
    let task = tasks::owned(&mut conn, user_id, task_id).await?;
    no_run_active(&task)?;
    if task.branch_name.is_none() {
        return Err(ApiError::Conflict(
            "The task has no pushed branch yet; a sandbox can be started once a run pushed one."
                .into(),
        ));
    }
    if let Some(handle) = live_handle(state, &task).await? {
        let status = backend_status(state, &handle).await?;
        let until = keep_until(state).max(status.expires_at);
        if until > status.expires_at {
            state
                .sandbox
                .set_expiry(&handle, until)
                .await
                .map_err(|e| ApiError::Internal(e.into()))?;
        }
        let message = format!("Sandbox {} is running", handle.id);
        record(&mut conn, task.id, SandboxAction::Started, message, Some(until)).await?;
        drop(conn);
        return Ok(Started::Running(status_of(state, &task).await?));
    }
    let timeout = chrono::Duration::minutes(START_TIMEOUT_MINUTES);
    if let Some(marker) = model::claim_start(&mut conn, task.id, timeout).await? {
        let branch = task.branch_name.clone().unwrap_or_default();
        let message = format!("Starting a sandbox from the pushed branch {branch}");
        record(&mut conn, task.id, SandboxAction::Starting, message, None).await?;
        tokio::spawn(builder::run(state.clone(), task.clone(), marker));
    }
    drop(conn);
    Ok(Started::Starting(status_of(state, &task).await?))
}

/// The status of `task` read again (after a change).
async fn status_of(state: &AppState, task: &TaskRow) -> ApiResult<TaskSandbox> {
    let mut conn = state.conn().await?;
    let task = tasks::get(&mut conn, task.id).await?;
    drop(conn);
    status(state, &task).await
}

fn keep_until(state: &AppState) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::minutes(state.settings.tasks.keep_alive_minutes as i64)
}

/// Stops the task's sandbox: its processes are killed and it is destroyed, its HOME parked
/// for the next one. A start in progress is cancelled.
pub async fn stop(state: &AppState, user_id: Uuid, task_id: Uuid) -> ApiResult<TaskSandbox> {
    let mut conn = state.conn().await?;
    let task = tasks::owned(&mut conn, user_id, task_id).await?;
    no_run_active(&task)?;
    let cancelled = model::cancel_start(&mut conn, task.id).await?;
    let handle = live_handle(state, &task).await?;
    if handle.is_none() && !cancelled {
        return Err(ApiError::Conflict("The task has no live sandbox.".into()));
    }
    if let Some(handle) = handle {
        // Said first, so the dev server reads `stopped` rather than `exited`.
        crate::preview::stop_dev_server(&preview_deps(state), task.id).await?;
        state.sandbox.destroy(&handle).await.map_err(|e| ApiError::Internal(e.into()))?;
        model::clear_sandbox(&mut conn, task.id, &handle.id).await?;
        let message = format!(
            "Sandbox {} stopped and removed on request; the agent's session files are kept for \
             the next one",
            handle.id
        );
        record(&mut conn, task.id, SandboxAction::Stopped, message, None).await?;
    } else {
        let message = "The sandbox start was cancelled on request".to_string();
        record(&mut conn, task.id, SandboxAction::Stopped, message, None).await?;
    }
    drop(conn);
    status_of(state, &task).await
}

/// Moves the live sandbox's expiry to `minutes` from now (the keep-alive time by default, and
/// at most that).
pub async fn extend(
    state: &AppState,
    user_id: Uuid,
    task_id: Uuid,
    body: ExtendSandbox,
) -> ApiResult<TaskSandbox> {
    let limit = state.settings.tasks.keep_alive_minutes;
    let minutes = u64::from(body.minutes.unwrap_or(limit.min(u64::from(u32::MAX)) as u32));
    if minutes == 0 || minutes > limit {
        return Err(ApiError::invalid("minutes", format!("must be between 1 and {limit}")));
    }
    let mut conn = state.conn().await?;
    let task = tasks::owned(&mut conn, user_id, task_id).await?;
    let Some(handle) = live_handle(state, &task).await? else {
        return Err(ApiError::Conflict("The task has no live sandbox.".into()));
    };
    let until = Utc::now() + chrono::Duration::minutes(minutes as i64);
    state.sandbox.set_expiry(&handle, until).await.map_err(|e| ApiError::Internal(e.into()))?;
    let message = format!("Sandbox {} kept until {}", handle.id, until.to_rfc3339());
    record(&mut conn, task.id, SandboxAction::Extended, message, Some(until)).await?;
    drop(conn);
    status(state, &task).await
}

/// Live sandboxes (running or starting): the caller's, or everyone's for an administrator.
pub async fn list(
    state: &AppState,
    user: &CurrentUser,
    all: bool,
) -> ApiResult<Vec<SandboxSummary>> {
    if all && !user.user.is_admin {
        return Err(ApiError::Forbidden(
            "Listing everyone's sandboxes needs an administrator.".into(),
        ));
    }
    let mut conn = state.conn().await?;
    let rows = model::live(&mut conn, (!all).then_some(user.id)).await?;
    drop(conn);
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut summary = SandboxSummary {
            task_id: row.task_id,
            title: row.title,
            user_id: row.user_id,
            state: SandboxState::Starting,
            started_at: None,
            expires_at: None,
            memory_bytes: None,
            processes: None,
            disk_bytes: None,
        };
        let opened = match &row.sandbox_id {
            Some(id) => match state.sandbox.open(id).await {
                Ok(handle) => Some(handle),
                Err(SandboxError::NotFound { .. }) => None,
                Err(e) => return Err(ApiError::Internal(e.into())),
            },
            None => None,
        };
        if let Some(handle) = opened {
            let status = backend_status(state, &handle).await?;
            summary.state = SandboxState::Running;
            summary.started_at = Some(status.created_at);
            summary.expires_at = Some(status.expires_at);
            summary.memory_bytes = status.memory_bytes;
            summary.processes = status.processes;
            summary.disk_bytes = status.disk_bytes;
        } else if starting_fresh(row.starting_at) != Some(true) {
            continue;
        }
        out.push(summary);
    }
    Ok(out)
}
