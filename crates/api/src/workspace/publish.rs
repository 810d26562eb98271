//! Sync (commit the manual edits and push) and reset (back to the pushed branch, keeping a
//! checkpoint to undo it).
//!
//! Both need the forge token, so their git runs on the host through `sandbox::git` (hardened,
//! the repository sanitised first), and only under the sandbox's idle hold: no sandbox code
//! runs while the host's git reads the tree, exactly as for the pipeline's publish stage. The
//! reset itself and the checkpoint are then made by git inside the sandbox (`super::git`).

use std::time::Duration;

use sandbox::git::{Author, ClonedRepo, Credentials, GitError, PUSHED_REF};
use sandbox::SandboxHandle;
use shared::agents::AgentKind;
use shared::events::{EventBody, LogLevel};
use shared::workspace::{Checkpoint, ResetResult, SyncResult};

use super::git;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tasks::model::TaskRow;
use crate::titles::{Generated, Namer};

/// Saves the tree (untracked files too) as a commit on top of HEAD under
/// `refs/drydock/checkpoints/$1`, then resets to `$2` and removes untracked files (ignored
/// ones stay). Prints the checkpoint's commit.
const RESET: &str = r#"
set -e
export GIT_INDEX_FILE="$(git rev-parse --git-dir)/drydock-checkpoint-index"
rm -f "$GIT_INDEX_FILE"
git read-tree HEAD
git add -A
TREE=$(git write-tree)
rm -f "$GIT_INDEX_FILE"
unset GIT_INDEX_FILE
C=$(git commit-tree "$TREE" -p HEAD -m "Drydock checkpoint before a reset")
git update-ref "refs/drydock/checkpoints/$1" "$C"
git reset -q --hard "$2"
git clean -fdq
echo "$C"
"#;

/// Puts the tree back as checkpoint `$1` saved it: HEAD its parent, the files as they were.
const RESTORE: &str = r#"
C=$(git rev-parse --verify -q "refs/drydock/checkpoints/$1^{commit}") || exit 3
set -e
git reset -q --hard "$C"
git reset -q "$C^"
"#;

/// Lists the checkpoints, newest first.
const LIST: &str = r#"git for-each-ref --sort=-refname --format='%(refname:lstrip=3) %(objectname)' refs/drydock/checkpoints"#;

fn repo_of(task: &TaskRow, dir: std::path::PathBuf) -> ApiResult<ClonedRepo> {
    let branch = task.branch_name.clone().ok_or_else(|| {
        ApiError::Conflict("The task has no branch yet; nothing was pushed.".into())
    })?;
    Ok(ClonedRepo {
        dir,
        url: task.repo_url.clone(),
        base_branch: task.base_branch.clone(),
        base_commit: None,
        branch,
        object_format: "sha1".into(),
    })
}

/// Holds the sandbox idle for host git, or says what keeps it busy.
async fn hold(state: &AppState, handle: &SandboxHandle) -> ApiResult<sandbox::IdleHold> {
    state.sandbox.hold_idle(handle).await.map_err(|e| ApiError::Internal(e.into()))?.ok_or_else(
        || {
            ApiError::Conflict(
                "Code runs in the sandbox (a terminal or the dev server): stop it, then try \
                 again. git on the host never runs while sandbox code can change the tree."
                    .into(),
            )
        },
    )
}

fn git_refusal(err: GitError) -> ApiError {
    match err {
        GitError::Io { .. } => ApiError::Internal(err.into()),
        // The remote's or the repository's own words (redacted by `sandbox::git`).
        other => ApiError::Conflict(other.to_string()),
    }
}

async fn credentials(state: &AppState, task: &TaskRow) -> Option<Credentials> {
    crate::changes::view::git_credentials(state, task).await
}

/// The commit subject, generated through the owner's key when `typed` is blank.
async fn message(
    state: &AppState,
    task: &TaskRow,
    typed: Option<&str>,
    files: &[String],
) -> String {
    if let Some(typed) = typed.map(str::trim).filter(|t| !t.is_empty()) {
        return typed.to_owned();
    }
    let fallback = "Manual edits".to_owned();
    let Some(kind) = AgentKind::parse(&task.agent) else { return fallback };
    let keys = match state.pool.get().await {
        Ok(mut conn) => crate::keys::opened::load(&mut conn, &state.secrets, task.user_id)
            .await
            .unwrap_or_default(),
        Err(_) => return fallback,
    };
    let tasks = &state.settings.tasks;
    let namer = Namer::new(
        keys,
        &tasks.egress_allow,
        Duration::from_millis(tasks.generation_timeout_ms),
        tasks.generate_names,
    );
    let provider = sandbox::agents::strategy_for(kind).spec().provider;
    let request = "Manual edits made by hand in the web editor.";
    match namer.commit_subject(provider, &task.title, request, None, files).await {
        Generated::Text { text, .. } => text,
        Generated::Fallback(_) => fallback,
    }
}

