//! Forges behind one trait: GitHub (an adapter over [`crate::github::client`]), GitLab (REST
//! v4) and Gitea/Forgejo (API v1). The repository picker and browser
//! (`/api/v1/forges/{host}/...`) and a task's pull or merge request (`/api/v1/tasks/{id}/...`)
//! are written once, against [`Forge`].
//!
//! A forge client is built from a [`ForgeAccess`]: the kind, the API URL and the user's token
//! for one host. The token is sent only to that API URL (pagination is by page number, never
//! by a URL the forge hands back), and only server-side.

pub mod access;
pub mod endpoints;
mod error;
mod gitea;
pub(crate) mod github;
mod gitlab;
pub mod pulls;
mod repo_pulls;
mod rest;
pub mod service;
mod tasks_from;

use async_trait::async_trait;
use secrecy::SecretString;
use shared::github::{
    GithubCommit, GithubIssue, GithubOwner, GithubPull, GithubRepo, MergeMethod, PrComment,
    PullRequest, TaskChecks,
};
use url::Url;

pub use error::{ForgeError, ForgeResult};
/// The kind of a forge (the wire enum; the API uses it as is).
pub use shared::git_hosts::ForgeKind;

/// What a forge client acts with: one host's API and the user's token for it.
#[derive(Clone)]
pub struct ForgeAccess {
    /// Which API the host speaks.
    pub kind: ForgeKind,
    /// The API base, e.g. `https://gitlab.example/api/v4` or `https://git.example/api/v1`.
    pub api_url: Url,
    /// The host's web base, e.g. `https://gitlab.example` (where repository URLs live).
    pub web_url: Url,
    /// The user's personal access token for this host.
    pub token: SecretString,
}

impl std::fmt::Debug for ForgeAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("ForgeAccess")
            .field("kind", &self.kind)
            .field("api_url", &self.api_url.as_str())
            .finish_non_exhaustive()
    }
}

impl ForgeAccess {
    /// Access with the web base derived from the API URL: `/api/v4` (GitLab), `/api/v1`
    /// (Gitea) or `/api/v3` (GitHub Enterprise) stripped; `api.github.com` is `github.com`.
    pub fn new(kind: ForgeKind, api_url: Url, token: SecretString) -> Self {
        let web_url = web_url_of(kind, &api_url);
        Self { kind, api_url, web_url, token }
    }

    /// `host` or `host:port` (the port only when it is not the scheme's default).
    pub fn host(&self) -> String {
        host_key(&self.web_url).unwrap_or_default()
    }
}

fn web_url_of(kind: ForgeKind, api: &Url) -> Url {
    let mut web = api.clone();
    if kind == ForgeKind::Github && api.host_str() == Some("api.github.com") {
        return Url::parse("https://github.com").unwrap_or(web);
    }
    // GitHub Enterprise serves REST under `/api/v3`; an API URL given as just `/api` (the
    // root some proxies and the tests' fake use) has its site one level up all the same.
    let suffixes: &[&str] = match kind {
        ForgeKind::Gitlab => &["/api/v4"],
        ForgeKind::Gitea => &["/api/v1"],
        ForgeKind::Github => &["/api/v3", "/api"],
    };
    let path = api.path().trim_end_matches('/');
    let path = suffixes.iter().find_map(|s| path.strip_suffix(s)).unwrap_or(path);
    web.set_path(path);
    web.set_query(None);
    web
}

/// `host` or `host:port` of a URL, lower-cased; the key credentials are stored under.
pub fn host_key(url: &Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// A repository's path on its forge: `owner/name`, or `group/sub/name` on GitLab. Every
/// segment is a name the forges allow, so it cannot reshape an API path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoPath(String);

impl RepoPath {
    /// Parses `owner/name` (GitHub, Gitea: exactly two segments) or `group/.../name` (GitLab:
    /// two to twenty), without a trailing `.git`.
    pub fn parse(kind: ForgeKind, raw: &str) -> Option<Self> {
        let raw = raw.trim_matches('/');
        let raw = raw.strip_suffix(".git").unwrap_or(raw);
        let segments: Vec<&str> = raw.split('/').collect();
        let count_ok = match kind {
            ForgeKind::Gitlab => (2..=20).contains(&segments.len()),
            ForgeKind::Github | ForgeKind::Gitea => segments.len() == 2,
        };
        (count_ok && segments.iter().all(|s| crate::github::remote::valid_name(s)))
            .then(|| Self(raw.to_owned()))
    }

    /// The whole path.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Everything before the last segment (the owner or namespace).
    pub fn owner(&self) -> &str {
        self.0.rsplit_once('/').map(|(o, _)| o).unwrap_or_default()
    }

    /// The last segment (the repository's name).
    pub fn name(&self) -> &str {
        self.0.rsplit_once('/').map(|(_, n)| n).unwrap_or(&self.0)
    }
}

/// Which repositories to list.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// An owner (user, organisation, GitLab group path); all the user can push to when absent.
    pub owner: Option<String>,
    /// Only names containing this.
    pub q: Option<String>,
    /// 1-based page.
    pub page: u32,
    /// Page size, 1 to 100.
    pub per_page: u32,
}

/// A pull or merge request to open.
#[derive(Debug, Clone)]
pub struct NewPull {
    /// Title.
    pub title: String,
    /// Description.
    pub body: String,
    /// The branch with the changes.
    pub head: String,
    /// The branch to merge into.
    pub base: String,
}

