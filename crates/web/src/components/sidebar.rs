//! The sidebar: navigation, then two tabs: the latest tasks with their live status, and the
//! user's repositories (`sidebar_repos`). The task list is read once and then follows the
//! caller's event stream (one SSE for all rows), so a status change shows as it happens and
//! nothing polls; the repositories' task counts are read again when a task comes or goes.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::async_content::{loading, ErrorBox};
use crate::components::icon::{Icon, IconName};
use crate::components::lazy_pages::LazyView;
use crate::components::status_badge::StatusBadge;
use crate::hooks::{use_live_tasks, LiveTaskList};
use crate::util::{repo_label, truncate};

/// How many tasks the sidebar shows.
const RECENT: u32 = 15;

/// The navigation sidebar.
#[component]
pub fn Sidebar() -> Html {
    let repos_tab = use_state(|| false);
    // One stream for both tabs: the list shows it, the repositories' task counts follow it.
    let tasks = use_live_tasks(RECENT);
    let comings_and_goings = tasks.comings_and_goings;
    let tab = |repos: bool, label: &str, testid: &str| {
        let state = repos_tab.clone();
        let active = *repos_tab == repos;
        html! {
            <button role="tab" class={classes!("tab", active.then_some("active"))} data-testid={testid.to_owned()}
                    aria-selected={active.to_string()} onclick={move |_| state.set(repos)}>{ label.to_owned() }</button>
        }
    };
    html! {
        <nav class="sidebar" id="sidebar" data-testid="sidebar" aria-label="Tasks">
            <div class="sidebar-links">
                <Link<Route> to={Route::Home} classes="nav-link"><Icon name={IconName::Plus} />{ "New task" }</Link<Route>>
                <Link<Route> to={Route::Tasks} classes="nav-link"><Icon name={IconName::List} />{ "All tasks" }</Link<Route>>
                <Link<Route> to={Route::Settings} classes="nav-link"><Icon name={IconName::Settings} />{ "Settings" }</Link<Route>>
            </div>
            <div class="tabs" role="tablist">
                { tab(false, "Recent tasks", "sidebar-tab-tasks") }
                { tab(true, "Repos", "sidebar-tab-repos") }
            </div>
            // The task list stays mounted (hidden) so its live stream is not reopened on every
            // switch; the repositories load only once their tab is opened.
            <div hidden={*repos_tab}><RecentTasks {tasks} /></div>
            if *repos_tab {
                <LazyView view={format!(r#"{{"view":"sidebar-repos","comings_and_goings":{comings_and_goings}}}"#)} />
            }
        </nav>
    }
}

/// Props of [`RecentTasks`].
#[derive(Properties, PartialEq)]
struct RecentTasksProps {
    tasks: LiveTaskList,
}

/// The latest tasks, live.
#[component]
fn RecentTasks(props: &RecentTasksProps) -> Html {
    let route = use_route::<Route>();
    let tasks = &props.tasks;
    let current = match &route {
        Some(Route::Task { id }) => Some(*id),
        _ => None,
    };
    html! {
        <>
            if let Some(e) = &tasks.error { <ErrorBox error={e.clone()} /> }
            if let Some(items) = &tasks.items {
                <ul class="task-links" data-testid="sidebar-tasks">
                    if items.is_empty() {
                        <li class="muted">{ "No tasks yet." }</li>
                    }
                    { for items.iter().map(|t| {
                        let active = current == Some(t.id);
                        html! {
                            <li key={t.id.to_string()} class={classes!(active.then_some("active"))}
                                data-testid="sidebar-task" data-task-id={t.id.to_string()}>
                                <Link<Route> to={Route::Task { id: t.id }}>
                                    <span class="task-title">{ truncate(if t.title.is_empty() { &t.prompt } else { &t.title }, 50) }</span>
                                    <span class="task-meta">
                                        <StatusBadge status={t.status} testid="sidebar-task-status" />
                                        <span class="muted">{ repo_label(&t.repo_url) }</span>
                                    </span>
                                </Link<Route>>
                            </li>
                        }
                    }) }
                </ul>
            } else if tasks.error.is_none() {
                { loading() }
            }
        </>
    }
}
