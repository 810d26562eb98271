//! Form plumbing shared by every page.

use wasm_bindgen::JsValue;
use yew::prelude::*;

/// The `value` of an event's target (input, textarea or select alike).
pub fn target_value(e: &Event) -> String {
    e.target()
        .and_then(|t| js_sys::Reflect::get(&t, &JsValue::from_str("value")).ok())
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// The `checked` of a checkbox event's target.
pub fn target_checked(e: &Event) -> bool {
    e.target()
        .and_then(|t| js_sys::Reflect::get(&t, &JsValue::from_str("checked")).ok())
        .and_then(|v| v.as_bool())
        .unwrap_or_default()
}

/// An `oninput` that writes the value into a string state.
pub fn bind(state: &UseStateHandle<String>) -> Callback<InputEvent> {
    let state = state.clone();
    Callback::from(move |e: InputEvent| state.set(target_value(&e)))
}

/// An `onchange` for selects that writes the value into a string state.
pub fn bind_select(state: &UseStateHandle<String>) -> Callback<Event> {
    let state = state.clone();
    Callback::from(move |e: Event| state.set(target_value(&e)))
}

/// An `onchange` for checkboxes.
pub fn bind_check(state: &UseStateHandle<bool>) -> Callback<Event> {
    let state = state.clone();
    Callback::from(move |e: Event| state.set(target_checked(&e)))
}

/// Whether a key event asks to submit: Ctrl/Cmd+Enter always; plain Enter too when
/// `enter_submits` (prompt boxes), while Shift+Enter stays a newline.
pub fn is_submit_key(e: &KeyboardEvent, enter_submits: bool) -> bool {
    if e.key() != "Enter" || e.is_composing() {
        return false;
    }
    e.ctrl_key() || e.meta_key() || (enter_submits && !e.shift_key() && !e.alt_key())
}

/// Asks the person to confirm a destructive action.
pub fn confirm(message: &str) -> bool {
    web_sys::window().and_then(|w| w.confirm_with_message(message).ok()).unwrap_or(false)
}

/// Copies text to the clipboard (best effort: older browsers and http origins refuse).
pub fn copy_text(text: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.navigator().clipboard().write_text(text);
    }
}
