//! Gemini CLI (`@google/gemini-cli`, node).
//!
//! Headless: `gemini --prompt=<p> --yolo --output-format stream-json -m M --skip-trust`.
//! Key in `GEMINI_API_KEY`, base URL in `GOOGLE_GEMINI_BASE_URL`; settings (auth type, no
//! auto-update, no telemetry, MCP servers) in `~/.gemini/settings.json`; resume with
//! `--resume <session_id>`. A model is always passed, so the `auto` router's extra classifier
//! call is skipped.

use std::path::PathBuf;

use serde_json::{json, Value};
use shared::agents::{AgentKind, KeyProvider};
use shared::events::{EventBody, Stream};

use super::summary::summarize;
use super::{
    base_env, check_mcp_names, clip, json_line, mcp_servers_json, path_str, qwen, stderr_error,
    AgentError, AgentParser, AgentPaths, AgentRun, AgentSpec, AgentStrategy, ConfigFile,
    Invocation, Outcome, ParseState,
};

static SPEC: AgentSpec = AgentSpec {
    kind: AgentKind::Gemini,
    display_name: "Gemini CLI",
    package: Some("@google/gemini-cli"),
    version: "0.61.0",
    binary: "node_modules/.bin/gemini",
    provider: KeyProvider::Gemini,
    default_model: "gemini-2.5-pro",
    models: &["gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite"],
    install_scripts: false,
};

/// The Gemini CLI strategy.
#[derive(Debug)]
pub struct Gemini;

impl AgentStrategy for Gemini {
    fn spec(&self) -> &'static AgentSpec {
        &SPEC
    }

    fn prepare(&self, run: &AgentRun) -> Result<Invocation, AgentError> {
        check_mcp_names(&run.mcp_servers)?;
        let mut env = base_env(&SPEC, run)?;
        env.insert("GEMINI_API_KEY".into(), run.api_key.expose().to_string());
        if let Some(url) = &run.base_url {
            env.insert("GOOGLE_GEMINI_BASE_URL".into(), url.clone());
        }
        env.insert("GEMINI_CLI_TRUST_WORKSPACE".into(), "true".into());
        // Without it gemini re-launches itself as a child node process; the parent then
        // ignores a SIGINT sent to its pid alone.
        env.insert("GEMINI_CLI_NO_RELAUNCH".into(), "true".into());
        let settings = json!({
            "security": {"auth": {"selectedType": "gemini-api-key"}},
            "general": {"enableAutoUpdate": false, "enableAutoUpdateNotification": false},
            "telemetry": {"enabled": false},
            "privacy": {"usageStatisticsEnabled": false},
            "mcpServers": mcp_servers_json(&run.mcp_servers, qwen::mcp_entry),
        });
        // `--prompt=<p>` keeps a prompt that starts with `-` from being read as an option.
        let mut argv = vec![
            path_str(&self.binary_path(&run.paths.tools)),
            format!("--prompt={}", run.prompt),
            "--yolo".into(),
            "--skip-trust".into(),
            "--output-format".into(),
            "stream-json".into(),
            "-m".into(),
            run.model_or(&SPEC).to_string(),
        ];
        if let Some(session) = &run.resume_session {
            argv.push(format!("--resume={session}"));
        }
        Ok(Invocation {
            argv,
            env,
            files: vec![ConfigFile {
                path: ".gemini/settings.json".into(),
                contents: settings.to_string(),
            }],
            cwd: run.paths.repo.clone(),
        })
    }

    fn parser(&self, paths: &AgentPaths) -> Box<dyn AgentParser> {
        Box::new(GeminiParser {
            state: ParseState::default(),
            repo: paths.repo.clone(),
            pending: String::new(),
        })
    }
}

/// Parser of `gemini --output-format stream-json`: `init`, `message` (assistant text may come
/// as `delta` pieces), `tool_use`, `tool_result`, `error`, `result`.
#[derive(Debug)]
struct GeminiParser {
    state: ParseState,
    repo: PathBuf,
    /// Assistant text deltas not yet emitted as one message.
    pending: String,
}

impl GeminiParser {
    fn flush(&mut self) -> Vec<EventBody> {
        let text = std::mem::take(&mut self.pending);
        self.state.message(&text).into_iter().collect()
    }
}

