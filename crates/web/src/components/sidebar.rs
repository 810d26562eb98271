//! The sidebar: the latest tasks with their live status (polled), and navigation.

use gloo_timers::callback::Interval;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::async_content::async_content;
use crate::components::status_badge::StatusBadge;
use crate::hooks::use_fetch;
use crate::services::api::{self, TaskQuery};
use crate::util::{repo_label, truncate};

/// How often the task list refreshes. Polling one cheap list beats one SSE stream per row.
const POLL_MS: u32 = 5_000;
/// How many tasks the sidebar shows.
const RECENT: u32 = 15;

/// The navigation sidebar.
#[component]
pub fn Sidebar() -> Html {
    let route = use_route::<Route>();
    // Reloading on navigation shows a task created a moment ago without waiting for the poll.
    let tasks = use_fetch(route.clone(), |_| async {
        api::tasks(&TaskQuery { limit: Some(RECENT), ..TaskQuery::default() }).await
    });
    {
        let reload = tasks.reload.clone();
        use_effect_with((), move |()| {
            let interval = Interval::new(POLL_MS, move || reload.emit(()));
            move || drop(interval)
        });
    }
    let current = match &route {
        Some(Route::Task { id }) => Some(*id),
        _ => None,
    };
    html! {
        <nav class="sidebar" id="sidebar" data-testid="sidebar" aria-label="Tasks">
            <div class="sidebar-links">
                <Link<Route> to={Route::Home} classes="nav-link">{ "New task" }</Link<Route>>
                <Link<Route> to={Route::Tasks} classes="nav-link">{ "All tasks" }</Link<Route>>
                <Link<Route> to={Route::Settings} classes="nav-link">{ "Settings" }</Link<Route>>
            </div>
            <h2 class="sidebar-title">{ "Recent tasks" }</h2>
            { async_content(&tasks.state, |page| html! {
                <ul class="task-links" data-testid="sidebar-tasks">
                    if page.items.is_empty() {
                        <li class="muted">{ "No tasks yet." }</li>
                    }
                    { for page.items.iter().map(|t| {
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
            }) }
        </nav>
    }
}
