//! GitLab (REST v4): projects by their full path (one URL-encoded segment), merge requests by
//! `iid`, notes as comments, commit statuses (pipeline jobs) as checks.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use shared::github::{
    CheckRun, CommentKind, GithubCommit, GithubIssue, GithubOwner, GithubPull, GithubRepo,
    MergeMethod, OwnerKind, PrComment, PrStatus, PullRequest, TaskChecks,
};

use super::rest::Rest;
use super::{
    segment, Forge, ForgeError, ForgeKind, ForgeResult, FoundPull, Listing, Merge, NewPull,
    RepoPath,
};

/// Groups and comment pages read at most (100 per page).
const MAX_PAGES: u32 = 10;

/// A GitLab client.
pub struct Gitlab {
    rest: Rest,
    web: String,
}

impl Gitlab {
    /// Over `rest`, with repository URLs under `web`.
    pub fn new(rest: Rest, web: &str) -> Self {
        Self { rest, web: web.trim_end_matches('/').to_owned() }
    }

    fn project(repo: &RepoPath) -> String {
        format!("/projects/{}", segment(repo.as_str()))
    }

    fn mr(repo: &RepoPath, iid: i64) -> String {
        format!("{}/merge_requests/{iid}", Self::project(repo))
    }
}

#[derive(Deserialize)]
struct User {
    username: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    avatar_url: Option<String>,
}

#[derive(Deserialize)]
struct Group {
    full_path: String,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    avatar_url: Option<String>,
}

#[derive(Deserialize)]
struct Namespace {
    full_path: String,
}

#[derive(Deserialize)]
struct Project {
    path: String,
    path_with_namespace: String,
    namespace: Namespace,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    default_branch: Option<String>,
    web_url: String,
    #[serde(default)]
    last_activity_at: Option<DateTime<Utc>>,
}

impl Project {
    fn into_dto(self, web: &str) -> GithubRepo {
        GithubRepo {
            repo_url: format!("{web}/{}.git", self.path_with_namespace),
            owner: self.namespace.full_path,
            name: self.path,
            full_name: self.path_with_namespace,
            description: self.description.filter(|d| !d.is_empty()),
            private: self.visibility.as_deref() != Some("public"),
            default_branch: self.default_branch.unwrap_or_else(|| "main".into()),
            html_url: self.web_url,
            language: None,
            updated_at: self.last_activity_at,
        }
    }
}

#[derive(Deserialize)]
struct Author {
    username: String,
    #[serde(default)]
    avatar_url: Option<String>,
}

/// GitLab says `opened`; Drydock's shapes say `open`.
fn state(s: &str) -> String {
    if s == "opened" {
        "open".into()
    } else {
        s.to_owned()
    }
}

