//! MCP connectors: list with on/off switch and delete, add from a preset (the server's list,
//! `GET /connectors/presets`) or custom.

use std::collections::BTreeMap;

use shared::connectors::{
    Connector, ConnectorKind, ConnectorPreset, CreateConnector, UpdateConnector,
};
use uuid::Uuid;
use yew::prelude::*;

use crate::components::async_content::{async_content, maybe_error};
use crate::components::forms::{bind, bind_select, confirm};
use crate::hooks::{use_action, use_fetch};
use crate::services::{api, ApiError};

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

/// The URL of a remote server, or the command line of a local one.
fn target(url: Option<&str>, command: Option<&str>, args: &[String]) -> String {
    match (url, command) {
        (Some(u), _) => u.to_owned(),
        (None, Some(cmd)) => std::iter::once(cmd)
            .chain(args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        (None, None) => String::new(),
    }
}

fn target_of(c: &Connector) -> String {
    target(c.url.as_deref(), c.command.as_deref(), &c.args)
}

/// What picking a preset puts in the form: name, type, target, and one `KEY=` line per secret
/// it needs (headers of a remote server, environment of a local one) for the user to fill in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// Connector name.
    pub name: String,
    /// `remote` or `local`.
    pub kind: String,
    /// URL or command line.
    pub target: String,
    /// `KEY=value` lines.
    pub secrets: String,
}

/// The form filled from a preset.
pub fn draft_of(p: &ConnectorPreset) -> Draft {
    let keys = match p.kind {
        ConnectorKind::Remote => &p.header_keys,
        ConnectorKind::Local => &p.env_keys,
    };
    Draft {
        name: p.name.clone(),
        kind: p.kind.as_str().to_owned(),
        target: target(p.url.as_deref(), p.command.as_deref(), &p.args),
        secrets: keys.iter().map(|k| format!("{k}=\n")).collect(),
    }
}

/// What a local (stdio) connector means for its secrets and its network (docs/egress.md).
const IN_SANDBOX: &str = "A local connector runs inside the task's sandbox as the agent's child: \
     its environment, secrets included, is visible to the agent, and it reaches only the hosts \
     the operator allows (tasks.egress_allow). Prefer a remote connector for anything holding a \
     credential.";
/// What a remote connector means for its headers.
const BROKERED: &str = "A remote connector is reached through Drydock's broker: the agent sees \
     placeholders, and the broker adds the real header values on the way out.";

