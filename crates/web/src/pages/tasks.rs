//! All tasks: status filter, paging, and bulk stop / delete.

use std::collections::BTreeSet;

use shared::tasks::{Task, TaskStatus};
use uuid::Uuid;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::async_content::{async_content, maybe_error};
use crate::components::forms::confirm;
use crate::components::status_badge::{status_label, StatusBadge};
use crate::hooks::{use_action, use_fetch};
use crate::services::api::{self, TaskQuery};
use crate::services::ApiError;
use crate::util::{now_ms, relative_time, repo_label, truncate};

/// Page size of the list.
const PAGE: u32 = 50;

/// What the bulk buttons do to the selected tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bulk {
    Stop,
    Delete,
}

/// Stops or deletes each task in turn, up to the first failure. Stopping a task that already
/// finished (409) is not worth reporting.
async fn apply(op: Bulk, ids: Vec<Uuid>) -> Result<(), ApiError> {
    for id in ids {
        let result = match op {
            Bulk::Stop => api::stop_task(id).await,
            Bulk::Delete => api::delete_task(id).await,
        };
        match result {
            Err(e) if op == Bulk::Stop && e.status() == Some(409) => {}
            other => other?,
        }
    }
    Ok(())
}

/// The task list page.
#[component]
pub fn TaskList() -> Html {
    let status = use_state(|| None::<TaskStatus>);
    let cursor = use_state(|| None::<String>);
    let query = TaskQuery {
        limit: Some(PAGE),
        cursor: (*cursor).clone(),
        status: status.iter().copied().collect(),
    };
    let page = use_fetch(query, |q| async move { api::tasks(&q).await });
    let selected = use_state(BTreeSet::<Uuid>::new);
    let items: Vec<Task> = page.data().map(|p| p.items.clone()).unwrap_or_default();

    // Applies the operation to each selected task, then reloads; stops at the first failure.
    let bulk = {
        let (selected, reload) = (selected.clone(), page.reload.clone());
        use_action(move |op: Bulk| {
            let ids: Vec<Uuid> = selected.iter().copied().collect();
            let (selected, reload) = (selected.clone(), reload.clone());
            async move {
                let result = apply(op, ids).await;
                selected.set(BTreeSet::new());
                reload.emit(());
                result
            }
        })
    };
    let on_bulk = |op: Bulk| {
        let (run, count) = (bulk.run.clone(), selected.len());
        Callback::from(move |_: MouseEvent| {
            if count > 0 && (op == Bulk::Stop || confirm(&format!("Delete {count} task(s)?"))) {
                run.emit(op);
            }
        })
    };
    let delete_finished = {
        let reload = page.reload.clone();
        use_action(move |()| {
            let reload = reload.clone();
            async move {
                let done = [TaskStatus::Completed, TaskStatus::Error, TaskStatus::Stopped];
                let result = api::delete_tasks_by_status(&done).await;
                reload.emit(());
                result
            }
        })
    };
    let on_delete_finished = {
        let run = delete_finished.run.clone();
        Callback::from(move |_: MouseEvent| {
            if confirm("Delete all completed, failed and stopped tasks?") {
                run.emit(());
            }
        })
    };
    let all_ids: BTreeSet<Uuid> = items.iter().map(|t| t.id).collect();
    let all_selected = !all_ids.is_empty() && all_ids.is_subset(&selected);
    let toggle_all = {
        let selected = selected.clone();
        Callback::from(move |_: Event| {
            selected.set(if all_selected { BTreeSet::new() } else { all_ids.clone() })
        })
    };
    let filter_button = |s: Option<TaskStatus>, label: &'static str| {
        let (status, cursor, selected2) = (status.clone(), cursor.clone(), selected.clone());
        let key = s.map_or("all", TaskStatus::as_str);
        html! {
            <button class={classes!("chip", (*status == s).then_some("selected"))} data-testid={format!("filter-{key}")}
                    onclick={move |_| { status.set(s); cursor.set(None); selected2.set(BTreeSet::new()); }}>{ label }</button>
        }
    };
    let now = now_ms();
    html! {
        <section class="page tasks" data-testid="task-list">
            <h1>{ "Tasks" }</h1>
            <div class="row wrap filters">
                { filter_button(None, "All") }
                { for TaskStatus::ALL.into_iter().map(|s| filter_button(Some(s), status_label(s))) }
            </div>
            <div class="row wrap bulk">
                <label class="check"><input type="checkbox" id="select-all" data-testid="select-all" checked={all_selected} onchange={toggle_all} />{ "Select all" }</label>
                <button class="btn small" id="bulk-stop" data-testid="bulk-stop" disabled={selected.is_empty()} onclick={on_bulk(Bulk::Stop)}>{ "Stop selected" }</button>
                <button class="btn small danger-text" id="bulk-delete" data-testid="bulk-delete" disabled={selected.is_empty()} onclick={on_bulk(Bulk::Delete)}>{ "Delete selected" }</button>
                <span class="spacer" />
                <button class="btn small danger-text" id="delete-finished" data-testid="delete-finished" onclick={on_delete_finished}>{ "Delete finished…" }</button>
            </div>
            { maybe_error(&bulk.error) }
            { maybe_error(&delete_finished.error) }
            { async_content(&page.state, |p| html! {
                <>
                <ul class="task-rows" data-testid="task-rows">
                    if p.items.is_empty() { <li class="muted" data-testid="task-list-empty">{ "No tasks." }</li> }
                    { for p.items.iter().map(|t| {
                        let checked = selected.contains(&t.id);
                        let id = t.id;
                        let sel = selected.clone();
                        let onchange = Callback::from(move |_: Event| {
                            let mut next = (*sel).clone();
                            if !next.remove(&id) { next.insert(id); }
                            sel.set(next);
                        });
                        html! {
                            <li key={t.id.to_string()} class="task-row" data-testid="task-row" data-task-id={t.id.to_string()} data-status={t.status.as_str()}>
                                <input type="checkbox" data-testid="task-select" aria-label="Select task" {checked} {onchange} />
                                <Link<Route> to={Route::Task { id: t.id }} classes="task-row-link">
                                    <span class="task-title">{ truncate(if t.title.is_empty() { &t.prompt } else { &t.title }, 80) }</span>
                                    <span class="muted small">{ format!("{} · {} · {}", repo_label(&t.repo_url), t.agent, relative_time(t.created_at, now)) }</span>
                                </Link<Route>>
                                <StatusBadge status={t.status} testid="task-row-status" />
                            </li>
                        }
                    }) }
                </ul>
                if let Some(next) = &p.next_cursor {
                    <button class="btn" data-testid="load-more" onclick={let c = cursor.clone(); let n = next.clone(); move |_| c.set(Some(n.clone()))}>{ "Next page" }</button>
                }
                </>
            }) }
        </section>
    }
}
