//! A task's pull request (`/tasks/{id}/pull-request`).

use serde::{Deserialize, Serialize};

/// The pull request as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PullRequest {
    /// Number on the host.
    pub number: i64,
    /// Web URL.
    #[serde(alias = "html_url")]
    pub url: String,
    /// `open`, `closed` or `merged`.
    #[serde(default, alias = "status")]
    pub state: String,
    /// Title.
    #[serde(default)]
    pub title: String,
}

/// Body of `POST /tasks/{id}/pull-request`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreatePullRequest {
    /// Title.
    pub title: String,
    /// Description (markdown).
    pub body: String,
}

/// Body of `POST /tasks/{id}/pull-request/merge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergePullRequest {
    /// `squash`, `merge` or `rebase`.
    pub method: String,
}
