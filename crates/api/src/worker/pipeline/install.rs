//! Stage 3: dependencies, installed inside the sandbox by the commands the lockfiles call for.
//! A failed install is a warning: the agent may still manage, or fix it.

use std::time::Duration;

use sandbox::{ExecRequest, OutputLine};
use shared::events::{EventBody, LogLevel};
use shared::tasks::TaskStage;
use tokio::sync::mpsc;

use super::checkout::REPO_DIR;
use super::provision::Provisioned;
use super::Turn;
use crate::worker::error::RunError;

/// Longest a single install command may take.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);

pub(crate) async fn install(turn: &Turn<'_>, sandbox: &Provisioned) -> Result<(), RunError> {
    turn.run.stage(TaskStage::Installing).await;
    let dir = sandbox.handle.host_workspace.as_ref().map(|w| w.join(REPO_DIR));
    let plan =
        dir.and_then(|d| sandbox::install_plan::install_plan_for_dir(&d).ok()).unwrap_or_default();
    for step in plan {
        if turn.run.is_cancelled() {
            break;
        }
        if !exec_logged(turn, sandbox, step.argv).await? {
            turn.run.event(EventBody::Log {
                level: LogLevel::Warn,
                message: "Installing dependencies failed; the agent runs anyway.".into(),
            });
        }
    }
    Ok(())
}

/// Runs one command in the repository, its lines and then the command itself as events;
/// `true` when it succeeded.
async fn exec_logged(
    turn: &Turn<'_>,
    sandbox: &Provisioned,
    argv: Vec<String>,
) -> Result<bool, RunError> {
    let (tx, mut rx) = mpsc::channel::<OutputLine>(256);
    let mut request = ExecRequest::new(argv.clone());
    request.cwd = REPO_DIR.into();
    request.timeout = Some(INSTALL_TIMEOUT);
    let exec = turn.ctx.sandbox.exec(&sandbox.handle, request, tx);
    tokio::pin!(exec);
    let raw = |line: OutputLine| EventBody::Raw { stream: line.stream, line: line.line };
    let outcome = loop {
        tokio::select! {
            res = &mut exec => break res.map_err(RunError::internally("installing dependencies"))?,
            Some(line) = rx.recv() => turn.run.event(raw(line)),
        }
    };
    while let Ok(line) = rx.try_recv() {
        turn.run.event(raw(line));
    }
    turn.run.event(EventBody::Command {
        argv,
        exit_code: outcome.exit_code,
        duration_ms: outcome.duration.as_millis() as u64,
    });
    if outcome.stopped == Some(sandbox::StopReason::DiskQuota) {
        return Err(RunError::user(format!(
            "Installing dependencies used more than {} MiB of disk (workspace and HOME); the run was stopped.",
            turn.ctx.settings.tasks.sandbox_disk_mb
        )));
    }
    Ok(outcome.success())
}
