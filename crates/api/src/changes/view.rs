//! Opening a task's repository for reading: the live sandbox's clone, or a fresh clone of the
//! pushed branch in a temporary directory.

use std::path::PathBuf;

use sandbox::git::{CloneRequest, ClonedRepo, Credentials, Git};
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
    /// Keeps the sandbox's commands out while its live workspace is read.
    _hold: Option<sandbox::IdleHold>,
}

fn git(state: &AppState) -> Git {
    Git::new()
        .allow_local(state.settings.tasks.allow_local_repos)
        .allow_http(state.settings.github.api_url.starts_with("http://"))
}

/// Where the base branch forked, for diffs; `None` when it cannot be told.
async fn base_commit(git: &Git, repo: &ClonedRepo) -> Option<String> {
    let base = repo.base_branch.as_deref()?;
    git.merge_base(&repo.dir, base).await.ok().flatten()
}

/// Opens the task's repository, or 404 when the task has no branch yet.
pub async fn open(state: &AppState, task: &TaskRow) -> ApiResult<RepoView> {
    let Some(branch) = task.branch_name.clone() else {
        return Err(ApiError::Conflict(
            "The task has no branch yet; its changes appear once the repository is cloned.".into(),
        ));
    };
    // The live workspace is read only while no sandbox code runs there (no run, no terminal, no
    // dev server, as the backend knows across processes), and the hold keeps new commands out
    // until the read is done: running code could swap what the host is about to read. Otherwise
    // the pushed branch, cloned into a directory Drydock owns, is read instead.
    let live = task.sandbox_id.as_ref().filter(|_| task.status().is_terminal());
    if let Some(id) = live {
        let opened = state.sandbox.open(id).await.ok();
        let held = match &opened {
            Some(handle) => state.sandbox.hold_idle(handle).await.ok().flatten(),
            None => None,
        };
        if let (Some(handle), Some(hold)) = (opened, held) {
            if let Some(dir) =
                handle.host_workspace.map(|w| w.join("repo")).filter(|d| d.join(".git").is_dir())
            {
                let mut repo = ClonedRepo {
                    dir,
                    url: task.repo_url.clone(),
                    base_branch: task.base_branch.clone(),
                    base_commit: None,
                    branch,
                    object_format: "sha1".into(),
                };
                repo.base_commit = base_commit(&git(state), &repo).await;
                return Ok(RepoView {
                    repo,
                    source: ChangesSource::Sandbox,
                    _temp: None,
                    _hold: Some(hold),
                });
            }
        }
    }
    let temp = tempfile::tempdir().map_err(|e| ApiError::Internal(e.into()))?;
    let dest: PathBuf = temp.path().join("repo");
    let cloned = git(state)
        .clone_repo(&CloneRequest {
            url: task.repo_url.clone(),
            dest: dest.clone(),
            credentials: git_credentials(state, task).await,
            base_branch: Some(branch.clone()),
            branch: format!("{branch}-view"),
        })
        .await
        .map_err(|e| ApiError::Conflict(format!("The pushed branch could not be read: {e}")))?;
    let mut repo =
        ClonedRepo { base_commit: None, base_branch: task.base_branch.clone(), branch, ..cloned };
    repo.base_commit = base_commit(&git(state), &repo).await;
    Ok(RepoView { repo, source: ChangesSource::Branch, _temp: Some(temp), _hold: None })
}

/// The credentials host git reads and writes the task's repository with: the login for
/// exactly the repository's host (the GitHub token only for the configured GitHub host), never
/// another host's; `None` to go anonymously.
pub(crate) async fn git_credentials(state: &AppState, task: &TaskRow) -> Option<Credentials> {
    use secrecy::ExposeSecret;
    let mut conn = state.pool.get().await.ok()?;
    let login = crate::git_credentials::git_token(
        &mut conn,
        &state.settings,
        &state.secrets,
        task.user_id,
        &task.repo_url,
    )
    .await
    .ok()??;
    Some(Credentials {
        username: login.username.to_owned(),
        token: login.token.expose_secret().to_owned(),
    })
}

/// The git runner used for reading.
pub fn reader(state: &AppState) -> Git {
    git(state)
}
