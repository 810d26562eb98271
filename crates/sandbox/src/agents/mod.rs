//! Agent strategies: one module per agent CLI.
//!
//! A strategy knows, for its CLI:
//! - the npm package and the pinned version, and how to install it once into the shared tool
//!   cache ([`AgentStrategy::install`], [`AgentStrategy::binary_path`]);
//! - how to run it headless ([`AgentStrategy::prepare`]): the argv (the prompt is always one argv
//!   element, never part of a shell string), the complete environment, and the config files to
//!   write before the run (MCP servers, provider settings);
//! - how to read its JSON output ([`AgentStrategy::parser`]): a stateful [`AgentParser`] that turns
//!   each output line into normalised [`EventBody`] values and decides the outcome.
//!
//! The worker runs [`Invocation::argv`] inside the sandbox with exactly [`Invocation::env`]
//! (nothing inherited), stdin `/dev/null`, cwd [`Invocation::cwd`], in its own process group, and
//! feeds every stdout and stderr line to the parser.
//!
//! **Raw lines are the caller's job.** Parsers never emit [`EventBody::Raw`]: the worker records
//! one `Raw` event per line itself (after redaction), then the parser's events. A line that does
//! not parse yields no events and never fails the run.

mod claude;
mod codex;
mod copilot;
mod cursor;
mod gemini;
mod install;
pub mod lockfile;
mod opencode;
mod qwen;
mod summary;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use shared::agents::{AgentKind, KeyProvider};
use shared::events::{EventBody, Stream};

pub use install::InstalledAgent;

/// Where things are for a run. Inside the sandbox these are fixed ([`AgentPaths::sandbox`]);
/// tests that run a CLI directly on the host use temporary directories instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPaths {
    /// `HOME` of the agent (persists for a kept-alive sandbox, so sessions can be resumed).
    pub home: PathBuf,
    /// The git checkout the agent works in; also its working directory.
    pub repo: PathBuf,
    /// The tool cache holding the installed CLIs (read-only in the sandbox).
    pub tools: PathBuf,
}

impl AgentPaths {
    /// The fixed paths inside a sandbox.
    pub fn sandbox() -> Self {
        Self {
            home: PathBuf::from("/home/agent"),
            repo: PathBuf::from("/workspace/repo"),
            tools: PathBuf::from("/opt/drydock/tools"),
        }
    }
}

/// An API key or token. Its `Debug` output is redacted so it cannot leak through logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How an MCP server is reached.
#[derive(Debug, Clone, PartialEq)]
pub enum McpTransport {
    /// A stdio server the CLI spawns inside the sandbox.
    Local {
        /// Executable.
        command: String,
        /// Arguments.
        args: Vec<String>,
        /// Extra environment for the server.
        env: BTreeMap<String, String>,
    },
    /// A streamable-HTTP server.
    Remote {
        /// Endpoint URL.
        url: String,
        /// Headers sent with every request (e.g. `Authorization`).
        headers: BTreeMap<String, String>,
    },
}

/// An MCP server (connector) to make available to the agent.
#[derive(Debug, Clone, PartialEq)]
pub struct McpServer {
    /// Name, unique within a run (letters, digits, `-`, `_`).
    pub name: String,
    /// How to reach it.
    pub transport: McpTransport,
}

/// Where a CLI that signs in with a GitHub token reaches GitHub and the Copilot API instead of
/// the public endpoints: the credential broker's routes, in a brokered sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubEndpoints {
    /// The GitHub REST API (an origin: the Copilot CLI drops any path).
    pub api_url: String,
    /// The Copilot API, where the model calls go.
    pub copilot_api_url: String,
}

/// Everything needed to prepare one agent turn.
#[derive(Debug, Clone)]
pub struct AgentRun {
    /// The user's prompt, passed verbatim.
    pub prompt: String,
    /// Model; `None` uses the strategy's default.
    pub model: Option<String>,
    /// The user's key for the agent's provider.
    pub api_key: Secret,
    /// Optional base URL of the model API (a gateway, a proxy, or a fake in tests).
    pub base_url: Option<String>,
    /// With a GitHub token as the key (Copilot without a base URL): where GitHub and the
    /// Copilot API are, when not the public ones.
    pub github_endpoints: Option<GithubEndpoints>,
    /// Session to resume (from [`AgentParser::session_id`] of an earlier turn).
    pub resume_session: Option<String>,
    /// MCP servers to configure.
    pub mcp_servers: Vec<McpServer>,
    /// How often the CLI may retry a failed model API call, where it has a knob for it
    /// (claude, codex); `None` keeps the CLI's default (several retries with backoff).
    pub max_retries: Option<u32>,
    /// Paths of the run.
    pub paths: AgentPaths,
}

