//! Tasks created from a forge's issues, pull or merge requests and commits, on any forge:
//! the prompts of [`crate::github`]'s routes, through the one task creation path
//! (`tasks::service::create`: validation, limits, connectors, one unit of the daily quota).

use actix_web::{post, web, HttpResponse};
use shared::github::TaskFromGithub;
use shared::tasks::Task;

use super::endpoints::{forge_for, repo_path, RepoAt};
use super::{Forge, RepoPath};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tasks::service::{self, ExistingPull, TaskRequest};

struct Derived {
    prompt: String,
    base_branch: Option<String>,
    pull: Option<ExistingPull>,
    /// The issue's or commit's web URL.
    source_url: Option<String>,
}

async fn create(
    state: &AppState,
    user: &CurrentUser,
    forge: &dyn Forge,
    repo: &RepoPath,
    body: TaskFromGithub,
    derived: Derived,
) -> ApiResult<HttpResponse> {
    let mut prompt = derived.prompt;
    if let Some(extra) = body.prompt_extra.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        prompt = format!("{prompt}\n\n{extra}");
    }
    let found = forge.repo(repo).await.map_err(|e| e.into_api(forge.kind()))?;
    let request = TaskRequest {
        prompt,
        repo_url: found.repo_url,
        agent: body.agent,
        model: body.model,
        base_branch: derived.base_branch,
        install_dependencies: body.install_dependencies,
        max_duration_minutes: body.max_duration_minutes,
        keep_alive: body.keep_alive,
        create_pr: body.create_pr && derived.pull.is_none(),
        enable_browser: false,
        connector_ids: body.connector_ids,
        dev_command: None,
        dev_port: None,
        pull_request: derived.pull,
        source_url: derived.source_url,
    };
    let task = service::create(state, user.id, request).await?;
    tracing::info!(user_id = %user.id, task_id = %task.id, repo = %repo.as_str(), forge = forge.kind().label(), "task created from a forge");
    Ok(HttpResponse::Created().json(task.to_dto()))
}

/// Creates a task that fixes an issue: "Fix issue #N: TITLE", the issue's body, then
/// `prompt_extra`.
#[utoipa::path(
    tag = "forges", operation_id = "create_forge_task_from_issue", request_body = TaskFromGithub,
    params(("host" = String, Path, description = "The forge's host"), ("number" = i64, Path, description = "Issue number (GitLab: iid)"), RepoAt),
    responses(
        (status = 201, body = Task), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 422, body = shared::Problem),
        (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/forges/{host}/repo/issues/{number}/task")]
async fn task_from_issue(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, i64)>,
    query: web::Query<RepoAt>,
    body: web::Json<TaskFromGithub>,
) -> ApiResult<HttpResponse> {
    let (host, number) = path.into_inner();
    let forge = forge_for(&state, &user, &host).await?;
    let repo = repo_path(&*forge, query.path())?;
    let issue = forge.issue(&repo, number).await.map_err(|e| e.into_api(forge.kind()))?;
    let mut prompt = format!("Fix issue #{number}: {}", issue.title.trim());
    if let Some(text) = issue.body.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        prompt = format!("{prompt}\n\n{text}");
    }
    let derived =
        Derived { prompt, base_branch: None, pull: None, source_url: Some(issue.html_url) };
    create(&state, &user, &*forge, &repo, body.into_inner(), derived).await
}

/// Creates a task that works on a pull or merge request: it runs on its head branch, pushes
/// there, and is linked to it. Ones from forks are refused (422): Drydock can only push to
/// the repository itself.
#[utoipa::path(
    tag = "forges", operation_id = "create_forge_task_from_pull", request_body = TaskFromGithub,
    params(("host" = String, Path, description = "The forge's host"), ("number" = i64, Path, description = "Pull or merge request number (GitLab: iid)"), RepoAt),
    responses(
        (status = 201, body = Task), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 422, body = shared::Problem),
        (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/forges/{host}/repo/pulls/{number}/task")]
async fn task_from_pull(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, i64)>,
    query: web::Query<RepoAt>,
    body: web::Json<TaskFromGithub>,
) -> ApiResult<HttpResponse> {
    let (host, number) = path.into_inner();
    let forge = forge_for(&state, &user, &host).await?;
    let repo = repo_path(&*forge, query.path())?;
    let kind = forge.kind();
    let found = forge.pull(&repo, number).await.map_err(|e| e.into_api(kind))?;
    let (noun, sign) = (kind.request_noun(), kind.number_prefix());
    if found.from_fork {
        return Err(ApiError::Unprocessable(format!(
            "The {noun} {sign}{number} comes from a fork; Drydock can only work on branches of {}.",
            repo.as_str()
        )));
    }
    if found.pr.status != shared::github::PrStatus::Open {
        return Err(ApiError::Unprocessable(format!("The {noun} {sign}{number} is not open.")));
    }
    let short = if noun == "merge request" { "MR" } else { "PR" };
    let mut prompt = format!("Work on {short} {sign}{number}: {}", found.pr.title.trim());
    if let Some(text) = found.pr.body.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        prompt = format!("{prompt}\n\n{text}");
    }
    let head = found.pr.head.clone();
    let derived = Derived {
        prompt,
        base_branch: Some(head.clone()),
        pull: Some(ExistingPull { head_branch: head, pr: found.pr }),
        source_url: None,
    };
    create(&state, &user, &*forge, &repo, body.into_inner(), derived).await
}

/// Creates a task that reverts a commit: "Revert commit SHA7: SUBJECT".
#[utoipa::path(
    tag = "forges", operation_id = "create_forge_revert_task", request_body = TaskFromGithub,
    params(("host" = String, Path, description = "The forge's host"), ("sha" = String, Path, description = "Commit SHA"), RepoAt),
    responses(
        (status = 201, body = Task), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 422, body = shared::Problem),
        (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/forges/{host}/repo/commits/{sha}/revert-task")]
async fn revert_task(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    query: web::Query<RepoAt>,
    body: web::Json<TaskFromGithub>,
) -> ApiResult<HttpResponse> {
    let (host, sha) = path.into_inner();
    if !(4..=64).contains(&sha.len()) || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ApiError::NotFound);
    }
    let forge = forge_for(&state, &user, &host).await?;
    let repo = repo_path(&*forge, query.path())?;
    let commit = forge.commit(&repo, &sha).await.map_err(|e| e.into_api(forge.kind()))?;
    let subject = commit.message.lines().next().unwrap_or_default().trim().to_owned();
    let short: String = commit.sha.chars().take(7).collect();
    let prompt = format!(
        "Revert commit {short}: {subject}\n\nUndo the changes of commit {} (\"{subject}\") on the current branch, as `git revert {}` would, resolving any conflicts so that the project still builds and its tests pass.",
        commit.sha, commit.sha
    );
    let derived =
        Derived { prompt, base_branch: None, pull: None, source_url: Some(commit.html_url) };
    create(&state, &user, &*forge, &repo, body.into_inner(), derived).await
}

/// Registers this module's routes.
pub(super) fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(task_from_issue).service(task_from_pull).service(revert_task);
}
