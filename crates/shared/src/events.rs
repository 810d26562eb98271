//! The normalised task event model: an append-only log per task, `seq` strictly increasing.
//!
//! On the wire an event is `{"seq", "at", "kind", "payload"}`; in the database `kind` and
//! `payload` are columns of their own, so the adjacently tagged enum maps onto both.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::sandboxes::{SandboxAction, WarningKind};
use crate::tasks::{TaskStage, TaskStatus};

/// One stored event of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskEvent {
    /// Position in the task's log, starting at 1, strictly increasing, never reused.
    pub seq: i64,
    /// When the event was recorded.
    pub at: DateTime<Utc>,
    /// What happened.
    #[serde(flatten)]
    pub body: EventBody,
}

/// Severity of a [`EventBody::Log`] line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// Routine progress.
    Info,
    /// Something odd that did not stop the run.
    Warn,
    /// A failure.
    Error,
}

/// Which output stream a raw line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// The kinds of event and their payloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum EventBody {
    /// The task's public status changed. A terminal status is the last event of a run.
    Status {
        /// The new status.
        status: TaskStatus,
        /// Why the run failed or stopped, for `error` and `stopped`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The run entered a new stage.
    Stage {
        /// The new stage.
        stage: TaskStage,
    },
    /// A line of progress from Drydock itself.
    Log {
        /// Severity.
        level: LogLevel,
        /// The message, secrets redacted.
        message: String,
    },
    /// A command Drydock ran in the sandbox.
    Command {
        /// The argv, secrets redacted.
        argv: Vec<String>,
        /// Exit code; absent when killed by a signal.
        #[serde(default)]
        exit_code: Option<i32>,
        /// Wall time in milliseconds.
        duration_ms: u64,
    },
    /// Text the agent wrote for the user (markdown).
    AgentMessage {
        /// The text.
        text: String,
    },
    /// The agent invoked a tool.
    ToolCall {
        /// The tool's own name (`Write`, `bash`, `apply_patch`, ...).
        tool: String,
        /// A human summary such as "Editing src/main.rs" or "Running: cargo test".
        summary: String,
        /// The agent's id for the call, to pair it with its result.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<String>,
    },
    /// A tool finished.
    ToolResult {
        /// The id of the call this answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<String>,
        /// Whether the tool reported success.
        ok: bool,
        /// The start of the tool's output.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<String>,
    },
    /// A file in the workspace changed.
    FileChange {
        /// Path relative to the repository root.
        path: String,
        /// `added`, `modified`, `deleted` or `renamed`.
        change: String,
    },
    /// Token usage and cost the agent reported.
    Usage {
        /// Input tokens.
        #[serde(default)]
        input_tokens: Option<u64>,
        /// Output tokens.
        #[serde(default)]
        output_tokens: Option<u64>,
        /// Cost in US dollars.
        #[serde(default)]
        cost_usd: Option<f64>,
    },
    /// The agent's session id, used to resume it.
    Session {
        /// The CLI's own session id.
        session_id: String,
    },
    /// Something failed.
    Error {
        /// What failed, for a person to read.
        message: String,
    },
    /// A connection (or, on a broker route, a request) the sandbox made through Drydock's
    /// egress proxy, reported when it ends; a refused one is reported at once.
    Network {
        /// The host asked for (a name or an address literal).
        host: String,
        /// The port asked for.
        port: u16,
        /// The address actually connected to, when a connection was made.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
        /// Whether the egress policy let it through.
        allowed: bool,
        /// Why it was refused, or what failed after it was allowed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// The broker route (`anthropic`, `mcp/<name>`, ...) for credential-brokered requests.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        route: Option<String>,
        /// Bytes sent from the sandbox upstream.
        #[serde(default)]
        bytes_up: u64,
        /// Bytes sent from upstream to the sandbox.
        #[serde(default)]
        bytes_down: u64,
    },
    /// Something happened to the task's live sandbox (started, stopped, extended, ...).
    Sandbox {
        /// What happened.
        action: SandboxAction,
        /// For a person to read.
        message: String,
        /// The sandbox's expiry afterwards, when it has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<DateTime<Utc>>,
    },
    /// A deadline is near (one minute by default): emitted once per deadline.
    Warning {
        /// Which deadline.
        warning: WarningKind,
        /// When it falls.
        deadline: DateTime<Utc>,
        /// For a person to read.
        message: String,
    },
    /// The owner gave the running agent more time: the run's time limit moved to `deadline`.
    RunExtended {
        /// When the run's time limit falls now.
        deadline: DateTime<Utc>,
        /// For a person to read.
        message: String,
    },
    /// A line the task's dev server wrote (the logs pane's "Server" filter).
    ServerOutput {
        /// Which stream it came from.
        stream: Stream,
        /// The line, secrets redacted.
        line: String,
    },
    /// A raw output line of the agent, kept so normalisation can be re-run.
    Raw {
        /// Which stream it came from.
        stream: Stream,
        /// The line, secrets redacted.
        line: String,
    },
}

