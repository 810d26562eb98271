//! `/api/v1/tasks`: create, list, read, delete, stop, and the conversation with its
//! follow-ups. Creation and follow-ups go through [`super::service`].

use actix_web::{delete, get, post, web, HttpResponse};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Deserialize;
use shared::page::Page;
use shared::tasks::{CreateMessage, CreateTask, Task, TaskMessage, TaskStatus};
use utoipa::IntoParams;
use uuid::Uuid;

use super::cache::CachedTask;
use super::cursor;
use super::model::{self, ListFilter};
use super::service::{self, TaskRequest};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_task)
        .service(list_tasks)
        .service(delete_tasks)
        .service(get_task)
        .service(delete_task)
        .service(stop_task)
        .service(extend_run)
        .service(list_messages)
        .service(create_message);
}

/// Creates a task and queues its first run. Counts one unit of the daily quota.
#[utoipa::path(
    tag = "tasks", operation_id = "create_task", request_body = CreateTask,
    responses(
        (status = 201, body = Task),
        (status = 400, body = shared::Problem), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem),
        (status = 413, body = shared::Problem), (status = 422, body = shared::Problem), (status = 429, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks")]
async fn create_task(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: web::Json<CreateTask>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let request = TaskRequest {
        prompt: body.prompt,
        repo_url: body.repo_url,
        agent: body.agent,
        model: body.model,
        base_branch: body.base_branch,
        install_dependencies: body.install_dependencies,
        max_duration_minutes: body.max_duration_minutes,
        keep_alive: body.keep_alive,
        create_pr: body.create_pr,
        enable_browser: body.enable_browser,
        connector_ids: body.connector_ids,
        dev_command: body.dev_command,
        dev_port: body.dev_port,
        pull_request: None,
        source_url: None,
    };
    let task = service::create(&state, user.id, request).await?;
    Ok(HttpResponse::Created().json(task.to_dto()))
}

/// Query of the task list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Page size, 1 to 100 (default 20).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Comma-separated statuses to include.
    status: Option<String>,
    /// Only tasks on this repository URL.
    repo: Option<String>,
}

fn parse_statuses(raw: Option<&str>) -> ApiResult<Vec<TaskStatus>> {
    let Some(raw) = raw.filter(|s| !s.trim().is_empty()) else { return Ok(Vec::new()) };
    raw.split(',')
        .map(|s| {
            TaskStatus::parse(s.trim()).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    format!(
                        "`{}` is not a status (pending, processing, completed, error, stopped)",
                        s.trim()
                    ),
                )
            })
        })
        .collect()
}

/// The caller's tasks, newest first, with cursor pagination.
#[utoipa::path(
    tag = "tasks", operation_id = "list_tasks", params(ListQuery),
    responses((status = 200, body = Page<Task>), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks")]
async fn list_tasks(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 100"));
    }
    let filter = ListFilter {
        statuses: parse_statuses(query.status.as_deref())?,
        repo: query.repo.clone(),
        before: query.cursor.as_deref().map(cursor::decode).transpose()?,
        limit: limit + 1,
    };
    let key = (user.id, filter.cache_key());
    let body = match state.tasks.list(&key) {
        Some(body) => body,
        None => {
            let generation = state.tasks.generation();
            let mut conn = state.conn().await?;
            let mut rows = model::list(&mut conn, user.id, &filter).await?;
            drop(conn);
            let more = rows.len() as i64 > limit;
            rows.truncate(limit as usize);
            let next_cursor =
                if more { rows.last().map(|r| cursor::encode(r.created_at, r.id)) } else { None };
            let page = Page { items: rows.iter().map(|r| r.to_dto()).collect(), next_cursor };
            let body = web::Bytes::from(
                serde_json::to_vec(&page).map_err(|e| ApiError::Internal(e.into()))?,
            );
            state.tasks.put_list(generation, key, body.clone());
            body
        }
    };
    Ok(HttpResponse::Ok().content_type(actix_web::http::header::ContentType::json()).body(body))
}

/// One task, with an `ETag`: a request naming it in `If-None-Match` gets `304` while the task
/// is unchanged.
#[utoipa::path(
    tag = "tasks", operation_id = "get_task", params(("id" = Uuid, Path, description = "Task id")),
    responses(
        (status = 200, body = Task), (status = 304, description = "Not modified: the task is as If-None-Match names it"),
        (status = 401, body = shared::Problem), (status = 404, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}")]
async fn get_task(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    req: actix_web::HttpRequest,
) -> ApiResult<HttpResponse> {
    let id = *id;
    let cached = match state.tasks.task(id) {
        Some(hit) => hit,
        None => {
            let generation = state.tasks.generation();
            let mut conn = state.conn().await?;
            let task = model::owned(&mut conn, user.id, id).await?.to_dto();
            drop(conn);
            let body = web::Bytes::from(
                serde_json::to_vec(&task).map_err(|e| ApiError::Internal(e.into()))?,
            );
            let tag = crate::etag::of_bytes(&body);
            let cached = CachedTask { owner: user.id, body, tag };
            state.tasks.put_task(generation, id, cached.clone());
            cached
        }
    };
    // Someone else's task is as unknown as a missing one.
    if cached.owner != user.id {
        return Err(ApiError::NotFound);
    }
    Ok(crate::etag::json_tagged(&req, cached.tag, cached.body))
}

/// Deletes a finished task (soft). A running task must be stopped first (409).
#[utoipa::path(
    tag = "tasks", operation_id = "delete_task", params(("id" = Uuid, Path, description = "Task id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/tasks/{id}")]
async fn delete_task(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let task = model::owned(&mut conn, user.id, *id).await?;
    if !task.status().is_terminal() {
        return Err(ApiError::Conflict("The task is still running; stop it first.".into()));
    }
    model::soft_delete(&mut conn, user.id, Some(task.id), &[]).await?;
    drop(conn);
    if let Some(sandbox_id) = &task.sandbox_id {
        crate::sandboxes::destroy(&*state.sandbox, &state.pool, sandbox_id, "its task was deleted")
            .await?;
    }
    crate::sandboxes::forget_task(&*state.sandbox, task.id).await;
    Ok(HttpResponse::NoContent().finish())
}

/// Query of the bulk delete.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BulkDeleteQuery {
    /// Comma-separated terminal statuses to delete, e.g. `completed,error,stopped`.
    status: String,
}

