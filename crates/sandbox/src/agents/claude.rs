//! Claude Code (`@anthropic-ai/claude-code`, a native binary behind an npm package).
//!
//! Headless: `claude -p --output-format stream-json --verbose --dangerously-skip-permissions`.
//! Key and base URL through `ANTHROPIC_API_KEY` / `ANTHROPIC_BASE_URL`; MCP servers through
//! `--mcp-config <file> --strict-mcp-config`; resume with `--resume <session_id>`.
//!
//! The stream-json format (`system/init`, `assistant`, `user` tool results, `result`) is shared
//! with Qwen Code, so [`ClaudeStreamParser`] serves both.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use shared::agents::{AgentKind, KeyProvider};
use shared::events::{EventBody, LogLevel, Stream};

use super::summary::summarize;
use super::{
    base_env, check_mcp_names, clip, json_line, mcp_servers_json, path_str, stderr_error,
    AgentError, AgentParser, AgentPaths, AgentRun, AgentSpec, AgentStrategy, ConfigFile,
    Invocation, McpTransport, Outcome, ParseState,
};

static SPEC: AgentSpec = AgentSpec {
    kind: AgentKind::Claude,
    display_name: "Claude Code",
    package: Some("@anthropic-ai/claude-code"),
    version: "2.1.197",
    binary: NATIVE_BINARY,
    provider: KeyProvider::Anthropic,
    default_model: "sonnet",
    models: &["sonnet", "opus", "haiku", "claude-sonnet-4-5", "claude-opus-4-1"],
    install_scripts: false,
};

/// The native binary from the platform package npm installed for this host. Claude Code's
/// postinstall script only links it to `bin/claude.exe`; install scripts stay off, so Drydock
/// runs it from where npm put it.
#[cfg(all(target_arch = "aarch64", target_env = "musl"))]
const NATIVE_BINARY: &str = "node_modules/@anthropic-ai/claude-code-linux-arm64-musl/claude";
#[cfg(all(target_arch = "aarch64", not(target_env = "musl")))]
const NATIVE_BINARY: &str = "node_modules/@anthropic-ai/claude-code-linux-arm64/claude";
#[cfg(all(not(target_arch = "aarch64"), target_env = "musl"))]
const NATIVE_BINARY: &str = "node_modules/@anthropic-ai/claude-code-linux-x64-musl/claude";
#[cfg(all(not(target_arch = "aarch64"), not(target_env = "musl")))]
const NATIVE_BINARY: &str = "node_modules/@anthropic-ai/claude-code-linux-x64/claude";

const MCP_FILE: &str = ".drydock/claude-mcp.json";

/// The Claude Code strategy.
#[derive(Debug)]
pub struct Claude;

impl AgentStrategy for Claude {
    fn spec(&self) -> &'static AgentSpec {
        &SPEC
    }

    fn prepare(&self, run: &AgentRun) -> Result<Invocation, AgentError> {
        check_mcp_names(&run.mcp_servers)?;
        let mut env = base_env(&SPEC, run)?;
        let home = &run.paths.home;
        env.insert("CLAUDE_CONFIG_DIR".into(), path_str(&home.join(".claude")));
        env.insert("ANTHROPIC_API_KEY".into(), run.api_key.expose().to_string());
        if let Some(url) = &run.base_url {
            env.insert("ANTHROPIC_BASE_URL".into(), url.clone());
        }
        for (k, v) in [
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
            ("DISABLE_AUTOUPDATER", "1"),
            ("DISABLE_TELEMETRY", "1"),
            ("DISABLE_ERROR_REPORTING", "1"),
            // Allows --dangerously-skip-permissions as root: the sandbox is the boundary.
            ("IS_SANDBOX", "1"),
        ] {
            env.insert(k.into(), v.into());
        }
        if let Some(n) = run.max_retries {
            env.insert("CLAUDE_CODE_MAX_RETRIES".into(), n.to_string());
        }
        let mcp = json!({"mcpServers": mcp_servers_json(&run.mcp_servers, mcp_entry)});
        let mut argv = vec![
            path_str(&self.binary_path(&run.paths.tools)),
            "-p".into(),
            "--output-format".into(),
            "stream-json".into(),
            "--verbose".into(),
            "--dangerously-skip-permissions".into(),
            "--model".into(),
            run.model_or(&SPEC).to_string(),
            // Always strict, with a possibly empty file: a `.mcp.json` in the user's repository
            // must not add servers nobody configured.
            "--strict-mcp-config".into(),
            "--mcp-config".into(),
            path_str(&home.join(MCP_FILE)),
        ];
        if let Some(session) = &run.resume_session {
            argv.extend(["--resume".into(), session.clone()]);
        }
        // `--mcp-config` takes several values: `--` ends it and keeps a prompt starting with
        // `-` from being read as an option.
        argv.extend(["--".into(), run.prompt.clone()]);
        Ok(Invocation {
            argv,
            env,
            files: vec![ConfigFile { path: MCP_FILE.into(), contents: mcp.to_string() }],
            cwd: run.paths.repo.clone(),
        })
    }

    fn parser(&self, paths: &AgentPaths) -> Box<dyn AgentParser> {
        Box::new(ClaudeStreamParser::new(&paths.repo))
    }
}

