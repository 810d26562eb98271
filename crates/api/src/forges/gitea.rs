//! Gitea and Forgejo (API v1): GitHub-like shapes under `/repos/{owner}/{name}`, `limit`
//! instead of `per_page`, merges with `Do`, commit statuses as checks.

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

/// Organisation, comment and review pages read at most (50 per page, Gitea's usual maximum).
const MAX_PAGES: u32 = 10;

/// A Gitea or Forgejo client.
pub struct Gitea {
    rest: Rest,
    web: String,
}

impl Gitea {
    /// Over `rest`, with repository URLs under `web`.
    pub fn new(rest: Rest, web: &str) -> Self {
        Self { rest, web: web.trim_end_matches('/').to_owned() }
    }

    fn path(repo: &RepoPath) -> String {
        format!("/repos/{}/{}", segment(repo.owner()), segment(repo.name()))
    }

    async fn me(&self) -> ForgeResult<User> {
        self.rest.get("/user").await
    }
}

#[derive(Deserialize)]
struct User {
    #[serde(default)]
    id: i64,
    login: String,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    avatar_url: Option<String>,
}

#[derive(Deserialize)]
struct Org {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    avatar_url: Option<String>,
}

#[derive(Deserialize)]
struct Owner {
    login: String,
}

#[derive(Deserialize)]
struct Repo {
    name: String,
    full_name: String,
    owner: Owner,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    private: bool,
    #[serde(default)]
    default_branch: Option<String>,
    html_url: String,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
}

impl Repo {
    fn into_dto(self, web: &str) -> GithubRepo {
        GithubRepo {
            repo_url: format!("{web}/{}.git", self.full_name),
            owner: self.owner.login,
            name: self.name,
            full_name: self.full_name,
            description: self.description.filter(|d| !d.is_empty()),
            private: self.private,
            default_branch: self.default_branch.unwrap_or_else(|| "main".into()),
            html_url: self.html_url,
            language: self.language.filter(|l| !l.is_empty()),
            updated_at: self.updated_at,
        }
    }
}

/// `GET /repos/search`.
#[derive(Deserialize)]
struct Search {
    #[serde(default)]
    data: Vec<Repo>,
}

#[derive(Deserialize)]
struct Label {
    name: String,
}

