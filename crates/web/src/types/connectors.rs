//! MCP connectors (`/connectors`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A connector as listed (secrets never come back).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Connector {
    /// Id.
    pub id: uuid::Uuid,
    /// Name.
    pub name: String,
    /// `remote` (URL) or `local` (command).
    #[serde(default, alias = "type", alias = "server_type")]
    pub kind: String,
    /// Remote server URL.
    #[serde(default, alias = "base_url")]
    pub url: Option<String>,
    /// Local server command.
    #[serde(default)]
    pub command: Option<String>,
    /// Environment variable names (values are write-only).
    #[serde(default)]
    pub env_keys: Vec<String>,
    /// Whether tasks get it.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// Body of `POST /connectors` and `PUT /connectors/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ConnectorInput {
    /// Name.
    pub name: String,
    /// `remote` or `local`.
    pub kind: String,
    /// Remote server URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Local server command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Environment variables.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Whether tasks get it.
    pub enabled: bool,
}

/// A preset shown in the "add connector" list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// Name.
    pub name: &'static str,
    /// `remote` or `local`.
    pub kind: &'static str,
    /// URL (remote) or command (local).
    pub target: &'static str,
    /// Environment variables the server needs.
    pub env: &'static [&'static str],
}

/// Well-known MCP servers.
pub const PRESETS: &[Preset] = &[
    Preset { name: "Context7", kind: "remote", target: "https://mcp.context7.com/mcp", env: &[] },
    Preset { name: "Figma", kind: "remote", target: "https://mcp.figma.com/mcp", env: &[] },
    Preset { name: "Hugging Face", kind: "remote", target: "https://hf.co/mcp", env: &[] },
    Preset { name: "Linear", kind: "remote", target: "https://mcp.linear.app/sse", env: &[] },
    Preset { name: "Notion", kind: "remote", target: "https://mcp.notion.com/mcp", env: &[] },
    Preset { name: "Supabase", kind: "remote", target: "https://mcp.supabase.com/mcp", env: &[] },
    Preset { name: "Playwright", kind: "local", target: "npx -y @playwright/mcp@latest", env: &[] },
    Preset {
        name: "Browserbase",
        kind: "local",
        target: "npx @browserbasehq/mcp",
        env: &["BROWSERBASE_API_KEY", "BROWSERBASE_PROJECT_ID"],
    },
];
