//! The agent and model selects, one component for the task form, the repository page and the
//! task page's "Try again": the catalogue is `GET /agents`, whose first model of each agent is
//! its default, and agents this server cannot run are shown but disabled.

use shared::agents::AgentInfo;
use yew::prelude::*;

use crate::components::async_content::ErrorBox;
use crate::components::forms::target_value;
use crate::hooks::{use_fetch, FetchHandle, FetchState};
use crate::services::api;

/// `localStorage` key of the last agent chosen in the task form; the repository page starts its
/// tasks with it too.
pub const LAST_AGENT_KEY: &str = "drydock-last-agent";

/// The pseudo-agent value that switches the task form to compare mode.
pub const COMPARE: &str = "compare";

/// Loads the agent catalogue.
#[hook]
pub fn use_agents() -> FetchHandle<Vec<AgentInfo>> {
    use_fetch((), |()| api::agents())
}

/// The agent with this wire name.
pub fn find<'a>(agents: &'a [AgentInfo], id: &str) -> Option<&'a AgentInfo> {
    agents.iter().find(|a| a.id.as_str() == id)
}

/// The agent to use: `stored` (a remembered choice) while the catalogue offers it and this
/// server can run it, else the first agent that can run.
pub fn usable<'a>(agents: &'a [AgentInfo], stored: &str) -> Option<&'a AgentInfo> {
    find(agents, stored).filter(|a| a.available).or_else(|| agents.iter().find(|a| a.available))
}

/// The model to preselect: `remembered` while the agent still offers it, else its default.
pub fn model_or_default(agent: &AgentInfo, remembered: &str) -> String {
    if agent.models.iter().any(|m| m == remembered) {
        remembered.to_owned()
    } else {
        agent.models.first().cloned().unwrap_or_default()
    }
}

fn agent_label(a: &AgentInfo) -> String {
    if a.available {
        a.name.clone()
    } else {
        format!("{} (not installed)", a.name)
    }
}

/// Props of [`AgentPicker`].
#[derive(Properties, PartialEq)]
pub struct AgentPickerProps {
    /// The catalogue, from [`use_agents`].
    pub agents: FetchHandle<Vec<AgentInfo>>,
    /// Prefix of the selects' ids (and test ids): `{prefix}agent` and `{prefix}model`.
    #[prop_or_default]
    pub prefix: AttrValue,
    /// The selected agent's wire name (or [`COMPARE`]).
    pub agent: AttrValue,
    /// Called with the newly chosen agent.
    pub on_agent: Callback<String>,
    /// The selected model; without one there is no model select.
    #[prop_or_default]
    pub model: Option<AttrValue>,
    /// Called with the newly chosen model.
    #[prop_or_default]
    pub on_model: Callback<String>,
    /// Offers "Default model" (the empty value): the server picks.
    #[prop_or_default]
    pub any_model: bool,
    /// Offers "Compare…", which hides the model select.
    #[prop_or_default]
    pub compare: bool,
}

/// An agent select and, when asked for, the chosen agent's model select.
#[component]
pub fn AgentPicker(props: &AgentPickerProps) -> Html {
    let (agent_id, model_id) = (format!("{}agent", props.prefix), format!("{}model", props.prefix));
    let (list, failed): (&[AgentInfo], _) = match &*props.agents.state {
        FetchState::Ready(list) => (list, None),
        FetchState::Loading => (&[], None),
        FetchState::Failed(e) => (&[], Some(e.clone())),
    };
    let selected = props.agent.as_str();
    let current = find(list, selected);
    let on_agent = props.on_agent.reform(|e: Event| target_value(&e));
    let on_model = props.on_model.reform(|e: Event| target_value(&e));
    html! {
        <>
            <div class="field">
                <label for={agent_id.clone()}>{ "Agent" }</label>
                <select id={agent_id.clone()} data-testid={agent_id} onchange={on_agent}
                        disabled={list.is_empty()} aria-busy={list.is_empty().to_string()}>
                    { for list.iter().map(|a| html! {
                        <option value={a.id.as_str()} selected={a.id.as_str() == selected} disabled={!a.available}>
                            { agent_label(a) }
                        </option>
                    }) }
                    if props.compare {
                        <option value={COMPARE} selected={selected == COMPARE}>{ "Compare…" }</option>
                    }
                </select>
            </div>
            if let (Some(model), Some(a)) = (&props.model, current) {
                <div class="field">
                    <label for={model_id.clone()}>{ "Model" }</label>
                    <select id={model_id.clone()} data-testid={model_id} onchange={on_model}>
                        if props.any_model {
                            <option value="" selected={model.is_empty()}>{ "Default model" }</option>
                        }
                        { for a.models.iter().map(|m| html! {
                            <option value={m.clone()} selected={m == model.as_str()}>{ m }</option>
                        }) }
                    </select>
                </div>
            }
            if let Some(e) = failed {
                <ErrorBox error={e} />
            }
        </>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::agents::{AgentKind, KeyProvider};

    fn agent(kind: AgentKind, models: &[&str]) -> AgentInfo {
        AgentInfo {
            id: kind,
            name: kind.as_str().to_owned(),
            models: models.iter().map(|m| (*m).to_owned()).collect(),
            key_provider: KeyProvider::Openai,
            has_key: true,
            version: "1".into(),
            available: true,
        }
    }

    #[test]
    fn the_remembered_model_wins_while_offered_else_the_first() {
        let a = agent(AgentKind::Codex, &["gpt-5-codex", "gpt-5"]);
        assert_eq!(model_or_default(&a, "gpt-5"), "gpt-5");
        assert_eq!(model_or_default(&a, "gone"), "gpt-5-codex");
        assert_eq!(model_or_default(&agent(AgentKind::Qwen, &[]), "x"), "");
    }

    #[test]
    fn agents_are_found_by_wire_name() {
        let list = [agent(AgentKind::Claude, &["m"]), agent(AgentKind::Gemini, &["g"])];
        assert_eq!(find(&list, "gemini").map(|a| a.id), Some(AgentKind::Gemini));
        assert!(find(&list, COMPARE).is_none());
    }

    #[test]
    fn a_stored_agent_that_cannot_run_gives_way_to_the_first_that_can() {
        let mut cursor = agent(AgentKind::Cursor, &["auto"]);
        cursor.available = false;
        let list = [cursor, agent(AgentKind::Codex, &["m"]), agent(AgentKind::Qwen, &["q"])];
        assert_eq!(usable(&list, "qwen").map(|a| a.id), Some(AgentKind::Qwen));
        assert_eq!(usable(&list, "cursor").map(|a| a.id), Some(AgentKind::Codex));
        assert_eq!(usable(&list, COMPARE).map(|a| a.id), Some(AgentKind::Codex));
        assert!(usable(&[], "claude").is_none());
    }

    #[test]
    fn the_catalogue_decodes_as_the_api_sends_it() {
        let json = r#"[{"id":"cursor","name":"Cursor CLI","models":["auto"],"key_provider":"cursor",
                        "has_key":false,"version":"2025.11","available":false}]"#;
        let list: Vec<AgentInfo> = serde_json::from_str(json).unwrap();
        assert_eq!(list[0].id, AgentKind::Cursor);
        assert!(!list[0].available && !list[0].has_key);
        assert_eq!(agent_label(&list[0]), "Cursor CLI (not installed)");
    }
}
