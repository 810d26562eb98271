//! GitHub behind [`Forge`]: today's client ([`GithubClient`]) and its wire types, unchanged.

use async_trait::async_trait;
use reqwest::Method;
use serde_json::json;
use shared::github::{
    CommentKind, GithubCommit, GithubIssue, GithubOwner, GithubPull, GithubRepo, MergeMethod,
    OwnerKind, PrComment, PullRequest, TaskChecks,
};

use super::{
    Forge, ForgeError, ForgeKind, ForgeResult, FoundPull, Listing, Merge, NewPull, RepoPath,
};
use crate::github::client::{GithubClient, GithubError};
use crate::github::service::branch_path;
use crate::github::wire;

/// Organisation and comment pages read at most (100 per page).
const MAX_PAGES: usize = 10;

/// GitHub as a forge.
pub struct GithubForge {
    gh: GithubClient,
    web: String,
}

impl GithubForge {
    /// Over `gh`, with repository URLs under `web`.
    pub fn new(gh: GithubClient, web: &str) -> Self {
        Self { gh, web: web.trim_end_matches('/').to_owned() }
    }

    fn path(repo: &RepoPath) -> String {
        format!("/repos/{}", repo.as_str())
    }

    async fn login(&self) -> ForgeResult<String> {
        Ok(self.gh.get::<wire::Account>("/user").await?.login)
    }
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[async_trait]
impl Forge for GithubForge {
    fn kind(&self) -> ForgeKind {
        ForgeKind::Github
    }

    async fn owners(&self) -> ForgeResult<Vec<GithubOwner>> {
        let me: wire::Account = self.gh.get("/user").await?;
        let mut owners = vec![me.owner(OwnerKind::User)];
        let orgs: Vec<wire::Account> =
            self.gh.get_all("/user/orgs?per_page=100", MAX_PAGES).await?;
        owners.extend(orgs.into_iter().map(|o| o.owner(OwnerKind::Organization)));
        Ok(owners)
    }

    async fn repos(&self, listing: &Listing) -> ForgeResult<(Vec<GithubRepo>, bool)> {
        let paging = format!("per_page={}&page={}", listing.per_page, listing.page);
        let (repos, next): (Vec<wire::Repo>, Option<String>) = match (&listing.q, &listing.owner) {
            (Some(q), owner) => {
                let owner = match owner {
                    Some(o) => o.clone(),
                    None => self.login().await?,
                };
                let terms = format!("{q} in:name user:{owner} fork:true");
                let (found, next): (wire::RepoSearch, _) = self
                    .gh
                    .get_page(&format!("/search/repositories?q={}&sort=updated&{paging}", encode(&terms)))
                    .await?;
                (found.items, next)
            }
            (None, None) => {
                self.gh
                    .get_page(&format!(
                        "/user/repos?sort=updated&affiliation=owner,collaborator,organization_member&{paging}"
                    ))
                    .await?
            }
            (None, Some(owner)) if owner.eq_ignore_ascii_case(&self.login().await?) => {
                self.gh.get_page(&format!("/user/repos?sort=updated&affiliation=owner&{paging}")).await?
            }
            (None, Some(owner)) => {
                match self.gh.get_page(&format!("/orgs/{owner}/repos?sort=updated&{paging}")).await {
                    Err(GithubError::NotFound) => {
                        self.gh.get_page(&format!("/users/{owner}/repos?sort=updated&{paging}")).await?
                    }
                    other => other?,
                }
            }
        };
        Ok((repos.into_iter().map(|r| r.into_dto(&self.web)).collect(), next.is_some()))
    }

    async fn repo(&self, repo: &RepoPath) -> ForgeResult<GithubRepo> {
        let found: wire::Repo = self.gh.get(&Self::path(repo)).await?;
        Ok(found.into_dto(&self.web))
    }

    async fn commits(&self, repo: &RepoPath, limit: u32) -> ForgeResult<Vec<GithubCommit>> {
        let commits: Vec<wire::Commit> =
            self.gh.get(&format!("{}/commits?per_page={limit}", Self::path(repo))).await?;
        Ok(commits.into_iter().map(wire::Commit::into_dto).collect())
    }

    async fn commit(&self, repo: &RepoPath, sha: &str) -> ForgeResult<GithubCommit> {
        let commit: wire::Commit =
            self.gh.get(&format!("{}/commits/{sha}", Self::path(repo))).await?;
        Ok(commit.into_dto())
    }

