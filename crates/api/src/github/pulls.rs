//! A task's pull request: open, read (synced from GitHub), merge, close, reopen, its
//! comments, and the check runs of the task branch.

use actix_web::{get, post, web, HttpResponse};
use diesel_async::AsyncPgConnection;
use reqwest::Method;
use serde_json::json;
use shared::github::{
    CheckRun, CommentKind, CreatePullRequest, MergeMethod, MergePullRequest, PrComment,
    PullRequest, TaskChecks,
};
use shared::page::Page;
use uuid::Uuid;

use super::client::{GithubClient, GithubError};
use super::remote::{self, RepoRef};
use super::service::{self, in_task, pull_path};
use super::wire;
use crate::auth::CurrentUser;
use crate::db::Conn;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tasks::model::{self as tasks, TaskRow};

/// Comments listed at most, per kind (100 per page).
const MAX_COMMENT_PAGES: usize = 10;

/// Everything a pull request endpoint needs: the caller's task on a GitHub repository, and
/// the caller's client.
struct Ctx {
    conn: Conn,
    task: TaskRow,
    repo: RepoRef,
    gh: GithubClient,
}

async fn load(state: &AppState, user: &CurrentUser, id: Uuid) -> ApiResult<Ctx> {
    let mut conn = state.conn().await?;
    let task = tasks::owned(&mut conn, user.id, id).await?;
    let repo = remote::require(&state.settings.github.web_url, &task.repo_url)?;
    let gh = service::client_for(
        &mut conn,
        &state.settings,
        &state.secrets,
        state.http.clone(),
        user.id,
    )
    .await?;
    Ok(Ctx { conn, task, repo, gh })
}

fn number(task: &TaskRow) -> ApiResult<i64> {
    task.pr_number().ok_or(ApiError::NotFound)
}

fn conn(ctx: &mut Ctx) -> &mut AsyncPgConnection {
    &mut ctx.conn
}

