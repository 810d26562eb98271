//! MCP connectors: list with on/off switch and delete, add from a preset or custom.

use std::collections::BTreeMap;

use yew::prelude::*;

use crate::components::async_content::{async_content, maybe_error};
use crate::components::forms::{bind, bind_select, confirm};
use crate::hooks::use_fetch;
use crate::services::{api, ApiError};
use crate::types::connectors::{Connector, ConnectorInput, PRESETS};

/// Parses `KEY=value` lines into environment variables (blank lines and `#` comments skipped).
pub fn parse_env(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut env = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (k, v) = line.split_once('=').ok_or_else(|| format!("“{line}” is not KEY=value"))?;
        env.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(env)
}

fn input_of(c: &Connector, enabled: bool) -> ConnectorInput {
    ConnectorInput {
        name: c.name.clone(),
        kind: c.kind.clone(),
        url: c.url.clone(),
        command: c.command.clone(),
        env: BTreeMap::new(),
        enabled,
    }
}

/// The connectors section.
#[component]
pub fn Connectors() -> Html {
    let list = use_fetch((), |()| api::connectors());
    let error = use_state(|| None::<ApiError>);
    let name = use_state(String::new);
    let kind = use_state(|| "remote".to_owned());
    let target = use_state(String::new);
    let env = use_state(String::new);
    let pick = |i: usize| {
        let (name, kind, target, env) = (name.clone(), kind.clone(), target.clone(), env.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(p) = PRESETS.get(i) {
                name.set(p.name.to_owned());
                kind.set(p.kind.to_owned());
                target.set(p.target.to_owned());
                env.set(p.env.iter().map(|k| format!("{k}=\n")).collect());
            }
        })
    };
    let onsubmit = {
        let (name, kind, target, env) = (name.clone(), kind.clone(), target.clone(), env.clone());
        let (error, reload) = (error.clone(), list.reload.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let env_map = match parse_env(&env) {
                Ok(m) => m,
                Err(msg) => {
                    error.set(Some(ApiError::Problem(shared::Problem::new(
                        422,
                        "Invalid input",
                        Some(msg),
                    ))));
                    return;
                }
            };
            let remote = *kind == "remote";
            let body = ConnectorInput {
                name: name.trim().to_owned(),
                kind: (*kind).clone(),
                url: remote.then(|| target.trim().to_owned()),
                command: (!remote).then(|| target.trim().to_owned()),
                env: env_map,
                enabled: true,
            };
            let (name, target, env, error, reload) =
                (name.clone(), target.clone(), env.clone(), error.clone(), reload.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api::create_connector(&body).await {
                    Ok(()) => {
                        name.set(String::new());
                        target.set(String::new());
                        env.set(String::new());
                        error.set(None);
                        reload.emit(());
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    html! {
        <div class="card" data-testid="connectors">
            { async_content(&list.state, |items| html! {
                <ul class="connector-list" data-testid="connector-list">
                    if items.is_empty() { <li class="muted">{ "No connectors yet." }</li> }
                    { for items.iter().map(|c| {
                        let (c2, err2, reload) = (c.clone(), error.clone(), list.reload.clone());
                        let toggle = Callback::from(move |_: Event| {
                            let body = input_of(&c2, !c2.enabled);
                            let (error, reload, id) = (err2.clone(), reload.clone(), c2.id);
                            wasm_bindgen_futures::spawn_local(async move {
                                if let Err(e) = api::update_connector(id, &body).await { error.set(Some(e)); }
                                reload.emit(());
                            });
                        });
                        let (id, error, reload) = (c.id, error.clone(), list.reload.clone());
                        let delete = Callback::from(move |_: MouseEvent| {
                            if !confirm("Delete this connector?") { return; }
                            let (error, reload) = (error.clone(), reload.clone());
                            wasm_bindgen_futures::spawn_local(async move {
                                if let Err(e) = api::delete_connector(id).await { error.set(Some(e)); }
                                reload.emit(());
                            });
                        });
                        html! {
                            <li key={c.id.to_string()} class="row" data-testid="connector-row" data-connector-id={c.id.to_string()}>
                                <label class="check"><input type="checkbox" data-testid="connector-enabled" checked={c.enabled} onchange={toggle} />{ &c.name }</label>
                                <span class="muted small">{ c.url.clone().or_else(|| c.command.clone()).unwrap_or_default() }</span>
                                <span class="spacer" />
                                <button class="btn small danger-text" data-testid="connector-delete" onclick={delete}>{ "Delete" }</button>
                            </li>
                        }
                    }) }
                </ul>
            }) }
            <h3>{ "Add a connector" }</h3>
            <div class="row wrap presets" data-testid="connector-presets">
                { for PRESETS.iter().enumerate().map(|(i, p)| html! {
                    <button class="chip" type="button" data-testid="connector-preset" data-preset={p.name} onclick={pick(i)}>{ p.name }</button>
                }) }
            </div>
            <form class="stack" id="connector-form" data-testid="connector-form" {onsubmit}>
                <label for="connector-name">{ "Name" }</label>
                <input id="connector-name" required=true value={(*name).clone()} oninput={bind(&name)} />
                <label for="connector-kind">{ "Server type" }</label>
                <select id="connector-kind" onchange={bind_select(&kind)}>
                    <option value="remote" selected={*kind == "remote"}>{ "Remote (URL)" }</option>
                    <option value="local" selected={*kind == "local"}>{ "Local (command)" }</option>
                </select>
                <label for="connector-target">{ if *kind == "remote" { "Server URL" } else { "Command" } }</label>
                <input id="connector-target" required=true value={(*target).clone()} oninput={bind(&target)} />
                <label for="connector-env">{ "Environment variables (KEY=value per line; stored encrypted)" }</label>
                <textarea id="connector-env" rows="3" value={(*env).clone()} oninput={bind(&env)} />
                { maybe_error(&error) }
                <button class="btn primary" type="submit" id="connector-save" data-testid="connector-save">{ "Add connector" }</button>
            </form>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_lines_parse() {
        let env = parse_env("A=1\n# c\n\nB = two=2\n").unwrap();
        assert_eq!(env["A"], "1");
        assert_eq!(env["B"], "two=2");
        assert!(parse_env("nope").is_err());
    }
}
