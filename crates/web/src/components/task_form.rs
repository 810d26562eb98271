//! The new-task form: repository, prompt, agent and model, options, and compare mode (one task
//! per ticked `agent:model` pair).

use std::collections::BTreeSet;

use shared::connectors::Connector;
use shared::tasks::{CreateTask, PROMPT_MAX_CHARS};
use uuid::Uuid;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::async_content::maybe_error;
use crate::components::forms::{is_submit_key, target_value};
use crate::components::repo_picker::RepoPicker;
use crate::hooks::{use_fetch, use_stored};
use crate::services::{api, storage, ApiError};
use crate::types::agents::{builtin, AgentInfo};

/// The pseudo-agent value that switches the form to compare mode.
pub const COMPARE: &str = "compare";

/// Maximum-duration choices, in minutes.
const DURATIONS: [u32; 10] = [5, 10, 15, 30, 45, 60, 120, 180, 240, 300];

/// Splits an `agent:model` pair (models may contain colons; agents never do).
pub fn parse_pair(pair: &str) -> Option<(String, String)> {
    let (agent, model) = pair.split_once(':')?;
    (!agent.is_empty() && !model.is_empty()).then(|| (agent.to_owned(), model.to_owned()))
}

/// Checks the form before sending; returns the first problem.
pub fn validate(repo: &str, prompt: &str, compare: Option<usize>) -> Option<String> {
    if repo.trim().is_empty() {
        return Some("Enter a repository URL.".into());
    }
    if prompt.trim().is_empty() {
        return Some("Describe what the agent should do.".into());
    }
    if prompt.chars().count() > PROMPT_MAX_CHARS {
        return Some(format!("The prompt is longer than {PROMPT_MAX_CHARS} characters."));
    }
    if compare == Some(0) {
        return Some("Tick at least one agent and model to compare.".into());
    }
    None
}

/// The ticked connectors that are still offered (enabled), in the listed order.
pub fn chosen_connectors(offered: &[Connector], ticked: &BTreeSet<Uuid>) -> Vec<Uuid> {
    offered.iter().filter(|c| c.enabled && ticked.contains(&c.id)).map(|c| c.id).collect()
}

fn model_key(agent: &str) -> String {
    format!("drydock-last-model-{agent}")
}

fn flag(v: &str) -> bool {
    v == "1"
}

