//! A task's pull or merge request on any forge: the use cases the endpoints and the worker's
//! automatic pull request share.

use diesel_async::AsyncPgConnection;
use shared::github::{CreatePullRequest, PullRequest};
use uuid::Uuid;

use super::{Forge, ForgeError, NewPull, RepoPath};
use crate::error::{ApiError, ApiResult};
use crate::github::model;
use crate::tasks::model::TaskRow;

/// Longest title the forges accept comfortably.
const TITLE_MAX: usize = 255;

/// A forge failure met on a task's repository: a 404 there would say the task is missing, so
/// it becomes a 422 naming the repository.
pub fn in_task(forge: &dyn Forge, err: ForgeError, repo: &RepoPath) -> ApiError {
    let kind = forge.kind();
    match err {
        ForgeError::NotFound => ApiError::Unprocessable(format!(
            "{} has no {} (or no such {} or branch), or your {} token cannot see it.",
            kind.label(),
            repo.as_str(),
            kind.request_noun(),
            kind.label(),
        )),
        other => other.into_api(kind),
    }
}

/// Fetches the task's pull or merge request and records its state on the task.
pub async fn sync_pr(
    forge: &dyn Forge,
    conn: &mut AsyncPgConnection,
    task_id: Uuid,
    repo: &RepoPath,
    number: i64,
) -> ApiResult<PullRequest> {
    let found = forge.pull(repo, number).await.map_err(|e| in_task(forge, e, repo))?;
    model::save_pr(conn, task_id, &found.pr).await?;
    Ok(found.pr)
}

/// Opens the task's pull or merge request from its branch; when it has one already, returns
/// that one refreshed. The flag says whether it was created now.
pub async fn open_pr(
    forge: &dyn Forge,
    conn: &mut AsyncPgConnection,
    task: &TaskRow,
    repo: &RepoPath,
    input: CreatePullRequest,
) -> ApiResult<(PullRequest, bool)> {
    if let Some(number) = task.pr_number() {
        return Ok((sync_pr(forge, conn, task.id, repo, number).await?, false));
    }
    let head = task.branch_name.clone().ok_or_else(|| {
        ApiError::Unprocessable("The task has no branch yet; wait for its run to push one.".into())
    })?;
    let base = match input.base.or_else(|| task.base_branch.clone()) {
        Some(base) => base,
        None => forge.repo(repo).await.map_err(|e| in_task(forge, e, repo))?.default_branch,
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
    let new = NewPull { title, body, head, base };
    let pr = forge.create_pull(repo, &new).await.map_err(|e| in_task(forge, e, repo))?;
    model::save_pr(conn, task.id, &pr).await?;
    tracing::info!(task_id = %task.id, number = pr.number, repo = %repo.as_str(), forge = forge.kind().label(), "pull request opened");
    Ok((pr, true))
}
