//! GitHub operations shared by the HTTP endpoints and the worker: building the user's client,
//! opening a task's pull request, and tearing down a merged task's sandbox.

use diesel_async::AsyncPgConnection;
use reqwest::Method;
use serde_json::json;
use shared::github::{CreatePullRequest, PullRequest};
use uuid::Uuid;

use super::client::{GithubClient, GithubError};
use super::model;
use super::remote::RepoRef;
use super::wire;
use crate::config::Settings;
use crate::crypto::SecretBox;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tasks::model::TaskRow;

/// Longest pull request title GitHub accepts comfortably.
const TITLE_MAX: usize = 256;

/// The user's client, built from their sealed token: the OAuth token, else a GitHub personal
/// access token stored for the configured GitHub host ([`crate::git_credentials::github_token`]).
pub async fn client_for(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    secrets: &SecretBox,
    http: reqwest::Client,
    user_id: Uuid,
) -> ApiResult<GithubClient> {
    let token = crate::git_credentials::github_token(conn, settings, secrets, user_id).await?;
    Ok(GithubClient::new(http, &settings.github.api_url, token))
}

/// [`client_for`] from the request state.
pub async fn client(state: &AppState, user_id: Uuid) -> ApiResult<GithubClient> {
    let mut conn = state.conn().await?;
    client_for(&mut conn, &state.settings, &state.secrets, state.http.clone(), user_id).await
}

/// GitHub's 404 on a task's repository: the task exists, so a 404 would mislead.
pub fn in_task(err: GithubError, repo: &RepoRef) -> ApiError {
    match err {
        GithubError::NotFound => ApiError::Unprocessable(format!(
            "GitHub has no {} (or no such pull request or branch), or your GitHub token cannot see it.",
            repo.full_name()
        )),
        other => other.into(),
    }
}

/// The API path of a pull request.
pub fn pull_path(repo: &RepoRef, number: i64) -> String {
    format!("{}/pulls/{number}", repo.api_path())
}

/// Percent-encodes each segment of a branch name, keeping its slashes.
pub fn branch_path(branch: &str) -> String {
    branch
        .split('/')
        .map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>())
        .collect::<Vec<_>>()
        .join("/")
}

/// Fetches the pull request and records its state on the task.
pub async fn sync_pr(
    gh: &GithubClient,
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    repo: &RepoRef,
    number: i64,
) -> ApiResult<PullRequest> {
    let pull: wire::Pull = gh.get(&pull_path(repo, number)).await.map_err(|e| in_task(e, repo))?;
    let pr = pull.to_task_pr();
    model::save_pr(conn, task_id, &pr).await?;
    Ok(pr)
}

/// Opens the task's pull request from its branch; when it already has one, returns that one
/// refreshed. The flag says whether it was created now.
pub async fn open_pr(
    gh: &GithubClient,
    conn: &mut AsyncPgConnection,
    task: &TaskRow,
    repo: &RepoRef,
    input: CreatePullRequest,
) -> ApiResult<(PullRequest, bool)> {
    if let Some(number) = task.pr_number() {
        return Ok((sync_pr(gh, conn, task.id, repo, number).await?, false));
    }
    let head = task.branch_name.clone().ok_or_else(|| {
        ApiError::Unprocessable("The task has no branch yet; wait for its run to push one.".into())
    })?;
    let base = match input.base.or_else(|| task.base_branch.clone()) {
        Some(base) => base,
        None => {
            let found: wire::Repo = gh.get(&repo.api_path()).await.map_err(|e| in_task(e, repo))?;
            found.default_branch.unwrap_or_else(|| "main".into())
        }
    };
    let title: String =
        input.title.filter(|t| !t.trim().is_empty()).unwrap_or_else(|| task.title.clone());
    let title: String = title.chars().take(TITLE_MAX).collect();
    let body = match input.body {
        Some(body) => body,
        None => {
            model::last_agent_message(conn, task.id).await?.unwrap_or_else(|| task.prompt.clone())
        }
    };
    let pull: wire::Pull = gh
        .send_json(
            Method::POST,
            &format!("{}/pulls", repo.api_path()),
            &json!({"title": title, "body": body, "head": head, "base": base}),
        )
        .await
        .map_err(|e| in_task(e, repo))?;
    let pr = pull.to_task_pr();
    model::save_pr(conn, task.id, &pr).await?;
    tracing::info!(task_id = %task.id, number = pr.number, repo = %repo.full_name(), "pull request opened");
    Ok((pr, true))
}

/// Destroys the task's kept-alive sandbox, if it has one: a merged task is finished. Best
/// effort: the sandbox's own expiry (and the backend's gc) reclaim it if destroying fails here.
pub async fn tear_down_sandbox(state: &AppState, task: &TaskRow) {
    let Some(id) = task.sandbox_id.as_deref() else { return };
    match crate::sandboxes::destroy(&*state.sandbox, &state.pool, id, "its pull request was merged")
        .await
    {
        Ok(()) => {
            tracing::info!(task_id = %task.id, sandbox = %id, "sandbox destroyed after merge")
        }
        Err(e) => {
            tracing::warn!(task_id = %task.id, sandbox = %id, error = %e, "destroying the sandbox after merge failed")
        }
    }
}
