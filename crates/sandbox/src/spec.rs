//! Plain data describing sandboxes and commands: what is asked for, never how it is enforced.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::events::Stream;

use crate::error::{Result, SandboxError};

/// What a backend can do, so callers can decide before asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Network can be switched off per sandbox.
    pub network_isolation: bool,
    /// Sandboxes survive between runs and are reclaimed by [`crate::Sandbox::gc`].
    pub keep_alive: bool,
    /// [`Limits::memory_bytes`] is enforced.
    pub memory_limit: bool,
    /// [`Limits::max_processes`] is enforced (a fork bomb is contained).
    pub process_limit: bool,
    /// Commands cannot see processes outside their sandbox.
    pub pid_namespace: bool,
    /// [`SandboxHandle::host_workspace`] is set: the host can run git on the workspace directly.
    pub host_workspace: bool,
    /// Each sandbox runs as a host uid of its own, never root and never the server's.
    pub own_uid: bool,
    /// A seccomp filter denies the system calls that reach kernel surface no agent needs
    /// (keyrings, BPF, mounts, modules, namespaces...), and nested user namespaces are off.
    pub syscall_filter: bool,
    /// [`Limits::cpu_weight`] is enforced.
    pub cpu_weight: bool,
    /// [`Limits::disk_bytes`] is enforced (measured, see [`StopReason::DiskQuota`]).
    pub disk_quota: bool,
}

/// Resource limits for everything running in one sandbox. `None` means "backend default".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Limits {
    /// Maximum number of processes and threads alive at once.
    pub max_processes: Option<u32>,
    /// Largest file a process may write, in bytes.
    pub max_file_size_bytes: Option<u64>,
    /// Memory for the whole sandbox, in bytes.
    pub memory_bytes: Option<u64>,
    /// Per-process virtual address space, in bytes. Off by default: JavaScript engines reserve
    /// far more address space than they use, so this breaks Node-based agent CLIs.
    pub address_space_bytes: Option<u64>,
    /// CPU weight of the sandbox against the others, in cgroup v2 units (1-10000, 100 being a
    /// fair share).
    #[serde(default)]
    pub cpu_weight: Option<u32>,
    /// Disk the workspace and HOME may use together, in bytes. Measured while a command runs,
    /// so a burst between two measurements can pass it briefly.
    #[serde(default)]
    pub disk_bytes: Option<u64>,
}

/// Everything needed to create a sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxSpec {
    /// Caller-chosen id, unique per backend: 1-64 of `[A-Za-z0-9_-]` (a UUID fits).
    pub id: String,
    /// How commands reach the network (see [`NetworkMode`]).
    pub network: NetworkMode,
    /// Environment every command gets, before the request's own variables.
    pub env: Vec<(String, String)>,
    /// Resource limits.
    pub limits: Limits,
    /// Host directory with installed tools, mounted read-only at [`TOOLS_DIR`].
    pub tools_dir: Option<PathBuf>,
    /// Keep the sandbox until then; `None` uses the backend's default lifetime.
    pub keep_alive_until: Option<DateTime<Utc>>,
    /// A HOME kept across sandboxes under this name (same rules as [`SandboxSpec::id`]):
    /// `destroy` parks the sandbox's HOME under it instead of removing it, and the next sandbox
    /// created with the same name gets it back ([`SandboxHandle::restored_home`]). This is how an
    /// agent's session files outlive the sandbox they were written in.
    #[serde(default)]
    pub home: Option<String>,
    /// More host paths every command sees, read-only (a browser and its MCP server). Never a
    /// way to write to the host: nothing here is bound writable.
    #[serde(default)]
    pub read_only: Vec<ReadOnlyBind>,
}

/// A host path bound read-only into every command of a sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadOnlyBind {
    /// The file or directory on the host; it must be readable by other users when sandboxes
    /// run as uids of their own.
    pub source: PathBuf,
    /// Where it appears inside: an absolute path outside the workspace, HOME and `/tmp`.
    pub target: PathBuf,
}

