//! A repository on GitHub, GitLab or Gitea: its open issues and pull (merge) requests and its
//! recent commits, each of which starts a task in one click (resolve the issue, work on the
//! pull request's branch, revert the commit) with the agent and model chosen for that item
//! (the page's choice, remembered, unless changed on the item). Items that already have a task
//! of the user link to it (`GET /me/task-links`); open pull requests can be closed from here.

use std::collections::HashMap;

use shared::agents::AgentInfo;
use shared::github::TaskFromGithub;
use uuid::Uuid;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::agent_picker::{
    find, model_or_default, usable, use_agents, AgentPicker, LAST_AGENT_KEY,
};
use crate::components::async_content::{async_content, maybe_error};
use crate::hooks::{use_action, use_fetch, use_stored};
use crate::services::api::{self, RepoList, RepoSource};
use crate::services::ApiError;

/// Properties of [`RepoPage`].
#[derive(Properties, PartialEq)]
pub struct RepoPageProps {
    /// The repository and its forge.
    pub source: RepoSource,
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

async fn load(source: RepoSource, list: RepoList) -> Result<Vec<Item>, ApiError> {
    Ok(match list {
        RepoList::Issues => api::source_issues(&source)
            .await?
            .into_iter()
            .map(|i| Item {
                key: i.number.to_string(),
                title: format!("#{} {}", i.number, i.title),
                detail: i.user_login.map(|u| format!("opened by @{u}")).unwrap_or_default(),
                url: i.html_url,
            })
            .collect(),
        RepoList::Pulls => api::source_pulls(&source)
            .await?
            .into_iter()
            .map(|p| Item {
                key: p.number.to_string(),
                title: format!("#{} {}", p.number, p.title),
                detail: format!("{} → {}", p.head_ref, p.base_ref),
                url: p.html_url,
            })
            .collect(),
        RepoList::Commits => api::source_commits(&source)
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

/// Each linked item's URL and its newest task (the links come newest first).
async fn linked_tasks(source: RepoSource) -> Result<HashMap<String, Uuid>, ApiError> {
    let repo = api::source_repo(&source).await?;
    let mut by_url = HashMap::new();
    for link in api::task_links(&repo.repo_url).await? {
        by_url.entry(link.url).or_insert(link.task_id);
    }
    Ok(by_url)
}

/// The agent and model an item's task runs: its own choice, else the page's.
fn choice_for(
    choices: &HashMap<String, (String, String)>,
    key: &str,
    default: &(String, String),
) -> (String, String) {
    choices.get(key).cloned().unwrap_or_else(|| default.clone())
}

/// The agent `id` with its default model (the first offered).
fn with_default_model(catalogue: &[AgentInfo], id: String) -> (String, String) {
    let model = find(catalogue, &id).map(|a| model_or_default(a, "")).unwrap_or_default();
    (id, model)
}

/// The repository page.
#[component]
pub fn RepoPage(props: &RepoPageProps) -> Html {
    let list = use_state(|| RepoList::Issues);
    let items = use_fetch((props.source.clone(), *list), |(source, list)| load(source, list));
    let links = use_fetch(props.source.clone(), linked_tasks);
    let agents = use_agents();
    let catalogue: Vec<AgentInfo> = agents.data().cloned().unwrap_or_default();
    let (stored_agent, set_agent) = use_stored(LAST_AGENT_KEY.into(), "claude".into());
    let agent = usable(&catalogue, &stored_agent)
        .map_or_else(|| (*stored_agent).clone(), |a| a.id.as_str().to_owned());
    let default_choice = with_default_model(&catalogue, agent.clone());
    let choices = use_state(HashMap::<String, (String, String)>::new);
    let start = {
        let (source, list, navigator) = (props.source.clone(), *list, use_navigator());
        use_action(move |(key, agent, model): (String, String, String)| {
            let body = TaskFromGithub {
                agent,
                model: (!model.is_empty()).then_some(model),
                prompt_extra: None,
                install_dependencies: true,
                max_duration_minutes: None,
                keep_alive: false,
                create_pr: false,
                connector_ids: Vec::new(),
            };
            let (source, navigator) = (source.clone(), navigator.clone());
            async move {
                let task = api::task_from_source(&source, list, &key, &body).await?;
                if let Some(n) = navigator {
                    n.push(&Route::Task { id: task.id });
                }
                Ok(())
            }
        })
    };
    let close = {
        let (source, reload) = (props.source.clone(), items.reload.clone());
        use_action(move |number: i64| {
            let (source, reload) = (source.clone(), reload.clone());
            async move {
                api::close_pull(&source, number).await?;
                reload.emit(());
                Ok(())
            }
        })
    };
    let action = LISTS.iter().find(|(l, ..)| *l == *list).map(|(.., a)| *a).unwrap_or_default();
    let linked: HashMap<String, Uuid> = links.data().cloned().unwrap_or_default();
    let is_pulls = *list == RepoList::Pulls;

    let row = |item: &Item| {
        let (agent, model) = choice_for(&choices, &item.key, &default_choice);
        let (run, key) = (start.run.clone(), item.key.clone());
        let (a2, m2) = (agent.clone(), model.clone());
        let on_start =
            Callback::from(move |_: MouseEvent| run.emit((key.clone(), a2.clone(), m2.clone())));
        let on_agent = {
            let (choices, key, catalogue) = (choices.clone(), item.key.clone(), catalogue.clone());
            Callback::from(move |id: String| {
                let mut next = (*choices).clone();
                next.insert(key.clone(), with_default_model(&catalogue, id));
                choices.set(next);
            })
        };
        let on_model = {
            let (choices, key, agent) = (choices.clone(), item.key.clone(), agent.clone());
            Callback::from(move |m: String| {
                let mut next = (*choices).clone();
                next.insert(key.clone(), (agent.clone(), m));
                choices.set(next);
            })
        };
        let on_close = {
            let (run, number) = (close.run.clone(), item.key.parse::<i64>().ok());
            Callback::from(move |_: MouseEvent| {
                if let Some(n) = number {
                    run.emit(n);
                }
            })
        };
        let summary = if model.is_empty() { agent.clone() } else { format!("{agent} · {model}") };
        html! {
            <li key={item.key.clone()} class="row wrap repo-item" data-testid="repo-item" data-key={item.key.clone()}>
                <a href={item.url.clone()} target="_blank" rel="noopener noreferrer">{ &item.title }</a>
                <span class="muted small">{ &item.detail }</span>
                if let Some(id) = linked.get(&item.url) {
                    <Link<Route> to={Route::Task { id: *id }} classes="badge ok">
                        <span data-testid="repo-item-task" data-task-id={id.to_string()}>{ "Has a task" }</span>
                    </Link<Route>>
                }
                <span class="spacer" />
                if is_pulls {
                    <button class="btn small" data-testid="repo-item-close" disabled={close.busy}
                            onclick={on_close}>{ "Close" }</button>
                }
                <button class="btn small" data-testid="repo-item-start" disabled={start.busy}
                        onclick={on_start}>{ action }</button>
                <details class="repo-item-agent" data-testid="repo-item-agent">
                    <summary class="muted small" data-testid="repo-item-choice">{ summary }</summary>
                    <div class="row wrap">
                        <AgentPicker agents={agents.clone()} prefix={format!("repo-item-{}-", item.key)}
                                     agent={AttrValue::from(agent)} on_agent={on_agent}
                                     model={Some(AttrValue::from(model))} on_model={on_model} />
                    </div>
                </details>
            </li>
        }
    };

    html! {
        <section class="stack" data-testid="repo-page">
            <h1>{ props.source.label() }</h1>
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
            { maybe_error(&close.error) }
            { async_content(&items.state, |items| html! {
                <ul class="repo-items" data-testid="repo-items">
                    if items.is_empty() { <li class="muted" data-testid="repo-items-empty">{ "Nothing here." }</li> }
                    { for items.iter().map(&row) }
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

    #[test]
    fn an_items_own_choice_wins_over_the_pages() {
        let default = ("claude".to_owned(), "sonnet".to_owned());
        let mut choices = HashMap::new();
        choices.insert("7".to_owned(), ("codex".to_owned(), "gpt-5".to_owned()));
        assert_eq!(choice_for(&choices, "7", &default), ("codex".into(), "gpt-5".into()));
        assert_eq!(choice_for(&choices, "8", &default), default);
    }
}
