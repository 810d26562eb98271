//! `/tasks/{id}/workspace/{changes,diff,discards,sync,reset,checkpoints}`: the live tree's
//! uncommitted changes and what to do with them.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use shared::changes::{Changes, ChangesSource, FileDiff};
use shared::workspace::{Against, Checkpoint, PathRequest, ResetResult, SyncRequest, SyncResult};
use utoipa::IntoParams;
use uuid::Uuid;

use super::service::{checked, live_sandbox, owned, Access};
use super::{changes, publish};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_changes)
        .service(file_diff)
        .service(discard)
        .service(sync)
        .service(reset)
        .service(list_checkpoints)
        .service(restore);
}

/// Query of the live changes.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// `head` (default: what a sync would commit) or `base` (everything the task changed).
    #[serde(default)]
    #[param(inline)]
    against: Against,
}

/// Query of one file's live diff.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    /// Path relative to the repository root.
    path: String,
    /// `head` (default) or `base`.
    #[serde(default)]
    #[param(inline)]
    against: Against,
}

/// The live tree's changes against HEAD or the base branch, untracked files included. Works
/// during a run (git runs inside the sandbox).
#[utoipa::path(
    tag = "workspace", operation_id = "list_workspace_changes",
    params(("id" = Uuid, Path, description = "Task id"), ChangesQuery),
    responses((status = 200, body = Changes), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem, description = "No live sandbox")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}/workspace/changes")]
async fn list_changes(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    query: web::Query<ChangesQuery>,
) -> ApiResult<HttpResponse> {
    let task = owned(&state, &user, *id).await?;
    let (handle, _) = live_sandbox(&state, &task, Access::Read).await?;
    let files = changes::list(&state, &handle, &task, query.against).await?;
    let body =
        Changes { source: ChangesSource::Sandbox, base_branch: task.base_branch.clone(), files };
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(body))
}

/// One file of the live tree against HEAD or the base branch.
#[utoipa::path(
    tag = "workspace", operation_id = "get_workspace_diff",
    params(("id" = Uuid, Path, description = "Task id"), DiffQuery),
    responses((status = 200, body = FileDiff), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem, description = "No live sandbox"), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}/workspace/diff")]
async fn file_diff(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    query: web::Query<DiffQuery>,
) -> ApiResult<HttpResponse> {
    let path = checked("path", &query.path, Access::Read)?;
    let task = owned(&state, &user, *id).await?;
    let (handle, repo) = live_sandbox(&state, &task, Access::Read).await?;
    let diff = changes::diff(&state, &handle, &task, repo, path, query.against).await?;
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(diff))
}

/// Throws away one file's (or folder's) changes: back to HEAD, or removed when HEAD does not
/// have it.
#[utoipa::path(
    tag = "workspace", operation_id = "discard_workspace_changes",
    params(("id" = Uuid, Path, description = "Task id")), request_body = PathRequest,
    responses((status = 204, description = "Discarded"), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem, description = "No live sandbox, or a run is active"), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/workspace/discards")]
async fn discard(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Json<PathRequest>,
) -> ApiResult<HttpResponse> {
    let path = checked("path", &body.path, Access::Change)?;
    let task = owned(&state, &user, *id).await?;
    let (handle, _) = live_sandbox(&state, &task, Access::Change).await?;
    changes::discard(&state, &handle, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Commits every change of the live tree (message typed, or generated through the owner's
/// key) and pushes the task branch. Needs the sandbox idle: no run, terminal or dev server.
#[utoipa::path(
    tag = "workspace", operation_id = "sync_workspace",
    params(("id" = Uuid, Path, description = "Task id")), request_body = SyncRequest,
    responses((status = 200, body = SyncResult), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem, description = "No live sandbox, a run or other sandbox code is active, nothing to sync, or the push was refused")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/workspace/sync")]
async fn sync(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Json<SyncRequest>,
) -> ApiResult<web::Json<SyncResult>> {
    let task = owned(&state, &user, *id).await?;
    let (handle, repo) = live_sandbox(&state, &task, Access::Change).await?;
    Ok(web::Json(publish::sync(&state, &handle, &task, repo, body.message.as_deref()).await?))
}

/// Resets the live tree to the pushed branch. What was there is kept as a checkpoint, which
/// `POST .../checkpoints/{name}/restore` puts back.
#[utoipa::path(
    tag = "workspace", operation_id = "reset_workspace",
    params(("id" = Uuid, Path, description = "Task id")),
    responses((status = 200, body = ResetResult), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem, description = "No live sandbox, a run or other sandbox code is active, or the branch could not be fetched")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/workspace/reset")]
async fn reset(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<ResetResult>> {
    let task = owned(&state, &user, *id).await?;
    let (handle, repo) = live_sandbox(&state, &task, Access::Change).await?;
    Ok(web::Json(publish::reset(&state, &handle, &task, repo).await?))
}

/// The checkpoints resets saved, newest first.
#[utoipa::path(
    tag = "workspace", operation_id = "list_workspace_checkpoints",
    params(("id" = Uuid, Path, description = "Task id")),
    responses((status = 200, body = Vec<Checkpoint>), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem, description = "No live sandbox")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}/workspace/checkpoints")]
async fn list_checkpoints(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<Vec<Checkpoint>>> {
    let task = owned(&state, &user, *id).await?;
    let (handle, _) = live_sandbox(&state, &task, Access::Read).await?;
    Ok(web::Json(publish::checkpoints(&state, &handle).await?))
}

/// Undoes a reset: the tree as the checkpoint saved it, HEAD where it was.
#[utoipa::path(
    tag = "workspace", operation_id = "restore_workspace_checkpoint",
    params(("id" = Uuid, Path, description = "Task id"), ("name" = String, Path, description = "Checkpoint name")),
    responses((status = 204, description = "Restored"), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem, description = "No live sandbox, or a run is active")),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/workspace/checkpoints/{name}/restore")]
async fn restore(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(Uuid, String)>,
) -> ApiResult<HttpResponse> {
    let (id, name) = path.into_inner();
    let task = owned(&state, &user, id).await?;
    if !publish::valid_name(&name) {
        return Err(ApiError::NotFound);
    }
    let (handle, _) = live_sandbox(&state, &task, Access::Change).await?;
    publish::restore(&state, &handle, &task, &name).await?;
    Ok(HttpResponse::NoContent().finish())
}