/// Commits every change of the live tree and pushes the task branch.
pub async fn sync(
    state: &AppState,
    handle: &SandboxHandle,
    task: &TaskRow,
    dir: std::path::PathBuf,
    typed: Option<&str>,
) -> ApiResult<SyncResult> {
    let repo = repo_of(task, dir)?;
    let _hold = hold(state, handle).await?;
    let git = crate::changes::view::reader(state);
    let files = git.stage_all(&repo).await.map_err(git_refusal)?;
    if files.is_empty() {
        return Err(ApiError::Conflict("There are no changes to sync.".into()));
    }
    let message = message(state, task, typed, &files).await;
    let tasks = &state.settings.tasks;
    let author =
        Author { name: tasks.git_author_name.clone(), email: tasks.git_author_email.clone() };
    let commit = git
        .commit_all(&repo, &message, &author)
        .await
        .map_err(git_refusal)?
        .ok_or_else(|| ApiError::Conflict("There are no changes to sync.".into()))?;
    git.push(&repo, credentials(state, task).await.as_ref()).await.map_err(git_refusal)?;
    log(
        state,
        task,
        format!(
            "Synced manual edits as {} ({message}) and pushed {}.",
            short(&commit),
            repo.branch
        ),
    )
    .await;
    Ok(SyncResult { commit, message, files })
}

/// Resets the live tree to the pushed branch after saving a checkpoint of it.
pub async fn reset(
    state: &AppState,
    handle: &SandboxHandle,
    task: &TaskRow,
    dir: std::path::PathBuf,
) -> ApiResult<ResetResult> {
    let repo = repo_of(task, dir)?;
    let head = {
        let _hold = hold(state, handle).await?;
        let git = crate::changes::view::reader(state);
        git.fetch_pushed(&repo, credentials(state, task).await.as_ref())
            .await
            .map_err(git_refusal)?
    };
    // Sortable and unique enough for one person's resets.
    let name = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string();
    let out =
        git::run(state, handle, RESET, &[name.as_str(), PUSHED_REF], git::identity(state)).await?;
    let commit = out.stdout.last().cloned().filter(|_| out.ok).ok_or_else(|| {
        ApiError::Conflict(format!("The reset failed in the sandbox: {}", out.stderr.join(" ")))
    })?;
    log(
        state,
        task,
        format!(
            "Reset the sandbox to the pushed {} ({}); checkpoint {name} keeps what was there.",
            repo.branch,
            short(&head)
        ),
    )
    .await;
    Ok(ResetResult { checkpoint: Checkpoint { name, commit }, head })
}

/// Puts the tree back as a checkpoint saved it.
pub async fn restore(
    state: &AppState,
    handle: &SandboxHandle,
    task: &TaskRow,
    name: &str,
) -> ApiResult<()> {
    let out = git::run(state, handle, RESTORE, &[name], Vec::new()).await?;
    match out.code {
        Some(0) => {
            log(state, task, format!("Restored checkpoint {name}: the reset is undone.")).await;
            Ok(())
        }
        Some(3) => Err(ApiError::NotFound),
        _ => Err(ApiError::Conflict(format!(
            "The restore failed in the sandbox: {}",
            out.stderr.join(" ")
        ))),
    }
}

/// The checkpoints of the live tree, newest first.
pub async fn checkpoints(state: &AppState, handle: &SandboxHandle) -> ApiResult<Vec<Checkpoint>> {
    let out = git::run(state, handle, LIST, &[], Vec::new()).await?;
    Ok(out
        .stdout
        .iter()
        .filter_map(|line| line.split_once(' '))
        .filter(|(name, _)| valid_name(name))
        .map(|(name, commit)| Checkpoint { name: name.to_owned(), commit: commit.to_owned() })
        .collect())
}

/// Whether `name` is one [`reset`] makes.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

async fn log(state: &AppState, task: &TaskRow, message: String) {
    if let Ok(mut conn) = state.pool.get().await {
        let event = EventBody::Log { level: LogLevel::Info, message };
        if let Err(err) = crate::events::store::append(&mut conn, task.id, &[event]).await {
            tracing::warn!(%err, task_id = %task.id, "recording a workspace event");
        }
    }
}
