//! GitHub: owners, repositories, their commits, issues and pull requests, tasks created from
//! them, and the pull request of a task with its comments and checks.
//!
//! These are Drydock's own shapes, trimmed from GitHub's: clients never see the user's GitHub
//! token or GitHub's raw payloads.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Whether an owner is the signed-in user or an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OwnerKind {
    /// The user the token belongs to.
    User,
    /// An organisation the user is a member of.
    Organization,
}

/// An account repositories can be listed for and created under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GithubOwner {
    /// Login (user name or organisation name).
    pub login: String,
    /// User or organisation.
    pub kind: OwnerKind,
    /// Display name, when GitHub has one.
    pub name: Option<String>,
    /// Avatar image URL.
    pub avatar_url: Option<String>,
}

/// A repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GithubRepo {
    /// Owner login.
    pub owner: String,
    /// Repository name (may contain dots).
    pub name: String,
    /// `owner/name`.
    pub full_name: String,
    /// Description.
    pub description: Option<String>,
    /// Whether the repository is private.
    pub private: bool,
    /// The default branch, the base of new tasks.
    pub default_branch: String,
    /// The URL to use as a task's `repo_url`.
    pub repo_url: String,
    /// The repository's page on GitHub.
    pub html_url: String,
    /// Main language, when GitHub detected one.
    pub language: Option<String>,
    /// Last push or update.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Request body of `POST /api/v1/github/repos`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRepo {
    /// Name: letters, digits, `.`, `_` and `-`.
    pub name: String,
    /// An organisation to create it in; the signed-in user when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Private (the default) or public.
    #[serde(default = "yes")]
    pub private: bool,
    /// A template repository (`owner/name`) to generate it from; an empty repository with a
    /// README when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

fn yes() -> bool {
    true
}

/// A commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GithubCommit {
    /// Full SHA.
    pub sha: String,
    /// The whole commit message.
    pub message: String,
    /// Author name from the commit.
    pub author_name: Option<String>,
    /// Author's GitHub login, when GitHub could match one.
    pub author_login: Option<String>,
    /// Author date.
    pub date: Option<DateTime<Utc>>,
    /// The commit's page on GitHub.
    pub html_url: String,
}

/// An issue (never a pull request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GithubIssue {
    /// Issue number.
    pub number: i64,
    /// Title.
    pub title: String,
    /// Body (Markdown).
    pub body: Option<String>,
    /// `open` or `closed`.
    pub state: String,
    /// Who opened it.
    pub user_login: Option<String>,
    /// Label names.
    pub labels: Vec<String>,
    /// The issue's page on GitHub.
    pub html_url: String,
    /// When opened.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
}

/// A pull request of a repository, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GithubPull {
    /// Pull request number.
    pub number: i64,
    /// Title.
    pub title: String,
    /// Body (Markdown).
    pub body: Option<String>,
    /// `open` or `closed`.
    pub state: String,
    /// Whether it is a draft.
    pub draft: bool,
    /// The branch with the changes.
    pub head_ref: String,
    /// The branch it merges into.
    pub base_ref: String,
    /// Who opened it.
    pub user_login: Option<String>,
    /// The pull request's page on GitHub.
    pub html_url: String,
    /// When opened.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
}

/// Request body of the endpoints that create a task from an issue, a pull request or a
/// commit. The prompt is derived from GitHub; the rest is as in `POST /api/v1/tasks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TaskFromGithub {
    /// Which agent runs it.
    pub agent: String,
    /// Model id; the agent's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Extra instructions appended to the derived prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_extra: Option<String>,
    /// Install dependencies by lockfile before the agent runs.
    #[serde(default)]
    pub install_dependencies: bool,
    /// Wall-clock limit of each run; the user's maximum when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration_minutes: Option<u32>,
    /// Keep the sandbox between runs.
    #[serde(default)]
    pub keep_alive: bool,
    /// Open a pull request when the run succeeds (ignored for pull request tasks, which
    /// already have one).
    #[serde(default)]
    pub create_pr: bool,
    /// MCP connectors to give the agent, checked as in `POST /api/v1/tasks`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connector_ids: Vec<uuid::Uuid>,
}

/// State of a pull request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PrStatus {
    /// Open.
    Open,
    /// Closed without merging.
    Closed,
    /// Merged.
    Merged,
}

impl PrStatus {
    /// The snake_case name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Merged => "merged",
        }
    }
}

/// Request body of `POST /api/v1/tasks/{id}/pull-request`. Every field has a default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreatePullRequest {
    /// Title; the task's title when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Body; the agent's final message when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Branch to merge into; the task's base branch when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
}

/// The pull request of a task, as last seen on GitHub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullRequest {
    /// Pull request number.
    pub number: i64,
    /// Its page on GitHub.
    pub url: String,
    /// Open, closed or merged.
    pub status: PrStatus,
    /// Title.
    pub title: String,
    /// Body (Markdown).
    pub body: Option<String>,
    /// The task's branch.
    pub head: String,
    /// The branch it merges into.
    pub base: String,
    /// Whether it is a draft.
    pub draft: bool,
    /// Whether GitHub can merge it cleanly; `null` while GitHub is still computing.
    pub mergeable: Option<bool>,
    /// The merge commit, once merged.
    pub merge_sha: Option<String>,
}

/// How to merge a pull request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MergeMethod {
    /// One commit on the base branch.
    #[default]
    Squash,
    /// A merge commit.
    Merge,
    /// The commits replayed onto the base branch.
    Rebase,
}

/// Request body of `POST /api/v1/tasks/{id}/pull-request/merge`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MergePullRequest {
    /// Squash (default), merge or rebase.
    #[serde(default)]
    pub method: MergeMethod,
    /// Title of the merge or squash commit; GitHub's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Message of the merge or squash commit; GitHub's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Where a pull request comment was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CommentKind {
    /// On the conversation.
    Issue,
    /// On a line of the diff.
    Review,
}

/// A comment on a task's pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrComment {
    /// GitHub's comment id.
    pub id: i64,
    /// Conversation or review comment.
    pub kind: CommentKind,
    /// Author login.
    pub user_login: Option<String>,
    /// Author avatar.
    pub user_avatar_url: Option<String>,
    /// Body (Markdown).
    pub body: String,
    /// The file a review comment is on.
    pub path: Option<String>,
    /// Its page on GitHub.
    pub html_url: String,
    /// When written.
    pub created_at: DateTime<Utc>,
}

/// A check run (CI job) on a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckRun {
    /// GitHub's id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// `queued`, `in_progress` or `completed`.
    pub status: String,
    /// Once completed: `success`, `failure`, `neutral`, `cancelled`, `skipped`, `timed_out`
    /// or `action_required`.
    pub conclusion: Option<String>,
    /// Its page.
    pub html_url: Option<String>,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it completed.
    pub completed_at: Option<DateTime<Utc>>,
}

/// The check runs of a task branch's head commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskChecks {
    /// The head commit of the branch; `null` when the branch is not on GitHub.
    pub head_sha: Option<String>,
    /// Its check runs.
    pub check_runs: Vec<CheckRun>,
}