impl EventBody {
    /// The `kind` tag as stored in the database.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Status { .. } => "status",
            Self::Stage { .. } => "stage",
            Self::Log { .. } => "log",
            Self::Command { .. } => "command",
            Self::AgentMessage { .. } => "agent_message",
            Self::ToolCall { .. } => "tool_call",
            Self::ToolResult { .. } => "tool_result",
            Self::FileChange { .. } => "file_change",
            Self::Usage { .. } => "usage",
            Self::Session { .. } => "session",
            Self::Error { .. } => "error",
            Self::Network { .. } => "network",
            Self::Sandbox { .. } => "sandbox",
            Self::Warning { .. } => "warning",
            Self::RunExtended { .. } => "run_extended",
            Self::ServerOutput { .. } => "server_output",
            Self::Raw { .. } => "raw",
        }
    }

    /// Calls `f` on every free-text field (messages, argv, tool output, paths), so secrets can be
    /// masked without a round trip through JSON.
    pub fn for_each_text_mut(&mut self, mut f: impl FnMut(&mut String)) {
        match self {
            Self::Status { reason, .. } => reason.iter_mut().for_each(f),
            Self::Stage { .. } | Self::Usage { .. } => {}
            Self::Log { message, .. }
            | Self::Error { message }
            | Self::Sandbox { message, .. }
            | Self::Warning { message, .. }
            | Self::RunExtended { message, .. } => f(message),
            Self::Command { argv, .. } => argv.iter_mut().for_each(f),
            Self::AgentMessage { text } => f(text),
            Self::ToolCall { tool, summary, call_id } => {
                f(tool);
                f(summary);
                call_id.iter_mut().for_each(f);
            }
            Self::ToolResult { call_id, output, .. } => {
                call_id.iter_mut().for_each(&mut f);
                output.iter_mut().for_each(f);
            }
            Self::FileChange { path, change } => {
                f(path);
                f(change);
            }
            Self::Session { session_id } => f(session_id),
            Self::Network { host, address, reason, route, .. } => {
                f(host);
                address.iter_mut().for_each(&mut f);
                reason.iter_mut().for_each(&mut f);
                route.iter_mut().for_each(f);
            }
            Self::Raw { line, .. } | Self::ServerOutput { line, .. } => f(line),
        }
    }

    /// Whether this event ends a run: a terminal status.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Status { status, .. } if status.is_terminal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shape_is_kind_and_payload() {
        let body = EventBody::ToolCall {
            tool: "Write".into(),
            summary: "Editing a.txt".into(),
            call_id: None,
        };
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["kind"], "tool_call");
        assert_eq!(json["payload"]["summary"], "Editing a.txt");
        assert_eq!(body.kind(), "tool_call");
        let back: EventBody = serde_json::from_value(json).unwrap();
        assert_eq!(back, body);
    }

    #[test]
    fn every_text_field_is_visited() {
        let mut bodies = vec![
            EventBody::Log { level: LogLevel::Info, message: "s".into() },
            EventBody::Command {
                argv: vec!["s".into(), "s".into()],
                exit_code: None,
                duration_ms: 1,
            },
            EventBody::ToolCall {
                tool: "s".into(),
                summary: "s".into(),
                call_id: Some("s".into()),
            },
            EventBody::ToolResult { call_id: Some("s".into()), ok: true, output: Some("s".into()) },
            EventBody::Status { status: TaskStatus::Error, reason: Some("s".into()) },
            EventBody::Raw { stream: Stream::Stdout, line: "s".into() },
            EventBody::Network {
                host: "s".into(),
                port: 443,
                address: Some("s".into()),
                allowed: false,
                reason: Some("s".into()),
                route: Some("s".into()),
                bytes_up: 0,
                bytes_down: 0,
            },
        ];
        for body in &mut bodies {
            body.for_each_text_mut(|t| *t = "x".into());
            let json = serde_json::to_string(body).unwrap();
            assert!(!json.contains("\"s\""), "a text field was not visited: {json}");
        }
    }

    #[test]
    fn only_terminal_status_is_terminal() {
        let done = EventBody::Status { status: TaskStatus::Stopped, reason: None };
        let running = EventBody::Status { status: TaskStatus::Processing, reason: None };
        assert!(done.is_terminal());
        assert!(!running.is_terminal());
    }
}
