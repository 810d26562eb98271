//! Cloning a repository onto a fresh task branch.

use std::path::{Path, PathBuf};

use super::command::GitCommand;
use super::remote::{classify, Credentials, Location};
use super::{ClonedRepo, Git, GitError};

/// What to clone and where.
#[derive(Debug, Clone)]
pub struct CloneRequest {
    /// `https://...`, or a local path / `file://` URL when allowed.
    pub url: String,
    /// Directory to create (must not exist, or be empty).
    pub dest: PathBuf,
    /// Token for https remotes.
    pub credentials: Option<Credentials>,
    /// Branch to start from; `None` uses the remote's default branch.
    pub base_branch: Option<String>,
    /// The task branch to create (see [`super::branch_name`]).
    pub branch: String,
}

/// What `git ls-remote --symref` says about the remote.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RemoteRefs {
    /// Where `HEAD` points, even if that branch does not exist.
    head: Option<String>,
    /// Existing branch names.
    branches: Vec<String>,
}

impl RemoteRefs {
    pub(crate) fn parse(text: &str) -> Self {
        let mut refs = Self::default();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("ref: ") {
                if let Some((target, "HEAD")) = rest.split_once('\t') {
                    refs.head = target.strip_prefix("refs/heads/").map(str::to_string);
                }
            } else if let Some((_, name)) = line.split_once('\t') {
                if let Some(branch) = name.strip_prefix("refs/heads/") {
                    refs.branches.push(branch.to_string());
                }
            }
        }
        refs
    }

    /// The branch to start from: `HEAD`'s target when it exists; otherwise (a remote whose
    /// `HEAD` is dangling) the only branch, else `main`, else `master`, else the first by name.
    /// `None` for an empty repository.
    pub(crate) fn default_branch(&self) -> Option<String> {
        let exists = |b: &str| self.branches.iter().any(|x| x == b);
        if let Some(head) = self.head.as_deref().filter(|h| exists(h)) {
            return Some(head.to_string());
        }
        if self.branches.len() == 1 {
            return self.branches.first().cloned();
        }
        ["main", "master"]
            .into_iter()
            .find(|b| exists(b))
            .map(str::to_string)
            .or_else(|| self.branches.iter().min().cloned())
    }
}

impl Git {
    /// Clones `request.url` into `request.dest` and checks out a new branch `request.branch`
    /// from the base (the remote's default branch unless one is given). An empty repository
    /// gets the branch as an orphan, so the first commit becomes its root.
    pub async fn clone_repo(&self, request: &CloneRequest) -> Result<ClonedRepo, GitError> {
        let location = classify(&request.url, self.allow_local, self.allow_http)?;
        let credentials = match (&location, &request.credentials) {
            (Location::Http { .. }, Some(c)) => Some((&location, c)),
            _ => None,
        };
        let parent = request.dest.parent().unwrap_or(Path::new("/"));
        std::fs::create_dir_all(parent).map_err(|e| GitError::Io {
            context: format!("creating {}", parent.display()),
            source: e,
        })?;

        let mut ls = GitCommand::new(["ls-remote", "--symref", "--", request.url.as_str()]);
        ls.cwd = Some(parent);
        ls.credentials = credentials;
        let refs = RemoteRefs::parse(&self.run_ok(ls).await?.stdout_text());
        let base_branch = match &request.base_branch {
            Some(base) if !refs.branches.contains(base) => {
                return Err(GitError::Failed {
                    command: "git clone".into(),
                    exit_code: None,
                    stderr: format!("branch {base:?} does not exist in the remote"),
                });
            }
            Some(base) => Some(base.clone()),
            None => refs.default_branch(),
        };

        let mut args = vec!["clone", "--origin", "origin", "--no-recurse-submodules"];
        if let Some(base) = &base_branch {
            args.extend(["--branch", base.as_str()]);
        }
        let dest = request.dest.to_string_lossy().into_owned();
        args.extend(["--", request.url.as_str(), dest.as_str()]);
        let mut clone = GitCommand::new(args);
        clone.cwd = Some(parent);
        clone.credentials = credentials;
        self.run_ok(clone).await?;

        let dir = request.dest.as_path();
        let base_commit = match &base_branch {
            Some(_) => Some(self.rev_parse(dir, "HEAD").await?),
            None => None,
        };
        let checkout = if base_commit.is_some() { "-b" } else { "--orphan" };
        self.run_ok(
            GitCommand::new(["checkout", "-q", checkout, request.branch.as_str()]).in_repo(dir),
        )
        .await?;
        let format = self
            .run_ok(GitCommand::new(["rev-parse", "--show-object-format"]).in_repo(dir))
            .await?
            .stdout_text();
        let repo = ClonedRepo {
            dir: dir.to_path_buf(),
            url: request.url.clone(),
            base_branch,
            base_commit,
            branch: request.branch.clone(),
            object_format: format.trim().to_string(),
        };
        self.sanitize(&repo)?;
        Ok(repo)
    }

    pub(crate) async fn rev_parse(&self, dir: &Path, rev: &str) -> Result<String, GitError> {
        let out = self
            .run_ok(
                GitCommand::new(["rev-parse", "--verify", "--end-of-options", rev]).in_repo(dir),
            )
            .await?;
        Ok(out.stdout_text().trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_symref_and_branches() {
        let refs = RemoteRefs::parse(
            "ref: refs/heads/trunk\tHEAD\nabc\tHEAD\nabc\trefs/heads/trunk\ndef\trefs/heads/dev\nabc\trefs/tags/v1\n",
        );
        assert_eq!(refs.head.as_deref(), Some("trunk"));
        assert_eq!(refs.branches, ["trunk", "dev"]);
        assert_eq!(refs.default_branch().as_deref(), Some("trunk"));
    }

    #[test]
    fn empty_and_headless_remotes() {
        assert_eq!(RemoteRefs::parse("").default_branch(), None);
        assert_eq!(RemoteRefs::parse("ref: refs/heads/main\tHEAD\n").default_branch(), None);
        let dangling = RemoteRefs::parse(
            "ref: refs/heads/main\tHEAD\na\trefs/heads/zeta\nb\trefs/heads/alpha\n",
        );
        assert_eq!(dangling.default_branch().as_deref(), Some("alpha"));
        let one = RemoteRefs::parse("a\trefs/heads/only\n");
        assert_eq!(one.default_branch().as_deref(), Some("only"));
    }
}
