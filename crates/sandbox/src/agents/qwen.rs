//! Qwen Code (`@qwen-code/qwen-code`, a node CLI forked from Gemini CLI).
//!
//! Driven through its OpenAI-compatible auth type, so it uses the user's OpenAI key (or any
//! OpenAI-compatible gateway given as the base URL, e.g. DashScope for the Qwen models).
//! Headless: `qwen --auth-type openai -m M --yolo --output-format stream-json --prompt=<p>`.
//! Settings (telemetry off, MCP servers) live in `~/.qwen/settings.json`. Its stream-json
//! format is Claude Code's, so the Claude parser reads it.

use serde_json::{json, Value};
use shared::agents::{AgentKind, KeyProvider};

use super::claude::ClaudeStreamParser;
use super::{
    base_env, check_mcp_names, mcp_servers_json, path_str, AgentError, AgentParser, AgentPaths,
    AgentRun, AgentSpec, AgentStrategy, ConfigFile, Invocation, McpTransport,
};

static SPEC: AgentSpec = AgentSpec {
    kind: AgentKind::Qwen,
    display_name: "Qwen Code",
    package: Some("@qwen-code/qwen-code"),
    version: "0.15.10",
    binary: "node_modules/.bin/qwen",
    provider: KeyProvider::Openai,
    default_model: "gpt-5.5",
    models: &["gpt-5.5", "qwen3-coder-plus"],
    install_scripts: false,
};

/// The Qwen Code strategy.
#[derive(Debug)]
pub struct Qwen;

impl AgentStrategy for Qwen {
    fn spec(&self) -> &'static AgentSpec {
        &SPEC
    }

    fn prepare(&self, run: &AgentRun) -> Result<Invocation, AgentError> {
        check_mcp_names(&run.mcp_servers)?;
        let model = run.model_or(&SPEC).to_string();
        let mut env = base_env(&SPEC, run)?;
        env.insert("OPENAI_API_KEY".into(), run.api_key.expose().to_string());
        env.insert("OPENAI_MODEL".into(), model.clone());
        if let Some(url) = &run.base_url {
            env.insert("OPENAI_BASE_URL".into(), url.clone());
        }
        // Without it qwen re-launches itself as a child node process that ignores SIGINT.
        env.insert("QWEN_CODE_NO_RELAUNCH".into(), "true".into());
        let settings = json!({
            // The current settings schema version: an older or missing one makes qwen migrate
            // the file and leave a `.orig` copy behind.
            "$version": 4,
            "security": {"auth": {"selectedType": "openai"}},
            "general": {"disableAutoUpdate": true, "disableUpdateNag": true},
            "telemetry": {"enabled": false},
            "privacy": {"usageStatisticsEnabled": false},
            "mcpServers": mcp_servers_json(&run.mcp_servers, mcp_entry),
        });
        let mut argv = vec![
            path_str(&self.binary_path(&run.paths.tools)),
            "--auth-type".into(),
            "openai".into(),
            "-m".into(),
            model,
            "--yolo".into(),
            "--output-format".into(),
            "stream-json".into(),
        ];
        if let Some(session) = &run.resume_session {
            argv.push(format!("--resume={session}"));
        }
        // `--prompt=<p>`: a positional prompt after `--` is not seen by qwen's yargs setup, and
        // the `=` form keeps a prompt that starts with `-` from being read as an option.
        argv.push(format!("--prompt={}", run.prompt));
        Ok(Invocation {
            argv,
            env,
            files: vec![ConfigFile {
                path: ".qwen/settings.json".into(),
                contents: settings.to_string(),
            }],
            cwd: run.paths.repo.clone(),
        })
    }

    fn parser(&self, paths: &AgentPaths) -> Box<dyn AgentParser> {
        Box::new(ClaudeStreamParser::new(&paths.repo))
    }
}

/// Gemini-style `mcpServers` entries; `trust` skips per-tool confirmation.
pub(super) fn mcp_entry(t: &McpTransport) -> Value {
    match t {
        McpTransport::Local { command, args, env } => {
            json!({"command": command, "args": args, "env": env, "trust": true})
        }
        McpTransport::Remote { url, headers } => {
            json!({"httpUrl": url, "headers": headers, "trust": true})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::{McpServer, Secret};
    use std::collections::BTreeMap;

    #[test]
    fn settings_carry_mcp_and_argv_the_prompt() {
        let mut run = AgentRun::new("hello", Secret::new("sk"));
        run.mcp_servers.push(McpServer {
            name: "fake".into(),
            transport: McpTransport::Local {
                command: "/bin/mcp".into(),
                args: vec!["a".into()],
                env: BTreeMap::from([("K".into(), "V".into())]),
            },
        });
        run.resume_session = Some("abc".into());
        let inv = Qwen.prepare(&run).unwrap();
        assert_eq!(inv.argv.last().unwrap(), "--prompt=hello");
        assert!(inv.argv.contains(&"--resume=abc".to_string()));
        assert_eq!(inv.env["QWEN_CODE_NO_RELAUNCH"], "true");
        let s: Value = serde_json::from_str(&inv.files[0].contents).unwrap();
        assert_eq!(s["mcpServers"]["fake"]["env"]["K"], "V");
        assert_eq!(s["$version"], 4);
    }
}
