//! The parts of GitHub's JSON that Drydock reads, and their mapping to the shared DTOs.
//! Unknown fields are ignored so GitHub can add them freely.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use shared::github::{
    CheckRun, CommentKind, GithubCommit, GithubIssue, GithubOwner, GithubPull, GithubRepo,
    OwnerKind, PrComment, PrStatus, PullRequest,
};

/// A user or organisation.
#[derive(Debug, Deserialize)]
pub struct Account {
    pub login: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub avatar_url: Option<String>,
}

impl Account {
    /// As an owner of the given kind.
    pub fn owner(self, kind: OwnerKind) -> GithubOwner {
        GithubOwner { login: self.login, kind, name: self.name, avatar_url: self.avatar_url }
    }
}

/// A repository.
#[derive(Debug, Deserialize)]
pub struct Repo {
    pub name: String,
    pub full_name: String,
    pub owner: Account,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub default_branch: Option<String>,
    pub html_url: String,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Repo {
    /// The DTO; `repo_url` is built from the configured web host so tasks recognise it.
    pub fn into_dto(self, web_url: &str) -> GithubRepo {
        GithubRepo {
            repo_url: format!(
                "{}/{}/{}",
                web_url.trim_end_matches('/'),
                self.owner.login,
                self.name
            ),
            owner: self.owner.login,
            name: self.name,
            full_name: self.full_name,
            description: self.description,
            private: self.private,
            default_branch: self.default_branch.unwrap_or_else(|| "main".into()),
            html_url: self.html_url,
            language: self.language,
            updated_at: self.updated_at,
        }
    }
}

/// `GET /search/repositories`.
#[derive(Debug, Deserialize)]
pub struct RepoSearch {
    pub items: Vec<Repo>,
}

/// A commit in a list.
#[derive(Debug, Deserialize)]
pub struct Commit {
    pub sha: String,
    pub commit: CommitDetail,
    #[serde(default)]
    pub author: Option<Account>,
    pub html_url: String,
}

#[derive(Debug, Deserialize)]
pub struct CommitDetail {
    pub message: String,
    #[serde(default)]
    pub author: Option<GitAuthor>,
}

#[derive(Debug, Deserialize)]
pub struct GitAuthor {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub date: Option<DateTime<Utc>>,
}

impl Commit {
    /// The DTO.
    pub fn into_dto(self) -> GithubCommit {
        let author = self.commit.author;
        GithubCommit {
            sha: self.sha,
            message: self.commit.message,
            author_name: author.as_ref().and_then(|a| a.name.clone()),
            author_login: self.author.map(|a| a.login),
            date: author.and_then(|a| a.date),
            html_url: self.html_url,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Label {
    pub name: String,
}

/// An issue; pull requests come back from the issues API too, marked by `pull_request`.
#[derive(Debug, Deserialize)]
pub struct Issue {
    pub number: i64,
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    pub state: String,
    #[serde(default)]
    pub user: Option<Account>,
    #[serde(default)]
    pub labels: Vec<Label>,
    pub html_url: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub pull_request: Option<serde_json::Value>,
}

impl Issue {
    /// The DTO.
    pub fn into_dto(self) -> GithubIssue {
        GithubIssue {
            number: self.number,
            title: self.title,
            body: self.body,
            state: self.state,
            user_login: self.user.map(|u| u.login),
            labels: self.labels.into_iter().map(|l| l.name).collect(),
            html_url: self.html_url,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// One side of a pull request.
#[derive(Debug, Deserialize)]
pub struct Branch {
    #[serde(rename = "ref")]
    pub name: String,
    #[serde(default)]
    pub repo: Option<BranchRepo>,
}

#[derive(Debug, Deserialize)]
pub struct BranchRepo {
    pub full_name: String,
}

/// A pull request.
#[derive(Debug, Deserialize)]
pub struct Pull {
    pub number: i64,
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    pub state: String,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub merged: Option<bool>,
    #[serde(default)]
    pub merged_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub mergeable: Option<bool>,
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
    pub head: Branch,
    pub base: Branch,
    #[serde(default)]
    pub user: Option<Account>,
    pub html_url: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Pull {
    /// Open, closed, or merged (a closed PR with a merge time).
    pub fn status(&self) -> PrStatus {
        if self.merged == Some(true) || self.merged_at.is_some() {
            PrStatus::Merged
        } else if self.state == "closed" {
            PrStatus::Closed
        } else {
            PrStatus::Open
        }
    }

    /// As a task's pull request.
    pub fn to_task_pr(&self) -> PullRequest {
        let status = self.status();
        PullRequest {
            number: self.number,
            url: self.html_url.clone(),
            status,
            title: self.title.clone(),
            body: self.body.clone(),
            head: self.head.name.clone(),
            base: self.base.name.clone(),
            draft: self.draft,
            mergeable: self.mergeable,
            merge_sha: (status == PrStatus::Merged)
                .then(|| self.merge_commit_sha.clone())
                .flatten(),
        }
    }

    /// As listed for a repository.
    pub fn into_dto(self) -> GithubPull {
        GithubPull {
            number: self.number,
            title: self.title,
            body: self.body,
            state: self.state,
            draft: self.draft,
            head_ref: self.head.name,
            base_ref: self.base.name,
            user_login: self.user.map(|u| u.login),
            html_url: self.html_url,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// The answer of `PUT .../merge`.
#[derive(Debug, Deserialize)]
pub struct MergeResult {
    #[serde(default)]
    pub merged: bool,
    #[serde(default)]
    pub sha: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// An issue or review comment.
#[derive(Debug, Deserialize)]
pub struct Comment {
    pub id: i64,
    #[serde(default)]
    pub user: Option<Account>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    pub html_url: String,
    pub created_at: DateTime<Utc>,
}

impl Comment {
    /// The DTO.
    pub fn into_dto(self, kind: CommentKind) -> PrComment {
        PrComment {
            id: self.id,
            kind,
            user_avatar_url: self.user.as_ref().and_then(|u| u.avatar_url.clone()),
            user_login: self.user.map(|u| u.login),
            body: self.body.unwrap_or_default(),
            path: self.path,
            html_url: self.html_url,
            created_at: self.created_at,
        }
    }
}

/// `GET .../git/ref/heads/BRANCH`.
#[derive(Debug, Deserialize)]
pub struct GitRef {
    pub object: GitObject,
}

#[derive(Debug, Deserialize)]
pub struct GitObject {
    pub sha: String,
}

/// `GET .../commits/SHA/check-runs`.
#[derive(Debug, Deserialize)]
pub struct CheckRuns {
    pub check_runs: Vec<Check>,
}

#[derive(Debug, Deserialize)]
pub struct Check {
    pub id: i64,
    pub name: String,
    pub status: String,
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
}

impl Check {
    /// The DTO.
    pub fn into_dto(self) -> CheckRun {
        CheckRun {
            id: self.id,
            name: self.name,
            status: self.status,
            conclusion: self.conclusion,
            html_url: self.html_url,
            started_at: self.started_at,
            completed_at: self.completed_at,
        }
    }
}