fn mcp_entry(t: &McpTransport) -> Value {
    match t {
        McpTransport::Local { command, args, env } => {
            json!({"type": "stdio", "command": command, "args": args, "env": env})
        }
        McpTransport::Remote { url, headers } => {
            json!({"type": "http", "url": url, "headers": headers})
        }
    }
}

/// Parser of the Claude Code stream-json format (also used for Qwen Code).
#[derive(Debug)]
pub(super) struct ClaudeStreamParser {
    state: ParseState,
    repo: PathBuf,
    interrupted: bool,
    /// A model API failure reported as assistant text.
    api_error: Option<String>,
}

impl ClaudeStreamParser {
    pub(super) fn new(repo: &Path) -> Self {
        Self {
            state: ParseState::default(),
            repo: repo.to_path_buf(),
            interrupted: false,
            api_error: None,
        }
    }

    fn assistant(&mut self, v: &Value, out: &mut Vec<EventBody>) {
        let blocks =
            v.pointer("/message/content").and_then(Value::as_array).cloned().unwrap_or_default();
        for block in blocks {
            match block["type"].as_str() {
                Some("text") => {
                    let text = block["text"].as_str().unwrap_or_default();
                    // A failed model call comes as assistant text: Claude marks the event with
                    // `error` (a synthetic message), Qwen Code only by the text, followed by a
                    // "successful" result. Either way it is an error, not a message.
                    if v["error"].is_string() || text.starts_with("[API Error") {
                        out.push(self.state.error(text));
                        self.api_error = Some(text.to_string());
                    } else {
                        out.extend(self.state.message(text));
                    }
                }
                Some("tool_use") => {
                    let tool = block["name"].as_str().unwrap_or("tool").to_string();
                    let summary = summarize(&tool, &block["input"], &self.repo);
                    let call_id = block["id"].as_str().map(str::to_string);
                    out.push(EventBody::ToolCall { tool, summary, call_id });
                }
                _ => {}
            }
        }
    }

    fn user(&mut self, v: &Value, out: &mut Vec<EventBody>) {
        let content = v.pointer("/message/content");
        let blocks = content.and_then(Value::as_array).cloned().unwrap_or_default();
        for block in blocks {
            match block["type"].as_str() {
                Some("tool_result") => out.push(EventBody::ToolResult {
                    call_id: block["tool_use_id"].as_str().map(str::to_string),
                    ok: !block["is_error"].as_bool().unwrap_or(false),
                    output: Some(clip(&content_text(&block["content"]))),
                }),
                Some("text")
                    if block["text"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("[Request interrupted")) =>
                {
                    self.interrupted = true;
                }
                _ => {}
            }
        }
    }

    /// `system/api_retry`: a failed model call the CLI will retry. Authentication errors do not
    /// heal by retrying (claude would back off for minutes), so they end the turn: the outcome
    /// is decided and `saw_result` lets the worker stop the process after its grace period.
    fn retry(&mut self, v: &Value, out: &mut Vec<EventBody>) {
        let status = v["error_status"].as_u64().unwrap_or(0);
        let message = format!(
            "model API error {status} ({}), attempt {} of {}",
            v["error"].as_str().unwrap_or("unknown"),
            v["attempt"].as_u64().unwrap_or(0),
            v["max_retries"].as_u64().unwrap_or(0)
        );
        if matches!(status, 401 | 403) && self.state.outcome.is_none() {
            let reason = format!("the model API rejected the key: {message}");
            out.push(self.state.error(&reason));
            self.state.outcome = Some(Outcome::Failed(reason));
            self.state.saw_result = true;
        } else {
            self.state.last_error = Some(message.clone());
            out.push(EventBody::Log { level: LogLevel::Warn, message });
        }
    }

