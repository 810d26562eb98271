//! OpenAI Codex CLI (`@openai/codex`, a Rust binary behind a node launcher).
//!
//! Headless: `codex exec --json --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox
//! -m M [resume <id>] -- <prompt>`. Codex 0.169 ignores `OPENAI_BASE_URL` for its built-in
//! provider, so `$CODEX_HOME/config.toml` declares a `drydock` provider (`base_url`, key read
//! from `OPENAI_API_KEY`, Responses wire API) and the MCP servers (`[mcp_servers.<name>]`).
//! Analytics and plugin sync are off: offline they each cost seconds at exit.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value;
use shared::agents::{AgentKind, KeyProvider};
use shared::events::{EventBody, LogLevel, Stream};

use super::summary::{patch_summary, relative, strip_shell_wrapper, summarize};
use super::{
    base_env, check_mcp_names, clip, json_line, path_str, stderr_error, AgentError, AgentParser,
    AgentPaths, AgentRun, AgentSpec, AgentStrategy, ConfigFile, Invocation, McpTransport, Outcome,
    ParseState,
};

static SPEC: AgentSpec = AgentSpec {
    kind: AgentKind::Codex,
    display_name: "OpenAI Codex CLI",
    package: Some("@openai/codex"),
    version: "0.169.0",
    binary: "node_modules/.bin/codex",
    provider: KeyProvider::Openai,
    // A slug codex's bundled catalogue knows: unknown slugs lose the apply_patch tool.
    default_model: "gpt-5.5",
    models: &["gpt-5.5"],
    install_scripts: false,
};

/// The Codex CLI strategy.
#[derive(Debug)]
pub struct Codex;

impl AgentStrategy for Codex {
    fn spec(&self) -> &'static AgentSpec {
        &SPEC
    }

    fn prepare(&self, run: &AgentRun) -> Result<Invocation, AgentError> {
        check_mcp_names(&run.mcp_servers)?;
        let model = run.model_or(&SPEC).to_string();
        let mut env = base_env(&SPEC, run)?;
        env.insert("CODEX_HOME".into(), path_str(&run.paths.home.join(".codex")));
        env.insert("OPENAI_API_KEY".into(), run.api_key.expose().to_string());
        let config = config_toml(run, &model);
        let mut argv = vec![
            path_str(&self.binary_path(&run.paths.tools)),
            "exec".into(),
            "--json".into(),
            "--skip-git-repo-check".into(),
            "--dangerously-bypass-approvals-and-sandbox".into(),
            "-m".into(),
            model,
        ];
        if let Some(session) = &run.resume_session {
            argv.extend(["resume".into(), session.clone()]);
        }
        argv.extend(["--".into(), run.prompt.clone()]);
        Ok(Invocation {
            argv,
            env,
            files: vec![ConfigFile { path: ".codex/config.toml".into(), contents: config }],
            cwd: run.paths.repo.clone(),
        })
    }

    fn parser(&self, paths: &AgentPaths) -> Box<dyn AgentParser> {
        Box::new(CodexParser {
            state: ParseState::default(),
            repo: paths.repo.clone(),
            started: HashSet::new(),
        })
    }
}