/// Result of a bulk delete.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Deleted {
    /// How many tasks were deleted.
    pub deleted: usize,
}

/// Deletes all the caller's finished tasks with the given statuses.
#[utoipa::path(
    tag = "tasks", operation_id = "delete_tasks", params(BulkDeleteQuery),
    responses((status = 200, body = Deleted), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/tasks")]
async fn delete_tasks(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<BulkDeleteQuery>,
) -> ApiResult<web::Json<Deleted>> {
    let statuses = parse_statuses(Some(&query.status))?;
    if statuses.is_empty() || statuses.iter().any(|s| !s.is_terminal()) {
        return Err(ApiError::invalid(
            "status",
            "list only finished statuses: completed, error, stopped",
        ));
    }
    let mut conn = state.conn().await?;
    let ids = model::soft_delete(&mut conn, user.id, None, &statuses).await?;
    let kept: Vec<String> = crate::db::schema::tasks::table
        .filter(crate::db::schema::tasks::id.eq_any(&ids))
        .filter(crate::db::schema::tasks::sandbox_id.is_not_null())
        .select(crate::db::schema::tasks::sandbox_id.assume_not_null())
        .load(&mut conn)
        .await?;
    drop(conn);
    for sandbox_id in kept {
        crate::sandboxes::destroy(
            &*state.sandbox,
            &state.pool,
            &sandbox_id,
            "its task was deleted",
        )
        .await?;
    }
    for id in &ids {
        crate::sandboxes::forget_task(&*state.sandbox, *id).await;
    }
    Ok(web::Json(Deleted { deleted: ids.len() }))
}

/// Stops the task: a queued run at once, a running agent within seconds (its whole process
/// group is killed). The status ends `stopped` and stays so.
#[utoipa::path(
    tag = "tasks", operation_id = "stop_task", params(("id" = Uuid, Path, description = "Task id")),
    responses((status = 202, body = Task), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/stop")]
async fn stop_task(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let task = model::owned(&mut conn, user.id, *id).await?;
    let task = model::request_stop(&mut conn, task.id).await?;
    Ok(HttpResponse::Accepted().json(task.to_dto()))
}

/// The conversation: the user's prompts and the agent's final messages, oldest first.
#[utoipa::path(
    tag = "tasks", operation_id = "list_task_messages", params(("id" = Uuid, Path, description = "Task id")),
    responses((status = 200, body = Page<TaskMessage>), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}/messages")]
async fn list_messages(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<Page<TaskMessage>>> {
    let mut conn = state.conn().await?;
    let task = model::owned(&mut conn, user.id, *id).await?;
    Ok(web::Json(Page { items: model::messages(&mut conn, task.id).await?, next_cursor: None }))
}

/// Sends a follow-up: a new run that resumes the agent's session. Counts one unit of quota.
#[utoipa::path(
    tag = "tasks", operation_id = "create_task_message", params(("id" = Uuid, Path, description = "Task id")),
    request_body = CreateMessage,
    responses(
        (status = 202, body = Task), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem),
        (status = 422, body = shared::Problem), (status = 429, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/messages")]
async fn create_message(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Json<CreateMessage>,
) -> ApiResult<HttpResponse> {
    let task = service::follow_up(&state, user.id, *id, body.into_inner().content).await?;
    Ok(HttpResponse::Accepted().json(task.to_dto()))
}

/// Gives the running agent more time: its time limit moves `minutes` later (15 by default), up
/// to the caller's maximum duration counted from the run's start. 409 when no agent runs or the
/// run is at that maximum already.
#[utoipa::path(
    tag = "tasks", operation_id = "extend_run", params(("id" = Uuid, Path, description = "Task id")),
    request_body(content = shared::tasks::ExtendRun, description = "Optional; `{}` adds 15 minutes"),
    responses((status = 200, body = shared::tasks::RunDeadline), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/run/extend")]
async fn extend_run(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Json<shared::tasks::ExtendRun>,
) -> ApiResult<web::Json<shared::tasks::RunDeadline>> {
    Ok(web::Json(super::deadline::extend(&state, user.id, *id, body.into_inner()).await?))
}
