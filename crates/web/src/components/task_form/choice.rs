//! The remembered agent (shared with the repository page) and, per agent, the remembered model.

use yew::prelude::*;

use crate::components::agent_picker::LAST_AGENT_KEY;
use crate::hooks::use_stored;
use crate::services::storage;

fn model_key(agent: &str) -> String {
    format!("drydock-last-model-{agent}")
}

/// Remembers `model` as the one last chosen for `agent` (a link choosing both).
pub fn remember_model(agent: &str, model: &str) {
    storage::set(&model_key(agent), model);
}

/// The stored choice and its setters.
pub struct AgentChoice {
    /// The agent's wire name, or `compare`.
    pub agent: String,
    /// The model last chosen for that agent (empty when none; it may no longer be offered).
    pub model: String,
    /// Chooses an agent and recalls its model.
    pub set_agent: Callback<String>,
    /// Chooses a model for the current agent.
    pub set_model: Callback<String>,
}

/// Reads and remembers the agent and model choice.
#[hook]
pub fn use_agent_choice() -> AgentChoice {
    let (agent, store_agent) = use_stored(LAST_AGENT_KEY.into(), "claude".into());
    let model = {
        let agent = (*agent).clone();
        use_state(move || storage::get(&model_key(&agent)).unwrap_or_default())
    };
    let set_agent = {
        let model = model.clone();
        Callback::from(move |a: String| {
            model.set(storage::get(&model_key(&a)).unwrap_or_default());
            store_agent.emit(a);
        })
    };
    let set_model = {
        let (model, agent) = (model.clone(), (*agent).clone());
        Callback::from(move |m: String| {
            storage::set(&model_key(&agent), &m);
            model.set(m);
        })
    };
    AgentChoice { agent: (*agent).clone(), model: (*model).clone(), set_agent, set_model }
}
