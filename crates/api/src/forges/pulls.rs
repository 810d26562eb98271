//! A task's pull or merge request on its forge: open, read (synced), merge, close, reopen,
//! its comments, the checks of the task branch, and which forge the task is on (the words
//! the web app uses). The same routes serve GitHub, GitLab and Gitea.

use actix_web::{get, post, web, HttpResponse};
use shared::forges::TaskForge;
use shared::github::{CreatePullRequest, MergePullRequest, PrComment, PullRequest, TaskChecks};
use shared::page::Page;
use url::Url;
use uuid::Uuid;

use super::service::{self, in_task};
use super::{access, host_key, Forge, Merge, RepoPath};
use crate::auth::CurrentUser;
use crate::db::Conn;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tasks::model::{self as tasks, TaskRow};

/// Everything a pull request endpoint needs: the caller's task on a forge repository, and
/// the caller's client for that forge.
struct Ctx {
    conn: Conn,
    task: TaskRow,
    repo: RepoPath,
    forge: Box<dyn Forge>,
}

/// The 422 of a task whose repository is on no forge the user has access to.
fn not_on_a_forge(state: &AppState, repo_url: &str) -> ApiError {
    crate::git_credentials::no_pull_requests(&state.settings.github.web_url, repo_url)
}

async fn load(state: &AppState, user: &CurrentUser, id: Uuid) -> ApiResult<Ctx> {
    let mut conn = state.conn().await?;
    let task = tasks::owned(&mut conn, user.id, id).await?;
    let (access, repo) = access::for_repo_url(state, user.id, &task.repo_url)
        .await?
        .ok_or_else(|| not_on_a_forge(state, &task.repo_url))?;
    let forge = access::client(state, &access)?;
    Ok(Ctx { conn, task, repo, forge })
}

fn number(task: &TaskRow) -> ApiResult<i64> {
    task.pr_number().ok_or(ApiError::NotFound)
}

/// Which forge the task's repository is on, and the words and merge methods it uses; `kind`
/// is `null` for a repository on no forge the user has a token for.
#[utoipa::path(
    tag = "forges", operation_id = "get_task_forge", params(("id" = Uuid, Path, description = "Task id")),
    responses(
        (status = 200, body = TaskForge), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem),
        (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}/forge")]
async fn get_task_forge(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<TaskForge>> {
    let task = {
        let mut conn = state.conn().await?;
        tasks::owned(&mut conn, user.id, *id).await?
    };
    let host = Url::parse(&task.repo_url).ok().as_ref().and_then(host_key);
    let found = match access::for_repo_url(&state, user.id, &task.repo_url).await {
        Ok(found) => found.map(|(a, r)| (a.kind, Some(r))),
        // The configured GitHub without a sign-in token: still GitHub's words.
        Err(ApiError::Unprocessable(_)) => Some((super::ForgeKind::Github, None)),
        Err(other) => return Err(other),
    };
    let kind = found.as_ref().map(|(k, _)| *k);
    let words = kind.unwrap_or(super::ForgeKind::Github);
    Ok(web::Json(TaskForge {
        kind,
        host,
        repo: found.and_then(|(_, r)| r).map(|r| r.as_str().to_owned()),
        request_noun: words.request_noun().into(),
        number_prefix: words.number_prefix().into(),
        merge_methods: if kind.is_some() { words.merge_methods() } else { Vec::new() },
    }))
}

/// Opens a pull request (a merge request on GitLab) from the task's branch. Defaults: the
/// task's title, the agent's final message as the body, the task's base branch. When the
/// task already has one, it is returned (200) instead of a second one being opened; when the
/// forge has an open one for the branch already (another task's), 409.
#[utoipa::path(
    tag = "forges", operation_id = "create_task_pull_request", request_body = CreatePullRequest,
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
        return Err(ApiError::Conflict(format!(
            "The task is still running; open the {} once its run has pushed.",
            ctx.forge.kind().request_noun()
        )));
    }
    let (pr, created) =
        service::open_pr(&*ctx.forge, &mut ctx.conn, &ctx.task, &ctx.repo, body.into_inner())
            .await?;
    Ok(if created { HttpResponse::Created() } else { HttpResponse::Ok() }.json(pr))
}

