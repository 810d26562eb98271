//! The caller's repositories as their tasks see them: how many tasks each has
//! (`GET /api/v1/me/repos`), and which forge items (issues, pull or merge requests, reverted
//! commits) of one repository already have a task (`GET /api/v1/me/task-links`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::tasks::TaskStatus;

/// One repository of the caller's tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RepoTasks {
    /// The repository URL, exactly as the tasks name it (a forge's `repo_url`).
    pub repo_url: String,
    /// How many of the caller's tasks (not deleted) are on it.
    pub task_count: i64,
    /// When the newest of them was created.
    pub last_task_at: DateTime<Utc>,
}

/// A forge item that a task of the caller was started from or opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskLink {
    /// The item's web URL: an issue's or a commit's the task was started from, or the pull or
    /// merge request the task works on (`html_url` in the forge lists).
    pub url: String,
    /// The task.
    pub task_id: Uuid,
    /// Its status.
    pub status: TaskStatus,
}
