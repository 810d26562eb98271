//! Building a task's sandbox again from its pushed branch, in the background of a `start`:
//! a fresh sandbox that gets back the task's parked HOME (the agent's session files), a clone
//! of the branch made by host git, and the dependencies when the task asks for them.
//!
//! The result is recorded only if the start still holds its marker and no run began meanwhile
//! (a `stop` or a follow-up cancels it); otherwise the sandbox is thrown away.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sandbox::git::{CloneRequest, CommandRecord};
use sandbox::{ExecRequest, OutputLine, SandboxHandle, SandboxSpec};
use shared::events::{EventBody, LogLevel};
use shared::sandboxes::SandboxAction;
use tokio::sync::mpsc;

use super::{model, service};
use crate::events::redact::Redactor;
use crate::events::writer::EventSender;
use crate::state::AppState;
use crate::tasks::model::TaskRow;

/// Where the repository is cloned in the workspace: where runs expect it.
const REPO_DIR: &str = "repo";
/// Longest one install command may take, as in a run.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);

/// A failed build: what the user reads, and the half-built sandbox to throw away.
struct Failed {
    message: String,
    handle: Option<SandboxHandle>,
}

/// The name a task's HOME is parked under between its sandboxes.
pub fn home_name(task_id: uuid::Uuid) -> String {
    task_id.simple().to_string()
}

