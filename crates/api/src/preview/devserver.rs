//! Running a task's dev server: a long-lived command in the task's kept-alive sandbox, with the
//! agent's isolation (same backend, uid, limits and network), its port exposed to the host
//! through the relay and a unix socket (see `sandbox::ingress`), its output as `server_output`
//! events.
//!
//! The process belongs to the Drydock process that started it: the registry below holds its
//! stop switch, as `LocalSandbox` holds the commands it runs. Its state is in
//! `task_dev_servers`, so every process can show it; stop and restart must reach the process
//! that runs it (one `drydock serve`, the default, is always that process).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sandbox::{ExecRequest, Expose, SandboxHandle, StopReason, EGRESS_PORT};
use shared::events::{EventBody, LogLevel};
use shared::preview::{DevServer, DevServerState};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use super::detect::{self, DevCommand, RepoFiles};
use super::model::{self, StateChange};
use crate::config::Settings;
use crate::db::DbPool;
use crate::error::{ApiError, ApiResult};
use crate::events::redact::Redactor;
use crate::events::writer::EventSender;
use crate::sandboxes::Backend;

/// Where the repository is inside the workspace (the pipeline's checkout directory).
const REPO_DIR: &str = "repo";
/// The most of `package.json` or a `Procfile` read for detection.
const MAX_MANIFEST_BYTES: u64 = 1 << 20;
/// How long a stop waits for the process to be gone.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// What running a dev server needs: the process's pool, backend and settings.
#[derive(Clone)]
pub struct Deps {
    /// Database pool.
    pub pool: DbPool,
    /// The sandbox backend.
    pub sandbox: Backend,
    /// Settings.
    pub settings: Arc<Settings>,
}

impl Deps {
    /// The dependencies out of the API's state.
    pub fn of(state: &crate::state::AppState) -> Self {
        Self {
            pool: state.pool.clone(),
            sandbox: state.sandbox.clone(),
            settings: state.settings.clone(),
        }
    }
}

struct Live {
    stop: watch::Sender<bool>,
    ended: watch::Receiver<bool>,
    started_at: DateTime<Utc>,
}

/// Dev servers this process runs, by task.
static RUNNING: LazyLock<Mutex<HashMap<Uuid, Live>>> = LazyLock::new(Default::default);

/// Whether this process runs `task_id`'s dev server.
pub fn is_running_here(task_id: Uuid) -> bool {
    RUNNING.lock().map(|m| m.contains_key(&task_id)).unwrap_or(false)
}

/// The host socket of `task_id`'s preview, in a directory only Drydock's user can write and
/// that no sandbox sees.
pub fn socket_path(settings: &Settings, task_id: Uuid) -> PathBuf {
    settings.data_dir.join("previews").join(format!("{}.sock", task_id.simple()))
}

fn ensure_socket_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().ok_or_else(|| std::io::Error::other("no directory"))?;
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

const NO_SANDBOX: &str = "The task has no live sandbox: its dev server runs in the sandbox \
                          kept alive after a run (create the task with keep_alive, or start \
                          its sandbox again).";

/// The task's live sandbox, or a 409 saying there is none.
async fn live_sandbox(deps: &Deps, sandbox_id: Option<&str>) -> ApiResult<SandboxHandle> {
    let id = sandbox_id.ok_or_else(|| ApiError::Conflict(NO_SANDBOX.into()))?;
    deps.sandbox.open(id).await.map_err(|_| ApiError::Conflict(NO_SANDBOX.into()))
}

/// Reads what detection needs from the repository, never following the agent's symlinks out
/// of the workspace and never reading more than a megabyte, a FIFO or a device.
async fn repo_files(handle: &SandboxHandle) -> RepoFiles {
    let Some(workspace) = handle.host_workspace.clone() else {
        return RepoFiles::default();
    };
    tokio::task::spawn_blocking(move || {
        let read = |name: &str| {
            let path = format!("{REPO_DIR}/{name}");
            sandbox::files::read_regular_beneath(&workspace, &path, MAX_MANIFEST_BYTES)
                .ok()
                .filter(|r| !r.truncated)
                .and_then(|r| String::from_utf8(r.bytes).ok())
        };
        let lockfiles = detect::LOCKFILES
            .iter()
            .map(|(lock, _)| *lock)
            .filter(|lock| {
                let path = format!("{REPO_DIR}/{lock}");
                sandbox::files::read_regular_beneath(&workspace, &path, 0).is_ok()
            })
            .collect();
        RepoFiles { package_json: read("package.json"), procfile: read("Procfile"), lockfiles }
    })
    .await
    .unwrap_or_default()
}

