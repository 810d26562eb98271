//! Forges (GitHub, GitLab, Gitea/Forgejo): which kind a repository's host is, and the words
//! and merge methods the web app shows for it.
//!
//! The repository picker, browser and pull request shapes are those of [`crate::github`]:
//! they fit every forge (a GitLab namespace is the `owner`, a merge request's `iid` the
//! `number`), so the web app's components serve all of them.

use serde::{Deserialize, Serialize};

use crate::github::MergeMethod;

/// The API a git host speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ForgeKind {
    /// github.com or GitHub Enterprise (REST v3).
    Github,
    /// gitlab.com or a self-hosted GitLab (REST v4).
    Gitlab,
    /// Gitea or Forgejo (API v1).
    Gitea,
}

impl ForgeKind {
    /// The product name, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Github => "GitHub",
            Self::Gitlab => "GitLab",
            Self::Gitea => "Gitea",
        }
    }

    /// What the forge calls a request to merge a branch.
    pub fn request_noun(self) -> &'static str {
        match self {
            Self::Gitlab => "merge request",
            Self::Github | Self::Gitea => "pull request",
        }
    }

    /// How the forge numbers them in text: `#3` or GitLab's `!3`.
    pub fn number_prefix(self) -> &'static str {
        match self {
            Self::Gitlab => "!",
            Self::Github | Self::Gitea => "#",
        }
    }

    /// The merge methods a request to merge can choose. GitLab merges by the project's own
    /// method (merge commit, or fast-forward/rebase when the project says so), optionally
    /// squashed; it cannot be asked to rebase per merge.
    pub fn merge_methods(self) -> Vec<MergeMethod> {
        match self {
            Self::Gitlab => vec![MergeMethod::Squash, MergeMethod::Merge],
            Self::Github | Self::Gitea => {
                vec![MergeMethod::Squash, MergeMethod::Merge, MergeMethod::Rebase]
            }
        }
    }
}

/// The forge of a task's repository, as `GET /api/v1/tasks/{id}/forge` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskForge {
    /// The forge's kind; `null` when the host has no forge API Drydock can use for the user
    /// (a plain git host, a local path, or no token for that host).
    pub kind: Option<ForgeKind>,
    /// The repository's host (`host` or `host:port`); `null` for a local path.
    pub host: Option<String>,
    /// The repository's path on the forge (`owner/name`, or `group/sub/name` on GitLab).
    pub repo: Option<String>,
    /// "pull request" or "merge request".
    pub request_noun: String,
    /// `#` or `!`, the prefix of request numbers.
    pub number_prefix: String,
    /// The merge methods the forge accepts.
    pub merge_methods: Vec<MergeMethod>,
}
