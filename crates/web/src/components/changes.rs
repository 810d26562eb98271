//! Code review: the changed files grouped by directory, and the diff of the selected file.

use std::collections::BTreeMap;

use shared::changes::ChangedFile;
use shared::workspace::Against;
use uuid::Uuid;
use yew::prelude::*;

use crate::components::async_content::async_content;
use crate::components::diff::DiffView;
use crate::hooks::use_fetch;
use crate::services::{api, workspace};

/// Files grouped by their directory (`""` for the root), both sorted.
pub fn group_by_dir(files: &[ChangedFile]) -> BTreeMap<String, Vec<ChangedFile>> {
    let mut groups: BTreeMap<String, Vec<ChangedFile>> = BTreeMap::new();
    for f in files {
        let dir = f.path.rsplit_once('/').map(|(d, _)| d.to_owned()).unwrap_or_default();
        groups.entry(dir).or_default().push(f.clone());
    }
    for list in groups.values_mut() {
        list.sort_by(|a, b| a.path.cmp(&b.path));
    }
    groups
}

fn status_letter(s: &str) -> &'static str {
    match s {
        "added" => "A",
        "deleted" => "D",
        "renamed" => "R",
        _ => "M",
    }
}

/// Props of [`Changes`].
#[derive(Properties, PartialEq)]
pub struct ChangesProps {
    /// The task.
    pub task_id: Uuid,
    /// Changes whenever the files may have changed (a run ended).
    pub refresh: usize,
    /// The live sandbox's uncommitted changes against this, instead of the pushed branch's
    /// (`components::workspace_changes`).
    #[prop_or_default]
    pub live: Option<Against>,
}

/// The changed-files tree and diff viewer.
#[component]
pub fn Changes(props: &ChangesProps) -> Html {
    let id = props.task_id;
    let live = props.live;
    let files = use_fetch((id, props.refresh, live), |(id, _, live)| async move {
        match live {
            Some(against) => Ok(workspace::changes(id, against).await?.files),
            None => Ok(api::changes(id).await?.files),
        }
    });
    let selected = use_state(|| None::<String>);
    // The first file is selected by default, as a reviewer starts there anyway.
    let path = (*selected)
        .clone()
        .or_else(|| files.data().and_then(|f| f.first()).map(|f| f.path.clone()));
    let diff =
        use_fetch((id, path.clone(), props.refresh, live), |(id, path, _, live)| async move {
            match (path, live) {
                (Some(p), Some(against)) => workspace::diff(id, &p, against).await.map(Some),
                (Some(p), None) => api::diff(id, &p).await.map(Some),
                (None, _) => Ok(None),
            }
        });
    html! {
        <div class="changes" data-testid="changes">
            { async_content(&files.state, |list| html! {
                if list.is_empty() {
                    <p class="muted" data-testid="changes-empty">{ "No changed files." }</p>
                } else {
                    <div class="file-tree" data-testid="file-tree">
                        { for group_by_dir(list).into_iter().map(|(dir, files)| html! {
                            <div class="dir">
                                if !dir.is_empty() { <div class="dir-name">{ format!("{dir}/") }</div> }
                                { for files.into_iter().map(|f| {
                                    let name = f.path.rsplit('/').next().unwrap_or(&f.path).to_owned();
                                    let active = path.as_deref() == Some(f.path.as_str());
                                    let onclick = { let s = selected.clone(); let p = f.path.clone(); Callback::from(move |_: MouseEvent| s.set(Some(p.clone()))) };
                                    html! {
                                        <button class={classes!("file", format!("st-{}", f.status), active.then_some("active"))}
                                                data-testid="changed-file" data-path={f.path.clone()} {onclick}>
                                            <span class="st">{ status_letter(&f.status) }</span>
                                            <span class="name">{ name }</span>
                                            <span class="add">{ format!("+{}", f.additions) }</span>
                                            <span class="del">{ format!("−{}", f.deletions) }</span>
                                        </button>
                                    }
                                }) }
                            </div>
                        }) }
                    </div>
                }
            }) }
            if path.is_some() {
                <div class="diff-pane">
                    <div class="diff-path"><code>{ path.clone().unwrap_or_default() }</code></div>
                    { async_content(&diff.state, |d| match d {
                        Some(d) => html! { <DiffView diff={d.clone()} /> },
                        None => Html::default(),
                    }) }
                </div>
            }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(path: &str) -> ChangedFile {
        ChangedFile {
            path: path.into(),
            old_path: None,
            status: "modified".into(),
            additions: 1,
            deletions: 0,
            binary: false,
        }
    }

    #[test]
    fn files_are_grouped_by_directory() {
        let g = group_by_dir(&[f("src/b.rs"), f("README.md"), f("src/a.rs"), f("src/x/y.rs")]);
        let dirs: Vec<&str> = g.keys().map(String::as_str).collect();
        assert_eq!(dirs, vec!["", "src", "src/x"]);
        assert_eq!(g["src"][0].path, "src/a.rs");
    }
}