impl ReadOnlyBind {
    /// `source` at the same path inside.
    pub fn same_path(source: impl Into<PathBuf>) -> Self {
        let source = source.into();
        Self { target: source.clone(), source }
    }

    /// Refuses a target that is relative, climbs with `..`, or lands on a place the sandbox
    /// writes (the workspace, HOME, `/tmp`, `/dev`, `/proc`) or on `/` itself.
    pub fn validate(&self) -> Result<()> {
        use std::path::Component;
        let target = &self.target;
        let plain = target.is_absolute()
            && target.components().all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
            && target.components().count() > 1;
        let reserved = [WORKSPACE_DIR, HOME_DIR, "/tmp", "/dev", "/proc", EGRESS_DIR]
            .iter()
            .any(|dir| target.starts_with(dir) || Path::new(dir).starts_with(target));
        if plain && !reserved && self.source.is_absolute() {
            Ok(())
        } else {
            Err(SandboxError::InvalidRequest(format!(
                "cannot bind {} at {}: the target must be a plain absolute path outside the \
                 sandbox's own directories",
                self.source.display(),
                target.display()
            )))
        }
    }
}

impl SandboxSpec {
    /// A spec with no network ([`NetworkMode::None`]), no extra environment and default limits.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            network: NetworkMode::None,
            env: Vec::new(),
            limits: Limits::default(),
            tools_dir: None,
            keep_alive_until: None,
            home: None,
            read_only: Vec::new(),
        }
    }
}

/// How a sandbox reaches the network.
///
/// Stored in the backend's metadata and in configuration as `"brokered"`, `"none"` or `"host"`;
/// the booleans of earlier versions still read as `true` → [`NetworkMode::Host`] and `false` →
/// [`NetworkMode::None`], so sandboxes kept alive across an upgrade keep working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    /// A network namespace with only loopback, where [`EGRESS_PORT`] on 127.0.0.1 is relayed to
    /// the host's egress proxy (a unix socket, [`SandboxHandle::egress_socket`]). The proxy
    /// decides what may be reached and swaps credential placeholders for real keys.
    Brokered,
    /// A network namespace with only loopback and nothing behind it.
    None,
    /// The host's network namespace, unfiltered: the sandbox reaches everything the server does
    /// (its API, its database, every local service). Unsafe with untrusted agents.
    Host,
}

impl NetworkMode {
    /// The configuration and metadata spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Brokered => "brokered",
            Self::None => "none",
            Self::Host => "host",
        }
    }
}

impl std::str::FromStr for NetworkMode {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "brokered" => Ok(Self::Brokered),
            "none" | "false" => Ok(Self::None),
            "host" | "true" => Ok(Self::Host),
            other => Err(format!("network mode {other:?} is not one of brokered, none, host")),
        }
    }
}

impl Serialize for NetworkMode {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for NetworkMode {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        /// The current names, or the boolean of earlier versions.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Flag(bool),
            Name(String),
        }
        match Repr::deserialize(deserializer)? {
            Repr::Flag(true) => Ok(Self::Host),
            Repr::Flag(false) => Ok(Self::None),
            Repr::Name(name) => name.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// The port on 127.0.0.1 inside a [`NetworkMode::Brokered`] sandbox where the egress proxy
/// answers (each sandbox has its own network namespace, so one fixed port serves them all).
pub const EGRESS_PORT: u16 = 3128;
/// Where the directory holding the egress socket appears inside a brokered sandbox.
pub const EGRESS_DIR: &str = "/run/drydock";
/// File name of the egress proxy's unix socket, in [`EGRESS_DIR`] and in the host directory.
pub const EGRESS_SOCKET: &str = "egress.sock";

/// Where the tools directory appears inside a sandbox.
pub const TOOLS_DIR: &str = "/opt/drydock/tools";
/// The read-write workspace inside a sandbox.
pub const WORKSPACE_DIR: &str = "/workspace";
/// `HOME` inside a sandbox; it lives as long as the sandbox.
pub const HOME_DIR: &str = "/home/agent";

/// Checks a sandbox id: ids become directory names, so they must be short and plain.
pub fn validate_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(SandboxError::InvalidRequest(format!(
            "sandbox id {id:?} must be 1-64 characters of A-Z, a-z, 0-9, '-' or '_'"
        )))
    }
}