    async fn issues(&self, repo: &RepoPath, limit: u32) -> ForgeResult<Vec<GithubIssue>> {
        let issues: Vec<wire::Issue> = self
            .gh
            .get(&format!("{}/issues?state=open&sort=updated&per_page={limit}", Self::path(repo)))
            .await?;
        Ok(issues
            .into_iter()
            .filter(|i| i.pull_request.is_none())
            .map(wire::Issue::into_dto)
            .collect())
    }

    async fn issue(&self, repo: &RepoPath, number: i64) -> ForgeResult<GithubIssue> {
        let issue: wire::Issue =
            self.gh.get(&format!("{}/issues/{number}", Self::path(repo))).await?;
        if issue.pull_request.is_some() {
            return Err(ForgeError::NotFound);
        }
        Ok(issue.into_dto())
    }

    async fn pulls(&self, repo: &RepoPath, limit: u32) -> ForgeResult<Vec<GithubPull>> {
        let pulls: Vec<wire::Pull> = self
            .gh
            .get(&format!(
                "{}/pulls?state=open&sort=updated&direction=desc&per_page={limit}",
                Self::path(repo)
            ))
            .await?;
        Ok(pulls.into_iter().map(wire::Pull::into_dto).collect())
    }

    async fn pull(&self, repo: &RepoPath, number: i64) -> ForgeResult<FoundPull> {
        let pull: wire::Pull = self.gh.get(&format!("{}/pulls/{number}", Self::path(repo))).await?;
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
        let pull: wire::Pull =
            self.gh.send_json(Method::POST, &format!("{}/pulls", Self::path(repo)), &body).await?;
        Ok(pull.to_task_pr())
    }

    async fn merge(
        &self,
        repo: &RepoPath,
        number: i64,
        merge: &Merge,
    ) -> ForgeResult<Option<String>> {
        let method = match merge.method {
            MergeMethod::Squash => "squash",
            MergeMethod::Merge => "merge",
            MergeMethod::Rebase => "rebase",
        };
        let mut request = json!({"merge_method": method});
        if let Some(title) = &merge.title {
            request["commit_title"] = title.clone().into();
        }
        if let Some(message) = &merge.message {
            request["commit_message"] = message.clone().into();
        }
        let path = format!("{}/pulls/{number}/merge", Self::path(repo));
        let merged: wire::MergeResult = self.gh.send_json(Method::PUT, &path, &request).await?;
        if !merged.merged {
            return Err(ForgeError::NotMergeable(
                merged.message.unwrap_or_else(|| "GitHub did not merge it".into()),
            ));
        }
        Ok(merged.sha)
    }

    async fn set_open(&self, repo: &RepoPath, number: i64, open: bool) -> ForgeResult<PullRequest> {
        let pull: wire::Pull = self
            .gh
            .send_json(
                Method::PATCH,
                &format!("{}/pulls/{number}", Self::path(repo)),
                &json!({"state": if open { "open" } else { "closed" }}),
            )
            .await?;
        Ok(pull.to_task_pr())
    }

    async fn comments(&self, repo: &RepoPath, number: i64) -> ForgeResult<Vec<PrComment>> {
        let base = Self::path(repo);
        let issue: Vec<wire::Comment> = self
            .gh
            .get_all(&format!("{base}/issues/{number}/comments?per_page=100"), MAX_PAGES)
            .await?;
        let review: Vec<wire::Comment> = self
            .gh
            .get_all(&format!("{base}/pulls/{number}/comments?per_page=100"), MAX_PAGES)
            .await?;
        Ok(issue
            .into_iter()
            .map(|c| c.into_dto(CommentKind::Issue))
            .chain(review.into_iter().map(|c| c.into_dto(CommentKind::Review)))
            .collect())
    }

    async fn checks(&self, repo: &RepoPath, branch: &str) -> ForgeResult<TaskChecks> {
        let base = Self::path(repo);
        let head: wire::GitRef =
            match self.gh.get(&format!("{base}/git/ref/heads/{}", branch_path(branch))).await {
                Err(GithubError::NotFound) => {
                    return Ok(TaskChecks { head_sha: None, check_runs: Vec::new() })
                }
                other => other?,
            };
        let sha = head.object.sha;
        let runs: wire::CheckRuns =
            self.gh.get(&format!("{base}/commits/{sha}/check-runs?per_page=100")).await?;
        Ok(TaskChecks {
            head_sha: Some(sha),
            check_runs: runs.check_runs.into_iter().map(wire::Check::into_dto).collect(),
        })
    }
}