/// The connectors section.
#[component]
pub fn Connectors() -> Html {
    let list = use_fetch((), |()| api::connectors());
    let toggle = {
        let reload = list.reload.clone();
        use_action(move |c: Connector| {
            let reload = reload.clone();
            async move {
                let body =
                    UpdateConnector { enabled: Some(!c.enabled), ..UpdateConnector::default() };
                let result = api::update_connector(c.id, &body).await;
                reload.emit(());
                result
            }
        })
    };
    let delete = {
        let reload = list.reload.clone();
        use_action(move |id: Uuid| {
            let reload = reload.clone();
            async move {
                let result = api::delete_connector(id).await;
                reload.emit(());
                result
            }
        })
    };
    let row = |c: &Connector| {
        let (c2, run) = (c.clone(), toggle.run.clone());
        let (id, remove) = (c.id, delete.run.clone());
        let on_delete = Callback::from(move |_: MouseEvent| {
            if confirm("Delete this connector?") {
                remove.emit(id);
            }
        });
        html! {
            <li key={c.id.to_string()} class="row" data-testid="connector-row" data-connector-id={c.id.to_string()}>
                <label class="check">
                    <input type="checkbox" data-testid="connector-enabled" checked={c.enabled}
                           onchange={Callback::from(move |_: Event| run.emit(c2.clone()))} />
                    { &c.name }
                </label>
                <span class="muted small">{ target_of(c) }</span>
                if c.kind == ConnectorKind::Local {
                    <span class="chip small" data-testid="connector-in-sandbox" title={IN_SANDBOX}>{ "runs in the sandbox" }</span>
                } else {
                    <span class="chip small" data-testid="connector-brokered" title={BROKERED}>{ "brokered" }</span>
                }
                <span class="spacer" />
                <button class="btn small danger-text" data-testid="connector-delete" onclick={on_delete}>{ "Delete" }</button>
            </li>
        }
    };
    html! {
        <div class="card" data-testid="connectors">
            { async_content(&list.state, |items| html! {
                <ul class="connector-list" data-testid="connector-list">
                    if items.is_empty() { <li class="muted">{ "No connectors yet." }</li> }
                    { for items.iter().map(row) }
                </ul>
            }) }
            { maybe_error(&toggle.error) }
            { maybe_error(&delete.error) }
            <h3>{ "Add a connector" }</h3>
            <ConnectorForm reload={list.reload.clone()} />
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct ConnectorFormProps {
    /// Reloads the list after a connector was added.
    reload: Callback<()>,
}

/// The presets and the add form they fill.
#[component]
fn ConnectorForm(props: &ConnectorFormProps) -> Html {
    let presets = use_fetch((), |()| api::connector_presets());
    let name = use_state(String::new);
    let kind = use_state(|| "remote".to_owned());
    let target = use_state(String::new);
    let env = use_state(String::new);
    let pick = {
        let (name, kind, target, env) = (name.clone(), kind.clone(), target.clone(), env.clone());
        Callback::from(move |p: ConnectorPreset| {
            let d = draft_of(&p);
            name.set(d.name);
            kind.set(d.kind);
            target.set(d.target);
            env.set(d.secrets);
        })
    };
    let save = {
        let (name, target, env, reload) =
            (name.clone(), target.clone(), env.clone(), props.reload.clone());
        use_action(move |body: CreateConnector| {
            let (name, target, env, reload) =
                (name.clone(), target.clone(), env.clone(), reload.clone());
            async move {
                api::create_connector(&body).await?;
                name.set(String::new());
                target.set(String::new());
                env.set(String::new());
                reload.emit(());
                Ok(())
            }
        })
    };
    let onsubmit = {
        let (name, kind, target, env, save) =
            (name.clone(), kind.clone(), target.clone(), env.clone(), save.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match parse_env(&env) {
                Ok(pairs) => save.run.emit(create_body(&name, &kind, &target, pairs)),
                Err(msg) => save.fail(ApiError::Problem(shared::Problem::new(
                    422,
                    "Invalid input",
                    Some(msg),
                ))),
            }
        })
    };
    let remote = *kind == "remote";
    html! {
        <>
            { async_content(&presets.state, |list| html! {
                <div class="row wrap presets" data-testid="connector-presets">
                    { for list.iter().map(|p| {
                        let (pick, preset) = (pick.clone(), p.clone());
                        html! {
                            <button class="chip" type="button" data-testid="connector-preset" data-preset={p.id.clone()}
                                    title={p.description.clone()} onclick={move |_: MouseEvent| pick.emit(preset.clone())}>{ &p.title }</button>
                        }
                    }) }
                </div>
            }) }
            <form class="stack" id="connector-form" data-testid="connector-form" {onsubmit}>
                <label for="connector-name">{ "Name" }</label>
                <input id="connector-name" required=true value={(*name).clone()} oninput={bind(&name)} />
                <label for="connector-kind">{ "Server type" }</label>
                <select id="connector-kind" onchange={bind_select(&kind)}>
                    <option value="remote" selected={remote}>{ "Remote (URL)" }</option>
                    <option value="local" selected={!remote}>{ "Local (command)" }</option>
                </select>
                <label for="connector-target">{ if remote { "Server URL" } else { "Command" } }</label>
                <input id="connector-target" required=true value={(*target).clone()} oninput={bind(&target)} />
                <label for="connector-env">{ if remote { "Headers (KEY=value per line; stored encrypted)" } else { "Environment variables (KEY=value per line; stored encrypted)" } }</label>
                <textarea id="connector-env" rows="3" value={(*env).clone()} oninput={bind(&env)} />
                <p class="small muted" data-testid="connector-kind-note">{ if remote { BROKERED } else { IN_SANDBOX } }</p>
                { maybe_error(&save.error) }
                <button class="btn primary" type="submit" id="connector-save" data-testid="connector-save"
                        disabled={save.busy}>{ "Add connector" }</button>
            </form>
        </>
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

    fn preset(json: &str) -> ConnectorPreset {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_preset_fills_the_form_with_its_secrets_to_complete() {
        let local = preset(
            r#"{"id":"browserbase","title":"Browserbase","name":"browserbase","description":"d",
                "type":"local","command":"npx","args":["-y","@browserbasehq/mcp"],"url":null,
                "env_keys":["A_KEY","B_ID"],"header_keys":[]}"#,
        );
        let d = draft_of(&local);
        assert_eq!((d.name.as_str(), d.kind.as_str()), ("browserbase", "local"));
        assert_eq!(d.target, "npx -y @browserbasehq/mcp");
        assert_eq!(d.secrets, "A_KEY=\nB_ID=\n");
        let remote = preset(
            r#"{"id":"linear","title":"Linear","name":"linear","description":"d","type":"remote",
                "command":null,"args":[],"url":"https://mcp.linear.app/sse","env_keys":[],
                "header_keys":["Authorization"]}"#,
        );
        let d = draft_of(&remote);
        assert_eq!((d.kind.as_str(), d.target.as_str()), ("remote", "https://mcp.linear.app/sse"));
        assert_eq!(d.secrets, "Authorization=\n");
        // The filled form gives back the preset's command and arguments.
        let body = create_body(&d.name, "local", "npx -y @browserbasehq/mcp", BTreeMap::new());
        assert_eq!((body.command.as_deref(), body.args.len()), (Some("npx"), 2));
    }
}