/// A created sandbox. Cheap to clone and serialisable, so it can be stored and re-opened with
/// [`crate::Sandbox::open`] by another process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxHandle {
    /// The id from the spec.
    pub id: String,
    /// The workspace directory on the host, when the backend has one (see
    /// [`Capabilities::host_workspace`]). The git pipeline runs there.
    pub host_workspace: Option<PathBuf>,
    /// For a [`NetworkMode::Brokered`] sandbox: the host path where the caller must serve the
    /// egress proxy (a unix socket) before running commands. Stable for the sandbox's lifetime,
    /// so each run of a kept-alive sandbox serves its own proxy at the same place.
    #[serde(default)]
    pub egress_socket: Option<PathBuf>,
    /// Set by `create` when the sandbox got back a HOME parked under [`SandboxSpec::home`] (the
    /// files of an earlier sandbox, such as an agent's session); `false` from `open`.
    #[serde(default)]
    pub restored_home: bool,
}

/// What a sandbox is doing and using now, for status pages (see [`crate::Sandbox::status`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxStatus {
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When [`crate::Sandbox::gc`] reclaims it.
    pub expires_at: DateTime<Utc>,
    /// Commands running in it now, started by any process sharing the backend.
    pub commands: u32,
    /// Whether any of its code runs now: a command, or a process left in its cgroup. The host
    /// must not read its workspace then (see [`crate::Sandbox::hold_idle`]).
    pub busy: bool,
    /// Processes and threads alive in it, where the backend can count them.
    pub processes: Option<u32>,
    /// Memory it uses, in bytes, where the backend can tell (a memory cgroup).
    pub memory_bytes: Option<u64>,
    /// Disk its workspace and HOME take, in bytes.
    pub disk_bytes: Option<u64>,
}

/// Proof that no code of a sandbox runs, from [`crate::Sandbox::hold_idle`]: while it is held, no
/// command starts there (a new one waits), so the host may read the workspace. Drop it soon.
pub struct IdleHold {
    _inner: Box<dyn Send + Sync>,
}

impl IdleHold {
    /// Wraps whatever keeps commands out until it is dropped.
    pub fn new(inner: impl Send + Sync + 'static) -> Self {
        Self { _inner: Box::new(inner) }
    }
}

impl std::fmt::Debug for IdleHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdleHold")
    }
}

/// One command to run in a sandbox.
#[derive(Debug, Clone)]
pub struct ExecRequest {
    /// Program and arguments; never passed through a shell.
    pub argv: Vec<String>,
    /// Extra environment, applied after the sandbox's base environment.
    pub env: Vec<(String, String)>,
    /// Working directory relative to the workspace (`""` is the workspace itself).
    pub cwd: String,
    /// Wall-clock limit; the command is killed when it is reached.
    pub timeout: Option<Duration>,
    /// Kill the command when it has written nothing for this long.
    pub idle_timeout: Option<Duration>,
    /// Make a port the command listens on inside reachable from the host (a dev server).
    pub expose: Option<Expose>,
    /// Stop this command (and only it) when the value turns true or the sender is dropped,
    /// with the same escalation as [`crate::Sandbox::kill`]; the outcome says
    /// [`StopReason::Killed`]. For long-lived commands such as a dev server.
    pub stop: Option<tokio::sync::watch::Receiver<bool>>,
}

/// A port inside a sandbox made reachable from the host through a unix socket, never through
/// the host network (see [`crate::ingress`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expose {
    /// The port on loopback inside the command's network namespace.
    pub port: u16,
    /// Where the host socket goes: a path in a directory that only the host's user can write
    /// and that is never mounted into a sandbox. Connect with [`crate::ingress::connect`].
    pub socket: PathBuf,
}

