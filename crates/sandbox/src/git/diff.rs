//! What the task changed: the list of files and their contents on both sides.

use serde::{Deserialize, Serialize};

use super::command::GitCommand;
use super::{ClonedRepo, Git, GitError};

/// How a file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    /// New file.
    Added,
    /// Content or mode changed.
    Modified,
    /// Removed.
    Deleted,
    /// Moved (possibly with edits).
    Renamed,
}

impl ChangeStatus {
    /// The snake_case name, as in [`shared::events::EventBody::FileChange`].
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Modified => "modified",
            Self::Deleted => "deleted",
            Self::Renamed => "renamed",
        }
    }
}

/// One changed file between the base and `HEAD`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedFile {
    /// Path after the change, relative to the repository root.
    pub path: String,
    /// Path before a rename.
    pub old_path: Option<String>,
    /// How it changed.
    pub status: ChangeStatus,
    /// Lines added (0 for binary files).
    pub additions: u64,
    /// Lines removed (0 for binary files).
    pub deletions: u64,
    /// Whether git considers the file binary.
    pub binary: bool,
}

impl Git {
    /// The files changed on the task branch: from the merge base of the base commit and
    /// `HEAD` to `HEAD` (everything, for a repository that started empty).
    pub async fn changed_files(&self, repo: &ClonedRepo) -> Result<Vec<ChangedFile>, GitError> {
        self.sanitize(repo)?;
        let base = self.diff_base(repo).await?;
        let dir = repo.dir.as_path();
        let common = ["diff", "--no-ext-diff", "--no-textconv", "-M", "-z"];
        let numstat = self
            .run_ok(
                GitCommand::new(common.into_iter().chain(["--numstat", base.as_str(), "HEAD"]))
                    .in_repo(dir),
            )
            .await?;
        let status = self
            .run_ok(
                GitCommand::new(common.into_iter().chain(["--name-status", base.as_str(), "HEAD"]))
                    .in_repo(dir),
            )
            .await?;
        Ok(merge(&parse_name_status(&status.stdout), &parse_numstat(&numstat.stdout)))
    }

    /// A file's content at the base (`None` when it did not exist there).
    pub async fn file_at_base(
        &self,
        repo: &ClonedRepo,
        path: &str,
    ) -> Result<Option<Vec<u8>>, GitError> {
        let base = self.diff_base(repo).await?;
        self.file_at(repo, &base, path).await
    }

    /// A file's content at `HEAD` (`None` when it does not exist there).
    pub async fn file_at_head(
        &self,
        repo: &ClonedRepo,
        path: &str,
    ) -> Result<Option<Vec<u8>>, GitError> {
        self.file_at(repo, "HEAD", path).await
    }

    async fn file_at(
        &self,
        repo: &ClonedRepo,
        rev: &str,
        path: &str,
    ) -> Result<Option<Vec<u8>>, GitError> {
        let object = format!("{rev}:{path}");
        let out = self
            .run(GitCommand::new(["cat-file", "blob", object.as_str()]).in_repo(&repo.dir))
            .await?;
        Ok(out.success().then_some(out.stdout))
    }

    /// The merge base of the base commit and `HEAD`, or the empty tree for a repository that
    /// started empty.
    async fn diff_base(&self, repo: &ClonedRepo) -> Result<String, GitError> {
        let dir = repo.dir.as_path();
        match &repo.base_commit {
            Some(base) => {
                let out = self
                    .run_ok(GitCommand::new(["merge-base", base.as_str(), "HEAD"]).in_repo(dir))
                    .await?;
                Ok(out.stdout_text().trim().to_string())
            }
            None => {
                let mut empty =
                    GitCommand::new(["hash-object", "-t", "tree", "--stdin"]).in_repo(dir);
                empty.stdin = Some(Vec::new());
                Ok(self.run_ok(empty).await?.stdout_text().trim().to_string())
            }
        }
    }
}

/// `--name-status -z`: `M\0path\0`, `R086\0old\0new\0`.
fn parse_name_status(raw: &[u8]) -> Vec<(ChangeStatus, Option<String>, String)> {
    let mut fields = raw.split(|b| *b == 0).map(|f| String::from_utf8_lossy(f).into_owned());
    let mut entries = Vec::new();
    while let Some(code) = fields.next() {
        let status = match code.chars().next() {
            Some('A') => ChangeStatus::Added,
            Some('D') => ChangeStatus::Deleted,
            Some('R') => ChangeStatus::Renamed,
            Some('C') => ChangeStatus::Added,
            Some(_) => ChangeStatus::Modified,
            None => break,
        };
        let Some(first) = fields.next() else { break };
        if code.starts_with('R') || code.starts_with('C') {
            let Some(second) = fields.next() else { break };
            let old = (status == ChangeStatus::Renamed).then_some(first);
            entries.push((status, old, second));
        } else {
            entries.push((status, None, first));
        }
    }
    entries
}

/// `--numstat -z`: `add\tdel\tpath\0`, or `add\tdel\t\0old\0new\0` for renames; `-` counts
/// mean binary.
fn parse_numstat(raw: &[u8]) -> Vec<(String, Option<(u64, u64)>)> {
    let mut fields = raw.split(|b| *b == 0).map(|f| String::from_utf8_lossy(f).into_owned());
    let mut entries = Vec::new();
    while let Some(record) = fields.next() {
        let mut parts = record.splitn(3, '\t');
        let (Some(add), Some(del), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            break;
        };
        let counts = add.parse().ok().zip(del.parse().ok());
        let path = if path.is_empty() {
            let _old = fields.next();
            fields.next().unwrap_or_default()
        } else {
            path.to_string()
        };
        entries.push((path, counts));
    }
    entries
}

fn merge(
    statuses: &[(ChangeStatus, Option<String>, String)],
    counts: &[(String, Option<(u64, u64)>)],
) -> Vec<ChangedFile> {
    statuses
        .iter()
        .map(|(status, old_path, path)| {
            let count = counts.iter().find(|(p, _)| p == path).map(|(_, c)| *c);
            let (additions, deletions) = count.flatten().unwrap_or((0, 0));
            ChangedFile {
                path: path.clone(),
                old_path: old_path.clone(),
                status: *status,
                additions,
                deletions,
                binary: matches!(count, Some(None)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_formats_and_merges() {
        let status = b"M\0src/a.rs\0A\0img.png\0R090\0old name.txt\0new name.txt\0D\0gone\0";
        let numstat =
            b"3\t1\tsrc/a.rs\0-\t-\timg.png\x002\t0\t\0old name.txt\0new name.txt\x000\t5\tgone\0";
        let files = merge(&parse_name_status(status), &parse_numstat(numstat));
        assert_eq!(files.len(), 4);
        assert_eq!(
            (files[0].status, files[0].additions, files[0].deletions),
            (ChangeStatus::Modified, 3, 1)
        );
        assert!(files[1].binary && files[1].status == ChangeStatus::Added);
        assert_eq!(files[2].path, "new name.txt");
        assert_eq!(files[2].old_path.as_deref(), Some("old name.txt"));
        assert_eq!((files[2].status, files[2].additions), (ChangeStatus::Renamed, 2));
        assert_eq!((files[3].status, files[3].deletions), (ChangeStatus::Deleted, 5));
    }
}