    fn result(&mut self, v: &Value, out: &mut Vec<EventBody>) {
        self.state.saw_result = true;
        let usage = &v["usage"];
        if usage.is_object() || v.get("total_cost_usd").is_some() {
            let tokens = |keys: &[&str]| -> Option<u64> {
                let found: Vec<u64> = keys.iter().filter_map(|k| usage[*k].as_u64()).collect();
                (!found.is_empty()).then(|| found.iter().sum())
            };
            out.push(EventBody::Usage {
                // Cached prompt tokens are still input the model read.
                input_tokens: tokens(&[
                    "input_tokens",
                    "cache_read_input_tokens",
                    "cache_creation_input_tokens",
                ]),
                output_tokens: tokens(&["output_tokens"]),
                cost_usd: v["total_cost_usd"].as_f64(),
            });
        }
        // A turn already judged failed (a rejected key) stays failed: the interrupted result
        // that follows is the worker stopping the retries, not the user.
        if matches!(self.state.outcome, Some(Outcome::Failed(_))) {
            return;
        }
        let text = v["result"].as_str().unwrap_or_default();
        if let Some(reason) = self.api_error.clone() {
            self.state.outcome = Some(Outcome::Failed(reason));
            return;
        }
        if !text.trim().is_empty() {
            self.state.final_message = Some(text.to_string());
        }
        let is_error = v["is_error"].as_bool().unwrap_or(false);
        let subtype = v["subtype"].as_str().unwrap_or_default();
        let aborted = v["terminal_reason"].as_str().is_some_and(|r| r.contains("abort"));
        self.state.outcome = Some(if !is_error && subtype == "success" {
            Outcome::Succeeded
        } else if self.interrupted || aborted {
            Outcome::Cancelled
        } else {
            let reason = if !text.trim().is_empty() {
                text.to_string()
            } else if let Some(err) = self.state.last_error.clone() {
                err
            } else {
                format!("agent ended with {subtype}")
            };
            out.push(self.state.error(&reason));
            Outcome::Failed(reason)
        });
    }
}

/// Text of a tool result's `content`: a string or text blocks.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => {
            let texts: Vec<&str> = blocks.iter().filter_map(|b| b["text"].as_str()).collect();
            texts.join("\n")
        }
        _ => String::new(),
    }
}

impl AgentParser for ClaudeStreamParser {
    fn feed(&mut self, stream: Stream, line: &str) -> Vec<EventBody> {
        if stream == Stream::Stderr {
            if let Some(err) = stderr_error(line) {
                self.state.last_error = Some(err.to_string());
            }
            return Vec::new();
        }
        let Some(v) = json_line(line) else { return Vec::new() };
        let mut out = Vec::new();
        if let Some(id) = v["session_id"].as_str() {
            out.extend(self.state.session(id));
        }
        match v["type"].as_str() {
            Some("assistant") => self.assistant(&v, &mut out),
            Some("user") => self.user(&v, &mut out),
            Some("result") => self.result(&v, &mut out),
            Some("system") if v["subtype"] == "api_retry" => self.retry(&v, &mut out),
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
    fn argv_ends_with_the_prompt_after_double_dash() {
        let mut run = AgentRun::new("-rf \"$(x)\"\n`y`", Secret::new("sk-ant"));
        run.resume_session = Some("sess-1".into());
        run.base_url = Some("http://127.0.0.1:9".into());
        run.mcp_servers.push(McpServer {
            name: "docs".into(),
            transport: McpTransport::Remote {
                url: "https://mcp.example/mcp".into(),
                headers: BTreeMap::from([("Authorization".into(), "Bearer t".into())]),
            },
        });
        let inv = Claude.prepare(&run).unwrap();
        let install = SPEC.install_dir(Path::new("/opt/drydock/tools"));
        assert_eq!(inv.argv[0], install.join(NATIVE_BINARY).to_str().unwrap());
        assert!(install.to_str().unwrap().starts_with("/opt/drydock/tools/claude-2.1.197-"));
        assert_eq!(inv.argv[inv.argv.len() - 2..], ["--".to_string(), run.prompt.clone()]);
        assert!(inv.argv.windows(2).any(|w| w == ["--resume", "sess-1"]));
        assert!(inv
            .argv
            .windows(2)
            .any(|w| w == ["--mcp-config", "/home/agent/.drydock/claude-mcp.json"]));
        assert_eq!(inv.env["ANTHROPIC_API_KEY"], "sk-ant");
        assert_eq!(inv.env["ANTHROPIC_BASE_URL"], "http://127.0.0.1:9");
        assert_eq!(inv.env["IS_SANDBOX"], "1");
        assert_eq!(inv.env["CLAUDE_CONFIG_DIR"], "/home/agent/.claude");
        let cfg: Value = serde_json::from_str(&inv.files[0].contents).unwrap();
        assert_eq!(cfg["mcpServers"]["docs"]["headers"]["Authorization"], "Bearer t");
        assert_eq!(cfg["mcpServers"]["docs"]["type"], "http");
    }
}
