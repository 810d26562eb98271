//! The Preview tab: the task's dev server in a frame, with refresh, open in a new tab, copy
//! URL, start/restart/stop and its status.
//!
//! Each load of the frame (and each new tab) uses a fresh one-time link: opening it sets the
//! preview's own cookie, so the preview never gets the session cookie.

use shared::preview::{DevServer, DevServerState};
use uuid::Uuid;
use yew::prelude::*;

use crate::components::async_content::maybe_error;
use crate::components::forms::copy_text;
use crate::hooks::{use_action, use_fetch};
use crate::services::api;

/// Props of [`Preview`].
#[derive(Properties, PartialEq)]
pub struct PreviewProps {
    /// The task.
    pub task_id: Uuid,
    /// Changes whenever a run ended (the dev server may have started after it).
    pub refresh: usize,
}

fn state_label(server: &DevServer) -> String {
    match server.state {
        DevServerState::NotFound => "No dev server found".into(),
        DevServerState::Stopped => "Stopped".into(),
        DevServerState::Running => "Running".into(),
        DevServerState::Exited => match server.exit_code {
            Some(code) => format!("Exited with code {code}"),
            None => "Exited".into(),
        },
    }
}

/// The Preview tab.
#[component]
pub fn Preview(props: &PreviewProps) -> Html {
    let id = props.task_id;
    let bump = use_state(|| 0usize);
    let server = use_fetch((id, props.refresh, *bump), |(id, _, _)| api::dev_server(id));
    // The frame's current one-time link, and the preview's address to show and copy.
    let frame = use_state(|| None::<String>);
    let address = use_state(String::new);
    let load = {
        let (frame, address) = (frame.clone(), address.clone());
        use_action(move |()| {
            let (frame, address) = (frame.clone(), address.clone());
            async move {
                let link = api::preview_link(id).await?;
                address.set(link.preview_url);
                frame.set(Some(link.url));
                Ok(())
            }
        })
    };
    let running = server.data().is_some_and(|s| s.state == DevServerState::Running);
    {
        // Load the frame once the server runs.
        let run = load.run.clone();
        use_effect_with((running, id), move |(running, _)| {
            if *running {
                run.emit(());
            }
        });
    }
    let new_tab = use_action(move |()| async move {
        let link = api::preview_link(id).await?;
        if let Some(w) = web_sys::window() {
            let _ = w.open_with_url_and_target(&link.url, "_blank");
        }
        Ok(())
    });
    let control = {
        let (bump, run) = (bump.clone(), load.run.clone());
        use_action(move |action: &'static str| {
            let (bump, run) = (bump.clone(), run.clone());
            async move {
                let server = api::dev_server_action(id, action).await?;
                bump.set(*bump + 1);
                if server.state == DevServerState::Running {
                    run.emit(());
                }
                Ok(())
            }
        })
    };
    let status = match server.data() {
        Some(s) => html! {
            <div class="row wrap preview-status">
                <span class={classes!("badge", format!("dev-{:?}", s.state).to_lowercase())}
                      data-testid="dev-server-state">{ state_label(s) }</span>
                if let Some(c) = &s.command { <code data-testid="dev-server-command">{ c }</code> }
                if let Some(p) = s.port { <span class="muted">{ format!("port {p}") }</span> }
                if let Some(d) = &s.detail { <span class="muted" data-testid="dev-server-detail">{ d }</span> }
            </div>
        },
        None => Html::default(),
    };
    let startable = server
        .data()
        .is_some_and(|s| matches!(s.state, DevServerState::Stopped | DevServerState::Exited));
    let copy = {
        let address = address.clone();
        Callback::from(move |_: MouseEvent| copy_text(&address))
    };
    html! {
        <section class="preview" data-testid="preview">
            <div class="row wrap preview-toolbar">
                <button class="btn" data-testid="preview-refresh" disabled={load.busy || !running}
                        onclick={load.run.reform(|_: MouseEvent| ())}>{ "Refresh" }</button>
                <button class="btn" data-testid="preview-open" disabled={new_tab.busy || !running}
                        onclick={new_tab.run.reform(|_: MouseEvent| ())}>{ "Open in new tab" }</button>
                <button class="btn" data-testid="preview-copy" disabled={address.is_empty()}
                        onclick={copy}>{ "Copy URL" }</button>
                if startable {
                    <button class="btn primary" data-testid="dev-server-start" disabled={control.busy}
                            onclick={control.run.reform(|_: MouseEvent| "start")}>{ "Start" }</button>
                }
                if running {
                    <button class="btn" data-testid="dev-server-restart" disabled={control.busy}
                            onclick={control.run.reform(|_: MouseEvent| "restart")}>{ "Restart" }</button>
                    <button class="btn danger-text" data-testid="dev-server-stop" disabled={control.busy}
                            onclick={control.run.reform(|_: MouseEvent| "stop")}>{ "Stop" }</button>
                }
                if !address.is_empty() { <code class="muted" data-testid="preview-url">{ (*address).clone() }</code> }
            </div>
            { status }
            { maybe_error(&load.error) }
            { maybe_error(&new_tab.error) }
            { maybe_error(&control.error) }
            if let (true, Some(src)) = (running, (*frame).clone()) {
                <iframe class="preview-frame" data-testid="preview-frame" src={src} title="Preview"
                        sandbox="allow-scripts allow-forms allow-popups allow-modals allow-downloads allow-same-origin" />
            }
        </section>
    }
}
