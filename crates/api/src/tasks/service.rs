//! Creating tasks and follow-ups: the one path every entry point takes (`POST /tasks`, tasks
//! from GitHub issues, pull requests and commits, and any later one such as schedules or
//! webhooks). Validation, per-user limits, connector checks, the daily quota, the insert and
//! the queue notification happen here and only here, with one over-quota error.

use std::collections::BTreeMap;

use diesel_async::AsyncConnection;
use shared::github::PullRequest;
use shared::tasks::PROMPT_MAX_CHARS;
use uuid::Uuid;
use validator::Validate;

use super::limits::{self, Limits};
use super::model::{self, FollowUp, NewTask, TaskRow};
use super::validate::{self, TaskInput};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Everything a new task is made from, whoever asks for it.
#[derive(Debug, Clone, Default)]
pub struct TaskRequest {
    /// The first prompt.
    pub prompt: String,
    /// The repository to clone.
    pub repo_url: String,
    /// Agent wire name.
    pub agent: String,
    /// Model; `None` for the agent's default.
    pub model: Option<String>,
    /// Branch to start from; `None` for the remote's default.
    pub base_branch: Option<String>,
    /// Install dependencies before the agent runs.
    pub install_dependencies: bool,
    /// Longest run in minutes; `None` for the user's limit.
    pub max_duration_minutes: Option<u32>,
    /// Keep the sandbox for follow-ups.
    pub keep_alive: bool,
    /// Open a pull request after the first push.
    pub create_pr: bool,
    /// Give the agent a headless browser (see [`crate::browser`]).
    pub enable_browser: bool,
    /// The user's connectors (MCP servers) to give the agent.
    pub connector_ids: Vec<Uuid>,
    /// The dev server command, instead of the detected one.
    pub dev_command: Option<String>,
    /// The dev server's port.
    pub dev_port: Option<u32>,
    /// Work on an existing pull request: the task pushes to its head branch and is linked to
    /// it from the start.
    pub pull_request: Option<ExistingPull>,
    /// The web URL of the issue or commit the task was started from (the repository browser
    /// links the item to its task); pull requests are linked through the task's pull request.
    pub source_url: Option<String>,
}

/// A pull request a new task continues.
#[derive(Debug, Clone)]
pub struct ExistingPull {
    /// Its head branch, which the task checks out and pushes to.
    pub head_branch: String,
    /// Its current state, recorded on the task.
    pub pr: PullRequest,
}

type FieldErrors = BTreeMap<String, Vec<String>>;

fn push(errors: &mut FieldErrors, field: &str, reason: impl Into<String>) {
    errors.entry(field.to_owned()).or_default().push(reason.into());
}

/// The daily quota is used up: 429 with the reset time.
pub fn over_quota(limits: Limits) -> ApiError {
    let (_, reset_at) = limits::today();
    ApiError::RateLimited {
        detail: format!(
            "Daily limit of {} tasks and follow-ups reached; it resets at midnight UTC.",
            limits.daily_quota
        ),
        reset_at,
    }
}

