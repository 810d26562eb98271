//! A task's changed files, diffs and file tree.

use serde::{Deserialize, Serialize};

/// One changed file against the task's base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangedFile {
    /// Path relative to the repository root.
    pub path: String,
    /// The previous path, for renames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    /// `added`, `modified`, `deleted`, `renamed`, ...
    pub status: String,
    /// Lines added.
    pub additions: u64,
    /// Lines deleted.
    pub deletions: u64,
    /// Whether git considers the file binary.
    pub binary: bool,
}

/// Where file data was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChangesSource {
    /// The task's live (kept-alive) sandbox.
    Sandbox,
    /// The pushed branch.
    Branch,
}

/// `GET /api/v1/tasks/{id}/changes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Changes {
    /// Where this was read from.
    pub source: ChangesSource,
    /// The base the changes are against.
    pub base_branch: Option<String>,
    /// The changed files.
    pub files: Vec<ChangedFile>,
}

/// `GET /api/v1/tasks/{id}/diff?path=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileDiff {
    /// The file.
    pub path: String,
    /// Content at the base; absent for added files and binary files.
    pub old_content: Option<String>,
    /// Content now; absent for deleted files and binary files.
    pub new_content: Option<String>,
    /// A unified diff; absent for binary files.
    pub patch: Option<String>,
    /// Whether the file is binary.
    pub binary: bool,
    /// Whether the file is an image (by extension), which a viewer may show as pictures.
    pub image: bool,
}

/// `GET /api/v1/tasks/{id}/files`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileTree {
    /// Where this was read from.
    pub source: ChangesSource,
    /// Every file path, sorted.
    pub paths: Vec<String>,
}

/// `GET /api/v1/tasks/{id}/file?path=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileContent {
    /// The file.
    pub path: String,
    /// Text content, for text files.
    pub content: Option<String>,
    /// Base64 content, for binary files.
    pub content_base64: Option<String>,
    /// Whether the file is binary.
    pub binary: bool,
    /// Size in bytes of the whole file.
    pub size: u64,
    /// The content holds only the first `max_file_bytes` of a larger file.
    #[serde(default)]
    pub truncated: bool,
}
