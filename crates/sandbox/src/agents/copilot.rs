//! GitHub Copilot CLI (`@github/copilot`).
//!
//! The npm launcher runs the native binary with `spawnSync` and does not forward signals, so the
//! platform package's native binary is run directly. Headless:
//! `copilot --prompt=<p> --allow-all --no-ask-user --output-format json --model M`.
//!
//! Two ways to authenticate:
//! - with a base URL: bring-your-own-key mode (`COPILOT_PROVIDER_BASE_URL`, `_API_KEY`,
//!   OpenAI-compatible Chat Completions) with `COPILOT_OFFLINE=true`, so no GitHub login,
//!   telemetry or GitHub MCP server;
//! - without: the key is a GitHub token with Copilot access (`COPILOT_GITHUB_TOKEN`). With
//!   [`AgentRun::github_endpoints`] (the credential broker) the CLI reaches GitHub at
//!   `COPILOT_DEBUG_GITHUB_API_URL` (only `copilot_internal/...` paths, joined to its origin)
//!   and the model at `COPILOT_API_URL` (which wins over the `endpoints.api` GitHub answers);
//!   its built-in GitHub MCP server, which would use the token for the whole GitHub API, is
//!   turned off (`--disable-builtin-mcps`).
//!
//! MCP servers go in a file passed with `--additional-mcp-config @<file>`.

use std::path::PathBuf;

use serde_json::{json, Value};
use shared::agents::{AgentKind, KeyProvider};
use shared::events::{EventBody, Stream};

use super::summary::summarize;
use super::{
    base_env, check_mcp_names, clip, json_line, mcp_servers_json, path_str, stderr_error,
    AgentError, AgentParser, AgentPaths, AgentRun, AgentSpec, AgentStrategy, ConfigFile,
    Invocation, McpTransport, Outcome, ParseState,
};

#[cfg(target_arch = "aarch64")]
const NATIVE_BINARY: &str = "node_modules/@github/copilot-linux-arm64/copilot";
#[cfg(not(target_arch = "aarch64"))]
const NATIVE_BINARY: &str = "node_modules/@github/copilot-linux-x64/copilot";

static SPEC: AgentSpec = AgentSpec {
    kind: AgentKind::Copilot,
    display_name: "GitHub Copilot CLI",
    package: Some("@github/copilot"),
    version: "1.0.102",
    binary: NATIVE_BINARY,
    provider: KeyProvider::GithubCopilot,
    default_model: "claude-sonnet-4.5",
    models: &["claude-sonnet-4.5", "gpt-5", "gpt-4.1"],
    install_scripts: false,
};

const MCP_FILE: &str = ".drydock/copilot-mcp.json";

/// The Copilot CLI strategy.
#[derive(Debug)]
pub struct Copilot;

impl AgentStrategy for Copilot {
    fn spec(&self) -> &'static AgentSpec {
        &SPEC
    }

    fn prepare(&self, run: &AgentRun) -> Result<Invocation, AgentError> {
        check_mcp_names(&run.mcp_servers)?;
        let model = run.model_or(&SPEC).to_string();
        let home = &run.paths.home;
        let mut env = base_env(&SPEC, run)?;
        env.insert("COPILOT_HOME".into(), path_str(&home.join(".copilot")));
        env.insert("COPILOT_AUTO_UPDATE".into(), "false".into());
        env.insert("COPILOT_MODEL".into(), model.clone());
        let mut brokered_github = false;
        let secret_var = if let Some(url) = &run.base_url {
            env.insert("COPILOT_OFFLINE".into(), "true".into());
            env.insert("COPILOT_PROVIDER_BASE_URL".into(), url.clone());
            env.insert("COPILOT_PROVIDER_TYPE".into(), "openai".into());
            "COPILOT_PROVIDER_API_KEY"
        } else {
            if let Some(endpoints) = &run.github_endpoints {
                env.insert("COPILOT_DEBUG_GITHUB_API_URL".into(), endpoints.api_url.clone());
                env.insert("COPILOT_API_URL".into(), endpoints.copilot_api_url.clone());
                brokered_github = true;
            }
            "COPILOT_GITHUB_TOKEN"
        };
        env.insert(secret_var.into(), run.api_key.expose().to_string());
        let mcp = json!({"mcpServers": mcp_servers_json(&run.mcp_servers, mcp_entry)});
        let mut argv = vec![
            path_str(&self.binary_path(&run.paths.tools)),
            // `=` keeps a prompt that starts with `-` from being read as an option.
            format!("--prompt={}", run.prompt),
            "--allow-all".into(),
            "--no-ask-user".into(),
            "--output-format".into(),
            "json".into(),
            "--no-auto-update".into(),
            "--disable-client-telemetry".into(),
            "--model".into(),
            model,
            // Strips the key from the environment of the agent's shell and MCP servers.
            format!("--secret-env-vars={secret_var}"),
            format!("--additional-mcp-config=@{}", path_str(&home.join(MCP_FILE))),
        ];
        if brokered_github {
            argv.push("--disable-builtin-mcps".into());
        }
        if let Some(session) = &run.resume_session {
            argv.push(format!("--resume={session}"));
        }
        Ok(Invocation {
            argv,
            env,
            files: vec![ConfigFile { path: MCP_FILE.into(), contents: mcp.to_string() }],
            cwd: run.paths.repo.clone(),
        })
    }

    fn parser(&self, paths: &AgentPaths) -> Box<dyn AgentParser> {
        Box::new(CopilotParser {
            state: ParseState::default(),
            repo: paths.repo.clone(),
            aborted: false,
        })
    }
}

