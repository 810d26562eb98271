//! Ready-made connectors, as in the reference system's connector dialog. The user picks one,
//! fills in the listed secrets, and creates a connector from it.

use shared::connectors::{ConnectorKind, ConnectorPreset};

struct Preset {
    id: &'static str,
    title: &'static str,
    description: &'static str,
    kind: ConnectorKind,
    command: Option<&'static str>,
    args: &'static [&'static str],
    url: Option<&'static str>,
    env_keys: &'static [&'static str],
    header_keys: &'static [&'static str],
}

const PRESETS: &[Preset] = &[
    Preset {
        id: "context7",
        title: "Context7",
        description: "Up-to-date library documentation and code examples.",
        kind: ConnectorKind::Remote,
        command: None,
        args: &[],
        url: Some("https://mcp.context7.com/mcp"),
        env_keys: &[],
        header_keys: &["CONTEXT7_API_KEY"],
    },
    Preset {
        id: "playwright",
        title: "Playwright",
        description: "Drive a headless browser: navigate, click, fill forms, take snapshots.",
        kind: ConnectorKind::Local,
        command: Some("npx"),
        args: &["-y", "@playwright/mcp@latest"],
        url: None,
        env_keys: &[],
        header_keys: &[],
    },
    Preset {
        id: "linear",
        title: "Linear",
        description: "Read and update Linear issues, projects and comments.",
        kind: ConnectorKind::Remote,
        command: None,
        args: &[],
        url: Some("https://mcp.linear.app/sse"),
        env_keys: &[],
        header_keys: &["Authorization"],
    },
    Preset {
        id: "notion",
        title: "Notion",
        description: "Search and edit Notion pages and databases.",
        kind: ConnectorKind::Remote,
        command: None,
        args: &[],
        url: Some("https://mcp.notion.com/mcp"),
        env_keys: &[],
        header_keys: &["Authorization"],
    },
    Preset {
        id: "supabase",
        title: "Supabase",
        description: "Manage Supabase projects: tables, queries, migrations, logs.",
        kind: ConnectorKind::Remote,
        command: None,
        args: &[],
        url: Some("https://mcp.supabase.com/mcp"),
        env_keys: &[],
        header_keys: &["Authorization"],
    },
    Preset {
        id: "figma",
        title: "Figma",
        description: "Read Figma designs, components and variables.",
        kind: ConnectorKind::Remote,
        command: None,
        args: &[],
        url: Some("https://mcp.figma.com/mcp"),
        env_keys: &[],
        header_keys: &["Authorization"],
    },
    Preset {
        id: "huggingface",
        title: "Hugging Face",
        description: "Search models, datasets, Spaces and papers on the Hugging Face Hub.",
        kind: ConnectorKind::Remote,
        command: None,
        args: &[],
        url: Some("https://hf.co/mcp"),
        env_keys: &[],
        header_keys: &["Authorization"],
    },
    Preset {
        id: "browserbase",
        title: "Browserbase",
        description: "Cloud browser sessions for web automation.",
        kind: ConnectorKind::Local,
        command: Some("npx"),
        args: &["-y", "@browserbasehq/mcp"],
        url: None,
        env_keys: &["BROWSERBASE_API_KEY", "BROWSERBASE_PROJECT_ID"],
        header_keys: &[],
    },
    Preset {
        id: "convex",
        title: "Convex",
        description: "Inspect and query Convex deployments.",
        kind: ConnectorKind::Local,
        command: Some("npx"),
        args: &["-y", "convex@latest", "mcp", "start"],
        url: None,
        env_keys: &["CONVEX_DEPLOY_KEY"],
        header_keys: &[],
    },
];

/// Every preset, in display order.
pub fn all() -> Vec<ConnectorPreset> {
    PRESETS
        .iter()
        .map(|p| ConnectorPreset {
            id: p.id.to_owned(),
            title: p.title.to_owned(),
            name: p.id.to_owned(),
            description: p.description.to_owned(),
            kind: p.kind,
            command: p.command.map(str::to_owned),
            args: p.args.iter().map(|a| (*a).to_owned()).collect(),
            url: p.url.map(str::to_owned),
            env_keys: p.env_keys.iter().map(|k| (*k).to_owned()).collect(),
            header_keys: p.header_keys.iter().map(|k| (*k).to_owned()).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn presets_are_valid_connectors() {
        let all = super::all();
        assert_eq!(all.len(), 9);
        for p in all {
            assert!(shared::connectors::valid_connector_name(&p.name), "{}", p.name);
            assert!(p.url.is_some() != p.command.is_some(), "{}", p.id);
        }
    }
}