/// Validates `request` for `user_id`, spends one unit of the daily quota and queues the
/// task's first run.
pub async fn create(state: &AppState, user_id: Uuid, request: TaskRequest) -> ApiResult<TaskRow> {
    let repo_url = request.repo_url.trim().to_owned();
    let input = TaskInput {
        prompt: &request.prompt,
        repo_url: &repo_url,
        agent: &request.agent,
        model: request.model.as_deref(),
        base_branch: request.base_branch.as_deref(),
        max_duration_minutes: request.max_duration_minutes,
    };
    let mut errors =
        input.validate().map(|()| FieldErrors::new()).unwrap_or_else(|e| validate::to_map(&e));
    let settings = &state.settings;
    if validate::is_local(&repo_url) && !settings.tasks.allow_local_repos {
        push(&mut errors, "repo_url", "local repositories are not enabled on this server");
    }
    if repo_url.starts_with("http://") && !settings.github.api_url.starts_with("http://") {
        push(
            &mut errors,
            "repo_url",
            "must use https: plain http would send your token in clear text",
        );
    }
    if !validate::is_local(&repo_url)
        && !crate::git_credentials::validate::remote_allowed(settings, &repo_url)
    {
        push(
            &mut errors,
            "repo_url",
            "is an address Drydock does not clone from (loopback, private, link-local or metadata)",
        );
    }
    let mut conn = state.conn().await?;
    let limits = limits::effective(&mut conn, &settings.tasks, user_id).await?;
    let duration = request.max_duration_minutes.unwrap_or(limits.max_duration_minutes);
    if duration > limits.max_duration_minutes {
        push(
            &mut errors,
            "max_duration_minutes",
            format!("must be at most {} (your limit)", limits.max_duration_minutes),
        );
    }
    let connector_problems =
        crate::connectors::check_for_task(&mut conn, user_id, &request.connector_ids).await?;
    if !connector_problems.is_empty() {
        errors.insert("connector_ids".into(), connector_problems);
    }
    if request.enable_browser {
        if let Err(reason) = crate::browser::detect(&settings.browser) {
            push(&mut errors, "enable_browser", format!("is not available: {reason}"));
        }
    }
    crate::preview::validate_settings(
        request.dev_command.as_deref(),
        request.dev_port,
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let dev_command = request.dev_command.map(|c| c.trim().to_owned());
    let dev_port = request.dev_port.and_then(|p| i32::try_from(p).ok());
    let new = NewTask {
        user_id,
        title: crate::titles::fallback_title(&request.prompt),
        prompt: request.prompt,
        repo_url,
        agent: request.agent,
        model: request.model,
        base_branch: request.base_branch,
        install_dependencies: request.install_dependencies,
        max_duration_minutes: duration as i32,
        keep_alive: request.keep_alive,
        // A task on an existing pull request has its pull request already.
        create_pr: request.create_pr && request.pull_request.is_none(),
        enable_browser: request.enable_browser,
        connector_ids: request.connector_ids,
        source_url: request.source_url,
    };
    let pull = request.pull_request;
    let quota = limits.daily_quota;
    // One transaction, so no worker claims the task before its branch and pull request are set
    // (the queue notification is delivered at commit).
    let created = conn
        .transaction(|conn| {
            Box::pin(async move {
                let Some(task) = model::create(conn, new, quota).await? else { return Ok(None) };
                if dev_command.is_some() || dev_port.is_some() {
                    let command = dev_command.as_deref();
                    crate::preview::model::save_settings(conn, task.id, command, dev_port).await?;
                }
                let Some(pull) = &pull else { return Ok(Some(task)) };
                crate::github::model::set_branch(conn, task.id, &pull.head_branch).await?;
                crate::github::model::save_pr(conn, task.id, &pull.pr).await?;
                model::get(conn, task.id).await.map(Some)
            })
        })
        .await?;
    let task = created.ok_or_else(|| over_quota(limits))?;
    tracing::info!(%user_id, task_id = %task.id, agent = %task.agent, "task created");
    Ok(task)
}

/// Queues a follow-up run of the user's task with `content` as its prompt; one unit of quota.
pub async fn follow_up(
    state: &AppState,
    user_id: Uuid,
    task_id: Uuid,
    content: String,
) -> ApiResult<TaskRow> {
    if content.trim().is_empty() || content.chars().count() > PROMPT_MAX_CHARS {
        return Err(ApiError::invalid(
            "content",
            format!("must be 1 to {PROMPT_MAX_CHARS} characters"),
        ));
    }
    let mut conn = state.conn().await?;
    let task = model::owned(&mut conn, user_id, task_id).await?;
    let limits = limits::effective(&mut conn, &state.settings.tasks, user_id).await?;
    match model::follow_up(&mut conn, &task, content, limits.daily_quota).await? {
        FollowUp::Queued(task) => Ok(*task),
        FollowUp::Busy => Err(ApiError::Conflict(
            "The task is still running; wait for it to finish or stop it.".into(),
        )),
        FollowUp::OverQuota => Err(over_quota(limits)),
    }
}
