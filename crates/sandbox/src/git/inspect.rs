//! Read-only git queries on a workspace, for callers outside the pipeline (the changes view,
//! the file list, "did the agent commit?").
//!
//! A plain `git -C <workspace>` is wrong there twice over: the workspace belongs to the
//! sandbox's uid, so git run as root refuses it ("detected dubious ownership"), and the agent
//! wrote its `.git/config`, so honouring that (fsmonitor, aliases, filters) would run the
//! agent's commands on the host. These queries get the same hardening as the pipeline's own
//! commands, with `GIT_DIR` pinned (which is also why ownership is not checked).

use std::path::Path;

use super::command::GitCommand;
use super::{Git, GitError};

impl Git {
    /// Runs a read-only git command in the working tree `dir` and returns its stdout; a
    /// non-zero exit is [`GitError::Failed`]. For queries such as `rev-parse`, `merge-base` or
    /// `ls-files`; never give it a command that writes or talks to a remote.
    pub async fn query(&self, dir: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
        let output = self.run_ok(GitCommand::new(args.iter().copied()).in_repo(dir)).await?;
        Ok(output.stdout)
    }

    /// The commit `HEAD` of `dir` points at, or `None` when there is none (an empty repository)
    /// or `dir` is no repository.
    pub async fn head(&self, dir: &Path) -> Option<String> {
        let out = self.query(dir, &["rev-parse", "--verify", "-q", "HEAD"]).await.ok()?;
        let head = String::from_utf8_lossy(&out).trim().to_owned();
        (!head.is_empty()).then_some(head)
    }
}
