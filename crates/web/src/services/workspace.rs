//! The workspace routes (`docs/workspace.md`): the live sandbox's files for the editor, and the
//! pushed branch's (read-only) when there is no live sandbox.

use gloo_net::http::Method;
use shared::changes::{Changes, FileContent, FileDiff, FileTree};
use shared::workspace::{
    Against, Checkpoint, MoveRequest, NewFile, PathRequest, ResetResult, SyncRequest, SyncResult,
    WorkspaceListing,
};
use uuid::Uuid;

use super::client::{call, call_empty, get, put_raw};
use super::error::ApiError;
use crate::util::encode_component as enc;

fn base(id: Uuid) -> String {
    format!("/tasks/{id}/workspace")
}

/// `GET /tasks/{id}/workspace/entries?path=`: one folder of the live tree.
pub async fn entries(id: Uuid, folder: &str) -> Result<WorkspaceListing, ApiError> {
    get(&format!("{}/entries?path={}", base(id), enc(folder))).await
}

/// `GET /tasks/{id}/workspace/file?path=`.
pub async fn file(id: Uuid, path: &str) -> Result<FileContent, ApiError> {
    get(&format!("{}/file?path={}", base(id), enc(path))).await
}

/// `PUT /tasks/{id}/workspace/file?path=`: saves the text as it is.
pub async fn save(id: Uuid, path: &str, content: String) -> Result<(), ApiError> {
    put_raw(&format!("{}/file?path={}", base(id), enc(path)), content).await
}

/// `POST /tasks/{id}/workspace/files`: a new, empty file.
pub async fn create_file(id: Uuid, path: &str) -> Result<(), ApiError> {
    let body = NewFile { path: path.to_owned(), content: String::new() };
    call_empty(Method::POST, &format!("{}/files", base(id)), Some(&body)).await
}

/// `POST /tasks/{id}/workspace/folders`.
pub async fn create_folder(id: Uuid, path: &str) -> Result<(), ApiError> {
    let body = PathRequest { path: path.to_owned() };
    call_empty(Method::POST, &format!("{}/folders", base(id)), Some(&body)).await
}

/// `POST /tasks/{id}/workspace/moves` (`copy`: `.../copies`).
pub async fn relocate(id: Uuid, from: &str, to: &str, copy: bool) -> Result<(), ApiError> {
    let body = MoveRequest { from: from.to_owned(), to: to.to_owned() };
    let route = if copy { "copies" } else { "moves" };
    call_empty(Method::POST, &format!("{}/{route}", base(id)), Some(&body)).await
}

/// `DELETE /tasks/{id}/workspace/entries?path=`.
pub async fn delete(id: Uuid, path: &str) -> Result<(), ApiError> {
    call_empty::<()>(Method::DELETE, &format!("{}/entries?path={}", base(id), enc(path)), None)
        .await
}

/// `GET /tasks/{id}/files`: every path of the pushed branch (or the idle sandbox).
pub async fn branch_files(id: Uuid) -> Result<FileTree, ApiError> {
    get(&format!("/tasks/{id}/files")).await
}

/// `GET /tasks/{id}/file?path=`: a file of the pushed branch.
pub async fn branch_file(id: Uuid, path: &str) -> Result<FileContent, ApiError> {
    get(&format!("/tasks/{id}/file?path={}", enc(path))).await
}

fn against_query(against: Against) -> &'static str {
    match against {
        Against::Head => "head",
        Against::Base => "base",
    }
}

/// `GET /tasks/{id}/workspace/changes?against=`: the live tree's uncommitted changes.
pub async fn changes(id: Uuid, against: Against) -> Result<Changes, ApiError> {
    get(&format!("{}/changes?against={}", base(id), against_query(against))).await
}

/// `GET /tasks/{id}/workspace/diff?path=&against=`.
pub async fn diff(id: Uuid, path: &str, against: Against) -> Result<FileDiff, ApiError> {
    get(&format!("{}/diff?path={}&against={}", base(id), enc(path), against_query(against))).await
}

/// `POST /tasks/{id}/workspace/discards`.
pub async fn discard(id: Uuid, path: &str) -> Result<(), ApiError> {
    let body = PathRequest { path: path.to_owned() };
    call_empty(Method::POST, &format!("{}/discards", base(id)), Some(&body)).await
}

/// `POST /tasks/{id}/workspace/sync`: commit the manual edits and push.
pub async fn sync(id: Uuid, message: Option<String>) -> Result<SyncResult, ApiError> {
    call(Method::POST, &format!("{}/sync", base(id)), Some(&SyncRequest { message })).await
}

/// `POST /tasks/{id}/workspace/reset`.
pub async fn reset(id: Uuid) -> Result<ResetResult, ApiError> {
    call::<(), _>(Method::POST, &format!("{}/reset", base(id)), None).await
}

/// `GET /tasks/{id}/workspace/checkpoints`.
pub async fn checkpoints(id: Uuid) -> Result<Vec<Checkpoint>, ApiError> {
    get(&format!("{}/checkpoints", base(id))).await
}

/// `POST /tasks/{id}/workspace/checkpoints/{name}/restore`: undoes a reset.
pub async fn restore(id: Uuid, name: &str) -> Result<(), ApiError> {
    let path = format!("{}/checkpoints/{}/restore", base(id), enc(name));
    call_empty::<()>(Method::POST, &path, None).await
}
