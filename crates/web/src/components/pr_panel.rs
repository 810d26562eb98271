//! Pull request actions: open, merge (squash / merge / rebase), close, reopen; checks and
//! comments as the API reports them.

use serde_json::Value;
use shared::tasks::Task;
use yew::prelude::*;

use crate::components::async_content::{async_content, maybe_error};
use crate::components::forms::{bind, bind_select};
use crate::hooks::use_fetch;
use crate::services::{api, ApiError};
use crate::types::pulls::{CreatePullRequest, MergePullRequest};

fn field(v: &Value, names: &[&str]) -> String {
    names.iter().find_map(|n| v.get(*n).and_then(Value::as_str)).unwrap_or_default().to_owned()
}

/// Props of [`PrPanel`].
#[derive(Properties, PartialEq)]
pub struct PrPanelProps {
    /// The task.
    pub task: Task,
}

/// The pull request tab.
#[component]
pub fn PrPanel(props: &PrPanelProps) -> Html {
    let t = &props.task;
    let id = t.id;
    let pr = use_fetch(id, api::pull_request);
    let checks =
        use_fetch(id, |id| async move { api::loose_list(&format!("/tasks/{id}/checks")).await });
    let title = use_state(|| t.title.clone());
    let body = use_state(|| t.prompt.clone());
    let method = use_state(|| "squash".to_owned());
    let error = use_state(|| None::<ApiError>);
    let busy = use_state(|| false);
    // Runs an action, then reloads the pull request.
    let act = {
        let (error, busy, reload) = (error.clone(), busy.clone(), pr.reload.clone());
        let (title, body, method) = (title.clone(), body.clone(), method.clone());
        Callback::from(move |action: &'static str| {
            let (error, busy, reload) = (error.clone(), busy.clone(), reload.clone());
            let create = CreatePullRequest { title: (*title).clone(), body: (*body).clone() };
            let merge = MergePullRequest { method: (*method).clone() };
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let result = match action {
                    "create" => api::create_pull_request(id, &create).await.map(|_| ()),
                    "merge" => api::merge_pull_request(id, &merge).await,
                    other => api::pull_request_action(id, other).await,
                };
                match result {
                    Ok(()) => {
                        error.set(None);
                        reload.emit(());
                    }
                    Err(e) => error.set(Some(e)),
                }
                busy.set(false);
            });
        })
    };
    let click = |a: &'static str| {
        let act = act.clone();
        Callback::from(move |_: MouseEvent| act.emit(a))
    };
    if t.branch_name.is_none() {
        return html! { <p class="muted" data-testid="pr-no-branch">{ "No branch has been pushed yet." }</p> };
    }
    html! {
        <div class="pr-panel" data-testid="pr-panel">
            { async_content(&pr.state, |p| match p {
                None => html! {
                    <form class="stack" id="create-pr-form" onsubmit={let a = act.clone(); move |e: SubmitEvent| { e.prevent_default(); a.emit("create"); }}>
                        <label for="pr-title">{ "Title" }</label>
                        <input id="pr-title" value={(*title).clone()} oninput={bind(&title)} />
                        <label for="pr-body">{ "Description" }</label>
                        <textarea id="pr-body" rows="5" value={(*body).clone()} oninput={bind(&body)} />
                        <button class="btn primary" id="create-pr" data-testid="create-pr" type="submit" disabled={*busy}>{ "Open pull request" }</button>
                    </form>
                },
                Some(p) => html! {
                    <div class="stack">
                        <div class="row">
                            <a href={p.url.clone()} target="_blank" rel="noopener noreferrer" data-testid="pr-link">{ format!("#{} {}", p.number, p.title) }</a>
                            <span class={classes!("badge", format!("pr-{}", p.state))} data-testid="pr-state" data-state={p.state.clone()}>{ &p.state }</span>
                        </div>
                        if p.state == "open" {
                            <div class="row wrap">
                                <select id="merge-method" data-testid="merge-method" onchange={bind_select(&method)}>
                                    <option value="squash" selected={*method == "squash"}>{ "Squash and merge" }</option>
                                    <option value="merge" selected={*method == "merge"}>{ "Merge commit" }</option>
                                    <option value="rebase" selected={*method == "rebase"}>{ "Rebase and merge" }</option>
                                </select>
                                <button class="btn primary" id="merge-pr" data-testid="merge-pr" disabled={*busy} onclick={click("merge")}>{ "Merge" }</button>
                                <button class="btn" id="close-pr" data-testid="close-pr" disabled={*busy} onclick={click("close")}>{ "Close" }</button>
                            </div>
                        }
                        if p.state == "closed" {
                            <button class="btn" id="reopen-pr" data-testid="reopen-pr" disabled={*busy} onclick={click("reopen")}>{ "Reopen" }</button>
                        }
                    </div>
                },
            }) }
            { maybe_error(&error) }
            <h3>{ "Checks" }</h3>
            { async_content(&checks.state, |list| html! {
                <ul class="checks" data-testid="checks">
                    if list.is_empty() { <li class="muted">{ "No checks." }</li> }
                    { for list.iter().map(|c| html! {
                        <li data-testid="check" data-conclusion={field(c, &["conclusion"])}>
                            <strong>{ field(c, &["name"]) }</strong>{ " " }
                            <span class="muted">{ format!("{} {}", field(c, &["status"]), field(c, &["conclusion"])) }</span>
                        </li>
                    }) }
                </ul>
            }) }
        </div>
    }
}
