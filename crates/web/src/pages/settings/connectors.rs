//! MCP connectors: list with on/off switch and delete, add from a preset or custom.

use std::collections::BTreeMap;

use shared::connectors::{Connector, ConnectorKind, CreateConnector, UpdateConnector};
use yew::prelude::*;

use crate::components::async_content::{async_content, maybe_error};
use crate::components::forms::{bind, bind_select, confirm};
use crate::hooks::use_fetch;
use crate::services::{api, ApiError};
use crate::types::connectors::PRESETS;

/// Parses `KEY=value` lines into environment variables (blank lines and `#` comments skipped).
pub fn parse_env(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut env = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (k, v) = line.split_once('=').ok_or_else(|| format!("“{line}” is not KEY=value"))?;
        env.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(env)
}

/// Splits a command line into the executable and its arguments (on whitespace).
pub fn split_command(line: &str) -> (Option<String>, Vec<String>) {
    let mut words = line.split_whitespace().map(str::to_owned);
    (words.next(), words.collect())
}

/// The body of `POST /connectors` from the form: `pairs` are the environment of a local server
/// or the headers of a remote one.
pub fn create_body(
    name: &str,
    kind: &str,
    target: &str,
    pairs: BTreeMap<String, String>,
) -> CreateConnector {
    let kind = ConnectorKind::parse(kind).unwrap_or(ConnectorKind::Remote);
    let remote = kind == ConnectorKind::Remote;
    let (command, args) = if remote { (None, Vec::new()) } else { split_command(target) };
    CreateConnector {
        name: name.trim().to_owned(),
        kind,
        command,
        args,
        url: remote.then(|| target.trim().to_owned()),
        env: if remote { BTreeMap::new() } else { pairs.clone() },
        headers: if remote { pairs } else { BTreeMap::new() },
        enabled: true,
    }
}

fn toggle_of(c: &Connector) -> UpdateConnector {
    UpdateConnector { enabled: Some(!c.enabled), ..UpdateConnector::default() }
}

fn target_of(c: &Connector) -> String {
    match (&c.url, &c.command) {
        (Some(u), _) => u.clone(),
        (None, Some(cmd)) => {
            std::iter::once(cmd.clone()).chain(c.args.iter().cloned()).collect::<Vec<_>>().join(" ")
        }
        (None, None) => String::new(),
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
                name.set(p.name.to_ascii_lowercase().replace(' ', "-"));
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
            let body = create_body(&name, &kind, &target, env_map);
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
                            let body = toggle_of(&c2);
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
                                <span class="muted small">{ target_of(c) }</span>
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
                <label for="connector-env">{ if *kind == "remote" { "Headers (KEY=value per line; stored encrypted)" } else { "Environment variables (KEY=value per line; stored encrypted)" } }</label>
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

    #[test]
    fn create_body_splits_commands_and_routes_secrets() {
        let env: BTreeMap<String, String> = [("K".to_owned(), "v".to_owned())].into();
        let local = create_body(" pw ", "local", "npx -y @playwright/mcp", env.clone());
        assert_eq!(local.command.as_deref(), Some("npx"));
        assert_eq!(local.args, vec!["-y".to_owned(), "@playwright/mcp".to_owned()]);
        assert_eq!(local.env, env);
        assert!(local.headers.is_empty() && local.url.is_none());
        let remote = create_body("ctx", "remote", "https://x/mcp", env.clone());
        assert_eq!(remote.url.as_deref(), Some("https://x/mcp"));
        assert_eq!(remote.headers, env);
        assert!(remote.env.is_empty() && remote.command.is_none());
        assert_eq!(remote.name, "ctx");
    }
}
