//! GitHub operations shared by the HTTP endpoints and the forge adapter: building the user's
//! client, branch paths, and tearing down a merged task's sandbox.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::client::GithubClient;
use crate::config::Settings;
use crate::crypto::SecretBox;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::tasks::model::TaskRow;

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

/// Percent-encodes each segment of a branch name, keeping its slashes.
pub fn branch_path(branch: &str) -> String {
    branch
        .split('/')
        .map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>())
        .collect::<Vec<_>>()
        .join("/")
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
