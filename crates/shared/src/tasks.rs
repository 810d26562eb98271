//! Task status and stage: the public lifecycle of a task.

use serde::{Deserialize, Serialize};

/// Public status, as in the reference system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Waiting for a worker.
    Pending,
    /// A worker is running it.
    Processing,
    /// The last run succeeded.
    Completed,
    /// The last run failed.
    Error,
    /// A user stopped it.
    Stopped,
}

impl TaskStatus {
    /// All statuses, in lifecycle order.
    pub const ALL: [Self; 5] =
        [Self::Pending, Self::Processing, Self::Completed, Self::Error, Self::Stopped];

    /// Whether no late writer may change this status.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Error | Self::Stopped)
    }

    /// The snake_case name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Completed => "completed",
            Self::Error => "error",
            Self::Stopped => "stopped",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Finer-grained progress within a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TaskStage {
    /// Waiting in the queue.
    Queued,
    /// Creating the sandbox.
    Provisioning,
    /// Cloning the repository.
    Cloning,
    /// Installing dependencies.
    Installing,
    /// The agent is working.
    RunningAgent,
    /// Committing the agent's changes.
    Committing,
    /// Pushing the branch.
    Pushing,
    /// Finished.
    Done,
}

impl TaskStage {
    /// All stages, in order.
    pub const ALL: [Self; 8] = [
        Self::Queued,
        Self::Provisioning,
        Self::Cloning,
        Self::Installing,
        Self::RunningAgent,
        Self::Committing,
        Self::Pushing,
        Self::Done,
    ];

    /// The snake_case name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Provisioning => "provisioning",
            Self::Cloning => "cloning",
            Self::Installing => "installing",
            Self::RunningAgent => "running_agent",
            Self::Committing => "committing",
            Self::Pushing => "pushing",
            Self::Done => "done",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Rough progress in percent for this stage, for progress bars.
    pub fn progress(self) -> u8 {
        match self {
            Self::Queued => 0,
            Self::Provisioning => 5,
            Self::Cloning => 15,
            Self::Installing => 30,
            Self::RunningAgent => 50,
            Self::Committing => 85,
            Self::Pushing => 92,
            Self::Done => 100,
        }
    }
}

/// Longest accepted prompt, in characters.
pub const PROMPT_MAX_CHARS: usize = 100_000;

/// Request body of `POST /api/v1/tasks`. Server-owned fields are rejected as unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateTask {
    /// Git URL (https, ssh, or a local path where the operator allows it).
    pub repo_url: String,
    /// What the agent should do.
    pub prompt: String,
    /// Which agent runs it.
    pub agent: String,
    /// Model id; the agent's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Branch to start from; the repository's default branch when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_branch: Option<String>,
    /// Install dependencies by lockfile before the agent runs.
    #[serde(default)]
    pub install_dependencies: bool,
    /// Wall-clock limit of each run; the user's maximum when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration_minutes: Option<u32>,
    /// Keep the sandbox between runs so follow-ups resume the agent's session.
    #[serde(default)]
    pub keep_alive: bool,
    /// MCP connectors to give the agent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connector_ids: Vec<uuid::Uuid>,
    /// Open a pull request when the run succeeds.
    #[serde(default)]
    pub create_pr: bool,
    /// Give the agent a headless Chromium through a browser MCP server, on this run and every
    /// follow-up. Refused (422) when the server has no browser automation
    /// (`GET /api/v1/capabilities`).
    #[serde(default)]
    pub enable_browser: bool,
    /// How the repository serves itself in the kept-alive sandbox (run with `sh -c`), instead
    /// of what Drydock detects (`package.json` scripts `dev` or `start`, a `Procfile`'s `web:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev_command: Option<String>,
    /// The port the dev server listens on inside the sandbox, given to it as `PORT` and
    /// previewed; 1024 to 65535, not 3128 (the egress relay's). Default: the framework's own
    /// port when the command names one that ignores `PORT` (Vite 5173, ...), else 3000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev_port: Option<u32>,
}

/// A task as returned by the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    /// Task id.
    pub id: uuid::Uuid,
    /// Short title (generated, or the prompt truncated).
    pub title: String,
    /// The first prompt.
    pub prompt: String,
    /// The repository.
    pub repo_url: String,
    /// The agent.
    pub agent: String,
    /// The model, when one was chosen.
    pub model: Option<String>,
    /// The agent CLI version of the latest run, once known.
    pub agent_version: Option<String>,
    /// Public status.
    pub status: TaskStatus,
    /// Current stage.
    pub stage: TaskStage,
    /// Rough progress in percent.
    pub progress: u8,
    /// The requested base branch, or the default branch once resolved.
    pub base_branch: Option<String>,
    /// The work branch, once created.
    pub branch_name: Option<String>,
    /// Why the latest run failed or stopped.
    pub error: Option<String>,
    /// Install dependencies before running.
    pub install_dependencies: bool,
    /// Wall-clock limit of each run.
    pub max_duration_minutes: u32,
    /// Whether the sandbox is kept between runs.
    pub keep_alive: bool,
    /// Open a pull request on success.
    pub create_pr: bool,
    /// Whether the agent gets a headless browser (a browser MCP server) on every run.
    #[serde(default)]
    pub enable_browser: bool,
    /// The MCP connectors the agent gets on every run.
    #[serde(default)]
    pub connector_ids: Vec<uuid::Uuid>,
    /// Pull request URL, once opened.
    pub pr_url: Option<String>,
    /// Pull request number, once opened.
    pub pr_number: Option<i64>,
    /// When created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// When the latest run started.
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When the latest run ended.
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Who wrote a task message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MessageRole {
    /// The user: the first prompt and each follow-up.
    User,
    /// The agent's final message of a run, in markdown.
    Agent,
}

/// One message of a task's conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskMessage {
    /// Message id.
    pub id: uuid::Uuid,
    /// Author.
    pub role: MessageRole,
    /// Markdown text.
    pub content: String,
    /// When written.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The run it started (a user's) or ended (the agent's): the `run` of the task's events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<i32>,
}

/// Body of `POST /api/v1/tasks/{id}/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateMessage {
    /// The follow-up prompt.
    pub content: String,
}

/// The caller's daily task quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Quota {
    /// Tasks and follow-ups counted today.
    pub used: u32,
    /// How many are left today.
    pub remaining: u32,
    /// The daily allowance.
    pub total: u32,
    /// When the count resets (next UTC midnight).
    pub reset_at: chrono::DateTime<chrono::Utc>,
}

/// Body of `POST /api/v1/tasks/{id}/run/extend`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExtendRun {
    /// Move the running agent's time limit this many minutes later (15 by default); the run
    /// may last at most the caller's maximum duration in all.
    #[serde(default)]
    pub minutes: Option<u32>,
}

/// The running agent's time limit, after an extend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunDeadline {
    /// When the agent is stopped now.
    pub deadline: chrono::DateTime<chrono::Utc>,
    /// The latest it can be moved to: the agent's start plus the caller's maximum duration.
    pub latest: chrono::DateTime<chrono::Utc>,
}
