//! opencode (`opencode-ai`, a bun-compiled binary behind an npm package).
//!
//! Headless: `opencode run --format json -m drydock/<model> [--session <id>] -- <words…>`. The
//! config file named by `OPENCODE_CONFIG` declares a `drydock` provider (the bundled
//! `@ai-sdk/openai-compatible` package, so nothing is downloaded) whose key is read from
//! `OPENAI_API_KEY` through opencode's `{env:…}` substitution, plus the MCP servers (`mcp`).

use std::path::PathBuf;

use serde_json::{json, Value};
use shared::agents::{AgentKind, KeyProvider};
use shared::events::{EventBody, Stream};

use super::summary::summarize;
use super::{
    base_env, check_mcp_names, clip, json_line, path_str, stderr_error, AgentError, AgentParser,
    AgentPaths, AgentRun, AgentSpec, AgentStrategy, ConfigFile, Invocation, McpTransport, Outcome,
    ParseState,
};

/// The native binary from the platform package npm installed for this host; opencode's
/// postinstall script would only link it to `bin/opencode.exe`, and install scripts stay off.
/// On x64 the baseline build, which needs no AVX2 and so runs on every x64 CPU.
#[cfg(all(target_arch = "aarch64", target_env = "musl"))]
const NATIVE_BINARY: &str = "node_modules/opencode-linux-arm64-musl/bin/opencode";
#[cfg(all(target_arch = "aarch64", not(target_env = "musl")))]
const NATIVE_BINARY: &str = "node_modules/opencode-linux-arm64/bin/opencode";
#[cfg(all(not(target_arch = "aarch64"), target_env = "musl"))]
const NATIVE_BINARY: &str = "node_modules/opencode-linux-x64-baseline-musl/bin/opencode";
#[cfg(all(not(target_arch = "aarch64"), not(target_env = "musl")))]
const NATIVE_BINARY: &str = "node_modules/opencode-linux-x64-baseline/bin/opencode";

static SPEC: AgentSpec = AgentSpec {
    kind: AgentKind::Opencode,
    display_name: "opencode",
    package: Some("opencode-ai"),
    version: "1.18.33",
    binary: NATIVE_BINARY,
    provider: KeyProvider::Openai,
    default_model: "gpt-5.5",
    models: &["gpt-5.5", "gpt-4.1"],
    install_scripts: false,
};

const CONFIG_FILE: &str = ".drydock/opencode.json";

/// On every start opencode installs `@opencode-ai/plugin` into its global config directory
/// (`$XDG_CONFIG_HOME/opencode`) in the background, over the network, unless that directory has
/// a `node_modules` and a lockfile declaring every dependency. Nothing here loads plugins, so
/// these two files make it skip the install: no registry traffic through the egress proxy, no
/// DNS lookup, and nothing left running when the turn ends.
const PLUGIN_LOCK_FILE: &str = ".config/opencode/package-lock.json";
const PLUGIN_MODULES_MARKER: &str = ".config/opencode/node_modules/.drydock";
const PLUGIN_LOCK: &str = r#"{"packages":{"":{"dependencies":{"@opencode-ai/plugin":"*"}}}}"#;

/// The opencode strategy.
#[derive(Debug)]
pub struct Opencode;

