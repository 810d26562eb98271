//! The task page: header (status, stage, progress, actions), then tabs for the live timeline,
//! the chat, the code review, the pull request, the terminal and the dev server's preview.

use shared::events::EventBody;
use shared::tasks::{CreateTask, Task, TaskStatus};
use uuid::Uuid;
use wasm_bindgen::JsCast;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::agent_picker::{use_agents, AgentPicker};
use crate::components::async_content::{async_content, maybe_error};
use crate::components::chat::Chat;
use crate::components::editor::Editor;
use crate::components::forms::confirm;
use crate::components::icon::{Icon, IconName};
use crate::components::lazy_pages::{task_view, LazyView};
use crate::components::pr_panel::{ForgeWords, PrPanel};
use crate::components::sandbox::SandboxLine;
use crate::components::status_badge::StatusBadge;
use crate::components::task_form::Prefill;
use crate::components::terminal::Terminal;
use crate::components::timeline::Timeline;
use crate::hooks::{use_action, use_fetch, use_task_events, StreamState, TaskEvents};
use crate::services::api;
use crate::services::events::EventLog;
use crate::util::repo_label;

/// Props of [`TaskPage`].
#[derive(Properties, PartialEq)]
pub struct TaskPageProps {
    /// The task id from the route.
    pub id: Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Timeline,
    Chat,
    Changes,
    Pr,
    Terminal,
    Preview,
    Editor,
}

impl Tab {
    const ALL: [(Self, &'static str, &'static str); 7] = [
        (Self::Timeline, "timeline", "Timeline"),
        (Self::Chat, "chat", "Chat"),
        (Self::Changes, "changes", "Changes"),
        (Self::Pr, "pr", "Pull request"),
        (Self::Terminal, "terminal", "Terminal"),
        (Self::Preview, "preview", "Preview"),
        (Self::Editor, "editor", "Editor"),
    ];
}

impl Tab {
    fn icon(self) -> IconName {
        match self {
            Self::Timeline => IconName::Timeline,
            Self::Chat => IconName::Chat,
            Self::Changes => IconName::Changes,
            Self::Pr => IconName::PullRequest,
            Self::Terminal => IconName::Terminal,
            Self::Preview => IconName::Preview,
            Self::Editor => IconName::Editor,
        }
    }
}

/// The tab an Alt+digit shortcut opens: Alt+1 the first tab, and so on.
fn tab_for_shortcut(key: &str, alt: bool, ctrl_or_meta: bool) -> Option<Tab> {
    if !alt || ctrl_or_meta {
        return None;
    }
    let n: usize = key.parse().ok()?;
    Tab::ALL.get(n.checked_sub(1)?).map(|(tab, _, _)| *tab)
}

/// Whether a key event comes from inside the terminal (xterm.js's hidden textarea).
fn in_terminal(event: &web_sys::KeyboardEvent) -> bool {
    event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|el| el.closest(".terminal-host").ok().flatten())
        .is_some()
}

/// The status and stage to show: [`current_status`] of the task's log.
fn live_status(task: &Task, events: &TaskEvents) -> (TaskStatus, Option<shared::tasks::TaskStage>) {
    events.with_log(|log| current_status(task, log))
}

/// Each of status and stage from its latest event, unless the task itself changed after that
/// event (a follow-up put it back to pending before the new run's first event). The two are
/// judged apart: while a run goes on, its stage events are newer than the task as fetched but
/// its status event is older, and the stage must still follow the events, not stay at the one
/// the task had when the page loaded.
fn current_status(task: &Task, log: &EventLog) -> (TaskStatus, Option<shared::tasks::TaskStage>) {
    let newest = |pick: &dyn Fn(&EventBody) -> bool| {
        log.events().iter().rev().find(|e| pick(&e.body)).filter(|e| e.at >= task.updated_at)
    };
    let status = match newest(&|b| matches!(b, EventBody::Status { .. })).map(|e| &e.body) {
        Some(EventBody::Status { status, .. }) => *status,
        _ => task.status,
    };
    let stage = match newest(&|b| matches!(b, EventBody::Stage { .. })).map(|e| &e.body) {
        Some(EventBody::Stage { stage }) => *stage,
        _ => task.stage,
    };
    (status, Some(stage))
}

