//! Fetching the pushed task branch back into a workspace, for a reset to it.

use super::command::GitCommand;
use super::remote::{classify, Credentials, Location};
use super::{ClonedRepo, Git, GitError};

/// Where [`Git::fetch_pushed`] keeps the pushed branch in the workspace's repository.
pub const PUSHED_REF: &str = "refs/drydock/pushed";

impl Git {
    /// Fetches the task branch from the URL it was cloned from into [`PUSHED_REF`] and returns
    /// its commit. Like [`Git::push`], it sanitises the repository first and never asks the
    /// workspace where the remote is.
    pub async fn fetch_pushed(
        &self,
        repo: &ClonedRepo,
        credentials: Option<&Credentials>,
    ) -> Result<String, GitError> {
        self.sanitize(repo)?;
        let location = classify(&repo.url, self.allow_local, self.allow_http)?;
        let refspec = format!("+refs/heads/{}:{PUSHED_REF}", repo.branch);
        let mut fetch = GitCommand::new([
            "fetch",
            "--no-tags",
            "--quiet",
            "--",
            repo.url.as_str(),
            refspec.as_str(),
        ])
        .in_repo(&repo.dir);
        fetch.credentials = match (&location, credentials) {
            (Location::Http { .. }, Some(c)) => Some((&location, c)),
            _ => None,
        };
        self.run_ok(fetch).await?;
        self.rev_parse(&repo.dir, PUSHED_REF).await
    }
}
