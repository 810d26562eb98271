//! A task's changed files, diffs, file tree and file contents: from the live sandbox while it
//! exists, else from the pushed branch. Paths are validated: nothing outside the repository is
//! reachable by `..`, an absolute path or a symlink.

pub mod diff;
pub mod endpoints;
pub mod view;
