//! Stage 2: the repository in the sandbox's workspace, on the task branch. Git runs on the host
//! (see `sandbox::git`) so the token reaches only the git processes Drydock runs, never the
//! agent.

use std::path::Path;

use sandbox::git::{CloneRequest, ClonedRepo};
use shared::tasks::TaskStage;

use super::provision::Provisioned;
use super::Turn;
use crate::worker::error::RunError;

/// Where the repository is cloned inside the sandbox workspace.
pub(crate) const REPO_DIR: &str = "repo";

/// Clones the repository for this run (a kept-alive sandbox already has it) and records the
/// branch names on the task.
pub(crate) async fn checkout(
    turn: &Turn<'_>,
    sandbox: &Provisioned,
    title: &str,
) -> Result<ClonedRepo, RunError> {
    let workspace = sandbox.handle.host_workspace.clone().ok_or_else(|| {
        RunError::internal("preparing the sandbox", anyhow::anyhow!("no host workspace"))
    })?;
    let dir = workspace.join(REPO_DIR);
    if sandbox.reused {
        return Ok(reopen(turn, &dir));
    }
    turn.run.stage(TaskStage::Cloning).await;
    let repo = clone(turn, title, &dir).await?;
    if let Some(base) = &repo.base_branch {
        turn.run.set_base_branch(base).await;
    }
    turn.run.set_branch(&repo.branch).await;
    Ok(repo)
}

/// Clones onto a new branch for the first run, or onto the task's existing branch for a
/// follow-up in a fresh sandbox (and for a task made from a pull request).
async fn clone(turn: &Turn<'_>, title: &str, dir: &Path) -> Result<ClonedRepo, RunError> {
    let task = &turn.job.task;
    let git = turn.git();
    let credentials = turn.inputs.git_credentials();
    if let Some(branch) = task.branch_name.clone() {
        let temp = format!("{branch}-drydock-resume");
        let mut repo = git
            .clone_repo(&CloneRequest {
                url: task.repo_url.clone(),
                dest: dir.to_path_buf(),
                credentials,
                base_branch: Some(branch.clone()),
                branch: temp.clone(),
            })
            .await?;
        git.adopt_branch(dir, &temp, &branch).await?;
        repo.branch = branch;
        repo.base_branch = task.base_branch.clone().or(repo.base_branch);
        return Ok(repo);
    }
    Ok(git
        .clone_repo(&CloneRequest {
            url: task.repo_url.clone(),
            dest: dir.to_path_buf(),
            credentials,
            base_branch: task.base_branch.clone(),
            branch: sandbox::git::branch_name(title),
        })
        .await?)
}

/// The clone of a kept-alive sandbox, described again from the task.
fn reopen(turn: &Turn<'_>, dir: &Path) -> ClonedRepo {
    let task = &turn.job.task;
    ClonedRepo {
        dir: dir.to_path_buf(),
        url: task.repo_url.clone(),
        base_branch: task.base_branch.clone(),
        base_commit: None,
        branch: task.branch_name.clone().unwrap_or_default(),
        object_format: "sha1".into(),
    }
}