#[derive(Deserialize)]
struct Issue {
    iid: i64,
    title: String,
    #[serde(default)]
    description: Option<String>,
    state: String,
    #[serde(default)]
    author: Option<Author>,
    #[serde(default)]
    labels: Vec<String>,
    web_url: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Issue {
    fn into_dto(self) -> GithubIssue {
        GithubIssue {
            number: self.iid,
            title: self.title,
            body: self.description,
            state: state(&self.state),
            user_login: self.author.map(|a| a.username),
            labels: self.labels,
            html_url: self.web_url,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[derive(Deserialize)]
struct MergeRequest {
    iid: i64,
    title: String,
    #[serde(default)]
    description: Option<String>,
    state: String,
    #[serde(default)]
    draft: bool,
    source_branch: String,
    target_branch: String,
    #[serde(default)]
    source_project_id: Option<i64>,
    #[serde(default)]
    target_project_id: Option<i64>,
    #[serde(default)]
    author: Option<Author>,
    web_url: String,
    #[serde(default)]
    has_conflicts: bool,
    #[serde(default)]
    detailed_merge_status: Option<String>,
    #[serde(default)]
    merge_commit_sha: Option<String>,
    #[serde(default)]
    squash_commit_sha: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl MergeRequest {
    fn status(&self) -> PrStatus {
        match self.state.as_str() {
            "merged" => PrStatus::Merged,
            "opened" => PrStatus::Open,
            _ => PrStatus::Closed,
        }
    }

    fn to_task_pr(&self) -> PullRequest {
        let status = self.status();
        // GitLab computes mergeability in the background: unknown until it says.
        let mergeable = match self.detailed_merge_status.as_deref() {
            _ if self.has_conflicts => Some(false),
            Some("mergeable") => Some(true),
            Some("conflict" | "need_rebase" | "broken_status") => Some(false),
            _ => None,
        };
        PullRequest {
            number: self.iid,
            url: self.web_url.clone(),
            status,
            title: self.title.clone(),
            body: self.description.clone(),
            head: self.source_branch.clone(),
            base: self.target_branch.clone(),
            draft: self.draft,
            mergeable,
            merge_sha: (status == PrStatus::Merged)
                .then(|| self.merge_commit_sha.clone().or_else(|| self.squash_commit_sha.clone()))
                .flatten(),
        }
    }

    fn into_dto(self) -> GithubPull {
        GithubPull {
            number: self.iid,
            title: self.title,
            body: self.description,
            state: state(&self.state),
            draft: self.draft,
            head_ref: self.source_branch,
            base_ref: self.target_branch,
            user_login: self.author.map(|a| a.username),
            html_url: self.web_url,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[derive(Deserialize)]
struct Commit {
    id: String,
    message: String,
    #[serde(default)]
    author_name: Option<String>,
    #[serde(default)]
    authored_date: Option<DateTime<Utc>>,
    web_url: String,
}

impl Commit {
    fn into_dto(self) -> GithubCommit {
        GithubCommit {
            sha: self.id,
            message: self.message,
            author_name: self.author_name,
            author_login: None,
            date: self.authored_date,
            html_url: self.web_url,
        }
    }
}

#[derive(Deserialize)]
struct Position {
    #[serde(default)]
    new_path: Option<String>,
}

#[derive(Deserialize)]
struct Note {
    id: i64,
    body: String,
    #[serde(default)]
    author: Option<Author>,
    #[serde(default)]
    system: bool,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    position: Option<Position>,
    created_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct Branch {
    commit: BranchCommit,
}

#[derive(Deserialize)]
struct BranchCommit {
    id: String,
}

#[derive(Deserialize)]
struct Status {
    id: i64,
    name: String,
    status: String,
    #[serde(default)]
    target_url: Option<String>,
    #[serde(default)]
    started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    finished_at: Option<DateTime<Utc>>,
}

impl Status {
    /// GitLab's job states in the check-run vocabulary the web app shows.
    fn into_dto(self) -> CheckRun {
        let (status, conclusion) = match self.status.as_str() {
            "running" => ("in_progress", None),
            "success" => ("completed", Some("success")),
            "failed" => ("completed", Some("failure")),
            "canceled" => ("completed", Some("cancelled")),
            "skipped" => ("completed", Some("skipped")),
            "manual" => ("completed", Some("action_required")),
            _ => ("queued", None),
        };
        CheckRun {
            id: self.id,
            name: self.name,
            status: status.into(),
            conclusion: conclusion.map(str::to_owned),
            html_url: self.target_url,
            started_at: self.started_at,
            completed_at: self.finished_at,
        }
    }
}

fn query(q: &str) -> String {
    url::form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

#[async_trait]
impl Forge for Gitlab {
    fn kind(&self) -> ForgeKind {
        ForgeKind::Gitlab
    }

    async fn owners(&self) -> ForgeResult<Vec<GithubOwner>> {
        let me: User = self.rest.get("/user").await?;
        let mut owners = vec![GithubOwner {
            login: me.username,
            kind: OwnerKind::User,
            name: me.name,
            avatar_url: me.avatar_url,
        }];
        // Developer (30) or more: the groups the user can push to and create projects in.
        let groups: Vec<Group> =
            self.rest.get_all("/groups?min_access_level=30&per_page=100", MAX_PAGES).await?;
        owners.extend(groups.into_iter().map(|g| GithubOwner {
            login: g.full_path,
            kind: OwnerKind::Organization,
            name: g.full_name,
            avatar_url: g.avatar_url,
        }));
        Ok(owners)
    }

    async fn repos(&self, listing: &Listing) -> ForgeResult<(Vec<GithubRepo>, bool)> {
        let mut params = format!(
            "order_by=last_activity_at&sort=desc&per_page={}&page={}",
            listing.per_page, listing.page
        );
        if let Some(q) = &listing.q {
            params.push_str(&format!("&search={}", query(q)));
        }
        let (projects, more): (Vec<Project>, bool) = match &listing.owner {
            None => {
                self.rest
                    .get_page(&format!("/projects?membership=true&min_access_level=30&{params}"))
                    .await?
            }
            Some(owner) => {
                let group =
                    format!("/groups/{}/projects?include_subgroups=true&{params}", segment(owner));
                match self.rest.get_page(&group).await {
                    Err(ForgeError::NotFound) => {
                        self.rest
                            .get_page(&format!("/users/{}/projects?{params}", segment(owner)))
                            .await?
                    }
                    other => other?,
                }
            }
        };
        Ok((projects.into_iter().map(|p| p.into_dto(&self.web)).collect(), more))
    }

    async fn repo(&self, repo: &RepoPath) -> ForgeResult<GithubRepo> {
        let project: Project = self.rest.get(&Self::project(repo)).await?;
        Ok(project.into_dto(&self.web))
    }

    async fn commits(&self, repo: &RepoPath, limit: u32) -> ForgeResult<Vec<GithubCommit>> {
        let path = format!("{}/repository/commits?per_page={limit}", Self::project(repo));
        let commits: Vec<Commit> = self.rest.get(&path).await?;
        Ok(commits.into_iter().map(Commit::into_dto).collect())
    }

    async fn commit(&self, repo: &RepoPath, sha: &str) -> ForgeResult<GithubCommit> {
        let path = format!("{}/repository/commits/{}", Self::project(repo), segment(sha));
        Ok(self.rest.get::<Commit>(&path).await?.into_dto())
    }

    async fn issues(&self, repo: &RepoPath, limit: u32) -> ForgeResult<Vec<GithubIssue>> {
        let path = format!(
            "{}/issues?state=opened&order_by=updated_at&sort=desc&per_page={limit}",
            Self::project(repo)
        );
        let issues: Vec<Issue> = self.rest.get(&path).await?;
        Ok(issues.into_iter().map(Issue::into_dto).collect())
    }

    async fn issue(&self, repo: &RepoPath, number: i64) -> ForgeResult<GithubIssue> {
        let path = format!("{}/issues/{number}", Self::project(repo));
        Ok(self.rest.get::<Issue>(&path).await?.into_dto())
    }

    async fn pulls(&self, repo: &RepoPath, limit: u32) -> ForgeResult<Vec<GithubPull>> {
        let path = format!(
            "{}/merge_requests?state=opened&order_by=updated_at&sort=desc&per_page={limit}",
            Self::project(repo)
        );
        let mrs: Vec<MergeRequest> = self.rest.get(&path).await?;
        Ok(mrs.into_iter().map(MergeRequest::into_dto).collect())
    }

    async fn pull(&self, repo: &RepoPath, number: i64) -> ForgeResult<FoundPull> {
        let mr: MergeRequest = self.rest.get(&Self::mr(repo, number)).await?;
        let from_fork = mr.source_project_id != mr.target_project_id;
        Ok(FoundPull { pr: mr.to_task_pr(), from_fork })
    }

    async fn create_pull(&self, repo: &RepoPath, new: &NewPull) -> ForgeResult<PullRequest> {
        let body = json!({
            "source_branch": new.head, "target_branch": new.base,
            "title": new.title, "description": new.body,
        });
        let path = format!("{}/merge_requests", Self::project(repo));
        match self.rest.send_json::<MergeRequest, _>(Method::POST, &path, &body).await {
            Ok(mr) => Ok(mr.to_task_pr()),
            // GitLab's 409: "Another open merge request already exists for this source branch".
            Err(ForgeError::NotMergeable(m)) => Err(ForgeError::AlreadyExists(format!(
                "A merge request already exists for {}: {m}",
                new.head
            ))),
            Err(other) => Err(other),
        }
    }

    async fn merge(
        &self,
        repo: &RepoPath,
        number: i64,
        merge: &Merge,
    ) -> ForgeResult<Option<String>> {
        if merge.method == MergeMethod::Rebase {
            return Err(ForgeError::Unsupported(
                "GitLab merges with the project's own merge method; choose squash or merge".into(),
            ));
        }
        let squash = merge.method == MergeMethod::Squash;
        let mut body = json!({"squash": squash});
        // GitLab has one message field per kind of commit; the title is its first line.
        let message = match (&merge.title, &merge.message) {
            (Some(t), Some(m)) => Some(format!("{t}\n\n{m}")),
            (Some(t), None) => Some(t.clone()),
            (None, Some(m)) => Some(m.clone()),
            (None, None) => None,
        };
        if let Some(message) = message {
            let field = if squash { "squash_commit_message" } else { "merge_commit_message" };
            body[field] = message.into();
        }
        let path = format!("{}/merge", Self::mr(repo, number));
        let mr: MergeRequest = self.rest.send_json(Method::PUT, &path, &body).await?;
        Ok(mr.to_task_pr().merge_sha)
    }

    async fn set_open(&self, repo: &RepoPath, number: i64, open: bool) -> ForgeResult<PullRequest> {
        let body = json!({"state_event": if open { "reopen" } else { "close" }});
        let mr: MergeRequest =
            self.rest.send_json(Method::PUT, &Self::mr(repo, number), &body).await?;
        Ok(mr.to_task_pr())
    }

    async fn comments(&self, repo: &RepoPath, number: i64) -> ForgeResult<Vec<PrComment>> {
        let path =
            format!("{}/notes?sort=asc&order_by=created_at&per_page=100", Self::mr(repo, number));
        let notes: Vec<Note> = self.rest.get_all(&path, MAX_PAGES).await?;
        let page = format!("{}/{}/-/merge_requests/{number}", self.web, repo.as_str());
        Ok(notes
            .into_iter()
            // System notes are GitLab's own ("added 1 commit"), not anyone's comment.
            .filter(|n| !n.system)
            .map(|n| PrComment {
                id: n.id,
                kind: if n.kind.as_deref() == Some("DiffNote") {
                    CommentKind::Review
                } else {
                    CommentKind::Issue
                },
                user_avatar_url: n.author.as_ref().and_then(|a| a.avatar_url.clone()),
                user_login: n.author.map(|a| a.username),
                body: n.body,
                path: n.position.and_then(|p| p.new_path),
                html_url: format!("{page}#note_{}", n.id),
                created_at: n.created_at,
            })
            .collect())
    }

    async fn checks(&self, repo: &RepoPath, branch: &str) -> ForgeResult<TaskChecks> {
        let path = format!("{}/repository/branches/{}", Self::project(repo), segment(branch));
        let head: Branch = match self.rest.get(&path).await {
            Err(ForgeError::NotFound) => {
                return Ok(TaskChecks { head_sha: None, check_runs: Vec::new() })
            }
            other => other?,
        };
        let sha = head.commit.id;
        let path =
            format!("{}/repository/commits/{sha}/statuses?per_page=100", Self::project(repo));
        let statuses: Vec<Status> = self.rest.get(&path).await?;
        Ok(TaskChecks {
            head_sha: Some(sha),
            check_runs: statuses.into_iter().map(Status::into_dto).collect(),
        })
    }
}
