//! Stage 1: a sandbox for the run, and what becomes of it afterwards.

use chrono::{DateTime, Utc};
use sandbox::{SandboxHandle, SandboxSpec};

use super::Turn;
use crate::worker::error::RunError;
use crate::worker::WorkerContext;

/// The run's sandbox.
pub(crate) struct Provisioned {
    pub handle: SandboxHandle,
    /// A kept-alive sandbox of an earlier run: its clone, HOME and agent session are there.
    pub reused: bool,
}

/// Opens the task's kept-alive sandbox, or creates a fresh one.
pub(crate) async fn provision(turn: &Turn<'_>) -> Result<Provisioned, RunError> {
    let backend = &turn.ctx.sandbox;
    let task = &turn.job.task;
    if let Some(id) = &task.sandbox_id {
        match backend.open(id).await {
            Ok(handle) => {
                turn.run.log(format!("Reusing the kept-alive sandbox {id}"));
                // The run owns the sandbox: a dev server or a terminal left running there would
                // keep sandbox code alive while the host commits and pushes from the workspace.
                // Both end here (the dev server comes back after the run when kept alive).
                let _ = crate::preview::stop_dev_server(&turn.ctx.preview_deps(), task.id).await;
                if let Err(e) = backend.kill(&handle).await {
                    tracing::warn!(sandbox = %id, error = %e, "stopping what ran in the sandbox");
                }
                return Ok(Provisioned { handle, reused: true });
            }
            Err(e) => {
                turn.run.log(format!("The kept-alive sandbox is gone ({e}); starting a fresh one"))
            }
        }
    }
    let settings = &turn.ctx.settings;
    let mut spec = SandboxSpec::new(format!("t{}-r{}", task.id.simple(), turn.job.number));
    spec.network = settings.tasks.sandbox_network;
    spec.tools_dir = Some(settings.tools_dir());
    // The browser and its MCP server, read-only, when the task asks for them.
    spec.read_only = crate::browser::binds_for(&settings.browser, task.enable_browser)
        .map_err(RunError::user)?;
    if task.keep_alive {
        spec.keep_alive_until = Some(keep_until(turn.ctx));
        // Parked when this sandbox goes (expiry, stop), and back in the task's next one, so a
        // follow-up resumes the agent's session even in a fresh sandbox.
        spec.home = Some(crate::sandboxes::home_name(task.id));
    }
    let handle =
        backend.create(spec).await.map_err(RunError::internally("creating the sandbox"))?;
    turn.run.log(format!("Sandbox {} ready ({})", handle.id, backend.name()));
    if handle.restored_home {
        turn.run.log("The agent's session files from the task's last sandbox are back in HOME");
    }
    Ok(Provisioned { handle, reused: false })
}

fn keep_until(ctx: &WorkerContext) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::minutes(ctx.settings.tasks.keep_alive_minutes as i64)
}

/// Keeps the sandbox for follow-ups; returns until when.
pub async fn keep(ctx: &WorkerContext, handle: &SandboxHandle) -> DateTime<Utc> {
    let until = keep_until(ctx);
    if let Err(e) = ctx.sandbox.set_expiry(handle, until).await {
        tracing::warn!(sandbox = %handle.id, error = %e, "moving a sandbox's expiry failed");
    }
    until
}

/// Destroys the sandbox; a failure is logged, and the backend's gc reclaims it later.
pub async fn discard(ctx: &WorkerContext, handle: &SandboxHandle) {
    if let Err(e) = ctx.sandbox.destroy(handle).await {
        tracing::warn!(sandbox = %handle.id, error = %e, "destroying a sandbox failed");
    }
}
