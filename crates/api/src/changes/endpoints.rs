//! `/tasks/{id}/changes`, `/diff`, `/files`, `/file`.

use actix_web::{get, web};
use base64::Engine;
use serde::Deserialize;
use shared::changes::{ChangedFile, Changes, ChangesSource, FileContent, FileDiff, FileTree};
use utoipa::IntoParams;
use uuid::Uuid;

use super::diff::{file_diff_of, is_binary};
use super::view;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tasks::model as tasks;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_changes).service(file_diff).service(list_files).service(file_content);
}

/// Query naming one file.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PathQuery {
    /// Path relative to the repository root.
    path: String,
}

fn checked(path: &str) -> ApiResult<String> {
    sandbox::files::validate_relative(path)
        .map(|p| p.to_string_lossy().into_owned())
        .map_err(|e| ApiError::invalid("path", e.to_string()))
}

/// The files the task changed against its base, with additions and deletions.
#[utoipa::path(
    tag = "tasks", operation_id = "list_task_changes", params(("id" = Uuid, Path, description = "Task id")),
    responses((status = 200, body = Changes), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}/changes")]
async fn list_changes(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<Changes>> {
    let task = tasks::owned(&mut *state.conn().await?, user.id, *id).await?;
    let view = view::open(&state, &task).await?;
    let files = view::reader(&state)
        .changed_files(&view.repo)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(web::Json(Changes {
        source: view.source,
        base_branch: task.base_branch.clone(),
        files: files
            .into_iter()
            .map(|f| ChangedFile {
                path: f.path,
                old_path: f.old_path,
                status: f.status.as_str().to_owned(),
                additions: f.additions,
                deletions: f.deletions,
                binary: f.binary,
            })
            .collect(),
    }))
}

/// One file's old and new content and a unified diff. Binary and image files are flagged.
#[utoipa::path(
    tag = "tasks", operation_id = "get_task_diff", params(("id" = Uuid, Path, description = "Task id"), PathQuery),
    responses((status = 200, body = FileDiff), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}/diff")]
async fn file_diff(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    query: web::Query<PathQuery>,
) -> ApiResult<web::Json<FileDiff>> {
    let path = checked(&query.path)?;
    let task = tasks::owned(&mut *state.conn().await?, user.id, *id).await?;
    let view = view::open(&state, &task).await?;
    let git = view::reader(&state);
    let internal = |e: sandbox::git::GitError| ApiError::Internal(e.into());
    let old = git.file_at_base(&view.repo, &path).await.map_err(internal)?;
    let new = match view.source {
        ChangesSource::Sandbox => sandbox::files::read_beneath(&view.repo.dir, &path).ok(),
        ChangesSource::Branch => git.file_at_head(&view.repo, &path).await.map_err(internal)?,
    };
    if old.is_none() && new.is_none() {
        return Err(ApiError::NotFound);
    }
    Ok(web::Json(file_diff_of(path, old, new)))
}

/// Every file of the task's repository (the live sandbox's working tree, or the branch).
#[utoipa::path(
    tag = "tasks", operation_id = "list_task_files", params(("id" = Uuid, Path, description = "Task id")),
    responses((status = 200, body = FileTree), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}/files")]
async fn list_files(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<FileTree>> {
    let task = tasks::owned(&mut *state.conn().await?, user.id, *id).await?;
    let view = view::open(&state, &task).await?;
    let paths = view::reader(&state)
        .ls_files(&view.repo.dir)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(web::Json(FileTree { source: view.source, paths }))
}

/// One file's content; text as UTF-8, binary as base64.
#[utoipa::path(
    tag = "tasks", operation_id = "get_task_file", params(("id" = Uuid, Path, description = "Task id"), PathQuery),
    responses((status = 200, body = FileContent), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}/file")]
async fn file_content(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    query: web::Query<PathQuery>,
) -> ApiResult<web::Json<FileContent>> {
    let path = checked(&query.path)?;
    let task = tasks::owned(&mut *state.conn().await?, user.id, *id).await?;
    let view = view::open(&state, &task).await?;
    let max = state.settings.tasks.max_file_bytes;
    let read = match view.source {
        ChangesSource::Sandbox => {
            let (dir, rel) = (view.repo.dir.clone(), path.clone());
            let read = tokio::task::spawn_blocking(move || {
                sandbox::files::read_regular_beneath(&dir, &rel, max)
            })
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
            match read {
                Ok(read) => Some(read),
                Err(sandbox::SandboxError::InvalidPath { reason, .. }) => {
                    return Err(ApiError::invalid("path", reason))
                }
                Err(_) => None,
            }
        }
        ChangesSource::Branch => view::reader(&state)
            .file_at_head(&view.repo, &path)
            .await
            .map_err(|e| ApiError::Internal(e.into()))?
            .map(|mut bytes| {
                let size = bytes.len() as u64;
                bytes.truncate(usize::try_from(max).unwrap_or(usize::MAX));
                sandbox::files::FileRead { truncated: size > bytes.len() as u64, bytes, size }
            }),
    };
    let read = read.ok_or(ApiError::NotFound)?;
    let bytes = read.bytes;
    let binary = is_binary(&bytes);
    Ok(web::Json(FileContent {
        size: read.size,
        truncated: read.truncated,
        content: (!binary).then(|| String::from_utf8_lossy(&bytes).into_owned()),
        content_base64: binary.then(|| base64::engine::general_purpose::STANDARD.encode(&bytes)),
        binary,
        path,
    }))
}
