//! The new-task form: repository, prompt, agent and model, options, and compare mode (one task
//! per ticked `agent:model` pair). Each part is its own component; this module checks the form
//! and creates the tasks.

mod choice;
mod compare;
mod options;
mod prefill;
mod prompt;

use std::collections::BTreeSet;

use shared::agents::AgentInfo;
use shared::tasks::{CreateTask, PROMPT_MAX_CHARS};
use uuid::Uuid;
use yew::prelude::*;
use yew_router::prelude::*;

pub use self::compare::parse_pair;
pub use self::options::chosen_connectors;
pub use self::prefill::Prefill;

use self::choice::{remember_model, use_agent_choice};
use self::compare::ComparePairs;
use self::options::{use_task_options, OptionsPanel, TaskOptions};
use self::prompt::PromptInput;
use crate::app::Route;
use crate::components::agent_picker::{model_or_default, usable, use_agents, AgentPicker, COMPARE};
use crate::components::async_content::maybe_error;
use crate::components::forms::target_value;
use crate::components::repo_picker::RepoPicker;
use crate::hooks::{use_action, use_fetch, use_stored};
use crate::services::{api, ApiError};
use crate::util::provider_label;

/// One task to start: the agent and, unless the server should pick, the model.
pub type Run = (String, Option<String>);

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

/// The tasks the form asks for: one per ticked pair in compare mode, else the one agent.
pub fn runs(agent: &str, model: &str, pairs: &BTreeSet<String>) -> Vec<Run> {
    if agent == COMPARE {
        pairs.iter().filter_map(|p| parse_pair(p)).map(|(a, m)| (a, Some(m))).collect()
    } else {
        vec![(agent.to_owned(), (!model.is_empty()).then(|| model.to_owned()))]
    }
}

/// The request body shared by every run (agent and model are filled in per run). An empty
/// branch leaves the choice to the server: the repository's default branch.
fn base_request(
    repo: &str,
    branch: &str,
    prompt: &str,
    o: &TaskOptions,
    connector_ids: Vec<Uuid>,
) -> CreateTask {
    CreateTask {
        repo_url: repo.trim().to_owned(),
        prompt: prompt.to_owned(),
        agent: String::new(),
        model: None,
        base_branch: Some(branch.trim()).filter(|b| !b.is_empty()).map(str::to_owned),
        install_dependencies: o.install_dependencies,
        max_duration_minutes: o.max_duration_minutes,
        keep_alive: o.keep_alive,
        connector_ids,
        create_pr: o.create_pr,
        enable_browser: o.enable_browser,
        dev_command: None,
        dev_port: None,
    }
}

/// Creates one task per run, stopping at the first failure. Gives the first task created (if
/// any) and how the whole went.
async fn create_all(base: CreateTask, runs: Vec<Run>) -> (Option<Uuid>, Result<(), ApiError>) {
    let mut first = None;
    for (agent, model) in runs {
        match api::create_task(&CreateTask { agent, model, ..base.clone() }).await {
            Ok(task) => {
                first.get_or_insert(task.id);
            }
            Err(e) => return (first, Err(e)),
        }
    }
    (first, Ok(()))
}

/// The warning shown when the chosen agent's key is missing.
fn key_warning(agent: Option<&AgentInfo>) -> Html {
    match agent {
        Some(a) if !a.has_key => html! {
            <p class="warning" data-testid="key-warning">
                { format!("No API key for {} is configured. ", provider_label(a.key_provider)) }
                <Link<Route> to={Route::SettingsSection { section: "keys".into() }}>{ "Add one in Settings" }</Link<Route>>
            </p>
        },
        _ => Html::default(),
    }
}

