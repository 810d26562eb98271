//! Toasts: a short line confirming what an action did ("Sandbox stopped", "Copied 12 events"),
//! shown at the bottom of the page for a few seconds, announced politely to screen readers.
//! Errors stay where they happened (next to the form or button, see `async_content`); a toast
//! only confirms.

use std::rc::Rc;

use gloo_timers::callback::Timeout;
use yew::prelude::*;

use crate::components::icon::{Icon, IconName};

/// How long a toast stays.
const SHOW_MS: u32 = 4_000;
/// How many toasts stay at once; older ones go first.
const MAX_SHOWN: usize = 3;

/// A toast on screen.
#[derive(Debug, Clone, PartialEq)]
struct Toast {
    id: u32,
    text: AttrValue,
}

/// The toasts on screen, oldest first.
#[derive(Debug, Default, PartialEq)]
struct Shown {
    toasts: Vec<Toast>,
}

enum Change {
    Show(Toast),
    Dismiss(u32),
}

impl Reducible for Shown {
    type Action = Change;

    fn reduce(self: Rc<Self>, change: Change) -> Rc<Self> {
        let mut toasts = self.toasts.clone();
        match change {
            Change::Show(toast) => {
                toasts.push(toast);
                let extra = toasts.len().saturating_sub(MAX_SHOWN);
                toasts.drain(..extra);
            }
            Change::Dismiss(id) => toasts.retain(|t| t.id != id),
        }
        Rc::new(Self { toasts })
    }
}

/// Shows toasts: `use_toasts().show("Sandbox stopped")`.
#[derive(Clone, PartialEq)]
pub struct Toasts {
    show: Callback<AttrValue>,
}

impl Toasts {
    /// Shows `text` for a few seconds.
    pub fn show(&self, text: impl Into<AttrValue>) {
        self.show.emit(text.into());
    }
}

/// The toasts of the page, or a handle that shows nothing outside a [`ToastProvider`].
#[hook]
pub fn use_toasts() -> Toasts {
    use_context::<Toasts>().unwrap_or(Toasts { show: Callback::noop() })
}

/// Props of [`ToastProvider`].
#[derive(Properties, PartialEq)]
pub struct ToastProviderProps {
    /// The page.
    pub children: Html,
}

/// Holds the toasts for everything below it and draws them.
#[component]
pub fn ToastProvider(props: &ToastProviderProps) -> Html {
    let shown = use_reducer(Shown::default);
    // Ids come from here, not from the reducer, so that the timer knows which toast is its own.
    let next_id = use_mut_ref(|| 0u32);
    let toasts = {
        let shown = shown.clone();
        Toasts {
            show: Callback::from(move |text: AttrValue| {
                let id = {
                    let mut next = next_id.borrow_mut();
                    *next = next.wrapping_add(1);
                    *next
                };
                shown.dispatch(Change::Show(Toast { id, text }));
                let shown = shown.clone();
                Timeout::new(SHOW_MS, move || shown.dispatch(Change::Dismiss(id))).forget();
            }),
        }
    };
    let dismiss = |id: u32| {
        let shown = shown.clone();
        Callback::from(move |_: MouseEvent| shown.dispatch(Change::Dismiss(id)))
    };
    html! {
        <ContextProvider<Toasts> context={toasts}>
            { props.children.clone() }
            <div class="toasts" role="status" aria-live="polite" data-testid="toasts">
                { for shown.toasts.iter().map(|t| html! {
                    <div key={t.id} class="toast" data-testid="toast">
                        <span>{ t.text.clone() }</span>
                        <button class="toast-close" aria-label="Dismiss" onclick={dismiss(t.id)}><Icon name={IconName::Close} /></button>
                    </div>
                }) }
            </div>
        </ContextProvider<Toasts>>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &Shown) -> Vec<&str> {
        s.toasts.iter().map(|t| t.text.as_str()).collect()
    }

    #[test]
    fn toasts_queue_drop_the_oldest_beyond_three_and_dismiss_by_id() {
        let mut s = Rc::new(Shown::default());
        for (id, text) in ["a", "b", "c", "d"].into_iter().enumerate() {
            s = s.reduce(Change::Show(Toast { id: id as u32, text: text.into() }));
        }
        assert_eq!(texts(&s), ["b", "c", "d"]);
        let c = s.toasts[1].id;
        s = s.reduce(Change::Dismiss(c));
        assert_eq!(texts(&s), ["b", "d"]);
        s = s.reduce(Change::Dismiss(c));
        assert_eq!(texts(&s), ["b", "d"], "dismissing twice is harmless");
    }
}
