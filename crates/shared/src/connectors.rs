//! MCP connectors: servers a user makes available to their agents.
//!
//! The values of a connector's environment variables and HTTP headers are secrets: they are
//! write-only, stored encrypted, and the API only ever returns their names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How an MCP server is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConnectorKind {
    /// A stdio server the agent CLI starts inside the sandbox (`command` + `args`, `env`).
    Local,
    /// A streamable-HTTP server (`url`, `headers`).
    Remote,
}

impl ConnectorKind {
    /// The snake_case name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Remote => "remote",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "local" => Some(Self::Local),
            "remote" => Some(Self::Remote),
            _ => None,
        }
    }
}

/// Longest connector name.
pub const CONNECTOR_NAME_MAX: usize = 64;

/// Whether `name` is a valid connector name: 1 to 64 ASCII letters, digits, `-` or `_` (it
/// becomes a key in agent config files and a prefix of tool names).
pub fn valid_connector_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= CONNECTOR_NAME_MAX
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A connector as returned by the API: secrets appear by name only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Connector {
    /// Connector id.
    pub id: uuid::Uuid,
    /// Name, unique per user (letters, digits, `-`, `_`).
    pub name: String,
    /// Local (stdio) or remote (HTTP).
    #[serde(rename = "type")]
    pub kind: ConnectorKind,
    /// Executable of a local server.
    pub command: Option<String>,
    /// Arguments of a local server.
    pub args: Vec<String>,
    /// Endpoint of a remote server.
    pub url: Option<String>,
    /// Names of the environment variables set for a local server (values are never returned).
    pub env_keys: Vec<String>,
    /// Names of the headers sent to a remote server (values are never returned).
    pub header_keys: Vec<String>,
    /// Whether tasks may use it.
    pub enabled: bool,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Body of `POST /api/v1/connectors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateConnector {
    /// Name, unique per user: 1 to 64 letters, digits, `-` or `_`.
    pub name: String,
    /// Local (stdio) or remote (HTTP).
    #[serde(rename = "type")]
    pub kind: ConnectorKind,
    /// Executable of a local server (required for `local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Arguments of a local server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Endpoint of a remote server, http(s) (required for `remote`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Environment of a local server; write-only, stored encrypted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Headers for a remote server (e.g. `Authorization`); write-only, stored encrypted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Whether tasks may use it (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// Body of `PATCH /api/v1/connectors/{id}`: absent fields keep their value.
///
/// `env` and `headers` replace the whole stored map when present (send `{}` to clear it); as
/// their values are never returned, a client that edits one value sends all of them again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateConnector {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<ConnectorKind>,
    /// New command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// New arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// New URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// New environment (replaces the stored one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<BTreeMap<String, String>>,
    /// New headers (replace the stored ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// Enable or disable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// A ready-made connector the user completes with their own secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectorPreset {
    /// Stable id of the preset (e.g. `context7`).
    pub id: String,
    /// Display name.
    pub title: String,
    /// Suggested connector name.
    pub name: String,
    /// What it gives the agent.
    pub description: String,
    /// Local or remote.
    #[serde(rename = "type")]
    pub kind: ConnectorKind,
    /// Executable of a local preset.
    pub command: Option<String>,
    /// Arguments of a local preset.
    pub args: Vec<String>,
    /// Endpoint of a remote preset.
    pub url: Option<String>,
    /// Environment variables the user must fill in (local presets).
    pub env_keys: Vec<String>,
    /// Headers the user must (or may) fill in (remote presets), e.g. `Authorization`.
    pub header_keys: Vec<String>,
}
