//! The form's "Options": install dependencies, keep the sandbox, open a pull (or merge) request,
//! which connectors to give the agent, browser automation (offered only where the server has
//! it), and the time limit. The first three switches are remembered.

use std::collections::BTreeSet;

use shared::connectors::Connector;
use shared::git_hosts::{ForgeKind, GitCredential};
use uuid::Uuid;
use yew::prelude::*;

use crate::components::forms::{target_checked, target_value};
use crate::hooks::{use_fetch, use_stored};
use crate::services::api;

/// Maximum-duration choices, in minutes.
const DURATIONS: [u32; 10] = [5, 10, 15, 30, 45, 60, 120, 180, 240, 300];

/// What the options say.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskOptions {
    /// Install dependencies by lockfile first.
    pub install_dependencies: bool,
    /// Keep the sandbox between runs.
    pub keep_alive: bool,
    /// Open a pull request when the run succeeds.
    pub create_pr: bool,
    /// Time limit; the server default when `None`.
    pub max_duration_minutes: Option<u32>,
    /// Ticked connectors.
    pub connectors: BTreeSet<Uuid>,
    /// Give the agent a headless browser.
    pub enable_browser: bool,
}

fn flag(v: &str) -> bool {
    v == "1"
}

fn stored_flag(b: bool) -> String {
    if b { "1" } else { "0" }.to_owned()
}

/// The options and their setter: the switches live in `localStorage`, the time limit and the
/// connectors only as long as the form.
#[hook]
pub fn use_task_options() -> (TaskOptions, Callback<TaskOptions>) {
    let (install, set_install) = use_stored("drydock-opt-install".into(), "1".into());
    let (keep_alive, set_keep_alive) = use_stored("drydock-opt-keep-alive".into(), "0".into());
    let (create_pr, set_create_pr) = use_stored("drydock-opt-create-pr".into(), "0".into());
    let duration = use_state(|| None::<u32>);
    let connectors = use_state(BTreeSet::<Uuid>::new);
    let browser = use_state(|| false);
    let value = TaskOptions {
        install_dependencies: flag(&install),
        keep_alive: flag(&keep_alive),
        create_pr: flag(&create_pr),
        max_duration_minutes: *duration,
        connectors: (*connectors).clone(),
        enable_browser: *browser,
    };
    let set = Callback::from(move |o: TaskOptions| {
        set_install.emit(stored_flag(o.install_dependencies));
        set_keep_alive.emit(stored_flag(o.keep_alive));
        set_create_pr.emit(stored_flag(o.create_pr));
        duration.set(o.max_duration_minutes);
        connectors.set(o.connectors);
        browser.set(o.enable_browser);
    });
    (value, set)
}

/// The ticked connectors that are still offered (enabled), in the listed order.
pub fn chosen_connectors(offered: &[Connector], ticked: &BTreeSet<Uuid>) -> Vec<Uuid> {
    offered.iter().filter(|c| c.enabled && ticked.contains(&c.id)).map(|c| c.id).collect()
}

/// Props of [`OptionsPanel`].
#[derive(Properties, PartialEq)]
pub struct OptionsPanelProps {
    /// The current options.
    pub value: TaskOptions,
    /// Called with the changed options.
    pub on_change: Callback<TaskOptions>,
    /// The connectors to offer (the enabled ones).
    pub connectors: Vec<Connector>,
    /// The repositories the task (or tasks) will run on, as typed.
    #[prop_or_default]
    pub repos: Vec<String>,
}

/// `host` or `host:port` of an `http(s)` repository URL, lower-cased and without the scheme's
/// default port: the key a git-host credential is stored under. `None` for anything else (a
/// local path, SSH, a URL with a user in it), as the server has it.
fn host_key(url: &str) -> Option<String> {
    let url = url.trim().to_ascii_lowercase();
    let (rest, default_port) = match url.split_once("://") {
        Some(("https", rest)) => (rest.to_owned(), ":443"),
        Some(("http", rest)) => (rest.to_owned(), ":80"),
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(authority.strip_suffix(default_port).unwrap_or(authority).to_owned())
}

/// What the switch opens, in the words of the repositories' forge: GitLab's "merge request"
/// when every repository is on a GitLab host the user stored a token for, "pull request" when
/// none is (GitHub, Gitea, a host Drydock knows nothing of), both words for a mix.
pub fn request_noun(repos: &[String], hosts: &[GitCredential]) -> &'static str {
    let forge_of = |repo: &String| {
        let host = host_key(repo)?;
        hosts.iter().find(|c| c.host == host)?.kind.forge()
    };
    let nouns: BTreeSet<&'static str> = repos
        .iter()
        .filter(|r| !r.trim().is_empty())
        .map(|r| forge_of(r).unwrap_or(ForgeKind::Github).request_noun())
        .collect();
    match nouns.len() {
        0 => ForgeKind::Github.request_noun(),
        1 => nouns.into_iter().next().unwrap_or_default(),
        _ => "pull or merge request",
    }
}

/// A checkbox row whose change gives the options with `apply(&mut options, checked)` done.
fn switch(
    props: &OptionsPanelProps,
    id: &'static str,
    label: impl Into<Html>,
    checked: bool,
    apply: fn(&mut TaskOptions, bool),
) -> Html {
    let (value, on_change) = (props.value.clone(), props.on_change.clone());
    let onchange = Callback::from(move |e: Event| {
        let mut next = value.clone();
        apply(&mut next, target_checked(&e));
        on_change.emit(next);
    });
    html! { <label class="check"><input type="checkbox" {id} {checked} {onchange} />{ label.into() }</label> }
}