fn config_toml(run: &AgentRun, model: &str) -> String {
    let base_url = run.base_url.as_deref().unwrap_or("https://api.openai.com/v1");
    let mut out = String::new();
    let _ = writeln!(out, "model = {}", toml_str(model));
    out.push_str(
        "model_provider = \"drydock\"\napproval_policy = \"never\"\n\
         sandbox_mode = \"danger-full-access\"\ncheck_for_update_on_startup = false\n\n",
    );
    let _ = writeln!(
        out,
        "[model_providers.drydock]\nname = \"drydock\"\nbase_url = {}\nenv_key = \"OPENAI_API_KEY\"\n\
         wire_api = \"responses\"\n",
        toml_str(base_url)
    );
    if let Some(n) = run.max_retries {
        let _ = writeln!(out, "request_max_retries = {n}\nstream_max_retries = {n}\n");
    }
    out.push_str("[analytics]\nenabled = false\n\n[features]\nplugins = false\napps = false\nremote_plugin = false\n");
    for server in &run.mcp_servers {
        let _ = writeln!(out, "\n[mcp_servers.{}]", server.name);
        match &server.transport {
            McpTransport::Local { command, args, env } => {
                let args: Vec<String> = args.iter().map(|a| toml_str(a)).collect();
                let _ =
                    writeln!(out, "command = {}\nargs = [{}]", toml_str(command), args.join(", "));
                let _ = writeln!(out, "env = {}", inline_table(env));
            }
            McpTransport::Remote { url, headers } => {
                let _ = writeln!(
                    out,
                    "url = {}\nhttp_headers = {}",
                    toml_str(url),
                    inline_table(headers)
                );
            }
        }
    }
    out
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn inline_table(map: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> =
        map.iter().map(|(k, v)| format!("{} = {}", toml_str(k), toml_str(v))).collect();
    format!("{{ {} }}", pairs.join(", "))
}

/// Parser of `codex exec --json`: `thread.started`, `turn.started`, `item.started`/`completed`
/// (agent_message, command_execution, file_change, mcp_tool_call, ...), `turn.completed`,
/// `turn.failed`, `error`.
#[derive(Debug)]
struct CodexParser {
    state: ParseState,
    repo: PathBuf,
    /// Items whose start was reported, so their completion does not repeat the call.
    started: HashSet<String>,
}

impl CodexParser {
    fn call(&mut self, item: &Value) -> Option<EventBody> {
        let id = item["id"].as_str().unwrap_or_default().to_string();
        let (tool, summary) = match item["type"].as_str()? {
            "command_execution" => {
                let cmd = strip_shell_wrapper(item["command"].as_str().unwrap_or_default());
                (
                    "shell".to_string(),
                    summarize("shell", &serde_json::json!({"command": cmd}), &self.repo),
                )
            }
            "file_change" => {
                let files: Vec<String> = item["changes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c["path"].as_str())
                    .map(|p| relative(p, &self.repo))
                    .collect();
                let summary = if files.is_empty() {
                    patch_summary("", &self.repo)
                } else {
                    format!("Editing {}", files.join(", "))
                };
                ("apply_patch".to_string(), summary)
            }
            "mcp_tool_call" => {
                let tool = format!(
                    "{}.{}",
                    item["server"].as_str().unwrap_or("mcp"),
                    item["tool"].as_str().unwrap_or("tool")
                );
                let summary = format!("Calling {tool}");
                (tool, summary)
            }
            "web_search" => {
                let q = item["query"].as_str().unwrap_or_default();
                ("web_search".to_string(), format!("Searching the web: {q}"))
            }
            _ => return None,
        };
        if !self.started.insert(id.clone()) {
            return None;
        }
        Some(EventBody::ToolCall { tool, summary, call_id: Some(id).filter(|i| !i.is_empty()) })
    }

    fn completed(&mut self, item: &Value, out: &mut Vec<EventBody>) {
        let id = item["id"].as_str().map(str::to_string);
        match item["type"].as_str().unwrap_or_default() {
            "agent_message" => {
                out.extend(self.state.message(item["text"].as_str().unwrap_or_default()))
            }
            "error" => out.push(EventBody::Log {
                level: LogLevel::Warn,
                message: item["message"].as_str().unwrap_or_default().to_string(),
            }),
            kind @ ("command_execution" | "file_change" | "mcp_tool_call" | "web_search") => {
                out.extend(self.call(item));
                let status = item["status"].as_str().unwrap_or("completed");
                let ok = match kind {
                    "command_execution" => item["exit_code"].as_i64() == Some(0),
                    "mcp_tool_call" => item["error"].is_null() && status == "completed",
                    _ => status == "completed",
                };
                let output = match kind {
                    "command_execution" => item["aggregated_output"].as_str().map(clip),
                    "mcp_tool_call" => item
                        .pointer("/error/message")
                        .and_then(Value::as_str)
                        .map(clip)
                        .or_else(|| Some(clip(&item["result"].to_string()))),
                    _ => None,
                };
                out.push(EventBody::ToolResult { call_id: id, ok, output });
            }
            _ => {}
        }
    }
}

impl AgentParser for CodexParser {
    fn feed(&mut self, stream: Stream, line: &str) -> Vec<EventBody> {
        if stream == Stream::Stderr {
            if let Some(err) = stderr_error(line) {
                self.state.last_error = Some(err.to_string());
            }
            return Vec::new();
        }
        let Some(v) = json_line(line) else { return Vec::new() };
        let mut out = Vec::new();
        match v["type"].as_str().unwrap_or_default() {
            "thread.started" => {
                out.extend(self.state.session(v["thread_id"].as_str().unwrap_or_default()))
            }
            "item.started" => out.extend(self.call(&v["item"])),
            "item.completed" => self.completed(&v["item"], &mut out),
            "turn.completed" => {
                self.state.saw_result = true;
                let usage = &v["usage"];
                out.push(EventBody::Usage {
                    input_tokens: usage["input_tokens"].as_u64(),
                    output_tokens: usage["output_tokens"].as_u64(),
                    cost_usd: None,
                });
                self.state.outcome = Some(Outcome::Succeeded);
            }
            "turn.failed" => {
                self.state.saw_result = true;
                let reason = v
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| self.state.last_error.clone())
                    .unwrap_or_else(|| "codex turn failed".into());
                out.push(self.state.error(&reason));
                self.state.outcome = Some(Outcome::Failed(reason));
            }
            "error" => {
                // Transient (e.g. "Reconnecting... 1/5"): a warning now, the reason if the turn
                // then fails.
                let message = v["message"].as_str().unwrap_or_default().to_string();
                self.state.last_error = Some(message.clone());
                out.push(EventBody::Log { level: LogLevel::Warn, message });
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

    #[test]
    fn config_declares_provider_and_mcp_servers() {
        let mut run = AgentRun::new("p", Secret::new("sk-x"));
        run.base_url = Some("http://127.0.0.1:1/v1".into());
        run.mcp_servers = vec![
            McpServer {
                name: "local".into(),
                transport: McpTransport::Local {
                    command: "/bin/srv".into(),
                    args: vec!["a \"q\"".into()],
                    env: BTreeMap::from([("TOKEN".into(), "t\\1".into())]),
                },
            },
            McpServer {
                name: "remote".into(),
                transport: McpTransport::Remote {
                    url: "https://m/mcp".into(),
                    headers: BTreeMap::from([("Authorization".into(), "Bearer z".into())]),
                },
            },
        ];
        run.resume_session = Some("th-1".into());
        let inv = Codex.prepare(&run).unwrap();
        let toml = &inv.files[0].contents;
        assert!(toml.contains("base_url = \"http://127.0.0.1:1/v1\""));
        assert!(
            toml.contains("[mcp_servers.local]\ncommand = \"/bin/srv\"\nargs = [\"a \\\"q\\\"\"]")
        );
        assert!(toml.contains("env = { \"TOKEN\" = \"t\\\\1\" }"));
        assert!(toml.contains("http_headers = { \"Authorization\" = \"Bearer z\" }"));
        assert!(!toml.contains("sk-x"), "the key stays in the environment");
        let n = inv.argv.len();
        assert_eq!(inv.argv[n - 4..], ["resume", "th-1", "--", "p"]);
    }
}
