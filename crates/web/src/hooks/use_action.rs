//! `use_action`: runs an API call on demand (a click, a submit) and tracks whether it is still
//! running and how it failed, so components do not each spawn futures and juggle flags.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use yew::prelude::*;

use crate::services::ApiError;

/// What [`use_action`] returns.
pub struct Action<I: 'static> {
    /// Starts the action with its input; ignored while a previous run is still going.
    pub run: Callback<I>,
    /// Whether a run is going.
    pub busy: bool,
    /// How the last run failed; cleared when the next one starts.
    pub error: Option<ApiError>,
    set_error: UseStateHandle<Option<ApiError>>,
}

impl<I: 'static> Action<I> {
    /// Shows an error found before calling the API (a form check), as if the call had failed.
    pub fn fail(&self, error: ApiError) {
        self.set_error.set(Some(error));
    }
}

impl<I: 'static> Clone for Action<I> {
    fn clone(&self) -> Self {
        Self {
            run: self.run.clone(),
            busy: self.busy,
            error: self.error.clone(),
            set_error: self.set_error.clone(),
        }
    }
}

impl<I: 'static> PartialEq for Action<I> {
    fn eq(&self, other: &Self) -> bool {
        self.run == other.run && self.busy == other.busy && self.error == other.error
    }
}

/// The future of one run, boxed so that the hook below exists once per input type rather
/// than once per call site (each copy would weigh on the wasm bundle).
type RunFuture = Pin<Box<dyn Future<Output = Result<(), ApiError>>>>;

/// Wraps `action`: `run.emit(input)` calls it, sets `busy` until its future ends, and keeps its
/// error. Whatever should happen on success (reload a list, navigate) goes at the end of the
/// future itself, after the `?`s.
///
/// `action` is taken afresh on every render, so it sees the current props and state.
#[hook]
pub fn use_action<I, F, Fut>(action: F) -> Action<I>
where
    I: 'static,
    F: Fn(I) -> Fut + 'static,
    Fut: Future<Output = Result<(), ApiError>> + 'static,
{
    use_boxed_action(Rc::new(move |input| Box::pin(action(input)) as RunFuture))
}

#[hook]
fn use_boxed_action<I: 'static>(action: Rc<dyn Fn(I) -> RunFuture>) -> Action<I> {
    let busy = use_state(|| false);
    let error = use_state(|| None::<ApiError>);
    // The state handle only sees the value of its render; this sees a second click at once.
    let running = use_mut_ref(|| Rc::new(Cell::new(false)));
    let running = running.borrow().clone();
    let run = {
        let (busy, error) = (busy.clone(), error.clone());
        Callback::from(move |input: I| {
            if running.replace(true) {
                return;
            }
            let future = action(input);
            track(future, busy.clone(), error.clone(), running.clone());
        })
    };
    Action { run, busy: *busy, error: (*error).clone(), set_error: error }
}

/// Runs one future, with `busy` set while it runs and its error kept.
fn track(
    future: RunFuture,
    busy: UseStateHandle<bool>,
    error: UseStateHandle<Option<ApiError>>,
    running: Rc<Cell<bool>>,
) {
    busy.set(true);
    error.set(None);
    wasm_bindgen_futures::spawn_local(async move {
        let result = future.await;
        running.set(false);
        busy.set(false);
        if let Err(e) = result {
            error.set(Some(e));
        }
    });
}