impl AgentParser for GeminiParser {
    fn feed(&mut self, stream: Stream, line: &str) -> Vec<EventBody> {
        if stream == Stream::Stderr {
            if let Some(err) = stderr_error(line) {
                self.state.last_error = Some(err.to_string());
            }
            return Vec::new();
        }
        let Some(v) = json_line(line) else { return Vec::new() };
        let kind = v["type"].as_str().unwrap_or_default();
        if kind == "message" && v["role"] == "assistant" {
            let text = v["content"].as_str().unwrap_or_default();
            if v["delta"].as_bool().unwrap_or(false) {
                self.pending.push_str(text);
                return Vec::new();
            }
            let mut out = self.flush();
            out.extend(self.state.message(text));
            return out;
        }
        let mut out = self.flush();
        match kind {
            "init" => out.extend(self.state.session(v["session_id"].as_str().unwrap_or_default())),
            "tool_use" => {
                let tool = v["tool_name"].as_str().unwrap_or("tool").to_string();
                let summary = summarize(&tool, &v["parameters"], &self.repo);
                out.push(EventBody::ToolCall {
                    tool,
                    summary,
                    call_id: v["tool_id"].as_str().map(str::to_string),
                });
            }
            "tool_result" => {
                let output = v["output"]
                    .as_str()
                    .or_else(|| v.pointer("/error/message").and_then(Value::as_str))
                    .map(clip);
                out.push(EventBody::ToolResult {
                    call_id: v["tool_id"].as_str().map(str::to_string),
                    ok: v["status"] == "success",
                    output,
                });
            }
            "error" => {
                let message = v["message"].as_str().unwrap_or("unknown error").to_string();
                out.push(self.state.error(&message));
            }
            "result" => {
                self.state.saw_result = true;
                let stats = &v["stats"];
                if stats.is_object() {
                    out.push(EventBody::Usage {
                        input_tokens: stats["input_tokens"].as_u64(),
                        output_tokens: stats["output_tokens"].as_u64(),
                        cost_usd: None,
                    });
                }
                self.state.outcome = Some(if v["status"] == "success" {
                    Outcome::Succeeded
                } else {
                    let reason = v
                        .pointer("/error/message")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .or_else(|| self.state.last_error.clone())
                        .unwrap_or_else(|| "gemini reported an error".into());
                    out.push(self.state.error(&reason));
                    Outcome::Failed(reason)
                });
            }
            _ => {}
        }
        out
    }

    fn finish(&mut self) -> Vec<EventBody> {
        self.flush()
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
    use crate::agents::Secret;

    #[test]
    fn prompt_is_one_element_and_env_stops_relaunch() {
        let run = AgentRun::new("--help $(rm -rf /)", Secret::new("g-key"));
        let inv = Gemini.prepare(&run).unwrap();
        assert_eq!(inv.argv[1], "--prompt=--help $(rm -rf /)");
        assert_eq!(inv.env["GEMINI_CLI_NO_RELAUNCH"], "true");
        assert_eq!(inv.env["GEMINI_API_KEY"], "g-key");
        assert!(inv.argv.windows(2).any(|w| w == ["-m", "gemini-2.5-pro"]));
    }

    #[test]
    fn deltas_become_one_message() {
        let mut p = Gemini.parser(&AgentPaths::sandbox());
        let lines = [
            r#"{"type":"init","session_id":"s1","model":"m"}"#,
            r#"{"type":"message","role":"assistant","content":"Hel","delta":true}"#,
            r#"{"type":"message","role":"assistant","content":"lo","delta":true}"#,
            r#"{"type":"result","status":"success","stats":{"input_tokens":5,"output_tokens":2}}"#,
        ];
        let events: Vec<EventBody> = lines.iter().flat_map(|l| p.feed(Stream::Stdout, l)).collect();
        assert!(events.contains(&EventBody::AgentMessage { text: "Hello".into() }));
        assert_eq!(p.final_message(), Some("Hello"));
        assert_eq!(p.outcome(), Outcome::Succeeded);
        assert_eq!(p.session_id(), Some("s1"));
    }
}