impl AgentStrategy for Opencode {
    fn spec(&self) -> &'static AgentSpec {
        &SPEC
    }

    fn prepare(&self, run: &AgentRun) -> Result<Invocation, AgentError> {
        check_mcp_names(&run.mcp_servers)?;
        let model = run.model_or(&SPEC).to_string();
        let home = &run.paths.home;
        let mut env = base_env(&SPEC, run)?;
        for (var, dir) in [
            ("XDG_CONFIG_HOME", ".config"),
            ("XDG_DATA_HOME", ".local/share"),
            ("XDG_CACHE_HOME", ".cache"),
            ("XDG_STATE_HOME", ".local/state"),
        ] {
            env.insert(var.into(), path_str(&home.join(dir)));
        }
        env.insert("OPENCODE_CONFIG".into(), path_str(&home.join(CONFIG_FILE)));
        env.insert("OPENAI_API_KEY".into(), run.api_key.expose().to_string());
        for var in [
            "OPENCODE_DISABLE_AUTOUPDATE",
            "OPENCODE_DISABLE_MODELS_FETCH",
            "OPENCODE_DISABLE_LSP_DOWNLOAD",
            "OPENCODE_DISABLE_DEFAULT_PLUGINS",
            "OPENCODE_DISABLE_SHARE",
        ] {
            env.insert(var.into(), "1".into());
        }
        let mcp: serde_json::Map<String, Value> =
            run.mcp_servers.iter().map(|s| (s.name.clone(), mcp_entry(&s.transport))).collect();
        let config = json!({
            "$schema": "https://opencode.ai/config.json",
            "provider": {"drydock": {
                "npm": "@ai-sdk/openai-compatible",
                "name": "Drydock",
                "options": {
                    "baseURL": run.base_url.as_deref().unwrap_or("https://api.openai.com/v1"),
                    "apiKey": "{env:OPENAI_API_KEY}",
                },
                "models": {model.clone(): {"name": model.clone(), "tool_call": true}},
            }},
            "model": format!("drydock/{model}"),
            "small_model": format!("drydock/{model}"),
            "autoupdate": false,
            "share": "disabled",
            "permission": {"edit": "allow", "bash": "allow", "webfetch": "allow"},
            "mcp": mcp,
        });
        let mut argv = vec![
            path_str(&self.binary_path(&run.paths.tools)),
            "run".into(),
            "--format".into(),
            "json".into(),
            "-m".into(),
            format!("drydock/{model}"),
        ];
        if let Some(session) = &run.resume_session {
            argv.push(format!("--session={session}"));
        }
        // opencode joins its message arguments with spaces and wraps every argument that
        // contains a space in double quotes (escaping inner quotes), so a one-element prompt
        // reaches the model altered. Split on spaces, its join rebuilds the prompt exactly;
        // after `--` no word is read as an option.
        argv.push("--".into());
        argv.extend(run.prompt.split(' ').map(str::to_string));
        Ok(Invocation {
            argv,
            env,
            files: vec![
                ConfigFile { path: CONFIG_FILE.into(), contents: config.to_string() },
                ConfigFile { path: PLUGIN_LOCK_FILE.into(), contents: PLUGIN_LOCK.into() },
                ConfigFile { path: PLUGIN_MODULES_MARKER.into(), contents: String::new() },
            ],
            cwd: run.paths.repo.clone(),
        })
    }

    fn parser(&self, paths: &AgentPaths) -> Box<dyn AgentParser> {
        Box::new(OpencodeParser { state: ParseState::default(), repo: paths.repo.clone() })
    }
}

fn mcp_entry(t: &McpTransport) -> Value {
    match t {
        McpTransport::Local { command, args, env } => {
            let mut cmd = vec![command.clone()];
            cmd.extend(args.iter().cloned());
            json!({"type": "local", "command": cmd, "environment": env, "enabled": true})
        }
        McpTransport::Remote { url, headers } => {
            json!({"type": "remote", "url": url, "headers": headers, "enabled": true})
        }
    }
}

/// Parser of `opencode run --format json`: `step_start`, `tool_use` (reported once, completed),
/// `text`, `step_finish` (tokens, cost, reason), `error`. No init event: the session id first
/// appears on the first event.
#[derive(Debug)]
struct OpencodeParser {
    state: ParseState,
    repo: PathBuf,
}

