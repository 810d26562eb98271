//! The prompt box with its character count; Enter submits on wide screens, Ctrl/Cmd+Enter
//! everywhere.

use shared::tasks::PROMPT_MAX_CHARS;
use yew::prelude::*;

use crate::components::forms::{is_submit_key, target_value};
use crate::layout::is_narrow;

/// Props of [`PromptInput`].
#[derive(Properties, PartialEq)]
pub struct PromptInputProps {
    /// The prompt.
    pub value: AttrValue,
    /// Called on every edit.
    pub on_input: Callback<String>,
    /// Called when the keyboard asks to submit.
    pub on_submit: Callback<()>,
}

/// The labelled prompt textarea.
#[component]
pub fn PromptInput(props: &PromptInputProps) -> Html {
    let oninput = props.on_input.reform(|e: InputEvent| target_value(&e));
    let onkeydown = {
        let submit = props.on_submit.clone();
        Callback::from(move |e: KeyboardEvent| {
            // On phones Enter stays a newline; the button submits.
            if is_submit_key(&e, !is_narrow()) {
                e.prevent_default();
                submit.emit(());
            }
        })
    };
    let chars = props.value.chars().count();
    html! {
        <>
            <label for="prompt">{ "What should the agent do?" }</label>
            <textarea id="prompt" data-testid="prompt" rows="6" value={props.value.clone()}
                      placeholder="Describe the change… (Enter to submit, Shift+Enter for a new line)"
                      {oninput} {onkeydown} />
            <div class={classes!("char-count", (chars > PROMPT_MAX_CHARS).then_some("over"))}>
                { format!("{chars} / {PROMPT_MAX_CHARS}") }
            </div>
        </>
    }
}
