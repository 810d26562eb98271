//! A search box whose query follows the typing after a pause, so a list is fetched once per
//! pause rather than once per key (the repository picker and the sidebar's Repos tab).

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use yew::prelude::*;

use crate::components::forms::target_value;

/// How long typing must pause before the query changes.
const DEBOUNCE_MS: u32 = 300;

/// What the box shows, the query it settled on, and its callbacks.
pub struct DebouncedSearch {
    /// The text in the box, as typed.
    pub input: String,
    /// The query a list should follow: the text once typing paused.
    pub query: String,
    /// The box's `oninput`.
    pub on_input: Callback<InputEvent>,
    /// Empties both at once (when what is searched changes).
    pub clear: Callback<()>,
}

/// A debounced search box; a pending pause ends with the component.
#[hook]
pub fn use_debounced_search() -> DebouncedSearch {
    let input = use_state(String::new);
    let query = use_state(String::new);
    let timer: Rc<RefCell<Option<Timeout>>> = use_mut_ref(|| None);
    {
        let timer = timer.clone();
        use_effect_with((), move |()| move || drop(timer.borrow_mut().take()));
    }
    let on_input = {
        let (input, query, timer) = (input.clone(), query.clone(), timer.clone());
        Callback::from(move |e: InputEvent| {
            let v = target_value(&e);
            input.set(v.clone());
            let query = query.clone();
            *timer.borrow_mut() = Some(Timeout::new(DEBOUNCE_MS, move || query.set(v)));
        })
    };
    let clear = {
        let (input, query) = (input.clone(), query.clone());
        Callback::from(move |()| {
            drop(timer.borrow_mut().take());
            input.set(String::new());
            query.set(String::new());
        })
    };
    DebouncedSearch { input: (*input).clone(), query: (*query).clone(), on_input, clear }
}
