//! The live tree's uncommitted changes, against HEAD or the base branch, one file's diff, and
//! discarding a file's changes: git in the sandbox (see `super::git`), file contents through
//! `Beneath`.

use base64::Engine;
use sandbox::SandboxHandle;
use shared::changes::{ChangedFile, FileDiff};
use shared::workspace::Against;

use super::git;
use super::service::on_tree;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tasks::model::TaskRow;

/// Sets `REF` to what `$1` (`head` or `base`) compares with; `$2` is the base branch.
const PICK_REF: &str = r#"
if [ "$1" = base ] && [ -n "$2" ]; then
  REF=$(git merge-base HEAD "refs/remotes/origin/$2" 2>/dev/null) || REF=HEAD
else
  REF=HEAD
fi
"#;

/// Lists what differs between `REF` and the working tree, untracked files included.
const LIST: &str = r#"
set -e
G="git -c core.quotepath=off -c diff.noprefix=false"
echo "@numstat"
$G diff --no-color --no-ext-diff --no-renames --numstat "$REF" --
echo "@status"
$G diff --no-color --no-ext-diff --no-renames --name-status "$REF" --
echo "@untracked"
$G ls-files --others --exclude-standard
"#;

/// Prints `present` and the file at `REF` as base64 (capped at `$4` bytes), or nothing.
const SHOW: &str = r#"
if git cat-file -e "$REF:$3" 2>/dev/null; then
  echo present
  git cat-file blob "$REF:$3" | head -c "$4" | base64 -w 0
  echo
fi
"#;

/// Restores `$1` from HEAD, or removes it when HEAD does not have it.
const DISCARD: &str = r#"
set -e
if git cat-file -e "HEAD:$1" 2>/dev/null; then
  git restore --source=HEAD --staged --worktree -- "$1"
else
  git rm -q -r --cached --ignore-unmatch -- "$1" >/dev/null
  rm -rf -- "$1"
fi
"#;

fn against_arg(against: Against) -> &'static str {
    match against {
        Against::Head => "head",
        Against::Base => "base",
    }
}

fn failed(what: &str, out: &git::Output) -> ApiError {
    ApiError::Conflict(format!(
        "git in the sandbox could not {what}: {}",
        out.stderr.iter().rev().take(3).rev().cloned().collect::<Vec<_>>().join(" ")
    ))
}

/// The changed files of the live tree.
pub async fn list(
    state: &AppState,
    handle: &SandboxHandle,
    task: &TaskRow,
    against: Against,
) -> ApiResult<Vec<ChangedFile>> {
    let base = task.base_branch.clone().unwrap_or_default();
    let script = format!("{PICK_REF}{LIST}");
    let out = git::run(state, handle, &script, &[against_arg(against), &base], Vec::new()).await?;
    if !out.ok {
        return Err(failed("list the changes", &out));
    }
    Ok(parse_list(&out.stdout))
}

/// Parses the three sections [`LIST`] prints.
pub fn parse_list(lines: &[String]) -> Vec<ChangedFile> {
    use std::collections::BTreeMap;
    let mut files: BTreeMap<String, ChangedFile> = BTreeMap::new();
    let mut section = "";
    let entry = |files: &mut BTreeMap<String, ChangedFile>, path: String| {
        files
            .entry(path.clone())
            .or_insert(ChangedFile {
                path,
                old_path: None,
                status: "modified".into(),
                additions: 0,
                deletions: 0,
                binary: false,
            })
            .clone()
    };
    for line in lines {
        if let Some(name) = line.strip_prefix('@') {
            section = match name {
                "numstat" => "numstat",
                "status" => "status",
                "untracked" => "untracked",
                _ => section,
            };
            continue;
        }
        match section {
            "numstat" => {
                let mut parts = line.splitn(3, '\t');
                let (Some(add), Some(del), Some(path)) = (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                let path = git::unquote(path);
                let mut file = entry(&mut files, path.clone());
                file.binary = add == "-";
                file.additions = add.parse().unwrap_or(0);
                file.deletions = del.parse().unwrap_or(0);
                files.insert(path, file);
            }
            "status" => {
                let Some((letter, path)) = line.split_once('\t') else { continue };
                let path = git::unquote(path);
                let mut file = entry(&mut files, path.clone());
                file.status = match letter.chars().next() {
                    Some('A') => "added",
                    Some('D') => "deleted",
                    _ => "modified",
                }
                .into();
                files.insert(path, file);
            }
            "untracked" if !line.is_empty() => {
                let path = git::unquote(line);
                let mut file = entry(&mut files, path.clone());
                file.status = "added".into();
                files.insert(path, file);
            }
            _ => {}
        }
    }
    files.into_values().collect()
}

/// One file's diff between `REF` and the working tree.
pub async fn diff(
    state: &AppState,
    handle: &SandboxHandle,
    task: &TaskRow,
    repo: std::path::PathBuf,
    path: String,
    against: Against,
) -> ApiResult<FileDiff> {
    let max = state.settings.tasks.max_file_bytes;
    let base = task.base_branch.clone().unwrap_or_default();
    let script = format!("{PICK_REF}{SHOW}");
    let cap = max.to_string();
    let out =
        git::run(state, handle, &script, &[against_arg(against), &base, &path, &cap], Vec::new())
            .await?;
    let old = match out.stdout.first().map(String::as_str) {
        Some("present") => Some(
            base64::engine::general_purpose::STANDARD
                .decode(out.stdout[1..].concat())
                .map_err(|e| ApiError::Internal(e.into()))?,
        ),
        _ => None,
    };
    let rel = path.clone();
    let new = match on_tree(repo, "path", move |fs| fs.read(&rel, max)).await {
        Ok(bytes) => Some(bytes),
        Err(ApiError::NotFound) => None,
        Err(e) => return Err(e),
    };
    if old.is_none() && new.is_none() {
        return Err(ApiError::NotFound);
    }
    Ok(crate::changes::diff::file_diff_of(path, old, new))
}

/// Throws away the changes of one file or folder (`git restore`, or removal when HEAD does not
/// have it).
pub async fn discard(state: &AppState, handle: &SandboxHandle, path: &str) -> ApiResult<()> {
    let out = git::run(state, handle, DISCARD, &[path], Vec::new()).await?;
    if !out.ok {
        return Err(failed("discard the changes", &out));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_list;

    #[test]
    fn the_three_sections_make_one_list() {
        let lines: Vec<String> = [
            "@numstat",
            "3\t1\tsrc/a.rs",
            "-\t-\tlogo.png",
            "0\t2\told.txt",
            "@status",
            "M\tsrc/a.rs",
            "A\tlogo.png",
            "D\told.txt",
            "@untracked",
            "new.txt",
            "\"odd\\tname\"",
        ]
        .map(String::from)
        .to_vec();
        let files = parse_list(&lines);
        let seen: Vec<_> = files
            .iter()
            .map(|f| (f.path.as_str(), f.status.as_str(), f.additions, f.deletions, f.binary))
            .collect();
        assert_eq!(
            seen,
            [
                ("logo.png", "added", 0, 0, true),
                ("new.txt", "added", 0, 0, false),
                ("odd\tname", "added", 0, 0, false),
                ("old.txt", "deleted", 0, 2, false),
                ("src/a.rs", "modified", 3, 1, false),
            ]
        );
    }
}
