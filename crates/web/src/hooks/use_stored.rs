//! `use_stored`: a string state mirrored to `localStorage` (drafts, last choices).

use yew::prelude::*;

use crate::services::storage;

/// A state initialised from `localStorage[key]` (or `default`) and written back on every change.
/// Used for drafts and remembered choices, never for secrets.
#[hook]
pub fn use_stored(key: String, default: String) -> (UseStateHandle<String>, Callback<String>) {
    let value = {
        let key = key.clone();
        use_state(move || storage::get(&key).unwrap_or(default))
    };
    let set = {
        let value = value.clone();
        Callback::from(move |v: String| {
            storage::set(&key, &v);
            value.set(v);
        })
    };
    (value, set)
}
