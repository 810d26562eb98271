//! `/api/v1/tasks`, follow-ups, stop, the quota and the admin limits.

use actix_web::{delete, get, post, put, web, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Deserialize;
use shared::agents::UserLimits;
use shared::page::Page;
use shared::tasks::{
    CreateMessage, CreateTask, Quota, Task, TaskMessage, TaskStatus, PROMPT_MAX_CHARS,
};
use utoipa::IntoParams;
use uuid::Uuid;
use validator::Validate;

use super::limits;
use super::model::{self, FollowUp, ListFilter, NewTask};
use super::validate::{self, TaskInput};
use crate::auth::{AdminUser, CurrentUser};
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
        .service(list_messages)
        .service(create_message)
        .service(get_quota)
        .service(get_user_limits)
        .service(put_user_limits);
}

fn over_quota(limits: limits::Limits) -> ApiError {
    let (_, reset_at) = limits::today();
    ApiError::RateLimited {
        detail: format!(
            "Daily limit of {} tasks and follow-ups reached; it resets at midnight UTC.",
            limits.daily_quota
        ),
        reset_at,
    }
}

/// The deterministic title: the prompt's first line, shortened.
pub fn fallback_title(prompt: &str) -> String {
    let line = prompt.trim().lines().next().unwrap_or_default().trim();
    let mut title: String = line.chars().take(80).collect();
    if line.chars().count() > 80 {
        title.push('…');
    }
    title
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
    let input = TaskInput {
        prompt: &body.prompt,
        repo_url: body.repo_url.trim(),
        agent: &body.agent,
        model: body.model.as_deref(),
        base_branch: body.base_branch.as_deref(),
        max_duration_minutes: body.max_duration_minutes,
    };
    let mut errors = match input.validate() {
        Ok(()) => Default::default(),
        Err(e) => validate::to_map(&e),
    };
    if validate::is_local(body.repo_url.trim()) && !state.settings.tasks.allow_local_repos {
        errors
            .entry("repo_url".into())
            .or_insert_with(Vec::new)
            .push("local repositories are not enabled on this server".into());
    }
    let mut conn = state.conn().await?;
    let limits = limits::effective(&mut conn, &state.settings.tasks, user.id).await?;
    let duration = body.max_duration_minutes.unwrap_or(limits.max_duration_minutes);
    if duration > limits.max_duration_minutes {
        errors
            .entry("max_duration_minutes".into())
            .or_insert_with(Vec::new)
            .push(format!("must be at most {} (your limit)", limits.max_duration_minutes));
    }
    let connector_problems = crate::connectors::endpoints::check_task_connectors(
        &mut conn,
        user.id,
        &body.connector_ids,
    )
    .await?;
    if !connector_problems.is_empty() {
        errors.insert("connector_ids".into(), connector_problems);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let new = NewTask {
        user_id: user.id,
        title: fallback_title(&body.prompt),
        prompt: body.prompt,
        repo_url: body.repo_url.trim().to_owned(),
        agent: body.agent,
        model: body.model,
        base_branch: body.base_branch,
        install_dependencies: body.install_dependencies,
        max_duration_minutes: duration as i32,
        keep_alive: body.keep_alive,
        create_pr: body.create_pr,
        connector_ids: body.connector_ids,
    };
    let Some(task) = model::create(&mut conn, new, limits.daily_quota).await? else {
        return Err(over_quota(limits));
    };
    tracing::info!(user_id = %user.id, task_id = %task.id, agent = %task.agent, "task created");
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

fn parse_statuses(raw: Option<&str>) -> ApiResult<Vec<String>> {
    let Some(raw) = raw.filter(|s| !s.trim().is_empty()) else { return Ok(Vec::new()) };
    raw.split(',')
        .map(|s| {
            TaskStatus::parse(s.trim()).map(|s| s.as_str().to_owned()).ok_or_else(|| {
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

fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.timestamp_micros()))
}

fn decode_cursor(cursor: &str) -> ApiResult<(DateTime<Utc>, Uuid)> {
    let bad = || ApiError::invalid("cursor", "is not a cursor this server issued");
    let text =
        String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?).map_err(|_| bad())?;
    let (micros, id) = text.split_once('|').ok_or_else(bad)?;
    let at = DateTime::from_timestamp_micros(micros.parse().map_err(|_| bad())?).ok_or_else(bad)?;
    Ok((at, id.parse().map_err(|_| bad())?))
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
) -> ApiResult<web::Json<Page<Task>>> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 100"));
    }
    let filter = ListFilter {
        statuses: parse_statuses(query.status.as_deref())?,
        repo: query.repo.clone(),
        before: query.cursor.as_deref().map(decode_cursor).transpose()?,
        limit: limit + 1,
    };
    let mut conn = state.conn().await?;
    let mut rows = model::list(&mut conn, user.id, &filter).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor =
        if more { rows.last().map(|r| encode_cursor(r.created_at, r.id)) } else { None };
    Ok(web::Json(Page { items: rows.iter().map(|r| r.to_dto()).collect(), next_cursor }))
}

/// One task.
#[utoipa::path(
    tag = "tasks", operation_id = "get_task", params(("id" = Uuid, Path, description = "Task id")),
    responses((status = 200, body = Task), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}")]
async fn get_task(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<Task>> {
    let mut conn = state.conn().await?;
    Ok(web::Json(model::owned(&mut conn, user.id, *id).await?.to_dto()))
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
        crate::sandboxes::destroy(&state.settings, &state.pool, sandbox_id, "its task was deleted")
            .await?;
    }
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
    if statuses.is_empty()
        || statuses.iter().any(|s| !TaskStatus::parse(s).is_some_and(TaskStatus::is_terminal))
    {
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
            &state.settings,
            &state.pool,
            &sandbox_id,
            "its task was deleted",
        )
        .await?;
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
    let content = body.into_inner().content;
    if content.trim().is_empty() || content.chars().count() > PROMPT_MAX_CHARS {
        return Err(ApiError::invalid(
            "content",
            format!("must be 1 to {PROMPT_MAX_CHARS} characters"),
        ));
    }
    let mut conn = state.conn().await?;
    let task = model::owned(&mut conn, user.id, *id).await?;
    let limits = limits::effective(&mut conn, &state.settings.tasks, user.id).await?;
    match model::follow_up(&mut conn, &task, content, limits.daily_quota).await? {
        FollowUp::Queued(task) => Ok(HttpResponse::Accepted().json(task.to_dto())),
        FollowUp::Busy => Err(ApiError::Conflict(
            "The task is still running; wait for it to finish or stop it.".into(),
        )),
        FollowUp::OverQuota => Err(over_quota(limits)),
    }
}

/// The caller's daily quota.
#[utoipa::path(
    tag = "tasks", operation_id = "get_quota",
    responses((status = 200, body = Quota), (status = 401, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/me/quota")]
async fn get_quota(state: web::Data<AppState>, user: CurrentUser) -> ApiResult<web::Json<Quota>> {
    let mut conn = state.conn().await?;
    let limits = limits::effective(&mut conn, &state.settings.tasks, user.id).await?;
    let used = limits::used_today(&mut conn, user.id).await?;
    let (_, reset_at) = limits::today();
    Ok(web::Json(Quota {
        used,
        remaining: limits.daily_quota.saturating_sub(used),
        total: limits.daily_quota,
        reset_at,
    }))
}

async fn target_user(state: &AppState, id: Uuid) -> ApiResult<()> {
    let mut conn = state.conn().await?;
    crate::accounts::model::find(&mut conn, id).await?.ok_or(ApiError::NotFound)?;
    Ok(())
}

/// A user's limit overrides (admin).
#[utoipa::path(
    tag = "admin", operation_id = "get_user_limits", params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, body = UserLimits), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/admin/users/{id}/limits")]
async fn get_user_limits(
    state: web::Data<AppState>,
    _admin: AdminUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<UserLimits>> {
    target_user(&state, *id).await?;
    let mut conn = state.conn().await?;
    let (quota, duration) = limits::overrides(&mut conn, *id).await?;
    Ok(web::Json(UserLimits {
        daily_quota: quota.map(|q| q as u32),
        max_duration_minutes: duration.map(|d| d as u32),
    }))
}

/// Sets a user's daily quota and maximum duration (admin); `null` returns to the defaults.
#[utoipa::path(
    tag = "admin", operation_id = "put_user_limits", params(("id" = Uuid, Path, description = "User id")), request_body = UserLimits,
    responses((status = 200, body = UserLimits), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[put("/admin/users/{id}/limits")]
async fn put_user_limits(
    state: web::Data<AppState>,
    _admin: AdminUser,
    id: web::Path<Uuid>,
    body: web::Json<UserLimits>,
) -> ApiResult<web::Json<UserLimits>> {
    let body = body.into_inner();
    if body.max_duration_minutes == Some(0) {
        return Err(ApiError::invalid("max_duration_minutes", "must be at least 1"));
    }
    let to_i32 =
        |v: u32| i32::try_from(v).map_err(|_| ApiError::invalid("daily_quota", "is too large"));
    let quota = body.daily_quota.map(to_i32).transpose()?;
    let duration = body.max_duration_minutes.map(to_i32).transpose()?;
    target_user(&state, *id).await?;
    let mut conn = state.conn().await?;
    limits::set(&mut conn, *id, quota, duration).await?;
    Ok(web::Json(body))
}