impl AgentRun {
    /// A run with the sandbox paths and nothing optional set.
    pub fn new(prompt: impl Into<String>, api_key: Secret) -> Self {
        Self {
            prompt: prompt.into(),
            model: None,
            api_key,
            base_url: None,
            github_endpoints: None,
            resume_session: None,
            mcp_servers: Vec::new(),
            max_retries: None,
            paths: AgentPaths::sandbox(),
        }
    }

    fn model_or<'a>(&'a self, spec: &'a AgentSpec) -> &'a str {
        self.model.as_deref().filter(|m| !m.is_empty()).unwrap_or(spec.default_model)
    }
}

/// A file to write before the run.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// Relative paths are relative to `HOME`; absolute paths are used as they are.
    pub path: PathBuf,
    /// Contents. May hold secrets: write it mode 0600 and never log it.
    pub contents: String,
}

impl ConfigFile {
    /// The absolute path of the file for a given `HOME`.
    pub fn resolve(&self, home: &Path) -> PathBuf {
        if self.path.is_absolute() {
            self.path.clone()
        } else {
            home.join(&self.path)
        }
    }
}

impl fmt::Debug for ConfigFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigFile").field("path", &self.path).finish_non_exhaustive()
    }
}

/// A prepared headless run.
#[derive(Clone)]
pub struct Invocation {
    /// The argv; `argv[0]` is the CLI's absolute path.
    pub argv: Vec<String>,
    /// The complete environment (nothing else is inherited). Holds the API key.
    pub env: BTreeMap<String, String>,
    /// Config files to write first.
    pub files: Vec<ConfigFile>,
    /// Working directory (the repository).
    pub cwd: PathBuf,
}

impl fmt::Debug for Invocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invocation")
            .field("argv", &self.argv)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("files", &self.files)
            .field("cwd", &self.cwd)
            .finish()
    }
}

/// Static facts about an agent CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentSpec {
    /// Which agent.
    pub kind: AgentKind,
    /// The name people know it by ("Claude Code").
    pub display_name: &'static str,
    /// npm package (`None` when not distributed on npm).
    pub package: Option<&'static str>,
    /// The pinned version.
    pub version: &'static str,
    /// The binary, relative to the install directory `<tools>/<agent>-<version>`.
    pub binary: &'static str,
    /// Whose key the agent needs.
    pub provider: KeyProvider,
    /// Model used when the run names none.
    pub default_model: &'static str,
    /// Models offered in the catalogue.
    pub models: &'static [&'static str],
    /// Whether the package's npm lifecycle scripts must run at install. Off for every package
    /// that works without them: an install script is code from the registry running with the
    /// installer's rights.
    pub install_scripts: bool,
}

impl AgentSpec {
    /// Whether this server can install and run the CLI (Cursor's is not on npm).
    pub fn available(&self) -> bool {
        self.package.is_some()
    }

    /// The models offered, the default first.
    pub fn models_default_first(&self) -> Vec<&'static str> {
        let mut models = vec![self.default_model];
        models.extend(self.models.iter().copied().filter(|m| *m != self.default_model));
        models
    }

    /// `<tools>/<agent>-<version>-<lock fingerprint>`: a new lockfile installs afresh.
    pub fn install_dir(&self, tools_dir: &Path) -> PathBuf {
        let print =
            lockfile::lockfile(self.kind).map(|lock| lock.fingerprint()).unwrap_or_default();
        tools_dir.join(format!("{}-{}-{print}", self.kind.as_str(), self.version))
    }
}

/// How a run ended, judged from the event stream (exit codes are not uniform across CLIs,
/// especially after a cancel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The CLI reported a successful end of the turn.
    Succeeded,
    /// The CLI reported a failure.
    Failed(String),
    /// The CLI reported that it was interrupted.
    Cancelled,
    /// The stream ended without a verdict (killed, crashed, or a CLI that prints nothing on
    /// cancel): the worker decides from what it did and the exit status.
    Unknown,
}

