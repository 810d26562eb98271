//! One function per API endpoint the SPA uses, typed with the `shared` DTOs.

use gloo_net::http::Method;
use shared::agents::{AgentInfo, KeyProvider, KeyStatus, PutKey};
use shared::auth::{AuthMethods, LocalLogin, Me, SetupRequest};
use shared::changes::{Changes, FileDiff};
use shared::connectors::{Connector, ConnectorPreset, CreateConnector, UpdateConnector};
use shared::events::TaskEvent;
use shared::git_hosts::{GitCredential, PutGitCredential};
use shared::github::{
    CreatePullRequest, GithubCommit, GithubIssue, GithubOwner, GithubPull, GithubRepo,
    MergePullRequest, PrComment, PullRequest, TaskChecks, TaskFromGithub,
};
use shared::page::Page;
use shared::preview::{DevServer, PreviewLink};
use shared::tasks::{CreateMessage, CreateTask, Quota, Task, TaskMessage, TaskStatus};
use shared::terminal::TerminalToken;
use shared::tokens::{ApiToken, CreateToken, CreatedToken};
use uuid::Uuid;

use super::client::{call, call_empty, get};
use super::error::ApiError;
use crate::util::encode_component as enc;

/// `GET /auth/methods`.
pub async fn auth_methods() -> Result<AuthMethods, ApiError> {
    get("/auth/methods").await
}

/// `POST /auth/login`.
pub async fn login(body: &LocalLogin) -> Result<Me, ApiError> {
    call(Method::POST, "/auth/login", Some(body)).await
}

/// `POST /auth/setup`.
pub async fn setup(body: &SetupRequest) -> Result<Me, ApiError> {
    call(Method::POST, "/auth/setup", Some(body)).await
}

/// `POST /auth/logout`, revoking the GitHub token at GitHub too when asked.
pub async fn logout(revoke_github: bool) -> Result<(), ApiError> {
    let path = if revoke_github { "/auth/logout?revoke_github=true" } else { "/auth/logout" };
    call_empty::<()>(Method::POST, path, None).await
}

/// `DELETE /me/identities/{provider}`, revoking the token at the provider when asked.
pub async fn disconnect_identity(provider: &str, revoke: bool) -> Result<(), ApiError> {
    let path = format!("/me/identities/{provider}?revoke={revoke}");
    call_empty::<()>(Method::DELETE, &path, None).await
}

/// `GET /me`.
pub async fn me() -> Result<Me, ApiError> {
    get("/me").await
}

/// `GET /me/quota`.
pub async fn quota() -> Result<Quota, ApiError> {
    get("/me/quota").await
}

/// `GET /me/tokens`.
pub async fn tokens() -> Result<Vec<ApiToken>, ApiError> {
    Ok(get::<Page<ApiToken>>("/me/tokens").await?.items)
}

/// `POST /me/tokens`.
pub async fn create_token(body: &CreateToken) -> Result<CreatedToken, ApiError> {
    call(Method::POST, "/me/tokens", Some(body)).await
}

/// `DELETE /me/tokens/{id}`.
pub async fn revoke_token(id: Uuid) -> Result<(), ApiError> {
    call_empty::<()>(Method::DELETE, &format!("/me/tokens/{id}"), None).await
}

/// `GET /agents`: the catalogue, each agent's models with the default first.
pub async fn agents() -> Result<Vec<AgentInfo>, ApiError> {
    get("/agents").await
}

/// `GET /capabilities`: optional features of this server.
pub async fn capabilities() -> Result<shared::capabilities::Capabilities, ApiError> {
    get("/capabilities").await
}

/// `GET /me/keys`.
pub async fn keys() -> Result<Vec<KeyStatus>, ApiError> {
    get("/me/keys").await
}

/// `PUT /me/keys/{provider}`.
pub async fn set_key(provider: KeyProvider, body: &PutKey) -> Result<(), ApiError> {
    call_empty(Method::PUT, &format!("/me/keys/{}", provider.as_str()), Some(body)).await
}

/// `DELETE /me/keys/{provider}`.
pub async fn delete_key(provider: KeyProvider) -> Result<(), ApiError> {
    call_empty::<()>(Method::DELETE, &format!("/me/keys/{}", provider.as_str()), None).await
}

/// `GET /me/git-credentials`.
pub async fn git_credentials() -> Result<Vec<GitCredential>, ApiError> {
    get("/me/git-credentials").await
}

