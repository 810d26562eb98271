//! Committing the agent's work and pushing the task branch.

use std::path::Path;

use super::command::GitCommand;
use super::remote::{classify, Credentials, Location};
use super::{Author, ClonedRepo, Git, GitError};

impl Git {
    /// Makes the clone safe for host-side git again after the agent had it: `.git` must be a
    /// real directory, `.git/config` is rewritten from [`ClonedRepo`], and files that redirect
    /// or extend git's configuration or run code are removed.
    pub fn sanitize(&self, repo: &ClonedRepo) -> Result<(), GitError> {
        let git_dir = repo.dir.join(".git");
        let unsafe_repo = |reason: &str| GitError::UnsafeRepository {
            dir: repo.dir.clone(),
            reason: reason.to_string(),
        };
        // The agent owns the workspace: `repo` itself could have become a symlink to any git
        // repository on the host, which we would then commit and push.
        let top = std::fs::symlink_metadata(&repo.dir)
            .map_err(|_| unsafe_repo("the repository is missing"))?;
        if !top.is_dir() {
            return Err(unsafe_repo("the repository is not a plain directory"));
        }
        let meta =
            std::fs::symlink_metadata(&git_dir).map_err(|_| unsafe_repo(".git is missing"))?;
        if !meta.is_dir() {
            return Err(unsafe_repo(".git is not a plain directory"));
        }
        let io = |context: &str, e: std::io::Error| GitError::Io {
            context: format!("{context} in {}", git_dir.display()),
            source: e,
        };
        for file in ["commondir", "config.worktree", "gitdir"] {
            remove_file(&git_dir.join(file)).map_err(|e| io("removing", e))?;
        }
        let hooks = git_dir.join("hooks");
        if std::fs::symlink_metadata(&hooks).is_ok() {
            remove_any(&hooks).map_err(|e| io("removing hooks", e))?;
        }
        // Removed first: a symlink planted there would have the host write through it.
        remove_file(&git_dir.join("config")).map_err(|e| io("removing config", e))?;
        std::fs::write(git_dir.join("config"), trusted_config(repo))
            .map_err(|e| io("writing config", e))
    }

    /// Makes the clone safe (see [`Git::sanitize`]) and stages everything the agent changed.
    /// Returns the staged paths, empty when there is nothing to commit, so a caller can describe
    /// the change (or skip describing it) before [`Git::commit_all`].
    pub async fn stage_all(&self, repo: &ClonedRepo) -> Result<Vec<String>, GitError> {
        self.sanitize(repo)?;
        let dir = repo.dir.as_path();
        self.run_ok(GitCommand::new(["add", "--all"]).in_repo(dir)).await?;
        let names = self
            .run_ok(GitCommand::new(["diff", "--cached", "--name-only", "-z"]).in_repo(dir))
            .await?;
        Ok(names
            .stdout
            .split(|b| *b == 0)
            .filter(|name| !name.is_empty())
            .map(|name| String::from_utf8_lossy(name).into_owned())
            .collect())
    }

    /// Stages everything and commits it as `author`. Returns the new commit, or `None` when
    /// there was nothing to commit.
    pub async fn commit_all(
        &self,
        repo: &ClonedRepo,
        message: &str,
        author: &Author,
    ) -> Result<Option<String>, GitError> {
        self.sanitize(repo)?;
        let dir = repo.dir.as_path();
        self.run_ok(GitCommand::new(["add", "--all"]).in_repo(dir)).await?;
        let staged =
            self.run(GitCommand::new(["diff", "--cached", "--quiet"]).in_repo(dir)).await?;
        if staged.success() {
            return Ok(None);
        }
        let mut commit =
            GitCommand::new(["commit", "--quiet", "--no-verify", "--file", "-"]).in_repo(dir);
        commit.stdin = Some(message.as_bytes().to_vec());
        commit.env = identity_env(author);
        self.run_ok(commit).await?;
        Ok(Some(self.rev_parse(dir, "HEAD").await?))
    }

    /// Pushes the task branch to the URL it was cloned from. A refusal by the remote is
    /// [`GitError::PushRejected`] carrying git's message.
    pub async fn push(
        &self,
        repo: &ClonedRepo,
        credentials: Option<&Credentials>,
    ) -> Result<(), GitError> {
        self.sanitize(repo)?;
        let location = classify(&repo.url, self.allow_local, self.allow_http)?;
        let refspec = format!("HEAD:refs/heads/{}", repo.branch);
        // The URL, not `origin`: the remote is whatever Drydock cloned, never what the
        // workspace says.
        let mut push =
            GitCommand::new(["push", "--porcelain", "--", repo.url.as_str(), refspec.as_str()])
                .in_repo(&repo.dir);
        push.credentials = match (&location, credentials) {
            (Location::Http { .. }, Some(c)) => Some((&location, c)),
            _ => None,
        };
        let output = self.run(push).await?;
        if output.success() {
            return Ok(());
        }
        let porcelain = output.stdout_text();
        let rejected = output.stderr.contains("[rejected]")
            || output.stderr.contains("[remote rejected]")
            || porcelain.lines().any(|l| l.starts_with('!'));
        if rejected || output.stderr.contains("pre-receive hook declined") {
            let message = [output.stderr.as_str(), porcelain.trim()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("\n");
            return Err(GitError::PushRejected { message });
        }
        if super::command::is_auth_failure(&output.stderr) {
            return Err(GitError::AuthenticationFailed { message: output.stderr });
        }
        Err(GitError::Failed {
            command: "git push".into(),
            exit_code: output.exit_code,
            stderr: output.stderr,
        })
    }
}

/// The whole `.git/config` Drydock needs; anything else the agent wrote there is dropped.
fn trusted_config(repo: &ClonedRepo) -> String {
    let quoted = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut config = String::new();
    let sha256 = repo.object_format == "sha256";
    config.push_str(&format!(
        "[core]\n\trepositoryformatversion = {}\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = true\n",
        if sha256 { 1 } else { 0 }
    ));
    if sha256 {
        config.push_str("[extensions]\n\tobjectformat = sha256\n");
    }
    config.push_str(&format!(
        "[remote \"origin\"]\n\turl = \"{}\"\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n",
        quoted(&repo.url)
    ));
    config
}

fn identity_env(author: &Author) -> Vec<(&'static str, String)> {
    vec![
        ("GIT_AUTHOR_NAME", author.name.clone()),
        ("GIT_AUTHOR_EMAIL", author.email.clone()),
        ("GIT_COMMITTER_NAME", author.name.clone()),
        ("GIT_COMMITTER_EMAIL", author.email.clone()),
    ]
}

fn remove_file(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn remove_any(path: &Path) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
}
