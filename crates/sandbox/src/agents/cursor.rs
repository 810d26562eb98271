//! Cursor CLI (`cursor-agent`).
//!
//! Not on npm: Cursor ships it through its own install script, which downloads from Cursor's
//! servers, and this deployment only reaches package registries. So [`AgentStrategy::install`]
//! fails with a clear "not installable here" error, and everything else is built from Cursor's
//! documented headless interface, unverified against a real binary:
//! `cursor-agent -p --force --output-format stream-json --model M [--resume <id>] <prompt>`,
//! key in `CURSOR_API_KEY`, MCP servers in `~/.cursor/mcp.json`.
//!
//! Stream format: `system/init` (session id), `user`, `assistant` (text segments),
//! `tool_call` `started`/`completed` with one `<kind>ToolCall` object holding `args` and, when
//! completed, `result.success` or `result.error`, and `result` (`subtype`, `is_error`, `result`).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use shared::agents::{AgentKind, KeyProvider};
use shared::events::{EventBody, Stream};

use super::summary::summarize;
use super::{
    base_env, check_mcp_names, clip, json_line, mcp_servers_json, path_str, stderr_error,
    AgentError, AgentParser, AgentPaths, AgentRun, AgentSpec, AgentStrategy, ConfigFile,
    InstalledAgent, Invocation, McpTransport, Outcome, ParseState,
};

static SPEC: AgentSpec = AgentSpec {
    kind: AgentKind::Cursor,
    display_name: "Cursor CLI",
    package: None,
    // The build the documented stream-json format was taken from; not verifiable here.
    version: "2025.11.25",
    binary: "cursor-agent",
    provider: KeyProvider::Cursor,
    default_model: "auto",
    models: &["auto", "sonnet-4.5", "gpt-5"],
    install_scripts: false,
};

/// The Cursor CLI strategy.
#[derive(Debug)]
pub struct Cursor;

impl AgentStrategy for Cursor {
    fn spec(&self) -> &'static AgentSpec {
        &SPEC
    }

    fn install(
        &self,
        _tools_dir: &Path,
        _progress: &mut dyn FnMut(&str),
    ) -> Result<InstalledAgent, AgentError> {
        Err(AgentError::NotInstallable {
            agent: "cursor",
            reason: "Cursor's CLI is not published on npm; its install script downloads from \
                     Cursor's own servers, which this host cannot reach"
                .into(),
        })
    }

    fn prepare(&self, run: &AgentRun) -> Result<Invocation, AgentError> {
        check_mcp_names(&run.mcp_servers)?;
        let mut env = base_env(&SPEC, run)?;
        env.insert("CURSOR_API_KEY".into(), run.api_key.expose().to_string());
        let mcp = json!({"mcpServers": mcp_servers_json(&run.mcp_servers, mcp_entry)});
        let mut argv = vec![
            path_str(&self.binary_path(&run.paths.tools)),
            "-p".into(),
            "--force".into(),
            "--output-format".into(),
            "stream-json".into(),
            "--model".into(),
            run.model_or(&SPEC).to_string(),
        ];
        if let Some(session) = &run.resume_session {
            argv.extend(["--resume".into(), session.clone()]);
        }
        argv.push(run.prompt.clone());
        Ok(Invocation {
            argv,
            env,
            files: vec![ConfigFile { path: ".cursor/mcp.json".into(), contents: mcp.to_string() }],
            cwd: run.paths.repo.clone(),
        })
    }

    fn parser(&self, paths: &AgentPaths) -> Box<dyn AgentParser> {
        Box::new(CursorParser { state: ParseState::default(), repo: paths.repo.clone() })
    }
}

fn mcp_entry(t: &McpTransport) -> Value {
    match t {
        McpTransport::Local { command, args, env } => {
            json!({"command": command, "args": args, "env": env})
        }
        McpTransport::Remote { url, headers } => json!({"url": url, "headers": headers}),
    }
}

#[derive(Debug)]
struct CursorParser {
    state: ParseState,
    repo: PathBuf,
}

impl CursorParser {
    /// `{"readToolCall": {"args": …, "result": …}}` → (`read`, the inner object); a generic
    /// `{"function": {"name", "arguments"}}` → (its name, `{"args": parsed arguments}`).
    fn tool(call: &Value) -> (String, Value) {
        let Some((key, inner)) = call.as_object().and_then(|o| o.iter().next()) else {
            return ("tool".into(), Value::Null);
        };
        if key == "function" {
            let name = inner["name"].as_str().unwrap_or("function").to_string();
            let args = inner["arguments"]
                .as_str()
                .and_then(|a| serde_json::from_str(a).ok())
                .unwrap_or_else(|| inner["arguments"].clone());
            return (name, json!({"args": args, "result": inner["result"]}));
        }
        (key.trim_end_matches("ToolCall").to_string(), inner.clone())
    }
}

impl AgentParser for CursorParser {
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
        match v["type"].as_str().unwrap_or_default() {
            "assistant" => {
                let texts: Vec<&str> = v
                    .pointer("/message/content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|b| b["text"].as_str())
                    .collect();
                out.extend(self.state.message(&texts.concat()));
            }
            "tool_call" => {
                let (tool, inner) = Self::tool(&v["tool_call"]);
                let call_id = v["call_id"].as_str().map(str::to_string);
                match v["subtype"].as_str() {
                    Some("started") => {
                        let summary =
                            summarize(&format!("{tool}ToolCall"), &inner["args"], &self.repo);
                        let summary = if summary.starts_with("Using ") {
                            summarize(&tool, &inner["args"], &self.repo)
                        } else {
                            summary
                        };
                        out.push(EventBody::ToolCall { tool, summary, call_id });
                    }
                    Some("completed") => {
                        let result = &inner["result"];
                        let ok = result.get("success").is_some() && result.get("error").is_none();
                        let output = if ok {
                            let s = &result["success"];
                            s["content"].as_str().or_else(|| s["output"].as_str()).map(clip)
                        } else {
                            let e = &result["error"];
                            e["message"].as_str().or_else(|| e["error"].as_str()).map(clip)
                        };
                        out.push(EventBody::ToolResult { call_id, ok, output });
                    }
                    _ => {}
                }
            }
            "result" => {
                self.state.saw_result = true;
                let text = v["result"].as_str().unwrap_or_default();
                if !text.trim().is_empty() {
                    self.state.final_message = Some(text.to_string());
                }
                let failed = v["is_error"].as_bool().unwrap_or(false) || v["subtype"] != "success";
                self.state.outcome = Some(if failed {
                    let reason = Some(text.to_string())
                        .filter(|t| !t.trim().is_empty())
                        .or_else(|| self.state.last_error.clone())
                        .unwrap_or_else(|| "cursor-agent reported an error".into());
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
    fn install_is_refused_with_a_clear_reason() {
        let err = Cursor.install(Path::new("/tmp/none"), &mut |_| {}).unwrap_err();
        assert!(err.to_string().starts_with("cursor cannot be installed here"));
    }

    #[test]
    fn argv_and_env() {
        let mut run = AgentRun::new("fix it", Secret::new("cur-key"));
        run.resume_session = Some("chat-1".into());
        let inv = Cursor.prepare(&run).unwrap();
        assert_eq!(inv.argv.last().unwrap(), "fix it");
        assert!(inv.argv.windows(2).any(|w| w == ["--resume", "chat-1"]));
        assert_eq!(inv.env["CURSOR_API_KEY"], "cur-key");
        assert_eq!(inv.files[0].path, PathBuf::from(".cursor/mcp.json"));
    }
}
