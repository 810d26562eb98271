//! Tasks created from GitHub: fix an issue, continue a pull request on its own branch, or
//! revert a commit. Each goes through the one task creation path (`tasks::service::create`:
//! validation, limits, connectors, one unit of the daily quota).

use actix_web::{post, web, HttpResponse};
use shared::github::TaskFromGithub;
use shared::tasks::Task;

use super::remote::RepoRef;
use super::service::client;
use super::wire;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tasks::model::TaskRow;
use crate::tasks::service::{self, ExistingPull, TaskRequest};

/// What the GitHub item contributes to the new task.
struct Derived {
    prompt: String,
    base_branch: Option<String>,
    /// A pull request task continues the PR's head branch and is linked to the PR.
    pull: Option<wire::Pull>,
    /// The issue's or commit's web URL.
    source_url: Option<String>,
}

async fn create(
    state: &AppState,
    user: &CurrentUser,
    repo: &RepoRef,
    body: TaskFromGithub,
    derived: Derived,
) -> ApiResult<TaskRow> {
    let mut prompt = derived.prompt;
    if let Some(extra) = body.prompt_extra.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        prompt = format!("{prompt}\n\n{extra}");
    }
    let request = TaskRequest {
        prompt,
        repo_url: repo.repo_url(&state.settings.github.web_url),
        agent: body.agent,
        model: body.model,
        base_branch: derived.base_branch,
        install_dependencies: body.install_dependencies,
        max_duration_minutes: body.max_duration_minutes,
        keep_alive: body.keep_alive,
        create_pr: body.create_pr,
        enable_browser: false,
        connector_ids: body.connector_ids,
        dev_command: None,
        dev_port: None,
        pull_request: derived.pull.map(|pull| ExistingPull {
            head_branch: pull.head.name.clone(),
            pr: pull.to_task_pr(),
        }),
        source_url: derived.source_url,
    };
    let task = service::create(state, user.id, request).await?;
    tracing::info!(user_id = %user.id, task_id = %task.id, repo = %repo.full_name(), "task created from GitHub");
    Ok(task)
}

fn created(task: TaskRow) -> HttpResponse {
    HttpResponse::Created().json(task.to_dto())
}

/// Creates a task that fixes an issue: the prompt is "Fix issue #N: TITLE" and the issue's
/// body, then `prompt_extra`.
#[utoipa::path(
    tag = "github", operation_id = "create_task_from_issue", request_body = TaskFromGithub,
    params(("owner" = String, Path, description = "Owner login"), ("repo" = String, Path, description = "Repository name"), ("number" = i64, Path, description = "Issue number")),
    responses(
        (status = 201, body = Task), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 422, body = shared::Problem),
        (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/github/repos/{owner}/{repo}/issues/{number}/task")]
async fn task_from_issue(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String, u64)>,
    body: web::Json<TaskFromGithub>,
) -> ApiResult<HttpResponse> {
    let (owner, name, number) = path.into_inner();
    let repo = RepoRef::from_path(&owner, &name)?;
    let gh = client(&state, user.id).await?;
    let issue: wire::Issue = gh.get(&format!("{}/issues/{number}", repo.api_path())).await?;
    if issue.pull_request.is_some() {
        return Err(ApiError::Unprocessable(format!(
            "#{number} is a pull request; create its task with POST .../pulls/{number}/task."
        )));
    }
    let mut prompt = format!("Fix issue #{number}: {}", issue.title.trim());
    if let Some(text) = issue.body.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        prompt = format!("{prompt}\n\n{text}");
    }
    let derived =
        Derived { prompt, base_branch: None, pull: None, source_url: Some(issue.html_url) };
    Ok(created(create(&state, &user, &repo, body.into_inner(), derived).await?))
}

/// Creates a task that works on a pull request: it runs on the PR's head branch (its
/// `base_branch` and `branch_name`), pushes there, and is linked to the PR. Pull requests
/// from forks are refused (422): Drydock can only push to the repository itself.
#[utoipa::path(
    tag = "github", operation_id = "create_task_from_pull", request_body = TaskFromGithub,
    params(("owner" = String, Path, description = "Owner login"), ("repo" = String, Path, description = "Repository name"), ("number" = i64, Path, description = "Pull request number")),
    responses(
        (status = 201, body = Task), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 422, body = shared::Problem),
        (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/github/repos/{owner}/{repo}/pulls/{number}/task")]
async fn task_from_pull(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String, u64)>,
    body: web::Json<TaskFromGithub>,
) -> ApiResult<HttpResponse> {
    let (owner, name, number) = path.into_inner();
    let repo = RepoRef::from_path(&owner, &name)?;
    let gh = client(&state, user.id).await?;
    let pull: wire::Pull = gh.get(&format!("{}/pulls/{number}", repo.api_path())).await?;
    let same_repo = pull
        .head
        .repo
        .as_ref()
        .is_some_and(|r| r.full_name.eq_ignore_ascii_case(&repo.full_name()));
    if !same_repo {
        return Err(ApiError::Unprocessable(format!(
            "Pull request #{number} comes from a fork; Drydock can only work on branches of {}.",
            repo.full_name()
        )));
    }
    if pull.state != "open" {
        return Err(ApiError::Unprocessable(format!("Pull request #{number} is not open.")));
    }
    let mut prompt = format!("Work on PR #{number}: {}", pull.title.trim());
    if let Some(text) = pull.body.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        prompt = format!("{prompt}\n\n{text}");
    }
    let base_branch = Some(pull.head.name.clone());
    let derived = Derived { prompt, base_branch, pull: Some(pull), source_url: None };
    Ok(created(create(&state, &user, &repo, body.into_inner(), derived).await?))
}

/// Creates a task that reverts a commit on the default branch: "Revert commit SHA7: SUBJECT".
#[utoipa::path(
    tag = "github", operation_id = "create_revert_task", request_body = TaskFromGithub,
    params(("owner" = String, Path, description = "Owner login"), ("repo" = String, Path, description = "Repository name"), ("sha" = String, Path, description = "Commit SHA")),
    responses(
        (status = 201, body = Task), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 422, body = shared::Problem),
        (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/github/repos/{owner}/{repo}/commits/{sha}/revert-task")]
async fn revert_task(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String, String)>,
    body: web::Json<TaskFromGithub>,
) -> ApiResult<HttpResponse> {
    let (owner, name, sha) = path.into_inner();
    let repo = RepoRef::from_path(&owner, &name)?;
    if !(4..=64).contains(&sha.len()) || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ApiError::NotFound);
    }
    let gh = client(&state, user.id).await?;
    let commit: wire::Commit = gh.get(&format!("{}/commits/{sha}", repo.api_path())).await?;
    let subject = commit.commit.message.lines().next().unwrap_or_default().trim().to_owned();
    let short: String = commit.sha.chars().take(7).collect();
    let prompt = format!(
        "Revert commit {short}: {subject}\n\nUndo the changes of commit {} (\"{subject}\") on the current branch, as `git revert {}` would, resolving any conflicts so that the project still builds and its tests pass.",
        commit.sha, commit.sha
    );
    let derived =
        Derived { prompt, base_branch: None, pull: None, source_url: Some(commit.html_url) };
    Ok(created(create(&state, &user, &repo, body.into_inner(), derived).await?))
}

/// Registers this module's routes.
pub(super) fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(task_from_issue).service(task_from_pull).service(revert_task);
}
