//! Small string values in `localStorage` (drafts, last choices, theme). Never secrets: anything
//! here is readable by any script on the page.

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Reads a value.
pub fn get(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

/// Writes a value; an empty value removes the key so drafts do not pile up.
pub fn set(key: &str, value: &str) {
    if let Some(s) = storage() {
        // Storage can be full or disabled (private mode); losing a draft is acceptable.
        let _ = if value.is_empty() { s.remove_item(key) } else { s.set_item(key, value) };
    }
}

/// Removes a value.
pub fn remove(key: &str) {
    if let Some(s) = storage() {
        let _ = s.remove_item(key);
    }
}