#[derive(Deserialize)]
struct Issue {
    number: i64,
    title: String,
    #[serde(default)]
    body: Option<String>,
    state: String,
    #[serde(default)]
    user: Option<Account>,
    #[serde(default)]
    labels: Vec<Label>,
    html_url: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

impl Issue {
    fn into_dto(self) -> GithubIssue {
        GithubIssue {
            number: self.number,
            title: self.title,
            body: self.body.filter(|b| !b.is_empty()),
            state: self.state,
            user_login: self.user.map(|u| u.login),
            labels: self.labels.into_iter().map(|l| l.name).collect(),
            html_url: self.html_url,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[derive(Deserialize)]
struct Account {
    login: String,
    #[serde(default)]
    avatar_url: Option<String>,
}

#[derive(Deserialize)]
struct BranchRef {
    #[serde(rename = "ref")]
    name: String,
    #[serde(default)]
    repo: Option<BranchRepo>,
}

#[derive(Deserialize)]
struct BranchRepo {
    full_name: String,
}

#[derive(Deserialize)]
struct Pull {
    number: i64,
    title: String,
    #[serde(default)]
    body: Option<String>,
    state: String,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    merged: bool,
    #[serde(default)]
    mergeable: Option<bool>,
    #[serde(default)]
    merge_commit_sha: Option<String>,
    head: BranchRef,
    base: BranchRef,
    #[serde(default)]
    user: Option<Account>,
    html_url: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Pull {
    fn to_task_pr(&self) -> PullRequest {
        let status = if self.merged {
            PrStatus::Merged
        } else if self.state == "closed" {
            PrStatus::Closed
        } else {
            PrStatus::Open
        };
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

    fn into_dto(self) -> GithubPull {
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

#[derive(Deserialize)]
struct Commit {
    sha: String,
    commit: CommitDetail,
    #[serde(default)]
    author: Option<Account>,
    html_url: String,
}

#[derive(Deserialize)]
struct CommitDetail {
    message: String,
    #[serde(default)]
    author: Option<GitAuthor>,
}

#[derive(Deserialize)]
struct GitAuthor {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    date: Option<DateTime<Utc>>,
}

impl Commit {
    fn into_dto(self) -> GithubCommit {
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

#[derive(Deserialize)]
struct Comment {
    id: i64,
    #[serde(default)]
    body: String,
    #[serde(default)]
    user: Option<Account>,
    #[serde(default)]
    path: Option<String>,
    html_url: String,
    created_at: DateTime<Utc>,
}

impl Comment {
    fn into_dto(self, kind: CommentKind) -> PrComment {
        PrComment {
            id: self.id,
            kind,
            user_avatar_url: self.user.as_ref().and_then(|u| u.avatar_url.clone()),
            user_login: self.user.map(|u| u.login),
            body: self.body,
            path: self.path.filter(|p| !p.is_empty()),
            html_url: self.html_url,
            created_at: self.created_at,
        }
    }
}

#[derive(Deserialize)]
struct Review {
    id: i64,
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
    context: String,
    status: String,
    #[serde(default)]
    target_url: Option<String>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
}

impl Status {
    fn into_dto(self) -> CheckRun {
        let conclusion = match self.status.as_str() {
            "success" => Some("success"),
            "failure" | "error" => Some("failure"),
            "warning" => Some("neutral"),
            _ => None,
        };
        let done = conclusion.is_some();
        CheckRun {
            id: self.id,
            name: self.context,
            status: if done { "completed" } else { "in_progress" }.into(),
            conclusion: conclusion.map(str::to_owned),
            html_url: self.target_url.filter(|u| !u.is_empty()),
            started_at: self.created_at,
            completed_at: if done { self.updated_at } else { None },
        }
    }
}

fn query(q: &str) -> String {
    url::form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

#[async_trait]
impl Forge for Gitea {
    fn kind(&self) -> ForgeKind {
        ForgeKind::Gitea
    }

    async fn owners(&self) -> ForgeResult<Vec<GithubOwner>> {
        let me = self.me().await?;
        let mut owners = vec![GithubOwner {
            login: me.login,
            kind: OwnerKind::User,
            name: me.full_name.filter(|n| !n.is_empty()),
            avatar_url: me.avatar_url,
        }];
        let orgs: Vec<Org> = self.rest.get_all("/user/orgs?limit=50", MAX_PAGES).await?;
        owners.extend(orgs.into_iter().filter_map(|o| {
            Some(GithubOwner {
                login: o.name.or(o.username)?,
                kind: OwnerKind::Organization,
                name: o.full_name.filter(|n| !n.is_empty()),
                avatar_url: o.avatar_url,
            })
        }));
        Ok(owners)
    }

    async fn repos(&self, listing: &Listing) -> ForgeResult<(Vec<GithubRepo>, bool)> {
        let paging = format!("limit={}&page={}", listing.per_page, listing.page);
        let (repos, more): (Vec<Repo>, bool) = match (&listing.q, &listing.owner) {
            (Some(q), owner) => {
                // The search filters by owner id: the user's own, or the named owner's alone.
                let (uid, exclusive) = match owner {
                    None => (self.me().await?.id, false),
                    Some(o) => {
                        (self.rest.get::<User>(&format!("/users/{}", segment(o))).await?.id, true)
                    }
                };
                let path = format!(
                    "/repos/search?q={}&uid={uid}&exclusive={exclusive}&sort=updated&order=desc&{paging}",
                    query(q)
                );
                let (found, more): (Search, bool) = self.rest.get_page(&path).await?;
                (found.data, more)
            }
            (None, None) => self.rest.get_page(&format!("/user/repos?{paging}")).await?,
            (None, Some(owner)) => {
                match self.rest.get_page(&format!("/orgs/{}/repos?{paging}", segment(owner))).await
                {
                    Err(ForgeError::NotFound) => {
                        self.rest
                            .get_page(&format!("/users/{}/repos?{paging}", segment(owner)))
                            .await?
                    }
                    other => other?,
                }
            }
        };
        Ok((repos.into_iter().map(|r| r.into_dto(&self.web)).collect(), more))
    }

    async fn repo(&self, repo: &RepoPath) -> ForgeResult<GithubRepo> {
        Ok(self.rest.get::<Repo>(&Self::path(repo)).await?.into_dto(&self.web))
    }

    async fn commits(&self, repo: &RepoPath, limit: u32) -> ForgeResult<Vec<GithubCommit>> {
        let path = format!("{}/commits?limit={limit}&stat=false", Self::path(repo));
        let commits: Vec<Commit> = self.rest.get(&path).await?;
        Ok(commits.into_iter().map(Commit::into_dto).collect())
    }

    async fn commit(&self, repo: &RepoPath, sha: &str) -> ForgeResult<GithubCommit> {
        let path = format!("{}/git/commits/{}", Self::path(repo), segment(sha));
        Ok(self.rest.get::<Commit>(&path).await?.into_dto())
    }

    async fn issues(&self, repo: &RepoPath, limit: u32) -> ForgeResult<Vec<GithubIssue>> {
        let path = format!("{}/issues?state=open&type=issues&limit={limit}", Self::path(repo));
        let issues: Vec<Issue> = self.rest.get(&path).await?;
        Ok(issues.into_iter().filter(|i| i.pull_request.is_none()).map(Issue::into_dto).collect())
    }

    async fn issue(&self, repo: &RepoPath, number: i64) -> ForgeResult<GithubIssue> {
        let issue: Issue = self.rest.get(&format!("{}/issues/{number}", Self::path(repo))).await?;
        if issue.pull_request.is_some() {
            return Err(ForgeError::NotFound);
        }
        Ok(issue.into_dto())
    }

    async fn pulls(&self, repo: &RepoPath, limit: u32) -> ForgeResult<Vec<GithubPull>> {
        let path = format!("{}/pulls?state=open&sort=recentupdate&limit={limit}", Self::path(repo));
        let pulls: Vec<Pull> = self.rest.get(&path).await?;
        Ok(pulls.into_iter().map(Pull::into_dto).collect())
    }

    async fn pull(&self, repo: &RepoPath, number: i64) -> ForgeResult<FoundPull> {
        let pull: Pull = self.rest.get(&format!("{}/pulls/{number}", Self::path(repo))).await?;
        let from_fork = !pull
            .head
            .repo
            .as_ref()
            .is_some_and(|r| r.full_name.eq_ignore_ascii_case(repo.as_str()));
        Ok(FoundPull { pr: pull.to_task_pr(), from_fork })
    }

    async fn create_pull(&self, repo: &RepoPath, new: &NewPull) -> ForgeResult<PullRequest> {
        let body =
            json!({"title": new.title, "body": new.body, "head": new.head, "base": new.base});
        let path = format!("{}/pulls", Self::path(repo));
        match self.rest.send_json::<Pull, _>(Method::POST, &path, &body).await {
            Ok(pull) => Ok(pull.to_task_pr()),
            // Gitea's 409: "pull request already exists for these targets".
            Err(ForgeError::NotMergeable(m)) => Err(ForgeError::AlreadyExists(format!(
                "A pull request already exists for {}: {m}",
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
        let how = match merge.method {
            MergeMethod::Squash => "squash",
            MergeMethod::Merge => "merge",
            MergeMethod::Rebase => "rebase",
        };
        let mut body = json!({"Do": how});
        if let Some(title) = &merge.title {
            body["MergeTitleField"] = title.clone().into();
        }
        if let Some(message) = &merge.message {
            body["MergeMessageField"] = message.clone().into();
        }
        let path = format!("{}/pulls/{number}/merge", Self::path(repo));
        self.rest.send_only(Method::POST, &path, &body).await?;
        // Gitea answers the merge with an empty body: the merge commit is on the pull.
        Ok(self.pull(repo, number).await?.pr.merge_sha)
    }

    async fn set_open(&self, repo: &RepoPath, number: i64, open: bool) -> ForgeResult<PullRequest> {
        let body = json!({"state": if open { "open" } else { "closed" }});
        let pull: Pull = self
            .rest
            .send_json(Method::PATCH, &format!("{}/pulls/{number}", Self::path(repo)), &body)
            .await?;
        Ok(pull.to_task_pr())
    }

    async fn comments(&self, repo: &RepoPath, number: i64) -> ForgeResult<Vec<PrComment>> {
        let base = Self::path(repo);
        let issue: Vec<Comment> = self
            .rest
            .get_all(&format!("{base}/issues/{number}/comments?limit=50"), MAX_PAGES)
            .await?;
        let mut items: Vec<PrComment> =
            issue.into_iter().map(|c| c.into_dto(CommentKind::Issue)).collect();
        let reviews: Vec<Review> = self
            .rest
            .get_all(&format!("{base}/pulls/{number}/reviews?limit=50"), MAX_PAGES)
            .await?;
        for review in reviews {
            let path = format!("{base}/pulls/{number}/reviews/{}/comments", review.id);
            let comments: Vec<Comment> = self.rest.get(&path).await?;
            items.extend(comments.into_iter().map(|c| c.into_dto(CommentKind::Review)));
        }
        Ok(items)
    }

    async fn checks(&self, repo: &RepoPath, branch: &str) -> ForgeResult<TaskChecks> {
        let base = Self::path(repo);
        let head: Branch =
            match self.rest.get(&format!("{base}/branches/{}", segment(branch))).await {
                Err(ForgeError::NotFound) => {
                    return Ok(TaskChecks { head_sha: None, check_runs: Vec::new() })
                }
                other => other?,
            };
        let sha = head.commit.id;
        let statuses: Vec<Status> =
            self.rest.get(&format!("{base}/commits/{sha}/statuses?limit=50")).await?;
        Ok(TaskChecks {
            head_sha: Some(sha),
            check_runs: statuses.into_iter().map(Status::into_dto).collect(),
        })
    }
}
