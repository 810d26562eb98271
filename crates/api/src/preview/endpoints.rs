//! `/api/v1/tasks/{id}/preview` and `/api/v1/tasks/{id}/dev-server[/start|/restart|/stop]`.

use actix_web::{get, post, web, HttpResponse};
use shared::preview::{DevServer, PreviewLink};
use uuid::Uuid;

use super::devserver::{self, Deps};
use super::grants;
use crate::auth::CurrentUser;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::tasks::model;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_preview_link)
        .service(get_dev_server)
        .service(start_dev_server)
        .service(restart_dev_server)
        .service(stop_dev_server);
}

fn deps(state: &AppState) -> Deps {
    Deps::of(state)
}

/// A one-time link to the task's preview. Opening it (once, within `preview.link_ttl_secs`)
/// sets the preview's own short-lived cookie, bound to this task, and redirects to the
/// preview; the main session cookie never goes to the preview. Only the task's owner gets one.
#[utoipa::path(
    tag = "preview", operation_id = "create_preview_link", params(("id" = Uuid, Path, description = "Task id")),
    responses((status = 201, body = PreviewLink), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/preview")]
async fn create_preview_link(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let task = model::owned(&mut conn, user.id, *id).await?;
    let link = grants::create_link(&mut conn, &state.settings, task.id, user.id).await?;
    Ok(HttpResponse::Created().insert_header(("cache-control", "no-store")).json(link))
}

/// The task's dev server: `not_found`, `stopped`, `running` or `exited` (with its exit code),
/// the command and the port previewed.
#[utoipa::path(
    tag = "preview", operation_id = "get_dev_server", params(("id" = Uuid, Path, description = "Task id")),
    responses((status = 200, body = DevServer), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}/dev-server")]
async fn get_dev_server(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<DevServer>> {
    let mut conn = state.conn().await?;
    let task = model::owned(&mut conn, user.id, *id).await?;
    drop(conn);
    Ok(web::Json(devserver::status(&deps(&state), task.id, task.sandbox_id.as_deref()).await?))
}

/// Starts the dev server in the task's live sandbox, with `PORT` set to the port previewed.
/// 409 when the task has no live sandbox or the server runs already; 422 when no dev server
/// is found.
#[utoipa::path(
    tag = "preview", operation_id = "start_dev_server", params(("id" = Uuid, Path, description = "Task id")),
    responses((status = 202, body = DevServer), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/dev-server/start")]
async fn start_dev_server(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let task = model::owned(&mut conn, user.id, *id).await?;
    drop(conn);
    let server = devserver::start(&deps(&state), task.id, task.sandbox_id.as_deref()).await?;
    Ok(HttpResponse::Accepted().json(server))
}

/// Stops the dev server if it runs, then starts it again (picking up a changed command).
#[utoipa::path(
    tag = "preview", operation_id = "restart_dev_server", params(("id" = Uuid, Path, description = "Task id")),
    responses((status = 202, body = DevServer), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/dev-server/restart")]
async fn restart_dev_server(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let task = model::owned(&mut conn, user.id, *id).await?;
    drop(conn);
    let deps = deps(&state);
    devserver::stop(&deps, task.id).await?;
    let server = devserver::start(&deps, task.id, task.sandbox_id.as_deref()).await?;
    Ok(HttpResponse::Accepted().json(server))
}

/// Stops the dev server (its whole process tree) and waits until it is gone.
#[utoipa::path(
    tag = "preview", operation_id = "stop_dev_server", params(("id" = Uuid, Path, description = "Task id")),
    responses((status = 200, body = DevServer), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/dev-server/stop")]
async fn stop_dev_server(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<DevServer>> {
    let mut conn = state.conn().await?;
    let task = model::owned(&mut conn, user.id, *id).await?;
    drop(conn);
    let deps = deps(&state);
    devserver::stop(&deps, task.id).await?;
    Ok(web::Json(devserver::status(&deps, task.id, task.sandbox_id.as_deref()).await?))
}