/// The task's pull or merge request, refreshed from the forge (open, closed or merged, and
/// the merge commit). 404 when the task has none.
#[utoipa::path(
    tag = "forges", operation_id = "get_task_pull_request", params(("id" = Uuid, Path, description = "Task id")),
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
    Ok(web::Json(service::sync_pr(&*ctx.forge, &mut ctx.conn, ctx.task.id, &ctx.repo, n).await?))
}

/// Merges the task's pull or merge request, then destroys the task's kept-alive sandbox.
/// One the forge cannot merge (conflicts, failing requirements) answers 409: ask the agent
/// to resolve the conflicts with a follow-up, then merge again. A method the forge does not
/// offer (rebase on GitLab, see `GET /tasks/{id}/forge`) answers 422.
#[utoipa::path(
    tag = "forges", operation_id = "merge_task_pull_request", request_body = MergePullRequest,
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
    let merge = Merge { method: body.method, title: body.title, message: body.message };
    let sha = ctx
        .forge
        .merge(&ctx.repo, n, &merge)
        .await
        .map_err(|e| in_task(&*ctx.forge, e, &ctx.repo))?;
    let task_id = ctx.task.id;
    let mut pr = service::sync_pr(&*ctx.forge, &mut ctx.conn, task_id, &ctx.repo, n).await?;
    if pr.merge_sha.is_none() && sha.is_some() {
        pr.merge_sha = sha;
        crate::github::model::save_pr(&mut ctx.conn, task_id, &pr).await?;
    }
    crate::github::service::tear_down_sandbox(&state, &ctx.task).await;
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
    let pr = ctx
        .forge
        .set_open(&ctx.repo, n, open)
        .await
        .map_err(|e| in_task(&*ctx.forge, e, &ctx.repo))?;
    crate::github::model::save_pr(&mut ctx.conn, ctx.task.id, &pr).await?;
    Ok(pr)
}

/// Closes the task's pull or merge request without merging.
#[utoipa::path(
    tag = "forges", operation_id = "close_task_pull_request", params(("id" = Uuid, Path, description = "Task id")),
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

/// Reopens the task's closed pull or merge request.
#[utoipa::path(
    tag = "forges", operation_id = "reopen_task_pull_request", params(("id" = Uuid, Path, description = "Task id")),
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

/// The conversation and review comments together, oldest first (GitLab's system notes left
/// out).
#[utoipa::path(
    tag = "forges", operation_id = "list_task_pull_request_comments", params(("id" = Uuid, Path, description = "Task id")),
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
    let mut items =
        ctx.forge.comments(&ctx.repo, n).await.map_err(|e| in_task(&*ctx.forge, e, &ctx.repo))?;
    items.sort_by_key(|c| (c.created_at, c.id));
    Ok(web::Json(Page { items, next_cursor: None }))
}

/// The checks (GitHub check runs, GitLab pipeline jobs, Gitea commit statuses) of the task
/// branch's head commit; empty when the branch is not there (yet).
#[utoipa::path(
    tag = "forges", operation_id = "list_task_checks", params(("id" = Uuid, Path, description = "Task id")),
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
    let Some(branch) = ctx.task.branch_name.as_deref() else {
        return Ok(web::Json(TaskChecks { head_sha: None, check_runs: Vec::new() }));
    };
    let checks = ctx
        .forge
        .checks(&ctx.repo, branch)
        .await
        .map_err(|e| in_task(&*ctx.forge, e, &ctx.repo))?;
    Ok(web::Json(checks))
}

/// Registers this module's routes.
pub(super) fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_task_forge)
        .service(create_pull_request)
        .service(get_pull_request)
        .service(merge_pull_request)
        .service(close_pull_request)
        .service(reopen_pull_request)
        .service(list_comments)
        .service(list_checks);
}
