//! Changed files and diffs of a task (`/tasks/{id}/changes`, `/tasks/{id}/diff`).

use serde::Deserialize;

/// One changed file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ChangedFile {
    /// Path relative to the repository root.
    pub path: String,
    /// `added`, `modified`, `deleted` or `renamed`.
    #[serde(default, alias = "change")]
    pub status: String,
    /// Lines added.
    #[serde(default)]
    pub additions: u32,
    /// Lines removed.
    #[serde(default)]
    pub deletions: u32,
}

/// The changes answer: a page/list of files or `{"files": [...]}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Changes {
    /// `{"files": [...]}`.
    Files {
        /// The files.
        files: Vec<ChangedFile>,
    },
    /// A page or a bare list.
    List(super::ListOrPage<ChangedFile>),
}

impl Changes {
    /// The files.
    pub fn into_files(self) -> Vec<ChangedFile> {
        match self {
            Self::Files { files } => files,
            Self::List(l) => l.into_page().items,
        }
    }
}

/// A file's old and new content (or a ready-made patch).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct FileDiff {
    /// Content before the task, absent for added files.
    #[serde(default, alias = "old_content", alias = "before")]
    pub old: Option<String>,
    /// Content after the task, absent for deleted files.
    #[serde(default, alias = "new_content", alias = "after")]
    pub new: Option<String>,
    /// A unified patch, when the API sends one instead.
    #[serde(default, alias = "diff")]
    pub patch: Option<String>,
    /// Whether the file is binary.
    #[serde(default)]
    pub binary: bool,
}
