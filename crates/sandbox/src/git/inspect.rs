//! Small read-only questions about a working tree, and the one branch manoeuvre a follow-up
//! needs. They run with the same hardening as every other host-side git command (no hooks, no
//! fsmonitor, no system or global config), so a tree the agent wrote cannot make them run code.

use std::path::Path;

use super::command::GitCommand;
use super::{Git, GitError};

impl Git {
    /// Runs a read-only git command in the working tree `dir` and returns its stdout; a
    /// non-zero exit is [`GitError::Failed`]. For queries such as `rev-parse` or `ls-files`;
    /// never give it a command that writes or talks to a remote. `GIT_DIR` is pinned, which is
    /// also why a workspace owned by the sandbox's uid is not refused as "dubious".
    pub async fn query(&self, dir: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
        let output = self.run_ok(GitCommand::new(args.iter().copied()).in_repo(dir)).await?;
        Ok(output.stdout)
    }

    /// The commit `HEAD` points at; `None` on an unborn branch (a repository that started
    /// empty and has no commit yet).
    pub async fn head(&self, dir: &Path) -> Result<Option<String>, GitError> {
        let out =
            self.run(GitCommand::new(["rev-parse", "--verify", "-q", "HEAD"]).in_repo(dir)).await?;
        Ok(out.success().then(|| out.stdout_text().trim().to_owned()).filter(|s| !s.is_empty()))
    }

    /// The merge base of `HEAD` and the remote's `base` branch as last fetched; `None` when
    /// either side is missing or they share no history.
    pub async fn merge_base(&self, dir: &Path, base: &str) -> Result<Option<String>, GitError> {
        let remote = format!("refs/remotes/origin/{base}");
        let out =
            self.run(GitCommand::new(["merge-base", "HEAD", remote.as_str()]).in_repo(dir)).await?;
        Ok(out.success().then(|| out.stdout_text().trim().to_owned()).filter(|s| !s.is_empty()))
    }

    /// Every path of the working tree git would show: tracked files and untracked ones that
    /// are not ignored, sorted and without duplicates.
    pub async fn ls_files(&self, dir: &Path) -> Result<Vec<String>, GitError> {
        let out = self
            .run_ok(
                GitCommand::new([
                    "-c",
                    "core.quotePath=false",
                    "ls-files",
                    "-z",
                    "--cached",
                    "--others",
                    "--exclude-standard",
                ])
                .in_repo(dir),
            )
            .await?;
        let mut paths: Vec<String> = out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        paths.sort();
        paths.dedup();
        Ok(paths)
    }

    /// Renames the checked-out branch `from` to `to`, replacing a local `to` if one exists.
    /// A follow-up clones the pushed task branch under a temporary name (a clone cannot check
    /// out a new branch named like the one it starts from) and takes the real name back here.
    pub async fn adopt_branch(&self, dir: &Path, from: &str, to: &str) -> Result<(), GitError> {
        self.run_ok(GitCommand::new(["checkout", "-q", "-B", to]).in_repo(dir)).await?;
        self.run_ok(GitCommand::new(["branch", "-q", "-D", from]).in_repo(dir)).await?;
        Ok(())
    }
}
