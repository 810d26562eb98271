//! Cursor pagination envelope used by every list endpoint.

use serde::{Deserialize, Serialize};

/// One page of a list. `next_cursor` is absent on the last page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// The items of this page, newest first unless the endpoint says otherwise.
    pub items: Vec<T>,
    /// Opaque cursor for the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
