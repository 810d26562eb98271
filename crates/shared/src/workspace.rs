//! The live sandbox's working tree, as the web editor reads and changes it.

use serde::{Deserialize, Serialize};

/// What a directory entry is (by `lstat`: links are never followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A regular file: it can be opened, saved, copied.
    File,
    /// A directory.
    Directory,
    /// A symbolic link; shown, never followed.
    Symlink,
    /// A FIFO, socket or device; shown, never opened.
    Other,
}

/// One entry of a directory of the working tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspaceEntry {
    /// Its name.
    pub name: String,
    /// Its path relative to the repository root.
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// Size in bytes.
    pub size: u64,
}

/// `GET /api/v1/tasks/{id}/workspace/entries?path=`: one directory, folders first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspaceListing {
    /// The directory, relative to the repository root (`""` for the root).
    pub path: String,
    /// Its entries.
    pub entries: Vec<WorkspaceEntry>,
    /// Whether the directory held more entries than are listed.
    pub truncated: bool,
}

/// A body naming one path: a new folder, a file whose changes to discard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PathRequest {
    /// Path relative to the repository root.
    pub path: String,
}

/// `POST /api/v1/tasks/{id}/workspace/files`: a new file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewFile {
    /// Path relative to the repository root; its folder must exist.
    pub path: String,
    /// Its text.
    #[serde(default)]
    pub content: String,
}

/// A body moving or copying one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// The entry, relative to the repository root.
    pub from: String,
    /// Where it goes; nothing may be there yet.
    pub to: String,
}

/// What the live tree's uncommitted changes are compared with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Against {
    /// The sandbox's last commit: what a sync would commit.
    #[default]
    Head,
    /// Where the task branch forked from its base branch: everything the task changed.
    Base,
}

/// `POST /api/v1/tasks/{id}/workspace/sync`: commit the manual edits and push.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// The commit message; generated through the owner's key (as the pipeline does) when
    /// absent or blank.
    #[serde(default)]
    pub message: Option<String>,
}

/// What a sync committed and pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncResult {
    /// The new commit, now on the task branch.
    pub commit: String,
    /// Its message.
    pub message: String,
    /// The files it changed.
    pub files: Vec<String>,
}

/// A state of the working tree saved before a reset, to undo it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Checkpoint {
    /// Its name, `refs/drydock/checkpoints/<name>` in the sandbox's repository.
    pub name: String,
    /// The commit holding the tree as it was.
    pub commit: String,
}

/// What `POST /api/v1/tasks/{id}/workspace/reset` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResetResult {
    /// The tree as it was, for `POST .../checkpoints/{name}/restore`.
    pub checkpoint: Checkpoint,
    /// The pushed commit the tree now matches.
    pub head: String,
}