/// Builds the sandbox and records the outcome; `marker` is what `claim_start` returned.
pub(super) async fn run(state: AppState, task: TaskRow, marker: DateTime<Utc>) {
    let events = EventSender::spawn(state.pool.clone(), task.id, Redactor::new(Vec::new()));
    let built = build(&state, &task, &events).await;
    events.flush().await;
    let outcome = async {
        let mut conn = state.pool.get().await?;
        match built {
            Ok(handle) => {
                let kept = model::finish_start(
                    &mut conn,
                    task.id,
                    marker,
                    &handle.id,
                    !handle.restored_home,
                )
                .await?;
                if !kept {
                    drop(conn);
                    discard(&state, &handle).await;
                    return Ok(());
                }
                let expires_at = state.sandbox.status(&handle).await.ok().map(|s| s.expires_at);
                let session =
                    if handle.restored_home { " with the agent's session files" } else { "" };
                let message = format!("Sandbox {} is running{session}", handle.id);
                service::record(&mut conn, task.id, SandboxAction::Started, message, expires_at)
                    .await?;
                drop(conn);
                // The preview comes back with the sandbox (when the operator turned that on).
                crate::preview::autostart(&service::preview_deps(&state), task.id, &handle.id)
                    .await;
            }
            Err(Failed { message, handle }) => {
                if let Some(handle) = handle {
                    discard(&state, &handle).await;
                }
                if model::fail_start(&mut conn, task.id, marker, &message).await? {
                    let message = format!("The sandbox could not be started: {message}");
                    service::record(&mut conn, task.id, SandboxAction::Failed, message, None)
                        .await?;
                }
            }
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    if let Err(e) = outcome {
        tracing::error!(task_id = %task.id, error = %e, "recording a sandbox start failed");
    }
}

async fn discard(state: &AppState, handle: &SandboxHandle) {
    if let Err(e) = state.sandbox.destroy(handle).await {
        tracing::warn!(sandbox = %handle.id, error = %e, "destroying a sandbox failed");
    }
}

async fn build(
    state: &AppState,
    task: &TaskRow,
    events: &EventSender,
) -> Result<SandboxHandle, Failed> {
    let settings = &state.settings.tasks;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let mut spec = SandboxSpec::new(format!("t{}-s{}", task.id.simple(), &suffix[..8]));
    spec.network = settings.sandbox_network;
    spec.tools_dir = Some(state.settings.tools_dir());
    spec.keep_alive_until =
        Some(Utc::now() + chrono::Duration::minutes(settings.keep_alive_minutes as i64));
    spec.home = Some(home_name(task.id));
    spec.read_only = crate::browser::binds_for(&state.settings.browser, task.enable_browser)
        .map_err(|message| Failed { message, handle: None })?;
    let handle = state.sandbox.create(spec).await.map_err(|e| {
        tracing::error!(task_id = %task.id, error = %e, "creating a sandbox failed");
        Failed { message: "the sandbox could not be created".into(), handle: None }
    })?;
    let fail = |message: String| Failed { message, handle: Some(handle.clone()) };
    let Some(dir) = handle.host_workspace.as_ref().map(|w| w.join(REPO_DIR)) else {
        return Err(fail("this sandbox backend has no host workspace".into()));
    };
    clone(state, task, &dir, events).await.map_err(fail)?;
    if task.install_dependencies {
        install(state, &handle, &dir, events).await.map_err(fail)?;
    }
    Ok(handle)
}

/// Clones the pushed branch and checks it out under its own name, as a follow-up's fresh
/// sandbox does.
async fn clone(
    state: &AppState,
    task: &TaskRow,
    dir: &std::path::Path,
    events: &EventSender,
) -> Result<(), String> {
    let Some(branch) = task.branch_name.clone() else {
        return Err("the task has no pushed branch".into());
    };
    let recorder = {
        let events = events.clone();
        Arc::new(move |record: CommandRecord| {
            events.send(EventBody::Command {
                argv: record.argv,
                exit_code: record.exit_code,
                duration_ms: record.duration.as_millis() as u64,
            });
        })
    };
    let git = crate::changes::view::reader(state)
        .timeout(Duration::from_secs(600))
        .with_recorder(recorder);
    let credentials = crate::changes::view::git_credentials(state, task).await;
    let temp = format!("{branch}-drydock-resume");
    git.clone_repo(&CloneRequest {
        url: task.repo_url.clone(),
        dest: dir.to_path_buf(),
        credentials,
        base_branch: Some(branch.clone()),
        branch: temp.clone(),
    })
    .await
    .map_err(|e| format!("the pushed branch could not be cloned: {e}"))?;
    git.adopt_branch(dir, &temp, &branch)
        .await
        .map_err(|e| format!("the pushed branch could not be checked out: {e}"))
}

/// Installs dependencies by lockfile; a brokered sandbox gets an egress proxy (registries
/// only, no model routes) for as long as that takes. A failed step is a warning, as in a run.
async fn install(
    state: &AppState,
    handle: &SandboxHandle,
    dir: &std::path::Path,
    events: &EventSender,
) -> Result<(), String> {
    let plan = sandbox::install_plan::install_plan_for_dir(dir).unwrap_or_default();
    if plan.is_empty() {
        return Ok(());
    }
    let proxy = match &handle.egress_socket {
        Some(socket) => Some(egress_proxy(state, socket.clone(), events).await?),
        None => None,
    };
    for step in plan {
        let (tx, mut rx) = mpsc::channel::<OutputLine>(256);
        let mut request = ExecRequest::new(step.argv.clone());
        request.cwd = REPO_DIR.into();
        request.timeout = Some(INSTALL_TIMEOUT);
        let exec = state.sandbox.exec(handle, request, tx);
        tokio::pin!(exec);
        let raw = |line: OutputLine| EventBody::Raw { stream: line.stream, line: line.line };
        let outcome = loop {
            tokio::select! {
                res = &mut exec => break res,
                Some(line) = rx.recv() => events.send(raw(line)),
            }
        };
        while let Ok(line) = rx.try_recv() {
            events.send(raw(line));
        }
        let outcome = outcome.map_err(|e| {
            tracing::error!(sandbox = %handle.id, error = %e, "installing dependencies failed");
            "dependencies could not be installed".to_string()
        })?;
        events.send(EventBody::Command {
            argv: step.argv,
            exit_code: outcome.exit_code,
            duration_ms: outcome.duration.as_millis() as u64,
        });
        if !outcome.success() {
            events.send(EventBody::Log {
                level: LogLevel::Warn,
                message: "Installing dependencies failed; the sandbox starts anyway.".into(),
            });
        }
    }
    if let Some(proxy) = proxy {
        proxy.shutdown().await;
    }
    Ok(())
}

async fn egress_proxy(
    state: &AppState,
    socket: std::path::PathBuf,
    events: &EventSender,
) -> Result<egress::ProxyHandle, String> {
    let internal = |e: anyhow::Error| {
        tracing::error!(error = %e, "starting the egress proxy for an install failed");
        "the network proxy could not be started".to_string()
    };
    let policy = state.settings.egress_policy().map_err(internal)?;
    let (tx, mut rx) = mpsc::channel(1024);
    let mut config = egress::ProxyConfig::new(socket, policy, tx);
    config.sandbox_port = Some(sandbox::EGRESS_PORT);
    let proxy = egress::Proxy::start(config).await.map_err(|e| internal(e.into()))?;
    let events = events.clone();
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            events.send(event);
        }
    });
    Ok(proxy)
}