/// The dev server of the task in `handle`: its own settings, else what the repository says.
async fn find(deps: &Deps, task_id: Uuid, handle: &SandboxHandle) -> ApiResult<Option<DevCommand>> {
    let mut conn = deps.pool.get().await?;
    let row = model::get(&mut conn, task_id).await?;
    drop(conn);
    let files = repo_files(handle).await;
    let own_command = row.as_ref().and_then(|r| r.dev_command.clone());
    let own_port = row.as_ref().and_then(model::DevServerRow::own_port);
    Ok(detect::detect(&files, own_command.as_deref(), own_port))
}

const NOT_FOUND: &str = "No dev server found: add a `dev` or `start` script to package.json or \
                         a `web:` line to a Procfile, or set the task's dev_command.";

/// The task's dev server as the API shows it: its recorded state, or, before it ever ran,
/// what would run.
pub async fn status(deps: &Deps, task_id: Uuid, sandbox_id: Option<&str>) -> ApiResult<DevServer> {
    let mut conn = deps.pool.get().await?;
    let row = model::get(&mut conn, task_id).await?;
    drop(conn);
    if let Some(row) = row.as_ref().filter(|r| r.command.is_some() || r.state == "not_found") {
        let mut dto = row.to_dto();
        // A process recorded as running that no process runs any more (Drydock restarted).
        if dto.state == DevServerState::Running && !is_running_here(task_id) && sandbox_id.is_none()
        {
            dto.state = DevServerState::Exited;
            dto.detail = Some("It ended with its sandbox.".into());
        }
        return Ok(dto);
    }
    let Ok(handle) = live_sandbox(deps, sandbox_id).await else {
        return Ok(DevServer {
            state: DevServerState::Stopped,
            command: row.as_ref().and_then(|r| r.dev_command.clone()),
            port: row.as_ref().and_then(model::DevServerRow::own_port),
            source: None,
            exit_code: None,
            started_at: None,
            detail: Some(NO_SANDBOX.into()),
        });
    };
    Ok(match find(deps, task_id, &handle).await? {
        Some(found) => DevServer {
            state: DevServerState::Stopped,
            command: Some(found.display),
            port: Some(found.port),
            source: Some(found.source.into()),
            exit_code: None,
            started_at: None,
            detail: None,
        },
        None => DevServer {
            state: DevServerState::NotFound,
            command: None,
            port: None,
            source: None,
            exit_code: None,
            started_at: None,
            detail: Some(NOT_FOUND.into()),
        },
    })
}