/// The browser switch: enabled only when the server has browser automation, else disabled with
/// the server's reason as its title.
fn browser_switch(props: &OptionsPanelProps, available: Option<Result<(), String>>) -> Html {
    match available {
        Some(Ok(())) => switch(
            props,
            "opt-enable-browser",
            "Browser automation (headless Chromium)",
            props.value.enable_browser,
            |o, b| o.enable_browser = b,
        ),
        Some(Err(reason)) => html! {
            <label class="check muted" title={reason}>
                <input type="checkbox" id="opt-enable-browser" disabled=true checked=false />
                { "Browser automation (not available on this server)" }
            </label>
        },
        None => Html::default(),
    }
}

fn connector_choices(props: &OptionsPanelProps) -> Html {
    if props.connectors.is_empty() {
        return Html::default();
    }
    html! {
        <fieldset class="connectors" data-testid="task-connectors">
            <legend>{ "Connectors" }</legend>
            { for props.connectors.iter().map(|c| {
                let id = c.id;
                let (value, on_change) = (props.value.clone(), props.on_change.clone());
                let onchange = Callback::from(move |_: Event| {
                    let mut next = value.clone();
                    if !next.connectors.remove(&id) {
                        next.connectors.insert(id);
                    }
                    on_change.emit(next);
                });
                html! {
                    <label class="check" key={id.to_string()}>
                        <input type="checkbox" data-testid="task-connector" data-connector-id={id.to_string()}
                               value={id.to_string()} checked={props.value.connectors.contains(&id)} {onchange} />
                        { &c.name }
                    </label>
                }
            }) }
        </fieldset>
    }
}

fn duration_select(props: &OptionsPanelProps) -> Html {
    let (value, on_change) = (props.value.clone(), props.on_change.clone());
    let onchange = Callback::from(move |e: Event| {
        on_change.emit(TaskOptions {
            max_duration_minutes: target_value(&e).parse().ok(),
            ..value.clone()
        })
    });
    let current = props.value.max_duration_minutes;
    html! {
        <>
            <label for="opt-max-duration">{ "Maximum duration" }</label>
            <select id="opt-max-duration" {onchange}>
                <option value="" selected={current.is_none()}>{ "Server default" }</option>
                { for DURATIONS.iter().map(|m| html! {
                    <option value={m.to_string()} selected={current == Some(*m)}>{ format!("{m} minutes") }</option>
                }) }
            </select>
        </>
    }
}

/// The collapsible options section.
#[component]
pub fn OptionsPanel(props: &OptionsPanelProps) -> Html {
    let v = &props.value;
    let capabilities = use_fetch((), |()| api::capabilities());
    let hosts = use_fetch((), |()| api::git_credentials());
    let noun = request_noun(&props.repos, hosts.data().map(Vec::as_slice).unwrap_or_default());
    let browser = capabilities.data().map(|c| match &c.browser.reason {
        None if c.browser.available => Ok(()),
        reason => Err(reason.clone().unwrap_or_default()),
    });
    html! {
        <details class="options" data-testid="task-options">
            <summary>{ "Options" }</summary>
            { switch(props, "opt-install-deps", "Install dependencies", v.install_dependencies, |o, b| o.install_dependencies = b) }
            { switch(props, "opt-keep-alive", "Keep sandbox alive for follow-ups", v.keep_alive, |o, b| o.keep_alive = b) }
            { switch(props, "opt-create-pr", format!("Open a {noun} when done"), v.create_pr, |o, b| o.create_pr = b) }
            { browser_switch(props, browser) }
            { connector_choices(props) }
            { duration_select(props) }
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ticked_enabled_connectors_are_sent() {
        let c = |n: u128, enabled: bool| Connector {
            id: Uuid::from_u128(n),
            name: format!("c{n}"),
            kind: shared::connectors::ConnectorKind::Remote,
            command: None,
            args: Vec::new(),
            url: Some("https://x".into()),
            env_keys: Vec::new(),
            header_keys: Vec::new(),
            enabled,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        };
        let offered = vec![c(1, true), c(2, false), c(3, true)];
        let ticked: BTreeSet<Uuid> = [3, 2, 9].into_iter().map(Uuid::from_u128).collect();
        assert_eq!(chosen_connectors(&offered, &ticked), vec![Uuid::from_u128(3)]);
    }

    #[test]
    fn the_pull_request_switch_speaks_the_forges_words() {
        use crate::components::repo_picker::tests::credential as host;
        use shared::git_hosts::GitHostKind::{Gitea, Gitlab};
        let hosts = [host("gitlab.example.test", Gitlab), host("git.example.test:3000", Gitea)];
        let noun = |repos: &[&str]| {
            request_noun(&repos.iter().map(|r| r.to_string()).collect::<Vec<_>>(), &hosts)
        };
        assert_eq!(noun(&["https://GitLab.example.test:443/group/sub/app.git"]), "merge request");
        assert_eq!(noun(&["http://git.example.test:3000/o/app"]), "pull request");
        assert_eq!(noun(&["https://github.com/o/app"]), "pull request");
        assert_eq!(noun(&[]), "pull request");
        assert_eq!(noun(&["", "https://gitlab.example.test/g/a"]), "merge request");
        // A host matches only as the credential names it: another port is another host, and
        // a URL with a user in it gets no token, so no forge either.
        assert_eq!(noun(&["https://gitlab.example.test:8443/g/a"]), "pull request");
        assert_eq!(noun(&["https://me@gitlab.example.test/g/a"]), "pull request");
        assert_eq!(
            noun(&["https://gitlab.example.test/g/a", "https://github.com/o/a"]),
            "pull or merge request"
        );
    }

    #[test]
    fn switches_are_stored_as_one_and_zero() {
        assert!(flag(&stored_flag(true)));
        assert!(!flag(&stored_flag(false)));
        assert!(!flag(""));
    }
}
