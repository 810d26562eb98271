//! Wire shapes the API owns but `shared` does not define yet. Each is decoded defensively
//! (defaults and aliases) because the API is being written alongside; move them to `shared`
//! once the contract settles.

pub mod agents;
pub mod changes;
pub mod connectors;
pub mod pulls;

use serde::Deserialize;
use shared::page::Page;

/// A list endpoint's answer: a [`Page`] as the contract says, or a bare array.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ListOrPage<T> {
    /// `{"items": [...], "next_cursor": ...}`.
    Page(Page<T>),
    /// `[...]`.
    List(Vec<T>),
}

impl<T> ListOrPage<T> {
    /// The items and the next cursor.
    pub fn into_page(self) -> Page<T> {
        match self {
            Self::Page(p) => p,
            Self::List(items) => Page { items, next_cursor: None },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_pages_both_decode() {
        let a: ListOrPage<u32> = serde_json::from_str("[1,2]").unwrap();
        let b: ListOrPage<u32> =
            serde_json::from_str(r#"{"items":[1],"next_cursor":"c"}"#).unwrap();
        assert_eq!(a.into_page().items, vec![1, 2]);
        assert_eq!(b.into_page().next_cursor.as_deref(), Some("c"));
    }
}