/// The new-task form.
#[component]
pub fn TaskForm() -> Html {
    let navigator = use_navigator();
    let agents = use_fetch((), |()| api::agents());
    let agent_list: Vec<AgentInfo> = agents.data().cloned().unwrap_or_else(builtin);
    let (repo, set_repo) = use_stored("drydock-repo-url".into(), String::new());
    let (prompt, set_prompt) = use_stored("drydock-task-prompt".into(), String::new());
    let (agent, set_agent) = use_stored("drydock-last-agent".into(), "claude".into());
    let model = use_state(|| storage::get(&model_key(&agent)).unwrap_or_default());
    let (install, set_install) = use_stored("drydock-opt-install".into(), "1".into());
    let (keep_alive, set_keep_alive) = use_stored("drydock-opt-keep-alive".into(), "0".into());
    let (create_pr, set_create_pr) = use_stored("drydock-opt-create-pr".into(), "0".into());
    let duration = use_state(String::new);
    let pairs = use_state(BTreeSet::<String>::new);
    let connectors = use_fetch((), |()| api::connectors());
    let enabled_connectors: Vec<Connector> = connectors
        .data()
        .map(|l| l.iter().filter(|c| c.enabled).cloned().collect())
        .unwrap_or_default();
    let ticked = use_state(BTreeSet::<Uuid>::new);
    let error = use_state(|| None::<ApiError>);
    let local_error = use_state(|| None::<String>);
    let busy = use_state(|| false);

    let compare = *agent == COMPARE;
    let current = agent_list.iter().find(|a| a.id == *agent).cloned();
    // The remembered model may not exist for this agent (any more): fall back to its default.
    let model_value = match &current {
        Some(a) if a.models.iter().any(|m| m.id == *model) => (*model).clone(),
        Some(a) => a
            .default_model
            .clone()
            .or_else(|| a.models.first().map(|m| m.id.clone()))
            .unwrap_or_default(),
        None => String::new(),
    };

    let submit = {
        let (repo, prompt, agent, set_prompt) =
            (repo.clone(), prompt.clone(), agent.clone(), set_prompt.clone());
        let (install, keep_alive, create_pr, duration) =
            (install.clone(), keep_alive.clone(), create_pr.clone(), duration.clone());
        let (pairs, error, local_error, busy) =
            (pairs.clone(), error.clone(), local_error.clone(), busy.clone());
        let model_value = model_value.clone();
        let connector_ids = chosen_connectors(&enabled_connectors, &ticked);
        Callback::from(move |()| {
            if *busy {
                return;
            }
            let runs: Vec<(String, Option<String>)> = if *agent == COMPARE {
                pairs.iter().filter_map(|p| parse_pair(p)).map(|(a, m)| (a, Some(m))).collect()
            } else {
                let m = (!model_value.is_empty()).then(|| model_value.clone());
                vec![((*agent).clone(), m)]
            };
            let compare_count = (*agent == COMPARE).then_some(runs.len());
            if let Some(problem) = validate(&repo, &prompt, compare_count) {
                local_error.set(Some(problem));
                return;
            }
            local_error.set(None);
            error.set(None);
            busy.set(true);
            let base = CreateTask {
                repo_url: repo.trim().to_owned(),
                prompt: (*prompt).clone(),
                agent: String::new(),
                model: None,
                base_branch: None,
                install_dependencies: flag(&install),
                max_duration_minutes: duration.parse().ok(),
                keep_alive: flag(&keep_alive),
                connector_ids: connector_ids.clone(),
                create_pr: flag(&create_pr),
            };
            let (navigator, error, busy, set_prompt) =
                (navigator.clone(), error.clone(), busy.clone(), set_prompt.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let mut first = None;
                for (agent, model) in runs {
                    let body = CreateTask { agent, model, ..base.clone() };
                    match api::create_task(&body).await {
                        Ok(task) => {
                            first.get_or_insert(task.id);
                        }
                        Err(e) => {
                            error.set(Some(e));
                            break;
                        }
                    }
                }
                busy.set(false);
                if let (Some(id), Some(nav)) = (first, navigator) {
                    set_prompt.emit(String::new());
                    nav.push(&Route::Task { id });
                }
            });
        })
    };
    let onsubmit = {
        let submit = submit.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            submit.emit(());
        })
    };
    let onkeydown = {
        let submit = submit.clone();
        Callback::from(move |e: KeyboardEvent| {
            // On phones Enter stays a newline; the button submits.
            let narrow = web_sys::window()
                .and_then(|w| w.inner_width().ok())
                .and_then(|v| v.as_f64())
                .is_some_and(|w| w < 768.0);
            if is_submit_key(&e, !narrow) {
                e.prevent_default();
                submit.emit(());
            }
        })
    };
    let on_agent = {
        let (set_agent, model) = (set_agent.clone(), model.clone());
        Callback::from(move |e: Event| {
            let a = target_value(&e);
            model.set(storage::get(&model_key(&a)).unwrap_or_default());
            set_agent.emit(a);
        })
    };
    let on_model = {
        let (model, agent) = (model.clone(), agent.clone());
        Callback::from(move |e: Event| {
            let m = target_value(&e);
            storage::set(&model_key(&agent), &m);
            model.set(m);
        })
    };
    let str_cb = |set: &Callback<String>| {
        let set = set.clone();
        Callback::from(move |e: InputEvent| set.emit(target_value(&e)))
    };
    let check_cb = |set: &Callback<String>| {
        let set = set.clone();
        Callback::from(move |e: Event| {
            set.emit(if crate::components::forms::target_checked(&e) { "1" } else { "0" }.into())
        })
    };
    let chars = prompt.chars().count();
    html! {
        <form class="task-form card" id="task-form" data-testid="task-form" {onsubmit}>
            <label for="repo-url">{ "Repository" }</label>
            <RepoPicker on_pick={set_repo.clone()} selected={AttrValue::from((*repo).clone())} />
            <label for="repo-url" class="muted small">{ "…or paste a git URL" }</label>
            <input id="repo-url" data-testid="repo-url" type="text" inputmode="url" autocomplete="off"
                   placeholder="https://github.com/owner/repo.git" value={(*repo).clone()} oninput={str_cb(&set_repo)} />
            <label for="prompt">{ "What should the agent do?" }</label>
            <textarea id="prompt" data-testid="prompt" rows="6" value={(*prompt).clone()}
                      placeholder="Describe the change… (Enter to submit, Shift+Enter for a new line)"
                      oninput={str_cb(&set_prompt)} {onkeydown} />
            <div class={classes!("char-count", (chars > PROMPT_MAX_CHARS).then_some("over"))}>
                { format!("{chars} / {PROMPT_MAX_CHARS}") }
            </div>
            <div class="row wrap">
                <div class="field">
                    <label for="agent">{ "Agent" }</label>
                    <select id="agent" data-testid="agent" onchange={on_agent}>
                        { for agent_list.iter().map(|a| html! {
                            <option value={a.id.clone()} selected={*agent == a.id} disabled={a.available == Some(false)}>
                                { if a.available == Some(false) { format!("{} (not installed)", a.name) } else { a.name.clone() } }
                            </option>
                        }) }
                        <option value={COMPARE} selected={compare}>{ "Compare…" }</option>
                    </select>
                </div>
                if let (false, Some(a)) = (compare, &current) {
                    <div class="field">
                        <label for="model">{ "Model" }</label>
                        <select id="model" data-testid="model" onchange={on_model}>
                            { for a.models.iter().map(|m| html! {
                                <option value={m.id.clone()} selected={m.id == model_value}>{ &m.label }</option>
                            }) }
                        </select>
                    </div>
                }
            </div>
            if let (false, Some(a)) = (compare, &current) {
                if a.has_key == Some(false) {
                    <p class="warning" data-testid="key-warning">
                        { format!("No API key for {} is configured. ", a.provider.clone().unwrap_or_else(|| a.name.clone())) }
                        <Link<Route> to={Route::SettingsSection { section: "keys".into() }}>{ "Add one in Settings" }</Link<Route>>
                    </p>
                }
            }
            if compare {
                <fieldset class="compare" data-testid="compare">
                    <legend>{ format!("Compare: one task per ticked pair ({} selected)", pairs.len()) }</legend>
                    { for agent_list.iter().map(|a| html! {
                        <div class="compare-group">
                            <strong>{ &a.name }</strong>
                            { for a.models.iter().map(|m| {
                                let value = format!("{}:{}", a.id, m.id);
                                let checked = pairs.contains(&value);
                                let pairs = pairs.clone();
                                let v = value.clone();
                                let onchange = Callback::from(move |_: Event| {
                                    let mut next = (*pairs).clone();
                                    if !next.remove(&v) { next.insert(v.clone()); }
                                    pairs.set(next);
                                });
                                html! {
                                    <label class="check">
                                        <input type="checkbox" data-testid="compare-option" value={value} {checked} {onchange} />
                                        { &m.label }
                                    </label>
                                }
                            }) }
                        </div>
                    }) }
                </fieldset>
            }
            <details class="options" data-testid="task-options">
                <summary>{ "Options" }</summary>
                <label class="check"><input type="checkbox" id="opt-install-deps" checked={flag(&install)} onchange={check_cb(&set_install)} />{ "Install dependencies" }</label>
                <label class="check"><input type="checkbox" id="opt-keep-alive" checked={flag(&keep_alive)} onchange={check_cb(&set_keep_alive)} />{ "Keep sandbox alive for follow-ups" }</label>
                <label class="check"><input type="checkbox" id="opt-create-pr" checked={flag(&create_pr)} onchange={check_cb(&set_create_pr)} />{ "Open a pull request when done" }</label>
                if !enabled_connectors.is_empty() {
                    <fieldset class="connectors" data-testid="task-connectors">
                        <legend>{ "Connectors" }</legend>
                        { for enabled_connectors.iter().map(|c| {
                            let id = c.id;
                            let ticked2 = ticked.clone();
                            let onchange = Callback::from(move |_: Event| {
                                let mut next = (*ticked2).clone();
                                if !next.remove(&id) { next.insert(id); }
                                ticked2.set(next);
                            });
                            html! {
                                <label class="check" key={id.to_string()}>
                                    <input type="checkbox" data-testid="task-connector" data-connector-id={id.to_string()}
                                           value={id.to_string()} checked={ticked.contains(&id)} {onchange} />
                                    { &c.name }
                                </label>
                            }
                        }) }
                    </fieldset>
                }
                <label for="opt-max-duration">{ "Maximum duration" }</label>
                <select id="opt-max-duration" onchange={let d = duration.clone(); move |e: Event| d.set(target_value(&e))}>
                    <option value="" selected={duration.is_empty()}>{ "Server default" }</option>
                    { for DURATIONS.iter().map(|m| html! {
                        <option value={m.to_string()} selected={*duration == m.to_string()}>{ format!("{m} minutes") }</option>
                    }) }
                </select>
            </details>
            if let Some(p) = &*local_error { <p class="field-error" data-testid="form-invalid">{ p }</p> }
            { maybe_error(&error) }
            <div class="row">
                <span class="muted small">{ "Ctrl/Cmd+Enter submits" }</span>
                <span class="spacer" />
                <button class="btn primary" id="submit-task" data-testid="submit-task" type="submit" disabled={*busy}>
                    { if *busy { "Starting…" } else if compare { "Start tasks" } else { "Start task" } }
                </button>
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_split_at_the_first_colon() {
        assert_eq!(parse_pair("codex:openai/gpt-5"), Some(("codex".into(), "openai/gpt-5".into())));
        assert_eq!(parse_pair("x:a:b"), Some(("x".into(), "a:b".into())));
        assert_eq!(parse_pair("nomodel"), None);
        assert_eq!(parse_pair(":m"), None);
    }

    #[test]
    fn validation_catches_missing_fields() {
        assert!(validate("", "p", None).is_some());
        assert!(validate("r", "  ", None).is_some());
        assert!(validate("r", "p", Some(0)).is_some());
        assert!(validate("r", &"x".repeat(PROMPT_MAX_CHARS + 1), None).is_some());
        assert_eq!(validate("r", "p", Some(2)), None);
    }

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
}