/// Starts the task's dev server in its live sandbox. 409 without a live sandbox or when it
/// runs already; 422 when no dev server is found (which is recorded, so the status says so).
pub async fn start(deps: &Deps, task_id: Uuid, sandbox_id: Option<&str>) -> ApiResult<DevServer> {
    let handle = live_sandbox(deps, sandbox_id).await?;
    if is_running_here(task_id) {
        return Err(ApiError::Conflict(
            "The dev server is running already; restart it instead.".into(),
        ));
    }
    let Some(found) = find(deps, task_id, &handle).await? else {
        let mut conn = deps.pool.get().await?;
        let change = StateChange { detail: Some(NOT_FOUND), ..StateChange::default() };
        model::set_state(&mut conn, task_id, DevServerState::NotFound, change).await?;
        return Err(ApiError::Unprocessable(NOT_FOUND.into()));
    };
    if found.port == EGRESS_PORT || found.port < 1024 {
        return Err(ApiError::Unprocessable(format!(
            "The dev server would listen on port {}, which a sandbox cannot use (ports below \
             1024 and {EGRESS_PORT}, the egress relay's): set dev_port.",
            found.port
        )));
    }
    let socket = socket_path(&deps.settings, task_id);
    ensure_socket_dir(&socket).map_err(|e| ApiError::Internal(e.into()))?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let (ended_tx, ended_rx) = watch::channel(false);
    let started_at = Utc::now();
    {
        let mut running = RUNNING.lock().map_err(|_| anyhow::anyhow!("registry poisoned"))?;
        if running.contains_key(&task_id) {
            return Err(ApiError::Conflict("The dev server is running already.".into()));
        }
        running.insert(task_id, Live { stop: stop_tx, ended: ended_rx, started_at });
    }
    let mut conn = deps.pool.get().await?;
    let change = StateChange {
        command: Some(&found.display),
        port: Some(found.port),
        source: Some(found.source),
        started_at: Some(started_at),
        ..StateChange::default()
    };
    model::set_state(&mut conn, task_id, DevServerState::Running, change).await?;
    drop(conn);

    let mut request = ExecRequest::new(found.argv.clone());
    request.cwd = REPO_DIR.into();
    request.env = vec![
        ("PORT".into(), found.port.to_string()),
        // create-react-app and friends would try to open a browser.
        ("BROWSER".into(), "none".into()),
    ];
    request.expose = Some(Expose { port: found.port, socket });
    request.stop = Some(stop_rx);
    let events = EventSender::spawn(deps.pool.clone(), task_id, Redactor::new(Vec::new()));
    events.send(EventBody::Log {
        level: LogLevel::Info,
        message: format!(
            "Dev server started: {} (from {}), previewed on port {}",
            found.display, found.source, found.port
        ),
    });
    let deps = deps.clone();
    tokio::spawn(async move {
        let (tx, mut rx) = mpsc::channel::<sandbox::OutputLine>(256);
        let lines = events.clone();
        let forward = tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                lines.send(EventBody::ServerOutput { stream: line.stream, line: line.line });
            }
        });
        let outcome = deps.sandbox.exec(&handle, request, tx).await;
        let _ = forward.await;
        let (state, exit_code, detail) = match &outcome {
            Ok(o) if o.stopped == Some(StopReason::Killed) => {
                (DevServerState::Stopped, None, "Stopped.".to_owned())
            }
            Ok(o) => (
                DevServerState::Exited,
                o.exit_code,
                match (o.exit_code, o.signal) {
                    (Some(code), _) => format!("It exited with code {code}."),
                    (None, Some(signal)) => format!("It was ended by signal {signal}."),
                    _ => "It ended.".to_owned(),
                },
            ),
            Err(e) => {
                tracing::warn!(%task_id, error = %e, "the dev server could not run");
                (DevServerState::Exited, None, "It could not be started in the sandbox.".to_owned())
            }
        };
        if let Ok(mut conn) = deps.pool.get().await {
            if let Err(e) =
                model::set_ended(&mut conn, task_id, started_at, state, exit_code, &detail).await
            {
                tracing::warn!(%task_id, error = %e, "recording the dev server's end failed");
            }
        }
        events.send(EventBody::Log {
            level: if state == DevServerState::Stopped { LogLevel::Info } else { LogLevel::Warn },
            message: format!("Dev server ended: {detail}"),
        });
        events.flush().await;
        if let Ok(mut running) = RUNNING.lock() {
            if running.get(&task_id).is_some_and(|l| l.started_at == started_at) {
                running.remove(&task_id);
            }
        }
        let _ = ended_tx.send(true);
    });
    Ok(DevServer {
        state: DevServerState::Running,
        command: Some(found.display),
        port: Some(found.port),
        source: Some(found.source.into()),
        exit_code: None,
        started_at: Some(started_at),
        detail: None,
    })
}

/// Stops the task's dev server if this process runs it and waits until it is gone; records
/// `stopped` either way (a process recorded as running elsewhere that no longer exists).
pub async fn stop(deps: &Deps, task_id: Uuid) -> ApiResult<()> {
    let live = RUNNING.lock().ok().and_then(|mut m| m.remove(&task_id));
    match live {
        Some(live) => {
            let _ = live.stop.send(true);
            let mut ended = live.ended;
            let _ = tokio::time::timeout(STOP_WAIT, ended.wait_for(|e| *e)).await;
        }
        None => {
            let mut conn = deps.pool.get().await?;
            if let Some(row) = model::get(&mut conn, task_id).await? {
                if row.state == "running" {
                    if let Some(started) = row.started_at {
                        model::set_ended(
                            &mut conn,
                            task_id,
                            started,
                            DevServerState::Stopped,
                            None,
                            "Stopped.",
                        )
                        .await?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// After a run of a kept-alive task: starts its dev server when one is found and none runs.
/// Failures are only logged: the run itself succeeded.
pub async fn autostart(deps: &Deps, task_id: Uuid, sandbox_id: &str) {
    if !deps.settings.preview.autostart || is_running_here(task_id) {
        return;
    }
    match start(deps, task_id, Some(sandbox_id)).await {
        Ok(_) | Err(ApiError::Unprocessable(_)) => {}
        Err(e) => tracing::warn!(%task_id, error = %e, "starting the dev server failed"),
    }
}
