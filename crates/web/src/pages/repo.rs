//! A GitHub repository: its open issues and pull requests and its recent commits, each of which
//! starts a task in one click (resolve the issue, work on the pull request's branch, revert the
//! commit) with the agent remembered from the task form.

use shared::github::TaskFromGithub;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::async_content::{async_content, maybe_error};
use crate::hooks::{use_fetch, use_stored};
use crate::services::api::{self, RepoList};
use crate::services::ApiError;
use crate::types::agents::builtin;

/// Properties of [`RepoPage`].
#[derive(Properties, PartialEq)]
pub struct RepoPageProps {
    /// Owner login.
    pub owner: AttrValue,
    /// Repository name.
    pub repo: AttrValue,
}

/// A listed issue, pull request or commit, reduced to what the page shows.
#[derive(Debug, Clone, PartialEq)]
struct Item {
    /// The number, or the commit's SHA: what the task endpoint takes.
    key: String,
    title: String,
    detail: String,
    url: String,
}

const LISTS: [(RepoList, &str, &str, &str); 3] = [
    (RepoList::Issues, "issues", "Issues", "Start a task"),
    (RepoList::Pulls, "pulls", "Pull requests", "Work on it"),
    (RepoList::Commits, "commits", "Commits", "Revert"),
];

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

async fn load(owner: String, repo: String, list: RepoList) -> Result<Vec<Item>, ApiError> {
    Ok(match list {
        RepoList::Issues => api::github_issues(&owner, &repo)
            .await?
            .into_iter()
            .map(|i| Item {
                key: i.number.to_string(),
                title: format!("#{} {}", i.number, i.title),
                detail: i.user_login.map(|u| format!("opened by @{u}")).unwrap_or_default(),
                url: i.html_url,
            })
            .collect(),
        RepoList::Pulls => api::github_pulls(&owner, &repo)
            .await?
            .into_iter()
            .map(|p| Item {
                key: p.number.to_string(),
                title: format!("#{} {}", p.number, p.title),
                detail: format!("{} → {}", p.head_ref, p.base_ref),
                url: p.html_url,
            })
            .collect(),
        RepoList::Commits => api::github_commits(&owner, &repo)
            .await?
            .into_iter()
            .map(|c| Item {
                title: first_line(&c.message).to_owned(),
                detail: format!(
                    "{} · {}",
                    c.sha.get(..7).unwrap_or(&c.sha),
                    c.author_login.or(c.author_name).unwrap_or_default()
                ),
                key: c.sha,
                url: c.html_url,
            })
            .collect(),
    })
}

/// The repository page.
#[component]
pub fn RepoPage(props: &RepoPageProps) -> Html {
    let list = use_state(|| RepoList::Issues);
    let deps = (props.owner.to_string(), props.repo.to_string(), *list);
    let items = use_fetch(deps, |(owner, repo, list)| load(owner, repo, list));
    let agents = use_fetch((), |()| api::agents());
    let agent_list = agents.data().cloned().unwrap_or_else(builtin);
    let (agent, set_agent) = use_stored("drydock-last-agent".into(), "claude".into());
    let error = use_state(|| None::<ApiError>);
    let busy = use_state(|| false);
    let navigator = use_navigator();

    let start = {
        let (owner, repo, list) = (props.owner.to_string(), props.repo.to_string(), *list);
        let (agent, error, busy) = ((*agent).clone(), error.clone(), busy.clone());
        Callback::from(move |key: String| {
            let body = TaskFromGithub {
                agent: agent.clone(),
                model: None,
                prompt_extra: None,
                install_dependencies: true,
                max_duration_minutes: None,
                keep_alive: false,
                create_pr: false,
            };
            let (owner, repo) = (owner.clone(), repo.clone());
            let (error, busy, navigator) = (error.clone(), busy.clone(), navigator.clone());
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                match api::task_from_github(&owner, &repo, list, &key, &body).await {
                    Ok(task) => {
                        if let Some(n) = navigator {
                            n.push(&Route::Task { id: task.id });
                        }
                    }
                    Err(e) => {
                        error.set(Some(e));
                        busy.set(false);
                    }
                }
            });
        })
    };
    let action = LISTS.iter().find(|(l, ..)| *l == *list).map(|(.., a)| *a).unwrap_or_default();

    html! {
        <section class="stack" data-testid="repo-page">
            <h1>{ format!("{}/{}", props.owner, props.repo) }</h1>
            <div class="row wrap">
                <label for="repo-agent">{ "Agent" }</label>
                <select id="repo-agent" data-testid="repo-agent"
                        onchange={let set = set_agent.clone(); move |e: Event| set.emit(crate::components::forms::target_value(&e))}>
                    { for agent_list.iter().map(|a| html! {
                        <option value={a.id.clone()} selected={*agent == a.id}>{ &a.name }</option>
                    }) }
                </select>
            </div>
            <nav class="tabs" role="tablist">
                { for LISTS.iter().map(|(l, key, label, _)| {
                    let (state, l) = (list.clone(), *l);
                    html! {
                        <button role="tab" class={classes!("tab", (*list == l).then_some("active"))}
                                data-testid={format!("repo-tab-{key}")} aria-selected={(*list == l).to_string()}
                                onclick={move |_| state.set(l)}>{ *label }</button>
                    }
                }) }
            </nav>
            { maybe_error(&error) }
            { async_content(&items.state, |items| html! {
                <ul class="repo-items" data-testid="repo-items">
                    if items.is_empty() { <li class="muted" data-testid="repo-items-empty">{ "Nothing here." }</li> }
                    { for items.iter().map(|item| {
                        let (start, key) = (start.clone(), item.key.clone());
                        html! {
                            <li key={item.key.clone()} class="row wrap repo-item" data-testid="repo-item" data-key={item.key.clone()}>
                                <a href={item.url.clone()} target="_blank" rel="noopener noreferrer">{ &item.title }</a>
                                <span class="muted small">{ &item.detail }</span>
                                <span class="spacer" />
                                <button class="btn small" data-testid="repo-item-start" disabled={*busy}
                                        onclick={move |_: MouseEvent| start.emit(key.clone())}>{ action }</button>
                            </li>
                        }
                    }) }
                </ul>
            }) }
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_is_titled_by_its_first_line() {
        assert_eq!(first_line("Fix the parser\n\nLong story."), "Fix the parser");
        assert_eq!(first_line(""), "");
    }
}
