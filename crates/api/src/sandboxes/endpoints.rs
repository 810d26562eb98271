//! `/api/v1/sandboxes` and `/api/v1/tasks/{id}/sandbox`: the live sandboxes, and one task's
//! sandbox with its start, stop and extend. Thin: the use cases are in [`super::service`].

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use shared::page::Page;
use shared::sandboxes::{ExtendSandbox, SandboxSummary, TaskSandbox};
use utoipa::IntoParams;
use uuid::Uuid;

use super::service::{self, Started};
use crate::auth::CurrentUser;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::tasks::model;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_sandboxes)
        .service(get_task_sandbox)
        .service(start_task_sandbox)
        .service(stop_task_sandbox)
        .service(extend_task_sandbox);
}

/// Query of the sandbox list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Everyone's sandboxes (administrators only; others get 403).
    all: Option<bool>,
}

/// The caller's live sandboxes (running or starting), newest task first.
#[utoipa::path(
    tag = "sandboxes", operation_id = "list_sandboxes", params(ListQuery),
    responses((status = 200, body = Page<SandboxSummary>), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/sandboxes")]
async fn list_sandboxes(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<ListQuery>,
) -> ApiResult<web::Json<Page<SandboxSummary>>> {
    let items = service::list(&state, &user, query.all.unwrap_or(false)).await?;
    Ok(web::Json(Page { items, next_cursor: None }))
}

/// The task's sandbox: starting, running, stopped or error, with expiry and usage.
#[utoipa::path(
    tag = "sandboxes", operation_id = "get_task_sandbox", params(("id" = Uuid, Path, description = "Task id")),
    responses((status = 200, body = TaskSandbox), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}/sandbox")]
async fn get_task_sandbox(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<TaskSandbox>> {
    let mut conn = state.conn().await?;
    let task = model::owned(&mut conn, user.id, *id).await?;
    drop(conn);
    Ok(web::Json(service::status(&state, &task).await?))
}

/// Gives the task a live sandbox: 200 when it already has one (its expiry moves to at least the
/// keep-alive time), 202 while a new one is built from the pushed branch (poll the status). 409
/// while a run is active or before a branch was pushed.
#[utoipa::path(
    tag = "sandboxes", operation_id = "start_task_sandbox", params(("id" = Uuid, Path, description = "Task id")),
    responses((status = 200, body = TaskSandbox), (status = 202, body = TaskSandbox), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/sandbox/start")]
async fn start_task_sandbox(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(match service::start(&state, user.id, *id).await? {
        Started::Running(view) => HttpResponse::Ok().json(view),
        Started::Starting(view) => HttpResponse::Accepted().json(view),
    })
}

/// Stops the task's sandbox: kills its processes and removes it, keeping the agent's session
/// files for the next one (a start or a follow-up builds it again from the pushed branch).
/// 409 while a run is active or when there is none.
#[utoipa::path(
    tag = "sandboxes", operation_id = "stop_task_sandbox", params(("id" = Uuid, Path, description = "Task id")),
    responses((status = 200, body = TaskSandbox), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/sandbox/stop")]
async fn stop_task_sandbox(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<TaskSandbox>> {
    Ok(web::Json(service::stop(&state, user.id, *id).await?))
}

/// Keeps the live sandbox `minutes` from now (default and maximum: `tasks.keep_alive_minutes`;
/// more is 422). 409 when there is none.
#[utoipa::path(
    tag = "sandboxes", operation_id = "extend_task_sandbox", params(("id" = Uuid, Path, description = "Task id")),
    request_body(content = ExtendSandbox, description = "Optional; `{}` keeps it the default time"),
    responses((status = 200, body = TaskSandbox), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/sandbox/extend")]
async fn extend_task_sandbox(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Json<ExtendSandbox>,
) -> ApiResult<web::Json<TaskSandbox>> {
    Ok(web::Json(service::extend(&state, user.id, *id, body.into_inner()).await?))
}
