//! The agent catalogue from `GET /agents` (shape not fixed yet: parsed from loose JSON), with a
//! built-in fallback so the form works before the endpoint exists.

use serde_json::Value;
use shared::agents::AgentKind;

/// A model an agent can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// Value sent to the API.
    pub id: String,
    /// Label shown to people.
    pub label: String,
}

/// An agent and what the caller can do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentInfo {
    /// Wire name (`claude`, `codex`, ...).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Models, default first where the API says which.
    pub models: Vec<ModelInfo>,
    /// The model to preselect.
    pub default_model: Option<String>,
    /// Whether the caller has the key it needs; `None` when the API does not say.
    pub has_key: Option<bool>,
    /// The key provider it needs, for the warning text.
    pub provider: Option<String>,
    /// Whether this server can run it; `None` when the API does not say.
    pub available: Option<bool>,
}

fn str_field(v: &Value, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| v.get(*n).and_then(Value::as_str)).map(str::to_owned)
}

fn parse_model(v: &Value) -> Option<ModelInfo> {
    if let Some(s) = v.as_str() {
        return Some(ModelInfo { id: s.to_owned(), label: s.to_owned() });
    }
    let id = str_field(v, &["id", "value", "model", "name"])?;
    let label = str_field(v, &["label", "name", "display_name"]).unwrap_or_else(|| id.clone());
    Some(ModelInfo { id, label })
}

fn parse_agent(v: &Value) -> Option<AgentInfo> {
    let id = match v.as_str() {
        Some(s) => s.to_owned(),
        None => str_field(v, &["id", "agent", "kind", "name"])?,
    };
    let name = str_field(v, &["label", "display_name", "name"]).unwrap_or_else(|| id.clone());
    let models: Vec<ModelInfo> = v
        .get("models")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(parse_model).collect())
        .unwrap_or_default();
    let available = v.get("available").and_then(Value::as_bool);
    let has_key = ["has_key", "key_configured", "configured"]
        .iter()
        .find_map(|n| v.get(*n).and_then(Value::as_bool));
    let mut agent = AgentInfo {
        default_model: str_field(v, &["default_model"]),
        provider: str_field(v, &["provider", "key_provider"]),
        id,
        name,
        models,
        has_key,
        available,
    };
    if agent.models.is_empty() {
        // The API knows the agent but lists no models: keep ours rather than an empty select.
        if let Some(builtin) = builtin().into_iter().find(|b| b.id == agent.id) {
            agent.models = builtin.models;
            agent.default_model = agent.default_model.or(builtin.default_model);
        }
    }
    Some(agent)
}

/// Parses `GET /agents`: an array, or an object holding `items`/`agents`. Anything else gives the
/// built-in catalogue.
pub fn parse_agents(v: &Value) -> Vec<AgentInfo> {
    let list = v
        .as_array()
        .or_else(|| v.get("items").and_then(Value::as_array))
        .or_else(|| v.get("agents").and_then(Value::as_array));
    let agents: Vec<AgentInfo> =
        list.map(|a| a.iter().filter_map(parse_agent).collect()).unwrap_or_default();
    if agents.is_empty() {
        builtin()
    } else {
        agents
    }
}

fn models(ids: &[&str]) -> Vec<ModelInfo> {
    ids.iter().map(|s| ModelInfo { id: (*s).to_owned(), label: (*s).to_owned() }).collect()
}

/// The catalogue used until (or unless) the API provides one.
pub fn builtin() -> Vec<AgentInfo> {
    AgentKind::ALL
        .into_iter()
        .map(|kind| {
            let (name, list): (&str, &[&str]) = match kind {
                AgentKind::Claude => {
                    ("Claude Code", &["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"])
                }
                AgentKind::Codex => ("Codex CLI", &["gpt-5.1", "gpt-5.1-codex", "gpt-5-mini"]),
                AgentKind::Copilot => ("Copilot CLI", &["claude-sonnet-4.5", "gpt-5"]),
                AgentKind::Cursor => ("Cursor CLI", &["auto", "sonnet-4.5", "gpt-5"]),
                AgentKind::Gemini => ("Gemini CLI", &["gemini-2.5-pro", "gemini-2.5-flash"]),
                AgentKind::Opencode => ("opencode", &["gpt-5", "claude-sonnet-4-5"]),
                AgentKind::Qwen => ("Qwen Code", &["qwen3-coder-plus"]),
            };
            AgentInfo {
                id: kind.as_str().to_owned(),
                name: name.to_owned(),
                default_model: list.first().map(|s| (*s).to_owned()),
                models: models(list),
                has_key: None,
                provider: None,
                available: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_objects_strings_and_key_flags() {
        let v: Value = serde_json::from_str(
            r#"{"items":[{"id":"claude","name":"Claude","models":["a",{"id":"b","label":"B"}],
               "has_key":false,"provider":"anthropic"},"codex"]}"#,
        )
        .unwrap();
        let agents = parse_agents(&v);
        assert_eq!(agents.len(), 2);
        assert_eq!(agents[0].models[1].label, "B");
        assert_eq!(agents[0].has_key, Some(false));
        // A bare name gets the built-in models.
        assert!(!agents[1].models.is_empty());
    }

    #[test]
    fn decodes_the_shared_agent_info_shape() {
        use shared::agents::{AgentInfo as Wire, KeyProvider};
        let wire = vec![Wire {
            id: AgentKind::Gemini,
            name: "Gemini CLI".into(),
            models: vec!["gemini-2.5-pro".into()],
            key_provider: KeyProvider::Gemini,
            has_key: true,
            version: "1.0.0".into(),
            available: false,
        }];
        let agents = parse_agents(&serde_json::to_value(&wire).unwrap());
        assert_eq!(agents[0].id, "gemini");
        assert_eq!(agents[0].models[0].id, "gemini-2.5-pro");
        assert_eq!(agents[0].has_key, Some(true));
        assert_eq!(agents[0].available, Some(false));
        assert_eq!(agents[0].provider.as_deref(), Some("gemini"));
    }

    #[test]
    fn garbage_gives_the_builtin_catalogue() {
        assert_eq!(parse_agents(&Value::Null).len(), AgentKind::ALL.len());
    }
}
