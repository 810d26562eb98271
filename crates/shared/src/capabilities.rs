//! `GET /api/v1/capabilities`: optional features this server can offer, so clients show only
//! the options that will be accepted.

use serde::{Deserialize, Serialize};

/// Optional features of this server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Capabilities {
    /// Browser automation for agents (`enable_browser` on a task).
    pub browser: Capability,
}

/// Whether one optional feature is available, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Capability {
    /// Tasks may ask for it.
    pub available: bool,
    /// What is missing on the server, when it is not available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