/// Errors of the agent strategies.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The CLI cannot be installed on this host.
    #[error("{agent} cannot be installed here: {reason}")]
    NotInstallable {
        /// Agent name.
        agent: &'static str,
        /// Why.
        reason: String,
    },
    /// The npm install failed.
    #[error("installing {package}@{version} failed: {message}")]
    Install {
        /// Package.
        package: &'static str,
        /// Version.
        version: &'static str,
        /// What went wrong, with the tail of npm's output.
        message: String,
    },
    /// The run has no key for the agent's provider.
    #[error("{agent} needs an API key for the {provider} provider")]
    MissingKey {
        /// Agent name.
        agent: &'static str,
        /// Provider name.
        provider: &'static str,
    },
    /// Input that cannot be expressed safely (e.g. an MCP server name with odd characters).
    #[error("invalid agent input: {0}")]
    Invalid(String),
    /// Filesystem error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads one CLI's output stream. Feed it every line, stdout and stderr, in order.
pub trait AgentParser: Send {
    /// Normalises one line (without its newline). Never emits [`EventBody::Raw`] (see the
    /// module docs); returns nothing for lines it does not understand.
    fn feed(&mut self, stream: Stream, line: &str) -> Vec<EventBody>;

    /// Call once when both streams have closed: flushes buffered text (e.g. streamed deltas).
    fn finish(&mut self) -> Vec<EventBody> {
        Vec::new()
    }

    /// The CLI's session id, once seen; resume with it.
    fn session_id(&self) -> Option<&str>;

    /// The markdown text of the last assistant message.
    fn final_message(&self) -> Option<&str>;

    /// The outcome so far.
    fn outcome(&self) -> Outcome;

    /// Whether the final result line was seen; headless CLIs can hang after it, so the worker
    /// should allow only a short grace period for the process to exit.
    fn saw_result(&self) -> bool;
}

/// One agent CLI.
pub trait AgentStrategy: Send + Sync + fmt::Debug {
    /// Static facts: package, version, provider, models.
    fn spec(&self) -> &'static AgentSpec;

    /// The CLI binary under a tool cache (host path at install time, sandbox path at run time).
    fn binary_path(&self, tools_dir: &Path) -> PathBuf {
        self.spec().install_dir(tools_dir).join(self.spec().binary)
    }

    /// Installs the pinned version into `tools_dir` once (atomic; a no-op when present).
    /// Blocking: call it from a blocking thread. `progress` gets npm's output lines.
    fn install(
        &self,
        tools_dir: &Path,
        progress: &mut dyn FnMut(&str),
    ) -> Result<InstalledAgent, AgentError> {
        install::npm_install(self.spec(), tools_dir, progress)
    }

    /// The argv, environment and files for one headless turn.
    fn prepare(&self, run: &AgentRun) -> Result<Invocation, AgentError>;

    /// A fresh parser for one turn's output; `paths` lets it show repo-relative file names.
    fn parser(&self, paths: &AgentPaths) -> Box<dyn AgentParser>;
}

/// The strategy for an agent.
pub fn strategy_for(kind: AgentKind) -> &'static dyn AgentStrategy {
    match kind {
        AgentKind::Claude => &claude::Claude,
        AgentKind::Codex => &codex::Codex,
        AgentKind::Copilot => &copilot::Copilot,
        AgentKind::Cursor => &cursor::Cursor,
        AgentKind::Gemini => &gemini::Gemini,
        AgentKind::Opencode => &opencode::Opencode,
        AgentKind::Qwen => &qwen::Qwen,
    }
}

/// The environment every CLI gets: a PATH with the CLI's own bin directory and the system
/// directories (node scripts start with `#!/usr/bin/env node`), HOME, and no colour.
fn base_env(spec: &AgentSpec, run: &AgentRun) -> Result<BTreeMap<String, String>, AgentError> {
    if run.api_key.expose().trim().is_empty() {
        return Err(AgentError::MissingKey {
            agent: spec.kind.as_str(),
            provider: spec.provider.as_str(),
        });
    }
    let bin_dir = spec.install_dir(&run.paths.tools).join("node_modules/.bin");
    let mut env = BTreeMap::new();
    env.insert("PATH".into(), format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir.display()));
    env.insert("HOME".into(), path_str(&run.paths.home));
    env.insert("TMPDIR".into(), "/tmp".into());
    env.insert("LANG".into(), "C.UTF-8".into());
    env.insert("TERM".into(), "dumb".into());
    env.insert("NO_COLOR".into(), "1".into());
    Ok(env)
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// MCP server names end up as JSON keys, TOML table names and tool-name prefixes.
fn check_mcp_names(servers: &[McpServer]) -> Result<(), AgentError> {
    for s in servers {
        let ok = !s.name.is_empty()
            && s.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(AgentError::Invalid(format!("MCP server name {:?}", s.name)));
        }
    }
    Ok(())
}

