//! Multi-repository mode: one prompt, several repositories, one task each (times the ticked
//! pairs in compare mode). The form creates them one by one through `POST /tasks`, the one
//! create path, and lists what it started (`CreatedTasks`).

use shared::tasks::Task;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::forms::target_value;
use crate::util::repo_label;

/// The repositories of the list, one per line, trimmed, without blanks or repeats.
pub fn parse_repos(text: &str) -> Vec<String> {
    let mut repos: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !repos.iter().any(|r| r == line) {
            repos.push(line.to_owned());
        }
    }
    repos
}

/// The list with `repo` added at the end (unless it is there already).
pub fn add_repo(text: &str, repo: &str) -> String {
    let mut repos = parse_repos(text);
    let repo = repo.trim();
    if !repo.is_empty() && !repos.iter().any(|r| r == repo) {
        repos.push(repo.to_owned());
    }
    repos.join("\n")
}

/// Props of [`MultiRepoField`].
#[derive(Properties, PartialEq)]
pub struct MultiRepoFieldProps {
    /// The list, one repository URL per line.
    pub value: AttrValue,
    /// Called on every edit.
    pub on_input: Callback<String>,
}

/// The repositories textarea (the picker above adds to it).
#[component]
pub fn MultiRepoField(props: &MultiRepoFieldProps) -> Html {
    let count = parse_repos(&props.value).len();
    html! {
        <>
            <label for="multi-repos">{ format!("Repositories, one per line ({count}): one task each") }</label>
            <textarea id="multi-repos" data-testid="multi-repos" rows="4" spellcheck="false"
                      placeholder="https://github.com/owner/repo" value={props.value.clone()}
                      oninput={props.on_input.reform(|e: InputEvent| target_value(&e))} />
        </>
    }
}

/// Props of [`CreatedTasks`].
#[derive(Properties, PartialEq)]
pub struct CreatedTasksProps {
    /// The tasks started, in order.
    pub tasks: Vec<Task>,
}

/// The tasks one submission started, grouped by repository, each linking to its page.
#[component]
pub fn CreatedTasks(props: &CreatedTasksProps) -> Html {
    let mut groups: Vec<(&str, Vec<&Task>)> = Vec::new();
    for t in &props.tasks {
        match groups.iter_mut().find(|(repo, _)| *repo == t.repo_url) {
            Some((_, list)) => list.push(t),
            None => groups.push((&t.repo_url, vec![t])),
        }
    }
    html! {
        <section class="card stack" data-testid="created-tasks">
            <h2>{ format!("Started {} tasks", props.tasks.len()) }</h2>
            { for groups.iter().map(|(repo, tasks)| html! {
                <div class="compare-group" data-testid="created-group" data-repo={repo.to_string()}>
                    <strong>{ repo_label(repo) }</strong>
                    <ul class="task-links">
                        { for tasks.iter().map(|t| html! {
                            <li key={t.id.to_string()} data-testid="created-task" data-task-id={t.id.to_string()}>
                                <Link<Route> to={Route::Task { id: t.id }}>
                                    { format!("{}{}", t.agent, t.model.as_ref().map(|m| format!(" · {m}")).unwrap_or_default()) }
                                </Link<Route>>
                            </li>
                        }) }
                    </ul>
                </div>
            }) }
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_trimmed_and_has_no_repeats() {
        assert_eq!(parse_repos(" a \n\n b\na\n  "), vec!["a".to_owned(), "b".to_owned()]);
        assert!(parse_repos("\n \n").is_empty());
        assert_eq!(add_repo("a\nb", " c "), "a\nb\nc");
        assert_eq!(add_repo("a\nb", "a"), "a\nb");
        assert_eq!(add_repo("", "x"), "x");
    }
}
