//! `use_fetch`: runs an API call when its dependencies change, with a `reload` that keeps the
//! previous data on screen (no loading flash when polling).

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use yew::prelude::*;

use crate::services::ApiError;

/// The state of a load.
#[derive(Debug, Clone, PartialEq)]
pub enum FetchState<T> {
    /// No answer yet.
    Loading,
    /// The data.
    Ready(T),
    /// The call failed.
    Failed(ApiError),
}

/// What [`use_fetch`] returns.
pub struct FetchHandle<T> {
    /// The current state.
    pub state: UseStateHandle<FetchState<T>>,
    /// Runs the call again.
    pub reload: Callback<()>,
}

impl<T> Clone for FetchHandle<T> {
    fn clone(&self) -> Self {
        Self { state: self.state.clone(), reload: self.reload.clone() }
    }
}

impl<T: PartialEq> PartialEq for FetchHandle<T> {
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state
    }
}

impl<T> FetchHandle<T> {
    /// The data, when loaded.
    pub fn data(&self) -> Option<&T> {
        match &*self.state {
            FetchState::Ready(t) => Some(t),
            FetchState::Loading | FetchState::Failed(_) => None,
        }
    }
}

/// Calls `fetch(deps)` on mount, whenever `deps` change, and on `reload`. Answers to superseded
/// calls are dropped, so a slow old request cannot overwrite a newer one.
#[hook]
pub fn use_fetch<T, D, F, Fut>(deps: D, fetch: F) -> FetchHandle<T>
where
    T: 'static,
    D: PartialEq + Clone + 'static,
    F: Fn(D) -> Fut + 'static,
    Fut: Future<Output = Result<T, ApiError>> + 'static,
{
    let state = use_state(|| FetchState::Loading);
    let generation = use_mut_ref(|| Rc::new(Cell::new(0u64)));
    let counter = use_state(|| 0u32);
    let fetch = Rc::new(fetch);
    {
        let state = state.clone();
        let generation = generation.borrow().clone();
        use_effect_with((deps, *counter), move |(deps, _)| {
            let mine = generation.get() + 1;
            generation.set(mine);
            let fut = fetch(deps.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let result = fut.await;
                if generation.get() == mine {
                    state.set(match result {
                        Ok(t) => FetchState::Ready(t),
                        Err(e) => FetchState::Failed(e),
                    });
                }
            });
        });
    }
    let reload = {
        let counter = counter.clone();
        Callback::from(move |()| counter.set(counter.wrapping_add(1)))
    };
    FetchHandle { state, reload }
}