fn mcp_entry(t: &McpTransport) -> Value {
    match t {
        McpTransport::Local { command, args, env } => {
            json!({"type": "local", "command": command, "args": args, "env": env, "tools": ["*"]})
        }
        McpTransport::Remote { url, headers } => {
            json!({"type": "http", "url": url, "headers": headers, "tools": ["*"]})
        }
    }
}

/// Parser of `copilot --output-format json`: about 40 event types per turn; the ones used are
/// `assistant.message` (text and tool requests), `tool.execution_complete`, `assistant.idle`
/// (`aborted` on cancel), `session.error` and the final `result` (session id, exit code).
#[derive(Debug)]
struct CopilotParser {
    state: ParseState,
    repo: PathBuf,
    aborted: bool,
}

impl AgentParser for CopilotParser {
    fn feed(&mut self, stream: Stream, line: &str) -> Vec<EventBody> {
        if stream == Stream::Stderr {
            if let Some(err) = stderr_error(line) {
                self.state.last_error = Some(err.to_string());
            }
            return Vec::new();
        }
        let Some(v) = json_line(line) else { return Vec::new() };
        let data = &v["data"];
        let mut out = Vec::new();
        match v["type"].as_str().unwrap_or_default() {
            "assistant.message" => {
                out.extend(self.state.message(data["content"].as_str().unwrap_or_default()));
                for req in data["toolRequests"].as_array().into_iter().flatten() {
                    let tool = req["name"].as_str().unwrap_or("tool").to_string();
                    // Function arguments arrive as a JSON string; freeform ones as plain text.
                    let args = match &req["arguments"] {
                        Value::String(s) => {
                            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
                        }
                        other => other.clone(),
                    };
                    let summary = summarize(&tool, &args, &self.repo);
                    let call_id = req["toolCallId"].as_str().map(str::to_string);
                    out.push(EventBody::ToolCall { tool, summary, call_id });
                }
            }
            "tool.execution_complete" => {
                let output = data
                    .pointer("/result/content")
                    .and_then(Value::as_str)
                    .or_else(|| data.pointer("/error/message").and_then(Value::as_str))
                    .map(clip);
                out.push(EventBody::ToolResult {
                    call_id: data["toolCallId"].as_str().map(str::to_string),
                    ok: data["success"].as_bool().unwrap_or(false),
                    output,
                });
            }
            "assistant.idle" => self.aborted |= data["aborted"].as_bool().unwrap_or(false),
            "session.error" => {
                let message =
                    data["message"].as_str().unwrap_or("copilot session error").to_string();
                out.push(self.state.error(&message));
            }
            "result" => {
                self.state.saw_result = true;
                out.extend(self.state.session(v["sessionId"].as_str().unwrap_or_default()));
                let exit = v["exitCode"].as_i64().unwrap_or(0);
                self.state.outcome = Some(if self.aborted {
                    Outcome::Cancelled
                } else if let Some(err) = self.state.last_error.clone().filter(|_| exit != 0) {
                    Outcome::Failed(err)
                } else if exit != 0 {
                    let reason = format!("copilot exited with code {exit}");
                    out.push(self.state.error(&reason));
                    Outcome::Failed(reason)
                } else {
                    Outcome::Succeeded
                });
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
    use crate::agents::Secret;

    #[test]
    fn byok_with_base_url_and_github_token_without() {
        let mut run = AgentRun::new("-x", Secret::new("k1"));
        let inv = Copilot.prepare(&run).unwrap();
        assert_eq!(inv.env["COPILOT_GITHUB_TOKEN"], "k1");
        assert!(!inv.env.contains_key("COPILOT_OFFLINE"));
        assert_eq!(inv.argv[1], "--prompt=-x");
        assert!(inv.argv[0].ends_with("/copilot"));
        run.base_url = Some("http://127.0.0.1:5/v1".into());
        let inv = Copilot.prepare(&run).unwrap();
        assert_eq!(inv.env["COPILOT_PROVIDER_API_KEY"], "k1");
        assert_eq!(inv.env["COPILOT_OFFLINE"], "true");
        assert!(inv.argv.contains(&"--secret-env-vars=COPILOT_PROVIDER_API_KEY".to_string()));
    }

    #[test]
    fn a_brokered_github_token_points_the_cli_at_the_broker() {
        let mut run = AgentRun::new("p", Secret::new("gho_drydockplaceholder"));
        let inv = Copilot.prepare(&run).unwrap();
        assert!(!inv.env.contains_key("COPILOT_API_URL"), "the public endpoints by default");
        assert!(!inv.argv.contains(&"--disable-builtin-mcps".to_string()));
        run.github_endpoints = Some(crate::agents::GithubEndpoints {
            api_url: "http://127.0.0.1:3128".into(),
            copilot_api_url: "http://127.0.0.1:3128/github-copilot".into(),
        });
        let inv = Copilot.prepare(&run).unwrap();
        assert_eq!(inv.env["COPILOT_GITHUB_TOKEN"], "gho_drydockplaceholder");
        assert_eq!(inv.env["COPILOT_DEBUG_GITHUB_API_URL"], "http://127.0.0.1:3128");
        assert_eq!(inv.env["COPILOT_API_URL"], "http://127.0.0.1:3128/github-copilot");
        assert!(!inv.env.contains_key("COPILOT_OFFLINE"));
        assert!(inv.argv.contains(&"--disable-builtin-mcps".to_string()));
        assert!(inv.argv.contains(&"--secret-env-vars=COPILOT_GITHUB_TOKEN".to_string()));
    }
}
