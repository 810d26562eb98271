//! `GET /api/v1/me/repos` and `GET /api/v1/me/task-links`: thin handlers over [`super::model`].

use actix_web::{get, web};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use shared::page::Page;
use shared::repos::{RepoTasks, TaskLink};
use utoipa::IntoParams;

use super::model;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tasks::cursor;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_repos).service(list_task_links);
}

fn page_size(raw: Option<i64>) -> ApiResult<i64> {
    let limit = raw.unwrap_or(100);
    if (1..=100).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::invalid("limit", "must be between 1 and 100"))
    }
}

/// Query of the repository list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReposQuery {
    /// Page size, 1 to 100 (default 100).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The repository a cursor continues after (an opaque encoding of its URL).
fn decode_repo_cursor(raw: &str) -> ApiResult<String> {
    URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|url| !url.is_empty())
        .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor this server issued"))
}

/// The repositories of the caller's tasks with how many tasks each has, ordered by URL.
#[utoipa::path(
    tag = "tasks", operation_id = "list_my_repos", params(ReposQuery),
    responses((status = 200, body = Page<RepoTasks>), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/me/repos")]
async fn list_repos(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<ReposQuery>,
) -> ApiResult<web::Json<Page<RepoTasks>>> {
    let limit = page_size(query.limit)?;
    let after = query.cursor.as_deref().map(decode_repo_cursor).transpose()?;
    let mut conn = state.conn().await?;
    let mut items = model::counts(&mut conn, user.id, after.as_deref(), limit + 1).await?;
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let next_cursor =
        if more { items.last().map(|r| URL_SAFE_NO_PAD.encode(&r.repo_url)) } else { None };
    Ok(web::Json(Page { items, next_cursor }))
}

/// Query of the task links of one repository.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LinksQuery {
    /// The repository URL, as the tasks name it (a forge's `repo_url`).
    repo_url: String,
    /// How many tasks a page covers, 1 to 100 (default 100); a task linked to both an issue
    /// and its pull request gives two links.
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The forge items of one repository that the caller's tasks were started from or opened
/// (issues, pull or merge requests, reverted commits), newest task first: the repository
/// browser marks those items and links to their task.
#[utoipa::path(
    tag = "tasks", operation_id = "list_my_task_links", params(LinksQuery),
    responses((status = 200, body = Page<TaskLink>), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/me/task-links")]
async fn list_task_links(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<LinksQuery>,
) -> ApiResult<web::Json<Page<TaskLink>>> {
    let limit = page_size(query.limit)?;
    let repo_url = query.repo_url.trim();
    if repo_url.is_empty() || repo_url.len() > 2048 {
        return Err(ApiError::invalid("repo_url", "must be 1 to 2048 characters"));
    }
    let before = query.cursor.as_deref().map(cursor::decode).transpose()?;
    let mut conn = state.conn().await?;
    let mut rows = model::linked(&mut conn, user.id, repo_url, before, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor =
        if more { rows.last().map(|r| cursor::encode(r.created_at, r.id)) } else { None };
    let items = rows.iter().flat_map(|r| r.links()).collect();
    Ok(web::Json(Page { items, next_cursor }))
}
