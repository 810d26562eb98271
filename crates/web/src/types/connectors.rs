//! MCP connector presets for the settings page (the wire shapes are in `shared::connectors`).

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
