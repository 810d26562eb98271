//! The live sandbox's working tree, read and changed by its owner from the web editor: list a
//! folder, read and save a file, new file or folder, move, copy, delete.
//!
//! Every path goes through `sandbox::workspace::Beneath` (the kernel resolves it beneath the
//! repository and follows no symlink; regular files only; capped at `tasks.max_file_bytes`).
//! That holds while sandbox code runs, so reads work during a run too. Changes are refused
//! with 409 while a run is active: the run would commit them under the agent's message, and
//! the agent would meet files changing under it. A terminal or dev server does not block them.
//! `.git` is never changed here.
//!
//! The uncommitted changes (against HEAD or the base branch), discarding a file's changes,
//! reset and its checkpoints run git inside the sandbox (`git`); sync and the fetch before a
//! reset run hardened git on the host while the sandbox is held idle (`publish`).

pub mod changes;
pub mod endpoints;
pub mod git;
pub mod git_endpoints;
pub mod publish;
pub mod service;
