//! `/tasks/{id}/workspace/...`: the live working tree for the web editor.

use actix_web::{delete, get, post, put, web, HttpResponse};
use base64::Engine;
use futures_util::StreamExt;
use serde::Deserialize;
use shared::changes::FileContent;
use shared::workspace::{
    EntryKind, MoveRequest, NewFile, PathRequest, WorkspaceEntry, WorkspaceListing,
};
use utoipa::IntoParams;
use uuid::Uuid;

use super::service::{checked, live_repo, on_tree, owned, Access};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_entries)
        .service(read_file)
        .service(save_file)
        .service(create_file)
        .service(create_folder)
        .service(move_entry)
        .service(copy_file)
        .service(delete_entry);
}

/// Most entries one folder listing returns.
const MAX_ENTRIES: usize = 5000;

/// Query naming one folder (empty or absent for the root).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FolderQuery {
    /// Folder relative to the repository root; the root when absent.
    #[serde(default)]
    path: String,
}

/// Query naming one entry.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EntryQuery {
    /// Path relative to the repository root.
    path: String,
}

/// One folder of the live sandbox's working tree, folders first. Links are listed, never
/// followed.
#[utoipa::path(
    tag = "workspace", operation_id = "list_workspace_entries",
    params(("id" = Uuid, Path, description = "Task id"), FolderQuery),
    responses((status = 200, body = WorkspaceListing), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem, description = "No live sandbox"), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}/workspace/entries")]
async fn list_entries(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    query: web::Query<FolderQuery>,
) -> ApiResult<web::Json<WorkspaceListing>> {
    let folder = match query.path.trim_matches('/') {
        "" => String::new(),
        path => checked("path", path, Access::Read)?,
    };
    let task = owned(&state, &user, *id).await?;
    let repo = live_repo(&state, &task, Access::Read).await?;
    let dir = folder.clone();
    let listing = on_tree(repo, "path", move |fs| fs.list(&dir, MAX_ENTRIES)).await?;
    let join =
        |name: &str| if folder.is_empty() { name.to_owned() } else { format!("{folder}/{name}") };
    Ok(web::Json(WorkspaceListing {
        entries: listing
            .entries
            .into_iter()
            .map(|e| WorkspaceEntry {
                path: join(&e.name),
                kind: match e.kind {
                    sandbox::workspace::EntryKind::File => EntryKind::File,
                    sandbox::workspace::EntryKind::Directory => EntryKind::Directory,
                    sandbox::workspace::EntryKind::Symlink => EntryKind::Symlink,
                    sandbox::workspace::EntryKind::Other => EntryKind::Other,
                },
                name: e.name,
                size: e.size,
            })
            .collect(),
        truncated: listing.truncated,
        path: folder,
    }))
}

/// One regular file of the live working tree, whole (up to `tasks.max_file_bytes`); text as
/// UTF-8, anything else as base64.
#[utoipa::path(
    tag = "workspace", operation_id = "get_workspace_file",
    params(("id" = Uuid, Path, description = "Task id"), EntryQuery),
    responses((status = 200, body = FileContent), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem, description = "No live sandbox"), (status = 422, body = shared::Problem, description = "Not a regular file, a link, outside the repository, or too large")),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/tasks/{id}/workspace/file")]
async fn read_file(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    query: web::Query<EntryQuery>,
) -> ApiResult<HttpResponse> {
    let path = checked("path", &query.path, Access::Read)?;
    let task = owned(&state, &user, *id).await?;
    let repo = live_repo(&state, &task, Access::Read).await?;
    let max = state.settings.tasks.max_file_bytes;
    let rel = path.clone();
    let bytes = on_tree(repo, "path", move |fs| fs.read(&rel, max)).await?;
    let text = String::from_utf8(bytes).map_err(|e| e.into_bytes());
    let binary = text.is_err() || text.as_deref().is_ok_and(|t| t.contains('\0'));
    let (content, content_base64, size) = match text {
        Ok(text) if !binary => {
            let size = text.len() as u64;
            (Some(text), None, size)
        }
        Ok(text) => {
            let size = text.len() as u64;
            (None, Some(base64::engine::general_purpose::STANDARD.encode(text)), size)
        }
        Err(bytes) => (
            None,
            Some(base64::engine::general_purpose::STANDARD.encode(&bytes)),
            bytes.len() as u64,
        ),
    };
    // Never cached: the file changes under the editor.
    Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(FileContent {
        path,
        content,
        content_base64,
        binary,
        size,
        truncated: false,
    }))
}

/// Saves a file: the body is its new content, raw (at most `tasks.max_file_bytes`). Replaces
/// a regular file or creates one in an existing folder.
#[utoipa::path(
    tag = "workspace", operation_id = "put_workspace_file",
    params(("id" = Uuid, Path, description = "Task id"), EntryQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 204, description = "Saved"), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem, description = "No such task, or its folder does not exist"), (status = 409, body = shared::Problem, description = "No live sandbox, or a run is active"), (status = 413, body = shared::Problem), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[put("/tasks/{id}/workspace/file")]