/// The repository: picked from GitHub or pasted, and the branch to start from.
fn repo_field(repo: &str, set_repo: &Callback<String>, branch: &UseStateHandle<String>) -> Html {
    let set_branch = {
        let branch = branch.clone();
        Callback::from(move |e: InputEvent| branch.set(target_value(&e)))
    };
    html! {
        <>
            <label for="repo-url">{ "Repository" }</label>
            <RepoPicker on_pick={set_repo.clone()} selected={AttrValue::from(repo.to_owned())} />
            <label for="repo-url" class="muted small">{ "…or paste a git URL" }</label>
            <input id="repo-url" data-testid="repo-url" type="text" inputmode="url" autocomplete="off"
                   placeholder="https://github.com/owner/repo.git" value={repo.to_owned()}
                   oninput={set_repo.reform(|e: InputEvent| target_value(&e))} />
            <label for="base-branch" class="muted small">{ "Base branch" }</label>
            <input id="base-branch" data-testid="base-branch" type="text" autocomplete="off" spellcheck="false"
                   placeholder="the repository's default branch" value={(**branch).clone()} oninput={set_branch} />
        </>
    }
}

/// Props of [`TaskForm`].
#[derive(Properties, PartialEq)]
pub struct TaskFormProps {
    /// Fields a link fills in (applied whenever it changes).
    #[prop_or_default]
    pub prefill: Prefill,
}

fn submit_row(busy: bool, compare: bool) -> Html {
    html! {
        <div class="row">
            <span class="muted small">{ "Ctrl/Cmd+Enter submits" }</span>
            <span class="spacer" />
            <button class="btn primary" id="submit-task" data-testid="submit-task" type="submit" disabled={busy}>
                { if busy { "Starting…" } else if compare { "Start tasks" } else { "Start task" } }
            </button>
        </div>
    }
}