/// Opens a pull request from the task's branch. Defaults: the task's title, the agent's
/// final message as the body, the task's base branch. When the task already has one, it is
/// returned (200) instead of a second one being opened.
#[utoipa::path(
    tag = "github", operation_id = "create_task_pull_request", request_body = CreatePullRequest,
    params(("id" = Uuid, Path, description = "Task id")),
    responses(
        (status = 201, body = PullRequest, description = "Opened"), (status = 200, body = PullRequest, description = "The task's existing pull request"),
        (status = 400, body = shared::Problem), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem),
        (status = 404, body = shared::Problem), (status = 409, body = shared::Problem), (status = 422, body = shared::Problem),
        (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/pull-request")]
async fn create_pull_request(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Json<CreatePullRequest>,
) -> ApiResult<HttpResponse> {
    let mut ctx = load(&state, &user, *id).await?;
    if ctx.task.pr_number().is_none() && !ctx.task.status().is_terminal() {
        return Err(ApiError::Conflict(
            "The task is still running; open the pull request once its run has pushed.".into(),
        ));
    }
    let (task, repo, gh) = (ctx.task.clone(), ctx.repo.clone(), ctx.gh.clone());
    let (pr, created) =
        service::open_pr(&gh, conn(&mut ctx), &task, &repo, body.into_inner()).await?;
    Ok(if created { HttpResponse::Created() } else { HttpResponse::Ok() }.json(pr))
}

/// The task's pull request, refreshed from GitHub (open, closed or merged, and the merge
/// commit). 404 when the task has none.
#[utoipa::path(
    tag = "github", operation_id = "get_task_pull_request", params(("id" = Uuid, Path, description = "Task id")),
    responses(
        (status = 200, body = PullRequest), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem),
        (status = 404, body = shared::Problem), (status = 422, body = shared::Problem), (status = 429, body = shared::Problem),
        (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}/pull-request")]
async fn get_pull_request(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<PullRequest>> {
    let mut ctx = load(&state, &user, *id).await?;
    let n = number(&ctx.task)?;
    let (task_id, repo, gh) = (ctx.task.id, ctx.repo.clone(), ctx.gh.clone());
    Ok(web::Json(service::sync_pr(&gh, conn(&mut ctx), task_id, &repo, n).await?))
}

/// Merges the task's pull request, then destroys the task's kept-alive sandbox. A pull
/// request GitHub cannot merge (conflicts, failing requirements) answers 409: ask the agent
/// to resolve the conflicts with a follow-up, then merge again.
#[utoipa::path(
    tag = "github", operation_id = "merge_task_pull_request", request_body = MergePullRequest,
    params(("id" = Uuid, Path, description = "Task id")),
    responses(
        (status = 200, body = PullRequest), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem),
        (status = 422, body = shared::Problem), (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/pull-request/merge")]
async fn merge_pull_request(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Json<MergePullRequest>,
) -> ApiResult<web::Json<PullRequest>> {
    let mut ctx = load(&state, &user, *id).await?;
    let n = number(&ctx.task)?;
    let body = body.into_inner();
    let method = match body.method {
        MergeMethod::Squash => "squash",
        MergeMethod::Merge => "merge",
        MergeMethod::Rebase => "rebase",
    };
    let mut request = json!({"merge_method": method});
    if let Some(title) = body.title {
        request["commit_title"] = title.into();
    }
    if let Some(message) = body.message {
        request["commit_message"] = message.into();
    }
    let merged: wire::MergeResult = ctx
        .gh
        .send_json(Method::PUT, &format!("{}/merge", pull_path(&ctx.repo, n)), &request)
        .await
        .map_err(|e| in_task(e, &ctx.repo))?;
    if !merged.merged {
        return Err(ApiError::Conflict(format!(
            "GitHub did not merge the pull request: {}",
            merged.message.unwrap_or_else(|| "no reason given".into())
        )));
    }
    let (task_id, repo, gh) = (ctx.task.id, ctx.repo.clone(), ctx.gh.clone());
    let mut pr = service::sync_pr(&gh, conn(&mut ctx), task_id, &repo, n).await?;
    if pr.merge_sha.is_none() {
        pr.merge_sha = merged.sha;
        super::model::save_pr(conn(&mut ctx), task_id, &pr).await?;
    }
    service::tear_down_sandbox(&state, &ctx.task).await;
    tracing::info!(task_id = %task_id, number = n, "pull request merged");
    Ok(web::Json(pr))
}

async fn set_state(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
    open: bool,
) -> ApiResult<PullRequest> {
    let mut ctx = load(state, user, id).await?;
    let n = number(&ctx.task)?;
    let pull: wire::Pull = ctx
        .gh
        .send_json(
            Method::PATCH,
            &pull_path(&ctx.repo, n),
            &json!({"state": if open { "open" } else { "closed" }}),
        )
        .await
        .map_err(|e| in_task(e, &ctx.repo))?;
    let pr = pull.to_task_pr();
    let task_id = ctx.task.id;
    super::model::save_pr(conn(&mut ctx), task_id, &pr).await?;
    Ok(pr)
}

/// Closes the task's pull request without merging.
#[utoipa::path(
    tag = "github", operation_id = "close_task_pull_request", params(("id" = Uuid, Path, description = "Task id")),
    responses(
        (status = 200, body = PullRequest), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem),
        (status = 404, body = shared::Problem), (status = 422, body = shared::Problem), (status = 429, body = shared::Problem),
        (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/pull-request/close")]
async fn close_pull_request(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<PullRequest>> {
    Ok(web::Json(set_state(&state, &user, *id, false).await?))
}

/// Reopens the task's closed pull request.
#[utoipa::path(
    tag = "github", operation_id = "reopen_task_pull_request", params(("id" = Uuid, Path, description = "Task id")),
    responses(
        (status = 200, body = PullRequest), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem),
        (status = 404, body = shared::Problem), (status = 422, body = shared::Problem), (status = 429, body = shared::Problem),
        (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/pull-request/reopen")]
async fn reopen_pull_request(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<PullRequest>> {
    Ok(web::Json(set_state(&state, &user, *id, true).await?))
}

/// The pull request's conversation and review comments together, oldest first.
#[utoipa::path(
    tag = "github", operation_id = "list_task_pull_request_comments", params(("id" = Uuid, Path, description = "Task id")),
    responses(
        (status = 200, body = Page<PrComment>), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem),
        (status = 404, body = shared::Problem), (status = 422, body = shared::Problem), (status = 429, body = shared::Problem),
        (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}/pull-request/comments")]
async fn list_comments(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<Page<PrComment>>> {
    let ctx = load(&state, &user, *id).await?;
    let n = number(&ctx.task)?;
    let base = ctx.repo.api_path();
    let issue: Vec<wire::Comment> = ctx
        .gh
        .get_all(&format!("{base}/issues/{n}/comments?per_page=100"), MAX_COMMENT_PAGES)
        .await
        .map_err(|e| in_task(e, &ctx.repo))?;
    let review: Vec<wire::Comment> = ctx
        .gh
        .get_all(&format!("{base}/pulls/{n}/comments?per_page=100"), MAX_COMMENT_PAGES)
        .await
        .map_err(|e| in_task(e, &ctx.repo))?;
    let mut items: Vec<PrComment> = issue
        .into_iter()
        .map(|c| c.into_dto(CommentKind::Issue))
        .chain(review.into_iter().map(|c| c.into_dto(CommentKind::Review)))
        .collect();
    items.sort_by_key(|c| (c.created_at, c.id));
    Ok(web::Json(Page { items, next_cursor: None }))
}

/// The check runs (CI) of the task branch's head commit on GitHub; empty when the branch is
/// not there (yet).
#[utoipa::path(
    tag = "github", operation_id = "list_task_checks", params(("id" = Uuid, Path, description = "Task id")),
    responses(
        (status = 200, body = TaskChecks), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem),
        (status = 404, body = shared::Problem), (status = 422, body = shared::Problem), (status = 429, body = shared::Problem),
        (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}/checks")]
async fn list_checks(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<TaskChecks>> {
    let ctx = load(&state, &user, *id).await?;
    let empty = TaskChecks { head_sha: None, check_runs: Vec::new() };
    let Some(branch) = ctx.task.branch_name.as_deref() else { return Ok(web::Json(empty)) };
    let base = ctx.repo.api_path();
    let head: wire::GitRef =
        match ctx.gh.get(&format!("{base}/git/ref/heads/{}", service::branch_path(branch))).await {
            Err(GithubError::NotFound) => return Ok(web::Json(empty)),
            other => other?,
        };
    let sha = head.object.sha;
    let runs: wire::CheckRuns = ctx
        .gh
        .get(&format!("{base}/commits/{sha}/check-runs?per_page=100"))
        .await
        .map_err(|e| in_task(e, &ctx.repo))?;
    let check_runs: Vec<CheckRun> =
        runs.check_runs.into_iter().map(wire::Check::into_dto).collect();
    Ok(web::Json(TaskChecks { head_sha: Some(sha), check_runs }))
}

/// Registers this module's routes.
pub(super) fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_pull_request)
        .service(get_pull_request)
        .service(merge_pull_request)
        .service(close_pull_request)
        .service(reopen_pull_request)
        .service(list_comments)
        .service(list_checks);
}