async fn save_file(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    query: web::Query<EntryQuery>,
    mut body: web::Payload,
) -> ApiResult<HttpResponse> {
    let path = checked("path", &query.path, Access::Change)?;
    let task = owned(&state, &user, *id).await?;
    let repo = live_repo(&state, &task, Access::Change).await?;
    let limit = usize::try_from(state.settings.tasks.max_file_bytes).unwrap_or(usize::MAX);
    let mut contents = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| ApiError::BadRequest("Unreadable body.".into()))?;
        if contents.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge);
        }
        contents.extend_from_slice(&chunk);
    }
    on_tree(repo, "path", move |fs| fs.write(&path, &contents, false)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new text file; its folder must exist and nothing may be at its path.
#[utoipa::path(
    tag = "workspace", operation_id = "create_workspace_file",
    params(("id" = Uuid, Path, description = "Task id")), request_body = NewFile,
    responses((status = 201, description = "Created"), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem, description = "Exists, no live sandbox, or a run is active"), (status = 413, body = shared::Problem), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/workspace/files")]
async fn create_file(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Json<NewFile>,
) -> ApiResult<HttpResponse> {
    let NewFile { path, content } = body.into_inner();
    let path = checked("path", &path, Access::Change)?;
    let task = owned(&state, &user, *id).await?;
    let repo = live_repo(&state, &task, Access::Change).await?;
    on_tree(repo, "path", move |fs| fs.write(&path, content.as_bytes(), true)).await?;
    Ok(HttpResponse::Created().finish())
}

/// A new, empty folder in an existing one.
#[utoipa::path(
    tag = "workspace", operation_id = "create_workspace_folder",
    params(("id" = Uuid, Path, description = "Task id")), request_body = PathRequest,
    responses((status = 201, description = "Created"), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem, description = "Exists, no live sandbox, or a run is active"), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/workspace/folders")]
async fn create_folder(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Json<PathRequest>,
) -> ApiResult<HttpResponse> {
    let path = checked("path", &body.path, Access::Change)?;
    let task = owned(&state, &user, *id).await?;
    let repo = live_repo(&state, &task, Access::Change).await?;
    on_tree(repo, "path", move |fs| fs.create_dir(&path)).await?;
    Ok(HttpResponse::Created().finish())
}

/// Renames or moves a file, folder or link; never replaces what is at the target.
#[utoipa::path(
    tag = "workspace", operation_id = "move_workspace_entry",
    params(("id" = Uuid, Path, description = "Task id")), request_body = MoveRequest,
    responses((status = 204, description = "Moved"), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem, description = "The target exists, no live sandbox, or a run is active"), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/workspace/moves")]
async fn move_entry(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Json<MoveRequest>,
) -> ApiResult<HttpResponse> {
    let from = checked("from", &body.from, Access::Change)?;
    let to = checked("to", &body.to, Access::Change)?;
    let task = owned(&state, &user, *id).await?;
    let repo = live_repo(&state, &task, Access::Change).await?;
    on_tree(repo, "from", move |fs| fs.rename(&from, &to)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Copies a regular file to a new path (at most `tasks.max_file_bytes`).
#[utoipa::path(
    tag = "workspace", operation_id = "copy_workspace_file",
    params(("id" = Uuid, Path, description = "Task id")), request_body = MoveRequest,
    responses((status = 201, description = "Copied"), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem, description = "The target exists, no live sandbox, or a run is active"), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/tasks/{id}/workspace/copies")]
async fn copy_file(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Json<MoveRequest>,
) -> ApiResult<HttpResponse> {
    let from = checked("from", &body.from, Access::Read)?;
    let to = checked("to", &body.to, Access::Change)?;
    let task = owned(&state, &user, *id).await?;
    let repo = live_repo(&state, &task, Access::Change).await?;
    let max = state.settings.tasks.max_file_bytes;
    on_tree(repo, "from", move |fs| fs.copy(&from, &to, max)).await?;
    Ok(HttpResponse::Created().finish())
}

/// Deletes a file or link (never what it points at), or a folder with everything in it.
#[utoipa::path(
    tag = "workspace", operation_id = "delete_workspace_entry",
    params(("id" = Uuid, Path, description = "Task id"), EntryQuery),
    responses((status = 204, description = "Deleted"), (status = 401, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem, description = "No live sandbox, or a run is active"), (status = 422, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/tasks/{id}/workspace/entries")]
async fn delete_entry(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<Uuid>,
    query: web::Query<EntryQuery>,
) -> ApiResult<HttpResponse> {
    let path = checked("path", &query.path, Access::Change)?;
    let task = owned(&state, &user, *id).await?;
    let repo = live_repo(&state, &task, Access::Change).await?;
    on_tree(repo, "path", move |fs| fs.remove(&path)).await?;
    Ok(HttpResponse::NoContent().finish())
}
