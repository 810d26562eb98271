//! The keyboard-shortcut help, opened with `?` anywhere outside a text field: every shortcut
//! the app has, listed from one table so the help and the handlers cannot drift apart unseen
//! (the README's "Keyboard" section lists the same).

use gloo_events::EventListener;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::components::icon::{Icon, IconName};

/// One shortcut: where it works, the keys, what it does.
pub struct Shortcut {
    /// Where it applies.
    pub scope: &'static str,
    /// The keys, as a person types them.
    pub keys: &'static str,
    /// What it does.
    pub action: &'static str,
}

/// Every shortcut, grouped by where it applies.
pub const SHORTCUTS: &[Shortcut] = &[
    Shortcut { scope: "Anywhere", keys: "?", action: "Show or hide this help" },
    Shortcut { scope: "Anywhere", keys: "Esc", action: "Close this help" },
    Shortcut { scope: "Anywhere", keys: "Ctrl/Cmd+B", action: "Toggle the sidebar" },
    Shortcut { scope: "New task", keys: "Ctrl/Cmd+Enter", action: "Start the task" },
    Shortcut { scope: "New task", keys: "Enter", action: "Start the task (on a wide screen)" },
    Shortcut { scope: "New task", keys: "Shift+Enter", action: "New line in the prompt" },
    Shortcut {
        scope: "Task page",
        keys: "Alt+1 … Alt+7",
        action: "Timeline, Chat, Changes, Pull request, Terminal, Preview, Editor",
    },
    Shortcut { scope: "Chat", keys: "Enter", action: "Send the follow-up" },
    Shortcut { scope: "Chat", keys: "Shift+Enter", action: "New line" },
    Shortcut {
        scope: "Terminal",
        keys: "↑ ↓ Tab Enter, Alt+digits",
        action: "Belong to the shell",
    },
    Shortcut { scope: "Terminal", keys: "Ctrl+Shift+C / Ctrl+Shift+V", action: "Copy / paste" },
    Shortcut { scope: "Editor", keys: "Ctrl/Cmd+S", action: "Save the file shown" },
    Shortcut { scope: "File browser", keys: "F2", action: "Rename or move the selected entry" },
    Shortcut { scope: "File browser", keys: "Delete", action: "Delete the selected entry" },
    Shortcut { scope: "File browser", keys: "Right click", action: "File operations" },
];

/// Whether a key event is typing in a field (an input, a text area, an editable element or the
/// terminal), where `?` is a character and not a command.
pub fn typing(event: &web_sys::KeyboardEvent) -> bool {
    let Some(el) = event.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else {
        return false;
    };
    let tag = el.tag_name().to_ascii_lowercase();
    matches!(tag.as_str(), "input" | "textarea" | "select")
        || el
            .closest("[contenteditable=''], [contenteditable='true'], .terminal-host, .cm-editor, .editor-host, .editor-files")
            .ok()
            .flatten()
            .is_some()
}

/// The top bar's `?` button and the help dialog, which `?` anywhere also toggles (Esc closes).
#[component]
pub fn ShortcutHelp() -> Html {
    let open = use_state(|| false);
    {
        let open = open.clone();
        use_effect_with((), move |()| {
            let listener = web_sys::window().map(|w| {
                EventListener::new(&w, "keydown", move |e| {
                    let Some(k) = e.dyn_ref::<web_sys::KeyboardEvent>() else { return };
                    if k.ctrl_key() || k.meta_key() || k.alt_key() || typing(k) {
                        return;
                    }
                    match k.key().as_str() {
                        "?" => {
                            k.prevent_default();
                            open.set(!*open);
                        }
                        "Escape" if *open => open.set(false),
                        _ => {}
                    }
                })
            });
            move || drop(listener)
        });
    }
    let toggle = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(!*open))
    };
    let button = html! {
        <button class="icon-btn" data-testid="open-shortcut-help" title="Keyboard shortcuts (?)"
                aria-label="Keyboard shortcuts" onclick={toggle}><Icon name={IconName::Keyboard} /></button>
    };
    if !*open {
        return button;
    }
    let close = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(false))
    };
    let mut scopes: Vec<&str> = Vec::new();
    for s in SHORTCUTS {
        if !scopes.contains(&s.scope) {
            scopes.push(s.scope);
        }
    }
    html! {
        <>
        { button }
        <div class="dialog-backdrop" onclick={close.clone()}>
            <div class="dialog shortcuts" role="dialog" aria-modal="true" aria-label="Keyboard shortcuts"
                 data-testid="shortcut-help" onclick={|e: MouseEvent| e.stop_propagation()}>
                <header class="row">
                    <h2>{ "Keyboard shortcuts" }</h2>
                    <span class="spacer" />
                    <button class="icon-btn" data-testid="close-shortcut-help" title="Close (Esc)" aria-label="Close" onclick={close}><Icon name={IconName::Close} /></button>
                </header>
                { for scopes.iter().map(|scope| html! {
                    <section key={*scope}>
                        <h3>{ *scope }</h3>
                        <dl class="shortcut-list">
                            { for SHORTCUTS.iter().filter(|s| s.scope == *scope).map(|s| html! {
                                <div class="shortcut" data-testid="shortcut" data-keys={s.keys}>
                                    <dt><kbd>{ s.keys }</kbd></dt>
                                    <dd>{ s.action }</dd>
                                </div>
                            }) }
                        </dl>
                    </section>
                }) }
            </div>
        </div>
        </>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_lists_every_shortcut_the_handlers_know() {
        let keys: Vec<&str> = SHORTCUTS.iter().map(|s| s.keys).collect();
        for k in ["?", "Ctrl/Cmd+B", "Alt+1 … Alt+7", "Ctrl/Cmd+Enter", "Shift+Enter", "F2"] {
            assert!(keys.contains(&k), "{k} is missing from the help");
        }
    }
}
