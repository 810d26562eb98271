//! The Sandboxes dialog, opened from the top bar: the caller's live sandboxes with the time
//! each has left and a stop button.

use gloo_timers::callback::Interval;
use uuid::Uuid;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::async_content::{async_content, maybe_error};
use crate::components::icon::{Icon, IconName};
use crate::components::sandbox::{size, time_left};
use crate::hooks::{use_action, use_fetch};
use crate::services::api;
use crate::util::{now_ms, truncate};

/// How often the open dialog refreshes.
const POLL_MS: u32 = 5_000;

/// The top-bar button and, when open, the dialog.
#[component]
pub fn SandboxesButton() -> Html {
    let open = use_state(|| false);
    let toggle = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(!*open))
    };
    html! {
        <>
            <button class="btn small" id="open-sandboxes" data-testid="open-sandboxes" title="Live sandboxes" onclick={toggle.clone()}><Icon name={IconName::Server} /><span class="label">{ "Sandboxes" }</span></button>
            if *open { <SandboxesDialog on_close={toggle} /> }
        </>
    }
}

#[derive(Properties, PartialEq)]
struct DialogProps {
    on_close: Callback<MouseEvent>,
}

#[component]
fn SandboxesDialog(props: &DialogProps) -> Html {
    let list = use_fetch((), |()| api::sandboxes());
    {
        let reload = list.reload.clone();
        use_effect_with((), move |()| {
            let interval = Interval::new(POLL_MS, move || reload.emit(()));
            move || drop(interval)
        });
    }
    let stop = {
        let reload = list.reload.clone();
        use_action(move |id: Uuid| {
            let reload = reload.clone();
            async move {
                api::sandbox_action(id, "stop").await?;
                reload.emit(());
                Ok(())
            }
        })
    };
    let now = now_ms();
    html! {
        <div class="dialog-backdrop">
            <div class="dialog" role="dialog" aria-modal="true" aria-label="Sandboxes" data-testid="sandboxes-dialog">
                <header class="row">
                    <h2>{ "Live sandboxes" }</h2>
                    <span class="spacer" />
                    <button class="icon-btn" data-testid="close-sandboxes" title="Close" aria-label="Close" onclick={props.on_close.clone()}><Icon name={IconName::Close} /></button>
                </header>
                { async_content(&list.state, |items| html! {
                    <ul class="sandbox-list" data-testid="sandbox-list">
                        if items.is_empty() { <li class="muted">{ "No live sandboxes." }</li> }
                        { for items.iter().map(|s| {
                            let id = s.task_id;
                            let run = stop.run.clone();
                            let usage = [s.memory_bytes.map(size), s.processes.map(|p| format!("{p} processes")), s.disk_bytes.map(size)]
                                .into_iter().flatten().collect::<Vec<_>>().join(" · ");
                            html! {
                                <li key={id.to_string()} class="row wrap" data-testid="sandbox-row" data-task-id={id.to_string()}>
                                    <Link<Route> to={Route::Task { id }}>{ truncate(&s.title, 60) }</Link<Route>>
                                    <span class="muted" data-testid="sandbox-row-state">{ s.state.as_str() }</span>
                                    if let Some(at) = s.expires_at {
                                        <span data-testid="sandbox-row-left">{ time_left(at, now) }</span>
                                    }
                                    <span class="muted">{ usage }</span>
                                    <button class="btn small danger" data-testid="sandbox-row-stop" disabled={stop.busy}
                                            onclick={move |_| run.emit(id)}>{ "Stop" }</button>
                                </li>
                            }
                        }) }
                    </ul>
                }) }
                { maybe_error(&stop.error) }
            </div>
        </div>
    }
}