impl ExecRequest {
    /// A request for `argv` in the workspace root, with no extra env and no time limits.
    pub fn new<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            argv: argv.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            cwd: String::new(),
            timeout: None,
            idle_timeout: None,
            expose: None,
            stop: None,
        }
    }
}

/// One line a command wrote, without its trailing newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    /// Which stream it came from.
    pub stream: Stream,
    /// The text; invalid UTF-8 is replaced, overlong lines are split.
    pub line: String,
}

/// Why Drydock stopped a command before it finished by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// [`ExecRequest::timeout`] was reached.
    Timeout,
    /// [`ExecRequest::idle_timeout`] passed without output (the no-output watchdog).
    Idle,
    /// [`crate::Sandbox::kill`] was called.
    Killed,
    /// The workspace and HOME together grew past [`Limits::disk_bytes`].
    DiskQuota,
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutcome {
    /// Exit code; `None` when the command died from a signal.
    pub exit_code: Option<i32>,
    /// The signal that ended the command, when it was one.
    pub signal: Option<i32>,
    /// Wall time from start to exit.
    pub duration: Duration,
    /// Set when Drydock stopped the command.
    pub stopped: Option<StopReason>,
}

impl ExecOutcome {
    /// True when the command exited by itself with code 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && self.stopped.is_none()
    }
}

/// Which sandbox directory a file path is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRoot {
    /// [`WORKSPACE_DIR`].
    Workspace,
    /// [`HOME_DIR`], for agent configuration files.
    Home,
}

/// How [`crate::Sandbox::kill`] escalates. Defaults sum to well under two seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KillPolicy {
    /// Time between SIGINT and SIGTERM.
    pub interrupt_grace: Duration,
    /// Time between SIGTERM and SIGKILL.
    pub terminate_grace: Duration,
}

impl Default for KillPolicy {
    fn default() -> Self {
        Self {
            interrupt_grace: Duration::from_millis(500),
            terminate_grace: Duration::from_millis(700),
        }
    }
}

/// A sandbox removed by [`crate::Sandbox::gc`], for the caller's event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reclaimed {
    /// The sandbox id.
    pub id: String,
    /// When it was due to expire.
    pub expired_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_modes_read_names_and_the_old_booleans() {
        let read = |json: &str| serde_json::from_str::<NetworkMode>(json);
        assert_eq!(read("\"brokered\"").unwrap(), NetworkMode::Brokered);
        assert_eq!(read("\"none\"").unwrap(), NetworkMode::None);
        assert_eq!(read("\"host\"").unwrap(), NetworkMode::Host);
        assert_eq!(read("true").unwrap(), NetworkMode::Host);
        assert_eq!(read("false").unwrap(), NetworkMode::None);
        let err = read("\"wide-open\"").unwrap_err().to_string();
        assert!(err.contains("brokered, none, host"), "{err}");
        assert_eq!(serde_json::to_string(&NetworkMode::Brokered).unwrap(), "\"brokered\"");
    }

    #[test]
    fn read_only_binds_stay_out_of_the_sandboxes_own_directories() {
        let ok = ReadOnlyBind::same_path("/usr/lib/chromium");
        assert!(ok.validate().is_ok());
        let at = |target: &str| ReadOnlyBind { source: "/srv/x".into(), target: target.into() };
        assert!(at("/opt/drydock/browser").validate().is_ok());
        for bad in
            ["relative", "/", "/workspace/repo", "/home/agent", "/home", "/tmp/x", "/opt/../tmp"]
        {
            assert!(at(bad).validate().is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn handles_stored_before_brokered_networks_still_read() {
        let handle: SandboxHandle =
            serde_json::from_str(r#"{"id":"t1","host_workspace":"/data/t1/work"}"#).unwrap();
        assert_eq!(handle.egress_socket, None);
    }
}