/// The task page.
#[component]
pub fn TaskPage(props: &TaskPageProps) -> Html {
    let id = props.id;
    let task = use_fetch(id, api::task);
    // The forge's words for the pull request tab ("Merge request" on GitLab).
    let forge = use_fetch(id, api::task_forge);
    let forge = forge.data().cloned();
    let pr_label = ForgeWords::of(forge.as_ref()).title();
    let events = use_task_events(id);
    let tab = use_state(|| Tab::Timeline);
    {
        // Alt+1…7 switch tabs, as the reference's Alt+1…4 switch its panes. Not while the
        // terminal has the keyboard: there Alt+digit belongs to the shell.
        let tab = tab.clone();
        use_effect_with((), move |()| {
            let listener = web_sys::window().map(|w| {
                gloo_events::EventListener::new(&w, "keydown", move |e| {
                    let Some(k) = e.dyn_ref::<web_sys::KeyboardEvent>() else { return };
                    if let Some(pick) =
                        tab_for_shortcut(&k.key(), k.alt_key(), k.ctrl_key() || k.meta_key())
                    {
                        if !in_terminal(k) {
                            k.prevent_default();
                            tab.set(pick);
                        }
                    }
                })
            });
            move || drop(listener)
        });
    }
    let runs_finished = use_state(|| 0usize);
    let finished = events.state == StreamState::Finished;
    {
        // A finished run changes the branch, PR and files: reload what depends on them.
        let (reload, runs) = (task.reload.clone(), runs_finished.clone());
        use_effect_with(finished, move |f| {
            if *f {
                reload.emit(());
                runs.set(*runs + 1);
            }
        });
    }
    let on_sent = {
        let (reconnect, reload) = (events.reconnect.clone(), task.reload.clone());
        Callback::from(move |()| {
            reload.emit(());
            reconnect.emit(());
        })
    };
    let on_stop = task.reload.clone();
    async_content(&task.state, |t| {
        let (status, stage) = live_status(t, &events);
        let running = !status.is_terminal();
        let progress =
            if status.is_terminal() { 100 } else { stage.map_or(t.progress, |s| s.progress()) };
        html! {
            <section class="page task" data-testid="task-page" data-task-id={id.to_string()}>
                <header class="task-head">
                    <h1 data-testid="task-title">{ if t.title.is_empty() { &t.prompt } else { &t.title } }</h1>
                    <div class="row wrap">
                        <StatusBadge {status} {stage} testid="task-status" />
                        <span class="muted">{ repo_label(&t.repo_url) }</span>
                        if let Some(b) = &t.branch_name { <code data-testid="task-branch">{ b }</code> }
                        <span class="muted" data-testid="task-agent">{ format!("{}{}", t.agent, t.model.as_ref().map(|m| format!(" · {m}")).unwrap_or_default()) }</span>
                        if t.enable_browser { <span class="badge" data-testid="task-browser" title="The agent has a headless browser">{ "Browser" }</span> }
                    </div>
                    <progress max="100" value={progress.to_string()} data-testid="task-progress" />
                    if let (TaskStatus::Error | TaskStatus::Stopped, Some(e)) = (status, &t.error) {
                        <p class="error-box" data-testid="task-error">{ e }</p>
                    }
                    <details class="prompt"><summary>{ "Prompt" }</summary><pre>{ &t.prompt }</pre></details>
                    <TaskActions task={t.clone()} {running} on_stop={on_stop.clone()} />
                    <SandboxLine task_id={id} run_active={running} events={events.clone()} />
                </header>
                <nav class="tabs" role="tablist">
                    { for Tab::ALL.iter().map(|(v, key, label)| {
                        let tab2 = tab.clone();
                        let v = *v;
                        let label = if v == Tab::Pr { pr_label.clone() } else { (*label).to_owned() };
                        html! {
                            <button role="tab" class={classes!("tab", (*tab == v).then_some("active"))}
                                    data-testid={format!("tab-{key}")} aria-selected={(*tab == v).to_string()}
                                    onclick={move |_| tab2.set(v)}><Icon name={v.icon()} />{ label }</button>
                        }
                    }) }
                </nav>
                { match *tab {
                    Tab::Timeline => html! { <Timeline events={events.clone()} /> },
                    Tab::Chat => html! { <Chat task_id={id} events={events.clone()} {running} refresh={*runs_finished} on_sent={on_sent.clone()} on_stop={on_stop.clone()} /> },
                    Tab::Changes => html! { <LazyView view={task_view("changes", id, *runs_finished)} /> },
                    Tab::Pr => html! { <PrPanel task={t.clone()} forge={forge.clone()} on_sent={on_sent.clone()} /> },
                    Tab::Terminal => html! { <Terminal task_id={id} /> },
                    Tab::Preview => html! { <LazyView view={task_view("preview", id, *runs_finished)} /> },
                    Tab::Editor => html! { <Editor task_id={id} /> },
                } }
            </section>
        }
    })
}

