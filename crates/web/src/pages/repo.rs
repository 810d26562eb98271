//! A GitHub repository: its open issues and pull requests and its recent commits, each of which
//! starts a task in one click (resolve the issue, work on the pull request's branch, revert the
//! commit) with the agent remembered from the task form.

use shared::github::TaskFromGithub;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::agent_picker::{usable, use_agents, AgentPicker, LAST_AGENT_KEY};
use crate::components::async_content::{async_content, maybe_error};
use crate::hooks::{use_action, use_fetch, use_stored};
use crate::services::api::{self, RepoList};
use crate::services::ApiError;

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
    let agents = use_agents();
    let (stored_agent, set_agent) = use_stored(LAST_AGENT_KEY.into(), "claude".into());
    let agent = agents
        .data()
        .and_then(|list| usable(list, &stored_agent))
        .map_or_else(|| (*stored_agent).clone(), |a| a.id.as_str().to_owned());
    let start = {
        let (owner, repo, list) = (props.owner.to_string(), props.repo.to_string(), *list);
        let (agent, navigator) = (agent.clone(), use_navigator());
        use_action(move |key: String| {
            let body = TaskFromGithub {
                agent: agent.clone(),
                model: None,
                prompt_extra: None,
                install_dependencies: true,
                max_duration_minutes: None,
                keep_alive: false,
                create_pr: false,
                connector_ids: Vec::new(),
            };
            let (owner, repo, navigator) = (owner.clone(), repo.clone(), navigator.clone());
            async move {
                let task = api::task_from_github(&owner, &repo, list, &key, &body).await?;
                if let Some(n) = navigator {
                    n.push(&Route::Task { id: task.id });
                }
                Ok(())
            }
        })
    };
    let action = LISTS.iter().find(|(l, ..)| *l == *list).map(|(.., a)| *a).unwrap_or_default();

    html! {
        <section class="stack" data-testid="repo-page">
            <h1>{ format!("{}/{}", props.owner, props.repo) }</h1>
            <div class="row wrap">
                <AgentPicker agents={agents.clone()} prefix="repo-" agent={AttrValue::from(agent.clone())} on_agent={set_agent.clone()} />
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
            { maybe_error(&start.error) }
            { async_content(&items.state, |items| html! {
                <ul class="repo-items" data-testid="repo-items">
                    if items.is_empty() { <li class="muted" data-testid="repo-items-empty">{ "Nothing here." }</li> }
                    { for items.iter().map(|item| {
                        let (run, key) = (start.run.clone(), item.key.clone());
                        html! {
                            <li key={item.key.clone()} class="row wrap repo-item" data-testid="repo-item" data-key={item.key.clone()}>
                                <a href={item.url.clone()} target="_blank" rel="noopener noreferrer">{ &item.title }</a>
                                <span class="muted small">{ &item.detail }</span>
                                <span class="spacer" />
                                <button class="btn small" data-testid="repo-item-start" disabled={start.busy}
                                        onclick={move |_: MouseEvent| run.emit(key.clone())}>{ action }</button>
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
