//! The dev server a kept-alive sandbox runs, and links to its preview.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The port Drydock gives a dev server in `PORT` when nothing else says which.
pub const DEFAULT_DEV_PORT: u16 = 3000;
/// The longest `dev_command` a task may set.
pub const DEV_COMMAND_MAX_CHARS: usize = 1000;

/// Where a task's dev server is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DevServerState {
    /// The repository says nothing about how to serve it and the task set no `dev_command`.
    NotFound,
    /// Known but not running (never started, or stopped on request).
    Stopped,
    /// Its process is running in the sandbox (it may still be starting to listen).
    Running,
    /// Its process ended by itself (`exit_code`) or with its sandbox.
    Exited,
}

/// A task's dev server: what runs, on which port, and how it is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DevServer {
    /// Its state.
    pub state: DevServerState,
    /// The command, as detected or set by the task (`npm run dev`); absent when not found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The port previewed, also given to the command as `PORT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// How the command was found: `dev_command`, `package.json`, `Procfile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Exit code of the last run, for `exited`; absent when it was killed by a signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// When the current or last process started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// A sentence for the user: why it is not found, why it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A one-time link to a task's preview: opening it sets the preview's own short-lived cookie
/// and redirects to the preview. A second use is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreviewLink {
    /// The link, on the preview's origin (`https://<task-id>.<preview.domain>/...`) or under
    /// `/preview/<task-id>/` without a preview domain.
    pub url: String,
    /// Until when the link may be opened.
    pub expires_at: DateTime<Utc>,
    /// Where the preview is once the link has been opened (for "open in a new tab" after the
    /// cookie is set, and to show the user).
    pub preview_url: String,
}
