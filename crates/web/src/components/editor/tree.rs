//! The file browser's model: folders loaded one at a time from the live sandbox, or all at
//! once from the pushed branch's path list (read-only).

use std::collections::{BTreeMap, BTreeSet};

use shared::workspace::{EntryKind, WorkspaceEntry};

/// Where the files come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The live sandbox: editable.
    Sandbox,
    /// The pushed branch: read-only.
    Branch,
}

/// What the browser knows: each loaded folder's entries, and which folders are open.
#[derive(Debug, Default)]
pub struct Tree {
    /// Entries by folder (`""` is the root), as listed.
    pub folders: BTreeMap<String, Vec<WorkspaceEntry>>,
    /// Folders shown open.
    pub open: BTreeSet<String>,
}

impl Tree {
    /// A tree from every file path of a branch.
    pub fn from_paths(paths: &[String]) -> Self {
        let mut folders: BTreeMap<String, BTreeMap<String, WorkspaceEntry>> = BTreeMap::new();
        folders.entry(String::new()).or_default();
        for path in paths {
            let mut parent = String::new();
            let parts: Vec<&str> = path.split('/').collect();
            for (i, name) in parts.iter().enumerate() {
                let here = if parent.is_empty() { (*name).to_owned() } else { format!("{parent}/{name}") };
                let kind = if i + 1 == parts.len() { EntryKind::File } else { EntryKind::Directory };
                folders.entry(parent.clone()).or_default().entry((*name).to_owned()).or_insert(
                    WorkspaceEntry { name: (*name).to_owned(), path: here.clone(), kind, size: 0 },
                );
                parent = here;
            }
        }
        let folders = folders
            .into_iter()
            .map(|(dir, entries)| {
                let mut list: Vec<_> = entries.into_values().collect();
                list.sort_by(|a, b| {
                    (a.kind != EntryKind::Directory, &a.name)
                        .cmp(&(b.kind != EntryKind::Directory, &b.name))
                });
                (dir, list)
            })
            .collect();
        Self { folders, open: BTreeSet::new() }
    }

    /// The rows to draw, depth first: (depth, entry), inside open folders only.
    pub fn rows(&self) -> Vec<(usize, WorkspaceEntry)> {
        let mut out = Vec::new();
        self.push_rows("", 0, &mut out);
        out
    }

    fn push_rows(&self, folder: &str, depth: usize, out: &mut Vec<(usize, WorkspaceEntry)>) {
        for entry in self.folders.get(folder).into_iter().flatten() {
            out.push((depth, entry.clone()));
            if entry.kind == EntryKind::Directory && self.open.contains(&entry.path) {
                self.push_rows(&entry.path, depth + 1, out);
            }
        }
    }
}

/// The folder holding `path` (`""` for the root).
pub fn parent_of(path: &str) -> String {
    path.rsplit_once('/').map(|(dir, _)| dir.to_owned()).unwrap_or_default()
}

/// `name` inside `folder`.
pub fn join(folder: &str, name: &str) -> String {
    if folder.is_empty() {
        name.to_owned()
    } else {
        format!("{folder}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_branch_tree_lists_folders_first_and_opens_on_demand() {
        let paths = ["b.txt", "src/main.rs", "src/lib/x.rs", "a.txt"].map(String::from);
        let mut tree = Tree::from_paths(&paths);
        let names = |t: &Tree| t.rows().into_iter().map(|(d, e)| format!("{d}{}", e.name)).collect::<Vec<_>>();
        assert_eq!(names(&tree), ["0src", "0a.txt", "0b.txt"]);
        tree.open.insert("src".into());
        assert_eq!(names(&tree), ["0src", "1lib", "1main.rs", "0a.txt", "0b.txt"]);
        assert_eq!(tree.folders["src/lib"][0].path, "src/lib/x.rs");
        assert_eq!((parent_of("src/a.rs"), parent_of("a.rs")), ("src".to_owned(), String::new()));
        assert_eq!((join("", "a"), join("s", "a")), ("a".to_owned(), "s/a".to_owned()));
    }
}
