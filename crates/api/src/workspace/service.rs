//! Opening a task's live working tree and running one file operation on it.

use std::path::PathBuf;

use sandbox::workspace::{Beneath, EditError};
use sandbox::SandboxHandle;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tasks::model::TaskRow;

/// The caller's task (404 for anyone else's).
pub async fn owned(
    state: &AppState,
    user: &crate::auth::CurrentUser,
    id: uuid::Uuid,
) -> ApiResult<TaskRow> {
    Ok(crate::tasks::model::owned(&mut *state.conn().await?, user.id, id).await?)
}

/// What an operation is for: reading works during a run, changing does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// List or read.
    Read,
    /// Create, save, move, copy, delete.
    Change,
}

/// The task's live sandbox and its repository directory on the host; 409 without one, and
/// for [`Access::Change`] while a run is active.
pub async fn live_sandbox(
    state: &AppState,
    task: &TaskRow,
    access: Access,
) -> ApiResult<(SandboxHandle, PathBuf)> {
    let no_sandbox = || {
        ApiError::Conflict(format!(
            "The task has no live sandbox: start it first (POST /api/v1/tasks/{}/sandbox/start); \
             the pushed branch can be read through /files and /file.",
            task.id
        ))
    };
    let handle =
        crate::sandboxes::service::live_handle(state, task).await?.ok_or_else(no_sandbox)?;
    if access == Access::Change && !task.status().is_terminal() {
        return Err(ApiError::Conflict(
            "A run is active in the sandbox; change files when it has finished.".into(),
        ));
    }
    let repo = handle.host_workspace.as_ref().map(|w| w.join("repo")).ok_or_else(no_sandbox)?;
    Ok((handle, repo))
}

/// The repository directory of the task's live sandbox on the host (see [`live_sandbox`]).
pub async fn live_repo(state: &AppState, task: &TaskRow, access: Access) -> ApiResult<PathBuf> {
    Ok(live_sandbox(state, task, access).await?.1)
}

/// Runs `op` on the tree at `repo` on a blocking thread, mapping refusals to the field
/// `field` (or 404 and 409).
pub async fn on_tree<T: Send + 'static>(
    repo: PathBuf,
    field: &'static str,
    op: impl FnOnce(&Beneath) -> Result<T, EditError> + Send + 'static,
) -> ApiResult<T> {
    let done = tokio::task::spawn_blocking(move || Beneath::open(&repo).and_then(|fs| op(&fs)))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    done.map_err(|e| refusal(e, field))
}

fn refusal(err: EditError, field: &str) -> ApiError {
    match err {
        EditError::Invalid(reason) => ApiError::invalid(field, reason),
        EditError::TooLarge { path, limit } => ApiError::invalid(
            field,
            format!("{path} is larger than {limit} bytes, the most the editor opens"),
        ),
        EditError::NotFound(_) => ApiError::NotFound,
        EditError::Exists(path) => ApiError::Conflict(format!("{path} already exists.")),
        err @ EditError::Io { .. } => ApiError::Internal(err.into()),
    }
}

/// Checks a path lexically and refuses `.git` for changes: git's own files are changed only
/// by git (sync, reset), never edited.
pub fn checked(field: &str, path: &str, access: Access) -> ApiResult<String> {
    let clean = sandbox::files::validate_relative(path)
        .map_err(|e| ApiError::invalid(field, reason_of(e)))?;
    if access == Access::Change
        && clean.components().next().is_some_and(|c| c.as_os_str() == ".git")
    {
        return Err(ApiError::invalid(field, "the repository's .git is changed only by git"));
    }
    Ok(clean.to_string_lossy().into_owned())
}

fn reason_of(err: sandbox::SandboxError) -> String {
    match err {
        sandbox::SandboxError::InvalidPath { reason, .. } => reason,
        other => other.to_string(),
    }
}
