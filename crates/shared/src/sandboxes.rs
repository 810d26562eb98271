//! A task's live sandbox: its state, its usage, and the bodies of the lifecycle endpoints.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a task's sandbox is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SandboxState {
    /// Being built from the pushed branch (clone, dependencies).
    Starting,
    /// It exists: commands, the terminal and the dev server can run in it.
    Running,
    /// There is none; `start` builds one.
    Stopped,
    /// The last start failed (see `error`); `start` tries again.
    Error,
}

impl SandboxState {
    /// The snake_case name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Stopped => "stopped",
            Self::Error => "error",
        }
    }
}

/// What a running sandbox uses now. A figure the backend cannot measure here is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SandboxUsage {
    /// Memory of the whole sandbox, in bytes (needs a memory cgroup).
    #[serde(default)]
    pub memory_bytes: Option<u64>,
    /// Processes and threads alive in it.
    #[serde(default)]
    pub processes: Option<u32>,
    /// Disk its workspace and HOME take, in bytes.
    #[serde(default)]
    pub disk_bytes: Option<u64>,
    /// Commands running in it now (agent, install, terminal, dev server).
    pub commands: u32,
}

/// A task's sandbox, `GET /tasks/{id}/sandbox`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskSandbox {
    /// The task.
    pub task_id: Uuid,
    /// Its state.
    pub state: SandboxState,
    /// When the running sandbox was created.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// When a running sandbox is removed unless extended.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether code runs in it now (a run, the terminal, the dev server).
    pub busy: bool,
    /// What it uses, while running.
    #[serde(default)]
    pub usage: Option<SandboxUsage>,
    /// Why the last start failed, for `error`.
    #[serde(default)]
    pub error: Option<String>,
    /// The dev server's state; `null` until a dev server is known.
    #[serde(default)]
    pub dev_server: Option<String>,
}

/// One live sandbox in `GET /sandboxes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SandboxSummary {
    /// The task it belongs to.
    pub task_id: Uuid,
    /// The task's title.
    pub title: String,
    /// The owner's user id (admins listing everyone's see whose it is).
    pub user_id: Uuid,
    /// `running` or `starting`.
    pub state: SandboxState,
    /// When it was created.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// When it is removed unless extended.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Memory in bytes, where measured.
    #[serde(default)]
    pub memory_bytes: Option<u64>,
    /// Processes, where counted.
    #[serde(default)]
    pub processes: Option<u32>,
    /// Disk of workspace and HOME, in bytes.
    #[serde(default)]
    pub disk_bytes: Option<u64>,
}

/// Body of `POST /tasks/{id}/sandbox/extend`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExtendSandbox {
    /// Keep it this many minutes from now; at most the server's `tasks.keep_alive_minutes`
    /// (the default).
    #[serde(default)]
    pub minutes: Option<u32>,
}

/// What happened to a task's sandbox, in a `sandbox` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SandboxAction {
    /// A start was asked for and the sandbox is being built.
    Starting,
    /// It is running (built, or found running).
    Started,
    /// Building it failed.
    Failed,
    /// It was stopped and removed (its HOME kept for the next one).
    Stopped,
    /// Its expiry moved.
    Extended,
}

/// What a `warning` event warns of. The SPA shows a banner; `sandbox_expiry` offers "extend".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// The run reaches its maximum duration at `deadline` and is then stopped.
    RunTimeLimit,
    /// The kept-alive sandbox is removed at `deadline` unless extended.
    SandboxExpiry,
}
