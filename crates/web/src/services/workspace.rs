//! The workspace routes the Changes tab uses (`docs/workspace.md`): the live sandbox's
//! uncommitted changes, sync, reset and its undo. The Editor's script calls the file routes
//! itself (`static/editor.js`).

use gloo_net::http::Method;
use shared::changes::{Changes, FileDiff};
use shared::workspace::{Against, ResetResult, SyncRequest, SyncResult};
use uuid::Uuid;

use super::client::{call, call_empty, get};
use super::error::ApiError;
use crate::util::encode_component as enc;

fn base(id: Uuid) -> String {
    format!("/tasks/{id}/workspace")
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

/// `POST /tasks/{id}/workspace/sync`: commit the manual edits and push.
pub async fn sync(id: Uuid, message: Option<String>) -> Result<SyncResult, ApiError> {
    call(Method::POST, &format!("{}/sync", base(id)), Some(&SyncRequest { message })).await
}

/// `POST /tasks/{id}/workspace/reset`.
pub async fn reset(id: Uuid) -> Result<ResetResult, ApiError> {
    call::<(), _>(Method::POST, &format!("{}/reset", base(id)), None).await
}

/// `POST /tasks/{id}/workspace/checkpoints/{name}/restore`: undoes a reset.
pub async fn restore(id: Uuid, name: &str) -> Result<(), ApiError> {
    let path = format!("{}/checkpoints/{}/restore", base(id), enc(name));
    call_empty::<()>(Method::POST, &path, None).await
}
