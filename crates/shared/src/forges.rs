//! Forges (GitHub, GitLab, Gitea/Forgejo): which forge a task's repository is on, and the
//! words and merge methods the web app shows for it (the kinds themselves are
//! [`crate::git_hosts`]'s).
//!
//! The repository picker, browser and pull request shapes are those of [`crate::github`]:
//! they fit every forge (a GitLab namespace is the `owner`, a merge request's `iid` the
//! `number`), so the web app's components serve all of them.

use serde::{Deserialize, Serialize};

use crate::git_hosts::ForgeKind;
use crate::github::MergeMethod;

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
