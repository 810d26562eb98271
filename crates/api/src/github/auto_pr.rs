//! The automatic pull request (merge request on GitLab): a task created with `create_pr` gets
//! one when a run has pushed its branch, on whichever forge its repository is. Called by the
//! worker's publish stage, which logs the result on the task; this module knows nothing of the
//! worker.

use shared::github::CreatePullRequest;
use uuid::Uuid;

use crate::config::Settings;
use crate::crypto::SecretBox;
use crate::db::DbPool;
use crate::error::ApiError;
use crate::forges::access::{Forges, Sources};
use crate::forges::service::open_pr;
use crate::forges::ForgeKind;

/// What the hook needs from the worker.
pub struct Deps<'a> {
    /// Process settings (GitHub URLs).
    pub settings: &'a Settings,
    /// Database pool.
    pub pool: &'a DbPool,
    /// Opens the user's sealed GitHub token.
    pub secrets: &'a SecretBox,
    /// The process's forge plumbing, when the caller has it (fresh, without grants, if not).
    pub forges: Option<&'a Forges>,
}

/// Opens the task's pull request if the task asked for one and has none yet. `agent_message`
/// (the run's final message) becomes the body. Says what it did, or why it could not, in the
/// forge's words ("Could not open the merge request: ..."), for the caller to log on the
/// task: a failure here never fails the run.
pub async fn open_if_requested(
    deps: Deps<'_>,
    task_id: Uuid,
    agent_message: Option<&str>,
) -> Result<Option<String>, String> {
    // GitHub's words until the repository's forge is known.
    let mut kind = ForgeKind::Github;
    open(&deps, task_id, agent_message, &mut kind).await.map_err(|err| {
        if let ApiError::Internal(cause) = &err {
            tracing::warn!(task_id = %task_id, error = ?cause, "automatic pull request failed");
        }
        let reason = err.problem().detail.unwrap_or_else(|| "an unexpected error".into());
        format!("Could not open the {}: {reason}", kind.request_noun())
    })
}

async fn open(
    deps: &Deps<'_>,
    task_id: Uuid,
    agent_message: Option<&str>,
    kind: &mut ForgeKind,
) -> Result<Option<String>, ApiError> {
    let mut conn = deps.pool.get().await?;
    let task = crate::tasks::model::get(&mut conn, task_id).await?;
    if !task.create_pr || task.pr_number().is_some() {
        return Ok(None);
    }
    let forges = deps.forges.cloned().unwrap_or_else(|| Forges::new(deps.settings));
    let sources = Sources { settings: deps.settings, secrets: deps.secrets };
    let Some((access, repo)) =
        sources.for_repo_url(&mut conn, task.user_id, &task.repo_url).await?
    else {
        return Err(crate::git_credentials::no_pull_requests(
            &deps.settings.github.web_url,
            &task.repo_url,
        ));
    };
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("drydock")
        .build()
        .map_err(|e| ApiError::Internal(e.into()))?;
    *kind = access.kind;
    let forge = forges.client(deps.settings, &http, &access)?;
    let input = CreatePullRequest { body: agent_message.map(str::to_owned), ..Default::default() };
    let (pr, _) = open_pr(&*forge, &mut conn, &task, &repo, input).await?;
    Ok(Some(format!(
        "Opened {} {}{}: {}",
        kind.request_noun(),
        kind.number_prefix(),
        pr.number,
        pr.url
    )))
}