/// `PUT /me/git-credentials/{host}`.
pub async fn put_git_credential(
    host: &str,
    body: &PutGitCredential,
) -> Result<GitCredential, ApiError> {
    call(Method::PUT, &format!("/me/git-credentials/{}", enc(host)), Some(body)).await
}

/// `DELETE /me/git-credentials/{host}`.
pub async fn delete_git_credential(host: &str) -> Result<(), ApiError> {
    call_empty::<()>(Method::DELETE, &format!("/me/git-credentials/{}", enc(host)), None).await
}

/// `GET /connectors`.
pub async fn connectors() -> Result<Vec<Connector>, ApiError> {
    get("/connectors").await
}

/// `GET /connectors/presets`: ready-made connectors and the secrets each needs.
pub async fn connector_presets() -> Result<Vec<ConnectorPreset>, ApiError> {
    get("/connectors/presets").await
}

/// `POST /connectors`.
pub async fn create_connector(body: &CreateConnector) -> Result<(), ApiError> {
    call_empty(Method::POST, "/connectors", Some(body)).await
}

/// `PATCH /connectors/{id}` (used to switch one on or off).
pub async fn update_connector(id: Uuid, body: &UpdateConnector) -> Result<(), ApiError> {
    call_empty(Method::PATCH, &format!("/connectors/{id}"), Some(body)).await
}

/// `DELETE /connectors/{id}`.
pub async fn delete_connector(id: Uuid) -> Result<(), ApiError> {
    call_empty::<()>(Method::DELETE, &format!("/connectors/{id}"), None).await
}

/// `POST /github/repos`: a new repository (from a template when the body names one).
pub async fn create_github_repo(
    body: &shared::github::CreateRepo,
) -> Result<shared::github::GithubRepo, ApiError> {
    call(Method::POST, "/github/repos", Some(body)).await
}

/// `GET /github/owners`: the user and their organisations (422 without a GitHub token).
pub async fn github_owners() -> Result<Vec<GithubOwner>, ApiError> {
    Ok(get::<Page<GithubOwner>>("/github/owners").await?.items)
}

/// The path of `GET /github/repos?owner=&q=&cursor=` (empty parameters left out).
pub fn github_repos_path(owner: &str, q: &str, cursor: Option<&str>) -> String {
    let mut parts = vec![format!("owner={}", enc(owner))];
    let q = q.trim();
    if !q.is_empty() {
        parts.push(format!("q={}", enc(q)));
    }
    if let Some(c) = cursor {
        parts.push(format!("cursor={}", enc(c)));
    }
    format!("/github/repos?{}", parts.join("&"))
}

/// `GET /github/repos?owner=&q=&cursor=`: one page of an owner's repositories.
pub async fn github_repos(
    owner: &str,
    q: &str,
    cursor: Option<&str>,
) -> Result<Page<GithubRepo>, ApiError> {
    get(&github_repos_path(owner, q, cursor)).await
}

/// Filters of `GET /tasks`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskQuery {
    /// Page size.
    pub limit: Option<u32>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
    /// Only these statuses.
    pub status: Vec<TaskStatus>,
}

