//! Opening a task's repository for reading: the live sandbox's clone, or a fresh clone of the
//! pushed branch in a temporary directory.

use std::path::{Path, PathBuf};

use sandbox::git::{CloneRequest, ClonedRepo, Credentials, Git};
use sandbox::Sandbox;
use shared::changes::ChangesSource;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tasks::model::TaskRow;

/// A readable checkout of the task's work.
pub struct RepoView {
    /// The checkout.
    pub repo: ClonedRepo,
    /// Where it came from.
    pub source: ChangesSource,
    /// Keeps a temporary clone alive while it is read.
    _temp: Option<tempfile::TempDir>,
}

fn git(state: &AppState) -> Git {
    Git::new()
        .allow_local(state.settings.tasks.allow_local_repos)
        .allow_http(state.settings.github.api_url.starts_with("http://"))
}

async fn plain_git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = tokio::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .await
        .ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

async fn base_commit(dir: &Path, base: Option<&str>) -> Option<String> {
    let base = base?;
    plain_git(dir, &["merge-base", "HEAD", &format!("refs/remotes/origin/{base}")]).await
}

/// Opens the task's repository, or 404 when the task has no branch yet.
pub async fn open(state: &AppState, task: &TaskRow) -> ApiResult<RepoView> {
    let Some(branch) = task.branch_name.clone() else {
        return Err(ApiError::Conflict(
            "The task has no branch yet; its changes appear once the repository is cloned.".into(),
        ));
    };
    if let Some(id) = &task.sandbox_id {
        let backend = state.settings.sandbox_backend().map_err(ApiError::Internal)?;
        if let Ok(handle) = backend.open(id).await {
            if let Some(dir) =
                handle.host_workspace.map(|w| w.join("repo")).filter(|d| d.join(".git").is_dir())
            {
                let base_commit = base_commit(&dir, task.base_branch.as_deref()).await;
                let repo = ClonedRepo {
                    dir,
                    url: task.repo_url.clone(),
                    base_branch: task.base_branch.clone(),
                    base_commit,
                    branch,
                    object_format: "sha1".into(),
                };
                return Ok(RepoView { repo, source: ChangesSource::Sandbox, _temp: None });
            }
        }
    }
    let temp = tempfile::tempdir().map_err(|e| ApiError::Internal(e.into()))?;
    let dest: PathBuf = temp.path().join("repo");
    let token = github_token(state, task).await;
    let cloned = git(state)
        .clone_repo(&CloneRequest {
            url: task.repo_url.clone(),
            dest: dest.clone(),
            credentials: token.map(Credentials::token),
            base_branch: Some(branch.clone()),
            branch: format!("{branch}-view"),
        })
        .await
        .map_err(|e| ApiError::Conflict(format!("The pushed branch could not be read: {e}")))?;
    let base_commit = base_commit(&dest, task.base_branch.as_deref()).await;
    let repo = ClonedRepo { base_commit, base_branch: task.base_branch.clone(), branch, ..cloned };
    Ok(RepoView { repo, source: ChangesSource::Branch, _temp: Some(temp) })
}

async fn github_token(state: &AppState, task: &TaskRow) -> Option<String> {
    use secrecy::ExposeSecret;
    if crate::tasks::validate::is_local(&task.repo_url) {
        return None;
    }
    let mut conn = state.pool.get().await.ok()?;
    let identity =
        crate::accounts::model::identity(&mut conn, task.user_id, "github").await.ok()??;
    let token = state.secrets.open(identity.access_token_enc.as_deref()?).ok()?;
    Some(token.expose_secret().to_owned())
}

/// The git runner used for reading.
pub fn reader(state: &AppState) -> Git {
    git(state)
}
