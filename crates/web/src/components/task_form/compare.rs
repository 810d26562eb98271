//! Compare mode: one checkbox per `agent:model` pair; the form starts one task per ticked pair.

use std::collections::BTreeSet;

use shared::agents::AgentInfo;
use yew::prelude::*;

/// The value of a pair's checkbox.
pub fn pair(agent: &str, model: &str) -> String {
    format!("{agent}:{model}")
}

/// Splits an `agent:model` pair (models may contain colons; agents never do).
pub fn parse_pair(pair: &str) -> Option<(String, String)> {
    let (agent, model) = pair.split_once(':')?;
    (!agent.is_empty() && !model.is_empty()).then(|| (agent.to_owned(), model.to_owned()))
}

/// Props of [`ComparePairs`].
#[derive(Properties, PartialEq)]
pub struct ComparePairsProps {
    /// The catalogue; agents this server cannot run are left out.
    pub agents: Vec<AgentInfo>,
    /// The ticked pairs.
    pub pairs: BTreeSet<String>,
    /// Called with the pairs after a tick or untick.
    pub on_change: Callback<BTreeSet<String>>,
}

/// The pairs, grouped by agent.
#[component]
pub fn ComparePairs(props: &ComparePairsProps) -> Html {
    let checkbox = |value: String, label: &str| {
        let checked = props.pairs.contains(&value);
        let (pairs, on_change, v) = (props.pairs.clone(), props.on_change.clone(), value.clone());
        let onchange = Callback::from(move |_: Event| {
            let mut next = pairs.clone();
            if !next.remove(&v) {
                next.insert(v.clone());
            }
            on_change.emit(next);
        });
        html! {
            <label class="check">
                <input type="checkbox" data-testid="compare-option" {value} {checked} {onchange} />
                { label }
            </label>
        }
    };
    html! {
        <fieldset class="compare" data-testid="compare">
            <legend>{ format!("Compare: one task per ticked pair ({} selected)", props.pairs.len()) }</legend>
            { for props.agents.iter().filter(|a| a.available).map(|a| html! {
                <div class="compare-group">
                    <strong>{ &a.name }</strong>
                    { for a.models.iter().map(|m| checkbox(pair(a.id.as_str(), m), m)) }
                </div>
            }) }
        </fieldset>
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
        assert_eq!(parse_pair(&pair("qwen", "q:1")), Some(("qwen".into(), "q:1".into())));
    }
}