impl TaskQuery {
    /// The query string, starting with `?` when not empty.
    pub fn to_query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(l) = self.limit {
            parts.push(format!("limit={l}"));
        }
        if let Some(c) = &self.cursor {
            parts.push(format!("cursor={}", enc(c)));
        }
        if !self.status.is_empty() {
            let s: Vec<&str> = self.status.iter().map(|s| s.as_str()).collect();
            parts.push(format!("status={}", s.join(",")));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

/// `GET /tasks`.
pub async fn tasks(q: &TaskQuery) -> Result<Page<Task>, ApiError> {
    get(&format!("/tasks{}", q.to_query())).await
}

/// `POST /tasks`.
pub async fn create_task(body: &CreateTask) -> Result<Task, ApiError> {
    call(Method::POST, "/tasks", Some(body)).await
}

/// `GET /tasks/{id}`.
pub async fn task(id: Uuid) -> Result<Task, ApiError> {
    get(&format!("/tasks/{id}")).await
}

/// `DELETE /tasks/{id}`.
pub async fn delete_task(id: Uuid) -> Result<(), ApiError> {
    call_empty::<()>(Method::DELETE, &format!("/tasks/{id}"), None).await
}

/// `DELETE /tasks?status=...`: deletes every task of the caller in those statuses.
pub async fn delete_tasks_by_status(status: &[TaskStatus]) -> Result<(), ApiError> {
    let s: Vec<&str> = status.iter().map(|s| s.as_str()).collect();
    call_empty::<()>(Method::DELETE, &format!("/tasks?status={}", s.join(",")), None).await
}

/// `POST /tasks/{id}/stop`.
pub async fn stop_task(id: Uuid) -> Result<(), ApiError> {
    call_empty::<()>(Method::POST, &format!("/tasks/{id}/stop"), None).await
}

/// `GET /tasks/{id}/dev-server`.
pub async fn dev_server(id: Uuid) -> Result<DevServer, ApiError> {
    get(&format!("/tasks/{id}/dev-server")).await
}

/// `POST /tasks/{id}/dev-server/{start|restart|stop}`.
pub async fn dev_server_action(id: Uuid, action: &str) -> Result<DevServer, ApiError> {
    call::<(), _>(Method::POST, &format!("/tasks/{id}/dev-server/{action}"), None).await
}

/// `POST /tasks/{id}/preview`: a one-time link to the preview.
pub async fn preview_link(id: Uuid) -> Result<PreviewLink, ApiError> {
    call::<(), _>(Method::POST, &format!("/tasks/{id}/preview"), None).await
}

/// `GET /tasks/{id}/messages`.
pub async fn messages(id: Uuid) -> Result<Vec<TaskMessage>, ApiError> {
    Ok(get::<Page<TaskMessage>>(&format!("/tasks/{id}/messages")).await?.items)
}

/// `POST /tasks/{id}/messages`: a follow-up, which starts a new run.
pub async fn send_message(id: Uuid, body: &CreateMessage) -> Result<(), ApiError> {
    call_empty(Method::POST, &format!("/tasks/{id}/messages"), Some(body)).await
}

/// `GET /tasks/{id}/events?after=&limit=`.
pub async fn events(id: Uuid, after: i64, limit: u32) -> Result<Vec<TaskEvent>, ApiError> {
    let path = format!("/tasks/{id}/events?after={after}&limit={limit}");
    Ok(get::<Page<TaskEvent>>(&path).await?.items)
}

/// `GET /tasks/{id}/changes`.
pub async fn changes(id: Uuid) -> Result<Changes, ApiError> {
    get(&format!("/tasks/{id}/changes")).await
}

/// `GET /tasks/{id}/diff?path=`: the file's unified diff, computed by the server.
pub async fn diff(id: Uuid, path: &str) -> Result<FileDiff, ApiError> {
    get(&format!("/tasks/{id}/diff?path={}", enc(path))).await
}

/// `GET /tasks/{id}/forge`: the task's forge, and its words ("pull request", "merge request").
pub async fn task_forge(id: Uuid) -> Result<shared::forges::TaskForge, ApiError> {
    get(&format!("/tasks/{id}/forge")).await
}

/// `GET /tasks/{id}/pull-request`; `None` when there is none yet (404).
pub async fn pull_request(id: Uuid) -> Result<Option<PullRequest>, ApiError> {
    match get(&format!("/tasks/{id}/pull-request")).await {
        Ok(pr) => Ok(Some(pr)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// `POST /tasks/{id}/pull-request`.
pub async fn create_pull_request(
    id: Uuid,
    body: &CreatePullRequest,
) -> Result<PullRequest, ApiError> {
    call(Method::POST, &format!("/tasks/{id}/pull-request"), Some(body)).await
}

/// `POST /tasks/{id}/pull-request/merge`.
pub async fn merge_pull_request(
    id: Uuid,
    body: &MergePullRequest,
) -> Result<PullRequest, ApiError> {
    call(Method::POST, &format!("/tasks/{id}/pull-request/merge"), Some(body)).await
}

/// `POST /tasks/{id}/pull-request/close`, or `/reopen` when `open`.
pub async fn set_pull_request_open(id: Uuid, open: bool) -> Result<PullRequest, ApiError> {
    let action = if open { "reopen" } else { "close" };
    call::<(), _>(Method::POST, &format!("/tasks/{id}/pull-request/{action}"), None).await
}

/// `GET /tasks/{id}/pull-request/comments`: issue and review comments, oldest first.
pub async fn pr_comments(id: Uuid) -> Result<Vec<PrComment>, ApiError> {
    let path = format!("/tasks/{id}/pull-request/comments");
    Ok(get::<Page<PrComment>>(&path).await?.items)
}

/// What the repository page lists, and the task each item can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoList {
    /// Open issues: a task that resolves one.
    Issues,
    /// Open pull requests: a task on the pull request's branch.
    Pulls,
    /// Recent commits: a task that reverts one.
    Commits,
}

fn repo_path(owner: &str, repo: &str) -> String {
    format!("/github/repos/{}/{}", enc(owner), enc(repo))
}

/// `GET /github/repos/{owner}/{repo}`: one repository (its task URL and default branch).
pub async fn github_repo(owner: &str, repo: &str) -> Result<GithubRepo, ApiError> {
    get(&repo_path(owner, repo)).await
}

/// `GET /tasks/{id}/checks`: the check runs of the task branch's head commit.
pub async fn task_checks(id: Uuid) -> Result<TaskChecks, ApiError> {
    get(&format!("/tasks/{id}/checks")).await
}

/// `POST /auth/invite`: a local account from an invitation.
pub async fn accept_invite(body: &shared::auth::AcceptInvite) -> Result<Me, ApiError> {
    call(Method::POST, "/auth/invite", Some(body)).await
}

/// `GET /admin/users`.
pub async fn admin_users() -> Result<Vec<shared::admin::ManagedUser>, ApiError> {
    Ok(get::<Page<shared::admin::ManagedUser>>("/admin/users").await?.items)
}

/// `PATCH /admin/users/{id}`.
pub async fn admin_update_user(
    id: Uuid,
    body: &shared::admin::UpdateUser,
) -> Result<shared::admin::ManagedUser, ApiError> {
    call(Method::PATCH, &format!("/admin/users/{id}"), Some(body)).await
}

/// `GET /admin/users/{id}/limits`.
pub async fn admin_user_limits(id: Uuid) -> Result<shared::agents::UserLimits, ApiError> {
    get(&format!("/admin/users/{id}/limits")).await
}

/// `PUT /admin/users/{id}/limits`.
pub async fn admin_set_user_limits(
    id: Uuid,
    body: &shared::agents::UserLimits,
) -> Result<shared::agents::UserLimits, ApiError> {
    call(Method::PUT, &format!("/admin/users/{id}/limits"), Some(body)).await
}

/// `GET /admin/invites`.
pub async fn admin_invites() -> Result<Vec<shared::admin::Invite>, ApiError> {
    Ok(get::<Page<shared::admin::Invite>>("/admin/invites").await?.items)
}

/// `POST /admin/invites`.
pub async fn admin_create_invite(
    body: &shared::admin::CreateInvite,
) -> Result<shared::admin::CreatedInvite, ApiError> {
    call(Method::POST, "/admin/invites", Some(body)).await
}

/// `DELETE /admin/invites/{id}`.
pub async fn admin_revoke_invite(id: Uuid) -> Result<(), ApiError> {
    call_empty::<()>(Method::DELETE, &format!("/admin/invites/{id}"), None).await
}

/// `GET /sandboxes`: the caller's live sandboxes.
pub async fn sandboxes() -> Result<Vec<shared::sandboxes::SandboxSummary>, ApiError> {
    Ok(get::<Page<shared::sandboxes::SandboxSummary>>("/sandboxes").await?.items)
}

/// `GET /tasks/{id}/sandbox`.
pub async fn task_sandbox(id: Uuid) -> Result<shared::sandboxes::TaskSandbox, ApiError> {
    get(&format!("/tasks/{id}/sandbox")).await
}

/// `POST /tasks/{id}/sandbox/{start|stop|extend}`.
pub async fn sandbox_action(
    id: Uuid,
    action: &str,
) -> Result<shared::sandboxes::TaskSandbox, ApiError> {
    let body = shared::sandboxes::ExtendSandbox::default();
    let path = format!("/tasks/{id}/sandbox/{action}");
    if action == "extend" {
        call(Method::POST, &path, Some(&body)).await
    } else {
        call::<(), _>(Method::POST, &path, None).await
    }
}

/// `POST /tasks/{id}/run/extend`: more time for the running agent (the server's default).
pub async fn extend_run(id: Uuid) -> Result<shared::tasks::RunDeadline, ApiError> {
    let body = shared::tasks::ExtendRun::default();
    call(Method::POST, &format!("/tasks/{id}/run/extend"), Some(&body)).await
}

/// `POST /tasks/{id}/terminal/token`: a one-time token for opening the terminal's WebSocket.
pub async fn terminal_token(id: Uuid) -> Result<TerminalToken, ApiError> {
    call::<(), _>(Method::POST, &format!("/tasks/{id}/terminal/token"), None).await
}

// ---- The sidebar's Repos tab and the repository browser on any forge ----

/// Where a browsed repository lives: GitHub (the `/github` routes) or a forge host of the
/// user's credentials (the `/forges/{host}` routes, the repository as a `path` query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoSource {
    /// The configured GitHub: `owner/name`.
    Github {
        /// Owner login.
        owner: String,
        /// Repository name.
        repo: String,
    },
    /// A GitLab or Gitea host (`host` or `host:port`) and the project's path.
    Forge {
        /// The forge's host.
        host: String,
        /// `owner/name`, or `group/sub/name` on GitLab.
        path: String,
    },
}

impl RepoSource {
    /// `owner/name` (or the GitLab path) as the page titles it.
    pub fn label(&self) -> String {
        match self {
            Self::Github { owner, repo } => format!("{owner}/{repo}"),
            Self::Forge { path, .. } => path.clone(),
        }
    }

    /// The API path of `tail` (`""`, `/issues`, `/pulls/3/close`…) under this repository.
    pub fn path(&self, tail: &str) -> String {
        match self {
            Self::Github { owner, repo } => format!("{}{tail}", repo_path(owner, repo)),
            Self::Forge { host, path } => {
                format!("/forges/{}/repo{tail}?path={}", enc(host), enc(path))
            }
        }
    }
}

/// The path of `GET /github/repos?q=&cursor=` over every repository the user can push to, or
/// `GET /forges/{host}/repos?...` on another forge.
pub fn user_repos_path(host: Option<&str>, q: &str, cursor: Option<&str>) -> String {
    let mut parts = Vec::new();
    let q = q.trim();
    if !q.is_empty() {
        parts.push(format!("q={}", enc(q)));
    }
    if let Some(c) = cursor {
        parts.push(format!("cursor={}", enc(c)));
    }
    let base = match host {
        None => "/github/repos".to_owned(),
        Some(h) => format!("/forges/{}/repos", enc(h)),
    };
    if parts.is_empty() {
        base
    } else {
        format!("{base}?{}", parts.join("&"))
    }
}

/// One page of the user's repositories on GitHub (`host` `None`) or on a forge host.
pub async fn user_repos(
    host: Option<&str>,
    q: &str,
    cursor: Option<&str>,
) -> Result<Page<GithubRepo>, ApiError> {
    get(&user_repos_path(host, q, cursor)).await
}

/// Follows `next_cursor` from `first` (a path without a cursor) for at most `pages` pages.
async fn all_pages<T: serde::de::DeserializeOwned>(
    first: &str,
    pages: usize,
) -> Result<Vec<T>, ApiError> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..pages {
        let path = match &cursor {
            None => first.to_owned(),
            Some(c) => {
                let sep = if first.contains('?') { '&' } else { '?' };
                format!("{first}{sep}cursor={}", enc(c))
            }
        };
        let page: Page<T> = get(&path).await?;
        items.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(items)
}

/// `GET /me/repos`: every repository of the caller's tasks with its task count (ten pages of
/// a hundred at most).
pub async fn my_repos() -> Result<Vec<shared::repos::RepoTasks>, ApiError> {
    all_pages("/me/repos", 10).await
}

/// `GET /me/task-links?repo_url=`: the repository's forge items that have a task of the
/// caller, newest task first.
pub async fn task_links(repo_url: &str) -> Result<Vec<shared::repos::TaskLink>, ApiError> {
    all_pages(&format!("/me/task-links?repo_url={}", enc(repo_url)), 10).await
}

/// One repository (its `repo_url`), on GitHub or a forge.
pub async fn source_repo(source: &RepoSource) -> Result<GithubRepo, ApiError> {
    get(&source.path("")).await
}

/// The open issues of a repository.
pub async fn source_issues(source: &RepoSource) -> Result<Vec<GithubIssue>, ApiError> {
    Ok(get::<Page<GithubIssue>>(&source.path("/issues")).await?.items)
}

/// The open pull or merge requests of a repository.
pub async fn source_pulls(source: &RepoSource) -> Result<Vec<GithubPull>, ApiError> {
    Ok(get::<Page<GithubPull>>(&source.path("/pulls")).await?.items)
}

/// The recent commits of a repository.
pub async fn source_commits(source: &RepoSource) -> Result<Vec<GithubCommit>, ApiError> {
    Ok(get::<Page<GithubCommit>>(&source.path("/commits")).await?.items)
}

/// `POST .../pulls/{number}/close`: closes a listed pull or merge request.
pub async fn close_pull(source: &RepoSource, number: i64) -> Result<PullRequest, ApiError> {
    call::<(), _>(Method::POST, &source.path(&format!("/pulls/{number}/close")), None).await
}

/// Creates a task from an issue, a pull or merge request or a commit of a repository.
pub async fn task_from_source(
    source: &RepoSource,
    list: RepoList,
    item: &str,
    body: &TaskFromGithub,
) -> Result<Task, ApiError> {
    let tail = match list {
        RepoList::Issues => format!("/issues/{}/task", enc(item)),
        RepoList::Pulls => format!("/pulls/{}/task", enc(item)),
        RepoList::Commits => format!("/commits/{}/revert-task", enc(item)),
    };
    call(Method::POST, &source.path(&tail), Some(body)).await
}

// ---------------------------------------------------------------------------------------------
// The repository picker on any forge: the configured GitHub through `/github/...`, every other
// host the user stored a forge token for through `/forges/{host}/...` (same shapes).

/// Where the repository picker lists from (a host; [`RepoSource`] is one repository).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickerSource {
    /// The configured GitHub (`/github/owners`, `/github/repos`).
    Github,
    /// A forge host with a stored token (`host` or `host:port`, as the credential names it).
    Forge(String),
}

/// The owners (the user, then their organisations or groups) on `source`.
pub async fn picker_owners(source: PickerSource) -> Result<Vec<GithubOwner>, ApiError> {
    match source {
        PickerSource::Github => github_owners().await,
        PickerSource::Forge(host) => {
            Ok(get::<Page<GithubOwner>>(&format!("/forges/{host}/owners")).await?.items)
        }
    }
}

/// The path of `GET /forges/{host}/repos?owner=&q=&cursor=` (empty parameters left out). The
/// host is a credential's normalised key (letters, digits, dots, dashes and a port), so it
/// goes into the path as it is.
pub fn forge_repos_path(host: &str, owner: &str, q: &str, cursor: Option<&str>) -> String {
    let query = github_repos_path(owner, q, cursor);
    let query = query.trim_start_matches("/github/repos");
    format!("/forges/{host}/repos{query}")
}

/// One page of an owner's repositories on `source`, searched by name.
pub async fn picker_repos(
    source: &PickerSource,
    owner: &str,
    q: &str,
    cursor: Option<&str>,
) -> Result<Page<GithubRepo>, ApiError> {
    match source {
        PickerSource::Github => github_repos(owner, q, cursor).await,
        PickerSource::Forge(host) => get(&forge_repos_path(host, owner, q, cursor)).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repos_path_encodes_and_skips_empty_parameters() {
        assert_eq!(github_repos_path("acme", "  ", None), "/github/repos?owner=acme");
        assert_eq!(
            github_repos_path("acme", "my repo", Some("c/2")),
            "/github/repos?owner=acme&q=my%20repo&cursor=c%2F2"
        );
    }

    #[test]
    fn repository_sources_name_their_routes() {
        let gh = RepoSource::Github { owner: "o".into(), repo: "r.js".into() };
        assert_eq!(gh.path("/pulls/3/close"), "/github/repos/o/r.js/pulls/3/close");
        let gl = RepoSource::Forge { host: "gl.example:8443".into(), path: "g/s/app".into() };
        assert_eq!(gl.path("/issues"), "/forges/gl.example%3A8443/repo/issues?path=g%2Fs%2Fapp");
        assert_eq!(gl.label(), "g/s/app");
        assert_eq!(user_repos_path(None, " ", None), "/github/repos");
        assert_eq!(
            user_repos_path(Some("h"), "a b", Some("2")),
            "/forges/h/repos?q=a%20b&cursor=2"
        );
    }

    #[test]
    fn forge_repos_paths_keep_the_host_and_encode_group_owners() {
        assert_eq!(
            forge_repos_path("127.0.0.1:8443", "team/sub", "app", Some("2")),
            "/forges/127.0.0.1:8443/repos?owner=team%2Fsub&q=app&cursor=2"
        );
    }
}