impl AgentParser for OpencodeParser {
    fn feed(&mut self, stream: Stream, line: &str) -> Vec<EventBody> {
        if stream == Stream::Stderr {
            if let Some(err) = stderr_error(line) {
                self.state.last_error = Some(err.to_string());
            }
            return Vec::new();
        }
        let Some(v) = json_line(line) else { return Vec::new() };
        let mut out = Vec::new();
        if let Some(id) = v["sessionID"].as_str() {
            out.extend(self.state.session(id));
        }
        let part = &v["part"];
        match v["type"].as_str().unwrap_or_default() {
            "text" => out.extend(self.state.message(part["text"].as_str().unwrap_or_default())),
            "tool_use" => {
                let tool = part["tool"].as_str().unwrap_or("tool").to_string();
                let state = &part["state"];
                let call_id = part["callID"].as_str().map(str::to_string);
                let summary = summarize(&tool, &state["input"], &self.repo);
                out.push(EventBody::ToolCall { tool, summary, call_id: call_id.clone() });
                let status = state["status"].as_str().unwrap_or_default();
                if status == "completed" || status == "error" {
                    let output =
                        state["output"].as_str().or_else(|| state["error"].as_str()).map(clip);
                    out.push(EventBody::ToolResult { call_id, ok: status == "completed", output });
                }
            }
            "step_finish" => {
                let tokens = &part["tokens"];
                out.push(EventBody::Usage {
                    input_tokens: tokens["input"].as_u64(),
                    output_tokens: tokens["output"].as_u64(),
                    cost_usd: part["cost"].as_f64(),
                });
                // "tool-calls" means another step follows; any other reason ends the turn.
                if part["reason"] != "tool-calls" {
                    self.state.saw_result = true;
                    if self.state.outcome.is_none() {
                        self.state.outcome = Some(Outcome::Succeeded);
                    }
                }
            }
            "error" => {
                let err = &v["error"];
                let message = err
                    .pointer("/data/message")
                    .and_then(Value::as_str)
                    .or_else(|| err["message"].as_str())
                    .or_else(|| err["name"].as_str())
                    .unwrap_or("opencode reported an error")
                    .to_string();
                out.push(self.state.error(&message));
                self.state.outcome = Some(Outcome::Failed(message));
                self.state.saw_result = true;
            }
            _ => {}
        }
        out
    }

    fn session_id(&self) -> Option<&str> {
        self.state.session_id.as_deref()
    }

    fn final_message(&self) -> Option<&str> {
        self.state.final_message.as_deref()
    }

    fn outcome(&self) -> Outcome {
        self.state.outcome()
    }

    fn saw_result(&self) -> bool {
        self.state.saw_result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::{McpServer, Secret};
    use std::collections::BTreeMap;

    #[test]
    fn config_has_provider_without_the_key_and_mcp_command_array() {
        let mut run = AgentRun::new("p", Secret::new("sk-open"));
        run.model = Some("fake-model".into());
        run.mcp_servers.push(McpServer {
            name: "fake".into(),
            transport: McpTransport::Local {
                command: "srv".into(),
                args: vec!["x".into()],
                env: BTreeMap::new(),
            },
        });
        let inv = Opencode.prepare(&run).unwrap();
        let cfg: Value = serde_json::from_str(&inv.files[0].contents).unwrap();
        assert_eq!(cfg["mcp"]["fake"]["command"], json!(["srv", "x"]));
        assert_eq!(cfg["model"], "drydock/fake-model");
        assert!(!inv.files[0].contents.contains("sk-open"));
        assert_eq!(inv.env["OPENAI_API_KEY"], "sk-open");
        assert_eq!(inv.env["OPENCODE_CONFIG"], "/home/agent/.drydock/opencode.json");
        let mut run = run.clone();
        run.prompt = "a  \"b\" -c".into();
        let inv = Opencode.prepare(&run).unwrap();
        let n = inv.argv.len();
        assert_eq!(inv.argv[n - 5..], ["--", "a", "", "\"b\"", "-c"]);
    }

    #[test]
    fn the_global_config_dir_looks_installed_so_no_plugin_install_starts() {
        let inv = Opencode.prepare(&AgentRun::new("p", Secret::new("k"))).unwrap();
        let config_home = &inv.env["XDG_CONFIG_HOME"];
        let paths: Vec<String> =
            inv.files.iter().map(|f| path_str(&f.resolve(&run_home()))).collect();
        assert!(paths.contains(&format!("{config_home}/opencode/package-lock.json")), "{paths:?}");
        assert!(paths.contains(&format!("{config_home}/opencode/node_modules/.drydock")));
        let lock: Value = serde_json::from_str(PLUGIN_LOCK).unwrap();
        assert!(lock["packages"][""]["dependencies"]["@opencode-ai/plugin"].is_string());
    }

    fn run_home() -> PathBuf {
        AgentPaths::sandbox().home
    }
}