#[derive(Properties, PartialEq)]
struct TaskActionsProps {
    task: Task,
    running: bool,
    on_stop: Callback<()>,
}

/// Stop, delete and "try again with another agent".
#[component]
fn TaskActions(props: &TaskActionsProps) -> Html {
    let navigator = use_navigator();
    let retry_open = use_state(|| false);
    let id = props.task.id;
    let stop = {
        let on_stop = props.on_stop.clone();
        use_action(move |()| {
            let on_stop = on_stop.clone();
            async move {
                api::stop_task(id).await?;
                on_stop.emit(());
                Ok(())
            }
        })
    };
    let delete = {
        let navigator = navigator.clone();
        use_action(move |()| {
            let navigator = navigator.clone();
            async move {
                api::delete_task(id).await?;
                if let Some(n) = navigator {
                    n.push(&Route::Tasks);
                }
                Ok(())
            }
        })
    };
    let new_task = {
        let (navigator, prefill) = (navigator.clone(), Prefill::from_task(&props.task));
        Callback::from(move |_: MouseEvent| {
            if let Some(n) = &navigator {
                let _ = n.push_with_query(&Route::Home, &prefill);
            }
        })
    };
    let on_delete = {
        let run = delete.run.clone();
        Callback::from(move |_: MouseEvent| {
            if confirm("Delete this task and its logs?") {
                run.emit(());
            }
        })
    };
    html! {
        <div class="task-actions">
            <div class="row wrap">
                if props.running {
                    <button class="btn danger" id="stop-task" data-testid="stop-task" disabled={stop.busy}
                            onclick={stop.run.reform(|_: MouseEvent| ())}>{ "Stop" }</button>
                }
                <button class="btn" id="new-task-from" data-testid="new-task-from"
                        title="A new task on the same repository, agent, model and base branch"
                        onclick={new_task}>{ "New task…" }</button>
                <button class="btn" id="try-again" data-testid="try-again"
                        onclick={let o = retry_open.clone(); move |_| o.set(!*o)}>{ "Try again…" }</button>
                <button class="btn danger-text" id="delete-task" data-testid="delete-task" disabled={delete.busy}
                        onclick={on_delete}>{ "Delete" }</button>
            </div>
            if *retry_open {
                <RetryForm task={props.task.clone()} />
            }
            { maybe_error(&stop.error) }
            { maybe_error(&delete.error) }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct RetryFormProps {
    task: Task,
}

/// The same task again with another agent or model. Mounted only once opened, so the catalogue
/// is loaded only then.
#[component]
fn RetryForm(props: &RetryFormProps) -> Html {
    let agents = use_agents();
    let agent = use_state(|| props.task.agent.clone());
    let model = use_state(String::new);
    let retry = {
        let (t, navigator) = (props.task.clone(), use_navigator());
        use_action(move |(agent, model): (String, String)| {
            let body = CreateTask {
                repo_url: t.repo_url.clone(),
                prompt: t.prompt.clone(),
                agent,
                model: (!model.is_empty()).then_some(model),
                base_branch: t.base_branch.clone(),
                install_dependencies: t.install_dependencies,
                max_duration_minutes: Some(t.max_duration_minutes),
                keep_alive: t.keep_alive,
                connector_ids: t.connector_ids.clone(),
                create_pr: t.create_pr,
                enable_browser: t.enable_browser,
                dev_command: None,
                dev_port: None,
            };
            let navigator = navigator.clone();
            async move {
                let new = api::create_task(&body).await?;
                if let Some(n) = navigator {
                    n.push(&Route::Task { id: new.id });
                }
                Ok(())
            }
        })
    };
    let onsubmit = {
        let (run, agent, model) = (retry.run.clone(), agent.clone(), model.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            run.emit(((*agent).clone(), (*model).clone()));
        })
    };
    let on_agent = {
        let (agent, model) = (agent.clone(), model.clone());
        Callback::from(move |a: String| {
            agent.set(a);
            model.set(String::new());
        })
    };
    html! {
        <form class="row wrap retry" id="retry-form" data-testid="retry-form" {onsubmit}>
            <AgentPicker agents={agents} prefix="retry-" agent={AttrValue::from((*agent).clone())} {on_agent}
                         model={AttrValue::from((*model).clone())} on_model={let m = model.clone(); move |v| m.set(v)} any_model=true />
            <button class="btn primary" type="submit" id="retry-submit" data-testid="retry-submit"
                    disabled={retry.busy}>{ "Start new task" }</button>
            { maybe_error(&retry.error) }
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alt_digits_pick_tabs_in_order() {
        assert_eq!(tab_for_shortcut("1", true, false), Some(Tab::Timeline));
        assert_eq!(tab_for_shortcut("5", true, false), Some(Tab::Terminal));
        assert_eq!(tab_for_shortcut("6", true, false), Some(Tab::Preview));
        assert_eq!(tab_for_shortcut("7", true, false), Some(Tab::Editor));
        assert_eq!(tab_for_shortcut("8", true, false), None);
        assert_eq!(tab_for_shortcut("0", true, false), None);
        assert_eq!(tab_for_shortcut("1", false, false), None, "a plain digit is typing");
        assert_eq!(tab_for_shortcut("1", true, true), None, "Ctrl/Cmd+Alt+1 is not ours");
    }

    fn processing_task(stage: &str, updated_minute: u32) -> Task {
        serde_json::from_value(serde_json::json!({
            "id": Uuid::from_u128(1), "title": "", "prompt": "p", "repo_url": "r", "agent": "claude",
            "model": null, "agent_version": null, "status": "processing", "stage": stage, "progress": 0,
            "base_branch": null, "branch_name": null, "error": null, "install_dependencies": false,
            "max_duration_minutes": 5, "keep_alive": false, "create_pr": false, "pr_url": null,
            "pr_number": null, "created_at": "2026-12-03T00:00:00Z",
            "updated_at": format!("2026-12-03T00:{updated_minute:02}:00Z"), "started_at": null,
            "completed_at": null
        }))
        .unwrap()
    }

    fn event(seq: i64, minute: u32, body: serde_json::Value) -> shared::events::TaskEvent {
        let mut e = serde_json::json!({"seq": seq, "at": format!("2026-12-03T00:{minute:02}:00Z")});
        e.as_object_mut().unwrap().extend(body.as_object().unwrap().clone());
        serde_json::from_value(e).unwrap()
    }

    #[test]
    fn the_stage_follows_newer_events_even_when_the_status_event_is_older() {
        use shared::tasks::TaskStage;
        // Loaded at minute 2 while installing; the run started (status) at minute 1.
        let task = processing_task("installing", 2);
        let mut log = EventLog::default();
        log.push(event(
            1,
            1,
            serde_json::json!({"kind": "status", "payload": {"status": "processing"}}),
        ));
        log.push(event(
            2,
            2,
            serde_json::json!({"kind": "stage", "payload": {"stage": "installing"}}),
        ));
        assert_eq!(
            current_status(&task, &log),
            (TaskStatus::Processing, Some(TaskStage::Installing))
        );
        log.push(event(
            3,
            3,
            serde_json::json!({"kind": "stage", "payload": {"stage": "running_agent"}}),
        ));
        assert_eq!(
            current_status(&task, &log),
            (TaskStatus::Processing, Some(TaskStage::RunningAgent))
        );
        log.push(event(
            4,
            4,
            serde_json::json!({"kind": "status", "payload": {"status": "completed"}}),
        ));
        assert_eq!(current_status(&task, &log).0, TaskStatus::Completed);
        // A task changed after every event (a follow-up queued it) is shown as fetched.
        let queued = processing_task("queued", 9);
        assert_eq!(
            current_status(&queued, &log),
            (TaskStatus::Processing, Some(TaskStage::Queued))
        );
    }
}