/// The common `{"mcpServers": {...}}` shape (claude, gemini, qwen, cursor, copilot), with a
/// per-agent rendering of each server.
fn mcp_servers_json(
    servers: &[McpServer],
    render: impl Fn(&McpTransport) -> serde_json::Value,
) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> =
        servers.iter().map(|s| (s.name.clone(), render(&s.transport))).collect();
    serde_json::Value::Object(map)
}

/// Shared bookkeeping of the parsers.
#[derive(Debug, Default)]
struct ParseState {
    session_id: Option<String>,
    final_message: Option<String>,
    outcome: Option<Outcome>,
    saw_result: bool,
    /// The last error seen, used as the failure reason when the stream stops without a verdict.
    last_error: Option<String>,
}

impl ParseState {
    /// Records a session id; returns the event the first time it is seen or when it changes.
    fn session(&mut self, id: &str) -> Option<EventBody> {
        if id.is_empty() || self.session_id.as_deref() == Some(id) {
            return None;
        }
        self.session_id = Some(id.to_string());
        Some(EventBody::Session { session_id: id.to_string() })
    }

    fn message(&mut self, text: &str) -> Option<EventBody> {
        if text.trim().is_empty() {
            return None;
        }
        self.final_message = Some(text.to_string());
        Some(EventBody::AgentMessage { text: text.to_string() })
    }

    fn error(&mut self, message: &str) -> EventBody {
        self.last_error = Some(message.to_string());
        EventBody::Error { message: message.to_string() }
    }

    fn outcome(&self) -> Outcome {
        self.outcome.clone().unwrap_or(Outcome::Unknown)
    }
}

/// Parses a JSON object line; anything else (blank, banner, stack trace) is `None`.
fn json_line(line: &str) -> Option<serde_json::Value> {
    let trimmed = line.trim();
    if !trimmed.starts_with('{') {
        return None;
    }
    serde_json::from_str(trimmed).ok()
}

/// Tool output kept in a [`EventBody::ToolResult`]: the start of it.
fn clip(text: &str) -> String {
    const MAX: usize = 2000;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// A stderr line worth keeping as the failure reason when the stream has no verdict.
fn stderr_error(line: &str) -> Option<&str> {
    let t = line.trim();
    let lower = t.to_ascii_lowercase();
    (lower.contains("error") || lower.contains("failed") || lower.contains("unauthorized"))
        .then_some(t)
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_covers_every_agent_with_its_kind() {
        for kind in AgentKind::ALL {
            let spec = strategy_for(kind).spec();
            assert_eq!(spec.kind, kind);
            assert!(spec.models.contains(&spec.default_model), "{kind:?} default not in catalogue");
        }
    }

    #[test]
    fn missing_key_names_the_provider() {
        let run = AgentRun::new("hi", Secret::new(" "));
        let err = strategy_for(AgentKind::Gemini).prepare(&run).unwrap_err();
        assert_eq!(err.to_string(), "gemini needs an API key for the gemini provider");
    }

    #[test]
    fn secrets_do_not_debug_print() {
        let run = AgentRun::new("hi", Secret::new("sk-very-secret"));
        assert!(!format!("{run:?}").contains("sk-very-secret"));
        let inv = strategy_for(AgentKind::Claude).prepare(&run).unwrap();
        assert!(!format!("{inv:?}").contains("sk-very-secret"));
    }

    #[test]
    fn odd_mcp_names_are_rejected() {
        let mut run = AgentRun::new("hi", Secret::new("k"));
        run.mcp_servers.push(McpServer {
            name: "a b]".into(),
            transport: McpTransport::Remote { url: "http://x".into(), headers: BTreeMap::new() },
        });
        assert!(matches!(
            strategy_for(AgentKind::Codex).prepare(&run),
            Err(AgentError::Invalid(_))
        ));
    }
}
