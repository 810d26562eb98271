//! The sidebar: the latest tasks with their live status, and navigation. The list is read once
//! and then follows the caller's event stream (one SSE for all rows), so a status change shows
//! as it happens and nothing polls.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::async_content::{loading, ErrorBox};
use crate::components::status_badge::StatusBadge;
use crate::hooks::use_live_tasks;
use crate::util::{repo_label, truncate};

/// How many tasks the sidebar shows.
const RECENT: u32 = 15;

/// The navigation sidebar.
#[component]
pub fn Sidebar() -> Html {
    let route = use_route::<Route>();
    let tasks = use_live_tasks(RECENT);
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
        </nav>
    }
}