/// The new-task form.
#[component]
pub fn TaskForm(props: &TaskFormProps) -> Html {
    let agents = use_agents();
    let catalogue: Vec<AgentInfo> = agents.data().cloned().unwrap_or_default();
    let choice = use_agent_choice();
    let (repo, set_repo) = use_stored("drydock-repo-url".into(), String::new());
    let (prompt, set_prompt) = use_stored("drydock-task-prompt".into(), String::new());
    let (options, set_options) = use_task_options();
    let pairs = use_state(BTreeSet::<String>::new);
    let connectors = use_fetch((), |()| api::connectors());
    let enabled_connectors: Vec<_> = connectors
        .data()
        .map(|l| l.iter().filter(|c| c.enabled).cloned().collect())
        .unwrap_or_default();
    let local_error = use_state(|| None::<String>);
    let branch = use_state(String::new);
    {
        // A link's fields win over the remembered ones; the rest stay as remembered.
        let (set_repo, set_prompt, branch) = (set_repo.clone(), set_prompt.clone(), branch.clone());
        let (set_agent, set_model) = (choice.set_agent.clone(), choice.set_model.clone());
        use_effect_with(props.prefill.clone(), move |p| {
            if let Some(repo) = &p.repo {
                set_repo.emit(repo.clone());
            }
            if let Some(prompt) = &p.prompt {
                set_prompt.emit(prompt.clone());
            }
            match (&p.agent, &p.model) {
                (Some(agent), model) => {
                    // Choosing an agent recalls its remembered model: remember the link's first.
                    if let Some(model) = model {
                        remember_model(agent, model);
                    }
                    set_agent.emit(agent.clone());
                }
                (None, Some(model)) => set_model.emit(model.clone()),
                (None, None) => {}
            }
            if let Some(b) = &p.branch {
                branch.set(b.clone());
            }
        });
    }

    let compare = choice.agent == COMPARE;
    // A remembered agent this server cannot run (any more) gives way to one it can.
    let current = if compare { None } else { usable(&catalogue, &choice.agent) };
    let agent = current.map_or_else(|| choice.agent.clone(), |a| a.id.as_str().to_owned());
    let model = current.map(|a| model_or_default(a, &choice.model)).unwrap_or_default();

    let create = {
        let (navigator, set_prompt) = (use_navigator(), set_prompt.clone());
        use_action(move |(base, runs): (CreateTask, Vec<Run>)| {
            let (navigator, set_prompt) = (navigator.clone(), set_prompt.clone());
            async move {
                let (first, result) = create_all(base, runs).await;
                if let (Some(id), Some(nav)) = (first, navigator) {
                    set_prompt.emit(String::new());
                    nav.push(&Route::Task { id });
                }
                result
            }
        })
    };
    let submit = {
        let (run, local_error) = (create.run.clone(), local_error.clone());
        let runs = runs(&agent, &model, &pairs);
        let ids = chosen_connectors(&enabled_connectors, &options.connectors);
        let base = base_request(&repo, &branch, &prompt, &options, ids);
        Callback::from(move |()| {
            let compare_count = compare.then_some(runs.len());
            match validate(&base.repo_url, &base.prompt, compare_count) {
                Some(problem) => local_error.set(Some(problem)),
                None => {
                    local_error.set(None);
                    run.emit((base.clone(), runs.clone()));
                }
            }
        })
    };
    let onsubmit = submit.reform(|e: SubmitEvent| e.prevent_default());
    html! {
        <form class="task-form card" id="task-form" data-testid="task-form" {onsubmit}>
            { repo_field(&repo, &set_repo, &branch) }
            <PromptInput value={AttrValue::from((*prompt).clone())} on_input={set_prompt.clone()} on_submit={submit} />
            <div class="row wrap">
                <AgentPicker agents={agents.clone()} agent={AttrValue::from(agent)} on_agent={choice.set_agent.clone()}
                             model={(!compare).then(|| AttrValue::from(model))} on_model={choice.set_model.clone()} compare=true />
            </div>
            { key_warning(current) }
            if compare {
                <ComparePairs agents={catalogue} pairs={(*pairs).clone()} on_change={let p = pairs.clone(); move |next| p.set(next)} />
            }
            <OptionsPanel value={options} on_change={set_options} connectors={enabled_connectors} />
            if let Some(p) = &*local_error { <p class="field-error" data-testid="form-invalid">{ p }</p> }
            { maybe_error(&create.error) }
            { submit_row(create.busy, compare) }
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_catches_missing_fields() {
        assert!(validate("", "p", None).is_some());
        assert!(validate("r", "  ", None).is_some());
        assert!(validate("r", "p", Some(0)).is_some());
        assert!(validate("r", &"x".repeat(PROMPT_MAX_CHARS + 1), None).is_some());
        assert_eq!(validate("r", "p", Some(2)), None);
    }

    #[test]
    fn compare_mode_runs_every_ticked_pair_and_single_mode_one_agent() {
        let pairs: BTreeSet<String> = ["codex:gpt-5".to_owned(), "claude:m".to_owned()].into();
        let both = runs(COMPARE, "ignored", &pairs);
        assert_eq!(
            both,
            vec![("claude".into(), Some("m".into())), ("codex".into(), Some("gpt-5".into()))]
        );
        assert_eq!(runs("qwen", "", &pairs), vec![("qwen".to_owned(), None)]);
        assert_eq!(
            runs("qwen", "q", &BTreeSet::new()),
            vec![("qwen".to_owned(), Some("q".to_owned()))]
        );
    }

    #[test]
    fn the_base_request_carries_the_options() {
        let o = TaskOptions {
            install_dependencies: true,
            keep_alive: false,
            create_pr: true,
            max_duration_minutes: Some(30),
            connectors: BTreeSet::new(),
            enable_browser: true,
        };
        let id = Uuid::from_u128(5);
        let body = base_request(" https://x/r.git ", " dev ", "do it", &o, vec![id]);
        assert_eq!(body.repo_url, "https://x/r.git");
        assert_eq!(body.base_branch.as_deref(), Some("dev"));
        assert_eq!(base_request("r", "  ", "p", &o, Vec::new()).base_branch, None);
        assert!(body.install_dependencies && body.create_pr && !body.keep_alive);
        assert!(body.enable_browser);
        assert_eq!((body.max_duration_minutes, body.connector_ids), (Some(30), vec![id]));
    }
}
