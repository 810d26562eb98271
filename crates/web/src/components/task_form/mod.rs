//! The new-task form: repository, prompt, agent and model, options, compare mode (one task
//! per ticked `agent:model` pair) and multi-repository mode (one task per listed repository).
//! Each part is its own component; this module checks the form and creates the tasks, each
//! through `POST /tasks` (there is no batch create: every task takes the one create path and
//! its own unit of quota).

mod choice;
mod compare;
mod multi_repo;
mod options;
mod prefill;
mod prompt;

use std::collections::BTreeSet;

use shared::agents::AgentInfo;
use shared::tasks::{CreateTask, Task, PROMPT_MAX_CHARS};
use uuid::Uuid;
use yew::prelude::*;
use yew_router::prelude::*;

pub use self::compare::parse_pair;
pub use self::options::chosen_connectors;
pub use self::prefill::Prefill;

use self::choice::{remember_model, use_agent_choice};
use self::compare::ComparePairs;
use self::multi_repo::{add_repo, parse_repos, CreatedTasks, MultiRepoField};
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
pub fn validate(repos: &[String], prompt: &str, compare: Option<usize>) -> Option<String> {
    if repos.iter().all(|r| r.trim().is_empty()) {
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

/// Every task to create: each repository with each run, repository by repository.
fn requests(base: &CreateTask, repos: &[String], runs: &[Run]) -> Vec<CreateTask> {
    repos
        .iter()
        .flat_map(|repo| {
            runs.iter().map(move |(agent, model)| CreateTask {
                repo_url: repo.trim().to_owned(),
                agent: agent.clone(),
                model: model.clone(),
                ..base.clone()
            })
        })
        .collect()
}

/// Creates the tasks one by one, stopping at the first failure. Gives the tasks created and
/// how the whole went.
async fn create_all(bodies: Vec<CreateTask>) -> (Vec<Task>, Result<(), ApiError>) {
    let mut created = Vec::new();
    for body in bodies {
        match api::create_task(&body).await {
            Ok(task) => created.push(task),
            Err(e) => return (created, Err(e)),
        }
    }
    (created, Ok(()))
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

/// The repository: picked from GitHub or pasted (in multi-repository mode, a list the picker
/// adds to), and the branch to start from.
fn repo_field(
    repo: &str,
    set_repo: &Callback<String>,
    branch: &UseStateHandle<String>,
    multi: &UseStateHandle<bool>,
    repo_list: &UseStateHandle<String>,
) -> Html {
    let set_branch = {
        let branch = branch.clone();
        Callback::from(move |e: InputEvent| branch.set(target_value(&e)))
    };
    let on_pick = if **multi {
        let list = repo_list.clone();
        Callback::from(move |picked: String| list.set(add_repo(&list, &picked)))
    } else {
        set_repo.clone()
    };
    let toggle = {
        let (multi, list, repo) = (multi.clone(), repo_list.clone(), repo.to_owned());
        Callback::from(move |_: Event| {
            // The single repository starts the list.
            if !*multi && list.trim().is_empty() {
                list.set(repo.clone());
            }
            multi.set(!*multi);
        })
    };
    html! {
        <>
            <div class="row">
                <label for="repo-url">{ "Repository" }</label>
                <span class="spacer" />
                <label class="check muted small">
                    <input type="checkbox" data-testid="multi-repo" checked={**multi} onchange={toggle} />
                    { "Several repositories" }
                </label>
            </div>
            <RepoPicker {on_pick} selected={AttrValue::from(repo.to_owned())} />
            if **multi {
                <MultiRepoField value={AttrValue::from((**repo_list).clone())}
                                on_input={let l = repo_list.clone(); Callback::from(move |v: String| l.set(v))} />
            } else {
                <label for="repo-url" class="muted small">{ "…or paste a git URL" }</label>
                <input id="repo-url" data-testid="repo-url" type="text" inputmode="url" autocomplete="off"
                       placeholder="https://github.com/owner/repo.git" value={repo.to_owned()}
                       oninput={set_repo.reform(|e: InputEvent| target_value(&e))} />
            }
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
    let multi = use_state(|| false);
    let repo_list = use_state(String::new);
    let created = use_state(Vec::<Task>::new);
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

    let several = *multi;
    let create = {
        let (navigator, set_prompt, created) =
            (use_navigator(), set_prompt.clone(), created.clone());
        use_action(move |bodies: Vec<CreateTask>| {
            let (navigator, set_prompt, created) =
                (navigator.clone(), set_prompt.clone(), created.clone());
            async move {
                let (tasks, result) = create_all(bodies).await;
                if !tasks.is_empty() {
                    set_prompt.emit(String::new());
                }
                // Several repositories: the tasks are listed here, grouped; otherwise the first
                // task's page opens (compare mode's other tasks are in the sidebar).
                let first = tasks.first().map(|t| t.id);
                match (several, first, navigator) {
                    (true, Some(_), _) => created.set(tasks),
                    (false, Some(id), Some(nav)) => nav.push(&Route::Task { id }),
                    _ => {}
                }
                result
            }
        })
    };
    let repos = if several { parse_repos(&repo_list) } else { vec![(*repo).clone()] };
    let submit = {
        let (run, local_error) = (create.run.clone(), local_error.clone());
        let runs = runs(&agent, &model, &pairs);
        let ids = chosen_connectors(&enabled_connectors, &options.connectors);
        let base = base_request(&repo, &branch, &prompt, &options, ids);
        let repos = repos.clone();
        Callback::from(move |()| {
            let compare_count = compare.then_some(runs.len());
            match validate(&repos, &base.prompt, compare_count) {
                Some(problem) => local_error.set(Some(problem)),
                None => {
                    local_error.set(None);
                    run.emit(requests(&base, &repos, &runs));
                }
            }
        })
    };
    let onsubmit = submit.reform(|e: SubmitEvent| e.prevent_default());
    html! {
        <form class="task-form card" id="task-form" data-testid="task-form" {onsubmit}>
            { repo_field(&repo, &set_repo, &branch, &multi, &repo_list) }
            <PromptInput value={AttrValue::from((*prompt).clone())} on_input={set_prompt.clone()} on_submit={submit} />
            <div class="row wrap">
                <AgentPicker agents={agents.clone()} agent={AttrValue::from(agent)} on_agent={choice.set_agent.clone()}
                             model={(!compare).then(|| AttrValue::from(model))} on_model={choice.set_model.clone()} compare=true />
            </div>
            { key_warning(current) }
            if compare {
                <ComparePairs agents={catalogue} pairs={(*pairs).clone()} on_change={let p = pairs.clone(); move |next| p.set(next)} />
            }
            <OptionsPanel value={options} on_change={set_options} connectors={enabled_connectors} repos={repos.clone()} />
            if let Some(p) = &*local_error { <p class="field-error" data-testid="form-invalid">{ p }</p> }
            { maybe_error(&create.error) }
            { submit_row(create.busy, compare || several) }
            if !created.is_empty() { <CreatedTasks tasks={(*created).clone()} /> }
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_catches_missing_fields() {
        let r = ["r".to_owned()];
        assert!(validate(&[" ".to_owned()], "p", None).is_some());
        assert!(validate(&[], "p", None).is_some());
        assert!(validate(&r, "  ", None).is_some());
        assert!(validate(&r, "p", Some(0)).is_some());
        assert!(validate(&r, &"x".repeat(PROMPT_MAX_CHARS + 1), None).is_some());
        assert_eq!(validate(&r, "p", Some(2)), None);
    }

    #[test]
    fn several_repositories_make_one_task_each_per_run() {
        let o = TaskOptions {
            install_dependencies: true,
            keep_alive: false,
            create_pr: false,
            max_duration_minutes: None,
            connectors: BTreeSet::new(),
            enable_browser: false,
        };
        let base = base_request("ignored", "", "do it", &o, Vec::new());
        let repos = ["https://x/a".to_owned(), " https://x/b ".to_owned()];
        let runs = vec![("claude".to_owned(), None), ("codex".to_owned(), Some("m".to_owned()))];
        let made: Vec<(String, String)> =
            requests(&base, &repos, &runs).into_iter().map(|b| (b.repo_url, b.agent)).collect();
        let want = [("a", "claude"), ("a", "codex"), ("b", "claude"), ("b", "codex")];
        let want: Vec<(String, String)> =
            want.iter().map(|(r, a)| (format!("https://x/{r}"), (*a).to_owned())).collect();
        assert_eq!(made, want);
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