/// How to merge.
#[derive(Debug, Clone)]
pub struct Merge {
    /// Squash, merge or rebase (when the forge offers it).
    pub method: MergeMethod,
    /// The merge or squash commit's title.
    pub title: Option<String>,
    /// Its message.
    pub message: Option<String>,
}

/// A pull or merge request as one item: the task's view plus whether it comes from a fork.
#[derive(Debug, Clone)]
pub struct FoundPull {
    /// As a task records it.
    pub pr: PullRequest,
    /// Its head branch is in another repository (Drydock cannot push there).
    pub from_fork: bool,
}

/// One forge, acting as one user. Object-safe: the endpoints hold a `Box<dyn Forge>`.
///
/// Contract: a missing or invisible item is [`ForgeError::NotFound`]; a branch that is not
/// there makes [`Forge::checks`] answer no head and no runs; [`Forge::create_pull`] answers
/// [`ForgeError::AlreadyExists`] when the forge has an open one for the head branch; and
/// [`Forge::merge`] answers [`ForgeError::NotMergeable`] for conflicts and unmet rules.
#[async_trait]
pub trait Forge: Send + Sync {
    /// Which forge this is.
    fn kind(&self) -> ForgeKind;
    /// The token's user, then the organisations or groups they can create in.
    async fn owners(&self) -> ForgeResult<Vec<GithubOwner>>;
    /// A page of repositories, and whether there is a next page.
    async fn repos(&self, listing: &Listing) -> ForgeResult<(Vec<GithubRepo>, bool)>;
    /// One repository (proves the token can see it; gives the default branch).
    async fn repo(&self, repo: &RepoPath) -> ForgeResult<GithubRepo>;
    /// The most recent commits of the default branch.
    async fn commits(&self, repo: &RepoPath, limit: u32) -> ForgeResult<Vec<GithubCommit>>;
    /// One commit, by (a prefix of) its SHA.
    async fn commit(&self, repo: &RepoPath, sha: &str) -> ForgeResult<GithubCommit>;
    /// The most recently updated open issues (never pull requests).
    async fn issues(&self, repo: &RepoPath, limit: u32) -> ForgeResult<Vec<GithubIssue>>;
    /// One issue; [`ForgeError::NotFound`] for a pull request's number.
    async fn issue(&self, repo: &RepoPath, number: i64) -> ForgeResult<GithubIssue>;
    /// The most recently updated open pull or merge requests.
    async fn pulls(&self, repo: &RepoPath, limit: u32) -> ForgeResult<Vec<GithubPull>>;
    /// One pull or merge request.
    async fn pull(&self, repo: &RepoPath, number: i64) -> ForgeResult<FoundPull>;
    /// Opens one.
    async fn create_pull(&self, repo: &RepoPath, new: &NewPull) -> ForgeResult<PullRequest>;
    /// Merges one; the merge commit when the forge says it.
    async fn merge(
        &self,
        repo: &RepoPath,
        number: i64,
        merge: &Merge,
    ) -> ForgeResult<Option<String>>;
    /// Closes (`open = false`) or reopens one.
    async fn set_open(&self, repo: &RepoPath, number: i64, open: bool) -> ForgeResult<PullRequest>;
    /// Its comments (conversation and review), in any order.
    async fn comments(&self, repo: &RepoPath, number: i64) -> ForgeResult<Vec<PrComment>>;
    /// The checks or pipeline jobs of a branch's head commit.
    async fn checks(&self, repo: &RepoPath, branch: &str) -> ForgeResult<TaskChecks>;
}

/// Percent-encodes one path segment (a GitLab project path becomes one segment).
pub(crate) fn segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_urls_come_from_api_urls() {
        let web = |kind, api: &str| web_url_of(kind, &Url::parse(api).unwrap()).to_string();
        assert_eq!(web(ForgeKind::Gitlab, "https://gitlab.com/api/v4"), "https://gitlab.com/");
        assert_eq!(
            web(ForgeKind::Gitlab, "https://h.example/git/api/v4/"),
            "https://h.example/git"
        );
        assert_eq!(web(ForgeKind::Gitea, "http://127.0.0.1:9/api/v1"), "http://127.0.0.1:9/");
        assert_eq!(web(ForgeKind::Github, "https://api.github.com"), "https://github.com/");
        assert_eq!(web(ForgeKind::Github, "https://ghe.example/api/v3"), "https://ghe.example/");
        assert_eq!(web(ForgeKind::Github, "http://127.0.0.1:9/api"), "http://127.0.0.1:9/");
    }

    #[test]
    fn repo_paths_are_names_only() {
        let gl = |s| RepoPath::parse(ForgeKind::Gitlab, s).map(|p| p.0);
        assert_eq!(gl("group/sub/app.git").as_deref(), Some("group/sub/app"));
        assert_eq!(RepoPath::parse(ForgeKind::Gitlab, "a/b/c").unwrap().owner(), "a/b");
        for bad in ["app", "a/../b", "a//b", "a/b?x=1", "a/%2e%2e", "a/b c"] {
            assert_eq!(gl(bad), None, "{bad}");
        }
        assert!(RepoPath::parse(ForgeKind::Gitea, "a/b/c").is_none());
        assert!(RepoPath::parse(ForgeKind::Github, "o/r.x").is_some());
    }
}
